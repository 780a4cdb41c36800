/**
 * What an instruction budget means on a board's real MCU, for the editor's warning:
 * the budget's run time through the cost model (cost-model.ts, at the cheapest and the dearest
 * instruction class), and a warning when no run on that board could sensibly use it:
 *
 *  - time: even at the cheapest class the budget takes longer than `maxSeconds` (default 10 s)
 *    on the MCU. A container runs inside a RIOT thread (or a hook); one that needs seconds stalls
 *    the board, and in the emulator it spins for as long before its budget stops it.
 *  - riot-2022: RIOT's VM stops every run after 200 taken branches. Between two taken branches a
 *    run moves forward only, so it executes at most (200 + 1) × (program length) instructions; a
 *    larger budget is never used. The program length is the verified program's when known, else
 *    the most a storage slot can hold. The bound is always told (`note`); it warns only for a
 *    budget raised above the default, which every container gets without asking.
 */
import { DEFAULT_BUDGET, RIOT_BRANCH_BUDGET } from '../../vm/vm';
import type { Profile } from '../../vm/verifier';
import { COST_COLUMN_LABEL, calibratedFigures, formatUs } from './cost-model';
import { getProfile } from './profiles';

export const DEFAULT_MAX_SECONDS = 10;

export interface BudgetAdvice {
  budget: number;
  board: string;
  vmProfile: Profile;
  /** Estimated MCU time of the whole budget at the cheapest and the dearest instruction class (µs). */
  minUs: number;
  maxUs: number;
  /** "≈74.3 min – 2.3 h on Cortex-M4 @ 64 MHz (estimated)". */
  estimate: string;
  /** The most instructions one run can execute (riot-2022), when bounded, and that in words. */
  maxRunInsns?: number;
  note?: string;
  /** Why this budget is more than the board could ever run, when it is. */
  warning?: string;
}

const fmtInt = (n: number): string => Math.floor(n).toLocaleString('en-US');

function formatDuration(us: number): string {
  const s = us / 1e6;
  if (s >= 7200) return `${(s / 3600).toFixed(1)} h`;
  if (s >= 120) return `${(s / 60).toFixed(1)} min`;
  if (s >= 1) return `${s.toFixed(s >= 10 ? 0 : 1)} s`;
  return formatUs(us);
}

/**
 * Advice for `budget` on board profile `board`; `vmProfile` defaults to the board's (riot-2022 on
 * MCUs, rfc9669 on native). Throws RangeError for an unknown board or a budget that is not a
 * whole number ≥ 0 (the editor shows that message).
 */
export function budgetAdvice(opts: { board: string; budget: number; vmProfile?: Profile; programInsns?: number; maxSeconds?: number }): BudgetAdvice {
  const p = getProfile(opts.board);
  const { budget } = opts;
  if (!Number.isSafeInteger(budget) || budget < 0) throw new RangeError(`the budget must be a whole number of instructions ≥ 0 (got ${budget})`);
  const vmProfile = opts.vmProfile ?? (p.costColumn === 'native' ? 'rfc9669' : 'riot-2022');
  const costs = Object.values(calibratedFigures(p.costColumn));
  const minUs = budget * Math.min(...costs), maxUs = budget * Math.max(...costs);
  const mcu = COST_COLUMN_LABEL[p.costColumn];
  const estimate = `≈${formatDuration(minUs)}${maxUs > minUs ? ` – ${formatDuration(maxUs)}` : ''} on ${mcu} (estimated)`;
  const advice: BudgetAdvice = { budget, board: p.name, vmProfile, minUs, maxUs, estimate };
  const warnings: string[] = [];
  if (vmProfile === 'riot-2022') {
    const length = opts.programInsns !== undefined && opts.programInsns > 0 ? opts.programInsns : Math.floor(p.slots.size / 8);
    advice.maxRunInsns = (RIOT_BRANCH_BUDGET + 1) * length;
    const of = opts.programInsns !== undefined && opts.programInsns > 0 ? `this ${fmtInt(length)}-instruction program` : `a program filling a ${p.slots.size} B slot (${fmtInt(length)} instructions)`;
    advice.note = `riot-2022 stops a run after ${RIOT_BRANCH_BUDGET} taken branches, so ${of} runs at most ${fmtInt(advice.maxRunInsns)} instructions`;
    if (budget > advice.maxRunInsns && budget > DEFAULT_BUDGET) warnings.push(`${advice.note}: a budget of ${fmtInt(budget)} is never used`);
  }
  const maxSeconds = opts.maxSeconds ?? DEFAULT_MAX_SECONDS;
  if (minUs > maxSeconds * 1e6) {
    const fits = Math.floor((maxSeconds * 1e6) / Math.max(...costs));
    warnings.push(`a budget of ${fmtInt(budget)} instructions takes ${estimate.replace(' (estimated)', '')} (estimated), more than ${maxSeconds} s: ` +
      `no run on ${p.name} should take that long; up to ${fmtInt(fits)} stays within ${maxSeconds} s`);
  }
  if (warnings.length) advice.warning = warnings.join('; ');
  return advice;
}
