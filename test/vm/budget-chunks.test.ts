/**
 * Two interpreter shortcuts a run must not be able to tell from running one instruction at a
 * time: budgets counted in chunks (BUDGET_CHUNK) so that its counters stay small integers, and
 * fused pairs (a counter update and its loop jump in one dispatch). For every budget and taken-
 * branch budget, with the chunk lowered to a few instructions or fusion off, the status,
 * registers, pc, fault, remaining budgets, per-pc profile and the budgets a helper sees are equal.
 */
import { strict as assert } from 'node:assert';
import { assemble } from '../../vm/assembler';
import { Memory, PERM_RW } from '../../vm/memory';
import { Program } from '../../vm/program';
import { FaultKind, Fused, Machine, STATUS_EXIT, STATUS_FAULT, execute } from '../../vm/interpreter';

// Every fused pair, each loop's jump also entered directly (a jump into the middle of a pair).
const PAIRS = new Program(assemble(`
  mov %r0, 0
  mov %r1, 0
  mov %r2, 7
  ja first
  l1: add %r1, 1
  first: jlt %r1, 5, l1
  l2: add %r1, 2
  jne %r1, 13, l2
  l3: add %r1, 1
  jgt %r1, 14, out3
  ja l3
  out3: sub %r2, 1
  jne %r2, 0, out3
  l4: sub %r1, 1
  jlt %r1, 3, out4
  ja l4
  out4: sub %r1, 1
  jgt %r1, 0, out4
  l5: add %r0, %r2
  add %r2, 1
  add %r0, %r2
  jne %r2, 4, l5
  l6: add %r2, 1
  add %r0, %r2
  jlt %r2, 9, l6
  l7: sub %r2, 1
  add %r0, %r2
  jgt %r2, 2, l7
  call 1
  exit`));

// Both fused triples (the sum loop's add, add, jlt and Fletcher-32's add, sub, jne), each also
// entered at its pair (i + 1) and at its jump (i + 2); more than riot-2022's 200 taken branches.
const TRIPLES = new Program(assemble(`
  mov %r0, 0
  mov %r1, 0
  mov %r3, 130
  ja first
  s: add %r1, 1
  first: add %r0, %r1
  jlt %r1, 120, s
  ja jump
  f: add %r4, 2
  sub %r3, 1
  jump: jne %r3, 0, f
  mov %r3, 5
  ja mid
  g: add %r4, 3
  mid: sub %r3, 1
  jne %r3, 0, g
  mov %r2, %r4
  call 1
  exit`));

const LOOP = new Program(assemble(`
  mov %r0, 0
  mov %r1, 0
  loop: add %r1, 1
  add %r0, %r1
  jlt %r1, 20, loop
  call 1
  exit`));

function run(chunk: number | undefined, budget: number, branches: number, program = LOOP, fuse = true): Record<string, number | string> {
  const mem = new Memory();
  mem.map('stack', 512, PERM_RW);
  let calls = 0;
  const m = new Machine(program, mem, (mm) => { calls++; mm.lo[0] = mm.budget; mm.hi[0] = mm.branchBudget; return STATUS_EXIT; },
    { divZeroFaults: false, frameSize: 512, maxCallDepth: 8, fuse });
  m.counts = new Int32Array(program.length + 1);
  m.taken = new Int32Array(program.length + 1);
  if (chunk !== undefined) m.budgetChunk = chunk;
  const status = execute(m, budget, branches);
  return {
    status, r0: m.lo[0], r0hi: m.hi[0], r1: m.lo[1], r2: m.lo[2], pc: m.pc, executed: m.executed, budget: m.budget,
    branches: m.branchBudget, fault: m.faultKind, calls, counts: m.counts.join(), taken: m.taken.join(),
  };
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

  it('fused pairs run exactly as their two instructions, whatever the budgets, jumped into or not', () => {
    const whole = run(undefined, 100_000, Number.MAX_SAFE_INTEGER, PAIRS, false);
    assert.equal(whole.status, STATUS_EXIT);
    const insns = Number(whole.executed);
    let compared = 0;
    for (const branches of [0, 1, 2, 3, 7, 20, 40, Number.MAX_SAFE_INTEGER]) {
      for (let budget = 0; budget <= insns + 1; budget++) {
        const plain = run(undefined, budget, branches, PAIRS, false);
        assert.deepEqual(run(undefined, budget, branches, PAIRS, true), plain, `budget ${budget}, branches ${branches}`);
        assert.deepEqual(run(2, budget, branches, PAIRS, true), plain, `budget ${budget}, branches ${branches}, chunk 2`);
        compared++;
      }
    }
    assert.equal(compared, 8 * (insns + 2));
  });

  it('fused triples run exactly as their three instructions: every budget, chunk and branch budget, riot-2022\'s 200 included', () => {
    const fused = new Machine(TRIPLES, new Memory(), () => STATUS_EXIT, { divZeroFaults: false, frameSize: 512, maxCallDepth: 8 });
    const at = (pc: number): number => fused.code[2 * pc] & 0xff;
    assert.deepEqual([at(4), at(8), at(13)], [Fused.ADD64_IMM_ADD64_REG_JLT_IMM, Fused.ADD64_IMM_SUB64_IMM_JNE_IMM, Fused.ADD64_IMM_SUB64_IMM_JNE_IMM]);
    assert.deepEqual([at(5), at(9), at(14)], [Fused.ADD64_REG_JLT_IMM, Fused.SUB64_IMM_JNE_IMM, Fused.SUB64_IMM_JNE_IMM]);
    const whole = run(undefined, 100_000, Number.MAX_SAFE_INTEGER, TRIPLES, false);
    assert.equal(whole.status, STATUS_EXIT);
    assert.equal(whole.r2, 2 * 130 + 3 * 4); // the add before each loop's jump ran every pass
    const riot = run(undefined, 100_000, 200, TRIPLES, true);
    assert.deepEqual([riot.status, riot.fault], [STATUS_FAULT, FaultKind.BranchBudget]);
    const insns = Number(whole.executed);
    let compared = 0;
    for (const branches of [0, 1, 2, 3, 120, 199, 200, 201, 253, Number.MAX_SAFE_INTEGER]) {
      for (let budget = 0; budget <= insns + 1; budget++) {
        const plain = run(undefined, budget, branches, TRIPLES, false);
        assert.deepEqual(run(undefined, budget, branches, TRIPLES, true), plain, `budget ${budget}, branches ${branches}`);
        assert.deepEqual(run(2, budget, branches, TRIPLES, true), plain, `budget ${budget}, branches ${branches}, chunk 2`);
        assert.deepEqual(run(3, budget, branches, TRIPLES, true), plain, `budget ${budget}, branches ${branches}, chunk 3`);
        compared++;
      }
    }
    assert.equal(compared, 10 * (insns + 2));
  });
});
