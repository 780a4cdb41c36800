/**
 * Fuzz target `walltime`: a container's run costs time in proportion to its work, and
 * no synchronous slice of it holds the event loop much past the slice length, whatever its
 * helpers do. Generated flow containers loop over printf (wide fields, long literals, with or
 * without newlines), store writes, memcpy, fmt_u32_dec, now_ms and ALU work, under random
 * budgets, on a sliced Board (5 ms slices, the wall-clock slicing Node-RED uses) driven one turn
 * at a time, each turn timed.
 *
 * Work is counted, not timed: instructions (the report), helper calls (its `ja` class: calls and
 * the one exit; the programs have no other unconditional jumps) and console bytes (the lines the
 * board emitted). Properties, with factors generous enough for a busy 2-core box (a case is
 * judged on CPU time when wall time is over, so being descheduled does not count):
 *
 *  - total:  time ≤ FIXED_MS + INSN_US × instructions + CALL_US × helper calls + BYTE_US × bytes
 *  - slice:  every turn ≤ slice length + SLICE_MARGIN_MS
 *
 * A helper whose cost grows with what came before (printf appending to the unfinished line and
 * splitting it all again, as the board's console once did) breaks the first on long runs and the second once the
 * line is long. A case that is already over its total bound is stopped (the container removed)
 * rather than run on, so even a quadratic helper costs a case no more than its bound.
 */
import { Board, VirtualClock, type RunReport } from '../../lib/board/board';
import type { TimerHandle } from '../../lib/board/clock';
import { HELPER } from '../../lib/board/helpers';
import type { RiotImage } from '../../vm/image';
import { encodeProgram, type Insn } from '../../vm/program';
import { isWide } from '../../vm/opcodes';
import { DEFAULT_SLICE_MS } from '../../vm/vm';
import { Finding, type Counters, type Target } from './engine';
import type { Rng } from './rng';

export const FIXED_MS = 300;
export const INSN_US = 1;
export const CALL_US = 20;
export const BYTE_US = 0.5;
export const SLICE_MARGIN_MS = 200;

const I = (opcode: number, dst = 0, src = 0, offset = 0, imm = 0, imm2 = 0): Insn => ({ opcode, dst, src, offset, imm, imm2 });
const movImm = (d: number, v: number): Insn => I(0xb7, d, 0, 0, v | 0);
const movReg = (d: number, s: number): Insn => I(0xbf, d, s);
const call = (id: number): Insn => I(0x85, 0, 0, 0, id);

type Item =
  | { k: 'printf'; fmt: number }
  | { k: 'newline'; every: number }
  | { k: 'store'; global: boolean }
  | { k: 'memcpy'; len: number }
  | { k: 'fmt' }
  | { k: 'now' }
  | { k: 'alu'; n: number };

export interface WallInput {
  profile: 'native' | 'nrf52840dk';
  formats: string[];
  items: Item[];
  iterations: number;
  budget: number;
}

const PIECES = ['%d', '%u', '%x', '%08x', '%-12d', '%64d', '%64d%64d%64d%64d%64d%64d%64d%64d', 'v=', ' ', '%%', 'A'.repeat(100), 'B'.repeat(300)];

function generate(rng: Rng): WallInput {
  const formats = Array.from({ length: rng.range(1, 3) }, () => {
    let f = '';
    for (let n = rng.range(1, 4); n > 0; n--) f += rng.pick(PIECES);
    return f;
  });
  const items: Item[] = [];
  for (let n = rng.range(1, 6); n > 0; n--) {
    items.push(rng.weighted<Item>([
      [5, { k: 'printf', fmt: rng.int(formats.length) }],
      [2, { k: 'newline', every: rng.pick([1, 2, 7, 64, 1000]) }],
      [2, { k: 'store', global: rng.bool() }],
      [1, { k: 'memcpy', len: rng.pick([1, 16, 64, 128]) }],
      [1, { k: 'fmt' }],
      [1, { k: 'now' }],
      [2, { k: 'alu', n: rng.range(1, 30) }],
    ]));
  }
  const input: WallInput = {
    profile: rng.bool(0.7) ? 'native' : 'nrf52840dk',
    formats,
    items,
    iterations: rng.weighted([[3, rng.range(1, 300)], [3, rng.range(1, 5000)], [1, rng.range(1, 40_000)]]),
    budget: rng.weighted([[3, rng.range(1000, 50_000)], [2, rng.range(1000, 400_000)], [1, 1_000_000]]),
  };
  // At most about 2 MB of console per case (a case stays well under a second when all is linear).
  input.iterations = Math.max(1, Math.min(input.iterations, Math.floor(MAX_CONSOLE / Math.max(1, shape(input).bytesPerPass))));
  return input;
}

const MAX_CONSOLE = 2_000_000;
/** Bytes between newlines above which a finding is flagged "long unfinished lines". */
const LONG_LINE = 16_384;

/** Per pass of the loop: instructions (at least), helper calls and console bytes (at most). */
function shape(input: WallInput): { passInsns: number; callsPerPass: number; bytesPerPass: number } {
  let passInsns = 2, callsPerPass = 0, bytesPerPass = 0;
  for (const it of input.items) {
    if (it.k === 'alu') { passInsns += it.n; continue; }
    callsPerPass++;
    passInsns += it.k === 'now' ? 1 : 4;
    if (it.k === 'printf') bytesPerPass += input.formats[it.fmt].replace(/%(\d+)[a-z]/g, (_m, w: string) => ' '.repeat(Number(w))).length + 20;
    if (it.k === 'newline') bytesPerPass += 1;
  }
  return { passInsns, callsPerPass, bytesPerPass };
}

/**
 * The container: `for (r7 = iterations; r7 != 0; r7--) { items }`, then exit 0. RIOT-2022
 * compatible (ALU64, 64-bit jumps, no `ja`): the MCU profile's 200 taken branches end long loops.
 * .rodata: the formats, then "\n"; .data: 256 bytes for memcpy.
 */
function program(input: WallInput): RiotImage {
  const ro: number[] = [];
  const at: number[] = [];
  for (const f of [...input.formats, '\n']) {
    at.push(ro.length);
    for (const ch of f) ro.push(ch.charCodeAt(0));
    ro.push(0);
  }
  const nl = at[at.length - 1];
  const insns: Insn[] = [movReg(6, 1), I(0x18, 7, 0, 0, input.iterations, 0)];
  const slots = (): number => insns.reduce((n, i) => n + (isWide(i.opcode) ? 2 : 1), 0);
  const top = slots();
  for (const it of input.items) {
    switch (it.k) {
      case 'printf':
        insns.push(I(0xd8, 1, 0, 0, at[it.fmt]), movReg(2, 7), movReg(3, 7), movImm(4, 7), movReg(5, 7), call(HELPER.printf));
        break;
      case 'newline': {
        // if (r7 % every == 0) printf("\n"): the jump skips the wide load (2 slots) and the call
        insns.push(movReg(1, 7), I(0x97, 1, 0, 0, it.every), I(0x55, 1, 0, 3, 0), I(0xd8, 1, 0, 0, nl), call(HELPER.printf));
        break;
      }
      case 'store':
        insns.push(movReg(1, 7), I(0x57, 1, 0, 0, 15), movReg(2, 7), call(it.global ? HELPER.store_global : HELPER.store_local));
        break;
      case 'memcpy':
        insns.push(I(0xb8, 1, 0, 0, 128), I(0xb8, 2, 0, 0, 0), movImm(3, it.len), call(HELPER.memcpy));
        break;
      case 'fmt':
        insns.push(movReg(1, 10), I(0x07, 1, 0, 0, -16), movReg(2, 7), call(HELPER.fmt_u32_dec));
        break;
      case 'now':
        insns.push(call(HELPER.now_ms));
        break;
      case 'alu':
        for (let k = 0; k < it.n; k++) insns.push(k % 2 ? I(0x0f, 0, 7) : I(0xaf, 0, 7));
        break;
    }
  }
  insns.push(I(0x17, 7, 0, 0, 1));
  insns.push(I(0x55, 7, 0, top - slots() - 1, 0)); // jne r7, 0, top (offset in slots, from the next one)
  insns.push(movImm(0, 0), I(0x95));
  return { flags: 0, data: new Uint8Array(256), rodata: Uint8Array.from(ro), text: encodeProgram(insns), functions: [] };
}

/** A VirtualClock whose later turns the driver runs itself, one at a time, to time each. */
class SteppingClock extends VirtualClock {
  readonly turns: { fn: () => void; live: boolean }[] = [];
  override nextTurn(fn: () => void): TimerHandle {
    const t = { fn, live: true };
    this.turns.push(t);
    return { cancel: () => { t.live = false; } };
  }
}

/** Wall and process CPU milliseconds of `fn`. */
function timed(fn: () => void): { wall: number; cpu: number } {
  const w0 = performance.now();
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return { wall: performance.now() - w0, cpu: (c.user + c.system) / 1000 };
}

/** What a case cost and did; `observe` may attach a planted console consumer (fuzz.test.ts). */
export interface WallMeasure {
  report?: RunReport;
  turns: { wall: number; cpu: number }[];
  wall: number;
  cpu: number;
  helperCalls: number;
  consoleBytes: number;
  stopped: boolean;
}

export function allowedMs(insns: number, helperCalls: number, consoleBytes: number): number {
  return FIXED_MS + (INSN_US * insns + CALL_US * helperCalls + BYTE_US * consoleBytes) / 1000;
}

/** Run a case on a sliced board, one turn at a time; stop it once it is over its total bound. */
export function measureRun(input: WallInput, observe?: (board: Board) => void): WallMeasure {
  const clock = new SteppingClock();
  const board = new Board({ profile: input.profile, clock, seed: 3, slice: { ms: DEFAULT_SLICE_MS } });
  board.install({ id: 'w', hook: 'flow', image: program(input), budget: input.budget, quarantineAfter: 0 });
  const m: WallMeasure = { turns: [], wall: 0, cpu: 0, helperCalls: 0, consoleBytes: 0, stopped: false };
  board.on('console', (e: { line: string }) => { m.consoleBytes += e.line.length + 1; });
  board.on('result', (r: RunReport) => { m.report = r; });
  let insnsSoFar = 0;
  board.on('progress', (p: { insns: number }) => { insnsSoFar = p.insns; });
  const { passInsns, callsPerPass, bytesPerPass } = shape(input);
  observe?.(board);
  const turn = (fn: () => void): void => {
    const t = timed(fn);
    m.turns.push(t);
    m.wall += t.wall;
    m.cpu += t.cpu;
  };
  turn(() => { void board.flow('w', new Uint8Array(0)).catch(() => undefined); });
  while (clock.turns.length > 0) {
    const t = clock.turns.shift()!;
    if (!t.live) continue;
    turn(t.fn);
    // Over the bound already, counting all the work it may have done by now (an unfinished line
    // is not out yet: count what its passes may have printed): stop here.
    const passes = Math.floor(insnsSoFar / passInsns) + 1;
    const upTo = allowedMs(insnsSoFar, passes * callsPerPass, Math.max(m.consoleBytes, passes * bytesPerPass));
    if (!m.report && clock.turns.length > 0 && Math.min(m.wall, m.cpu) > upTo) {
      m.stopped = true;
      board.remove('w');
    }
  }
  if (m.report) m.helperCalls = m.report.byClass.ja - (m.report.status === 'exit' ? 1 : 0);
  board.stop();
  board.removeAllListeners();
  return m;
}

/** The properties; throws a Finding('walltime') when one breaks. */
export function checkWallTime(input: WallInput, m: WallMeasure): void {
  // Named apart: long unfinished lines are what this target once found quadratic (known.ts).
  const nl = input.items.find((i): i is Extract<Item, { k: 'newline' }> => i.k === 'newline');
  const lineBytes = shape(input).bytesPerPass * (nl ? nl.every : input.iterations);
  const longLines = input.items.some((i) => i.k === 'printf') && lineBytes > LONG_LINE ? ' (long unfinished lines)' : '';
  const what = `${input.iterations} passes of [${input.items.map((i) => i.k).join(', ')}], formats ${JSON.stringify(input.formats.map((f) => f.slice(0, 40)))}, budget ${input.budget} on ${input.profile}${longLines}`;
  if (m.stopped || !m.report) {
    throw new Finding('walltime', `run stopped after ${m.wall.toFixed(0)} ms wall / ${m.cpu.toFixed(0)} ms CPU over ${m.turns.length} turns, ` +
      `past the bound for all the work it could have done by then (${m.consoleBytes} console bytes out): ${what}`);
  }
  const r = m.report;
  const bound = allowedMs(r.totalInsns, m.helperCalls, m.consoleBytes);
  if (Math.min(m.wall, m.cpu) > bound) {
    throw new Finding('walltime', `run took ${m.wall.toFixed(0)} ms wall / ${m.cpu.toFixed(0)} ms CPU for ${r.totalInsns} instructions, ${m.helperCalls} helper calls ` +
      `and ${m.consoleBytes} console bytes (bound ${bound.toFixed(0)} ms): ${what}`);
  }
  const limit = DEFAULT_SLICE_MS + SLICE_MARGIN_MS;
  const worst = m.turns.reduce((a, t) => (Math.min(t.wall, t.cpu) > Math.min(a.wall, a.cpu) ? t : a), { wall: 0, cpu: 0 });
  if (Math.min(worst.wall, worst.cpu) > limit) {
    throw new Finding('walltime', `one synchronous turn took ${worst.wall.toFixed(0)} ms wall / ${worst.cpu.toFixed(0)} ms CPU ` +
      `(slice ${DEFAULT_SLICE_MS} ms + margin ${SLICE_MARGIN_MS} ms) of ${m.turns.length} turns: ${what}`);
  }
}

const bump = (c: Counters, k: string, n = 1): void => { c[k] = (c[k] ?? 0) + n; };

export const walltimeTarget: Target<WallInput> = {
  name: 'walltime',
  description: 'a run\'s time against its counted work (instructions, helper calls, console bytes) and every synchronous turn against the 5 ms slice, for printf/store/memcpy/fmt loops on a sliced Board',
  allowed: [],
  generate,
  run(input, counters) {
    const m = measureRun(input);
    if (m.report) {
      bump(counters, m.report.fault ? `fault${m.report.fault.code}` : m.report.status);
      if (m.report.turns > 1) bump(counters, 'sliced');
      bump(counters, 'turns', m.turns.length);
    }
    checkWallTime(input, m);
  },
};
