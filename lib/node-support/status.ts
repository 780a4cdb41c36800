/**
 * Node status of a container node: short and plain, in the states of ARCHITECTURE.md § The Node-RED face.
 *
 * | state        | status                                                                  |
 * |--------------|-------------------------------------------------------------------------|
 * | no image     | grey ring "no image"                                                    |
 * | verifying    | yellow ring "verifying"                                                 |
 * | rejected     | red dot "rejected: compile error line 5" / "rejected: jump-target at pc 3" |
 * | attached     | green dot "<hook> · N instr"                                            |
 * | ran          | green dot "42 · 61 instr · ≈37 µs"                                      |
 * | faulted      | red ring "fault: write out of bounds (line 23)" / "… at pc 7"           |
 * | quarantined  | red ring "quarantined"                                                  |
 * | running      | blue ring "running… N instr" (a run sliced over turns)                  |
 * | queue full   | yellow ring "busy: N messages dropped"                                  |
 *
 * Choices: the result is r0 as the node's result type, nothing else ("suspended" in its place for
 * a run that suspended); the board's name and the fault count live in msg.femto, not here. A
 * fault names what went wrong in words — "write out of bounds", "division by zero", and for −8
 * which budget ran out ("out of budget: 200 taken branches (riot-2022)" or "out of budget:
 * 1,000,000 instructions") — then the C or assembly line when the program carries line
 * information, else the pc. X is the cost model's estimate (lib/board/cost-model formatUs).
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
/** RIOT codes are negative: show them with a real minus sign (−2), as the status vocabulary does. */
export const code = (n: number): string => (n < 0 ? `\u2212${-n}` : String(n));

export const noImage = (): NodeStatus => ({ fill: 'grey', shape: 'ring', text: 'no image' });
export const verifying = (): NodeStatus => ({ fill: 'yellow', shape: 'ring', text: 'verifying' });
export const quarantined = (): NodeStatus => ({ fill: 'red', shape: 'ring', text: 'quarantined' });

/** "rejected: compile error line 5", "rejected: jump-target at pc 3" (a line wins over a pc). */
export function rejected(rule: string, where?: { pc?: number; line?: number }): NodeStatus {
  const at = where?.line !== undefined ? ` line ${where.line}` : where?.pc !== undefined ? ` at pc ${where.pc}` : '';
  return { fill: 'red', shape: 'dot', text: cut(`rejected: ${rule}${at}`) };
}

export function attached(hook: string, insns: number): NodeStatus {
  return { fill: 'green', shape: 'dot', text: cut(`${hook} · ${insns} instr`) };
}

/** "42 · 61 instr · ≈37 µs". */
export function ran(r: Pick<RunReport, 'status' | 'r0' | 'insns' | 'estimatedUs'>, type: ResultType = 'int64'): NodeStatus {
  const head = r.status === 'suspended' ? 'suspended' : String(r0Value(r.r0, type));
  return { fill: 'green', shape: 'dot', text: cut(`${head} · ${r.insns.toLocaleString('en-US')} instr · ≈${formatUs(r.estimatedUs)}`) };
}

/** What a fault was, in words: "write out of bounds", "out of budget: 200 taken branches (riot-2022)". */
export function faultWhat(f: FaultInfo, profile?: string): string {
  if (f.code === -2) return typeof f.access === 'string' ? `${f.access} out of bounds` : 'memory access out of bounds';
  if (f.code === -8) {
    const limit = typeof f.limit === 'number' ? f.limit : Number(/budget of (\d+)/.exec(String(f.message))?.[1] ?? NaN);
    const branches = f.budget === 'taken branches' || /taken-branch/.test(String(f.message));
    if (!Number.isFinite(limit)) return 'out of budget';
    return branches
      ? `out of budget: ${limit.toLocaleString('en-US')} taken branches${profile ? ` (${profile})` : ''}`
      : `out of budget: ${limit.toLocaleString('en-US')} instructions`;
  }
  if (f.code === -9) return 'division by zero';
  return faultCodeName(f.code);
}

/** "fault: write out of bounds (line 23)", or "… at pc 7" when the program has no line information. */
export function faulted(f: FaultInfo, opts: { source?: { line: number }; profile?: string } = {}): NodeStatus {
  const where = opts.source ? ` (line ${opts.source.line})` : ` at pc ${f.pc}`;
  return { fill: 'red', shape: 'ring', text: cut(`fault: ${faultWhat(f, opts.profile)}${where}`) };
}

/** A run in flight over several turns: how far, of its budget, and what waits behind it. */
export function running(insns: number, budget: number, queued = 0): NodeStatus {
  const pct = budget > 0 ? ` (${Math.min(100, Math.floor((100 * insns) / budget))}% of budget)` : '';
  return { fill: 'blue', shape: 'ring', text: cut(`running… ${insns.toLocaleString('en-US')} instr${pct}${queued ? ` · ${queued} queued` : ''}`) };
}

/** Messages refused because the container's queue was full. */
export const queueFull = (dropped: number): NodeStatus => ({ fill: 'yellow', shape: 'ring', text: `busy: ${dropped} message${dropped === 1 ? '' : 's'} dropped` });

/** The status after a run report: ran, faulted or quarantined. */
export function afterRun(r: RunReport, type: ResultType = 'int64', fault: { source?: { line: number }; profile?: string } = {}): NodeStatus {
  if (r.status === 'fault' && r.fault) return r.quarantined ? quarantined() : faulted(r.fault, fault);
  return ran(r, type);
}
