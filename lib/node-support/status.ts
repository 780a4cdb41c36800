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

/** 1234567 → "1,234,567" as toLocaleString('en-US') writes it, without ICU on every run. */
export function grouped(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) return n.toLocaleString('en-US');
  let out = String(n);
  for (let i = out.length - 3; i > 0; i -= 3) out = out.slice(0, i) + ',' + out.slice(i);
  return out;
}

/** "42 · 61 instr · ≈37 µs". */
export function ran(r: Pick<RunReport, 'status' | 'r0' | 'insns' | 'estimatedUs'>, type: ResultType = 'int64'): NodeStatus {
  const head = r.status === 'suspended' ? 'suspended' : String(r0Value(r.r0, type));
  return { fill: 'green', shape: 'dot', text: cut(`${head} · ${grouped(r.insns)} instr · ≈${formatUs(r.estimatedUs)}`) };
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

// ---- rate of status updates ----------------------------------------------------------------------

/**
 * How often a node shows a run's status at most. A node on a sensor hook at 10 Hz would otherwise
 * call node.status ten times a second, and each call goes through Node-RED's status event and
 * comms (~2 µs): with thousands of nodes that is most of a core for text nobody can read that fast.
 */
export const STATUS_INTERVAL_MS = 250;

/**
 * Run statuses shown per second at most, over all nodes of the process: with more busy nodes
 * than this allows at STATUS_INTERVAL_MS, each node's interval stretches (9,000 nodes: one status
 * every 2.25 s each). An editor gets each status as a websocket message, and nobody reads
 * thousands of changing statuses a second.
 */
export const STATUS_BUDGET_PER_S = 4000;

type Show = (s: NodeStatus) => void;

/**
 * One node's status, rate-limited: `now()` shows a status at once (verifying, rejected,
 * quarantined: rare and meaningful), `soon()` a frequent one (a run's result) at most once per
 * interval, built only when it is shown (`render`), and never lost: the latest waiting value is
 * shown when the interval ends (one shared timer for all nodes, not one per node). A status whose
 * fill, shape and text equal the one on show is not sent again.
 */
export class StatusThrottle<T> {
  private shown: NodeStatus | undefined;
  /** When soon() last showed a status (now() does not count: it is rare). */
  private lastSoonAt = -Infinity;
  private waiting: T | undefined;
  private hasWaiting = false;
  private queued = false;
  private closed = false;
  /** The scheduler's counting window this throttle was last counted in as busy. */
  private window = -1;

  constructor(private readonly show: Show, private readonly render: (v: T) => NodeStatus, readonly intervalMs = STATUS_INTERVAL_MS,
    private readonly scheduler: StatusScheduler = sharedScheduler) {}

  /** Show `s` now; a waiting soon() value is older than it, so it is dropped. */
  now(s: NodeStatus): void {
    this.hasWaiting = false;
    this.waiting = undefined;
    this.put(s);
  }

  /** Show the status of `v` now if the last one is old enough, else when the interval ends. */
  soon(v: T): void {
    if (this.closed) return;
    const t = Date.now();
    const sched = this.scheduler;
    const interval = Math.max(this.intervalMs, sched.spacingMs(t));
    if (this.window !== sched.window) {
      this.window = sched.window;
      sched.busy++;
    }
    if (t - this.lastSoonAt >= interval && !this.queued) {
      this.lastSoonAt = t;
      this.hasWaiting = false;
      this.waiting = undefined;
      this.put(this.render(v));
      return;
    }
    this.waiting = v;
    this.hasWaiting = true;
    if (!this.queued) {
      this.queued = true;
      sched.at(this.lastSoonAt + interval, this);
    }
  }

  /** The scheduler's call when the interval has ended. */
  flush(t: number): void {
    this.queued = false;
    if (!this.hasWaiting || this.closed) return;
    const v = this.waiting as T;
    this.hasWaiting = false;
    this.waiting = undefined;
    this.lastSoonAt = t;
    this.put(this.render(v));
  }

  /** The node closes: nothing waiting is shown any more (its last status is cleared by the node). */
  close(): void {
    this.closed = true;
    this.hasWaiting = false;
    this.waiting = undefined;
  }

  private put(s: NodeStatus): void {
    const last = this.shown;
    if (last && last.text === s.text && last.fill === s.fill && last.shape === s.shape) return;
    this.shown = s;
    this.show(s);
  }
}

/**
 * Flushes throttled statuses when their intervals end: one timer for every node, waking on
 * 25 ms ticks, so ten thousand nodes do not keep ten thousand timers.
 */
export class StatusScheduler {
  private readonly slots = new Map<number, { flush(t: number): void }[]>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private armed = Infinity;
  /** Counting window (one second): throttles that had a run in it count themselves in `busy`. */
  window = 0;
  busy = 0;
  private windowEnd = 0;
  private lastBusy = 0;

  constructor(readonly tickMs = 25, readonly budgetPerS = STATUS_BUDGET_PER_S) {}

  /** The interval each busy node keeps so that all of them together stay within the budget. */
  spacingMs(t: number): number {
    if (t >= this.windowEnd) {
      this.lastBusy = this.busy;
      this.busy = 0;
      this.window++;
      this.windowEnd = t + 1000;
    }
    return (Math.max(this.lastBusy, this.busy) * 1000) / this.budgetPerS;
  }

  at(dueMs: number, t: { flush(t: number): void }): void {
    const slot = Math.ceil(dueMs / this.tickMs);
    let list = this.slots.get(slot);
    if (!list) this.slots.set(slot, (list = []));
    list.push(t);
    if (slot < this.armed) this.arm(slot);
  }

  private arm(slot: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armed = slot;
    this.timer = setTimeout(() => this.fire(), Math.max(0, slot * this.tickMs - Date.now()));
    this.timer.unref?.();
  }

  private fire(): void {
    this.timer = undefined;
    this.armed = Infinity;
    const t = Date.now();
    let next = Infinity;
    for (const [slot, list] of this.slots) {
      if (slot * this.tickMs <= t) {
        this.slots.delete(slot);
        for (const th of list) th.flush(t);
      } else if (slot < next) next = slot;
    }
    // Flushing can queue again (a throttle whose value arrived during the flush): re-scan cheaply.
    for (const slot of this.slots.keys()) if (slot < next) next = slot;
    if (next !== Infinity) this.arm(next);
  }
}

const sharedScheduler = new StatusScheduler();
