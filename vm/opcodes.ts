/**
 * eBPF instruction encoding constants (RFC 9669 §3–§5) plus RIOT's two wide-load extensions.
 *
 * One 8-byte slot: opcode u8 | dst:4 (low nibble) src:4 (high nibble) | offset i16 | imm i32,
 * all little-endian. Wide loads (0x18, and RIOT's 0xB8/0xD8) take two slots; the second slot's
 * imm carries the upper 32 bits. Everything else in the VM names opcodes through this file.
 */

// Instruction classes (low 3 bits).
export const CLS_LD = 0x00;
export const CLS_LDX = 0x01;
export const CLS_ST = 0x02;
export const CLS_STX = 0x03;
export const CLS_ALU = 0x04;
export const CLS_JMP = 0x05;
export const CLS_JMP32 = 0x06;
export const CLS_ALU64 = 0x07;

// Source bit for ALU/JMP classes.
export const SRC_K = 0x00;
export const SRC_X = 0x08;

// ALU operations (high nibble).
export const ALU_ADD = 0x00;
export const ALU_SUB = 0x10;
export const ALU_MUL = 0x20;
export const ALU_DIV = 0x30;
export const ALU_OR = 0x40;
export const ALU_AND = 0x50;
export const ALU_LSH = 0x60;
export const ALU_RSH = 0x70;
export const ALU_NEG = 0x80;
export const ALU_MOD = 0x90;
export const ALU_XOR = 0xa0;
export const ALU_MOV = 0xb0;
export const ALU_ARSH = 0xc0;
export const ALU_END = 0xd0;

// Jump operations (high nibble).
export const JMP_JA = 0x00;
export const JMP_JEQ = 0x10;
export const JMP_JGT = 0x20;
export const JMP_JGE = 0x30;
export const JMP_JSET = 0x40;
export const JMP_JNE = 0x50;
export const JMP_JSGT = 0x60;
export const JMP_JSGE = 0x70;
export const JMP_CALL = 0x80;
export const JMP_EXIT = 0x90;
export const JMP_JLT = 0xa0;
export const JMP_JLE = 0xb0;
export const JMP_JSLT = 0xc0;
export const JMP_JSLE = 0xd0;

// Load/store sizes and modes.
export const SIZE_W = 0x00;
export const SIZE_H = 0x08;
export const SIZE_B = 0x10;
export const SIZE_DW = 0x18;
export const MODE_IMM = 0x00;
export const MODE_ABS = 0x20; // legacy packet access: not implemented
export const MODE_IND = 0x40; // legacy packet access: not implemented
export const MODE_MEM = 0x60;
export const MODE_MEMSX = 0x80;
export const MODE_ATOMIC = 0xc0;

// Atomic operations (in imm).
export const ATOMIC_ADD = 0x00;
export const ATOMIC_OR = 0x40;
export const ATOMIC_AND = 0x50;
export const ATOMIC_XOR = 0xa0;
export const ATOMIC_FETCH = 0x01;
export const ATOMIC_XCHG = 0xe0 | ATOMIC_FETCH;
export const ATOMIC_CMPXCHG = 0xf0 | ATOMIC_FETCH;

// Call kinds (src field of 0x85).
export const CALL_HELPER = 0;
export const CALL_LOCAL = 1;
export const CALL_BTF = 2; // helper by BTF id: not supported

/** Full opcodes the VM and tools refer to by name. */
export const OP = {
  LDDW: CLS_LD | SIZE_DW | MODE_IMM, // 0x18
  LDDWD: 0xb8, // RIOT: dst = address of .data + imm64
  LDDWR: 0xd8, // RIOT: dst = address of .rodata + imm64
  JA: CLS_JMP | JMP_JA, // 0x05
  JA32: CLS_JMP32 | JMP_JA, // 0x06
  CALL: CLS_JMP | JMP_CALL, // 0x85
  CALLX: CLS_JMP | JMP_CALL | SRC_X, // 0x8d
  EXIT: CLS_JMP | JMP_EXIT, // 0x95
  /** RIOT's library VM encodes NEG as 0x8F (NEG with the X bit): a compatibility warning. */
  RIOT_NEG64_QUIRK: 0x8f,
} as const;

/** Opcodes whose instruction occupies two 8-byte slots. */
export function isWide(opcode: number): boolean {
  return opcode === OP.LDDW || opcode === OP.LDDWD || opcode === OP.LDDWR;
}

export const cls = (opcode: number): number => opcode & 0x07;
export const aluOp = (opcode: number): number => opcode & 0xf0;
export const jmpOp = (opcode: number): number => opcode & 0xf0;
export const memSize = (opcode: number): number => opcode & 0x18;
export const memMode = (opcode: number): number => opcode & 0xe0;
export const isSrcX = (opcode: number): boolean => (opcode & SRC_X) !== 0;

/** Bytes moved by a load/store of the given size field. */
export function sizeBytes(size: number): number {
  switch (size) {
    case SIZE_B: return 1;
    case SIZE_H: return 2;
    case SIZE_W: return 4;
    default: return 8;
  }
}

/** Number of registers and special registers. */
export const NUM_REGS = 11;
export const REG_FP = 10;

/** Bytes in one eBPF instruction slot. */
export const INSN_SIZE = 8;
