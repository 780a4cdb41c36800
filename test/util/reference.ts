/**
 * A slow, obviously-correct BigInt model of RFC 9669 instruction semantics, written straight from
 * the RFC (§4 arithmetic and jump instructions, §5 load and store instructions) for property tests.
 *
 * Deliberately independent of vm/int64.ts and vm/interpreter.ts: it imports nothing from them (only
 * the `Insn` shape), works on unsigned 64-bit BigInts and spells every rule out, so that a bug in the
 * fast (lo, hi) arithmetic cannot hide behind a shared helper.
 *
 * Conventions: every register value is an unsigned BigInt in [0, 2^64). Memory values are the
 * little-endian bytes of the accessed location. Division by zero follows RFC 9669 (div → 0; mod →
 * dividend, the 32-bit forms zeroing the upper half); the riot-2022 profile's fault is not modelled
 * here (the fault tests check it).
 */
import type { Insn } from '../../vm/program';

export const MASK64 = (1n << 64n) - 1n;
export const MASK32 = (1n << 32n) - 1n;
export const INT64_MIN = 1n << 63n;

/** Unsigned 64-bit view of any BigInt. */
export const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);
export const u32 = (v: bigint): bigint => BigInt.asUintN(32, v);
export const s64 = (v: bigint): bigint => BigInt.asIntN(64, v);
export const s32 = (v: bigint): bigint => BigInt.asIntN(32, v);
export const s16 = (v: bigint): bigint => BigInt.asIntN(16, v);
export const s8 = (v: bigint): bigint => BigInt.asIntN(8, v);

/** imm sign-extended to 64 bits, as an unsigned 64-bit value. */
export const immSx64 = (imm: number): bigint => u64(BigInt(imm | 0));
/** imm as an unsigned 32-bit value. */
export const immU32 = (imm: number): bigint => u32(BigInt(imm | 0));

/** Truncating (toward zero) signed division; BigInt `/` already truncates toward zero. */
function sdivTrunc(a: bigint, b: bigint): bigint {
  return a / b;
}
/** Remainder with the dividend's sign; BigInt `%` already has that sign. */
function smodTrunc(a: bigint, b: bigint): bigint {
  return a % b;
}

function bswap(v: bigint, bytes: number): bigint {
  let r = 0n;
  for (let i = 0; i < bytes; i++) r = (r << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
  return r;
}

export class UnsupportedInsn extends Error {}

/**
 * ALU and ALU64 (classes 0x04, 0x07): the new value of dst given dst and src (src is ignored for
 * K forms, which use insn.imm). Covers add sub mul div sdiv mod smod or and xor lsh rsh arsh neg
 * mov movsx and le/be/bswap.
 */
export function refAlu(insn: Insn, dst: bigint, src: bigint): bigint {
  const op = insn.opcode;
  const cls = op & 0x07;
  if (cls !== 0x04 && cls !== 0x07) throw new UnsupportedInsn(`not an ALU opcode 0x${op.toString(16)}`);
  const is64 = cls === 0x07;
  const code = op & 0xf0;
  const isX = (op & 0x08) !== 0;
  const off = insn.offset;
  dst = u64(dst);
  src = u64(src);

  if (code === 0xd0) {
    // Byte swap: {END, TO_LE, ALU} = htole (truncation on a LE machine), {END, TO_BE, ALU} = htobe
    // (swap), {END, TO_LE, ALU64} = unconditional bswap. Width in imm; result zero-extended.
    const w = insn.imm;
    if (w !== 16 && w !== 32 && w !== 64) throw new UnsupportedInsn(`byte swap width ${w}`);
    const bytes = w / 8;
    const low = dst & ((1n << BigInt(w)) - 1n);
    if (!is64 && !isX) return low; // le
    return bswap(low, bytes); // be, bswap
  }

  if (is64) {
    const b = isX ? src : immSx64(insn.imm);
    const a = dst;
    switch (code) {
      case 0x00: return u64(a + b);
      case 0x10: return u64(a - b);
      case 0x20: return u64(a * b);
      case 0x30:
        if (b === 0n) return 0n;
        if (off === 1) return u64(sdivTrunc(s64(a), s64(b)));
        return a / b;
      case 0x90:
        if (b === 0n) return a;
        if (off === 1) return u64(smodTrunc(s64(a), s64(b)));
        return a % b;
      case 0x40: return a | b;
      case 0x50: return a & b;
      case 0xa0: return a ^ b;
      case 0x60: return u64(a << (b & 63n));
      case 0x70: return a >> (b & 63n);
      case 0xc0: return u64(s64(a) >> (b & 63n));
      case 0x80: return u64(-a);
      case 0xb0:
        if (!isX) return b;
        if (off === 0) return b;
        if (off === 8) return u64(s8(b));
        if (off === 16) return u64(s16(b));
        if (off === 32) return u64(s32(b));
        throw new UnsupportedInsn(`movsx offset ${off}`);
      default: throw new UnsupportedInsn(`ALU64 code 0x${code.toString(16)}`);
    }
  }

  // ALU (32-bit): operands are the low 32 bits, the result is zero-extended to 64 bits.
  const a = u32(dst);
  const b = isX ? u32(src) : immU32(insn.imm);
  switch (code) {
    case 0x00: return u32(a + b);
    case 0x10: return u32(a - b);
    case 0x20: return u32(a * b);
    case 0x30:
      if (b === 0n) return 0n;
      if (off === 1) return u32(sdivTrunc(s32(a), s32(b)));
      return a / b;
    case 0x90:
      if (b === 0n) return a; // upper half zeroed
      if (off === 1) return u32(smodTrunc(s32(a), s32(b)));
      return a % b;
    case 0x40: return a | b;
    case 0x50: return a & b;
    case 0xa0: return a ^ b;
    case 0x60: return u32(a << (b & 31n));
    case 0x70: return a >> (b & 31n);
    case 0xc0: return u32(s32(a) >> (b & 31n));
    case 0x80: return u32(-a);
    case 0xb0:
      if (!isX) return b;
      if (off === 0) return b;
      if (off === 8) return u32(s8(b));
      if (off === 16) return u32(s16(b));
      throw new UnsupportedInsn(`movsx32 offset ${off}`);
    default: throw new UnsupportedInsn(`ALU code 0x${code.toString(16)}`);
  }
}

/**
 * JMP and JMP32 conditional jumps (and ja): whether the branch is taken. JMP compares 64-bit values
 * (imm sign-extended to 64 bits); JMP32 compares the low 32 bits (imm as a 32-bit value).
 */
export function refJump(insn: Insn, dst: bigint, src: bigint): boolean {
  const op = insn.opcode;
  const cls = op & 0x07;
  if (cls !== 0x05 && cls !== 0x06) throw new UnsupportedInsn(`not a jump opcode 0x${op.toString(16)}`);
  const code = op & 0xf0;
  if (code === 0x00) return true; // ja / ja32
  const is32 = cls === 0x06;
  const isX = (op & 0x08) !== 0;
  let a: bigint, b: bigint, sa: bigint, sb: bigint;
  if (is32) {
    a = u32(dst);
    b = isX ? u32(src) : immU32(insn.imm);
    sa = s32(a); sb = s32(b);
  } else {
    a = u64(dst);
    b = isX ? u64(src) : immSx64(insn.imm);
    sa = s64(a); sb = s64(b);
  }
  switch (code) {
    case 0x10: return a === b; // jeq
    case 0x20: return a > b; // jgt
    case 0x30: return a >= b; // jge
    case 0x40: return (a & b) !== 0n; // jset
    case 0x50: return a !== b; // jne
    case 0x60: return sa > sb; // jsgt
    case 0x70: return sa >= sb; // jsge
    case 0xa0: return a < b; // jlt
    case 0xb0: return a <= b; // jle
    case 0xc0: return sa < sb; // jslt
    case 0xd0: return sa <= sb; // jsle
    default: throw new UnsupportedInsn(`jump code 0x${code.toString(16)}`);
  }
}

/** Bytes of a load/store size field (0x00 W, 0x08 H, 0x10 B, 0x18 DW). */
export function refSizeBytes(opcode: number): number {
  switch (opcode & 0x18) {
    case 0x00: return 4;
    case 0x08: return 2;
    case 0x10: return 1;
    default: return 8;
  }
}

/** Little-endian bytes → unsigned BigInt. */
export function leToBig(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  return v;
}

/** Low `n` bytes of v, little-endian. */
export function bigToLe(v: bigint, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = u64(v);
  for (let i = 0; i < n; i++) { out[i] = Number(x & 0xffn); x >>= 8n; }
  return out;
}

/**
 * LDX MEM (zero-extending) and LDX MEMSX (sign-extending) loads: the new dst value given the bytes
 * at dst+offset (exactly the access size).
 */
export function refLoad(insn: Insn, bytes: Uint8Array): bigint {
  const op = insn.opcode;
  if ((op & 0x07) !== 0x01) throw new UnsupportedInsn(`not a load 0x${op.toString(16)}`);
  const n = refSizeBytes(op);
  if (bytes.length !== n) throw new RangeError(`load of ${n} bytes given ${bytes.length}`);
  const v = leToBig(bytes);
  const mode = op & 0xe0;
  if (mode === 0x60) return v;
  if (mode === 0x80 && n !== 8) return u64(BigInt.asIntN(8 * n, v));
  throw new UnsupportedInsn(`load mode 0x${mode.toString(16)}`);
}

/**
 * ST (imm) and STX (register) MEM stores: the bytes written at dst+offset. ST stores imm
 * sign-extended to the access size (for DW: to 64 bits).
 */
export function refStore(insn: Insn, src: bigint): Uint8Array {
  const op = insn.opcode;
  const cls = op & 0x07;
  const n = refSizeBytes(op);
  if ((op & 0xe0) !== 0x60 || (cls !== 0x02 && cls !== 0x03)) throw new UnsupportedInsn(`not a store 0x${op.toString(16)}`);
  const v = cls === 0x02 ? immSx64(insn.imm) : u64(src);
  return bigToLe(v, n);
}

export interface AtomicResult {
  /** New value of the memory word (32 or 64 bits, unsigned). */
  mem: bigint;
  /** New value of the src register. */
  src: bigint;
  /** New value of r0. */
  r0: bigint;
}

/**
 * Atomic operations (STX | ATOMIC, W or DW; operation in imm): ADD OR AND XOR with optional FETCH,
 * XCHG and CMPXCHG. `old` is the memory word before. For 32-bit atomics the operands are the low
 * 32 bits; FETCH (and XCHG) zero-extend the old value into src; CMPXCHG compares with (the low 32
 * bits of) r0 and always zero-extends the old value into r0.
 */
export function refAtomic(insn: Insn, old: bigint, src: bigint, r0: bigint): AtomicResult {
  const op = insn.opcode;
  const is64 = op === 0xdb;
  if (!is64 && op !== 0xc3) throw new UnsupportedInsn(`not an atomic 0x${op.toString(16)}`);
  const mask = is64 ? MASK64 : MASK32;
  old &= mask;
  const s = u64(src) & mask;
  const kind = insn.imm;
  const fetch = (kind & 0x01) !== 0;
  let mem: bigint;
  let newSrc = u64(src);
  let newR0 = u64(r0);
  switch (kind & ~0x01) {
    case 0x00: mem = (old + s) & mask; break;
    case 0x40: mem = old | s; break;
    case 0x50: mem = old & s; break;
    case 0xa0: mem = old ^ s; break;
    case 0xe0: // xchg (always with FETCH)
      if (!fetch) throw new UnsupportedInsn('xchg without fetch');
      mem = s;
      break;
    case 0xf0: // cmpxchg (always with FETCH)
      if (!fetch) throw new UnsupportedInsn('cmpxchg without fetch');
      mem = (u64(r0) & mask) === old ? s : old;
      newR0 = old;
      return { mem, src: newSrc, r0: newR0 };
    default: throw new UnsupportedInsn(`atomic op 0x${kind.toString(16)}`);
  }
  if (fetch) newSrc = old;
  return { mem, src: newSrc, r0: newR0 };
}

/** Machine state for straight-line reference runs: 11 registers and nothing else. */
export type RefRegs = bigint[];

/**
 * Execute a straight-line list of ALU instructions on a copy of `regs` (no jumps, no memory).
 * Wide loads (0x18) are supported to set registers.
 */
export function refRunAlu(insns: Insn[], regs: RefRegs): RefRegs {
  const r = regs.map(u64);
  for (const i of insns) {
    if (i.opcode === 0x18) { r[i.dst] = u64((BigInt(i.imm2 >>> 0) << 32n) | BigInt(i.imm >>> 0)); continue; }
    r[i.dst] = refAlu(i, r[i.dst], r[i.src]);
  }
  return r;
}

/** Every ALU opcode with its variants (offset/imm) the RFC defines, for enumeration in tests. */
export interface AluVariant {
  name: string;
  opcode: number;
  offset: number;
  /** Fixed imm (byte swap widths), else undefined = random. */
  imm?: number;
}

const ALU_CODES: [string, number][] = [
  ['add', 0x00], ['sub', 0x10], ['mul', 0x20], ['div', 0x30], ['or', 0x40], ['and', 0x50],
  ['lsh', 0x60], ['rsh', 0x70], ['neg', 0x80], ['mod', 0x90], ['xor', 0xa0], ['mov', 0xb0], ['arsh', 0xc0],
];

export function aluVariants(): AluVariant[] {
  const out: AluVariant[] = [];
  for (const is64 of [true, false]) {
    const cls = is64 ? 0x07 : 0x04;
    const sfx = is64 ? '' : '32';
    for (const [name, code] of ALU_CODES) {
      for (const x of [false, true]) {
        if (code === 0x80 && x) continue; // neg has only the K form (0x8f is not NEG)
        const opcode = cls | code | (x ? 0x08 : 0);
        out.push({ name: `${name}${sfx} ${x ? 'reg' : 'imm'} (0x${opcode.toString(16)})`, opcode, offset: 0 });
        if (code === 0x30 || code === 0x90) {
          out.push({ name: `s${name}${sfx} ${x ? 'reg' : 'imm'} (0x${opcode.toString(16)} off 1)`, opcode, offset: 1 });
        }
        if (code === 0xb0 && x) {
          for (const o of is64 ? [8, 16, 32] : [8, 16]) {
            out.push({ name: `movsx${o}${is64 ? '64' : '32'} (0x${opcode.toString(16)} off ${o})`, opcode, offset: o });
          }
        }
      }
    }
  }
  for (const [name, opcode] of [['le', 0xd4], ['be', 0xdc], ['bswap', 0xd7]] as [string, number][]) {
    for (const w of [16, 32, 64]) out.push({ name: `${name}${w} (0x${opcode.toString(16)})`, opcode, offset: 0, imm: w });
  }
  return out;
}

/** Every conditional jump opcode (JMP and JMP32, K and X forms). */
export function jumpOpcodes(): { name: string; opcode: number }[] {
  const codes: [string, number][] = [
    ['jeq', 0x10], ['jgt', 0x20], ['jge', 0x30], ['jset', 0x40], ['jne', 0x50], ['jsgt', 0x60],
    ['jsge', 0x70], ['jlt', 0xa0], ['jle', 0xb0], ['jslt', 0xc0], ['jsle', 0xd0],
  ];
  const out: { name: string; opcode: number }[] = [];
  for (const [cls, sfx] of [[0x05, ''], [0x06, '32']] as [number, string][]) {
    for (const [name, code] of codes) {
      for (const x of [false, true]) {
        const opcode = cls | code | (x ? 0x08 : 0);
        out.push({ name: `${name}${sfx} ${x ? 'reg' : 'imm'} (0x${opcode.toString(16)})`, opcode });
      }
    }
  }
  return out;
}

/** Loads (LDX MEM, LDX MEMSX), stores (ST, STX) and atomics by opcode. */
export const LOAD_OPCODES = [0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91];
export const STORE_IMM_OPCODES = [0x62, 0x6a, 0x72, 0x7a];
export const STORE_REG_OPCODES = [0x63, 0x6b, 0x73, 0x7b];
export const ATOMIC_KINDS: { name: string; imm: number }[] = [
  { name: 'add', imm: 0x00 }, { name: 'fetch add', imm: 0x01 },
  { name: 'or', imm: 0x40 }, { name: 'fetch or', imm: 0x41 },
  { name: 'and', imm: 0x50 }, { name: 'fetch and', imm: 0x51 },
  { name: 'xor', imm: 0xa0 }, { name: 'fetch xor', imm: 0xa1 },
  { name: 'xchg', imm: 0xe1 }, { name: 'cmpxchg', imm: 0xf1 },
];
