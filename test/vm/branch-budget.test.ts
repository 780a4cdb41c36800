/**
 * The riot-2022 taken-branch budget check (vm/branch-budget): loops whose trip count
 * is proven within 200 pass, others are named. The oracle is the VM itself under riot-2022: a
 * program the check passes must never fault −8 on its branch budget, and counted loops it flags
 * as over the budget must fault.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { assemble } from '../../vm/assembler';
import { branchBudgetWarnings, loopsOverBudget } from '../../vm/branch-budget';
import { Program } from '../../vm/program';
import { RIOT_BRANCH_BUDGET, Vm } from '../../vm/vm';

const program = (src: string): Program => new Program(assemble(src));
/** r2 counts from `from` by `step` while `test` holds (a conditional branch back). */
const counted = (from: number, step: number, test: string, limit: number): string =>
  `mov %r0, 0\nmov %r2, ${from}\nloop:\nadd %r0, 1\nadd %r2, ${step}\n${test} %r2, ${limit}, loop\nexit`;
/** clang's -mcpu=v1 shape: a 32-bit counter truncated by shifts, the exit test forward, `ja` back. */
const v1Shape = (n: number): string =>
  `mov %r3, 0\nmov %r2, ${n}\nloop:\nadd %r3, 1\nadd %r2, -1\nmov %r4, %r2\nlsh %r4, 32\nrsh %r4, 32\njeq %r4, 0, +1\nja loop\nexit`;

function faultsOnBranches(src: string): boolean {
  const r = new Vm({ text: assemble(src), profile: 'riot-2022', budget: 1_000_000 }).run({});
  return r.status === 'fault' && r.fault?.code === -8 && /taken-branch/.test(r.fault.message);
}

describe('vm/branch-budget: loops against riot-2022\'s 200 taken branches', () => {
  it('counted loops: 100 passes, 300 is named, both shapes', () => {
    assert.deepEqual(loopsOverBudget(program(counted(0, 1, 'jlt', 100)), RIOT_BRANCH_BUDGET), []);
    const over = loopsOverBudget(program(counted(0, 1, 'jlt', 300)), RIOT_BRANCH_BUDGET);
    assert.equal(over.length, 1);
    assert.equal(over[0].pc, 4);
    assert.equal(over[0].head, 2);
    assert.match(over[0].reason, /more than 200/);
    assert.deepEqual(loopsOverBudget(program(v1Shape(150)), RIOT_BRANCH_BUDGET), []);
    assert.equal(loopsOverBudget(program(v1Shape(300)), RIOT_BRANCH_BUDGET).length, 1);
  });

  it('a loop bounded by the input, or entered in the middle, is not provable', () => {
    const input = loopsOverBudget(program('ldxdw %r3, [%r1]\nmov %r2, 0\nloop:\nadd %r2, 1\njlt %r2, %r3, loop\nexit'), RIOT_BRANCH_BUDGET);
    assert.equal(input.length, 1);
    assert.match(input[0].reason, /not known before the run/);
    const middle = loopsOverBudget(program('mov %r2, 0\nja in\nloop:\nadd %r2, 1\nin:\nadd %r2, 1\njlt %r2, 10, loop\nexit'), RIOT_BRANCH_BUDGET);
    assert.equal(middle.length, 1);
    assert.match(middle[0].reason, /entered in the middle/);
  });

  it('the warning names the line, the budget and rfc9669', () => {
    const [w] = branchBudgetWarnings(program(counted(0, 1, 'jlt', 300)), RIOT_BRANCH_BUDGET, (pc) => `sum.c:${pc + 10}`);
    assert.match(w, /^riot-2022 allows 200 taken branches per run and the loop at sum\.c:14 \(pc 4\) may need more/);
    assert.match(w, /fault −8 \(out of budget\)/);
    assert.match(w, /rfc9669/);
  });

  it('agrees with the VM: a passed loop never runs out of branches, a counted loop named over the budget does', () => {
    const tests = ['jlt', 'jle', 'jne', 'jgt', 'jsgt', 'jslt', 'jge', 'jsge'];
    fc.assert(fc.property(
      fc.integer({ min: -50, max: 450 }), fc.constantFrom(-3, -1, 1, 2, 5), fc.constantFrom(...tests), fc.integer({ min: -50, max: 450 }),
      (from, step, test, limit) => {
        const src = counted(from, step, test, limit);
        const flagged = loopsOverBudget(program(src), RIOT_BRANCH_BUDGET).length > 0;
        assert.equal(flagged, faultsOnBranches(src), src);
      },
    ), { numRuns: 300 });
    fc.assert(fc.property(fc.integer({ min: 1, max: 400 }), (n) => {
      const src = v1Shape(n);
      assert.equal(loopsOverBudget(program(src), RIOT_BRANCH_BUDGET).length > 0, faultsOnBranches(src), src);
    }), { numRuns: 100 });
  });
});
