/**
 * The fuzzing engine: targets, time-sliced round robin, findings.
 *
 * A target generates one input per case from an Rng seeded by (run seed, target name, case
 * index) — so any case can be regenerated from those three numbers — and runs it, throwing a
 * `Finding` when a property breaks. Anything else a target's run throws is a finding too (kind
 * `harness`: the property code itself met something it did not expect). Uncaught exceptions and
 * unhandled rejections while a target runs are findings of that target.
 *
 * Findings are saved (input included) as JSON under the findings folder with the command that
 * replays them; similar findings (same target, kind and first message line) are saved at most
 * `maxSavedPerKind` times but all counted.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from './rng';

export type FindingKind =
  | 'untyped-error' // an exception outside the target's allowed set escaped
  | 'budget' // a run executed more instructions than its budget
  | 'tier-mismatch' // interpreter and compiled tier disagree
  | 'write-outside' // bytes changed outside the regions the container may write
  | 'soundness' // a verified program did something the verifier rules out
  | 'invariant' // a result broke a documented invariant (round trip, bounds, …)
  | 'unresponsive' // the device stopped answering
  | 'slow' // one case took longer than the slow limit
  | 'walltime' // a run's time out of proportion to its work, or one synchronous turn too long
  | 'crash' // an uncaught exception / unhandled rejection
  | 'harness'; // the property code threw

export class Finding extends Error {
  constructor(readonly kind: FindingKind, message: string, readonly detail?: unknown) {
    super(message);
    this.name = 'Finding';
  }
}

/** Per-target counters a target may bump (accepted/rejected inputs and the like). */
export type Counters = Record<string, number>;

export interface Target<I = unknown> {
  name: string;
  description: string;
  /** Error classes the code under test may throw for this target (documentation and the table). */
  allowed: readonly string[];
  /**
   * Share of the run's time relative to the other targets (default 1): a target whose cases are
   * slow (the sandbox starts clang) gets more so that it still runs a useful number of them.
   */
  weight?: number;
  setup?(): Promise<void> | void;
  teardown?(): Promise<void> | void;
  generate(rng: Rng, caseIndex: number): I;
  run(input: I, counters: Counters): void | Promise<void>;
}

// ---- serialisation of inputs ---------------------------------------------------------------------

export function toJsonSafe(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $hex: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') };
  if (typeof v === 'bigint') return { $big: v.toString() };
  if (typeof v === 'number' && !Number.isFinite(v)) return { $num: String(v) };
  if (v === undefined) return { $undef: 1 };
  if (Array.isArray(v)) return v.map(toJsonSafe);
  if (v instanceof Map) return { $map: [...v.entries()].map(([k, x]) => [toJsonSafe(k), toJsonSafe(x)]) };
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toJsonSafe(x);
    return out;
  }
  return v;
}

export function fromJsonSafe(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromJsonSafe);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.$hex === 'string') return new Uint8Array(Buffer.from(o.$hex, 'hex'));
    if (typeof o.$big === 'string') return BigInt(o.$big);
    if (typeof o.$num === 'string') return Number(o.$num);
    if (o.$undef === 1) return undefined;
    if (Array.isArray(o.$map)) return new Map((o.$map as unknown[][]).map(([k, x]) => [fromJsonSafe(k), fromJsonSafe(x)]));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = fromJsonSafe(x);
    return out;
  }
  return v;
}

// ---- running --------------------------------------------------------------------------------------

export interface FuzzOptions {
  targets: Target[];
  seconds: number;
  seed: number;
  findingsDir?: string;
  /** Slow-case limit in ms (a case taking longer is a finding). */
  slowMs?: number;
  /** Stop a target after this many cases (deterministic runs); default: time only. */
  maxCases?: number;
  /** First case index (default 0). */
  firstCase?: number;
  maxSavedPerKind?: number;
  log?: (line: string) => void;
  /** Round-robin slice per target, ms. */
  sliceMs?: number;
  /**
   * Known issues (each with a regression test): findings whose "target kind message" matches
   * are counted apart and do not fail the run. One sample of each is still saved.
   */
  known?: readonly KnownIssue[];
}

export interface KnownIssue {
  pattern: RegExp;
  /** Where it is pinned down, e.g. the regression test's title. */
  note: string;
}

export interface FindingRecord {
  target: string;
  seed: number;
  case: number;
  kind: FindingKind;
  message: string;
  file?: string;
  /** The known issue it matched, if any. */
  known?: string;
}

export interface TargetReport {
  name: string;
  cases: number;
  ms: number;
  casesPerSecond: number;
  findings: number;
  /** Findings matching a known issue. */
  known: number;
  counters: Counters;
  slowestMs: number;
  setupError?: string;
}

export interface FuzzReport {
  seed: number;
  targets: TargetReport[];
  findings: FindingRecord[];
  /** Findings that matched a known issue. */
  known: FindingRecord[];
  ms: number;
}

export function defaultFindingsDir(): string {
  return path.join(os.tmpdir(), 'femto-fuzz-findings');
}

export const RUNNER = 'node dist/test/fuzz/run.js';

interface Live {
  target: Target;
  report: TargetReport;
  next: number;
  shareMs: number;
  spentMs: number;
  done: boolean;
}

function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.constructor?.name ?? 'Error'}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 8).join('\n')}`;
  return `non-Error thrown: ${String(e)}`;
}

export class FindingSink {
  readonly records: FindingRecord[] = [];
  readonly knownRecords: FindingRecord[] = [];
  private readonly saved = new Map<string, number>();
  constructor(private readonly dir: string, private readonly maxPerKind: number, private readonly log: (l: string) => void,
    private readonly known: readonly KnownIssue[] = []) {}

  add(target: Target, seed: number, caseIndex: number, kind: FindingKind, message: string, input: unknown): FindingRecord {
    const rec: FindingRecord = { target: target.name, seed, case: caseIndex, kind, message };
    const k = this.known.find((x) => x.pattern.test(`${target.name} ${kind} ${message}`));
    if (k) rec.known = k.note;
    const key = `${target.name}/${kind}/${message.split('\n')[0].replace(/\d+/g, 'N').slice(0, 120)}`;
    const n = this.saved.get(key) ?? 0;
    this.saved.set(key, n + 1);
    if (n < (k ? 1 : this.maxPerKind)) {
      fs.mkdirSync(this.dir, { recursive: true });
      const file = path.join(this.dir, `${target.name}-${kind}-s${seed}-c${caseIndex}.json`);
      const body = {
        target: target.name, seed, case: caseIndex, kind, message,
        replay: `${RUNNER} --replay ${file}`,
        regenerate: `${RUNNER} --target ${target.name} --seed ${seed} --case ${caseIndex}`,
        input: toJsonSafe(input),
      };
      fs.writeFileSync(file, JSON.stringify(body, null, 1));
      rec.file = file;
      this.log(`${k ? 'known issue' : 'FINDING'} ${target.name} case ${caseIndex} [${kind}] ${message.split('\n')[0]}${k ? ` (${k.note})` : ''}\n  saved ${file}\n  replay: ${body.replay}`);
    }
    (k ? this.knownRecords : this.records).push(rec);
    return rec;
  }
}

/** Run one case of a target; returns the finding (kind, message) or null. */
export async function runCase(target: Target, input: unknown, counters: Counters): Promise<{ kind: FindingKind; message: string } | null> {
  try {
    await target.run(input, counters);
    return null;
  } catch (e) {
    if (e instanceof Finding) return { kind: e.kind, message: e.message };
    return { kind: 'harness', message: describeError(e) };
  }
}

let currentTarget: string | undefined;
let pendingCrash: string[] = [];
const onUncaught = (e: unknown): void => {
  pendingCrash.push(`uncaught exception${currentTarget ? ` while ${currentTarget} ran` : ''}: ${describeError(e)}`);
};
const onRejection = (e: unknown): void => {
  pendingCrash.push(`unhandled rejection${currentTarget ? ` while ${currentTarget} ran` : ''}: ${describeError(e)}`);
};

/** Round-robin the targets for `seconds` in total (shared by weight, equally by default), collecting findings. */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const sink = new FindingSink(opts.findingsDir ?? defaultFindingsDir(), opts.maxSavedPerKind ?? 3, log, opts.known);
  const slowMs = opts.slowMs ?? 10_000;
  const sliceMs = opts.sliceMs ?? 500;
  const t0 = Date.now();
  const totalMs = opts.seconds * 1000;
  const totalWeight = opts.targets.reduce((sum, t) => sum + (t.weight ?? 1), 0);
  const lives: Live[] = opts.targets.map((t) => ({
    target: t,
    report: { name: t.name, cases: 0, ms: 0, casesPerSecond: 0, findings: 0, known: 0, counters: {}, slowestMs: 0 },
    next: opts.firstCase ?? 0,
    shareMs: (totalMs * (t.weight ?? 1)) / totalWeight,
    spentMs: 0,
    done: false,
  }));
  const record = (l: Live, caseIndex: number, kind: FindingKind, message: string, input: unknown): void => {
    const rec = sink.add(l.target, opts.seed, caseIndex, kind, message, input);
    if (rec.known) l.report.known++;
    else l.report.findings++;
  };
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejection);
  try {
    for (const l of lives) {
      try {
        currentTarget = l.target.name;
        await l.target.setup?.();
      } catch (e) {
        l.done = true;
        l.report.setupError = describeError(e);
        record(l, -1, 'harness', `setup failed: ${describeError(e)}`, null);
      }
    }
    while (lives.some((l) => !l.done)) {
      for (const l of lives) {
        if (l.done) continue;
        currentTarget = l.target.name;
        const sliceStart = Date.now();
        const sliceEnd = sliceStart + Math.min(sliceMs, l.shareMs - l.spentMs);
        do {
          const idx = l.next++;
          const rng = new Rng(opts.seed, l.target.name, idx);
          let input: unknown;
          const c0 = Date.now();
          let finding: { kind: FindingKind; message: string } | null;
          try {
            input = l.target.generate(rng, idx);
            finding = await runCase(l.target, input, l.report.counters);
          } catch (e) {
            finding = { kind: 'harness', message: `generate failed: ${describeError(e)}` };
          }
          const took = Date.now() - c0;
          l.report.slowestMs = Math.max(l.report.slowestMs, took);
          if (!finding && took > slowMs) finding = { kind: 'slow', message: `case took ${took} ms (limit ${slowMs} ms)` };
          if (pendingCrash.length) {
            const crash = pendingCrash.join('\n');
            pendingCrash = [];
            record(l, idx, 'crash', crash, input);
          }
          if (finding) {
            record(l, idx, finding.kind, finding.message, input);
          }
          l.report.cases++;
          if (opts.maxCases !== undefined && l.report.cases >= opts.maxCases) break;
        } while (Date.now() < sliceEnd);
        l.spentMs += Date.now() - sliceStart;
        if (l.spentMs >= l.shareMs || (opts.maxCases !== undefined && l.report.cases >= opts.maxCases)) l.done = true;
      }
    }
  } finally {
    for (const l of lives) {
      try {
        currentTarget = l.target.name;
        await l.target.teardown?.();
      } catch (e) {
        record(l, -1, 'harness', `teardown failed: ${describeError(e)}`, null);
      }
    }
    // Late crashes (a socket error after the last case) still count.
    await new Promise((r) => setTimeout(r, 50));
    if (pendingCrash.length) {
      record(lives[lives.length - 1], -1, 'crash', pendingCrash.join('\n'), null);
      pendingCrash = [];
    }
    currentTarget = undefined;
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejection);
  }
  for (const l of lives) {
    l.report.ms = l.spentMs;
    l.report.casesPerSecond = l.spentMs > 0 ? (l.report.cases * 1000) / l.spentMs : 0;
  }
  return { seed: opts.seed, targets: lives.map((l) => l.report), findings: sink.records, known: sink.knownRecords, ms: Date.now() - t0 };
}

/** Replay one input on a target (with setup/teardown); returns the finding or null. */
export async function replay(target: Target, input: unknown): Promise<{ kind: FindingKind; message: string } | null> {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejection);
  currentTarget = target.name;
  try {
    await target.setup?.();
    const counters: Counters = {};
    const r = await runCase(target, input, counters);
    await new Promise((res) => setTimeout(res, 50));
    if (pendingCrash.length) {
      const msg = pendingCrash.join('\n');
      pendingCrash = [];
      return { kind: 'crash', message: msg };
    }
    return r;
  } finally {
    await target.teardown?.();
    currentTarget = undefined;
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejection);
  }
}

/** The per-target table. */
export function formatReport(r: FuzzReport): string {
  const rows = [['target', 'cases', 'seconds', 'cases/s', 'findings', 'known', 'slowest ms', 'notes']];
  for (const t of r.targets) {
    const notes = Object.entries(t.counters).sort((a, b) => a[0].localeCompare(b[0])).map(([k, v]) => `${k}=${v}`).join(' ');
    rows.push([t.name, String(t.cases), (t.ms / 1000).toFixed(1), t.casesPerSecond.toFixed(1), String(t.findings), String(t.known), String(t.slowestMs), notes]);
  }
  const last = rows[0].length - 1;
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => (i === last ? 0 : row[i].length))));
  return rows.map((row) => row.map((c, i) => (i === last ? c : i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}
