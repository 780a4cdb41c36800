/**
 * fast-check arbitraries for random *verified* eBPF programs, for differential tests of the
 * execution tiers (interpreter vs compiled) and anything else that needs realistic programs.
 *
 * A program is generated as a tree of items (straight-line ALU, wide loads, memory accesses with
 * their address set-up, forward branches, bounded and unbounded loops, memory walks, helper calls,
 * local calls, early exits) for `main` and up to three local functions, then laid out with labels
 * resolved. Addresses aim at every region's ends and at their copies 2^32 and 2^63 away, also
 * through offsets at the ends of the 16-bit range and register steps near ±2^31 (arbTarget).
 * Register conventions keep loops bounded and addresses meaningful:
 *
 *   r0–r5  free: ALU destinations, load destinations, helper arguments (r1–r5)
 *   r6     the context pointer (`mov r6, r1` at entry; never written again)
 *   r7, r8 loop counters (outer, inner); r8 also the recursion counter of the recursive function
 *   r9     address scratch for memory accesses
 *   r10    frame pointer (read-only)
 *
 * r6–r9 are restored by every local-call return, so callees may use r7–r9 freely. Every program
 * ends with `exit`; `verifiedProgram` filters with verify() (almost every generated program passes:
 * only a local-call chain deeper than the generated `maxCallDepth` is rejected).
 */
import fc from 'fast-check';
import { encodeProgram, Program, type Insn } from '../../vm/program';
import { verify } from '../../vm/verifier';
import { BASE } from '../../vm/memory';
import { isWide } from '../../vm/opcodes';
import type { HelperCall, HelperDef, HelperTable } from '../../vm/vm';

// ---------------------------------------------------------------------------------------------
// Helpers the generated programs call

export const H_VALUE = 1; // 32-bit result from r1..r3 (zero-extended)
export const H_VALUE64 = 2; // 64-bit result (returns a bigint)
export const H_READ = 3; // reads u32 at r1 through call.mem (bad pointer → fault −2)
export const H_WRITE = 4; // writes u32 r2 at r1 through call.mem (bad pointer / rodata → fault −2)
export const H_THROW = 5; // throws an Error (fault −4)
export const H_SUSPEND = 6; // suspends the run
export const H_READN = 7; // reads r2 & 15 bytes at r1, returns their sum
export const H_BADRET = 8; // returns NaN when r2 is odd (fault −4), else r2
export const HELPER_IDS = [H_VALUE, H_VALUE64, H_READ, H_WRITE, H_THROW, H_SUSPEND, H_READN, H_BADRET];
/** An id no generated Vm grants: `callx` to it faults −4 at run time. */
export const H_MISSING = 99;

/** A fresh helper table (stateless helpers: two Vms given two tables behave identically). */
export function makeHelpers(): HelperTable {
  const m = new Map<number, HelperDef>();
  m.set(H_VALUE, { name: 'value', fn: (c: HelperCall) => (Math.imul(c.u32(1), 31) + c.u32(2)) ^ c.i32(3) });
  m.set(H_VALUE64, { name: 'value64', returns64: true, fn: (c) => c.u64(1) * 3n + c.u64(2) + (c.u64(5) << 40n) });
  m.set(H_READ, { name: 'read', fn: (c) => c.mem.readU32(c.u32(1)) });
  m.set(H_WRITE, { name: 'write', fn: (c) => { c.mem.writeU32(c.u32(1), c.u32(2)); return 7; } });
  m.set(H_THROW, { name: 'throw', fn: () => { throw new Error('helper exploded'); } });
  m.set(H_SUSPEND, { name: 'suspend', fn: (c) => c.suspend() });
  m.set(H_READN, { name: 'readn', fn: (c) => c.mem.read(c.u32(1), c.u32(2) & 15).reduce((a, b) => a + b, 0) });
  m.set(H_BADRET, { name: 'badret', fn: (c) => ((c.u32(2) & 1) === 1 ? NaN : c.u32(2)) });
  return m;
}

// ---------------------------------------------------------------------------------------------
// Instructions

export const I = (opcode: number, dst = 0, src = 0, offset = 0, imm = 0, imm2 = 0): Insn => ({ opcode, dst, src, offset, imm, imm2 });
const lddw = (dst: number, v: bigint): Insn =>
  I(0x18, dst, 0, 0, Number(BigInt.asIntN(32, v)), Number(BigInt.asIntN(32, v >> 32n)));
/** RIOT wide loads (0xB8 .data, 0xD8 .rodata): region address + sext(imm) + (imm2 << 32). */
const lddwRegion = (op: 0xb8 | 0xd8, dst: number, off: number, hi = 0): Insn => I(op, dst, 0, 0, off, hi);
export const EXIT = I(0x95);

const MASK64 = (1n << 64n) - 1n;
const FREE = fc.integer({ min: 0, max: 5 });
/** Source registers may be any register (reading r6–r10 is fine). */
const ANY_SRC = fc.oneof({ weight: 5, arbitrary: FREE }, { weight: 1, arbitrary: fc.integer({ min: 6, max: 10 }) });

const EDGE_IMM = [0, 1, -1, 2, -2, 3, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, 0x7f, 0x80, 0xff, 0x7fff, -0x8000, 0xffff,
  0x7fffffff, -0x80000000, -0x7fffffff];
export const arbImm: fc.Arbitrary<number> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...EDGE_IMM) },
  { weight: 3, arbitrary: fc.integer() },
  { weight: 2, arbitrary: fc.integer({ min: -100, max: 100 }) },
);
const EDGE64 = [0n, 1n, 2n, 0x7fn, 0x80n, 0xffn, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 1n << 32n,
  (1n << 63n) - 1n, 1n << 63n, MASK64, MASK64 - 1n, 0xffffffff80000000n, 0x8000000080000000n, 0x0123456789abcdefn];
export const arb64: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...EDGE64) },
  { weight: 3, arbitrary: fc.bigInt({ min: 0n, max: MASK64 }) },
  { weight: 1, arbitrary: fc.bigInt({ min: -300n, max: 300n }).map((v) => BigInt.asUintN(64, v)) },
);

/**
 * Offsets at the ends of the signed 16-bit range, and 64-bit add/sub constants near ±2^31 (the
 * immediate is sign-extended): with them `reg + off` and a register's movement over a pass cross
 * 2^31 and 2^32, where 32-bit arithmetic in a compiled access would go wrong.
 */
const EDGE_OFF = [32767, -32768, 32766, -32767, 0x4000, -0x4000, 0x7ff8];
const BIG_STEP = [0x7fffffff, -0x80000000, -0x7fffffff, 0x7ffffff8, -0x7ffffff8, 0x40000000, -0x40000000, 0x7fff8000, -0x7fff8001];
const FAR_STEP = [0x7fffffff, -0x7fffffff, 0x7ffffff8, -0x7ffffff8, 0x7fff8001, -0x7fff8001, -0x80000000];

const ALU_CODES = [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0];

/** One ALU / ALU64 instruction on a free destination register (every opcode, every variant). */
export const arbAlu: fc.Arbitrary<Insn[]> = fc.oneof(
  // Binary ops, K and X forms, 64 and 32 bits; div/mod with offset 0 or 1 (signed).
  { weight: 8, arbitrary: fc.record({ code: fc.constantFrom(...ALU_CODES), is64: fc.boolean(), x: fc.boolean(), d: FREE, s: ANY_SRC, imm: arbImm, signed: fc.boolean() })
    .map(({ code, is64, x, d, s, imm, signed }) => {
      const op = code | (x ? 0x08 : 0) | (is64 ? 0x07 : 0x04);
      const off = (code === 0x30 || code === 0x90) && signed ? 1 : 0;
      return [x ? I(op, d, s, off, 0) : I(op, d, 0, off, imm)];
    }) },
  // Division and modulo by 0 and −1 (immediate and register).
  { weight: 1, arbitrary: fc.record({ code: fc.constantFrom(0x30, 0x90), is64: fc.boolean(), x: fc.boolean(), d: FREE, s: FREE, v: fc.constantFrom(0, -1, 1), signed: fc.boolean() })
    .filter(({ d, s, x }) => !x || d !== s)
    .map(({ code, is64, x, d, s, v, signed }) => {
      const op = code | (x ? 0x08 : 0) | (is64 ? 0x07 : 0x04);
      return x ? [I(0xb7, s, 0, 0, v), I(op, d, s, signed ? 1 : 0)] : [I(op, d, 0, signed ? 1 : 0, v)];
    }) },
  // INT_MIN / −1 and INT_MIN % −1, 64 and 32 bits.
  { weight: 1, arbitrary: fc.record({ code: fc.constantFrom(0x30, 0x90), is64: fc.boolean(), x: fc.boolean(), d: FREE, s: FREE })
    .filter(({ d, s, x }) => !x || d !== s)
    .map(({ code, is64, x, d, s }) => {
      const min = is64 ? lddw(d, 1n << 63n) : I(0xb4, d, 0, 0, -0x80000000);
      const op = code | (x ? 0x08 : 0) | (is64 ? 0x07 : 0x04);
      return [min, ...(x ? [I(0xb7, s, 0, 0, -1), I(op, d, s, 1)] : [I(op, d, 0, 1, -1)])];
    }) },
  // neg
  { weight: 1, arbitrary: fc.record({ is64: fc.boolean(), d: FREE }).map(({ is64, d }) => [I(is64 ? 0x87 : 0x84, d)]) },
  // movsx (64: 8/16/32, 32: 8/16)
  { weight: 1, arbitrary: fc.record({ d: FREE, s: ANY_SRC, o64: fc.constantFrom(8, 16, 32), o32: fc.constantFrom(8, 16), is64: fc.boolean() })
    .map(({ d, s, o64, o32, is64 }) => [is64 ? I(0xbf, d, s, o64) : I(0xbc, d, s, o32)]) },
  // byte swaps: le (0xd4), be (0xdc), bswap (0xd7)
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom(0xd4, 0xdc, 0xd7), d: FREE, w: fc.constantFrom(16, 32, 64) }).map(({ op, d, w }) => [I(op, d, 0, 0, w)]) },
  // Shifts by edge amounts (register form: amount in a register, masked by the VM).
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom(0x6f, 0x7f, 0xcf, 0x6c, 0x7c, 0xcc), d: FREE, s: FREE, n: fc.constantFrom(0, 1, 31, 32, 33, 63, 64, 65, -1) })
    .filter(({ d, s }) => d !== s)
    .map(({ op, d, s, n }) => [I(0xb7, s, 0, 0, n), I(op, d, s)]) },
);

/** Wide loads: lddw of a 64-bit constant, RIOT's 0xB8/0xD8 with small offsets. */
export const arbWide: fc.Arbitrary<Insn[]> = fc.oneof(
  fc.record({ d: FREE, v: arb64 }).map(({ d, v }) => [lddw(d, v)]),
  fc.record({ op: fc.constantFrom(0xb8 as const, 0xd8 as const), d: FREE, off: fc.integer({ min: -16, max: 80 }), hi: fc.constantFrom(0, 0, 0, 1, -1) })
    .map(({ op, d, off, hi }) => [lddwRegion(op, d, off, hi)]),
);

// ---------------------------------------------------------------------------------------------
// Addresses

export interface Sizes {
  data: number;
  rodata: number;
  /** Nominal context size the generator aims at (runs may pass other sizes or none). */
  ctx: number;
  /** Deepest allowed local-call nesting (Vm option maxCallDepth). */
  maxCallDepth: number;
}

interface Addr {
  /** Instructions that put the base address in `base`. */
  setup: Insn[];
  base: number;
  off: number;
}

const STACK_FRAME = 512;

/** An address for an access of up to 8 bytes: in, around and far from every region. */
function arbAddr(sz: Sizes, reg: number, write = false): fc.Arbitrary<Addr> {
  // Mostly inside (so that runs go on past the access), sometimes at and across the edges.
  const near = (size: number): fc.Arbitrary<number> => fc.oneof(
    { weight: 14, arbitrary: fc.integer({ min: 0, max: Math.max(0, size - 8) }) },
    { weight: 1, arbitrary: fc.integer({ min: -9, max: size + 9 }) },
  );
  const smallOff = fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -8, max: 8 }) });
  const far: bigint[] = [0n, 8n, 0xffffn, 0x10000n, BigInt(BASE.rodata) - 1n, BigInt(BASE.data) - 4n,
    BigInt(BASE.data + sz.data) - 2n, BigInt(BASE.stack) - 8n, BigInt(BASE.context + sz.ctx) - 1n, BigInt(BASE.extra),
    0xfffffff8n, 0xffffffffn, 1n << 32n, (1n << 32n) + BigInt(BASE.data), (1n << 32n) + BigInt(BASE.stack),
    1n << 63n, MASK64, MASK64 - 7n, MASK64 - BigInt(BASE.data) + 1n];
  return fc.oneof(
    // Stack through r10 directly, inside the frame, at its edges and outside.
    { weight: 4, arbitrary: fc.oneof(
      { weight: 14, arbitrary: fc.integer({ min: -STACK_FRAME, max: -8 }) },
      { weight: 1, arbitrary: fc.integer({ min: -STACK_FRAME - 16, max: 16 }) },
      { weight: 1, arbitrary: fc.constantFrom(-32768, 32767, -STACK_FRAME * (sz.maxCallDepth + 1) - 1, -STACK_FRAME * (sz.maxCallDepth + 1)) },
    ).map((off) => ({ setup: [], base: 10, off })) },
    // Stack through a copy of r10 moved by a register add.
    { weight: 1, arbitrary: fc.record({ k: fc.integer({ min: -STACK_FRAME - 8, max: -8 }), off: smallOff })
      .map(({ k, off }) => ({ setup: [I(0xbf, reg, 10), I(0x07, reg, 0, 0, k)], base: reg, off })) },
    // .data via 0xB8 and .rodata via 0xD8.
    { weight: 4, arbitrary: fc.record({ k: near(sz.data), off: smallOff })
      .map(({ k, off }) => ({ setup: [lddwRegion(0xb8, reg, k)], base: reg, off })) },
    { weight: write ? 1 : 4, arbitrary: fc.record({ k: near(sz.rodata), off: smallOff })
      .map(({ k, off }) => ({ setup: [lddwRegion(0xd8, reg, k)], base: reg, off })) },
    // The context (r6 = r1 at entry; 0 when the run has no context).
    { weight: 4, arbitrary: fc.record({ k: near(sz.ctx), off: smallOff })
      .map(({ k, off }) => ({ setup: [I(0xbf, reg, 6), ...(k ? [I(0x07, reg, 0, 0, k)] : [])], base: reg, off })) },
    // Aimed with an offset at the ends of the 16-bit range: reg + off lands at a region's ends or
    // on their copies 2^32 and 2^63 away.
    { weight: 1, arbitrary: fc.record({ t: arbTarget(sz), off: fc.constantFrom(...EDGE_OFF) })
      .map(({ t, off }) => ({ setup: [lddw(reg, BigInt.asUintN(64, t.addr - BigInt(off)))], base: reg, off })) },
    // Far away: below, above, straddling 4 GiB, huge 64-bit addresses, big offsets.
    { weight: 1, arbitrary: fc.record({ v: fc.oneof(fc.constantFrom(...far), arb64), off: fc.oneof(smallOff, fc.constantFrom(-32768, 32767, -1, 1)) })
      .map(({ v, off }) => ({ setup: [lddw(reg, v)], base: reg, off })) },
  );
}

const LOAD_OPS = [0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91];
const STORE_IMM_OPS = [0x62, 0x6a, 0x72, 0x7a];
const STORE_REG_OPS = [0x63, 0x6b, 0x73, 0x7b];
const ATOMIC_IMMS = [0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1];

/** A load, store or atomic with its address set-up. */
function arbMem(sz: Sizes): fc.Arbitrary<Insn[]> {
  const addr = arbAddr(sz, 9);
  const waddr = arbAddr(sz, 9, true);
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ a: addr, op: fc.constantFrom(...LOAD_OPS), d: FREE })
      .map(({ a, op, d }) => [...a.setup, I(op, d, a.base, a.off)]) },
    { weight: 2, arbitrary: fc.record({ a: waddr, op: fc.constantFrom(...STORE_IMM_OPS), imm: arbImm })
      .map(({ a, op, imm }) => [...a.setup, I(op, a.base, 0, a.off, imm)]) },
    { weight: 3, arbitrary: fc.record({ a: waddr, op: fc.constantFrom(...STORE_REG_OPS), s: ANY_SRC })
      .map(({ a, op, s }) => [...a.setup, I(op, a.base, s, a.off)]) },
    { weight: 2, arbitrary: fc.record({ a: waddr, op: fc.constantFrom(0xc3, 0xdb), s: FREE, imm: fc.constantFrom(...ATOMIC_IMMS) })
      .map(({ a, op, s, imm }) => [...a.setup, I(op, a.base, s, a.off, imm)]) },
  );
}

/** A helper call with r1 = an address (for the memory helpers) and r2 = a value. */
function arbHelperCall(sz: Sizes): fc.Arbitrary<Insn[]> {
  return fc.record({
    id: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(H_VALUE, H_VALUE64, H_READ, H_WRITE, H_READN, H_SUSPEND) },
      { weight: 1, arbitrary: fc.constantFrom(H_THROW, H_BADRET) },
    ),
    a: arbAddr(sz, 1),
    v: fc.oneof(fc.integer({ min: 0, max: 20 }), arbImm),
    via: fc.constantFrom('imm', 'imm', 'imm', 'imm', 'imm', 'callx', 'callx', 'callx', 'callx-hi', 'missing'),
  }).map(({ id, a, v, via }) => {
    const setup = [...a.setup, ...(a.base !== 1 ? [I(0xbf, 1, a.base)] : []), ...(a.off ? [I(0x07, 1, 0, 0, a.off)] : []), I(0xb7, 2, 0, 0, v)];
    if (via === 'imm') return [...setup, I(0x85, 0, 0, 0, id)];
    if (via === 'callx-hi') return [...setup, lddw(3, (1n << 32n) | BigInt(id)), I(0x8d, 3)]; // id with upper bits: not a helper
    return [...setup, I(0xb7, 3, 0, 0, via === 'missing' ? H_MISSING : id), I(0x8d, 3)];
  });
}

// ---------------------------------------------------------------------------------------------
// Structure

type Item =
  | { k: 'code'; insns: Insn[] }
  | { k: 'if'; cond: Insn; body: Item[]; els: Item[] | null }
  | { k: 'skip'; op: 0x05 | 0x06; body: Item[] }
  | { k: 'loop'; init: Insn[]; body: Item[]; step: Insn[]; cond: Insn }
  | { k: 'spin'; op: 0x05 | 0x06; body: Item[] }
  | { k: 'walk'; init: Insn[]; body: WalkPart[]; step: Insn[]; cond: Insn }
  | { k: 'call'; fn: number }
  | { k: 'rec'; n: number }
  | { k: 'exit' };

const JMP_CODES = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0];

/** A conditional jump of any JMP/JMP32 kind (offset filled in at layout). */
const arbCond: fc.Arbitrary<Insn> = fc.record({ code: fc.constantFrom(...JMP_CODES), j32: fc.boolean(), x: fc.boolean(), d: ANY_SRC, s: ANY_SRC, imm: arbImm })
  .map(({ code, j32, x, d, s, imm }) => {
    const op = code | (x ? 0x08 : 0) | (j32 ? 0x06 : 0x05);
    return x ? I(op, d, s) : I(op, d, 0, 0, imm);
  });

/** Counter-controlled loop heads/tails on register r (runs n times; n ≥ 1). */
function loopShape(r: number, n: number, style: number, j32: boolean): { init: Insn[]; step: Insn[]; cond: Insn } {
  const J = j32 ? 0x06 : 0x05;
  switch (style) {
    case 0: return { init: [I(0xb7, r, 0, 0, n)], step: [I(0x17, r, 0, 0, 1)], cond: I(0x50 | J, r, 0, 0, 0) }; // jne r, 0
    case 1: return { init: [I(0xb7, r, 0, 0, n)], step: [I(0x07, r, 0, 0, -1)], cond: I(0x20 | J, r, 0, 0, 0) }; // jgt r, 0
    case 2: return { init: [I(0xb7, r, 0, 0, n)], step: [I(0x14, r, 0, 0, 1)], cond: I(0x70 | J, r, 0, 0, 1) }; // jsge r, 1
    case 3: return { init: [I(0xb7, r, 0, 0, 0)], step: [I(0x07, r, 0, 0, 1)], cond: I(0xa0 | J, r, 0, 0, n) }; // jlt r, n
    case 4: return { init: [I(0xb7, r, 0, 0, 0)], step: [I(0x04, r, 0, 0, 1)], cond: I(0xd0 | J, r, 0, 0, n - 1) }; // jsle r, n−1
    case 5: return { init: [I(0xb7, r, 0, 0, 0)], step: [I(0x07, r, 0, 0, 1), I(0xb7, 9, 0, 0, n)], cond: I(0xc8 | J, r, 9) }; // jslt r, r9
    default: return { init: [I(0xb7, r, 0, 0, n)], step: [I(0x17, r, 0, 0, 1)], cond: I(0x40 | J, r, 0, 0, -1) }; // jset r, −1
  }
}

/**
 * A loop body that walks memory through r9: loads, stores and atomics through r9, r9 moved by
 * constants (small ones, ones near ±2^31, 32-bit steps that drop its upper half), accesses through
 * r10, ALU work. Without skips it is one basic block that jumps to itself: the compiled tier's
 * fast self-loops (wasm-emit-loops.ts, fastLoopPlan). A skip (a forward branch over a part of the
 * body) makes it an innermost loop with branches: the structured loop copies and their unchecked
 * passes (LoopCopies.latch, rangeHoistPlan). `counter` is the loop's counter register (a condition on its
 * low bit takes a skip every other pass).
 *
 * Two kinds: near walks access r9 plus small offsets (now and then through a detour: r9 moved by
 * a constant near ±2^31, an access at a 16-bit-edge offset, moved back); far walks keep r9 about
 * 2^31 away from what they access and reach it only through detours by one constant K with
 * offsets near one edge offset, so that every access of the loop can land in one region.
 */
function arbWalkBody(counter: number): fc.Arbitrary<WalkPart[]> {
  const nearOff = fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0, max: 8 }) },
    { weight: 2, arbitrary: fc.integer({ min: -16, max: 16 }) },
    { weight: 1, arbitrary: fc.constantFrom(...EDGE_OFF) },
  );
  // K within a few units of ±2^31, mostly with an offset of its sign: K + offset passes ±2^31,
  // or ends just short of it.
  const far = fc.record({ imm: fc.constantFrom(...FAR_STEP), sub: fc.boolean(), o: fc.constantFrom(...EDGE_OFF), same: fc.nat(7) })
    .chain(({ imm, sub, o, same }) => {
      const o2 = same && (o > 0) !== ((sub ? -imm : imm) > 0) ? -o - 1 : o;
      const d = fc.oneof(fc.constant(0), fc.nat(3), fc.nat(8));
      return walkParts(counter, d.map((d) => (o2 > 0 ? o2 - d : o2 + d)), { k: imm, sub });
    });
  return fc.oneof({ weight: 1, arbitrary: walkParts(counter, nearOff, null) }, { weight: 1, arbitrary: far });
}

/** The parts of a near walk (`far` null) or of a far walk detouring by `far.k` (see arbWalkBody). */
function walkParts(counter: number, off: fc.Arbitrary<number>, far: { k: number; sub: boolean } | null): fc.Arbitrary<WalkPart[]> {
  const stride = fc.oneof(
    { weight: 12, arbitrary: fc.integer({ min: -8, max: 8 }) },
    { weight: far ? 0 : 2, arbitrary: fc.constantFrom(-4096, 513, 65536, -0x8000, 0x8000) },
    { weight: far ? 0 : 2, arbitrary: fc.constantFrom(...BIG_STEP) },
  );
  // Fewer atomics in far walks: one keeps the whole loop off the fast self-loop form.
  const access = (o: fc.Arbitrary<number>): fc.Arbitrary<Insn> => fc.oneof(
    { weight: 8, arbitrary: fc.record({ op: fc.constantFrom(...LOAD_OPS), d: FREE, o }).map(({ op, d, o }) => I(op, d, 9, o)) },
    { weight: 4, arbitrary: fc.record({ op: fc.constantFrom(...STORE_REG_OPS), s: ANY_SRC, o }).map(({ op, s, o }) => I(op, 9, s, o)) },
    { weight: 2, arbitrary: fc.record({ op: fc.constantFrom(...STORE_IMM_OPS), imm: arbImm, o }).map(({ op, imm, o }) => I(op, 9, 0, o, imm)) },
    { weight: far ? 1 : 2, arbitrary: fc.record({ op: fc.constantFrom(0xc3, 0xdb), s: FREE, imm: fc.constantFrom(...ATOMIC_IMMS), o }).map(({ op, s, imm, o }) => I(op, 9, s, o, imm)) },
  );
  // r9 moved by K (add K, or sub −K), accesses, moved back.
  const detour = (k: number, sub: boolean, o: fc.Arbitrary<number>, max: number): fc.Arbitrary<Insn[]> =>
    fc.array(access(o), { minLength: 1, maxLength: max }).map((as) => [I(sub ? 0x17 : 0x07, 9, 0, 0, k), ...as, I(sub ? 0x07 : 0x17, 9, 0, 0, k)]);
  const straight: fc.Arbitrary<Insn[]> = fc.oneof(
    { weight: far ? 0 : 8, arbitrary: access(off).map((i) => [i]) },
    { weight: far ? 8 : 1, arbitrary: far ? detour(far.k, far.sub, off, 3)
      : fc.record({ k: fc.constantFrom(...BIG_STEP), sub: fc.boolean() }).chain(({ k, sub }) => detour(k, sub, fc.constantFrom(...EDGE_OFF), 1)) },
    { weight: 1, arbitrary: fc.record({ op: fc.constantFrom(...LOAD_OPS, ...STORE_REG_OPS), r: FREE, o: fc.integer({ min: -STACK_FRAME, max: -8 }) })
      .map(({ op, r, o }) => [isLoad(op) ? I(op, r, 10, o) : I(op, 10, r, o)]) },
    { weight: 5, arbitrary: fc.record({ op: fc.constantFrom(0x07, 0x07, 0x07, 0x17, 0x17, 0x17, 0x04, 0x14), k: stride }).map(({ op, k }) => [I(op, 9, 0, 0, k)]) },
    { weight: 4, arbitrary: arbAlu },
  );
  const cond: fc.Arbitrary<Insn> = fc.oneof(
    { weight: 2, arbitrary: arbCond },
    { weight: 1, arbitrary: fc.constant(I(0x45, counter, 0, 0, 1)) }, // jset counter, 1: every other pass
  );
  return fc.array(fc.oneof(
    { weight: 10, arbitrary: straight },
    { weight: 1, arbitrary: fc.record({ cond, over: fc.array(straight, { minLength: 1, maxLength: 3 }) }).map(({ cond, over }) => [{ cond, over: over.flat() }]) },
  ), { minLength: 1, maxLength: 6 }).map((parts) => parts.flat());
}

/** A forward branch over part of a walk's body. */
interface WalkSkip { cond: Insn; over: Insn[] }
type WalkPart = Insn | WalkSkip;
const isSkip = (p: WalkPart): p is WalkSkip => 'over' in p;
const isLoad = (op: number): boolean => LOAD_OPS.includes(op);

/**
 * Where a walk's accesses through r9 are, on the path that takes no skip: r9's movement before
 * each (`partial`, 64-bit add/sub only), its offset, r9's movement over the whole pass, and
 * whether the walk reads and writes memory (atomics do both).
 */
function walkAccesses(body: WalkPart[]): { accesses: { partial: bigint; off: number }[]; stride: bigint; reads: boolean; writes: boolean } {
  const accesses: { partial: bigint; off: number }[] = [];
  let delta = 0n, reads = false, writes = false;
  for (const i of body.flatMap((p) => (isSkip(p) ? p.over : [p]))) {
    const cls = i.opcode & 7;
    if (isLoad(i.opcode) ? i.src === 9 : (cls === 2 || cls === 3) && i.dst === 9) {
      accesses.push({ partial: delta, off: i.offset });
      reads ||= isLoad(i.opcode) || i.opcode === 0xc3 || i.opcode === 0xdb;
      writes ||= !isLoad(i.opcode);
    } else if (i.dst === 9 && i.opcode === 0x07) delta += BigInt(i.imm);
    else if (i.dst === 9 && i.opcode === 0x17) delta -= BigInt(i.imm);
  }
  return { accesses, stride: delta, reads, writes };
}

/** Each region's base and size as generated programs see them (the context's and the fuzzer's: nominal). */
function regionsOf(sz: Sizes): [number, number][] {
  return [[BASE.rodata, sz.rodata], [BASE.data, sz.data], [BASE.stack, STACK_FRAME], [BASE.context, sz.ctx],
    [BASE.extra, 24], [BASE.extra + 0x0100_0000, 32]]; // the fuzzer's canary and scratch regions
}

/** An address aimed at a region (see arbTarget), with the region it is aimed at. */
interface Target { addr: bigint; base: number; size: number }

/** What a 32-bit truncation of v takes away: v − sext32(v) (a multiple of 2^32). */
const fold32 = (v: bigint): bigint => v - BigInt.asIntN(32, v);

/**
 * An address just outside, at or just inside a region's ends (or anywhere inside), as is or
 * moved by 2^32 either way, by 2^63, or by one of `folds`: the copies of the region that a
 * truncation of 64-bit address arithmetic to 32 bits would fold onto it, and that must fault.
 */
function arbTarget(sz: Sizes, folds: bigint[] = []): fc.Arbitrary<Target> {
  const where = fc.oneof(
    { weight: 1, arbitrary: fc.integer({ min: -9, max: 9 }).map((k) => ({ from: 'start' as const, k })) },
    { weight: 1, arbitrary: fc.integer({ min: -9, max: 9 }).map((k) => ({ from: 'end' as const, k })) },
    { weight: 2, arbitrary: fc.nat().map((k) => ({ from: 'inside' as const, k })) },
  );
  const nonzero = folds.filter((f) => f !== 0n);
  const wrap = fc.oneof(
    { weight: 2, arbitrary: fc.constant(0n) },
    { weight: 2, arbitrary: fc.constantFrom(1n << 32n, -(1n << 32n)) },
    { weight: 1, arbitrary: fc.constant(1n << 63n) },
    ...(nonzero.length ? [{ weight: 8, arbitrary: fc.constantFrom(...nonzero) }] : []),
  );
  return fc.record({ r: fc.constantFrom(...regionsOf(sz)), where, wrap }).map(({ r: [base, size], where: { from, k }, wrap }) => {
    const rel = from === 'start' ? k : from === 'end' ? size + k : k % Math.max(1, size);
    return { addr: BigInt.asUintN(64, BigInt(base + rel) + wrap), base, size };
  });
}

/**
 * A walk's set-up of r9: from anywhere arbAddr starts, or aimed so that one access through r9, in
 * its first or a later pass, lands exactly on an arbTarget address (among them the copy that a
 * 32-bit truncation of that access's displacement from r9's start would fold onto the target).
 * An aimed walk mostly first touches the target's region as the loop does (a load, a store), as a
 * program that fills a buffer and then loops over it does: the compiled tier's region caches then
 * hold that region when the loop starts, which is when its fast forms trust them.
 */
function arbWalkStart(sz: Sizes, body: WalkPart[]): fc.Arbitrary<Insn[]> {
  const fromAddr = arbAddr(sz, 9).map((a) => [...a.setup, ...(a.base !== 9 ? [I(0xbf, 9, a.base)] : []), ...(a.off ? [I(0x07, 9, 0, 0, a.off)] : [])]);
  const { accesses, stride, reads, writes } = walkAccesses(body);
  if (!accesses.length) return fromAddr;
  const aimed = fc.record({ a: fc.constantFrom(...accesses), pass: fc.constantFrom(0n, 0n, 1n, 2n, 7n) })
    .chain(({ a, pass }) => {
      const disp = a.partial + BigInt(a.off) + pass * stride;
      return fc.record({ t: arbTarget(sz, [fold32(disp), fold32(a.partial + BigInt(a.off))]), warm: fc.nat(5), k: fc.nat() })
        .map(({ t, warm, k }) => {
          const at = lddw(9, BigInt(t.base + (k % Math.max(1, t.size - 7))));
          const writable = t.base !== BASE.rodata && t.base !== BASE.extra; // not the read-only ones
          const touch = warm ? [at, ...(reads ? [I(0x71, 0, 9)] : []), ...(writes && writable ? [I(0x73, 9, 0)] : [])] : [];
          return [...touch, lddw(9, BigInt.asUintN(64, t.addr - disp))];
        });
    });
  return fc.oneof({ weight: 1, arbitrary: fromAddr }, { weight: 2, arbitrary: aimed });
}

interface Ctx {
  depth: number; // structural nesting
  loops: number; // enclosing counter loops (0, 1, 2)
  fn: number; // function index (0 = main)
  nFuncs: number;
  recursive: boolean;
}

export interface GenConfig {
  /** Relative weights of item kinds. */
  weights?: Partial<Record<'code' | 'mem' | 'helper' | 'suspend' | 'if' | 'skip' | 'loop' | 'walk' | 'spin' | 'call' | 'rec' | 'exit', number>>;
  maxItems?: number;
  maxFuncs?: number;
}

/**
 * Mostly memory walks (see arbWalkBody, arbWalkStart), a few items: the programs that aim
 * accesses at region ends and at their copies 2^32 and 2^63 away, for the differential tests of
 * the compiled tier's address arithmetic and the fuzzer.
 */
export const WALK_HEAVY: GenConfig = { maxItems: 4, maxFuncs: 1, weights: { walk: 12, code: 2, mem: 2, helper: 0, suspend: 0, if: 1, skip: 0, loop: 1, spin: 0, call: 1, rec: 0, exit: 0 } };

const DEFAULT_WEIGHTS = { code: 6, mem: 5, helper: 2, suspend: 1, if: 3, skip: 1, loop: 3, walk: 2, spin: 1, call: 2, rec: 1, exit: 1 };

function arbItems(sz: Sizes, cfg: Required<GenConfig>, cx: Ctx): fc.Arbitrary<Item[]> {
  const w = { ...DEFAULT_WEIGHTS, ...cfg.weights };
  const max = cx.depth === 0 ? cfg.maxItems : Math.max(1, Math.floor(cfg.maxItems / (2 * cx.depth + 1)));
  const deeper = cx.depth < 3;
  const inner = (more: Partial<Ctx>): fc.Arbitrary<Item[]> =>
    fc.constant(null).chain(() => arbItems(sz, cfg, { ...cx, depth: cx.depth + 1, ...more }));
  const choices: fc.WeightedArbitrary<Item>[] = [
    { weight: w.code, arbitrary: fc.oneof({ weight: 3, arbitrary: arbAlu }, { weight: 1, arbitrary: arbWide }).map((insns) => ({ k: 'code' as const, insns })) },
    { weight: w.mem, arbitrary: arbMem(sz).map((insns) => ({ k: 'code' as const, insns })) },
    { weight: w.helper, arbitrary: arbHelperCall(sz).map((insns) => ({ k: 'code' as const, insns })) },
    { weight: w.suspend, arbitrary: fc.integer({ min: 0, max: 5 }).map((v) => ({ k: 'code' as const, insns: [I(0xb7, 1, 0, 0, v), I(0x85, 0, 0, 0, H_SUSPEND)] })) },
  ];
  if (deeper) {
    choices.push(
      { weight: w.if, arbitrary: fc.record({ cond: arbCond, body: inner({}), els: fc.option(inner({}), { freq: 3 }) }).map((r) => ({ k: 'if' as const, ...r })) },
      { weight: w.skip, arbitrary: fc.record({ op: fc.constantFrom(0x05 as const, 0x06 as const), body: inner({}) }).map((r) => ({ k: 'skip' as const, ...r })) },
    );
    if (cx.loops < 2) {
      choices.push({ weight: w.loop, arbitrary: fc.record({
        n: fc.integer({ min: 1, max: cx.loops === 0 ? 12 : 5 }), style: fc.integer({ min: 0, max: 6 }), j32: fc.boolean(),
        body: inner({ loops: cx.loops + 1 }),
      }).map(({ n, style, j32, body }) => ({ k: 'loop' as const, body, ...loopShape(7 + cx.loops, n, style, j32) })) });
      // Style 5 bounds the loop with r9, the walk's address register: not for walks.
      choices.push({ weight: w.walk, arbitrary: arbWalkBody(7 + cx.loops).chain((body) => fc.record({
        start: arbWalkStart(sz, body), n: fc.integer({ min: 1, max: cx.loops === 0 ? 60 : 8 }), style: fc.constantFrom(0, 1, 2, 3, 4, 6), j32: fc.boolean(),
      }).map(({ start, n, style, j32 }) => {
        const shape = loopShape(7 + cx.loops, n, style, j32);
        return { k: 'walk' as const, body, step: shape.step, cond: shape.cond, init: [...start, ...shape.init] };
      })) });
    }
    if (cx.depth === 0 && cx.loops === 0) {
      choices.push({ weight: w.spin, arbitrary: fc.record({ op: fc.constantFrom(0x05 as const, 0x06 as const), body: inner({ loops: 2 }) }).map((r) => ({ k: 'spin' as const, ...r })) });
    }
  }
  if (cx.fn + 1 < cx.nFuncs) {
    choices.push({ weight: w.call, arbitrary: fc.integer({ min: cx.fn + 1, max: cx.nFuncs - 1 }).map((fn) => ({ k: 'call' as const, fn })) });
  }
  // Not inside an inner loop: the call sets r8, the inner loop's counter.
  if (cx.recursive && cx.loops < 2) choices.push({ weight: w.rec, arbitrary: fc.integer({ min: 0, max: sz.maxCallDepth + 2 }).map((n) => ({ k: 'rec' as const, n })) });
  if (cx.depth > 0) choices.push({ weight: w.exit, arbitrary: fc.constant({ k: 'exit' as const }) });
  return fc.array(fc.oneof(...choices), { maxLength: max });
}

// ---------------------------------------------------------------------------------------------
// Layout

class Emitter {
  readonly out: { insn: Insn; label?: number }[] = [];
  private slots = 0;
  private readonly at: number[] = [];
  private readonly slotOf: number[] = [];
  label(): number { this.at.push(-1); return this.at.length - 1; }
  bind(l: number): void { this.at[l] = this.slots; }
  emit(insn: Insn, label?: number): void {
    this.out.push({ insn: { ...insn }, label });
    this.slotOf.push(this.slots);
    this.slots += isWide(insn.opcode) ? 2 : 1;
  }
  get length(): number { return this.slots; }
  resolve(): Insn[] {
    return this.out.map(({ insn, label }, k) => {
      if (label === undefined) return insn;
      const rel = this.at[label] - this.slotOf[k] - 1;
      if (insn.opcode === 0x06 || (insn.opcode === 0x85 && insn.src === 1)) return { ...insn, imm: rel };
      return { ...insn, offset: rel };
    });
  }
}

function layItems(e: Emitter, items: Item[], fnLabels: number[], recLabel: number): void {
  for (const it of items) {
    switch (it.k) {
      case 'code': for (const i of it.insns) e.emit(i); break;
      case 'exit': e.emit(EXIT); break;
      case 'if': {
        const lElse = e.label(), lEnd = e.label();
        e.emit(it.cond, lElse); // taken: skip the then-part
        layItems(e, it.body, fnLabels, recLabel);
        if (it.els) {
          e.emit(I(0x05), lEnd);
          e.bind(lElse);
          layItems(e, it.els, fnLabels, recLabel);
          e.bind(lEnd);
        } else e.bind(lElse);
        break;
      }
      case 'skip': { // dead code behind a forward ja / ja32
        const l = e.label();
        e.emit(I(it.op), l);
        layItems(e, it.body, fnLabels, recLabel);
        e.bind(l);
        break;
      }
      case 'loop': {
        for (const i of it.init) e.emit(i);
        const top = e.label();
        e.bind(top);
        layItems(e, it.body, fnLabels, recLabel);
        for (const i of it.step) e.emit(i);
        e.emit(it.cond, top);
        break;
      }
      case 'walk': {
        for (const i of it.init) e.emit(i);
        const top = e.label();
        e.bind(top);
        for (const part of it.body) {
          if (!isSkip(part)) { e.emit(part); continue; }
          const over = e.label();
          e.emit(part.cond, over);
          for (const i of part.over) e.emit(i);
          e.bind(over);
        }
        for (const i of it.step) e.emit(i);
        e.emit(it.cond, top);
        break;
      }
      case 'spin': { // unbounded: only the budget (or a fault / exit inside) ends it
        const top = e.label();
        e.bind(top);
        layItems(e, it.body, fnLabels, recLabel);
        e.emit(I(0x04, 0, 0, 0, 1)); // add32 r0, 1 — never an empty self-jump only
        e.emit(I(it.op), top);
        break;
      }
      case 'call': e.emit(I(0x85, 0, 1), fnLabels[it.fn]); break;
      case 'rec': e.emit(I(0xb7, 8, 0, 0, it.n)); e.emit(I(0x85, 0, 1), recLabel); break;
    }
  }
}

export interface GenProgram {
  insns: Insn[];
  text: Uint8Array;
  data: Uint8Array;
  rodata: Uint8Array;
  sizes: Sizes;
  /** Slot index of each local function (main is 0). */
  functions: number[];
}

/** Lay out main + functions (+ the recursive function) into one program. */
export function layout(main: Item[], fns: Item[][], recursive: Item[] | null, sizes: Sizes, data: Uint8Array, rodata: Uint8Array): GenProgram {
  const e = new Emitter();
  const fnLabels = [0, ...fns.map(() => e.label())];
  const recLabel = e.label();
  e.emit(I(0xbf, 6, 1)); // r6 = context pointer
  layItems(e, main, fnLabels, recLabel);
  e.emit(EXIT);
  const functions = [0];
  fns.forEach((body, k) => {
    e.bind(fnLabels[k + 1]);
    functions.push(e.length);
    layItems(e, body, fnLabels, recLabel);
    e.emit(EXIT);
  });
  if (recursive) {
    // rec: if r8 == 0 return; r8 -= 1; body; call rec; exit  (depth = r8 at the first call)
    e.bind(recLabel);
    functions.push(e.length);
    const done = e.label();
    e.emit(I(0x15, 8, 0, 0, 0), done);
    e.emit(I(0x17, 8, 0, 0, 1));
    layItems(e, recursive, fnLabels, recLabel);
    e.emit(I(0x85, 0, 1), recLabel);
    e.emit(I(0x04, 0, 0, 0, 1));
    e.bind(done);
    e.emit(EXIT);
  } else e.bind(recLabel);
  const insns = e.resolve();
  return { insns, text: encodeProgram(insns), data, rodata, sizes, functions };
}

function arbProgramUnfiltered(cfgIn: GenConfig = {}): fc.Arbitrary<GenProgram> {
  const cfg: Required<GenConfig> = { weights: {}, maxItems: 10, maxFuncs: 3, ...cfgIn };
  return fc.record({
    data: fc.oneof({ weight: 6, arbitrary: fc.uint8Array({ minLength: 8, maxLength: 64 }) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 8 }) }),
    rodata: fc.oneof({ weight: 6, arbitrary: fc.uint8Array({ minLength: 8, maxLength: 48 }) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 8 }) }),
    ctx: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 8, max: 64 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 8 }) }),
    maxCallDepth: fc.integer({ min: 1, max: 8 }),
    nFuncs: fc.integer({ min: 1, max: 1 + cfg.maxFuncs }),
    recursive: fc.boolean(),
  }).chain(({ data, rodata, ctx, maxCallDepth, nFuncs, recursive }) => {
    const sizes: Sizes = { data: data.length, rodata: rodata.length, ctx, maxCallDepth };
    const base = { depth: 0, loops: 0, nFuncs, recursive };
    const fnArbs = Array.from({ length: nFuncs - 1 }, (_, k) =>
      arbItems(sizes, { ...cfg, maxItems: Math.max(1, cfg.maxItems >> 1) }, { ...base, fn: k + 1 }));
    const recArb = recursive
      ? arbItems(sizes, { ...cfg, maxItems: 3, weights: { ...cfg.weights, loop: 0, spin: 0, call: 0, rec: 0, if: 1 } }, { ...base, fn: nFuncs, depth: 1, loops: 2, recursive: false })
      : fc.constant(null);
    return fc.tuple(arbItems(sizes, cfg, { ...base, fn: 0 }), fc.tuple(...fnArbs), recArb)
      .map(([main, fns, rec]) => layout(main, fns as Item[][], rec, sizes, data, rodata));
  });
}

/** Options the verifier needs for a generated program (helpers granted, call-depth limit). */
export function verifyOptions(g: GenProgram): { helpers: Set<number>; maxCallDepth: number } {
  return { helpers: new Set(HELPER_IDS), maxCallDepth: g.sizes.maxCallDepth };
}

export function isVerified(g: GenProgram): boolean {
  return verify(new Program(g.text), verifyOptions(g)).ok;
}

/** Random verified programs (see the file comment for what they contain). */
export function arbProgram(cfg: GenConfig = {}): fc.Arbitrary<GenProgram> {
  return arbProgramUnfiltered(cfg).filter(isVerified);
}

/** For measuring the generator: the unfiltered arbitrary. */
export const arbProgramRaw = arbProgramUnfiltered;

/**
 * A deterministic verified straight-and-loopy program of about `slots` slots (for compile-time
 * measurements): items sampled with a fixed seed until the size is reached, then exit.
 */
export function bigProgram(slots: number, seed = 4096): GenProgram {
  const sizes: Sizes = { data: 64, rodata: 32, ctx: 32, maxCallDepth: 8 };
  const cfg: Required<GenConfig> = { weights: { call: 0, rec: 0, spin: 0, suspend: 0 }, maxItems: 6, maxFuncs: 0 };
  const arb = arbItems(sizes, cfg, { depth: 0, loops: 0, fn: 0, nFuncs: 1, recursive: false });
  const items: Item[] = [];
  const data = new Uint8Array(64), rodata = new Uint8Array(32);
  // An item's size does not depend on where it is placed: 2 slots are the fixed entry and exit.
  const sizeOf = (it: Item): number => layout([it], [], null, sizes, data, rodata).text.length / 8 - 2;
  let have = 2;
  let s = seed;
  for (;;) {
    const batch = fc.sample(arb, { seed: s++, numRuns: 50 }).flat();
    for (const it of batch) {
      const n = sizeOf(it);
      if (have + n > slots) {
        // Pad with single-slot ALU instructions to the exact size.
        while (have < slots) { items.push({ k: 'code', insns: [I(0x07, have % 6, 0, 0, have)] }); have++; }
        const g = layout(items, [], null, sizes, data, rodata);
        if (!isVerified(g)) throw new Error('bigProgram: generated program does not verify');
        return g;
      }
      items.push(it);
      have += n;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// riot-2022 programs: the same trees, lowered slot for slot to what RIOT's 2022 VM
// runs, so every jump offset stays valid. 32-bit ALU and jumps become their 64-bit forms, signed
// division and sign-extending moves and loads their plain forms, byte swaps a move, atomics plain
// stores, `callx` a helper call; local calls are not generated. Division by a zero register stays:
// it is riot-2022's run-time fault −9. A zero divisor immediate (a verifier rejection there)
// becomes 1. Many programs hit the 200 taken-branch budget, which is what the tests want.

/** One instruction lowered to the riot-2022 subset, taking as many slots as before. */
function lowerToRiot(x: Insn): Insn {
  const op = x.opcode, cls = op & 7, code = op & 0xf0;
  if (cls === 4 || cls === 7) {
    if (code === 0xd0) return I(0xbf, x.dst, x.dst); // byte swap → mov dst, dst
    const op64 = (op & ~7) | 7;
    const isDiv = code === 0x30 || code === 0x90;
    const imm = isDiv && (op & 0x08) === 0 && x.imm === 0 ? 1 : x.imm;
    return I(op64, x.dst, x.src, 0, imm);
  }
  if (cls === 6) return op === 0x06 ? I(0x05, 0, 0, x.imm) : I((op & ~7) | 5, x.dst, x.src, x.offset, x.imm);
  if (op === 0x81 || op === 0x89 || op === 0x91) return I(op - 0x20, x.dst, x.src, x.offset);
  if (op === 0xc3 || op === 0xdb) return I(op === 0xc3 ? 0x63 : 0x7b, x.dst, x.src, x.offset);
  if (op === 0x8d) return I(0x85, 0, 0, 0, H_VALUE);
  return x;
}

export function verifiesAsRiot(g: GenProgram): boolean {
  return verify(new Program(g.text), { ...verifyOptions(g), profile: 'riot-2022' }).ok;
}

/** Random programs that riot-2022 accepts (the generator's trees, lowered; no local calls). */
export function arbRiotProgram(cfg: GenConfig = {}): fc.Arbitrary<GenProgram> {
  const weights = { ...cfg.weights, call: 0, rec: 0 };
  return arbProgramUnfiltered({ ...cfg, maxFuncs: 1, weights })
    .map((g) => {
      const insns = g.insns.map(lowerToRiot); // one Insn per instruction (a wide load is one)
      return { ...g, insns, text: encodeProgram(insns) };
    })
    .filter(verifiesAsRiot);
}
