/**
 * vm/tracer: a traced run ends exactly as the same run untraced (status, r0, instruction count,
 * fault), has one step per executed instruction (a fault adds its faulting instruction), and each
 * step's registers are the machine's after that instruction. Random verified programs (seeded;
 * FC_SEED / FC_RUNS as elsewhere) and a few hand-written ones.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { assemble } from '../../vm/assembler';
import { FaultCode } from '../../vm/errors';
import { traceRun } from '../../vm/tracer';
import { Vm, type VmOptions } from '../../vm/vm';
import { arbProgram, makeHelpers, type GenProgram } from '../util/program-gen';

const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 0x7ace;
const RUNS = Math.min(Number(process.env.FC_RUNS ?? 150), 150);

function vmFor(g: GenProgram, opts: Partial<VmOptions> = {}): Vm {
  return new Vm({ text: g.text, data: g.data.slice(), rodata: g.rodata, helpers: makeHelpers(), maxCallDepth: g.sizes.maxCallDepth, tier: 'interp', ...opts });
}

describe('vm/tracer: single-step traces', () => {
  it('a traced run ends as the untraced run, one step per instruction (random programs)', () => {
    fc.assert(fc.property(arbProgram({ maxItems: 6 }), fc.integer({ min: 1, max: 3000 }), (g, budget) => {
      const ctx = new Uint8Array(16).map((_, i) => i * 7);
      const plain = vmFor(g, { budget, countPerPc: true }).run({ context: ctx });
      const t = traceRun(vmFor(g, { budget }), { context: ctx }, 100_000);
      assert.equal(t.result.status, plain.status);
      assert.equal(t.result.r0, plain.r0);
      assert.equal(t.result.totalInsns, plain.totalInsns);
      assert.equal(t.result.fault?.message, plain.fault?.message);
      assert.equal(t.truncated, false);
      // A budget fault stops before its instruction: the trace shows where it stopped as one more step.
      const budgetStop = plain.fault?.code === FaultCode.OUT_OF_BUDGET && /instruction budget/.test(plain.fault.reason) ? 1 : 0;
      assert.equal(t.steps.length, plain.totalInsns + budgetStop);
      // The steps visit exactly the instructions the untraced run counted per pc.
      const seen = new Int32Array(g.text.length / 8);
      t.steps.slice(0, plain.totalInsns).forEach((st) => seen[st.pc]++);
      assert.deepEqual([...seen], [...plain.pcCounts!]);
      if (plain.status === 'exit') assert.equal(t.steps[t.steps.length - 1].regs[0], plain.r0);
    }), { numRuns: RUNS, seed: SEED, endOnFailure: true });
  });

  it('records the registers after every step and which ones changed', () => {
    const vm = new Vm({ text: assemble('mov %r0, 5\nmov %r3, 7\nadd %r0, %r3\nexit'), tier: 'interp' });
    const t = traceRun(vm);
    assert.deepEqual(t.steps.map((s) => s.pc), [0, 1, 2, 3]);
    assert.deepEqual(t.steps.map((s) => s.changed), [[0], [3], [0], []]);
    assert.deepEqual(t.steps.map((s) => s.regs[0]), [5n, 5n, 12n, 12n]);
    assert.equal(t.steps[2].text, 'add %r0, %r3');
    assert.equal(t.initial[0], 0n);
    assert.equal(t.initial[10], BigInt(vm.memory.region('stack')!.base + vm.memory.region('stack')!.size));
    assert.equal(t.result.r0, 12n);
  });

  it('ends on the faulting instruction, with r1 pointing at the context from the start', () => {
    const vm = new Vm({ text: assemble('ldxw %r2, [%r1]\nmov %r4, 0x10\nstw [%r4], 42\nexit'), tier: 'interp' });
    const t = traceRun(vm, { context: Uint8Array.of(9, 0, 0, 0) });
    assert.equal(t.initial[1], BigInt(vm.memory.region('context')!.base));
    assert.equal(t.result.status, 'fault');
    assert.equal(t.result.fault?.code, FaultCode.ILLEGAL_MEM);
    assert.deepEqual(t.steps.map((s) => s.pc), [0, 1, 2]);
    assert.equal(t.steps[0].regs[2], 9n);
  });

  it('stops recording at maxSteps but still runs to the real end (riot-2022 branch budget)', () => {
    const src = 'mov %r0, 0\nl: add %r0, 1\njlt %r0, 300, l\nexit';
    const plain = new Vm({ text: assemble(src), profile: 'riot-2022', tier: 'interp' }).run();
    const t = traceRun(new Vm({ text: assemble(src), profile: 'riot-2022', tier: 'interp' }), {}, 50);
    assert.equal(t.steps.length, 50);
    assert.equal(t.truncated, true);
    assert.equal(t.result.status, 'fault');
    assert.equal(t.result.fault?.reason, 'taken-branch budget of 200 exhausted');
    assert.equal(t.result.totalInsns, plain.totalInsns);
  });
});
