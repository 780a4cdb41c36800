/**
 * Property tests: every ALU, JMP and memory opcode against the BigInt reference model of RFC 9669
 * (test/util/reference.ts), on both execution tiers. Each case is a small piece of program that
 * loads random 64-bit values with lddw, applies one instruction and stores the result into a
 * writable context (jumps: 1 if taken else 0; memory: the loaded value and the resulting bytes).
 *
 * Every property checks 1000 cases per opcode and tier. Cases share programs (10 per program on
 * the interpreter, 100 on the compiled WebAssembly tier, where each Vm costs a compilation); a
 * failure names the case's operands. r1 is the context pointer throughout, so operands use r0 and
 * r2–r9.
 *
 * Runs are seeded: set FC_SEED to replay a different sequence (fast-check prints the seed and the
 * counterexample on failure); FC_RUNS scales the number of cases.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { Vm, type Tier } from '../../vm/vm';
import { encodeProgram, type Insn } from '../../vm/program';
import {
  ATOMIC_KINDS, LOAD_OPCODES, MASK32, MASK64, STORE_IMM_OPCODES, STORE_REG_OPCODES, aluVariants,
  bigToLe, jumpOpcodes, leToBig, refAlu, refAtomic, refJump, refLoad, refRunAlu, refSizeBytes,
  refStore, u64, type AluVariant,
} from '../util/reference';

const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 0x9669;
const RUNS = Number(process.env.FC_RUNS ?? 1000);
function params<T>(runs = RUNS): fc.Parameters<T> {
  return { numRuns: runs, seed: SEED, endOnFailure: true };
}

// ---------------------------------------------------------------------------------------------
// Program building

const I = (opcode: number, dst = 0, src = 0, offset = 0, imm = 0): Insn => ({ opcode, dst, src, offset, imm, imm2: 0 });
const lddw = (dst: number, v: bigint): Insn => ({
  opcode: 0x18, dst, src: 0, offset: 0,
  imm: Number(BigInt.asIntN(32, v)), imm2: Number(BigInt.asIntN(32, v >> 32n)),
});
const movReg = (dst: number, src: number): Insn => I(0xbf, dst, src);
const EXIT = I(0x95);

const MOV0 = I(0xb7, 0, 0, 0, 0);

function runProgram(insns: Insn[], context: Uint8Array | undefined, tier: Tier): { r0: bigint; context?: Uint8Array } {
  const vm = new Vm({ text: encodeProgram(insns), tier });
  const res = vm.run(context ? { context, contextWritable: true } : {});
  if (res.status !== 'exit') {
    throw new Error(`run ended with ${res.status}: ${res.fault?.message ?? ''}`);
  }
  if (tier === 'compiled') assert.equal(vm.tier.current, 'compiled', `not compiled: ${vm.tier.reason}`);
  return { r0: res.r0, context: res.context };
}

const TIERS: Tier[] = ['interp', 'compiled'];

/**
 * One kind of case: its generator, the context bytes it owns (`area`), their initial contents,
 * the instructions that run it (r1 = context, `base` = offset of its area) and the check of its
 * area after the run.
 */
interface Category<C> {
  arb: fc.Arbitrary<C>;
  area: number;
  init?: (c: C) => Uint8Array;
  emit: (c: C, base: number) => Insn[];
  check: (c: C, area: Uint8Array) => void;
}

function runCases<C>(cat: Category<C>, cases: C[], tier: Tier): void {
  const ctx = new Uint8Array(cat.area * cases.length);
  const prog: Insn[] = [];
  cases.forEach((c, k) => {
    if (cat.init) ctx.set(cat.init(c), k * cat.area);
    prog.push(...cat.emit(c, k * cat.area));
  });
  prog.push(MOV0, EXIT);
  const res = runProgram(prog, ctx, tier);
  cases.forEach((c, k) => cat.check(c, res.context!.subarray(k * cat.area, (k + 1) * cat.area)));
}

/**
 * The property on a tier: cases share programs (10 per program on the interpreter, 100 on the
 * compiled tier, where every Vm costs a compilation), RUNS cases in all.
 */
function checkCategory<C>(cat: Category<C>, tier: Tier): void {
  const batch = tier === 'interp' ? 10 : 100;
  fc.assert(fc.property(fc.array(cat.arb, { minLength: batch, maxLength: batch }), (cs) => runCases(cat, cs, tier)),
    params(Math.max(1, Math.round(RUNS / batch))));
}

/** Fixed cases (edge pairs), in chunks. */
function checkAll<C>(cat: Category<C>, cases: C[], tier: Tier): void {
  for (let k = 0; k < cases.length; k += 100) runCases(cat, cases.slice(k, k + 100), tier);
}

const hex = (v: bigint): string => '0x' + u64(v).toString(16);

// ---------------------------------------------------------------------------------------------
// Generators: uniform 64-bit values mixed with int64 edge values and small numbers.

const EDGE64: bigint[] = [
  0n, 1n, 2n, 3n, 7n, 31n, 32n, 63n, 64n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn,
  (1n << 31n) - 1n, 1n << 31n, (1n << 31n) + 1n, MASK32 - 1n, MASK32, 1n << 32n, (1n << 32n) + 1n,
  (1n << 63n) - 1n, 1n << 63n, (1n << 63n) + 1n, MASK64, MASK64 - 1n, 0xffffffff80000000n,
  0xffffffff7fffffffn, 0x8000000080000000n, 0x7fffffff00000000n, 0x00000001ffffffffn,
  0x8000000000000080n, 0x0123456789abcdefn, 0xfedcba9876543210n,
];
const EDGE_IMM: number[] = [
  0, 1, -1, 2, -2, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, 0x7f, 0x80, 0xff, 0x7fff, -0x8000,
  0xffff, 0x7fffffff, -0x80000000, -0x7fffffff,
];

const arb64: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...EDGE64) },
  { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: MASK64 }) },
  { weight: 2, arbitrary: fc.bigInt({ min: -300n, max: 300n }).map(u64) },
  { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: MASK32 }) },
  { weight: 1, arbitrary: fc.integer().map((x) => u64(BigInt(x))) },
);
const arbImm: fc.Arbitrary<number> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...EDGE_IMM) },
  { weight: 4, arbitrary: fc.integer() },
  { weight: 2, arbitrary: fc.integer({ min: -100, max: 100 }) },
);
/** Registers a test program may use for operands (r10 is read-only, r1 is the context). */
const OPERAND_REGS = [0, 2, 3, 4, 5, 6, 7, 8, 9];
const arbReg = fc.constantFrom(...OPERAND_REGS);

/** A small set of edge values whose every pair is run deterministically. */
const PAIR_EDGES: bigint[] = [
  0n, 1n, MASK64, 2n, 1n << 31n, MASK32, 1n << 32n, 1n << 63n, (1n << 63n) - 1n, 0xffffffff80000000n,
  0x80000000ffffffffn, 0xfffffffffffffffen, 5n, u64(-5n), 0x7fffffffn,
];
const PAIR_IMMS: number[] = [0, 1, -1, 2, 5, -5, 31, 32, 63, 64, 0x7fffffff, -0x80000000, 16];

// ---------------------------------------------------------------------------------------------
// ALU

/** The instruction for an ALU variant with operands dst=d, src=s (X form) or imm. */
function aluInsn(v: AluVariant, d: number, s: number, imm: number): Insn {
  const x = (v.opcode & 0x08) !== 0 && (v.opcode & 0xf0) !== 0xd0;
  const code = v.opcode & 0xf0;
  if (code === 0xd0) return I(v.opcode, d, 0, 0, v.imm!);
  if (code === 0x80) return I(v.opcode, d, 0, 0, 0);
  return x ? I(v.opcode, d, s, v.offset, 0) : I(v.opcode, d, 0, v.offset, imm);
}

interface AluCase { d: number; s: number; a: bigint; b: bigint; imm: number }

function aluCategory(v: AluVariant): Category<AluCase> {
  return {
    arb: fc.record({ d: arbReg, s: arbReg, a: arb64, b: arb64, imm: arbImm }),
    area: 8,
    emit: ({ d, s, a, b, imm }, base) => {
      const out: Insn[] = [lddw(d, a)];
      if (s !== d) out.push(lddw(s, b));
      out.push(aluInsn(v, d, s, imm), I(0x7b, 1, d, base, 0));
      return out;
    },
    check: ({ d, s, a, b, imm }, area) => {
      const insn = aluInsn(v, d, s, imm);
      const bEff = s === d ? a : b;
      const expected = refAlu(insn, a, bEff);
      assert.equal(hex(leToBig(area)), hex(expected), `${v.name}: dst r${d}=${hex(a)} src r${s}=${hex(bEff)} imm=${imm}`);
    },
  };
}

describe('properties: ALU opcodes against the RFC 9669 reference model', function () {
  this.timeout(60000);
  for (const tier of TIERS) {
    describe(`[${tier}]`, () => {
      for (const v of aluVariants()) {
        const isX = (v.opcode & 0x08) !== 0 && (v.opcode & 0xf0) !== 0xd0;
        const cat = aluCategory(v);
        it(`${v.name}: random and edge operands`, () => checkCategory(cat, tier));
        it(`${v.name}: every pair of edge values`, () => {
          const cases: AluCase[] = [];
          for (const a of PAIR_EDGES) {
            if (isX) for (const b of PAIR_EDGES) cases.push({ d: 3, s: 4, a, b, imm: 0 });
            else for (const imm of PAIR_IMMS) cases.push({ d: 3, s: 3, a, b: 0n, imm });
          }
          cases.push({ d: 5, s: 5, a: 1n << 63n, b: 0n, imm: -1 }, { d: 0, s: 0, a: MASK64, b: 0n, imm: 0 });
          checkAll(cat, cases, tier);
        });
      }
    });
  }

  it('spot values straight from RFC 9669 (model sanity)', () => {
    // div/mod by zero: 0 / dividend; 32-bit forms zero the upper half.
    assert.equal(refAlu(I(0x3f, 1, 2), 0x1234n, 0n), 0n);
    assert.equal(refAlu(I(0x9f, 1, 2), 0xffff_ffff_0000_1234n, 0n), 0xffff_ffff_0000_1234n);
    assert.equal(refAlu(I(0x9c, 1, 2), 0xffff_ffff_0000_1234n, 0n), 0x1234n);
    assert.equal(refAlu(I(0x34, 1, 0, 0, 0), 0xffff_ffff_0000_1234n, 0n), 0n);
    // INT_MIN / -1 (signed): INT_MIN, remainder 0.
    assert.equal(refAlu(I(0x3f, 1, 2, 1), 1n << 63n, MASK64), 1n << 63n);
    assert.equal(refAlu(I(0x9f, 1, 2, 1), 1n << 63n, MASK64), 0n);
    assert.equal(refAlu(I(0x3c, 1, 2, 1), 0x8000_0000n, MASK32), 0x8000_0000n);
    assert.equal(refAlu(I(0x9c, 1, 2, 1), 0x8000_0000n, MASK32), 0n);
    // Signed remainder takes the dividend's sign: -7 smod 2 = -1, 7 smod -2 = 1.
    assert.equal(refAlu(I(0x97, 1, 0, 1, 2), u64(-7n), 0n), MASK64);
    assert.equal(refAlu(I(0x97, 1, 0, 1, -2), 7n, 0n), 1n);
    // ALU64 unsigned division: imm sign-extended, then unsigned (x / -1 = 0 unless x = 2^64-1).
    assert.equal(refAlu(I(0x37, 1, 0, 0, -1), 5n, 0n), 0n);
    // 32-bit unsigned division: imm as u32.
    assert.equal(refAlu(I(0x34, 1, 0, 0, -1), MASK32, 0n), 1n);
    // Shifts are masked.
    assert.equal(refAlu(I(0x67, 1, 0, 0, 65), 1n, 0n), 2n);
    assert.equal(refAlu(I(0x64, 1, 0, 0, 33), 1n, 0n), 2n);
    // be16 on 0x…1122 is 0x2211, le16 truncates, bswap64 reverses all bytes.
    assert.equal(refAlu(I(0xdc, 1, 0, 0, 16), 0xaabb_1122n, 0n), 0x2211n);
    assert.equal(refAlu(I(0xd4, 1, 0, 0, 16), 0xaabb_1122n, 0n), 0x1122n);
    assert.equal(refAlu(I(0xd7, 1, 0, 0, 64), 0x0102030405060708n, 0n), 0x0807060504030201n);
    // movsx32 of 0x80 with offset 8 = 0xffffff80 (zero-extended to 64).
    assert.equal(refAlu(I(0xbc, 1, 2, 8), 0n, 0x80n), 0xffff_ff80n);
    assert.equal(refAlu(I(0xbf, 1, 2, 8), 0n, 0x80n), 0xffff_ffff_ffff_ff80n);
  });
});

describe('properties: random straight-line ALU sequences', function () {
  this.timeout(60000);
  const variants = aluVariants();
  const arbStep = fc.record({
    v: fc.integer({ min: 0, max: variants.length - 1 }),
    d: arbReg,
    s: arbReg,
    imm: arbImm,
  });
  for (const tier of TIERS) {
    it(`[${tier}] sequences of 1–24 ALU instructions leave every register as the model says`, () => {
      fc.assert(
        fc.property(fc.array(arb64, { minLength: 9, maxLength: 9 }), fc.array(arbStep, { minLength: 1, maxLength: 24 }),
          (init, steps) => {
            const regs: bigint[] = new Array<bigint>(11).fill(0n);
            const setup: Insn[] = OPERAND_REGS.map((r, k) => { regs[r] = init[k]; return lddw(r, init[k]); });
            const body = steps.map((st) => aluInsn(variants[st.v], st.d, st.s, st.imm));
            const expected = refRunAlu(body, regs);
            const dump = OPERAND_REGS.map((r, k) => I(0x7b, 1, r, 8 * k, 0)); // stxdw [r1+8k], rR
            const ctx = new Uint8Array(8 * OPERAND_REGS.length);
            const res = runProgram([...setup, ...body, ...dump, EXIT], ctx, tier);
            OPERAND_REGS.forEach((r, k) => {
              const got = leToBig(res.context!.subarray(8 * k, 8 * k + 8));
              assert.equal(hex(got), hex(expected[r]), `r${r} after ${body.length} instructions`);
            });
          }),
        params(tier === 'interp' ? Math.round(RUNS * 1.5) : Math.round(RUNS * 0.3)),
      );
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Jumps

interface JumpCase { d: number; s: number; a: bigint; b: bigint; imm: number }

/** dst=d (and src=s) loaded, r0 = 1 if the jump is taken, stored as one byte. */
function jumpCategory(opcode: number): Category<JumpCase> {
  const x = (opcode & 0x08) !== 0;
  const insnOf = (c: JumpCase): Insn => x ? I(opcode, c.d, c.s, 1, 0) : I(opcode, c.d, 0, 1, c.imm);
  const regs = fc.constantFrom(2, 3, 4, 5, 6, 7, 8, 9);
  /** Operands that are often equal or close, so both outcomes of every compare are exercised. */
  const arbPair = fc.oneof(
    fc.tuple(arb64, arb64),
    arb64.map((a) => [a, a] as [bigint, bigint]),
    fc.tuple(arb64, fc.constantFrom(1n, MASK64, 1n << 32n, 1n << 31n)).map(([a, k]) => [a, u64(a + k)] as [bigint, bigint]),
    // same low half, different high half (tells JMP32 from JMP)
    fc.tuple(arb64, fc.bigInt({ min: 1n, max: MASK32 })).map(([a, h]) => [a, u64(a ^ (h << 32n))] as [bigint, bigint]),
  );
  /** For K forms: values near the sign-extended immediate. */
  const arbNearImm = fc.tuple(arbImm, fc.constantFrom(0n, 1n, MASK64, 1n << 32n, 0xffffffff00000000n, 2n, u64(-2n)), arb64, fc.boolean())
    .map(([imm, delta, r, near]) => [near ? u64(BigInt(imm) + delta) : r, imm] as [bigint, number]);
  const arb: fc.Arbitrary<JumpCase> = x
    ? fc.tuple(regs, regs, arbPair).map(([d, s, [a, b]]) => ({ d, s, a: a, b: s === d ? a : b, imm: 0 }))
    : fc.tuple(regs, arbNearImm).map(([d, [a, imm]]) => ({ d, s: d, a, b: a, imm }));
  return {
    arb,
    area: 1,
    emit: (c, base) => {
      const out: Insn[] = [lddw(c.d, c.a)];
      if (x && c.s !== c.d) out.push(lddw(c.s, c.b));
      // r0 = 0; jXX +1 (over the ja); ja +1 (over mov r0, 1); mov r0, 1; stxb [r1+base], r0
      out.push(MOV0, insnOf(c), I(0x05, 0, 0, 1), I(0xb7, 0, 0, 0, 1), I(0x73, 1, 0, base, 0));
      return out;
    },
    check: (c, area) => {
      const expected = refJump(insnOf(c), c.a, c.b) ? 1 : 0;
      assert.equal(area[0], expected, `0x${opcode.toString(16)}: r${c.d}=${hex(c.a)} r${c.s}=${hex(c.b)} imm=${c.imm}`);
    },
  };
}

describe('properties: conditional jumps against the reference model', function () {
  this.timeout(60000);
  for (const tier of TIERS) {
    describe(`[${tier}]`, () => {
      for (const { name, opcode } of jumpOpcodes()) {
        const x = (opcode & 0x08) !== 0;
        const cat = jumpCategory(opcode);
        it(`${name}: taken exactly when the model says`, () => checkCategory(cat, tier));
        it(`${name}: every pair of edge values`, () => {
          const cases: JumpCase[] = [];
          for (const a of PAIR_EDGES) {
            if (x) for (const b of PAIR_EDGES) cases.push({ d: 2, s: 3, a, b, imm: 0 });
            else for (const imm of PAIR_IMMS) cases.push({ d: 2, s: 2, a, b: a, imm });
          }
          checkAll(cat, cases, tier);
        });
      }

      it('ja and ja32 always jump (forward and backward)', () => {
        // ja +1 skips mov r0, 7
        assert.equal(runProgram([I(0xb7, 0, 0, 0, 3), I(0x05, 0, 0, 1), I(0xb7, 0, 0, 0, 7), EXIT], undefined, tier).r0, 3n);
        assert.equal(runProgram([I(0xb7, 0, 0, 0, 3), I(0x06, 0, 0, 0, 1), I(0xb7, 0, 0, 0, 7), EXIT], undefined, tier).r0, 3n);
        // backward: 0: mov r0,0  1: add r0,1  2: jne r0,5,+1 → 4  3: exit  4: ja → 1
        for (const back of [I(0x05, 0, 0, -4), I(0x06, 0, 0, 0, -4)]) {
          const prog = [I(0xb7, 0, 0, 0, 0), I(0x07, 0, 0, 0, 1), I(0x55, 0, 0, 1, 5), EXIT, back];
          assert.equal(runProgram(prog, undefined, tier).r0, 5n);
        }
      });
    });
  }

  it('model sanity: JMP32 compares only the low half; JMP sign-extends imm', () => {
    assert.equal(refJump(I(0x16, 1, 0, 0, 5), 0xffff_0000_0000_0005n, 0n), true);
    assert.equal(refJump(I(0x15, 1, 0, 0, 5), 0xffff_0000_0000_0005n, 0n), false);
    assert.equal(refJump(I(0x15, 1, 0, 0, -1), MASK64, 0n), true);
    assert.equal(refJump(I(0x16, 1, 0, 0, -1), MASK32, 0n), true);
    assert.equal(refJump(I(0x25, 1, 0, 0, -1), 5n, 0n), false); // 5 > 2^64-1 unsigned: no
    assert.equal(refJump(I(0x65, 1, 0, 0, -1), 5n, 0n), true); // 5 > -1 signed
  });
});

// ---------------------------------------------------------------------------------------------
// Memory: loads, stores, atomics

const MEM = 32;
const arbBytes = fc.uint8Array({ minLength: MEM, maxLength: MEM });

interface LoadCase { bytes: Uint8Array; at: number; off: number; d: number; junk: bigint }

/** A load from the case's 32 context bytes through r3 = r1 + base + at − off; value stored after them. */
function loadCategory(opcode: number): Category<LoadCase> {
  const n = refSizeBytes(opcode);
  return {
    arb: fc.record({ bytes: arbBytes, at: fc.integer({ min: 0, max: MEM - n }), off: fc.integer({ min: -40, max: 40 }), d: arbReg, junk: arb64 }),
    area: MEM + 8,
    init: (c) => { const a = new Uint8Array(MEM + 8); a.set(c.bytes); return a; },
    emit: (c, base) => {
      const out: Insn[] = [movReg(3, 1), I(0x07, 3, 0, 0, base + c.at - c.off)];
      if (c.d !== 3) out.push(lddw(c.d, c.junk)); // the load must overwrite all 64 bits
      out.push(I(opcode, c.d, 3, c.off, 0), I(0x7b, 1, c.d, base + MEM, 0));
      return out;
    },
    check: (c, area) => {
      const expected = refLoad(I(opcode, c.d, 3, c.off), c.bytes.subarray(c.at, c.at + n));
      assert.equal(hex(leToBig(area.subarray(MEM))), hex(expected), `at ${c.at} off ${c.off}`);
      assert.deepEqual(area.subarray(0, MEM), c.bytes, 'a load must not change memory');
    },
  };
}

interface StackLoadCase { w0: bigint; w1: bigint; k: number }

function stackLoadCategory(opcode: number): Category<StackLoadCase> {
  const n = refSizeBytes(opcode);
  return {
    arb: fc.record({ w0: arb64, w1: arb64, k: fc.integer({ min: 0, max: 16 - n }) }),
    area: 8,
    emit: (c, base) => [
      lddw(2, c.w0), I(0x7b, 10, 2, -16, 0), lddw(2, c.w1), I(0x7b, 10, 2, -8, 0),
      I(opcode, 0, 10, -16 + c.k, 0), I(0x7b, 1, 0, base, 0),
    ],
    check: (c, area) => {
      const bytes = new Uint8Array([...bigToLe(c.w0, 8), ...bigToLe(c.w1, 8)]);
      const expected = refLoad(I(opcode, 0, 10, -16 + c.k), bytes.subarray(c.k, c.k + n));
      assert.equal(hex(leToBig(area)), hex(expected), `k ${c.k}`);
    },
  };
}

interface StoreCase { bytes: Uint8Array; at: number; off: number; v: bigint; imm: number; s: number }

function storeCategory(opcode: number): Category<StoreCase> {
  const n = refSizeBytes(opcode);
  const isImm = (opcode & 0x07) === 0x02;
  const insnOf = (c: StoreCase): Insn => isImm ? I(opcode, 3, 0, c.off, c.imm) : I(opcode, 3, c.s, c.off, 0);
  return {
    arb: fc.record({
      bytes: arbBytes, at: fc.integer({ min: 0, max: MEM - n }), off: fc.integer({ min: -40, max: 40 }), v: arb64, imm: arbImm,
      s: fc.constantFrom(0, 2, 4, 5, 6, 7, 8, 9),
    }),
    area: MEM,
    init: (c) => c.bytes,
    emit: (c, base) => [movReg(3, 1), I(0x07, 3, 0, 0, base + c.at - c.off), lddw(c.s, c.v), insnOf(c)],
    check: (c, area) => {
      const expected = c.bytes.slice();
      expected.set(refStore(insnOf(c), c.v), c.at);
      assert.deepEqual(area, expected, `at ${c.at} off ${c.off} v ${hex(c.v)} imm ${c.imm}`);
    },
  };
}

interface StackStoreCase { k: number; v: bigint; imm: number }

/** A store into the (zeroed) stack, then both stack words copied out. */
function stackStoreCategory(opcode: number): Category<StackStoreCase> {
  const isImm = (opcode & 0x07) === 0x02;
  const insnOf = (c: StackStoreCase): Insn => isImm ? I(opcode, 10, 0, -16 + c.k, c.imm) : I(opcode, 10, 2, -16 + c.k, 0);
  return {
    arb: fc.record({ k: fc.integer({ min: 0, max: 16 - refSizeBytes(opcode) }), v: arb64, imm: arbImm }),
    area: 16,
    init: () => new Uint8Array(16).fill(0xee),
    emit: (c, base) => [
      I(0x7a, 10, 0, -16, 0), I(0x7a, 10, 0, -8, 0), // clear what an earlier case in the batch wrote
      lddw(2, c.v), insnOf(c),
      I(0x79, 3, 10, -16, 0), I(0x7b, 1, 3, base, 0), I(0x79, 3, 10, -8, 0), I(0x7b, 1, 3, base + 8, 0),
    ],
    check: (c, area) => {
      const expected = new Uint8Array(16);
      expected.set(refStore(insnOf(c), c.v), c.k);
      assert.deepEqual(area, expected);
    },
  };
}

describe('properties: loads and stores against the reference model', function () {
  this.timeout(60000);
  for (const tier of TIERS) {
    describe(`[${tier}]`, () => {
      for (const opcode of LOAD_OPCODES) {
        const n = refSizeBytes(opcode);
        it(`load 0x${opcode.toString(16)} (${n} B${opcode >= 0x80 ? ', sign-extending' : ''}) from the context`,
          () => checkCategory(loadCategory(opcode), tier));
        it(`load 0x${opcode.toString(16)} (${n} B) from the stack`, () => checkCategory(stackLoadCategory(opcode), tier));
      }
      for (const opcode of [...STORE_REG_OPCODES, ...STORE_IMM_OPCODES]) {
        const n = refSizeBytes(opcode);
        const what = `${(opcode & 0x07) === 0x02 ? 'st' : 'stx'} 0x${opcode.toString(16)} (${n} B)`;
        it(`${what} into the context`, () => checkCategory(storeCategory(opcode), tier));
        it(`${what} into the stack`, () => checkCategory(stackStoreCategory(opcode), tier));
      }
      it('the stack starts zeroed on every run', () => {
        const prog = [I(0x79, 0, 10, -8, 0), I(0x79, 2, 10, -512, 0), I(0x4f, 0, 2), I(0x7a, 10, 0, -8, -1), I(0x7a, 10, 0, -512, 7), EXIT];
        const vm = new Vm({ text: encodeProgram(prog), tier });
        for (let k = 0; k < 3; k++) assert.equal(vm.run().r0, 0n);
      });
    });
  }
});

interface AtomicCase { bytes: Uint8Array; slot: number; srcVal: bigint; r0Val: bigint; s: number; memVal: bigint; r0EqualsMem: boolean }

/** An atomic on the case's first 16 bytes; src and r0 afterwards stored at +16 and +24. */
function atomicCategory(op: number, imm: number): Category<AtomicCase> {
  const n = op === 0xdb ? 8 : 4;
  const prepare = (c: AtomicCase): { bytes: Uint8Array; at: number; old: bigint; r0: bigint } => {
    const at = c.slot * n;
    const bytes = c.bytes.slice();
    bytes.set(bigToLe(c.memVal, n), at);
    const old = leToBig(bytes.subarray(at, at + n));
    // cmpxchg needs r0 == old now and then; the upper half stays random for 32-bit.
    const r0 = c.r0EqualsMem ? u64((c.r0Val & ~((1n << BigInt(8 * n)) - 1n)) | old) : c.r0Val;
    return { bytes, at, old, r0 };
  };
  return {
    arb: fc.record({
      bytes: arbBytes, slot: fc.integer({ min: 0, max: 16 / n - 1 }), srcVal: arb64, r0Val: arb64,
      s: fc.constantFrom(0, 2, 5, 9), memVal: fc.oneof(arb64, fc.constant(0n)), r0EqualsMem: fc.boolean(),
    }),
    area: MEM,
    init: (c) => prepare(c).bytes,
    emit: (c, base) => {
      const { at, r0 } = prepare(c);
      const out: Insn[] = [lddw(0, r0)];
      if (c.s !== 0) out.push(lddw(c.s, c.srcVal));
      out.push(I(op, 1, c.s, base + at, imm), I(0x7b, 1, c.s, base + 16, 0), I(0x7b, 1, 0, base + 24, 0));
      return out;
    },
    check: (c, area) => {
      const { bytes, at, old, r0 } = prepare(c);
      const srcBefore = c.s === 0 ? r0 : c.srcVal;
      const r = refAtomic(I(op, 1, c.s, at, imm), old, srcBefore, r0);
      // Apply in an order that keeps the register the instruction really writes.
      const regs = new Map<number, bigint>([[0, r0], [c.s, srcBefore]]);
      if (imm === 0xf1) { regs.set(c.s, r.src); regs.set(0, r.r0); } else { regs.set(0, r.r0); regs.set(c.s, r.src); }
      const expected = bytes.slice();
      expected.set(bigToLe(r.mem, n), at);
      expected.set(bigToLe(regs.get(c.s)!, 8), 16);
      expected.set(bigToLe(regs.get(0)!, 8), 24);
      assert.deepEqual(area, expected, `src r${c.s}=${hex(srcBefore)} r0=${hex(r0)} mem@${at}=${hex(old)}`);
    },
  };
}

describe('properties: atomics against the reference model', function () {
  this.timeout(60000);
  for (const tier of TIERS) {
    describe(`[${tier}]`, () => {
      for (const op of [0xc3, 0xdb]) {
        const n = op === 0xdb ? 8 : 4;
        for (const { name, imm } of ATOMIC_KINDS) {
          it(`${name}${n === 4 ? '32' : '64'} (0x${op.toString(16)}, imm 0x${imm.toString(16)})`,
            () => checkCategory(atomicCategory(op, imm), tier));
        }
      }
    });
  }
});
