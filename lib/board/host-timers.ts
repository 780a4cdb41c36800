/**
 * The host timers of every WallClock in the process: one binary heap ordered by due time, under a
 * single setTimeout armed for the earliest entry.
 *
 * Why not a setTimeout per timer: a fleet of boards sampling at 10 Hz asks for tens of thousands
 * of timers a second. Each setTimeout allocates a Timeout and a closure, and Node runs every timer
 * that is due in one go, however long that takes: when a few hundred boards fall due together,
 * Node-RED's event loop is held for all of their runs. Here a periodic timer is one entry,
 * re-queued in place (nothing allocated per tick), and one wake-up runs due entries for at most
 * TURN_MS before it lets the event loop go (I/O, the editor, other timers) and goes on with a
 * setImmediate. Entries due at the same time run in the order they were scheduled.
 */

/** One timer: a one-shot (`periodMs` 0) or a periodic one (re-queued `periodMs` later, drift-free). */
export interface HostTimer {
  /** performance.now() time it is due at. */
  dueMs: number;
  periodMs: number;
  fn: () => void;
  /** Tie-break among equal due times: scheduling order. */
  seq: number;
  /** Its position in the heap, -1 while not queued. */
  index: number;
}

/** Longest stretch of due timers run in one turn of the event loop. */
export const TURN_MS = 4;

const heap: HostTimer[] = [];
let seq = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
let armedAt = Infinity;
let draining = false;
let continuing = false;

/** A timer not yet queued. */
export function hostTimer(dueMs: number, fn: () => void, periodMs = 0): HostTimer {
  return { dueMs, periodMs, fn, seq: 0, index: -1 };
}

/** Queue `t` at its `dueMs` (it must not be queued already). */
export function schedule(t: HostTimer): void {
  t.seq = seq++;
  push(t);
  arm();
}

/** Take `t` off the queue; harmless when it is not queued. */
export function unschedule(t: HostTimer): void {
  if (t.index < 0) return;
  removeAt(t.index);
  if (heap.length === 0) disarm();
}

/** Timers queued in the process (tests). */
export function queued(): number {
  return heap.length;
}

function disarm(): void {
  if (timer) clearTimeout(timer);
  timer = undefined;
  armedAt = Infinity;
}

/** Arm the one setTimeout for the earliest entry (unless a drain or its continuation is due). */
function arm(): void {
  if (draining || continuing) return;
  const top = heap[0];
  if (!top) { disarm(); return; }
  if (timer && armedAt <= top.dueMs) return;
  if (timer) clearTimeout(timer);
  armedAt = top.dueMs;
  timer = setTimeout(fire, Math.max(0, top.dueMs - performance.now()));
}

function fire(): void {
  timer = undefined;
  armedAt = Infinity;
  drain();
}

function goOn(): void {
  continuing = false;
  drain();
}

/** Run what is due, for at most TURN_MS; then arm for the next entry or go on after I/O. */
function drain(): void {
  draining = true;
  const t0 = performance.now();
  let now = t0;
  try {
    while (heap.length > 0) {
      const t = heap[0];
      if (t.dueMs > now) break;
      // Re-queued (or dropped) before it runs: a throwing callback keeps its period.
      if (t.periodMs > 0) {
        t.dueMs += t.periodMs;
        t.seq = seq++;
        siftDown(0);
      } else removeAt(0);
      t.fn();
      now = performance.now();
      if (now - t0 >= TURN_MS) break;
    }
  } finally {
    draining = false;
    if (heap.length > 0 && heap[0].dueMs <= performance.now()) {
      continuing = true;
      setImmediate(goOn);
    } else arm();
  }
}

// ---- the binary heap (by dueMs, then seq) ----------------------------------------------------------

function before(a: HostTimer, b: HostTimer): boolean {
  return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq);
}

function place(t: HostTimer, i: number): void {
  heap[i] = t;
  t.index = i;
}

function push(t: HostTimer): void {
  place(t, heap.length);
  siftUp(heap.length - 1);
}

function removeAt(i: number): void {
  const t = heap[i];
  const last = heap.pop() as HostTimer;
  t.index = -1;
  if (last === t) return;
  place(last, i);
  if (i > 0 && before(last, heap[(i - 1) >> 1])) siftUp(i);
  else siftDown(i);
}

function siftUp(i: number): void {
  const t = heap[i];
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!before(t, heap[p])) break;
    place(heap[p], i);
    i = p;
  }
  place(t, i);
}

function siftDown(i: number): void {
  const t = heap[i];
  const n = heap.length;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const c = r < n && before(heap[r], heap[l]) ? r : l;
    if (!before(heap[c], t)) break;
    place(heap[c], i);
    i = c;
  }
  place(t, i);
}
