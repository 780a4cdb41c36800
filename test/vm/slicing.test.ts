/**
 * Preemption (Vm.slicing): a run cut into slices — by instruction count at random
 * points, or by a clock that moves in random steps — ends exactly as the same run unsliced, on
 * every tier: status, r0, instruction counts, the whole fault (the budget fault after exactly B
 * instructions in all, saying B), per-pc counts, the context, .data, .rodata and the stack.
 * riot-2022's taken-branch budget counts across slices (a sliced endless loop still faults) and
 * restarts only where it always did, on a resumed helper suspension.
 *
 * Seeded: FC_SEED replays another sequence, FC_RUNS changes the number of runs per property.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { Vm, DEFAULT_SLICE_MS, type RunResult, type SliceOptions, type VmOptions } from '../../vm/vm';
import { Program } from '../../vm/program';
import { assemble } from '../../vm/assembler';
import { FaultCode } from '../../vm/errors';
import { hex, observe } from '../util/observe';
import { verify } from '../../vm/verifier';
import { encodeProgram, type Insn } from '../../vm/program';
import { EXIT, H_VALUE, I, arbAlu, arbProgram, makeHelpers, verifyOptions, type GenConfig, type GenProgram } from '../util/program-gen';

const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 0x511ce;
const RUNS = Number(process.env.FC_RUNS ?? 250);
const params = <T>(runs = RUNS, seed = SEED): fc.Parameters<T> => ({ numRuns: runs, seed, endOnFailure: true });

interface Plan {
  ctx: { bytes: Uint8Array; writable: boolean } | null;
  budget: number;
  entry?: number;
  /** r0 and budget of each resume of a helper-suspended run. */
  resumes: { r0: number; budget: number }[];
}

/**
 * How a sliced execution cuts: `cuts` are the instruction counts of successive slices (cycled),
 * `clockSteps` the amounts a fake clock moves per read (cycled; empty = instruction slicing only).
 */
interface Cutter { cuts: number[]; clockSteps: number[]; sliceMs: number; branches: number; helperCheckEvery: number }

/** A fake clock for timed slicing: every read moves it on by the next step. */
function fakeClock(steps: number[]): () => number {
  let t = 1000, k = 0;
  return () => (t += steps.length ? steps[k++ % steps.length] : 0);
}

/**
 * Runs the plans; each segment's end (exit, fault, suspension) is one observation. With a cutter
 * the Vm is preempted along the way and continued until the segment ends; preempted slices must
 * report progress that only grows, and the r0 register must be left alone by the pauses.
 */
function execPlans(vm: Vm, plans: Plan[], cutter?: Cutter): { obs: Record<string, unknown>[]; preemptions: number } {
  const obs: Record<string, unknown>[] = [];
  let k = 0, preemptions = 0;
  const setSlice = (): void => {
    if (!cutter) return;
    const s: SliceOptions = {};
    if (cutter.cuts.length) s.insns = cutter.cuts[k++ % cutter.cuts.length];
    if (cutter.clockSteps.length) { s.ms = cutter.sliceMs; s.helperCheckEvery = cutter.helperCheckEvery; }
    vm.slicing = s;
  };
  const finish = (first: () => RunResult): RunResult => {
    setSlice();
    let res = first();
    let last = -1;
    while (res.status === 'preempted') {
      preemptions++;
      assert.ok(res.insns >= last, 'progress went backwards');
      assert.ok(vm.preempted);
      last = res.insns;
      setSlice();
      res = vm.continue();
      assert.ok(preemptions < 1e6, 'no end in sight');
    }
    return res;
  };
  plans.forEach((p, run) => {
    let res = finish(() => vm.run({ budget: p.budget, entry: p.entry, ...(p.ctx ? { context: p.ctx.bytes.slice(), contextWritable: p.ctx.writable } : {}) }));
    obs.push({ run, seg: 0, ...observe(vm, res) });
    for (let s = 0; s < p.resumes.length && res.status === 'suspended'; s++) {
      const r = p.resumes[s];
      res = finish(() => vm.resume(r.r0, r.budget));
      obs.push({ run, seg: s + 1, ...observe(vm, res) });
    }
  });
  return { obs, preemptions };
}

function vmFor(g: GenProgram, opts: Partial<VmOptions>): Vm {
  return new Vm({ text: g.text, data: g.data, rodata: g.rodata, helpers: makeHelpers(), maxCallDepth: g.sizes.maxCallDepth, ...opts });
}

function assertSame(actual: Record<string, unknown>[], expected: Record<string, unknown>[], what: string, g: GenProgram): void {
  for (let i = 0; i < Math.max(actual.length, expected.length); i++) {
    try {
      assert.deepEqual(actual[i], expected[i]);
    } catch (e) {
      throw new Error(`${what}: segment ${i} differs\n${(e as Error).message}\nprogram: ${Buffer.from(g.text).toString('hex')}\n` +
        `data: ${hex(g.data)} rodata: ${hex(g.rodata)} maxCallDepth: ${g.sizes.maxCallDepth}`);
    }
  }
}

const arbBudget = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 60 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 3000 }) },
  { weight: 1, arbitrary: fc.constant(60_000) },
);

function arbPlans(g: GenProgram): fc.Arbitrary<Plan[]> {
  const starts = [...new Program(g.text).starts()];
  return fc.array(fc.record({
    ctx: fc.oneof(
      { weight: 4, arbitrary: fc.record({ bytes: fc.uint8Array({ minLength: g.sizes.ctx, maxLength: g.sizes.ctx }), writable: fc.boolean() }) },
      { weight: 1, arbitrary: fc.constant(null) },
    ),
    budget: arbBudget,
    entry: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...starts) }),
    resumes: fc.array(fc.record({ r0: fc.integer({ min: -3, max: 300 }), budget: arbBudget }), { maxLength: 3 }),
  }), { minLength: 1, maxLength: 3 });
}

const arbBranches = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.constant(200));
const arbCuts = (small: boolean): fc.Arbitrary<number[]> => fc.array(small
  ? fc.integer({ min: 1, max: 12 })
  : fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 5000 })), { minLength: 1, maxLength: 6 });
/** `small`: cuts of a few instructions (riot-2022 runs are short: 200 taken branches). */
const arbCutter = (small: boolean): fc.Arbitrary<Cutter> => fc.oneof(
  fc.record({ cuts: arbCuts(small), clockSteps: fc.constant<number[]>([]), sliceMs: fc.constant(DEFAULT_SLICE_MS), branches: arbBranches, helperCheckEvery: fc.constant(16) }),
  // Timed slices on a fake clock (chunk ends and helper checkpoints read it), sometimes with an
  // instruction cap as well.
  fc.record({
    cuts: fc.oneof(fc.constant<number[]>([]), arbCuts(small)),
    clockSteps: fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0, max: 3, noNaN: true }), fc.constant(50)), { minLength: 1, maxLength: 5 }),
    sliceMs: fc.oneof(fc.constant(0), fc.constant(1), fc.constant(DEFAULT_SLICE_MS)),
    branches: arbBranches,
    helperCheckEvery: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(16)),
  }),
  // A clock that jumps past the deadline at every read: every other helper call preempts.
  { weight: 2, arbitrary: fc.record({ cuts: fc.constant<number[]>([]), clockSteps: fc.constant<number[]>([50]), sliceMs: fc.constant(1), branches: arbBranches, helperCheckEvery: fc.constant(1) }) },
);

const withPlans = (cfg: GenConfig = {}, riot = false): fc.Arbitrary<{ g: GenProgram; plans: Plan[]; cutter: Cutter }> =>
  (riot ? arbRiotProgram : arbProgram(cfg)).chain((g) => fc.record({ plans: arbPlans(g), cutter: arbCutter(riot) }).map((r) => ({ g, ...r })));

/** Vm options for one tier; the fake clock when the cutter is timed. */
function tierOpts(tier: string, cutter: Cutter): Partial<VmOptions> {
  const now = fakeClock(cutter.clockSteps);
  switch (tier) {
    case 'interp': return { tier: 'interp', now };
    case 'compiled': return { tier: 'compiled', now };
    case 'auto': return { tier: 'auto', tierUp: { runs: 1e9, insns: 300, minAvgInsns: 0 }, now };
    case 'riot-2022': return { tier: 'interp', profile: 'riot-2022', now };
    // RIOT's taken-branch budget on programs riot-2022 would refuse for other reasons.
    default: return { tier: 'auto', branchBudget: cutter.branches, now };
  }
}

/**
 * Programs for riot-2022 (which refuses most of the general generator's: ALU32, JMP32, local
 * calls, atomics…): nested counted loops of 64-bit ALU code (divisions by registers that may be
 * 0 fault there), stack stores and loads and helper calls, some loops longer than the 200 taken
 * branches allow, some endless.
 */
const arbRiotProgram: fc.Arbitrary<GenProgram> = fc.record({
  bodies: fc.array(fc.array(arbAlu, { maxLength: 5 }), { minLength: 1, maxLength: 3 }),
  counts: fc.array(fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 400 }), fc.constant(0)), { minLength: 3, maxLength: 3 }),
  helper: fc.boolean(),
  store: fc.boolean(),
}).map(({ bodies, counts, helper, store }) => {
  const insns: Insn[] = [I(0xbf, 6, 1)];
  const loops = bodies.map((body, k) => ({ body: body.flat().filter((i) => (i.opcode & 7) === 7 && i.opcode !== 0xd7 && !(i.opcode === 0xbf && i.offset !== 0)), n: counts[k] }));
  const emitLoop = (k: number): void => {
    if (k >= loops.length) return;
    const reg = 7 + Math.min(k, 2);
    insns.push(I(0xb7, reg, 0, 0, loops[k].n)); // n = 0: 2^64 passes, endless in practice
    const top = insns.length;
    insns.push(...loops[k].body);
    if (helper && k === 0) insns.push(I(0xbf, 1, 0), I(0x85, 0, 0, 0, H_VALUE), I(0xbf, 2, 0));
    if (store) insns.push(I(0x7b, 10, 0, -8 * (k + 1)), I(0x79, 3, 10, -8 * (k + 1)));
    emitLoop(k + 1);
    insns.push(I(0x17, reg, 0, 0, 1)); // sub reg, 1
    insns.push(I(0x55, reg, 0, top - insns.length - 1, 0)); // jne reg, 0, top (no wide loads here: slots = instructions)
  };
  emitLoop(0);
  insns.push(EXIT);
  const sizes = { data: 0, rodata: 0, ctx: 16, maxCallDepth: 1 };
  return { insns, text: encodeProgram(insns), data: new Uint8Array(0), rodata: new Uint8Array(0), sizes, functions: [0] };
}).filter((g) => verify(new Program(g.text), { ...verifyOptions(g), profile: 'riot-2022' }).ok);

describe('preemption: sliced runs end exactly as unsliced ones', function () {
  this.timeout(120_000);
  const loopy: GenConfig = { weights: { loop: 5, walk: 4, spin: 2, helper: 6, suspend: 1 } };

  for (const tier of ['interp', 'compiled', 'auto', 'taken-branch budget', 'riot-2022']) {
    it(`${tier}: random programs cut at random instruction counts and clock readings`, () => {
      let preempted = 0;
      const runs = tier === 'riot-2022' ? Math.ceil(RUNS / 5) : RUNS;
      fc.assert(fc.property(withPlans(loopy, tier === 'riot-2022'), fc.boolean(), ({ g, plans, cutter }, counting) => {
        const opts = { ...tierOpts(tier, cutter), countPerPc: counting };
        const ref = execPlans(vmFor(g, opts), plans);
        const sliced = execPlans(vmFor(g, opts), plans, cutter);
        preempted += sliced.preemptions;
        assertSame(sliced.obs, ref.obs, `${tier}, cuts ${cutter.cuts.join('/')}, clock ${cutter.clockSteps.join('/')}`, g);
      }), params(runs));
      // Branch-limited runs mostly end early; the others are long enough to be cut many times.
      const want = tier === 'riot-2022' || tier === 'taken-branch budget' ? runs / 5 : runs;
      assert.ok(preempted >= want, `only ${preempted} preemptions in ${runs} cases: the property tested little`);
    });
  }

  it('a budget fault still comes after exactly B instructions in all and names B', () => {
    const text = assemble('mov %r0, 0\nl: add %r0, 1\nja l');
    for (const tier of ['interp', 'compiled'] as const) {
      for (const b of [0, 1, 2, 999, 100_001]) {
        const vm = new Vm({ text, tier, slice: { insns: 7 } });
        let r = vm.run({ budget: b });
        let slices = 1;
        while (r.status === 'preempted') { r = vm.continue(); slices++; }
        assert.equal(r.status, 'fault');
        assert.equal(r.fault?.code, FaultCode.OUT_OF_BUDGET);
        assert.equal(r.fault?.reason, `instruction budget of ${b} exhausted`);
        assert.equal(r.insns, b);
        assert.equal(r.totalInsns, b);
        assert.equal(slices, Math.max(1, Math.ceil(b / 7)), `${tier} budget ${b}`);
      }
    }
  });

  it('riot-2022: the 200 taken branches count across slices; a helper suspension still restarts them', () => {
    const spin = new Vm({ text: assemble('l: add %r0, 1\nja l\nexit'), profile: 'riot-2022', budget: 1e9, slice: { insns: 3 } });
    let r = spin.run();
    while (r.status === 'preempted') r = spin.continue();
    assert.equal(r.fault?.reason, 'taken-branch budget of 200 exhausted');
    assert.equal(r.insns, 402); // the 201st taken jump faults
    // 150 taken branches, a suspension, 150 more: fine, as before slicing existed.
    const text = assemble('mov %r6, 150\na: sub %r6, 1\njne %r6, 0, a\ncall 6\nmov %r6, 150\nb: sub %r6, 1\njne %r6, 0, b\nmov %r0, 7\nexit');
    for (const slice of [undefined, { insns: 5 }]) {
      const vm = new Vm({ text, profile: 'riot-2022', helpers: makeHelpers(), slice });
      let s = vm.run();
      while (s.status === 'preempted') s = vm.continue();
      assert.equal(s.status, 'suspended');
      s = vm.resume(0);
      while (s.status === 'preempted') s = vm.continue();
      assert.equal(s.status, 'exit', s.fault?.message);
      assert.equal(s.r0, 7n);
    }
  });

  it('continue() only after a preemption; run() abandons a preempted run', () => {
    const vm = new Vm({ text: assemble('l: add %r0, 1\nja l'), budget: 1000, slice: { insns: 10 } });
    assert.throws(() => vm.continue(), /not preempted/);
    assert.equal(vm.run().status, 'preempted');
    assert.throws(() => vm.resume(0), /not suspended/);
    assert.deepEqual(vm.progress, { insns: 10, budget: 1000 });
    const again = vm.run({ budget: 5 });
    assert.equal(again.status, 'fault');
    assert.equal(again.totalInsns, 5);
    assert.equal(vm.preempted, false);
  });

  it('timed slices: short runs never read the clock, long ones read it a few times per slice', () => {
    let reads = 0;
    const now = (): number => { reads++; return performance.now(); };
    const short = new Vm({ text: assemble('mov %r0, 1\nexit'), slice: { ms: DEFAULT_SLICE_MS }, now });
    for (let i = 0; i < 1000; i++) short.run();
    assert.equal(reads, 0);
    for (const tier of ['interp', 'compiled'] as const) {
      reads = 0;
      const vm = new Vm({ text: assemble('l: add %r0, 1\nja l'), tier, budget: Number.MAX_SAFE_INTEGER, slice: { ms: 2 }, now });
      let r = vm.run();
      let slices = 1;
      while (r.status === 'preempted' && slices < 20) { r = vm.continue(); slices++; }
      assert.equal(r.status, 'preempted', `${tier}: an endless loop ended`);
      assert.ok(reads / slices <= 24, `${tier}: ${reads} clock reads in ${slices} slices`);
    }
  });

  it('a helper checkpoint preempts a slice of slow helper calls and keeps their results', () => {
    let t = 0, n = 0;
    const slow = new Map([[1, { fn: () => { t += 0.5; return ++n; } }]]);
    const prog = assemble('mov %r6, 0\nmov %r7, 200\nl: call 1\nadd %r6, %r0\nsub %r7, 1\njne %r7, 0, l\nmov %r0, %r6\nexit');
    for (const tier of ['interp', 'compiled'] as const) {
      n = 0;
      const vm = new Vm({ text: prog, tier, helpers: slow, slice: { ms: 5 }, now: () => t });
      let r = vm.run();
      let slices = 1;
      while (r.status === 'preempted') { r = vm.continue(); slices++; }
      assert.equal(r.status, 'exit');
      assert.equal(r.r0, 20100n); // 1 + 2 + … + 200: every call's own result
      assert.equal(r.insns, 2 + 200 * 4 + 2);
      // 100 ms of helper time in 5 ms slices (a checkpoint every 16 calls = 8 ms; the first one of a slice sets its deadline): about 7.
      assert.ok(slices >= 5 && slices <= 20, `${tier}: ${slices} slices`);
    }
  });
});
