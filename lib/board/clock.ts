/**
 * The board's notion of time. Everything in lib/board that waits (sensor sampling, the timer hook,
 * scheduler ticks, resuming a container after `ztimer_periodic_wakeup`) goes through a Clock, never
 * a bare setTimeout, so that a test can swap in a VirtualClock and get the same runs every time.
 *
 * - WallClock: time since the clock was created, from the host's monotonic timer
 *   (performance.now); timers go on the process's one timer heap (host-timers.ts). The default
 *   for a Node-RED board.
 * - VirtualClock: time only moves when the caller advances it. `advance(us)` fires every timer that
 *   falls due within the step, in time order (equal times: in the order they were scheduled), each
 *   seeing `now()` equal to its own due time. Timers scheduled by a firing timer that fall inside
 *   the step fire in the same advance, so "one hour of a 1 s periodic loop" is one call.
 *
 * Units: microseconds as a JS number (exact up to 2^53 µs ≈ 285 years). RIOT's helpers see u32
 * wrap-around views of it (ztimer_now in µs, now_ms in ms); that truncation happens in helpers.ts.
 */
import { hostTimer, schedule, unschedule, type HostTimer } from './host-timers';

export interface TimerHandle {
  /** Cancel the timer; harmless if it already fired or was cancelled. */
  cancel(): void;
}

export interface Clock {
  /** Microseconds since the clock's epoch (board start for a WallClock, 0 for a VirtualClock). */
  nowUs(): number;
  /** Run `fn` once when the clock reaches `atUs` (at once, asynchronously, if already past). */
  at(atUs: number, fn: () => void): TimerHandle;
  /**
   * Run `fn` on a later turn of the host's event loop, after what is waiting now (I/O, timers):
   * how the board goes on with a preempted run. A VirtualClock runs it on the next advance at
   * the same time, so sliced runs take no virtual time and stay deterministic.
   */
  nextTurn(fn: () => void): TimerHandle;
  /**
   * Run `fn` every `periodUs`, first at now + `firstUs` (the `every` function below uses it when
   * a clock has it: a periodic timer re-queued in place rather than a new timer per tick).
   */
  every?(periodUs: number, fn: () => void, firstUs: number): TimerHandle;
  /** Cancel every pending timer of this clock (Board.stop uses its own handles; this is for owners). */
  cancelAll(): void;
  /** Number of pending timers (tests check that stop() released everything). */
  pending(): number;
}

/** Run `fn` every `periodUs` (first time at now + period) until cancelled. Drift-free. */
export function every(clock: Clock, periodUs: number, fn: () => void, firstUs = periodUs): TimerHandle {
  if (!(periodUs > 0)) throw new RangeError(`period must be > 0 µs, got ${periodUs}`);
  if (clock.every) return clock.every(periodUs, fn, firstUs);
  let next = clock.nowUs() + firstUs;
  let h: TimerHandle | undefined;
  let cancelled = false;
  const tick = (): void => {
    if (cancelled) return;
    next += periodUs;
    h = clock.at(next, tick);
    fn();
  };
  h = clock.at(next, tick);
  return {
    cancel() {
      cancelled = true;
      h?.cancel();
    },
  };
}

interface Turn { fn: () => void; live: boolean }

/**
 * Later turns of every WallClock in the process, in order: one setImmediate runs them while its
 * turn has used less than TURN_MS, so however many boards and containers have work waiting, one
 * iteration of the event loop gives them about one slice in all before I/O and timers come
 * again. (A setImmediate per waiting run would give each its slice in every iteration: with ten
 * spinning containers, 50 ms between two I/O callbacks.) Work queued by a turn waits for the next.
 */
const TURN_MS = 5;
const turnQueue: Turn[] = [];
let turnScheduled = false;

function scheduleTurns(): void {
  if (turnScheduled || turnQueue.length === 0) return;
  turnScheduled = true;
  setImmediate(runTurns);
}

function runTurns(): void {
  turnScheduled = false;
  const t0 = performance.now();
  const batch = turnQueue.splice(0);
  let i = 0;
  try {
    while (i < batch.length) {
      const t = batch[i++];
      if (!t.live) continue;
      t.live = false;
      t.fn();
      if (performance.now() - t0 >= TURN_MS) break;
    }
  } finally {
    turnQueue.unshift(...batch.slice(i).filter((t) => t.live));
    scheduleTurns();
  }
}

/**
 * Host time. Timers go on the process's one timer heap (host-timers.ts), whose setTimeout keeps
 * the process alive while a board runs, like Node-RED's own timers.
 */
export class WallClock implements Clock {
  private readonly t0 = performance.now();
  private readonly timers = new Set<HostTimer>();
  private readonly turns = new Set<Turn>();

  nowUs(): number {
    return Math.floor((performance.now() - this.t0) * 1000);
  }

  at(atUs: number, fn: () => void): TimerHandle {
    const t = hostTimer(this.t0 + atUs / 1000, () => {
      this.timers.delete(t);
      fn();
    });
    return this.queue(t);
  }

  every(periodUs: number, fn: () => void, firstUs: number): TimerHandle {
    return this.queue(hostTimer(performance.now() + firstUs / 1000, fn, periodUs / 1000));
  }

  private queue(t: HostTimer): TimerHandle {
    this.timers.add(t);
    schedule(t);
    return {
      cancel: () => {
        unschedule(t);
        this.timers.delete(t);
      },
    };
  }

  /**
   * The process's turn queue (above), drained by setImmediate: after pending I/O and due timers,
   * unlike setTimeout(0), which waits ≥ 1 ms.
   */
  nextTurn(fn: () => void): TimerHandle {
    const t: Turn = {
      fn: () => {
        this.turns.delete(t);
        fn();
      },
      live: true,
    };
    this.turns.add(t);
    turnQueue.push(t);
    scheduleTurns();
    return {
      cancel: () => {
        t.live = false;
        this.turns.delete(t);
      },
    };
  }

  cancelAll(): void {
    for (const t of this.timers) unschedule(t);
    this.timers.clear();
    for (const t of this.turns) t.live = false;
    this.turns.clear();
  }

  pending(): number {
    return this.timers.size + this.turns.size;
  }
}

interface VTimer {
  at: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

/** Test time: moves only through advance()/advanceTo(). */
export class VirtualClock implements Clock {
  private now = 0;
  private seq = 0;
  private queue: VTimer[] = [];

  constructor(startUs = 0) {
    this.now = startUs;
  }

  nowUs(): number {
    return this.now;
  }

  at(atUs: number, fn: () => void): TimerHandle {
    // A past due time fires on the next advance (even advance(0)), never synchronously: callers
    // may schedule from inside a run and must not be re-entered.
    const t: VTimer = { at: Math.max(atUs, this.now), seq: this.seq++, fn, live: true };
    this.queue.push(t);
    return {
      cancel: () => {
        t.live = false;
      },
    };
  }

  nextTurn(fn: () => void): TimerHandle {
    return this.at(this.now, fn);
  }

  /** Move time forward by `us`, firing due timers in order. Returns the number fired. */
  advance(us: number): number {
    if (!(us >= 0)) throw new RangeError(`advance needs a non-negative step, got ${us}`);
    return this.advanceTo(this.now + us);
  }

  advanceMs(ms: number): number {
    return this.advance(ms * 1000);
  }

  /** Move time to `targetUs` (never backwards), firing due timers in order. */
  advanceTo(targetUs: number): number {
    let fired = 0;
    for (;;) {
      const t = this.nextDue(targetUs);
      if (!t) break;
      t.live = false;
      this.now = t.at;
      fired++;
      t.fn();
    }
    if (targetUs > this.now) this.now = targetUs;
    this.queue = this.queue.filter((t) => t.live);
    return fired;
  }

  /** Fire what is due now without moving time. */
  flush(): number {
    return this.advance(0);
  }

  private nextDue(limit: number): VTimer | undefined {
    let best: VTimer | undefined;
    for (const t of this.queue) {
      if (!t.live || t.at > limit) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    if (this.queue.length > 64) this.queue = this.queue.filter((t) => t.live);
    return best;
  }

  cancelAll(): void {
    for (const t of this.queue) t.live = false;
    this.queue = [];
  }

  pending(): number {
    return this.queue.filter((t) => t.live).length;
  }
}
