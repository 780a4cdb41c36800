/**
 * The interpreter counts budgets in chunks (BUDGET_CHUNK) so that its counters stay small
 * integers: a run must not be able to tell. With the chunk lowered to a few instructions, every
 * budget and taken-branch budget gives the same status, registers, pc and counts as one chunk.
 */
import { strict as assert } from 'node:assert';
import { assemble } from '../../vm/assembler';
import { Memory, PERM_RW } from '../../vm/memory';
import { Program } from '../../vm/program';
import { Machine, STATUS_EXIT, execute } from '../../vm/interpreter';

const LOOP = new Program(assemble(`
  mov %r0, 0
  mov %r1, 0
  loop: add %r1, 1
  add %r0, %r1
  jlt %r1, 20, loop
  call 1
  exit`));

function run(chunk: number | undefined, budget: number, branches: number): Record<string, number> {
  const mem = new Memory();
  mem.map('stack', 512, PERM_RW);
  let calls = 0;
  const m = new Machine(LOOP, mem, (mm) => { calls++; mm.lo[0] = mm.budget; mm.hi[0] = mm.branchBudget; return STATUS_EXIT; },
    { divZeroFaults: false, frameSize: 512, maxCallDepth: 8 });
  if (chunk !== undefined) m.budgetChunk = chunk;
  const status = execute(m, budget, branches);
  return { status, r0: m.lo[0], r0hi: m.hi[0], r1: m.lo[1], pc: m.pc, executed: m.executed, budget: m.budget, branches: m.branchBudget, fault: m.faultKind, calls };
}

describe('interpreter: budgets counted in chunks', () => {
  it('any budget and branch budget gives the same run with chunks of 1, 2, 3 and 7', () => {
    let compared = 0;
    for (const branches of [0, 1, 5, 18, 19, 20, 40, Number.MAX_SAFE_INTEGER]) {
      for (let budget = 0; budget <= 70; budget++) {
        const whole = run(undefined, budget, branches);
        for (const chunk of [1, 2, 3, 7]) {
          assert.deepEqual(run(chunk, budget, branches), whole, `budget ${budget}, branches ${branches}, chunk ${chunk}`);
          compared++;
        }
      }
    }
    assert.equal(compared, 8 * 71 * 4);
    // The loop finishes within the largest budgets (a comparison of faults only would prove little).
    assert.equal(run(3, 70, Number.MAX_SAFE_INTEGER).status, STATUS_EXIT);
  });
});
