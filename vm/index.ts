/**
 * Public entry of the VM package: everything a host (lib/, the editor page, other tools) needs.
 * The VM knows nothing of boards or Node-RED: hosts hand it regions, helpers and a budget.
 */
export * from './errors';
export * from './opcodes';
export { Program, encodeInsn, encodeProgram, type Insn } from './program';
export { Memory, MemoryAccessError, PERM_READ, PERM_WRITE, PERM_RW, BASE, type Region } from './memory';
export { verify, assertVerified, PROFILES, type Profile, type VerifyOptions, type VerifyResult, type VerifyInfo } from './verifier';
export * from './vm';
export * from './helper-ids';
export { assemble, assembleWithLines } from './assembler';
export { disassemble, disassembleInsn, disassembleListing } from './disassembler';
export * from './image';
export { isElf, loadElf, elfToImage } from './elf';
export { parseDataFile } from './conformance-data';
export * from './tracer';
