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
/** Every atomic operation (imm of OP.ATOMIC_W / OP.ATOMIC_DW) that exists. */
export const ATOMIC_KINDS: readonly number[] = [
  ATOMIC_ADD, ATOMIC_OR, ATOMIC_AND, ATOMIC_XOR,
  ATOMIC_ADD | ATOMIC_FETCH, ATOMIC_OR | ATOMIC_FETCH, ATOMIC_AND | ATOMIC_FETCH, ATOMIC_XOR | ATOMIC_FETCH,
  ATOMIC_XCHG, ATOMIC_CMPXCHG,
];

// Call kinds (src field of 0x85).
export const CALL_HELPER = 0;
export const CALL_LOCAL = 1;
export const CALL_BTF = 2; // helper by BTF id: not supported

/**
 * Every opcode by name, as a const enum: tsc writes the number itself wherever a member is used, so
 * a `switch` over these names is a switch over literals (the interpreter's run loop) and costs
 * nothing at run time. Names: operation, width (64/32), operand (_IMM immediate, _REG register).
 * The values are the fields above combined; test/vm/opcode-names.test.ts checks each one against
 * its name.
 */
export const enum Opcode {
  // ALU64 (class 0x07) and ALU (32-bit, class 0x04), immediate (_IMM) or register (_REG) operand.
  ADD64_IMM = 0x07, ADD64_REG = 0x0f, ADD32_IMM = 0x04, ADD32_REG = 0x0c,
  SUB64_IMM = 0x17, SUB64_REG = 0x1f, SUB32_IMM = 0x14, SUB32_REG = 0x1c,
  MUL64_IMM = 0x27, MUL64_REG = 0x2f, MUL32_IMM = 0x24, MUL32_REG = 0x2c,
  DIV64_IMM = 0x37, DIV64_REG = 0x3f, DIV32_IMM = 0x34, DIV32_REG = 0x3c,
  OR64_IMM = 0x47, OR64_REG = 0x4f, OR32_IMM = 0x44, OR32_REG = 0x4c,
  AND64_IMM = 0x57, AND64_REG = 0x5f, AND32_IMM = 0x54, AND32_REG = 0x5c,
  LSH64_IMM = 0x67, LSH64_REG = 0x6f, LSH32_IMM = 0x64, LSH32_REG = 0x6c,
  RSH64_IMM = 0x77, RSH64_REG = 0x7f, RSH32_IMM = 0x74, RSH32_REG = 0x7c,
  MOD64_IMM = 0x97, MOD64_REG = 0x9f, MOD32_IMM = 0x94, MOD32_REG = 0x9c,
  XOR64_IMM = 0xa7, XOR64_REG = 0xaf, XOR32_IMM = 0xa4, XOR32_REG = 0xac,
  MOV64_IMM = 0xb7, MOV64_REG = 0xbf, MOV32_IMM = 0xb4, MOV32_REG = 0xbc,
  ARSH64_IMM = 0xc7, ARSH64_REG = 0xcf, ARSH32_IMM = 0xc4, ARSH32_REG = 0xcc,
  NEG64 = 0x87, NEG32 = 0x84,
  // Byte swaps: to little-endian (truncating), to big-endian, unconditional (ALU64).
  LE = 0xd4, BE = 0xdc, BSWAP = 0xd7,
  // JMP (class 0x05) and JMP32 (class 0x06): conditional jumps, then the others.
  JEQ_IMM = 0x15, JEQ_REG = 0x1d, JEQ32_IMM = 0x16, JEQ32_REG = 0x1e,
  JGT_IMM = 0x25, JGT_REG = 0x2d, JGT32_IMM = 0x26, JGT32_REG = 0x2e,
  JGE_IMM = 0x35, JGE_REG = 0x3d, JGE32_IMM = 0x36, JGE32_REG = 0x3e,
  JSET_IMM = 0x45, JSET_REG = 0x4d, JSET32_IMM = 0x46, JSET32_REG = 0x4e,
  JNE_IMM = 0x55, JNE_REG = 0x5d, JNE32_IMM = 0x56, JNE32_REG = 0x5e,
  JSGT_IMM = 0x65, JSGT_REG = 0x6d, JSGT32_IMM = 0x66, JSGT32_REG = 0x6e,
  JSGE_IMM = 0x75, JSGE_REG = 0x7d, JSGE32_IMM = 0x76, JSGE32_REG = 0x7e,
  JLT_IMM = 0xa5, JLT_REG = 0xad, JLT32_IMM = 0xa6, JLT32_REG = 0xae,
  JLE_IMM = 0xb5, JLE_REG = 0xbd, JLE32_IMM = 0xb6, JLE32_REG = 0xbe,
  JSLT_IMM = 0xc5, JSLT_REG = 0xcd, JSLT32_IMM = 0xc6, JSLT32_REG = 0xce,
  JSLE_IMM = 0xd5, JSLE_REG = 0xdd, JSLE32_IMM = 0xd6, JSLE32_REG = 0xde,
  JA = 0x05, JA32 = 0x06, CALL = 0x85, CALLX = 0x8d, EXIT = 0x95,
  // Loads (LDX, zero- and sign-extending), stores (ST immediate, STX register), atomics.
  LDXW = 0x61, LDXH = 0x69, LDXB = 0x71, LDXDW = 0x79, LDXSW = 0x81, LDXSH = 0x89, LDXSB = 0x91,
  STW = 0x62, STH = 0x6a, STB = 0x72, STDW = 0x7a, STXW = 0x63, STXH = 0x6b, STXB = 0x73, STXDW = 0x7b,
  ATOMIC_W = 0xc3, ATOMIC_DW = 0xdb,
  // Wide loads (two slots): a 64-bit constant; RIOT's address of .data / .rodata + imm64.
  LDDW = 0x18, LDDWD = 0xb8, LDDWR = 0xd8,
  /** RIOT's library VM encodes NEG as 0x8F (NEG with the X bit): a compatibility warning. */
  RIOT_NEG64_QUIRK = 0x8f,
}

/**
 * The opcodes the VM's tools refer to by name, as a run-time object (part of the package's API;
 * the names and numbers are Opcode's).
 */
export const OP = {
  LDDW: Opcode.LDDW, LDDWD: Opcode.LDDWD, LDDWR: Opcode.LDDWR, JA: Opcode.JA, JA32: Opcode.JA32,
  CALL: Opcode.CALL, CALLX: Opcode.CALLX, EXIT: Opcode.EXIT, RIOT_NEG64_QUIRK: Opcode.RIOT_NEG64_QUIRK,
  ADD64_IMM: Opcode.ADD64_IMM, SUB64_IMM: Opcode.SUB64_IMM, LDXW: Opcode.LDXW, LDXH: Opcode.LDXH, LDXB: Opcode.LDXB, LDXDW: Opcode.LDXDW,
  LDXSW: Opcode.LDXSW, LDXSH: Opcode.LDXSH, LDXSB: Opcode.LDXSB, STW: Opcode.STW, STH: Opcode.STH,
  STB: Opcode.STB, STDW: Opcode.STDW, STXW: Opcode.STXW, STXH: Opcode.STXH, STXB: Opcode.STXB,
  STXDW: Opcode.STXDW, ATOMIC_W: Opcode.ATOMIC_W, ATOMIC_DW: Opcode.ATOMIC_DW,
} as const;

/** Bytes read by each load opcode (LDX, zero- and sign-extending), 0 for every other opcode. */
export const LOAD_SIZE: Readonly<Uint8Array> = new Uint8Array(256);
/** Bytes written by each store opcode (ST and STX in MEM mode), 0 for every other opcode. */
export const STORE_SIZE: Readonly<Uint8Array> = new Uint8Array(256);
for (const size of [SIZE_W, SIZE_H, SIZE_B, SIZE_DW]) {
  (LOAD_SIZE as Uint8Array)[CLS_LDX | MODE_MEM | size] = sizeBytes(size);
  if (size !== SIZE_DW) (LOAD_SIZE as Uint8Array)[CLS_LDX | MODE_MEMSX | size] = sizeBytes(size);
  (STORE_SIZE as Uint8Array)[CLS_ST | MODE_MEM | size] = sizeBytes(size);
  (STORE_SIZE as Uint8Array)[CLS_STX | MODE_MEM | size] = sizeBytes(size);
}

/**
 * Where a jump at `pc` goes when taken: pc + 1 + offset, or pc + 1 + imm for the 32-bit-range
 * `ja` (JA32). Also the target of a local call (pc + 1 + imm) when given OP.CALL.
 */
export function jumpTarget(opcode: number, pc: number, offset: number, imm: number): number {
  return opcode === Opcode.JA32 || opcode === Opcode.CALL ? pc + 1 + imm : pc + 1 + offset;
}

/** Legacy packet loads (BPF_ABS/BPF_IND, 1–4 bytes): RFC 9669 keeps them apart, we refuse them. */
export function isLegacyPacketLoad(opcode: number): boolean {
  const mode = memMode(opcode);
  return cls(opcode) === CLS_LD && (mode === MODE_ABS || mode === MODE_IND) && memSize(opcode) !== SIZE_DW;
}

/** Opcodes whose instruction occupies two 8-byte slots. */
export function isWide(opcode: number): boolean {
  return opcode === Opcode.LDDW || opcode === Opcode.LDDWD || opcode === Opcode.LDDWR;
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

