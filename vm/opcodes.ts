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
  ADD64_IMM: CLS_ALU64 | ALU_ADD | SRC_K, // 0x07
  SUB64_IMM: CLS_ALU64 | ALU_SUB | SRC_K, // 0x17
  LDXW: CLS_LDX | MODE_MEM | SIZE_W, // 0x61
  LDXH: CLS_LDX | MODE_MEM | SIZE_H, // 0x69
  LDXB: CLS_LDX | MODE_MEM | SIZE_B, // 0x71
  LDXDW: CLS_LDX | MODE_MEM | SIZE_DW, // 0x79
  LDXSW: CLS_LDX | MODE_MEMSX | SIZE_W, // 0x81
  LDXSH: CLS_LDX | MODE_MEMSX | SIZE_H, // 0x89
  LDXSB: CLS_LDX | MODE_MEMSX | SIZE_B, // 0x91
  STW: CLS_ST | MODE_MEM | SIZE_W, // 0x62
  STH: CLS_ST | MODE_MEM | SIZE_H, // 0x6a
  STB: CLS_ST | MODE_MEM | SIZE_B, // 0x72
  STDW: CLS_ST | MODE_MEM | SIZE_DW, // 0x7a
  STXW: CLS_STX | MODE_MEM | SIZE_W, // 0x63
  STXH: CLS_STX | MODE_MEM | SIZE_H, // 0x6b
  STXB: CLS_STX | MODE_MEM | SIZE_B, // 0x73
  STXDW: CLS_STX | MODE_MEM | SIZE_DW, // 0x7b
  ATOMIC_W: CLS_STX | MODE_ATOMIC | SIZE_W, // 0xc3
  ATOMIC_DW: CLS_STX | MODE_ATOMIC | SIZE_DW, // 0xdb
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
  return opcode === OP.JA32 || opcode === OP.CALL ? pc + 1 + imm : pc + 1 + offset;
}

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

/**
 * Every opcode the VM executes, by name: the interpreter switches over these (a const enum, so
 * each case is a literal and the switch stays one jump table). The values are the compositions
 * above (class | operation | source or size | mode); _K = immediate source, _X = register.
 */
export const enum Op {
  // ALU64 (CLS_ALU64): 64-bit results.
  ADD64_K = 0x07, ADD64_X = 0x0f, SUB64_K = 0x17, SUB64_X = 0x1f, MUL64_K = 0x27, MUL64_X = 0x2f,
  DIV64_K = 0x37, DIV64_X = 0x3f, OR64_K = 0x47, OR64_X = 0x4f, AND64_K = 0x57, AND64_X = 0x5f,
  LSH64_K = 0x67, LSH64_X = 0x6f, RSH64_K = 0x77, RSH64_X = 0x7f, NEG64 = 0x87, MOD64_K = 0x97,
  MOD64_X = 0x9f, XOR64_K = 0xa7, XOR64_X = 0xaf, MOV64_K = 0xb7, MOV64_X = 0xbf, ARSH64_K = 0xc7,
  ARSH64_X = 0xcf, BSWAP = 0xd7,
  // ALU (CLS_ALU): 32-bit results, zero-extended.
  ADD32_K = 0x04, ADD32_X = 0x0c, SUB32_K = 0x14, SUB32_X = 0x1c, MUL32_K = 0x24, MUL32_X = 0x2c,
  DIV32_K = 0x34, DIV32_X = 0x3c, OR32_K = 0x44, OR32_X = 0x4c, AND32_K = 0x54, AND32_X = 0x5c,
  LSH32_K = 0x64, LSH32_X = 0x6c, RSH32_K = 0x74, RSH32_X = 0x7c, NEG32 = 0x84, MOD32_K = 0x94,
  MOD32_X = 0x9c, XOR32_K = 0xa4, XOR32_X = 0xac, MOV32_K = 0xb4, MOV32_X = 0xbc, ARSH32_K = 0xc4,
  ARSH32_X = 0xcc, LE = 0xd4, BE = 0xdc,
  // Wide loads (CLS_LD | SIZE_DW | MODE_IMM, and RIOT's section-relative forms).
  LDDW = 0x18, LDDWD = 0xb8, LDDWR = 0xd8,
  // Loads (CLS_LDX | size | MODE_MEM or MODE_MEMSX).
  LDXW = 0x61, LDXH = 0x69, LDXB = 0x71, LDXDW = 0x79, LDXSW = 0x81, LDXSH = 0x89, LDXSB = 0x91,
  // Stores of an immediate (CLS_ST) and of a register (CLS_STX), and atomics (CLS_STX | MODE_ATOMIC).
  STW = 0x62, STH = 0x6a, STB = 0x72, STDW = 0x7a, STXW = 0x63, STXH = 0x6b, STXB = 0x73, STXDW = 0x7b,
  ATOMIC_W = 0xc3, ATOMIC_DW = 0xdb,
  // Jumps with 64-bit compares (CLS_JMP), calls and exit.
  JA = 0x05, JEQ_K = 0x15, JEQ_X = 0x1d, JGT_K = 0x25, JGT_X = 0x2d, JGE_K = 0x35, JGE_X = 0x3d,
  JSET_K = 0x45, JSET_X = 0x4d, JNE_K = 0x55, JNE_X = 0x5d, JSGT_K = 0x65, JSGT_X = 0x6d,
  JSGE_K = 0x75, JSGE_X = 0x7d, CALL = 0x85, CALLX = 0x8d, EXIT = 0x95, JLT_K = 0xa5, JLT_X = 0xad,
  JLE_K = 0xb5, JLE_X = 0xbd, JSLT_K = 0xc5, JSLT_X = 0xcd, JSLE_K = 0xd5, JSLE_X = 0xdd,
  // Jumps with 32-bit compares (CLS_JMP32).
  JA32 = 0x06, JEQ32_K = 0x16, JEQ32_X = 0x1e, JGT32_K = 0x26, JGT32_X = 0x2e, JGE32_K = 0x36,
  JGE32_X = 0x3e, JSET32_K = 0x46, JSET32_X = 0x4e, JNE32_K = 0x56, JNE32_X = 0x5e, JSGT32_K = 0x66,
  JSGT32_X = 0x6e, JSGE32_K = 0x76, JSGE32_X = 0x7e, JLT32_K = 0xa6, JLT32_X = 0xae, JLE32_K = 0xb6,
  JLE32_X = 0xbe, JSLT32_K = 0xc6, JSLT32_X = 0xce, JSLE32_K = 0xd6, JSLE32_X = 0xde,
}
