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

/** Legacy packet loads (BPF_ABS/BPF_IND, 1–4 bytes): RFC 9669 keeps them apart, we refuse them. */
export function isLegacyPacketLoad(opcode: number): boolean {
  const mode = memMode(opcode);
  return cls(opcode) === CLS_LD && (mode === MODE_ABS || mode === MODE_IND) && memSize(opcode) !== SIZE_DW;
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
