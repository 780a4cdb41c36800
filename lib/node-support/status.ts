/**
 * Node status of a container node, exactly DESIGN §12's vocabulary:
 *
 * | state        | status                                                           |
 * |--------------|------------------------------------------------------------------|
 * | no image     | grey ring "no image"                                             |
 * | verifying    | yellow ring "verifying"                                          |
 * | rejected     | red dot "rejected: <rule> at pc N"                               |
 * | attached     | green dot "<hook> · N insns"                                     |
 * | ran          | green dot "r0=… · N insns · ≈X µs on <board>"                    |
 * | faulted      | red ring "fault −2: write 0x… at pc N (k faults)"                |
 * | quarantined  | red ring "quarantined"                                           |
 * | running      | blue ring "running… N instr" (a run sliced over turns; issue 11) |
 * | queue full   | yellow ring "busy: N messages dropped"                           |
 *
 * Choices where the table is silent: a rejection without a pc (a format, compile or board
 * refusal) reads "rejected: <rule>" (with "at line N" for source errors); a run that suspended
 * (ztimer_periodic_wakeup) is shown like a run with "suspended" in place of "r0=…"; fault codes
 * other than −2 use their RIOT name ("fault −8: out of budget at pc N (k faults)"). The minus sign
 * is U+2212 as in the design; X is the cost model's estimate (lib/board/cost-model formatUs), which
 * switches to ms above 1,000 µs; the fault count is always "(k faults)", as the template has it.
 * Long texts are cut at 64 characters.
 */
import type { FaultInfo, RunReport } from '../board/board';
import { formatUs } from '../board/cost-model';
import { faultCodeName } from '../../vm/errors';
import { r0Value, type ResultType } from './message';

export interface NodeStatus {
  fill: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape: 'ring' | 'dot';
  text: string;
}

const MAX = 64;
const cut = (s: string): string => (s.length > MAX ? s.slice(0, MAX - 1) + '…' : s);
/** RIOT codes are negative: show them with a real minus sign (−2), as DESIGN §12 does. */
export const code = (n: number): string => (n < 0 ? `\u2212${-n}` : String(n));

export const noImage = (): NodeStatus => ({ fill: 'grey', shape: 'ring', text: 'no image' });
export const verifying = (): NodeStatus => ({ fill: 'yellow', shape: 'ring', text: 'verifying' });
export const quarantined = (): NodeStatus => ({ fill: 'red', shape: 'ring', text: 'quarantined' });

export function rejected(rule: string, where?: { pc?: number; line?: number }): NodeStatus {
  const at = where?.pc !== undefined ? ` at pc ${where.pc}` : where?.line !== undefined ? ` at line ${where.line}` : '';
  return { fill: 'red', shape: 'dot', text: cut(`rejected: ${rule}${at}`) };
}

export function attached(hook: string, insns: number): NodeStatus {
  return { fill: 'green', shape: 'dot', text: cut(`${hook} · ${insns} insns`) };
}

export function ran(r: Pick<RunReport, 'status' | 'r0' | 'insns' | 'estimatedUs'>, board: string, type: ResultType = 'int64'): NodeStatus {
  const head = r.status === 'suspended' ? 'suspended' : `r0=${r0Value(r.r0, type)}`;
  return { fill: 'green', shape: 'dot', text: cut(`${head} · ${r.insns} insns · ≈${formatUs(r.estimatedUs)} on ${board}`) };
}

/** "fault −2: write 0x40000010 at pc 3 (2 faults)". */
export function faulted(f: FaultInfo, totalFaults: number): NodeStatus {
  let what: string;
  if (f.code === -2 && typeof f.access === 'string' && typeof f.address === 'string') what = `${f.access} ${f.address}`;
  else if (f.code === -8) what = 'out of budget';
  else if (f.code === -9) what = 'division by zero';
  else what = faultCodeName(f.code);
  const k = `${totalFaults} faults`; // DESIGN §12's template, literally (also "1 faults")
  return { fill: 'red', shape: 'ring', text: cut(`fault ${code(f.code)}: ${what} at pc ${f.pc} (${k})`) };
}

/** A run in flight over several turns: how far, of its budget, and what waits behind it. */
export function running(insns: number, budget: number, queued = 0): NodeStatus {
  const pct = budget > 0 ? ` (${Math.min(100, Math.floor((100 * insns) / budget))}% of budget)` : '';
  return { fill: 'blue', shape: 'ring', text: cut(`running… ${insns.toLocaleString('en-US')} instr${pct}${queued ? ` · ${queued} queued` : ''}`) };
}

/** Messages refused because the container's queue was full. */
export const queueFull = (dropped: number): NodeStatus => ({ fill: 'yellow', shape: 'ring', text: `busy: ${dropped} message${dropped === 1 ? '' : 's'} dropped` });

/** The status after a run report: ran, faulted or quarantined. */
export function afterRun(r: RunReport, board: string, type: ResultType = 'int64'): NodeStatus {
  if (r.status === 'fault' && r.fault) return r.quarantined ? quarantined() : faulted(r.fault, r.faults.total);
  return ran(r, board, type);
}
