/**
 * The host timers of every WallClock in the process: a timing wheel of 1 ms slots under a single
 * setTimeout armed for the earliest slot that holds a timer.
 *
 * Why not a setTimeout per timer: a fleet of boards sampling at 10 Hz asks for tens of thousands
 * of timers a second. Each setTimeout allocates a Timeout and a closure, and Node runs every timer
 * that is due in one go, however long that takes: when a few hundred boards fall due together,
 * Node-RED's event loop is held for all of their runs. Here a periodic timer is one entry,
 * re-filed in place (nothing allocated per tick), and one wake-up runs due entries for at most
 * TURN_MS before it lets the event loop go (I/O, the editor, other timers) and goes on with a
 * setImmediate.
 *
 * Why a wheel and not a heap: filing and taking a timer touch one slot, not a dozen other timers'
 * due times (with thousands of boards those are cache misses on every sample). A timer never runs
 * before its due time; timers of the same millisecond run in the order they were filed, which is
 * the order they were scheduled for equal due times. Timers beyond the wheel's reach wait in a
 * side list until they come within it.
 */

/** One timer: a one-shot (`periodMs` 0) or a periodic one (re-filed `periodMs` later, drift-free). */
export interface HostTimer {
  /** performance.now() time it is due at. */
  dueMs: number;
  periodMs: number;
  fn: () => void;
  /** The wheel slot (absolute millisecond) it is filed in; FAR beyond the wheel; -1 not queued. */
  slot: number;
}

/** Longest stretch of due timers run in one turn of the event loop. */
export const TURN_MS = 2;

const SLOTS = 1024; // a power of two: slot s lives at wheel[s & MASK]
const MASK = SLOTS - 1;
const FAR = -2;
const NOT_QUEUED = -1;

const wheel: HostTimer[][] = Array.from({ length: SLOTS }, () => []);
/** Timers due beyond the wheel's reach (cursor + SLOTS), unordered. */
const far: HostTimer[] = [];
/** Every slot before `cursor` has been run; the wheel covers [cursor, cursor + SLOTS). */
let cursor = Math.floor(performance.now());
let filed = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
let armedAt = Infinity;
let draining = false;
let continuing = false;

/** A timer not yet queued. */
export function hostTimer(dueMs: number, fn: () => void, periodMs = 0): HostTimer {
  return { dueMs, periodMs, fn, slot: NOT_QUEUED };
}

/** Queue `t` at its `dueMs` (it must not be queued already). */
export function schedule(t: HostTimer): void {
  // An empty wheel may move on to now (after a quiet spell, its cursor is far behind).
  if (filed === 0 && !draining) cursor = Math.max(cursor, Math.floor(performance.now()));
  file(t);
  arm();
}

/** Take `t` off the queue; harmless when it is not queued. */
export function unschedule(t: HostTimer): void {
  if (t.slot === NOT_QUEUED) return;
  const list = t.slot === FAR ? far : wheel[t.slot & MASK];
  const i = list.indexOf(t);
  if (i >= 0) list.splice(i, 1);
  if (t.slot !== FAR) filed--;
  t.slot = NOT_QUEUED;
  if (filed === 0 && far.length === 0) disarm();
}

/** Timers queued in the process (tests). */
export function queued(): number {
  return filed + far.length;
}

/** Put `t` in the slot of its due millisecond (the current one if that is past), or aside. */
function file(t: HostTimer): void {
  const s = Math.max(cursor, Math.floor(t.dueMs));
  if (s >= cursor + SLOTS) {
    t.slot = FAR;
    far.push(t);
    return;
  }
  t.slot = s;
  wheel[s & MASK].push(t);
  filed++;
}

/** Bring timers from the side list that are now within the wheel's reach. */
function refileFar(): void {
  for (let i = 0; i < far.length;) {
    const t = far[i];
    if (Math.floor(t.dueMs) < cursor + SLOTS) {
      far.splice(i, 1);
      file(t);
    } else i++;
  }
}

/** The time the earliest queued timer is due at (Infinity when none). */
function earliestDue(): number {
  if (filed > 0) {
    for (let s = cursor; s < cursor + SLOTS; s++) {
      const list = wheel[s & MASK];
      if (list.length === 0) continue;
      let due = Infinity;
      for (const t of list) if (t.dueMs < due) due = t.dueMs;
      return due;
    }
  }
  let due = Infinity;
  for (const t of far) if (t.dueMs < due) due = t.dueMs;
  return due;
}

function disarm(): void {
  if (timer) clearTimeout(timer);
  timer = undefined;
  armedAt = Infinity;
}

/** Arm the one setTimeout for the earliest timer (unless a drain or its continuation is due). */
function arm(): void {
  if (draining || continuing) return;
  const due = earliestDue();
  if (due === Infinity) { disarm(); return; }
  if (timer && armedAt <= due) return;
  if (timer) clearTimeout(timer);
  armedAt = due;
  timer = setTimeout(fire, Math.max(0, due - performance.now()));
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

/**
 * Run what is due, slot by slot, for at most TURN_MS; then arm for the next timer or go on after
 * I/O. In the current millisecond's slot only the timers already due run; the others stay.
 */
function drain(): void {
  draining = true;
  const t0 = performance.now();
  let now = t0;
  let spent = false;
  try {
    while (!spent && cursor <= Math.floor(now)) {
      const list = wheel[cursor & MASK];
      // Slots hold a few dozen timers: removing from the front is cheap, and a callback that
      // files or cancels timers in this slot leaves the walk valid (at worst one waits a turn).
      let i = 0;
      while (i < list.length) {
        const t = list[i];
        if (t.dueMs > now) { i++; continue; } // later in this millisecond
        list.splice(i, 1);
        filed--;
        t.slot = NOT_QUEUED;
        // Re-filed (or dropped) before it runs: a throwing callback keeps its period.
        if (t.periodMs > 0) {
          t.dueMs += t.periodMs;
          file(t);
        }
        t.fn();
        now = performance.now();
        if (now - t0 >= TURN_MS) { spent = true; break; }
      }
      if (spent || list.length > 0) break; // this slot still holds work (or timers not yet due)
      cursor++;
      if ((cursor & 63) === 0 && far.length > 0) refileFar();
    }
    if (far.length > 0) refileFar();
  } finally {
    draining = false;
    if (spent) {
      continuing = true;
      setImmediate(goOn);
    } else arm();
  }
}
