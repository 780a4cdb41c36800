/**
 * The compiled tier (vm/wasm-compiler.ts + vm/compiled-tier.ts) against the reference
 * interpreter: differential property tests on random verified programs (test/util/program-gen.ts)
 * with random and exhaustive budgets, suspension and resumption on and across tiers, all
 * conformance vectors with a budget sweep, tier-up rules, and compile time.
 *
 * "Same" means: status, r0, insns, totalInsns, the whole fault (code, pc, reason, instruction,
 * address/size/access/helper), the writable context after the run, .data, .rodata and the stack
 * after every slice, and whether the Vm is left suspended, over several consecutive runs of the
 * same Vm (.data persists between runs).
 *
 * Seeded: FC_SEED replays another sequence, FC_RUNS changes the number of runs per property.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { Vm, DEFAULT_TIER_UP, type HelperCall, type RunResult, type VmOptions } from '../../vm/vm';
import { Program } from '../../vm/program';
import type { RiotImage } from '../../vm/image';
import { assemble } from '../../vm/assembler';
import { compileToWasm } from '../../vm/wasm-compiler';
import { BASE } from '../../vm/memory';
import { FaultCode } from '../../vm/errors';
import { conformanceHelpers, expectedResult, hexBytes, loadAssembled } from '../util/vectors';
import { hex, observe } from '../util/observe';
import {
  H_SUSPEND, H_VALUE, WALK_HEAVY, arbProgram, arbProgramRaw, arbRiotProgram, bigProgram, isVerified, makeHelpers, type GenConfig, type GenProgram,
} from '../util/program-gen';
import { note } from '../util/note';

const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 0x7135;
const RUNS = Number(process.env.FC_RUNS ?? 500);
const params = <T>(runs = RUNS, seed = SEED): fc.Parameters<T> => ({ numRuns: runs, seed, endOnFailure: true });
/**
 * auto thresholds: after `runs` runs or `insns` instructions. `minAvgInsns: 0` switches off the
 * "short programs stay interpreted" rule where a Vm has it, so these tests really move tiers.
 */
const up = (runs: number, insns: number, minAvgInsns = 0): VmOptions['tierUp'] => ({ runs, insns, minAvgInsns } as VmOptions['tierUp']);

const BASE_DATA = BASE.data, BASE_RODATA = BASE.rodata;

// ---------------------------------------------------------------------------------------------
// Run plans (what a slice sees: test/util/observe.ts)

interface Slice { r0: number | bigint; budget: number }
interface RunPlan {
  ctx: { bytes: Uint8Array; writable: boolean } | null;
  budget: number;
  /** Entry slot; undefined = 0. */
  entry?: number;
  resumes: Slice[];
}

type Hook = (vm: Vm, run: number, slice: number) => void;

/** Runs the plans on a Vm, resuming suspended runs with the planned slices; one observation per slice. */
function execPlans(vm: Vm, plans: RunPlan[], hook?: Hook): Record<string, unknown>[] {
  const obs: Record<string, unknown>[] = [];
  plans.forEach((p, k) => {
    hook?.(vm, k, 0);
    let res = vm.run({ budget: p.budget, entry: p.entry, ...(p.ctx ? { context: p.ctx.bytes.slice(), contextWritable: p.ctx.writable } : {}) });
    obs.push({ run: k, slice: 0, ...observe(vm, res) });
    for (let s = 0; s < p.resumes.length && res.status === 'suspended'; s++) {
      hook?.(vm, k, s + 1);
      res = vm.resume(p.resumes[s].r0, p.resumes[s].budget);
      obs.push({ run: k, slice: s + 1, ...observe(vm, res) });
    }
  });
  return obs;
}

function vmFor(g: GenProgram, opts: Partial<VmOptions>): Vm {
  return new Vm({ text: g.text, data: g.data, rodata: g.rodata, helpers: makeHelpers(), maxCallDepth: g.sizes.maxCallDepth, ...opts });
}

/** Compare observation lists slice by slice with a readable message. */
function assertSame(actual: Record<string, unknown>[], expected: Record<string, unknown>[], what: string, g?: GenProgram): void {
  const n = Math.max(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    try {
      assert.deepEqual(actual[i], expected[i]);
    } catch (e) {
      const prog = g ? `\nprogram: ${Buffer.from(g.text).toString('hex')}\ndata: ${hex(g.data)} rodata: ${hex(g.rodata)} maxCallDepth: ${g.sizes.maxCallDepth}` : '';
      throw new Error(`${what}: slice ${i} differs\n${(e as Error).message}${prog}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Plan arbitraries

const arbBudget: fc.Arbitrary<number> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 40 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 400 }) },
  { weight: 2, arbitrary: fc.integer({ min: 400, max: 5000 }) },
  { weight: 1, arbitrary: fc.constant(100_000) },
);
const arbCtx = (nominal: number): fc.Arbitrary<RunPlan['ctx']> => fc.oneof(
  { weight: 4, arbitrary: fc.record({ bytes: fc.uint8Array({ minLength: nominal, maxLength: nominal }), writable: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ bytes: fc.uint8Array({ maxLength: 72 }), writable: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant(null) },
);
const arbR0: fc.Arbitrary<number | bigint> = fc.oneof(fc.integer({ min: -3, max: 300 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));

function arbPlans(g: GenProgram, budget = arbBudget, maxRuns = 4): fc.Arbitrary<RunPlan[]> {
  const starts = [...new Program(g.text).starts()];
  const entry = fc.oneof(
    { weight: 8, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom(...g.functions) },
    { weight: 1, arbitrary: fc.constantFrom(...starts) },
  );
  return fc.array(fc.record({
    ctx: arbCtx(g.sizes.ctx),
    budget,
    entry,
    resumes: fc.array(fc.record({ r0: arbR0, budget }), { maxLength: 4 }),
  }), { minLength: 1, maxLength: maxRuns });
}

const withPlans = (cfg: GenConfig = {}, budget = arbBudget): fc.Arbitrary<{ g: GenProgram; plans: RunPlan[] }> =>
  arbProgram(cfg).chain((g) => arbPlans(g, budget).map((plans) => ({ g, plans })));

// ---------------------------------------------------------------------------------------------

describe('compiled tier vs interpreter', function () {
  this.timeout(60_000);

  describe('program generator', () => {
    it('makes programs that mostly verify, with every opcode and every outcome present', () => {
      const sample = fc.sample(arbProgramRaw(), { seed: SEED, numRuns: 1000 });
      const ok = sample.filter(isVerified);
      assert.ok(ok.length >= 0.9 * sample.length, `only ${ok.length}/${sample.length} verify`);
      const ops = new Set<number>();
      let localCalls = 0, backward = 0;
      for (const g of ok) {
        for (const i of g.insns) {
          ops.add(i.opcode);
          if (i.opcode === 0x85 && i.src === 1) localCalls++;
          const cls = i.opcode & 7;
          if ((cls === 5 || cls === 6) && i.opcode !== 0x85 && i.opcode !== 0x8d && i.opcode !== 0x95 && (i.opcode === 0x06 ? i.imm : i.offset) < 0) backward++;
        }
      }
      const want: number[] = [];
      for (const code of [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0]) for (const c of [0x04, 0x07]) want.push(code | c, code | c | 0x08);
      want.push(0x84, 0x87, 0xd4, 0xdc, 0xd7, 0x18, 0xb8, 0xd8, 0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91,
        0x62, 0x6a, 0x72, 0x7a, 0x63, 0x6b, 0x73, 0x7b, 0xc3, 0xdb, 0x05, 0x06, 0x85, 0x8d, 0x95);
      for (const code of [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0]) for (const c of [0x05, 0x06]) want.push(code | c, code | c | 0x08);
      const missing = want.filter((op) => !ops.has(op)).map((op) => '0x' + op.toString(16));
      assert.deepEqual(missing, [], 'opcodes never generated');
      assert.ok(localCalls > 100, `${localCalls} local calls`);
      assert.ok(backward > 300, `${backward} backward jumps (loops)`);
      // Walks and short loops: self-loops the compiled tier runs in its fast form.
      const opts = { dataBase: BASE_DATA, rodataBase: BASE_RODATA, frameSize: 512, maxCallDepth: 8 };
      const fast = ok.filter((g) => compileToWasm(new Program(g.text), opts).fastLoops.length > 0).length;
      assert.ok(fast > 0.3 * ok.length, `${fast}/${ok.length} programs with a fast self-loop`);
      const copies = ok.filter((g) => compileToWasm(new Program(g.text), opts).fastRanges.length > 0).length;
      assert.ok(copies > 0.04 * ok.length, `${copies}/${ok.length} programs with a structured loop copy`);
      // Outcomes on the interpreter: every kind of ending shows up.
      const seen = new Map<string, number>();
      const bump = (k: string): void => { seen.set(k, (seen.get(k) ?? 0) + 1); };
      let long = 0;
      for (const g of ok.slice(0, 600)) {
        const vm = vmFor(g, { tier: 'interp' });
        let r = vm.run({ budget: 3000, context: new Uint8Array(g.sizes.ctx), contextWritable: true });
        for (let k = 0; k < 4 && r.status === 'suspended'; k++) { bump('suspended'); r = vm.resume(k, 3000); }
        if (r.totalInsns > 100) long++;
        const why = r.fault ? (r.fault.detail.helper !== undefined ? 'helper ' : '') + r.fault.code + (/nested/.test(r.fault.reason) ? ' depth' : '') : r.status;
        bump(why);
      }
      for (const k of ['exit', 'suspended', '-2', 'helper -2', 'helper -4', '-4 depth', '-8']) assert.ok((seen.get(k) ?? 0) > 3, `outcome ${k}: ${JSON.stringify([...seen])}`);
      assert.ok((seen.get('exit') ?? 0) > 150, `exits: ${JSON.stringify([...seen])}`);
      assert.ok(long > 40, `${long} runs over 100 instructions`);
    });
  });

  describe('differential: random programs, random budgets, consecutive runs', () => {
    it('interp ≡ compiled ≡ auto (eager, mid-run) on every slice', () => {
      fc.assert(fc.property(withPlans(), fc.integer({ min: 1, max: 60 }), ({ g, plans }, midRun) => {
        const ref = execPlans(vmFor(g, { tier: 'interp' }), plans);
        const compiled = vmFor(g, { tier: 'compiled' });
        assert.equal(compiled.tier.current, 'compiled', compiled.tier.reason);
        assertSame(execPlans(compiled, plans), ref, 'compiled', g);
        const eager = vmFor(g, { tier: 'auto', tierUp: up(1, 1e12) });
        assertSame(execPlans(eager, plans), ref, 'auto (runs: 1)', g);
        if (ref.length >= 2) assert.equal(eager.tier.current, 'compiled', 'auto with runs: 1 did not tier up');
        assertSame(execPlans(vmFor(g, { tier: 'auto', tierUp: up(1e9, midRun) }), plans), ref, `auto (insns: ${midRun})`, g);
      }), params());
    });

    it('exhaustive budgets on one run: every budget from 0 to past the end gives the same outcome', () => {
      fc.assert(fc.property(arbProgram({ weights: { suspend: 0, spin: 0 } }), arbCtx(0), (g, ctx0) => {
        const ctx = ctx0 ?? { bytes: new Uint8Array(g.sizes.ctx), writable: true };
        const runOpts = { context: ctx.bytes, contextWritable: ctx.writable };
        const interp = vmFor(g, { tier: 'interp' });
        const compiled = vmFor(g, { tier: 'compiled' });
        const full = interp.run({ ...runOpts, context: ctx.bytes.slice(), budget: 3000 });
        const top = Math.min(full.totalInsns + 2, 3001);
        const budgets = new Set<number>();
        for (let b = 0; b <= Math.min(top, 80); b++) budgets.add(b);
        for (let k = 0; k < 40; k++) budgets.add(Math.floor((top * k) / 40));
        budgets.add(top - 1); budgets.add(top - 2);
        for (const b of budgets) {
          if (b < 0) continue;
          const fresh = (vm: Vm): Record<string, unknown> => observe(vm, vm.run({ ...runOpts, context: ctx.bytes.slice(), budget: b }));
          // Fresh .data for both: restore the image's .data before each run.
          interp.memory.bytes('data').set(g.data); compiled.memory.bytes('data').set(g.data);
          assertSame([fresh(compiled)], [fresh(interp)], `budget ${b}`, g);
        }
      }), params());
    });
  });

  describe('differential: riot-2022 (taken-branch budget, division faults, 32-bit helper results)', () => {
    const riot = { profile: 'riot-2022' as const };
    const riotPlans = arbRiotProgram().chain((g) => arbPlans(g).map((plans) => ({ g, plans })));

    it('the riot programs reach RIOT\'s run-time faults: 200 taken branches (−8) and division by zero (−9)', () => {
      const seen = new Map<string, number>();
      for (const g of fc.sample(arbRiotProgram(), { seed: SEED, numRuns: 400 })) {
        const r = vmFor(g, { tier: 'interp', ...riot }).run({ budget: 5000, context: new Uint8Array(g.sizes.ctx), contextWritable: true });
        const why = r.fault ? (/taken-branch/.test(r.fault.reason) ? 'branches' : String(r.fault.code)) : r.status;
        seen.set(why, (seen.get(why) ?? 0) + 1);
      }
      for (const k of ['exit', 'branches', '-9', '-2']) assert.ok((seen.get(k) ?? 0) >= 3, `outcome ${k}: ${JSON.stringify([...seen])}`);
    });

    it('interp ≡ compiled ≡ auto (eager, mid-run) on every slice, with per-instruction counts', () => {
      fc.assert(fc.property(riotPlans, fc.integer({ min: 1, max: 60 }), ({ g, plans }, midRun) => {
        const ref = execPlans(vmFor(g, { tier: 'interp', countPerPc: true, ...riot }), plans);
        const compiled = vmFor(g, { tier: 'compiled', countPerPc: true, ...riot });
        assert.equal(compiled.tier.current, 'compiled', compiled.tier.reason);
        assertSame(execPlans(compiled, plans), ref, 'compiled', g);
        assertSame(execPlans(vmFor(g, { tier: 'auto', countPerPc: true, tierUp: up(1, 1e12), ...riot }), plans), ref, 'auto (runs: 1)', g);
        assertSame(execPlans(vmFor(g, { tier: 'auto', countPerPc: true, tierUp: up(1e9, midRun), ...riot }), plans), ref, `auto (insns: ${midRun})`, g);
      }), params(Math.max(50, RUNS >> 1), SEED + 14));
    });

    it('every budget and every branch budget around the fault points gives the interpreter\'s outcome', () => {
      fc.assert(fc.property(arbRiotProgram({ weights: { suspend: 0 } }), (g) => {
        const runOn = (vm: Vm, budget: number): Record<string, unknown> => {
          vm.memory.bytes('data').set(g.data);
          return observe(vm, vm.run({ budget, context: new Uint8Array(g.sizes.ctx), contextWritable: true }));
        };
        for (const branchBudget of [0, 1, 3, 200]) {
          const interp = vmFor(g, { tier: 'interp', branchBudget, ...riot });
          const compiled = vmFor(g, { tier: 'compiled', branchBudget, ...riot });
          const top = Math.min(interp.run({ budget: 3000, context: new Uint8Array(g.sizes.ctx) }).totalInsns + 2, 3001);
          for (let b = 0; b <= top; b += b < 60 ? 1 : Math.ceil(top / 30)) assertSame([runOn(compiled, b)], [runOn(interp, b)], `budget ${b}, ${branchBudget} branches`, g);
        }
      }), params(Math.max(30, RUNS >> 3), SEED + 15));
    });

    it('a "no return" program that runs off its end: fault −1 past the end, same count, every budget', () => {
      const text = assemble('mov %r0, 0\nl: add %r0, 1\njlt %r0, 300, l\nadd %r0, 5');
      for (let budget = 0; budget < 620; budget += 7) {
        const obs = (tier: 'interp' | 'compiled'): Record<string, unknown> => {
          const vm = new Vm({ text, tier, profile: 'riot-2022', noReturn: true });
          return observe(vm, vm.run({ budget }));
        };
        assertSame([obs('compiled')], [obs('interp')], `budget ${budget}`);
      }
      const r = new Vm({ text, tier: 'compiled', profile: 'riot-2022', noReturn: true }).run();
      assert.equal(r.fault?.code, FaultCode.ILLEGAL_INSTRUCTION);
      assert.equal(r.fault?.pc, 4);
      assert.equal(r.r0, 305n);
    });
  });

  describe('entry points', () => {
    it('image functions (also in the middle of a block) as entries: same on every tier', () => {
      const arb = arbProgram().chain((g) => {
        const starts = [...new Program(g.text).starts()];
        return fc.record({
          extra: fc.uniqueArray(fc.constantFrom(...starts), { maxLength: 3 }),
          runs: fc.array(fc.record({ k: fc.nat(), budget: arbBudget, ctx: arbCtx(g.sizes.ctx) }), { minLength: 1, maxLength: 4 }),
        }).map((r) => ({ g, ...r }));
      });
      fc.assert(fc.property(arb, ({ g, extra, runs }) => {
        const offsets = [...new Set([...g.functions, ...extra])];
        const image: RiotImage = { flags: 0, data: g.data, rodata: g.rodata, text: g.text, functions: offsets.map((slot) => ({ name: `f${slot}`, flags: 0, offset: slot * 8 })) };
        const go = (opts: Partial<VmOptions>): Record<string, unknown>[] => {
          const vm = new Vm({ image, helpers: makeHelpers(), maxCallDepth: g.sizes.maxCallDepth, ...opts });
          return runs.map((r) => observe(vm, vm.run({ entry: `f${offsets[r.k % offsets.length]}`, budget: r.budget, ...(r.ctx ? { context: r.ctx.bytes.slice(), contextWritable: r.ctx.writable } : {}) })));
        };
        const ref = go({ tier: 'interp' });
        assertSame(go({ tier: 'compiled' }), ref, 'compiled', g);
        assertSame(go({ tier: 'auto', tierUp: up(1, 1e12) }), ref, 'auto', g);
      }), params(RUNS, SEED + 2));
    });
  });

  describe('suspension and resumption', () => {
    const suspendy: GenConfig = { weights: { suspend: 5, helper: 3, call: 3 } };
    const tinyOrSome = fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 300 }), fc.constant(100_000));

    it('resume on the same tier and across tiers gives the interpreter\'s results', () => {
      fc.assert(fc.property(withPlans(suspendy, tinyOrSome), fc.integer({ min: 0, max: 3 }), ({ g, plans }, switchAt) => {
        const ref = execPlans(vmFor(g, { tier: 'interp' }), plans);
        assertSame(execPlans(vmFor(g, { tier: 'compiled' }), plans), ref, 'compiled', g);
        // auto: interpreted first slice, compiled from the second (tier-up between slices).
        assertSame(execPlans(vmFor(g, { tier: 'auto', tierUp: up(1, 1e12) }), plans), ref, 'auto', g);
        // auto with thresholds never reached, moved by compileNow() while suspended.
        let n = 0;
        const hook: Hook = (vm, _run, slice) => { if (slice > 0 && n++ === switchAt) assert.equal(vm.compileNow(), true); };
        assertSame(execPlans(vmFor(g, { tier: 'auto', tierUp: up(1e9, 1e12) }), plans, hook), ref, 'auto + compileNow while suspended', g);
      }), params());
    });

    it('suspends inside local calls and loops, resumes with fresh budgets, exact counts', () => {
      const src = `
        mov %r6, 0
        mov %r7, 4
      top:
        call local f
        add %r6, %r0
        sub %r7, 1
        jne %r7, 0, top
        mov %r0, %r6
        exit
      f:
        mov %r1, 1
        call ${H_SUSPEND}
        add %r0, 3
        call local g
        exit
      g:
        call ${H_SUSPEND}
        mul %r0, 2
        exit`;
      const text = assemble(src);
      const mk = (tier: VmOptions['tier']): Vm => new Vm({ text, helpers: makeHelpers(), tier, tierUp: up(2, 1e9) });
      for (const budgets of [[1000], [1, 2, 3, 4, 5, 6, 7], [0, 5, 0, 9, 2, 100], [3]]) {
        const obs = (vm: Vm): Record<string, unknown>[] => {
          const out: Record<string, unknown>[] = [];
          let res = vm.run({ budget: budgets[0] });
          out.push(observe(vm, res));
          for (let k = 1; res.status === 'suspended' || k < 30; k++) {
            if (res.status !== 'suspended') break;
            res = vm.resume(k, budgets[k % budgets.length]);
            out.push(observe(vm, res));
          }
          return out;
        };
        const ref = obs(mk('interp'));
        assert.equal(ref.at(-1)!.status, budgets[0] === 1000 ? 'exit' : ref.at(-1)!.status);
        assertSame(obs(mk('compiled')), ref, `compiled, budgets ${budgets}`);
        assertSame(obs(mk('auto')), ref, `auto, budgets ${budgets}`);
      }
    });
  });

  describe('conformance vectors on the compiled tier', () => {
    const vectors = loadAssembled();
    it('has all 313 vectors', () => assert.equal(vectors.length, 313));

    it('every vector: compiled result = interpreter result = expected', () => {
      const bad: string[] = [];
      for (const v of vectors) {
        const text = hexBytes(v.program);
        const mem = hexBytes(v.mem);
        const opts = mem.length ? { context: mem, contextWritable: true, lengthInR2: true } : {};
        const ci = new Vm({ text, helpers: conformanceHelpers(), tier: 'interp' });
        const cc = new Vm({ text, helpers: conformanceHelpers(), tier: 'compiled' });
        if (cc.tier.current !== 'compiled') { bad.push(`${v.name}: not compiled (${cc.tier.reason})`); continue; }
        const ri = observe(ci, ci.run({ ...opts, context: mem.slice() } as never));
        const rc = observe(cc, cc.run({ ...opts, context: mem.slice() } as never));
        const want = '0x' + expectedResult(v.result).toString(16);
        if (rc.status !== 'exit' || rc.r0 !== want) bad.push(`${v.name}: compiled ${rc.status} ${rc.r0}, expected ${want}`);
        try { assert.deepEqual(rc, ri); } catch { bad.push(`${v.name}: compiled differs from interpreter: ${JSON.stringify(rc)} vs ${JSON.stringify(ri)}`); }
      }
      assert.deepEqual(bad, []);
    });

    it('every vector, budgets 0..40: same outcome on both tiers', () => {
      const bad: string[] = [];
      for (const v of vectors) {
        const text = hexBytes(v.program);
        const mem = hexBytes(v.mem);
        const ci = new Vm({ text, helpers: conformanceHelpers(), tier: 'interp' });
        const cc = new Vm({ text, helpers: conformanceHelpers(), tier: 'compiled' });
        for (let b = 0; b <= 40; b++) {
          const opts = { budget: b, ...(mem.length ? { context: mem.slice(), contextWritable: true, lengthInR2: true } : {}) };
          const ri = observe(ci, ci.run(opts));
          const rc = observe(cc, cc.run({ ...opts, context: opts.context?.slice() }));
          try { assert.deepEqual(rc, ri); } catch { bad.push(`${v.name} budget ${b}: ${JSON.stringify(rc)} vs ${JSON.stringify(ri)}`); break; }
        }
      }
      assert.deepEqual(bad, []);
    });
  });

  describe('tiering', () => {
    const loop = (n: number): Uint8Array => assemble(`
      mov %r0, 0
      mov %r1, ${n}
    l:
      add %r0, %r1
      stxdw [%r10-8], %r0
      ldxdw %r2, [%r10-8]
      sub %r1, 1
      jne %r1, 0, l
      exit`);
    const expected = (n: number): { r0: bigint; insns: number } => ({ r0: BigInt(n * (n + 1) / 2), insns: 3 + 5 * n });

    it('auto starts interpreted and moves to compiled after tierUp.runs runs', () => {
      const vm = new Vm({ text: loop(10), tier: 'auto', tierUp: up(3, 1e12) });
      assert.deepEqual({ mode: vm.tier.mode, current: vm.tier.current }, { mode: 'auto', current: 'interp' });
      const compileMs: (number | undefined)[] = [];
      for (let k = 1; k <= 5; k++) {
        const r = vm.run();
        assert.deepEqual({ r0: r.r0, insns: r.insns }, expected(10));
        assert.equal(vm.tier.runs, k);
        assert.equal(vm.tier.current, k <= 3 ? 'interp' : 'compiled', `after run ${k}`);
        compileMs.push(vm.tier.compileMs);
      }
      // No compile time before the move; after it one positive figure, the same on later runs
      // (compiled once, not again per run).
      assert.deepEqual(compileMs.slice(0, 3), [undefined, undefined, undefined]);
      assert.ok(Number.isFinite(compileMs[3]) && compileMs[3]! > 0, `compileMs ${compileMs[3]}`);
      assert.equal(compileMs[4], compileMs[3]);
      assert.ok(vm.tier.moduleBytes! > 0);
      assert.equal(vm.tier.reason, undefined);
    });

    it('auto moves after tierUp.insns instructions, in the middle of one long run', () => {
      const n = 5000;
      for (const insns of [1, 7, 100, 1234, 24_999]) {
        const vm = new Vm({ text: loop(n), tier: 'auto', tierUp: up(1e9, insns) });
        const r = vm.run();
        assert.deepEqual({ status: r.status, r0: r.r0, insns: r.insns }, { status: 'exit', ...expected(n) }, `insns ${insns}`);
        assert.equal(vm.tier.current, 'compiled', `insns ${insns}`);
        assert.equal(vm.tier.insns, expected(n).insns);
      }
    });

    it('tierUp.insns counts instructions across runs: many short runs move too', () => {
      // loop(10) runs 53 instructions: the threshold of 54 is not reached by the first run, and is
      // passed during the second. The compiled tier must be in use from the third run at the latest.
      const vm = new Vm({ text: loop(10), tier: 'auto', tierUp: up(1e9, 54) });
      vm.run();
      assert.equal(vm.tier.current, 'interp', 'after run 1 (53 instructions)');
      vm.run();
      vm.run();
      assert.equal(vm.tier.current, 'compiled', `after run 3 (${vm.tier.insns} instructions, threshold 54)`);
    });

    it('auto is the default; the default thresholds move a hot container', () => {
      const d = DEFAULT_TIER_UP as { runs: number; insns: number; minAvgInsns?: number };
      const n = Math.max(1, Math.ceil(((d.minAvgInsns ?? 0) - 3) / 5) + 1); // 3 + 5n instructions per run, above the average rule
      const vm = new Vm({ text: loop(n) });
      assert.equal(vm.tier.mode, 'auto');
      for (let k = 0; k < d.runs; k++) vm.run();
      assert.equal(vm.tier.current, 'interp');
      vm.run();
      assert.equal(vm.tier.current, 'compiled');
      if (d.minAvgInsns !== undefined && d.minAvgInsns > 8) {
        // A very short container (8 instructions a run) stays interpreted under the defaults.
        const short = new Vm({ text: loop(1) });
        for (let k = 0; k < 3 * d.runs; k++) short.run();
        assert.equal(short.tier.current, 'interp');
      }
    });

    it('a budget fault exactly at the tier-up point and a run that tiers up mid-run inside a local call', () => {
      const text = assemble(`
        mov %r6, 30
      l:
        call local f
        sub %r6, 1
        jne %r6, 0, l
        exit
      f:
        add %r0, 1
        mov %r7, 3
      m:
        add %r0, %r7
        sub %r7, 1
        jne %r7, 0, m
        exit`);
      const ref = new Vm({ text, tier: 'interp' });
      for (let insns = 1; insns < 80; insns += 3) {
        for (const budget of [insns - 1, insns, insns + 1, 200, 100_000]) {
          if (budget < 1) continue; // budget 0: its own test below
          const a = new Vm({ text, tier: 'auto', tierUp: up(1e9, insns) });
          assertSame([observe(a, a.run({ budget })), observe(a, a.run({ budget }))],
            [observe(ref, ref.run({ budget })), observe(ref, ref.run({ budget }))], `tierUp.insns ${insns}, budget ${budget}`);
        }
      }
    });

    it('riot-2022 compiles like any program (no class of program is interpreter-only)', () => {
      const text = loop(10);
      for (const tier of ['auto', 'compiled'] as const) {
        const vm = new Vm({ text, tier, tierUp: up(1, 1), profile: 'riot-2022' });
        for (let k = 0; k < 4; k++) assert.deepEqual({ r0: vm.run().r0 }, { r0: expected(10).r0 });
        assert.equal(vm.compileNow(), true);
        assert.equal(vm.tier.current, 'compiled', vm.tier.reason);
        assert.equal(vm.tier.reason, undefined);
      }
    });

    it('countPerPc: either stays interpreted with a reason, or counts exactly as the interpreter does', () => {
      const text = loop(10);
      for (const tier of ['auto', 'compiled'] as const) {
        const vm = new Vm({ text, tier, tierUp: up(1, 1), countPerPc: true });
        const ref = new Vm({ text, tier: 'interp', countPerPc: true });
        for (let k = 0; k < 4; k++) {
          for (const budget of [1000, 17, 0]) assertSame([observe(vm, vm.run({ budget }))], [observe(ref, ref.run({ budget }))], `${tier} run ${k} budget ${budget}`);
        }
        if (vm.tier.current === 'interp') assert.match(vm.tier.reason ?? '', /count/);
        else assert.equal(vm.tier.reason, undefined);
      }
      const r = new Vm({ text, tier: 'interp', countPerPc: true }).run();
      assert.equal(r.pcCounts![3], 10);
      assert.equal(r.pcTaken![6], 9);
    });

    it('countPerPc on random programs: per-instruction counts and taken jumps equal on every tier', () => {
      fc.assert(fc.property(withPlans(), ({ g, plans }) => {
        const ref = execPlans(vmFor(g, { tier: 'interp', countPerPc: true }), plans);
        assertSame(execPlans(vmFor(g, { tier: 'compiled', countPerPc: true }), plans), ref, 'compiled', g);
        assertSame(execPlans(vmFor(g, { tier: 'auto', countPerPc: true, tierUp: up(1, 1e12) }), plans), ref, 'auto', g);
      }), params(RUNS, SEED + 3));
    });

    it('tier interp never compiles; compiled compiles at construction', () => {
      const i = new Vm({ text: loop(3), tier: 'interp', tierUp: up(1, 1) });
      for (let k = 0; k < 5; k++) i.run();
      assert.deepEqual({ current: i.tier.current, compileMs: i.tier.compileMs }, { current: 'interp', compileMs: undefined });
      const c = new Vm({ text: loop(3), tier: 'compiled' });
      assert.equal(c.tier.current, 'compiled');
      assert.equal(typeof c.tier.compileMs, 'number');
    });

    it('results never change when the tier changes (random programs, auto with random thresholds)', () => {
      fc.assert(fc.property(withPlans(), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 60 }), ({ g, plans }, runs, insns, avg) => {
        const ref = execPlans(vmFor(g, { tier: 'interp' }), plans);
        assertSame(execPlans(vmFor(g, { tier: 'auto', tierUp: up(runs, insns, avg) }), plans), ref, `auto runs ${runs} insns ${insns} minAvgInsns ${avg}`, g);
      }), params(RUNS, SEED + 1));
    });
  });

  describe('long runs', () => {
    it('a run longer than one call into the module (2^24 instructions) counts exactly', function () {
      this.timeout(30_000);
      const n = 6_000_000; // 3 + 3n instructions ≈ 18M
      const text = assemble(`
        mov %r0, 0
        mov %r1, ${n}
      l:
        add %r0, 1
        sub %r1, 1
        jne %r1, 0, l
        exit`);
      const total = 3 + 3 * n;
      const vm = new Vm({ text, tier: 'compiled' });
      const r = vm.run({ budget: total });
      assert.deepEqual({ status: r.status, r0: r.r0, insns: r.insns }, { status: 'exit', r0: BigInt(n), insns: total });
      const r2 = vm.run({ budget: total - 1 });
      assert.deepEqual({ status: r2.status, code: r2.fault?.code, pc: r2.fault?.pc, insns: r2.insns, r0: r2.r0 },
        { status: 'fault', code: FaultCode.OUT_OF_BUDGET, pc: 5, insns: total - 1, r0: BigInt(n) });
      const r3 = vm.run({ budget: (1 << 24) + 1 });
      assert.equal(r3.insns, (1 << 24) + 1);
      assert.equal(r3.fault?.pc, 2 + ((1 << 24) - 1) % 3);
    });
  });

  describe('compile time', () => {
    it('a 4,096-instruction verified program compiles quickly', function () {
      const g = bigProgram(4096);
      assert.equal(g.text.length / 8, 4096);
      const times: number[] = [];
      const firstRun: number[] = [];
      let bytes = 0;
      for (let k = 0; k < 5; k++) {
        const vm = vmFor(g, { tier: 'compiled' });
        assert.equal(vm.tier.current, 'compiled', vm.tier.reason);
        times.push(vm.tier.compileMs!);
        bytes = vm.tier.moduleBytes!;
        // The engine may compile function bodies lazily: the first run includes that.
        const t0 = performance.now();
        vm.run({ budget: 10 });
        firstRun.push(performance.now() - t0);
      }
      const sorted = [...times].sort((a, b) => a - b);
      const f = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(', ');
      note(`      4096 slots, module ${bytes} B: compileMs ${f(times)} (min ${sorted[0].toFixed(2)}, median ${sorted[2].toFixed(2)}); first run of 10 insns ${f(firstRun)} ms`);
      assert.ok(sorted[0] < 500, `compile took ${sorted[0]} ms`);
      // And it runs the same as the interpreter.
      const plans: RunPlan[] = [{ ctx: { bytes: new Uint8Array(32).fill(3), writable: true }, budget: 100_000, resumes: [] }];
      assertSame(execPlans(vmFor(g, { tier: 'compiled' }), plans), execPlans(vmFor(g, { tier: 'interp' }), plans), '4096-slot program', g);
    });
  });

  describe('targeted cases', () => {
    const both = (src: string, opts: Partial<VmOptions> = {}, plans: RunPlan[] = [{ ctx: null, budget: 10_000, resumes: [] }]): void => {
      const text = assemble(src);
      const ref = execPlans(new Vm({ text, helpers: makeHelpers(), ...opts, tier: 'interp' }), plans);
      assertSame(execPlans(new Vm({ text, helpers: makeHelpers(), ...opts, tier: 'compiled' }), plans), ref, 'compiled');
      assertSame(execPlans(new Vm({ text, helpers: makeHelpers(), ...opts, tier: 'auto', tierUp: up(1e9, 5) }), plans), ref, 'auto');
    };

    it('self-loops with every budget', () => {
      const src = `mov %r0, 0
        mov %r1, 100
      l: add %r0, 1
        sub %r1, 1
        jne %r1, 0, l
        exit`;
      for (let b = 1; b < 320; b += 1) both(src, {}, [{ ctx: null, budget: b, resumes: [] }]);
    });

    it('budget 0 runs nothing on every tier: fault −8 at the entry, 0 instructions', () => {
      // auto before tier-up interprets in chunks of max(1, …) instructions, so a budget of 0 ran one.
      const text = assemble('mov %r0, 1\nexit');
      for (const tier of ['interp', 'compiled', 'auto'] as const) {
        const vm = new Vm({ text, tier });
        const r = vm.run({ budget: 0 });
        assert.deepEqual({ status: r.status, code: r.fault?.code, pc: r.fault?.pc, insns: r.insns, r0: r.r0 },
          { status: 'fault', code: FaultCode.OUT_OF_BUDGET, pc: 0, insns: 0, r0: 0n }, tier);
      }
    });

    it('huge budgets (beyond 2^32, up to 2^53 − 1) on every tier', () => {
      for (const budget of [2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
        both('mov %r0, 1\nmov %r1, 50\nl: add %r0, %r0\nsub %r1, 1\njne %r1, 0, l\nexit', {}, [{ ctx: null, budget, resumes: [] }]);
      }
    });

    it('a program that ends with a backward ja (no exit) runs until the budget ends, every budget', () => {
      for (let b = 1; b < 40; b++) both('mov %r0, 0\nl: add %r0, 1\nja l', {}, [{ ctx: null, budget: b, resumes: [] }]);
    });

    it('call local +0: the callee is the code after the call, run twice', () => {
      for (let b = 1; b < 10; b++) both('mov %r0, 0\ncall local f\nf: add %r0, 1\nexit', {}, [{ ctx: null, budget: b, resumes: [] }]);
    });

    it('.data beyond 64 KiB, extra host regions, read-only host regions', () => {
      const big = new Uint8Array(300_000); big[299_999] = 0x5a; big[150_001] = 3;
      const src = `
        lddwd %r1, 299992
        ldxdw %r0, [%r1+0]
        stxdw [%r1+0], %r1
        lddwd %r2, 150000
        ldxw %r3, [%r2+0]
        stw [%r2+0], 7
        add %r0, %r3
        lddw %r5, 0x50000000
        ldxdw %r4, [%r5+0]
        stxdw [%r5+8], %r0
        add %r0, %r4
        lddw %r5, 0x51000000
        ldxb %r4, [%r5+3]
        add %r0, %r4
        stb [%r5+3], 9
        exit`;
      const text = assemble(src);
      for (const budget of [1, 5, 9, 14, 15, 16, 17, 100]) {
        const go = (tier: VmOptions['tier']): Record<string, unknown>[] => {
          const vm = new Vm({ text, data: big, tier });
          vm.mapRegion('pkt', new Uint8Array(16).fill(3), true);
          vm.mapRegion('ro', new Uint8Array(8).fill(4), false);
          return [0, 1].map(() => ({ ...observe(vm, vm.run({ budget })), pkt: hex(vm.memory.bytes('pkt')) }));
        };
        assertSame(go('compiled'), go('interp'), `budget ${budget}`);
      }
    });

    it('a helper that maps a new region (the memory grows) during the run', () => {
      const text = assemble(`
        stw [%r1+0], 1
        call 1
        stw [%r1+4], 2
        ldxw %r0, [%r1+4]
        lddw %r2, 0x50100000
        stb [%r2-1], 1
        ldxb %r3, [%r2-1]
        add %r0, %r3
        exit`);
      const go = (tier: VmOptions['tier']): Record<string, unknown>[] => {
        const vm = new Vm({ text, tier, helpers: new Map([[1, (c: HelperCall) => { c.vm.mapRegion('grown', 1 << 20, true); return 0; }]]) });
        return [observe(vm, vm.run({ context: new Uint8Array(8), contextWritable: true }))];
      };
      assertSame(go('compiled'), go('interp'), 'compiled');
    });

    it('local-call depth limit: fault −4 at the call, same count', () => {
      for (const max of [1, 2, 8]) {
        both(`mov %r0, 0
          call local f
          exit
        f: add %r0, 1
          call local f
          exit`, { maxCallDepth: max });
      }
    });

    it('a helper faulting through call.mem inside a local call: fault −2 with the helper\'s detail', () => {
      both(`mov %r1, 0x1000
        call local f
        exit
      f: call ${H_VALUE}
        lddw %r1, 0x10000000
        mov %r2, 5
        call 4
        exit`, {}, [{ ctx: null, budget: 100, resumes: [] }, { ctx: null, budget: 100, resumes: [] }]);
    });

    it('taken-branch budget on the rfc9669 profile (branchBudget option) is honoured by every tier', () => {
      // Vm option branchBudget is documented for every profile; the compiled tier keeps it too.
      both(`mov %r0, 0
        mov %r1, 100
      l: add %r0, 1
        sub %r1, 1
        jne %r1, 0, l
        exit`, { branchBudget: 5 });
    });

    it('countPerPc with .data larger than the compiled tier\'s state area: exact counts', () => {
      // The counters live after the state area at the start of the WebAssembly memory; they must
      // start at 0, not at whatever region bytes were at those offsets before the move.
      const text = assemble('mov %r0, 1\nja +0\nexit');
      const go = (tier: VmOptions['tier']): Record<string, unknown>[] => {
        const vm = new Vm({ text, tier, countPerPc: true, data: new Uint8Array(2048).fill(1) });
        return [observe(vm, vm.run()), observe(vm, vm.run())];
      };
      assertSame(go('compiled'), go('interp'), 'compiled');
    });

    it('a region the host maps by size starts zeroed on every tier (no bytes of earlier regions)', () => {
      // With the compiled tier the regions live in one WebAssembly memory that is re-laid out in
      // place: a region mapped by size where an unmapped context used to be must not show its bytes.
      const text = assemble('lddw %r1, 0x50000000\nldxdw %r0, [%r1+0]\nexit');
      const go = (tier: VmOptions['tier']): Record<string, unknown>[] => {
        const vm = new Vm({ text, tier });
        vm.run({ context: new Uint8Array(8).fill(0xaa) });
        vm.run(); // no context: the context region is unmapped
        vm.mapRegion('scratch', 8, true);
        return [{ scratch: hex(vm.memory.bytes('scratch')) }, observe(vm, vm.run())];
      };
      assertSame(go('compiled'), go('interp'), 'compiled');
    });

    it('a helper that maps a region during the run: later accesses see the new layout', () => {
      const text = assemble(`
        stw [%r1+0], 1
        call 1
        stw [%r1+4], 2
        ldxw %r0, [%r1+4]
        exit`);
      const mk = (tier: VmOptions['tier']): Vm => {
        const helpers = new Map([[1, { fn: (c: HelperCall) => { c.vm.mapRegion('before', 64, true); return 0; } }]]);
        const vm = new Vm({ text, helpers, tier });
        vm.mapRegion('before', 16, true); // before the context in the buffer: growing it moves the context
        return vm;
      };
      const out = (vm: Vm): Record<string, unknown>[] => [observe(vm, vm.run({ context: new Uint8Array(8), contextWritable: true }))];
      assertSame(out(mk('compiled')), out(mk('interp')), 'compiled');
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Fast self-loops: loops that walk memory through registers moved by constants run without
// per-access checks for as many iterations as provably stay in their regions (wasm-emit-loops.ts,
// fastLoopPlan). These programs aim at exactly that: strides of every sign and size, starts near
// region edges and outside them, several regions and both caches, budgets ending mid-loop.

/** Memory regions a loop walks: r1 context, r2 stack, r3 .data, r4 .rodata (read-only). */
const arbOff = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 8 }) }, { weight: 1, arbitrary: fc.integer({ min: -16, max: 16 }) });
const arbBaseReg = fc.oneof({ weight: 2, arbitrary: fc.constant(1) }, { weight: 3, arbitrary: fc.constant(2) }, { weight: 3, arbitrary: fc.constant(3) }, { weight: 1, arbitrary: fc.constant(4) });
const arbStrideLoop: fc.Arbitrary<{ src: string; data: number; rodata: number }> = fc.record({
  data: fc.integer({ min: 0, max: 300 }),
  rodata: fc.integer({ min: 0, max: 40 }),
  starts: fc.tuple(fc.integer({ min: -2, max: 50 }), fc.integer({ min: -514, max: -8 }), fc.integer({ min: -2, max: 200 }), fc.integer({ min: -2, max: 40 })),
  wild: fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom('0xffffffff00000000', '0x100000000', '0xfffffffffffffff8') }),
  n: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 400 })),
  body: fc.array(fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom('b', 'h', 'w', 'dw', 'sb', 'sh', 'sw'), fc.integer({ min: 7, max: 9 }), arbBaseReg, arbOff)
      .map(([sz, v, b, o]) => `ldx${sz} %r${v}, [%r${b}${o < 0 ? '' : '+'}${o}]`) },
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom('b', 'h', 'w', 'dw'), fc.integer({ min: 7, max: 9 }), fc.integer({ min: 1, max: 3 }), arbOff, fc.boolean())
      .map(([sz, v, b, o, imm]) => (imm ? `st${sz} [%r${b}${o < 0 ? '' : '+'}${o}], ${v * 3}` : `stx${sz} [%r${b}${o < 0 ? '' : '+'}${o}], %r${v}`)) },
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom('add', 'sub'), arbBaseReg, fc.oneof({ weight: 6, arbitrary: fc.integer({ min: -9, max: 9 }) }, { weight: 1, arbitrary: fc.integer({ min: -70000, max: 70000 }) }))
      .map(([op, b, k]) => `${op} %r${b}, ${k}`) },
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom('add', 'xor', 'mul', 'lsh', 'add32', 'rsh'), fc.integer({ min: 7, max: 9 }), fc.oneof(fc.integer({ min: 0, max: 9 }).map(String), fc.integer({ min: 7, max: 9 }).map((r) => `%r${r}`)))
      .map(([op, v, x]) => `${op} %r${v}, ${x}`) },
    // A base register moved any other way: the loop keeps its checks.
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.constantFrom('mov %rB, %r6', 'add32 %rB, 1', 'ldxdw %rB, [%r10-8]', 'add %rB, %r7')).map(([b, t]) => t.replace('%rB', `%r${b}`)) },
  ), { minLength: 1, maxLength: 8 }),
  tail: fc.constantFrom('sub %r5, 1\njne %r5, 0, l', 'add %r5, -1\njsgt %r5, 0, l', 'sub %r5, 1\njne32 %r5, 0, l', 'ja l', 'sub %r5, 1\njgt %r5, 3, l'),
}).map(({ data, rodata, starts, wild, n, body, tail }) => ({
  data, rodata,
  src: [
    'mov %r6, %r1', 'mov %r7, 1', 'mov %r8, 2', 'mov %r9, 3', 'stxdw [%r10-8], %r6',
    `add %r1, ${starts[0]}`, 'mov %r2, %r10', `add %r2, ${starts[1]}`, `lddwd %r3, ${starts[2]}`, `lddwr %r4, ${starts[3]}`,
    ...(wild ? [`lddw %r4, ${wild}`] : []),
    `mov %r5, ${n}`,
    'l:', ...body, tail,
    'mov %r0, %r7', 'add %r0, %r8', 'xor %r0, %r9', 'exit',
  ].join('\n'),
}));

/**
 * Loops with branches inside (structured loop copies, wasm-emit-loops.ts LoopCopies): if-skips over
 * later items, breaks out of the loop, a jump back to before the loop, memory walks through
 * three regions, ALU work; every budget shape.
 */
const arbBranchyLoop: fc.Arbitrary<string> = fc.record({
  starts: fc.tuple(fc.integer({ min: -2, max: 40 }), fc.integer({ min: -514, max: -8 }), fc.integer({ min: -2, max: 100 })),
  n: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 300 })),
  restarts: fc.integer({ min: 0, max: 3 }),
  items: fc.array(fc.oneof(
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom('b', 'h', 'w', 'dw'), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 3 }), arbOff).map(([sz, v, b, o]) => ({ k: 'insn' as const, text: `ldx${sz} %r${v === 0 ? 0 : v + 6}, [%r${b}${o < 0 ? '' : '+'}${o}]` })) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom('b', 'w', 'dw'), fc.integer({ min: 1, max: 3 }), arbOff).map(([sz, b, o]) => ({ k: 'insn' as const, text: `stx${sz} [%r${b}${o < 0 ? '' : '+'}${o}], %r7` })) },
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom('add', 'sub'), fc.integer({ min: 1, max: 3 }), fc.integer({ min: -4, max: 9 })).map(([op, b, k]) => ({ k: 'insn' as const, text: `${op} %r${b}, ${k}` })) },
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom('add', 'xor', 'mul', 'rsh', 'add32'), fc.constantFrom(0, 7, 8, 9), fc.integer({ min: 0, max: 9 })).map(([op, r, k]) => ({ k: 'insn' as const, text: `${op} %r${r}, ${k}` })) },
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom('jgt', 'jle', 'jset', 'jeq', 'jslt', 'jne32'), fc.constantFrom(0, 7, 8, 9, 5), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 4 })).map(([j, r, k, skip]) => ({ k: 'if' as const, text: `${j} %r${r}, ${k}`, skip })) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('jgt', 'jeq', 'jset'), fc.constantFrom(0, 7, 8), fc.integer({ min: 0, max: 255 })).map(([j, r, k]) => ({ k: 'break' as const, text: `${j} %r${r}, ${k}, out` })) },
    { weight: 1, arbitrary: fc.constant({ k: 'restart' as const, text: 'jsgt %r4, 0, pre' }) },
    // An atomic that writes an address register (fetch: the old value; cmpxchg: r0).
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('lock fetch add', 'lock xchg', 'lock cmpxchg'), fc.integer({ min: 1, max: 3 }))
      .map(([op, r]) => ({ k: 'insn' as const, text: `${op} [%r10-16], %r${r}` })) },
  ), { minLength: 1, maxLength: 10 }),
  tail: fc.constantFrom('sub %r5, 1\njne %r5, 0, l', 'add %r5, -1\njsgt %r5, 0, l', 'sub %r5, 1\njgt %r5, 2, l', 'ja l'),
}).map(({ starts, n, restarts, items, tail }) => {
  const body: string[] = [];
  items.forEach((it, i) => {
    const target = i + 1 + (it.k === 'if' ? it.skip : 0) < items.length ? `i${i + 1 + (it.k === 'if' ? it.skip : 0)}` : 'tail';
    body.push(`i${i}:`, it.k === 'if' ? `${it.text}, ${target}` : it.k === 'restart' ? 'sub %r4, 1\n' + it.text : it.text);
  });
  return [
    'mov %r6, %r1', 'mov %r7, 1', 'mov %r8, 2', 'mov %r9, 3', `mov %r4, ${restarts}`,
    `add %r1, ${starts[0]}`, 'mov %r2, %r10', `add %r2, ${starts[1]}`, `lddwd %r3, ${starts[2]}`,
    'pre:', `mov %r5, ${n}`, 'add %r0, 1',
    'l:', ...body, 'tail:', tail,
    'out:', 'add %r0, %r7', 'xor %r0, %r8', 'add %r0, %r9', 'exit',
  ].join('\n');
});

describe('compiled tier: structured loop copies', function () {
  this.timeout(60_000);
  const cOpts = { dataBase: BASE_DATA, rodataBase: BASE_RODATA, frameSize: 512, maxCallDepth: 8 };

  it('random loops with branches, breaks and restarts: every tier gives the interpreter\'s results and counts', () => {
    let copies = 0, hoisted = 0, total = 0;
    const ends = new Map<string, number>();
    fc.assert(fc.property(arbBranchyLoop, fc.array(fc.record({
      ctx: arbCtx(48),
      budget: fc.oneof(fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: 3000 }), fc.constant(100_000)),
      resumes: fc.constant<Slice[]>([]),
    }), { minLength: 1, maxLength: 3 }), fc.boolean(), (src, plans, countPerPc) => {
      const opts = { text: assemble(src), data: new Uint8Array(120).map((_, i) => i * 7), helpers: makeHelpers(), countPerPc };
      const ref = execPlans(new Vm({ ...opts, tier: 'interp' }), plans);
      assertSame(execPlans(new Vm({ ...opts, tier: 'compiled' }), plans), ref, `compiled\n${src}`);
      assertSame(execPlans(new Vm({ ...opts, tier: 'auto', tierUp: up(1e9, 9) }), plans), ref, `auto mid-run\n${src}`);
      total++;
      const mod = compileToWasm(new Program(opts.text), cOpts);
      if (mod.fastRanges.length || mod.fastLoops.length) copies++; // a loop with no branch is a self-loop
      if (mod.fastRanges.some((r) => r[2] > 0)) hoisted++;
      for (const o of ref) {
        const key = `${(o.fault as { code: number } | null)?.code ?? 'exit'}${(o.insns as number) > 60 ? ' late' : ''}`;
        ends.set(key, (ends.get(key) ?? 0) + 1);
      }
    }), params(RUNS * 2, SEED + 12));
    const seen = JSON.stringify([...ends]);
    assert.ok(copies > 0.9 * total, `${copies}/${total} loops copied ${seen}`);
    assert.ok(hoisted > 0.5 * total, `${hoisted}/${total} loop copies with unchecked accesses`);
    for (const k of ['exit late', '-2 late', '-8 late']) assert.ok((ends.get(k) ?? 0) > 0.03 * total, `${k}: ${seen}`);
  });

  it('walks that end exactly at a region edge, every size, stride and order, with a branch inside', () => {
    // The pass bound is tight when the step comes before the access: off by one, the last pass
    // of the unchecked copy would touch the byte after the region.
    for (const size of ['b', 'h', 'w', 'dw']) {
      const n = { b: 1, h: 2, w: 4, dw: 8 }[size];
      for (const step of [1, 2, 3, 8, -1, -3]) {
        for (const stepFirst of [false, true]) {
          for (let start = 0; start <= 24; start += 1) {
            const access = `ldx${size} %r2, [%r3+0]`, move = `add %r3, ${step}`;
            const src = `lddwd %r3, ${start}
              mov %r4, 40
              l: ${stepFirst ? move : access}
              jgt %r2, 200, +1
              add %r0, %r2
              ${stepFirst ? access : move}
              sub %r4, 1
              jne %r4, 0, l
              exit`;
            const text = assemble(src), data = new Uint8Array(24).map((_, i) => i * 11);
            const run = (tier: 'interp' | 'compiled'): Record<string, unknown> => { const vm = new Vm({ text, data, tier }); return observe(vm, vm.run({ budget: 10_000 })); };
            assertSame([run('compiled')], [run('interp')], `${size} step ${step} ${stepFirst ? 'before' : 'after'} the access, start ${start} (${n}-byte loads)\n${src}`);
          }
        }
      }
    }
  });

  it('overlapping loops: all copies together stay within the program\'s length, same results', () => {
    // Heads h0..h(k−1), then latches: latch i jumps back to hi, so every range holds the others.
    const k = 60;
    const lines = ['mov %r0, 0', 'mov %r1, 0'];
    for (let i = 0; i < k; i++) lines.push(`h${i}: add %r0, 1`);
    for (let i = 0; i < k; i++) lines.push(`add %r1, 1`, `jlt %r1, ${3 * (i + 1)}, h${i}`);
    lines.push('exit');
    const text = assemble(lines.join('\n'));
    const mod = compileToWasm(new Program(text), cOpts);
    const copied = mod.fastRanges.reduce((sum, [a, b]) => sum + b - a, 0);
    assert.ok(mod.fastRanges.length > 0 && copied <= text.length / 8, `${mod.fastRanges.length} copies, ${copied} instructions`);
    for (const budget of [10, 500, 100_000]) {
      const run = (tier: 'interp' | 'compiled'): Record<string, unknown> => { const vm = new Vm({ text, tier, countPerPc: true }); return observe(vm, vm.run({ budget })); };
      assertSame([run('compiled')], [run('interp')], `budget ${budget}`);
    }
  });

  it('which loops get a copy: innermost, no calls, not a self-loop head', () => {
    const copy = (src: string): [number, number][] => compileToWasm(new Program(assemble(src)), cOpts).fastRanges.map(([a, b]) => [a, b]);
    const branchy = 'mov %r3, 9\nl: jgt %r3, 4, +1\nadd %r0, 1\nsub %r3, 1\njne %r3, 0, l\nexit';
    assert.deepEqual(copy(branchy), [[1, 5]]);
    // Accesses through registers moved only by constants run unchecked for counted passes.
    const hoists = (src: string): number[] => compileToWasm(new Program(assemble(src)), cOpts).fastRanges.map((r) => r[2]);
    assert.deepEqual(hoists('mov %r3, 9\nl: ldxb %r2, [%r1]\njgt %r2, 4, +1\nadd %r1, 1\nsub %r3, 1\njne %r3, 0, l\nexit'), [1]);
    assert.deepEqual(hoists('mov %r3, 9\nl: ldxb %r2, [%r1]\njgt %r2, 4, +1\nadd %r1, %r2\nsub %r3, 1\njne %r3, 0, l\nexit'), [0]);
    // An atomic writes its source register (and cmpxchg r0): not an address moved by constants.
    const swap = 'mov %r3, 9\nl: ldxb %r2, [%r1]\njgt %r2, 4, +1\nlock xchg [%r10-16], %r1\nsub %r3, 1\njne %r3, 0, l\nexit';
    assert.deepEqual(hoists(swap), [0]);
    const run = (tier: 'interp' | 'compiled'): Record<string, unknown> => {
      const vm = new Vm({ text: assemble(swap), tier });
      return observe(vm, vm.run({ context: new Uint8Array(16), budget: 1000 }));
    };
    assertSame([run('compiled')], [run('interp')], 'xchg moves the address register');
    assert.deepEqual(copy(branchy.replace('add %r0, 1', 'call 1')), []);
    assert.deepEqual(copy(branchy.replace('add %r0, 1', 'exit')), []);
    // An outer loop around an inner multi-block loop: only the inner one.
    assert.deepEqual(copy(`mov %r4, 3
      o: mov %r3, 9
      l: jgt %r3, 4, +1
        add %r0, 1
        sub %r3, 1
        jne %r3, 0, l
        sub %r4, 1
        jne %r4, 0, o
        exit`), [[2, 6]]);
  });
});

describe('compiled tier: fast self-loops', function () {
  this.timeout(60_000);

  it('random strided loops: every tier gives the interpreter\'s results, counts and faults', () => {
    let fast = 0, memFaultsLate = 0, bails = 0, total = 0;
    const hist = new Map<string, number>();
    fc.assert(fc.property(arbStrideLoop, fc.array(fc.record({
      ctx: arbCtx(48),
      budget: fc.oneof(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 3000 }), fc.constant(100_000)),
      resumes: fc.constant<Slice[]>([]),
    }), { minLength: 1, maxLength: 3 }), fc.boolean(), ({ src, data, rodata }, plans, countPerPc) => {
      const opts = { text: assemble(src), data: new Uint8Array(data).map((_, i) => i * 7), rodata: new Uint8Array(rodata).map((_, i) => 255 - i), helpers: makeHelpers(), countPerPc };
      const ref = execPlans(new Vm({ ...opts, tier: 'interp' }), plans);
      const compiled = new Vm({ ...opts, tier: 'compiled' });
      assertSame(execPlans(compiled, plans), ref, `compiled\n${src}`);
      assertSame(execPlans(new Vm({ ...opts, tier: 'auto', tierUp: up(1e9, 7) }), plans), ref, `auto mid-run\n${src}`);
      total++;
      if (compileToWasm(new Program(opts.text), { dataBase: BASE_DATA, rodataBase: BASE_RODATA, frameSize: 512, maxCallDepth: 8 }).fastLoops.length) fast++;
      for (const o of ref) {
        const f = o.fault as { code: number } | null;
        const key = `${f?.code ?? 'ok'}:${(o.insns as number) > 40 ? 'long' : 'short'}`;
        hist.set(key, (hist.get(key) ?? 0) + 1);
        if (f?.code === FaultCode.ILLEGAL_MEM && (o.insns as number) > 40) memFaultsLate++;
        if (f?.code === FaultCode.OUT_OF_BUDGET && (o.insns as number) > 60) bails++;
      }
    }), params(RUNS * 2, SEED + 11));
    // Not vacuous: most loops get a fast version, and many end by leaving a region or the budget
    // after dozens of iterations.
    assert.ok(fast > 0.6 * total, `${fast}/${total} fast loops ${JSON.stringify([...hist])}`);
    assert.ok(memFaultsLate > 0.05 * total, `${memFaultsLate}/${total} late memory faults ${JSON.stringify([...hist])}`);
    assert.ok(bails > 0.05 * total, `${bails}/${total} late budget ends`);
  });

  it('Fletcher-32\'s inner loop and the sum loop get fast versions that run in groups of iterations', () => {
    const opts = { dataBase: BASE_DATA, rodataBase: BASE_RODATA, frameSize: 512, maxCallDepth: 8 };
    const fl = assemble('mov %r3, 0\nmov %r0, 180\nl: ldxh %r2, [%r1]\nadd %r3, %r2\nadd %r4, %r3\nadd %r1, 2\nsub %r0, 1\njne %r0, 0, l\nexit');
    assert.deepEqual(compileToWasm(new Program(fl), opts).fastLoops, [2]);
    assert.deepEqual(compileToWasm(new Program(fl), opts).fastGroups, [2]);
    const sum = assemble('mov %r0, 0\nmov %r1, 1\nl: add %r0, %r1\nadd %r1, 1\njle %r1, 100, l\nexit');
    assert.deepEqual(compileToWasm(new Program(sum), opts).fastLoops, [2]);
    assert.deepEqual(compileToWasm(new Program(sum), opts).fastGroups, [2]);
    // Groups (emitFastGroups) take the budget once per group and leave counters in place: not
    // when counting per block, nor when a group's offsets from one address would pass 2^31.
    assert.deepEqual(compileToWasm(new Program(fl), { ...opts, countsOffset: 4096 }).fastGroups, []);
    const far = assemble('mov %r0, 3\nl: ldxb %r2, [%r1]\nadd %r1, 0x30000000\nsub %r0, 1\njne %r0, 0, l\nexit');
    assert.deepEqual(compileToWasm(new Program(far), opts).fastLoops, [1]);
    assert.deepEqual(compileToWasm(new Program(far), opts).fastGroups, []);
    // Calls and non-constant moves of an address register keep the checked loop only.
    const calls = assemble('mov %r6, 3\nl: call 1\nsub %r6, 1\njne %r6, 0, l\nexit');
    assert.deepEqual(compileToWasm(new Program(calls), opts).fastLoops, []);
    const moved = assemble('mov %r0, 3\nl: ldxb %r2, [%r1]\nadd %r1, %r2\nsub %r0, 1\njne %r0, 0, l\nexit');
    assert.deepEqual(compileToWasm(new Program(moved), opts).fastLoops, []);
  });

  /**
   * Closing jumps for the group tests (r4 starts at n): counted loops down and up, one whose
   * counter starts at its limit (it runs until the budget or a region ends), counters compared
   * shifted and in 32 bits, an address against an end register.
   */
  const closers = (n: number): string[] => ['sub %r4, 1\njne %r4, 0, l', `add %r4, 1\njne %r4, ${2 * n}, l`, `sub %r4, 1\njne %r4, ${n}, l`,
    'add %r4, -1\njsgt %r4, 0, l', 'sub %r4, 1\njne32 %r4, 0, l', 'jne %r3, %r6, l', 'sub %r4, 1\njgt %r4, 2, l'];
  const CLOSERS = closers(40);

  it('groups of iterations: walks ending at a region edge, every size, stride, order, closing jump and register use', () => {
    let grouped = 0, total = 0;
    for (const size of ['b', 'h', 'w', 'dw']) {
      for (const step of [1, 2, 3, 8, -1, -3, -8]) {
        for (const order of ['step first', 'access first', 'base read', 'store']) {
          for (let start = -2; start <= 26; start++) {
            const closer = CLOSERS[(start + 2) % CLOSERS.length];
            // 'base read': the address register is also read by the ALU, so it moves in place.
            const access = order === 'store' ? `stx${size} [%r3+0], %r0` : `ldx${size} %r2, [%r3+0]`;
            const move = `add %r3, ${step}`;
            const body = order === 'step first' ? [move, access] : order === 'base read' ? [access, 'add %r0, %r3', move] : [access, move];
            const src = [`lddwd %r3, ${start}`, 'mov %r4, 40', 'mov %r6, %r3', `add %r6, ${40 * step}`,
              'l:', ...body, 'add %r0, %r2', closer, 'ldxdw %r1, [%r10-8]', 'exit'].join('\n');
            const text = assemble(src), data = new Uint8Array(24).map((_, i) => i * 11 + 1);
            const run = (tier: 'interp' | 'compiled'): Record<string, unknown> => {
              const vm = new Vm({ text, data, tier });
              return observe(vm, vm.run({ budget: 10_000 }));
            };
            assertSame([run('compiled')], [run('interp')], `${size} step ${step} ${order}, start ${start}\n${src}`);
            total++;
            if (compileToWasm(new Program(text), { dataBase: BASE_DATA, rodataBase: BASE_RODATA, frameSize: 512, maxCallDepth: 8 }).fastGroups.length) grouped++;
          }
        }
      }
    }
    assert.equal(grouped, total, 'every one of these loops runs in groups');
  });

  it('groups of iterations: every budget from 0 to past the end, up and down, loads and stores', () => {
    // 25 passes of 5 instructions: the first checked (it fills the region cache), then groups of
    // 8 while the counter cannot end within one (24 and 16 passes to go), then 8 one at a time.
    const n = 25, last = 5 * n + 12;
    let compared = 0;
    for (const closer of closers(n)) {
      for (const [access, step, start] of [['ldxh %r2, [%r3+0]', 2, 0], ['stxw [%r3-4], %r0', -3, 96], ['ldxb %r2, [%r3+1]', 3, 0]] as const) {
        const src = [`lddwd %r3, ${start}`, `mov %r4, ${n}`, 'mov %r6, %r3', `add %r6, ${n * step}`,
          'l:', access, 'add %r0, %r2', `add %r3, ${step}`, closer, 'exit'].join('\n');
        const text = assemble(src), data = new Uint8Array(96).map((_, i) => i * 5 + 3);
        const vms = { interp: new Vm({ text, data, tier: 'interp' }), compiled: new Vm({ text, data, tier: 'compiled' }) };
        let ended = false;
        for (let budget = 0; budget <= last; budget++) {
          const obs = (tier: 'interp' | 'compiled'): Record<string, unknown> => observe(vms[tier], vms[tier].run({ budget }));
          const ref = obs('interp');
          assertSame([obs('compiled')], [ref], `budget ${budget}\n${src}`);
          if (ref.status === 'exit') ended = true;
          compared++;
        }
        // Every loop but the one whose counter starts at its limit ends within the largest budget.
        assert.equal(ended, !closer.includes(`jne %r4, ${n},`), src);
      }
    }
    assert.equal(compared, closers(n).length * 3 * (last + 1));
  });
});

// ---------------------------------------------------------------------------------------------
// Address arithmetic past 2^31, 2^32 and 2^64. An access's address is the
// 64-bit `reg + off`; a fast loop that built its first address as i64(partial + off) in 32 bits
// sign-extended sums past 2^31 and read a copy of the stack 2^32 below the faulting address.

describe('compiled tier: addresses past 2^31, 2^32 and 2^64', function () {
  this.timeout(60_000);

  /** Compiled and auto (tiering up mid-run) give the interpreter's results, every budget. */
  const sameOnEveryTier = (text: Uint8Array, what: string, opts: Partial<VmOptions> = {}): Record<string, unknown> => {
    const budgets = [...Array.from({ length: 26 }, (_, k) => k), 45, 100, 10_000];
    const go = (tier: Partial<VmOptions>): Record<string, unknown>[] => {
      const vm = new Vm({ text, helpers: makeHelpers(), ...opts, ...tier });
      return budgets.map((budget) => observe(vm, vm.run({ budget, context: new Uint8Array(16), contextWritable: true })));
    };
    const ref = go({ tier: 'interp' });
    assertSame(go({ tier: 'compiled' }), ref, `compiled: ${what}`);
    assertSame(go({ tier: 'auto', tierUp: up(1e9, 6) }), ref, `auto mid-run: ${what}`);
    return ref.at(-1)!;
  };
  const fault = (o: Record<string, unknown>): unknown => {
    const f = o.fault as { code: number; pc: number; detail: { address?: string } } | null;
    return f && { code: f.code, pc: f.pc, address: f.detail.address, insns: o.insns };
  };

  it('the reported program: fault −2 at pc 5, 2^32 above the stack, on every tier', () => {
    // ldxdw r5,[r10-8]; lddw r1,0xafff8002; mov r2,3; l: add r1,0x7fffffff; ldxb r0,[r1+0x7fff];
    // sub r1,0x7fffffff; sub r2,1; jne r2,0,l; mov r0,42; exit
    const text = hexBytes('79a5f8ff00000000180100000280ffaf0000000000000000b70200000300000007010000ffffff7f7110ff7f0000000017010000' +
      'ffffff7f17020000010000005502fbff00000000b70000002a0000009500000000000000');
    const last = sameOnEveryTier(text, 'address past 2^32');
    assert.deepEqual(fault(last), { code: FaultCode.ILLEGAL_MEM, pc: 5, address: '0x130000000', insns: 5 });
  });

  /** `setup`, then `body` run `n` times (r2 counts), then exit with 42. */
  const counted = (setup: string, body: string, n = 3): string => `${setup}\nmov %r2, ${n}\nl: ${body}\nsub %r2, 1\njne %r2, 0, l\nmov %r0, 42\nexit`;
  const touchStack = 'ldxdw %r5, [%r10-8]'; // the stack in the read cache when the loop starts
  /** Hand-made variants and the pc where each faults (null: it exits). */
  const variants: { what: string; src: string; pc: number | null }[] = [
    { what: '2^32 below the stack: a negative detour and offset', pc: 5,
      src: counted(`${touchStack}\nlddw %r1, 0xffffffffb0008007`, 'sub %r1, 0x7fffffff\nldxb %r0, [%r1-32768]\nadd %r1, 0x7fffffff') },
    { what: 'a store 2^32 above the stack', pc: 5,
      src: counted('stxdw [%r10-8], %r5\nlddw %r1, 0xafff8002', 'add %r1, 0x7fffffff\nstb [%r1+0x7fff], 1\nsub %r1, 0x7fffffff') },
    { what: 'a strided walk 2^32 above the stack, loads and stores', pc: 6,
      src: counted(`${touchStack}\nstxdw [%r10-8], %r5\nlddw %r1, 0xafff8012`, 'add %r1, 0x7fffffff\nldxb %r0, [%r1+0x7fff]\nstb [%r1+0x7ffe], 3\nsub %r1, 0x7ffffffc', 6) },
    { what: 'the same through a loop with a branch (a structured loop copy)', pc: 6,
      src: counted(`${touchStack}\nlddw %r1, 0xafff8002`, 'add %r1, 0x7fffffff\njset %r2, 4, +1\nldxb %r0, [%r1+0x7fff]\nsub %r1, 0x7fffffff') },
    { what: 'an atomic add 2^32 above .data', pc: 9,
      src: counted('lddwd %r1, 0\nldxb %r0, [%r1+0]\nstb [%r1+0], 1\nlddw %r1, 0x9fff8002\nmov %r3, 5', 'add %r1, 0x7fffffff\nlock add [%r1+0x7fff], %r3\nsub %r1, 0x7fffffff') },
    { what: 'a register past 2^64 that wraps onto the stack: no fault', pc: null,
      src: counted(`${touchStack}\nlddw %r1, 0xffffffffafff800a`, 'add %r1, 0x7fffffff\nldxb %r0, [%r1+0x7fff]\nsub %r1, 0x7fffffff') },
    { what: 'a 32-bit step wraps past 2^32 onto the stack: no fault', pc: null,
      src: counted(`${touchStack}\nlddw %r1, 0xf0000000`, 'add32 %r1, 0x40000010\nldxb %r0, [%r1+0]\nsub32 %r1, 0x40000010') },
    { what: 'the same step in 64 bits: 2^32 above the stack', pc: 5,
      src: counted(`${touchStack}\nlddw %r1, 0xf0000000`, 'add %r1, 0x40000010\nldxb %r0, [%r1+0]\nsub %r1, 0x40000010') },
  ];
  for (const v of variants) {
    it(v.what, () => {
      const last = sameOnEveryTier(assemble(v.src), v.what, { data: new Uint8Array(16) });
      // Not vacuous: a fault where expected, at a copy 2^32 away of a mapped address.
      const f = fault(last) as { code: number; pc: number; address: string } | null;
      if (v.pc === null) { assert.equal(f, null, JSON.stringify(last)); return; }
      assert.deepEqual({ code: f?.code, pc: f?.pc }, { code: FaultCode.ILLEGAL_MEM, pc: v.pc }, JSON.stringify(last));
      const a = BigInt(f!.address);
      const vm = new Vm({ text: assemble(v.src), data: new Uint8Array(16) });
      assert.ok((a >> 32n === 1n || a >> 32n === 0xffffffffn) && vm.memory.lookup(Number(a & 0xffffffffn), 1, 1) >= 0, f!.address);
    });
  }

  it('walks aimed at region ends and their copies 2^32 and 2^63 away: every tier gives the interpreter\'s results', () => {
    // Walk-heavy programs (test/util/program-gen.ts, arbWalkStart): near and far walks, self-loops
    // and loops with branches, with the fuzzer's canary and scratch regions mapped as well.
    const budget = fc.oneof(fc.integer({ min: 0, max: 400 }), fc.constant(100_000));
    const hosted = (vm: Vm): Vm => { vm.mapRegion('canary', new Uint8Array(24).fill(7), false); vm.mapRegion('scratch', 32, true); return vm; };
    let folded = 0, runs = 0;
    const arb = arbProgram(WALK_HEAVY).chain((g) => arbPlans(g, budget, 2).map((plans) => ({ g, plans })));
    fc.assert(fc.property(arb, fc.integer({ min: 0, max: 60 }), ({ g, plans }, midRun) => {
      const interp = hosted(vmFor(g, { tier: 'interp' }));
      const ref = execPlans(interp, plans);
      // Compiled from the start, or (a quarter of the time) tiering up after midRun instructions.
      const other = midRun < 45 ? { tier: 'compiled' as const } : { tier: 'auto' as const, tierUp: up(1e9, midRun - 44) };
      assertSame(execPlans(hosted(vmFor(g, other)), plans), ref, JSON.stringify(other), g);
      runs++;
      // A fault 2^32 away from a mapped address: the copies a 32-bit truncation would fold back.
      for (const o of ref) {
        const a = (o.fault as { detail: { address?: string } } | null)?.detail.address;
        if (a === undefined) continue;
        const v = BigInt(a);
        if ((v >> 32n === 1n || v >> 32n === 0xffffffffn) && interp.memory.lookup(Number(v & 0xffffffffn), 1, 1) >= 0) folded++;
      }
    }), params(RUNS, SEED + 21));
    assert.ok(folded > 0.1 * runs, `${folded} faults at a copy of a mapped address 2^32 away in ${runs} programs`);
  });
});

describe('compiled tier: defence in depth', () => {
  it('an engine trap in compiled code is a fault, never an exception, and the Vm falls back to the interpreter', () => {
    const vm = new Vm({ text: assemble('mov %r0, 7\nexit'), tier: 'compiled' });
    assert.equal(vm.tier.current, 'compiled');
    // Simulate what the module's checks make impossible: the engine trapping mid-run.
    (vm as unknown as { compiled: { runFn: () => number } }).compiled.runFn = () => { throw new Error('memory access out of bounds'); };
    const r = vm.run();
    assert.equal(r.status, 'fault');
    assert.equal(r.fault?.code, -1);
    assert.equal(vm.tier.current, 'interp');
    assert.match(vm.tier.reason ?? '', /trapped \(memory access out of bounds\)/);
    const again = vm.run();
    assert.equal(again.status, 'exit');
    assert.equal(again.r0, 7n);
  });
});
