/**
 * The edit dialog's budget advice (lib/board/budget-advice.ts): the budget's time on the
 * board's MCU from the cost model, and a warning, saying which limit, when no run on that board
 * could use it: longer than 10 s even at the cheapest instruction class, or (riot-2022) more than
 * 201 × the program's length, the most a run can execute before its 200th taken branch.
 */
import * as assert from 'node:assert/strict';
import { budgetAdvice } from '../../../lib/board/budget-advice';
import { CALIBRATION, COST_TABLE, calibratedFigures } from '../../../lib/board/cost-model';
import { Board, VirtualClock } from '../../../lib/board/board';

describe('board/budget-advice', () => {
  it('turns a budget into MCU time with the board\'s cost column', () => {
    const a = budgetAdvice({ board: 'nrf52840dk', budget: 1_000_000 });
    // The calibrated figures: the per-class table (ARCHITECTURE.md § Boards and the cost model) times the board's factor.
    const cm4 = Object.values(calibratedFigures('cortex-m4'));
    assert.deepEqual(cm4, Object.values(COST_TABLE['cortex-m4']).map((f) => f * CALIBRATION['cortex-m4'].factor));
    assert.equal(a.minUs, 1e6 * Math.min(...cm4));
    assert.equal(a.maxUs, 1e6 * Math.max(...cm4));
    assert.match(a.estimate, /^≈859\.9 ms – 4\.0 s on Cortex-M4 @ 64 MHz \(estimated\)$/);
    assert.equal(a.vmProfile, 'riot-2022');
    assert.equal(a.warning, undefined, 'the default budget never warns');
    assert.match(a.note!, /at most 51,456 instructions/); // 201 × 2048 B / 8
    assert.equal(budgetAdvice({ board: 'native', budget: 1e6 }).vmProfile, 'rfc9669');
  });

  it('warns when even the cheapest instructions take more than 10 s on the MCU, with a budget that fits', () => {
    const native = budgetAdvice({ board: 'native', budget: 1e10 });
    assert.match(native.warning!, /^a budget of 10,000,000,000 instructions takes ≈50 s on host \(native\) \(estimated\), more than 10 s: no run on native should take that long; up to 2,000,000,000 stays within 10 s$/);
    assert.equal(budgetAdvice({ board: 'native', budget: 2e9 }).warning, undefined);
    const esp = budgetAdvice({ board: 'esp32-wroom-32', budget: 3e9, vmProfile: 'rfc9669' });
    const espFig = Object.values(calibratedFigures('esp32'));
    const fits = Math.floor(10e6 / Math.max(...espFig)).toLocaleString('en-US');
    assert.match(esp.warning!, /takes ≈34\.7 min – 2\.0 h on ESP32 @ 64 MHz \(estimated\), more than 10 s: no run on esp32-wroom-32 should take that long/);
    assert.ok(esp.warning!.includes(`up to ${fits} stays`), esp.warning);
    assert.equal(esp.note, undefined);
  });

  it('riot-2022: a raised budget above 201 × the program length is never used (and says so)', () => {
    const a = budgetAdvice({ board: 'nrf52840dk', budget: 5_000_000, programInsns: 40 });
    assert.equal(a.maxRunInsns, 8040);
    assert.match(a.warning!, /^riot-2022 stops a run after 200 taken branches, so this 40-instruction program runs at most 8,040 instructions: a budget of 5,000,000 is never used$/);
    assert.equal(budgetAdvice({ board: 'nrf52840dk', budget: 5_000_000, vmProfile: 'rfc9669' }).warning, undefined);
    // Both limits at once.
    assert.match(budgetAdvice({ board: 'gd32vf103', budget: 1e9 }).warning!, /never used; a budget of 1,000,000,000 instructions takes/);
  });

  it('the riot-2022 bound holds: a worst-case program stops within it', () => {
    // Every instruction on the way back is a taken jump's target: a long straight run, then one jump.
    const n = 50;
    // (An exit after the jump: riot-2022, as RIOT, refuses a program whose last instruction is not exit.)
    const asm = ['l:', ...Array.from({ length: n - 1 }, () => 'add %r0, 1'), 'ja l', 'exit'].join('\n');
    const board = new Board({ profile: 'nrf52840dk', clock: new VirtualClock() });
    board.install({ id: 'w', hook: 'flow', image: asm, budget: 1e9 });
    const r = board.runFlow('w', new Uint8Array(0));
    assert.match(r.fault!.message, /taken-branch budget/);
    assert.ok(r.insns <= budgetAdvice({ board: 'nrf52840dk', budget: 1e9, programInsns: n }).maxRunInsns!);
    assert.equal(r.insns, 201 * n);
  });

  it('refuses a budget that is not a whole number, and an unknown board', () => {
    assert.throws(() => budgetAdvice({ board: 'native', budget: 1.5 }), /whole number of instructions/);
    assert.throws(() => budgetAdvice({ board: 'nope', budget: 1 }), /unknown board profile "nope"/);
  });
});
