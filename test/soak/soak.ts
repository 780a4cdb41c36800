/**
 * Hostile-container soak: `npm run soak -- --minutes N`.
 *
 * A real Node-RED 4.1 process (started as lib/start.ts does: its own red.js, no shell, a settings
 * file from lib/start's settingsFile, here in a temporary user folder on a free loopback port) runs
 * a generated flow: 10 femto-boards (nrf52840dk on the RIOT 2022 profile and native on RFC 9669,
 * alternately) with 10 containers each, a third of them hostile:
 *
 *   loop            infinite loop (−8: the instruction budget, or RIOT's 200 taken branches)
 *   oob             out-of-bounds storm: bursts of 8-byte writes to unmapped, read-only and
 *                   just-past-the-end addresses, 64-bit ones included (−2)
 *   wild-helper     memcpy, fetch_local, saul_reg_read/write, fmt_u32_dec, printf and
 *                   ztimer_periodic_wakeup with wild pointers and lengths (−2)
 *   printf-hostile  hostile formats: huge widths and precisions, %n, every length modifier, wild
 *                   %s pointers, unterminated and over-long formats (exit with a capped length, or −2)
 *   store           store exhaustion: fills its local and the board's global store (r0 = 16016)
 *   recursion       deepest local-call recursion: depth 7 returns, 8 and 1000 fault (−4) (native);
 *                   on the RIOT profile (no local calls) a division by zero instead (−9)
 *   max-size        an image that fills the board's slot to the byte (r0 = x + N)
 *   hot-swap        msg.image every second, rotating: two programs, a max-size one, an image the
 *                   verifier rejects (jump-target), one a byte… 8 bytes too big for the slot (slot),
 *                   and an infinite loop (accepted, then −8 on every run)
 *   quarantine      faults with quarantine after 3; msg.reset every 10th message (−2 ×3, then
 *                   "quarantined" ×6)
 *   sensor-hostile  on the sensor hook (runs fired by the board, errors via node.error): alternately
 *                   an infinite loop (−8) and a wild read (−2)
 *   printf-flood    printf("%64d%64d%64d%64d") forever without a newline, budget raised to 3e5 on
 *                   RFC 9669, once a second: −8 with the console capped (this was quadratic)
 *   spin            an endless loop with budget 1e13 on RFC 9669, one message: it must still be running
 *                   (time-sliced, progress in GET /femto/state) when the soak ends, while everything
 *                   else stays on time
 *
 * Meanwhile the soak sends the compile sandbox attacks of sandbox-attacks.ts to POST /femto/verify
 * every 5 s (each must be refused, no reply may carry the secret's marker) and one honest compile.
 *
 * and healthy ones: inc, muladd, counter (local store), checksum (a byte loop: goes to the compiled
 * tier on native), printf-ok, sensor (on the sensor hook).
 *
 * One driver function node per board, fired by an inject every 1/hz s (and one every second for
 * the hot swaps), sends each container its input with `msg.expect` (the result, or the fault key it
 * must cause) and counts what it expects in global context. Every result goes to a "check" function
 * node (compares payload with msg.expect), every error to a Catch node and a "tally" function node
 * (counts by container and code: "−2", "rejected:jump-target", "quarantined", …). An HTTP-in
 * endpoint (GET /soak/stats) serves the counters; POST /soak/stop stops the drivers so that the
 * counts settle before they are compared. Expectations of the hostile variants come from running
 * the same image on a standalone Board in this process (the oracle), and are checked against what
 * each variant was written to do, so a variant that stops being hostile fails the run.
 *
 * Measured from inside: a `-r` preload in the Node-RED process (monitorMain below, serialized into
 * the user folder) with perf_hooks.monitorEventLoopDelay (a per-second window and a cumulative
 * histogram reset when the measurement starts), heap, CPU and event-loop utilisation, written as
 * JSON lines every second. From outside: GET /flows latency every second. The soak process's own
 * event-loop delay is reported as a control: this process is idle, so its delay is the machine's
 * scheduling noise (a shared 2-core box), not Node-RED's.
 *
 * Requirements (exit 1 when one fails): loop delay p99 < 20 ms; heap stable (mean of the last
 * third of the heap samples within 20% of the middle third's); every healthy result correct and
 * none missing; every fault reported exactly once with the expected code; admin API answered every
 * request; Node-RED shut down cleanly. Output: a human summary and a JSON report (--out FILE).
 *
 * Options: --minutes N | --seconds N (default 10 min), --boards 10, --per-board 10, --hz 10,
 * --warmup 10 (s), --out FILE, --json (report on stdout), --keep (keep the temporary user folder).
 *
 * This module also holds what test/soak/load.ts reuses: starting Node-RED with the monitor,
 * deploying, reading the monitor's lines, statistics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { nodeRedEntry, settingsFile } from '../../lib/start';
import { assemble } from '../../vm/assembler';
import { buildImage } from '../../vm/image';
import { createBoard, type BoardConfig } from '../../lib/node-support/board-config';
import { ROOT } from '../util/paths';
import { freePort } from '../util/net';
import { HONEST_C, sandboxAttacks } from './sandbox-attacks';
export { freePort };

// ================================================================================================
// The monitor inside Node-RED (serialized with Function.prototype.toString: self-contained).

export interface MonitorConfig {
  /** JSON lines go here. */
  out: string;
  /** Commands ("gc", "mark" and a token number), polled every 100 ms. */
  cmdFile: string;
  intervalMs: number;
  /** monitorEventLoopDelay resolution; the histogram records whole intervals, so this is subtracted. */
  resolutionMs: number;
  /** Absolute path of dist/lib/node-support/registry.js: count board runs and samples (load test). */
  registryPath?: string;
}

/** One line the monitor writes. Times in ms, memory in bytes, CPU in µs (of the window). */
export interface MetricLine {
  kind: 'start' | 'tick' | 'gc' | 'mark';
  token?: number;
  seq: number;
  /** Date.now() and ms since the monitor started. */
  t: number;
  up: number;
  /** Window (since the previous tick): loop delay in ms (interval minus the resolution). */
  loop?: { p50: number; p99: number; max: number; mean: number; count: number };
  /** Since the last mark. */
  cum?: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number; count: number };
  /** Event-loop utilisation of the window (0…1). */
  elu?: number;
  /** GC events in the window (PerformanceObserver 'gc' entries): how many, their summed and longest duration (ms; a major GC's duration includes its concurrent phases, so it bounds the pause from above). */
  gc?: { count: number; ms: number; max: number };
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  cpuUser?: number;
  cpuSystem?: number;
  /** Cumulative counters from the boards (with registryPath). */
  runs?: number;
  faults?: number;
  samples?: number;
  boards?: number;
  containers?: number;
}

export function monitorMain(cfg: MonitorConfig): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  // Worker threads (the compiled tier's translator) inherit the -r preload: only the main thread,
  // Node-RED's event loop, is measured; a worker writing its own ticks would garble the figures.
  if (!(require('node:worker_threads') as typeof import('node:worker_threads')).isMainThread) return;
  const ph = require('node:perf_hooks') as typeof import('node:perf_hooks');
  const fsm = require('node:fs') as typeof import('node:fs');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const res = cfg.resolutionMs;
  const win = ph.monitorEventLoopDelay({ resolution: res });
  let cum = ph.monitorEventLoopDelay({ resolution: res });
  win.enable();
  cum.enable();
  const t0 = ph.performance.now();
  let seq = 0;
  let cpu = process.cpuUsage();
  let elu = ph.performance.eventLoopUtilization();
  let runs = 0, faults = 0, samples = 0;
  // Garbage-collection pauses of the window (a long pause shows up as loop delay too).
  let gcCount = 0, gcMs = 0, gcMax = 0;
  const gcObs = new ph.PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcCount++;
      gcMs += e.duration;
      if (e.duration > gcMax) gcMax = e.duration;
    }
  });
  gcObs.observe({ entryTypes: ['gc'] });
  let reg: { entries(): { board: any; containers: Map<string, unknown> }[] } | undefined;
  const seen = new WeakSet<object>();
  // Samples and runs are counted from each board's own counters: a 'sample' or 'result' listener
  // would make every board build an event or a fresh report per reading and run, which Node-RED
  // itself does not (its registry reads the last ones, each node takes its own container's).
  const samplesSeen = new WeakMap<object, number>();
  const runsSeen = new WeakMap<object, number>();
  const ms = (ns: number): number => Math.max(0, Math.round((ns / 1e6 - res) * 1000) / 1000);
  const mem = (): { heapUsed: number; heapTotal: number; rss: number; external: number } => {
    const m = process.memoryUsage();
    return { heapUsed: m.heapUsed, heapTotal: m.heapTotal, rss: m.rss, external: m.external };
  };
  const write = (o: Record<string, unknown>): void => {
    try {
      fsm.appendFileSync(cfg.out, JSON.stringify({ seq: seq++, t: Date.now(), up: Math.round(ph.performance.now() - t0), ...o }) + '\n');
    } catch {
      // The harness went away: nothing to report to.
    }
  };
  const attach = (): { boards: number; containers: number } | undefined => {
    if (!cfg.registryPath) return undefined;
    if (!reg) {
      const m = require.cache[cfg.registryPath];
      if (!m) return { boards: 0, containers: 0 };
      reg = (m.exports as { registry: typeof reg }).registry;
    }
    let boards = 0, containers = 0;
    for (const e of reg!.entries()) {
      boards++;
      containers += e.containers.size;
      const n = Number(e.board.samples) || 0;
      samples += n - (samplesSeen.get(e.board) ?? 0);
      samplesSeen.set(e.board, n);
      const k = Number(e.board.reportsMade) || 0;
      runs += k - (runsSeen.get(e.board) ?? 0);
      runsSeen.set(e.board, k);
      if (!seen.has(e.board)) {
        seen.add(e.board);
        e.board.on('fault', () => {
          faults++;
        });
      }
    }
    return { boards, containers };
  };
  const tick = (): void => {
    const c = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    const e = ph.performance.eventLoopUtilization(elu);
    elu = ph.performance.eventLoopUtilization();
    const counts = attach();
    const line = {
      kind: 'tick',
      loop: { p50: ms(win.percentile(50)), p99: ms(win.percentile(99)), max: ms(win.max), mean: ms(win.mean), count: win.count },
      cum: {
        p50: ms(cum.percentile(50)), p90: ms(cum.percentile(90)), p99: ms(cum.percentile(99)), p999: ms(cum.percentile(99.9)),
        max: ms(cum.max), mean: ms(cum.mean), count: cum.count,
      },
      elu: Math.round(e.utilization * 10000) / 10000,
      gc: { count: gcCount, ms: Math.round(gcMs * 100) / 100, max: Math.round(gcMax * 100) / 100 },
      ...mem(),
      cpuUser: c.user,
      cpuSystem: c.system,
      ...(counts ? { runs, faults, samples, ...counts } : {}),
    };
    // Reset before writing: a delay caused by the write itself (a GC) belongs to the next window.
    win.reset();
    gcCount = 0;
    gcMs = 0;
    gcMax = 0;
    write(line);
  };
  const timer = setInterval(tick, cfg.intervalMs);
  timer.unref();
  // Commands: the harness rewrites cmdFile ("gc 3", "mark 4", "gc mark 5"); polled, because
  // Node-RED treats SIGUSR2 (and SIGHUP, SIGINT, SIGTERM) as "stop".
  let lastToken = 0;
  const poll = setInterval(() => {
    let cmd = '';
    try {
      cmd = fsm.readFileSync(cfg.cmdFile, 'utf8');
    } catch {
      return;
    }
    const token = Number((/\d+/.exec(cmd) ?? ['0'])[0]);
    if (!(token > lastToken)) return;
    lastToken = token;
    if (/\bgc\b/.test(cmd)) {
      const g = (globalThis as unknown as { gc?: () => void }).gc;
      if (g) {
        g();
        g();
      }
      write({ kind: 'gc', token, gcAvailable: !!g, ...mem() });
    }
    if (/\bmark\b/.test(cmd)) {
      cum.disable();
      cum = ph.monitorEventLoopDelay({ resolution: res });
      cum.enable();
      win.reset();
      cpu = process.cpuUsage();
      elu = ph.performance.eventLoopUtilization();
      write({ kind: 'mark', token, ...mem() });
    }
  }, 100);
  poll.unref();
  write({ kind: 'start', pid: process.pid, ...mem() });
}

// ================================================================================================
// Node-RED as a child process.

export interface NodeRed {
  port: number;
  url: string;
  pid: number;
  userDir: string;
  metricsFile: string;
  logFile: string;
  child: ChildProcess;
  /** Ask the monitor to "gc" / "mark" (or both); resolves with its line. */
  command(cmd: string, timeoutMs?: number): Promise<MetricLine>;
  metrics(): MetricLine[];
  exited(): boolean;
  /** SIGTERM by pid; SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: string | null; ms: number; killed: boolean }>;
}


/** lib/start's settings (loopback by default) with room for large deploys. */
export function soakSettings(userDir: string): string {
  const base = settingsFile(ROOT, userDir);
  const marker = 'module.exports = {\n';
  if (!base.includes(marker)) throw new Error('lib/start settingsFile changed shape: cannot add apiMaxLength');
  return base.replace(marker, `${marker}    apiMaxLength: '200mb',\n`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startNodeRed(opts: { label: string; intervalMs?: number; resolutionMs?: number; countRuns?: boolean; maxOldSpaceMb?: number; nodeArgs?: string[] }): Promise<NodeRed> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), `femto-${opts.label}-`));
  const settings = path.join(userDir, 'settings.js');
  fs.writeFileSync(settings, soakSettings(userDir));
  const metricsFile = path.join(userDir, 'metrics.jsonl');
  const cmdFile = path.join(userDir, 'monitor.cmd');
  const logFile = path.join(userDir, 'node-red.log');
  const cfg: MonitorConfig = {
    out: metricsFile,
    cmdFile,
    intervalMs: opts.intervalMs ?? 1000,
    resolutionMs: opts.resolutionMs ?? 5,
    registryPath: opts.countRuns ? path.join(ROOT, 'dist', 'lib', 'node-support', 'registry.js') : undefined,
  };
  const preload = path.join(userDir, 'monitor.js');
  fs.writeFileSync(preload, `// Written by test/soak/soak.ts (monitorMain).\n(${monitorMain.toString()})(${JSON.stringify(cfg)});\n`);
  const port = await freePort();
  const log = fs.openSync(logFile, 'a');
  const nodeArgs = ['--expose-gc', ...(opts.maxOldSpaceMb ? [`--max-old-space-size=${opts.maxOldSpaceMb}`] : []), ...(opts.nodeArgs ?? []), '-r', preload];
  const child = spawn(process.execPath, [...nodeArgs, nodeRedEntry(ROOT), '--userDir', userDir, '--settings', settings, '--port', String(port), 'flows.json'], {
    cwd: ROOT, stdio: ['ignore', log, log], shell: false, env: { ...process.env, NODE_ENV: 'production' },
  });
  fs.closeSync(log);
  let exitInfo: { code: number | null; signal: string | null } | undefined;
  const exitWait = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
    exitInfo = { code, signal };
    resolve();
  }));
  let token = 0;
  const url = `http://127.0.0.1:${port}`;
  const readLines = (): MetricLine[] => {
    let text = '';
    try {
      text = fs.readFileSync(metricsFile, 'utf8');
    } catch {
      return [];
    }
    const out: MetricLine[] = [];
    for (const l of text.split('\n')) {
      if (!l) continue;
      try {
        out.push(JSON.parse(l) as MetricLine);
      } catch {
        // A line being written.
      }
    }
    return out;
  };
  const nr: NodeRed = {
    port, url, pid: child.pid ?? -1, userDir, metricsFile, logFile, child,
    metrics: readLines,
    exited: () => exitInfo !== undefined,
    async command(cmd, timeoutMs = 30000) {
      const tk = ++token;
      fs.writeFileSync(cmdFile + '.tmp', `${cmd} ${tk}`);
      fs.renameSync(cmdFile + '.tmp', cmdFile);
      const kind = /\bgc\b/.test(cmd) ? 'gc' : 'mark';
      const t0 = Date.now();
      for (;;) {
        const l = readLines().find((x) => x.kind === kind && x.token === tk);
        if (l) return l;
        if (exitInfo) throw new Error(`Node-RED exited (${JSON.stringify(exitInfo)}) while waiting for "${cmd}"`);
        if (Date.now() - t0 > timeoutMs) throw new Error(`monitor did not answer "${cmd}" within ${timeoutMs} ms`);
        await sleep(50);
      }
    },
    async stop(graceMs = 20000) {
      const t0 = Date.now();
      let killed = false;
      if (!exitInfo) {
        child.kill('SIGTERM');
        const t = setTimeout(() => {
          killed = true;
          child.kill('SIGKILL');
        }, graceMs);
        await exitWait;
        clearTimeout(t);
      }
      return { code: exitInfo?.code ?? null, signal: exitInfo?.signal ?? null, ms: Date.now() - t0, killed };
    },
  };
  // Ready when the admin API answers and the monitor wrote its first line.
  const t0 = Date.now();
  for (;;) {
    if (exitInfo) throw new Error(`Node-RED exited at start (${JSON.stringify(exitInfo)}); log: ${logFile}\n${tail(logFile, 20)}`);
    try {
      const r = await fetch(`${url}/flows`, { signal: AbortSignal.timeout(2000) });
      if (r.ok && readLines().some((l) => l.kind === 'start')) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() - t0 > 60000) {
      await nr.stop(2000);
      throw new Error(`Node-RED did not start within 60 s; log: ${logFile}\n${tail(logFile, 20)}`);
    }
    await sleep(200);
  }
  return nr;
}

export function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '';
  }
}

/** Full deploy over the admin API; returns the time it took (ms). */
export async function deploy(nr: NodeRed, flow: unknown[], timeoutMs = 300000): Promise<number> {
  const t0 = performance.now();
  const r = await fetch(`${nr.url}/flows`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
    body: JSON.stringify(flow),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`deploy failed: HTTP ${r.status} ${text.slice(0, 500)}`);
  return performance.now() - t0;
}

export async function getJson<T>(url: string, timeoutMs = 10000): Promise<T> {
  const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!r.ok) throw new Error(`GET ${url}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

// ================================================================================================
// Statistics.

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i];
}

export function mean(values: readonly number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}

export const r2 = (x: number): number => Math.round(x * 100) / 100;
export const mb = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;

/** The harness's own event-loop delay: an idle process, so this is the machine's scheduling noise. */
export class ControlLoop {
  private readonly h: IntervalHistogram;
  private readonly w: IntervalHistogram;
  readonly windows: { t: number; p99: number; max: number }[] = [];
  constructor(private readonly resolutionMs = 5) {
    this.h = monitorEventLoopDelay({ resolution: resolutionMs });
    this.w = monitorEventLoopDelay({ resolution: resolutionMs });
  }
  private ms(ns: number): number {
    return r2(Math.max(0, ns / 1e6 - this.resolutionMs));
  }
  start(): void {
    this.h.reset();
    this.h.enable();
    this.w.reset();
    this.w.enable();
  }
  /** Close a window (call about once a second). */
  window(): void {
    this.windows.push({ t: Date.now(), p99: this.ms(this.w.percentile(99)), max: this.ms(this.w.max) });
    this.w.reset();
  }
  stop(): { p50: number; p99: number; max: number; mean: number; count: number } {
    this.h.disable();
    this.w.disable();
    return { p50: this.ms(this.h.percentile(50)), p99: this.ms(this.h.percentile(99)), max: this.ms(this.h.max), mean: this.ms(this.h.mean), count: this.h.count };
  }
  /** Node-RED windows over `limitMs` while this idle process stayed under it in the same second. */
  attributable(lines: MetricLine[], limitMs: number): { over: number; overWhileControlCalm: number } {
    let over = 0, calm = 0;
    for (const l of lines) {
      if (!l.loop || l.loop.p99 < limitMs) continue;
      over++;
      const c = this.windows.reduce<{ t: number; p99: number } | undefined>((best, w) => (!best || Math.abs(w.t - l.t) < Math.abs(best.t - l.t) ? w : best), undefined);
      if (c && Math.abs(c.t - l.t) <= 700 && c.p99 < limitMs) calm++;
    }
    return { over, overWhileControlCalm: calm };
  }
}

export function loadAverage(): number[] {
  return os.loadavg().map(r2);
}

export function machine(): Record<string, unknown> {
  return { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, totalMemMB: mb(os.totalmem()), node: process.version, platform: `${os.platform()} ${os.release()}` };
}

/** Start-up warnings every Node-RED run with these settings logs. */
const BENIGN_LOG = [/Projects disabled/, /Using unencrypted credentials/];

/** Warnings and errors Node-RED logged (its "[warn]" / "[error]" lines and Node's own warnings). */
export function logProblems(logFile: string): { warnings: number; errors: number; samples: string[] } {
  let text = '';
  try {
    text = fs.readFileSync(logFile, 'utf8');
  } catch {
    return { warnings: 0, errors: 0, samples: [] };
  }
  let warnings = 0, errors = 0;
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const w = /\[warn\]|Warning:/.test(line);
    const e = /\[error\]|Error:|uncaught|FATAL/i.test(line) && !w;
    if (!w && !e) continue;
    if (BENIGN_LOG.some((re) => re.test(line))) continue;
    if (w) warnings++;
    else errors++;
    const key = line.replace(/^\d+ \w+ \d+:\d+:\d+ - /, '').replace(/\(node:\d+\)/, '(node)').slice(0, 200);
    samples.set(key, (samples.get(key) ?? 0) + 1);
  }
  return { warnings, errors, samples: [...samples].slice(0, 20).map(([k, n]) => (n > 1 ? `${k}  (×${n})` : k)) };
}

export interface Args {
  [k: string]: string | boolean | undefined;
}

export function parseArgs(argv: string[]): Args {
  const out: Args = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}"`);
    const eq = a.indexOf('=');
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) out[a.slice(2)] = argv[++i];
    else out[a.slice(2)] = true;
  }
  return out;
}

export function numArg(args: Args, name: string, dflt: number): number {
  const v = args[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n) || n < 0) throw new Error(`--${name} needs a number ≥ 0 (got ${String(v)})`);
  return n;
}

// ================================================================================================
// The soak flow: containers, their programs and what each input must produce.

type BoardProfileName = 'nrf52840dk' | 'native';

export const HEALTHY_KINDS = ['inc', 'muladd', 'counter', 'checksum', 'printf-ok', 'sensor'] as const;
export const HOSTILE_KINDS = ['loop', 'oob', 'wild-helper', 'printf-hostile', 'store', 'recursion', 'max-size', 'hot-swap', 'quarantine', 'sensor-hostile', 'printf-flood', 'spin'] as const;
type Kind = (typeof HEALTHY_KINDS)[number] | (typeof HOSTILE_KINDS)[number] | 'div0';

/** What one input must produce: a result (r0 as the node's int64 payload) or an error key. */
interface Expect {
  r0?: number;
  key?: string;
}

interface Variant {
  /** base64 payload bytes. */
  b64: string;
  expect: Expect;
  what: string;
}

interface SwapImage {
  b64: string;
  /** Accepted image: how r0 follows from x; rejected: the rejection key. */
  effect?: 'inc' | 'double' | 'max' | 'loop';
  reject?: string;
  what: string;
}

export interface ContainerPlan {
  id: string;
  name: string;
  kind: Kind;
  hostile: boolean;
  hook: 'flow' | 'sensor';
  out: number;
  image: Uint8Array;
  quarantineAfter: number;
  /** Instruction budget and VM profile when the kind raises them (printf-flood, spin). */
  budget?: number;
  vmProfile?: 'rfc9669';
  /** Per kind: constant k, max-size N, store result, variants, swap images, sensor result. */
  k?: number;
  n?: number;
  r0?: number;
  burst?: number;
  variants?: Variant[];
  swaps?: SwapImage[];
}

export interface BoardPlan {
  id: string;
  name: string;
  index: number;
  profile: BoardProfileName;
  slotSize: number;
  tempC: number;
  config: BoardConfig & Record<string, unknown>;
  containers: ContainerPlan[];
}

const FLOW_PAYLOAD_ADDR = 'ldxdw %r2, [%r1]';
const ADD_N = (n: number): string => Array(n).fill('add %r0, 1').join('\n');

function image(asm: string): Uint8Array {
  return buildImage({ text: assemble(asm), functions: [{ name: 'main', offset: 0 }] });
}

/**
 * An image of exactly `bytes` (+ 8 × extra): header 28 + rodata 8 ("main\0b\0" padded) + text +
 * two 6-byte function entries = 48 + 8 × insns. r0 = x + (insns − 3).
 */
export function maxSizeImage(bytes: number, extra = 0): { image: Uint8Array; n: number } {
  const insns = (bytes - 48) / 8 + extra;
  if (!Number.isInteger(insns) || insns < 4) throw new Error(`no max-size image for ${bytes} B`);
  const n = insns - 3;
  const text = assemble(`${FLOW_PAYLOAD_ADDR}\nldxdw %r0, [%r2]\n${ADD_N(n)}\nexit`);
  const img = buildImage({ text, functions: [{ name: 'main', offset: 0 }, { name: 'b', offset: (insns - 1) * 8 }] });
  if (img.length !== bytes + 8 * extra) throw new Error(`max-size image is ${img.length} B, wanted ${bytes + 8 * extra}`);
  return { image: img, n };
}

export const ASM = {
  inc: `${FLOW_PAYLOAD_ADDR}\nldxdw %r0, [%r2]\nadd %r0, 1\nexit`,
  double: `${FLOW_PAYLOAD_ADDR}\nldxdw %r0, [%r2]\nlsh %r0, 1\nexit`,
  muladd: (k: number): string => `${FLOW_PAYLOAD_ADDR}\nldxdw %r0, [%r2]\nmul %r0, 3\nadd %r0, ${k}\nexit`,
  // fetch_local(1, &v); v + 1; store_local(1, v); return v.
  counter: 'mov %r1, 1\nmov %r2, %r10\nadd %r2, -8\ncall 0x12\nldxw %r6, [%r10-8]\nadd %r6, 1\nmov %r1, 1\nmov %r2, %r6\ncall 0x10\nmov %r0, %r6\nexit',
  // Σ byte[i] × (i + 1) over the payload.
  checksum: `${FLOW_PAYLOAD_ADDR}\nldxw %r3, [%r1+8]\nmov %r0, 0\nmov %r4, 0\nloop:\njge %r4, %r3, done\nmov %r5, %r2\nadd %r5, %r4\nldxb %r5, [%r5]\nmov %r6, %r4\nadd %r6, 1\nmul %r5, %r6\nadd %r0, %r5\nadd %r4, 1\nja loop\ndone:\nexit`,
  // payload = [u64 a1][u64 a2][u64 a3][u64 a4][format…]: printf(format, a1…a4).
  printf4: 'ldxdw %r6, [%r1]\nldxdw %r2, [%r6]\nldxdw %r3, [%r6+8]\nldxdw %r4, [%r6+16]\nldxdw %r5, [%r6+24]\nmov %r1, %r6\nadd %r1, 32\ncall 1\nexit',
  // sample val[0] × 2 + k.
  sensor: (k: number): string => `ldxh %r0, [%r1+8]\nmul %r0, 2\nadd %r0, ${k}\nexit`,
  // (Each never-ending loop keeps an unreachable exit last: riot-2022, as RIOT, refuses a program
  // whose last instruction is not exit.)
  loop: 'mov %r0, 0\nloop:\nadd %r0, 1\nja loop\nexit',
  // printf("%64d%64d%64d%64d") forever, never a newline: the console flood that was once quadratic.
  printfFlood: ['mov %r1, %r10', 'add %r1, -32', 'stdw [%r1], 0', 'stdw [%r1+8], 0', 'stdw [%r1+16], 0', 'stdw [%r1+24], 0',
    'lddw %r6, 0x6434362564343625', 'stxdw [%r1], %r6', 'stxdw [%r1+8], %r6', // "%64d%64d" little-endian
    'loop:', 'mov %r1, %r10', 'add %r1, -32', 'mov %r2, 1', 'mov %r3, 2', 'mov %r4, 3', 'mov %r5, 4', 'call 1', 'ja loop', 'exit'].join('\n'),
  // payload = u64 address: an 8-byte write there.
  oob: `${FLOW_PAYLOAD_ADDR}\nldxdw %r3, [%r2]\nstdw [%r3], 1\nmov %r0, 0\nexit`,
  // payload = [u64 selector][u64 pointer][u64 length].
  wildHelper: [
    'ldxdw %r6, [%r1]', 'ldxdw %r7, [%r6]', 'ldxdw %r8, [%r6+8]', 'ldxdw %r9, [%r6+16]',
    'jeq %r7, 0, memcpy_dst', 'jeq %r7, 1, memcpy_len', 'jeq %r7, 2, memcpy_src', 'jeq %r7, 3, fetch',
    'jeq %r7, 4, saulread', 'jeq %r7, 5, saulwrite', 'jeq %r7, 6, fmt', 'jeq %r7, 7, printf', 'jeq %r7, 8, ztimer',
    'jeq %r7, 9, fetchg', 'mov %r0, 0', 'exit',
    'memcpy_dst:', 'mov %r1, %r8', 'mov %r2, %r10', 'add %r2, -16', 'mov %r3, %r9', 'call 2', 'exit',
    'memcpy_len:', 'mov %r1, %r10', 'add %r1, -64', 'mov %r2, %r10', 'add %r2, -128', 'mov %r3, %r9', 'call 2', 'exit',
    'memcpy_src:', 'mov %r1, %r10', 'add %r1, -64', 'mov %r2, %r8', 'mov %r3, %r9', 'call 2', 'exit',
    'fetch:', 'mov %r1, 5', 'mov %r2, %r8', 'call 0x12', 'exit',
    'fetchg:', 'mov %r1, 5', 'mov %r2, %r8', 'call 0x13', 'exit',
    'saulread:', 'mov %r1, 0', 'call 0x30', 'mov %r1, %r0', 'mov %r2, %r8', 'call 0x32', 'exit',
    'saulwrite:', 'mov %r1, 0', 'call 0x30', 'mov %r1, %r0', 'mov %r2, %r8', 'call 0x33', 'exit',
    'fmt:', 'mov %r1, %r8', 'mov %r2, 123456', 'call 0x51', 'exit',
    'printf:', 'mov %r1, %r8', 'call 1', 'exit',
    'ztimer:', 'mov %r1, %r8', 'mov %r2, 1000', 'call 0x61', 'exit',
  ].join('\n'),
  // Fill the local store, then the global one, until a store fails: r0 = local × 1000 + global.
  store: [
    'mov %r6, 0', 'l1:', 'mov %r1, %r6', 'add %r1, 0x1000', 'mov %r2, %r6', 'call 0x10', 'jne %r0, 0, g', 'add %r6, 1', 'jlt %r6, 64, l1',
    'g:', 'mov %r7, 0', 'l2:', 'mov %r1, %r7', 'add %r1, 0x2000', 'mov %r2, %r7', 'call 0x11', 'jne %r0, 0, done', 'add %r7, 1', 'jlt %r7, 64, l2',
    'done:', 'mov %r0, %r6', 'mul %r0, 1000', 'add %r0, %r7', 'exit',
  ].join('\n'),
  // payload = u64 depth d: f recurses while r0 < d (7 = the deepest that returns).
  recursion: `${FLOW_PAYLOAD_ADDR}\nldxdw %r6, [%r2]\nmov %r0, 0\ncall local f\nexit\nf:\njge %r0, %r6, ret\nadd %r0, 1\ncall local f\nret:\nexit`,
  div0: `${FLOW_PAYLOAD_ADDR}\nldxdw %r0, [%r2]\nmov %r3, 0\ndiv %r0, %r3\nexit`,
  quarantine: 'mov %r2, 0x10\nstw [%r2], 42\nmov %r0, 0\nexit',
  // Sensor hook: a local counter; odd runs loop forever, even runs read a wild address.
  sensorHostile: [
    'mov %r1, 7', 'mov %r2, %r10', 'add %r2, -8', 'call 0x12', 'ldxw %r7, [%r10-8]', 'add %r7, 1',
    'mov %r1, 7', 'mov %r2, %r7', 'call 0x10', 'and %r7, 1', 'jeq %r7, 1, spin',
    'lddw %r3, 0xdead0000', 'ldxdw %r0, [%r3]', 'exit', 'spin:', 'ja spin', 'exit',
  ].join('\n'),
  badJump: 'mov %r0, 1\nja +5\nexit',
};

const u64s = (vals: (bigint | number)[]): Buffer => {
  const b = Buffer.alloc(8 * vals.length);
  vals.forEach((v, i) => b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), 8 * i));
  return b;
};

/** Addresses an 8-byte write must fault on (no .data in these images; read-only regions; edges). */
const OOB_ADDRESSES: bigint[] = [
  0n, 0x10n, 0x0fff_fff8n, 0x1000_0000n, 0x2000_0000n, 0x3000_01fcn, 0x3000_0200n, 0x2fff_fffcn,
  0x4000_0000n, 0x4000_0008n, 0x5000_0000n, 0x1_3000_0000n, 0xffff_ffff_3000_0000n, 0xffff_ffff_ffff_fff8n,
  0xdead_beefn, 0x7fff_ffff_ffff_ffffn,
];

/** Wild pointers for the helpers: unmapped, above 4 GiB, read-only (for writes), across an end. */
const WILD: bigint[] = [0n, 0xdead_beefn, 0x1_3000_0000n, 0xffff_ffff_ffff_fff0n, 0x0fff_ffffn, 0x6000_0000n];

function wildHelperVariants(): { vals: bigint[]; what: string }[] {
  const v: { vals: bigint[]; what: string }[] = [];
  for (const p of [...WILD, 0x4000_0000n, 0x3000_01fcn]) v.push({ vals: [0n, p, 8n], what: `memcpy dst=0x${p.toString(16)}` });
  for (const n of [513n, 4096n, 65536n, 65537n, 1n << 40n, (1n << 64n) - 1n]) v.push({ vals: [1n, 0n, n], what: `memcpy n=${n}` });
  for (const p of WILD) v.push({ vals: [2n, p, 16n], what: `memcpy src=0x${p.toString(16)}` });
  for (const sel of [3n, 9n]) for (const p of [...WILD, 0x4000_0000n, 0x3000_01fen]) v.push({ vals: [sel, p, 0n], what: `fetch_${sel === 3n ? 'local' : 'global'} p=0x${p.toString(16)}` });
  for (const p of [...WILD, 0x4000_0000n]) v.push({ vals: [4n, p, 0n], what: `saul_reg_read p=0x${p.toString(16)}` });
  for (const p of WILD) v.push({ vals: [5n, p, 0n], what: `saul_reg_write p=0x${p.toString(16)}` });
  for (const p of [0xdead_beefn, 0x1_3000_0000n, 0x4000_0000n, 0x3000_01fen]) v.push({ vals: [6n, p, 0n], what: `fmt_u32_dec out=0x${p.toString(16)}` });
  for (const p of WILD) v.push({ vals: [7n, p, 0n], what: `printf fmt=0x${p.toString(16)}` });
  for (const p of [...WILD, 0x4000_0000n]) v.push({ vals: [8n, p, 0n], what: `ztimer_periodic_wakeup last=0x${p.toString(16)}` });
  return v;
}

/** printf(format, a1…a4): what each is meant to do; the oracle supplies the exact result. */
function printfVariants(): { fmt: Buffer; args: bigint[]; fault: boolean; what: string }[] {
  const z = (s: string): Buffer => Buffer.from(s + '\0', 'latin1');
  const wild = 0x1_dead_beefn;
  return [
    { fmt: z('%s'), args: [0xdead_beefn, 0n, 0n, 0n], fault: true, what: '%s of a wild pointer' },
    { fmt: z('%s%s%s%s'), args: [wild, wild, wild, wild], fault: true, what: '%s×4 above 4 GiB' },
    { fmt: z('%d %d %s'), args: [1n, 2n, 0x3000_0000n - 1n, 0n], fault: true, what: '%s just below the stack' },
    { fmt: Buffer.from('%d unterminated', 'latin1'), args: [1n, 0n, 0n, 0n], fault: true, what: 'format without NUL' },
    { fmt: z('%'.repeat(1500)), args: [0n, 0n, 0n, 0n], fault: true, what: '1500-byte format (limit 1024)' },
    { fmt: z('%999999999d|%-99999x|%.99999u|%*d'), args: [1n, 2n, 3n, 99999n], fault: false, what: 'huge widths and precisions' },
    { fmt: z('%n%n%n%n%hn%lln'), args: [0n, 0n, 0n, 0n], fault: false, what: '%n (unsupported: literal)' },
    { fmt: z('%lld %llx %hhd %hd %zu %jd %td %llu'), args: [-1n, 1n << 63n, 0x1ffn, 0x1ffffn], fault: false, what: 'every length modifier' },
    { fmt: z('%p %#o %+ d % 05.3x %c%c'), args: [0xdead_beefn, 8n, 42n, 7n], fault: false, what: 'flags, %p, %c' },
    { fmt: z('A'.repeat(1000)), args: [0n, 0n, 0n, 0n], fault: false, what: 'output over 512 characters (capped)' },
    { fmt: z('%s|%s'), args: [0n, 0n, 0n, 0n], fault: false, what: '%s of NULL' },
    { fmt: z('%.*s%*.*d%'), args: [5n, 0n, 30n, 3n], fault: false, what: '* precision, trailing %' },
    { fmt: z('%q%w%y%'), args: [0n, 0n, 0n, 0n], fault: false, what: 'unknown conversions' },
  ];
}

/** printf-flood: ~40,000 printfs of 256 characters (10 MB) per run, were the console not capped. */
export const PRINTF_FLOOD_BUDGET = 300_000;
/**
 * spin: an endless loop with a budget no soak outlasts. (A budget of 1e10 is minutes on the
 * interpreter but seconds once the compiled tier runs this loop, so the soak uses 1e13.)
 */
export const SPIN_BUDGET = 1e13;

/** Plan boards and containers: `perBoard` each, every third container (index ≡ 1 mod 3) hostile. */
export function planSoak(boards: number, perBoard: number): BoardPlan[] {
  if (perBoard < 1 || perBoard > 60) throw new Error('--per-board must be 1…60');
  const plans: BoardPlan[] = [];
  let h = 0, ok = 0;
  for (let b = 0; b < boards; b++) {
    const profile: BoardProfileName = b % 2 === 0 ? 'nrf52840dk' : 'native';
    const slotSize = profile === 'native' ? 4096 : 2048;
    const tempC = 20 + (b % 10);
    const id = `soak-b${String(b).padStart(2, '0')}`;
    const config = {
      id, type: 'femto-board', name: `soak board ${b} (${profile})`, profile, storeCapacity: 16, globalScope: 'board',
      timerPeriodMs: 0, samplePeriodMs: 0, slots: perBoard,
      devices: [{ name: 'soak temp', kind: 'temperature', source: 'constant', value: tempC }],
    };
    const plan: BoardPlan = { id, name: config.name, index: b, profile, slotSize, tempC, config, containers: [] };
    for (let j = 0; j < perBoard; j++) {
      const g = b * perBoard + j;
      const hostile = g % 3 === 1;
      let kind: Kind = hostile ? HOSTILE_KINDS[h++ % HOSTILE_KINDS.length] : HEALTHY_KINDS[ok++ % HEALTHY_KINDS.length];
      if (kind === 'recursion' && profile !== 'native') kind = 'div0';
      const cid = `${id}-c${String(j).padStart(2, '0')}`;
      const c: ContainerPlan = {
        id: cid, name: `${kind} ${b}.${j}`, kind, hostile, hook: kind === 'sensor' || kind === 'sensor-hostile' ? 'sensor' : 'flow', out: j,
        image: new Uint8Array(0), quarantineAfter: kind === 'quarantine' ? 3 : hostile ? 0 : 3,
      };
      if (kind === 'printf-flood') { c.vmProfile = 'rfc9669'; c.budget = PRINTF_FLOOD_BUDGET; }
      if (kind === 'spin') { c.vmProfile = 'rfc9669'; c.budget = SPIN_BUDGET; }
      buildContainer(c, plan, g);
      plan.containers.push(c);
    }
    plans.push(plan);
  }
  return plans;
}

function buildContainer(c: ContainerPlan, b: BoardPlan, g: number): void {
  const b64 = (x: Uint8Array): string => Buffer.from(x).toString('base64');
  switch (c.kind) {
    case 'inc': c.image = image(ASM.inc); break;
    case 'muladd': c.k = 1000 + g; c.image = image(ASM.muladd(c.k)); break;
    case 'counter': c.image = image(ASM.counter); break;
    case 'checksum': c.image = image(ASM.checksum); break;
    case 'printf-ok': c.image = image(ASM.printf4); break;
    case 'sensor': c.k = g; c.image = image(ASM.sensor(c.k)); break;
    case 'loop': case 'spin': c.image = image(ASM.loop); break;
    case 'printf-flood': c.image = image(ASM.printfFlood); break;
    case 'oob':
      c.image = image(ASM.oob);
      c.burst = 5;
      c.variants = OOB_ADDRESSES.map((a) => ({ b64: b64(u64s([a])), expect: { key: '-2' }, what: `write 0x${a.toString(16)}` }));
      break;
    case 'wild-helper':
      c.image = image(ASM.wildHelper);
      c.variants = wildHelperVariants().map((v) => ({ b64: b64(u64s(v.vals)), expect: { key: '-2' }, what: v.what }));
      break;
    case 'printf-hostile':
      c.image = image(ASM.printf4);
      c.variants = printfVariants().map((v) => ({ b64: b64(Buffer.concat([u64s(v.args), v.fmt])), expect: v.fault ? { key: '-2' } : {}, what: v.what }));
      break;
    case 'store': c.image = image(ASM.store); c.r0 = 16016; break;
    case 'recursion':
      c.image = image(ASM.recursion);
      c.variants = [
        { b64: b64(u64s([7])), expect: { r0: 7 }, what: 'depth 8 (the limit): returns' },
        { b64: b64(u64s([3])), expect: { r0: 3 }, what: 'depth 4' },
        { b64: b64(u64s([8])), expect: { key: '-4' }, what: 'depth 9: one too deep' },
        { b64: b64(u64s([1000])), expect: { key: '-4' }, what: 'depth 1000' },
      ];
      break;
    case 'div0': c.image = image(ASM.div0); break;
    case 'max-size': {
      const m = maxSizeImage(b.slotSize);
      c.image = m.image;
      c.n = m.n;
      break;
    }
    case 'hot-swap': {
      const m = maxSizeImage(b.slotSize);
      const over = maxSizeImage(b.slotSize, 1);
      c.image = image(ASM.inc);
      c.n = m.n;
      c.swaps = [
        { b64: b64(image(ASM.double)), effect: 'double', what: 'x × 2' },
        { b64: b64(image(ASM.badJump)), reject: 'rejected:jump-target', what: 'jump outside the program' },
        { b64: b64(m.image), effect: 'max', what: `max-size (${m.image.length} B)` },
        { b64: b64(over.image), reject: 'rejected:slot', what: `${over.image.length} B: too big for the slot` },
        { b64: b64(image(ASM.loop)), effect: 'loop', what: 'infinite loop' },
        { b64: b64(image(ASM.inc)), effect: 'inc', what: 'x + 1' },
      ];
      break;
    }
    case 'quarantine': c.image = image(ASM.quarantine); break;
    case 'sensor-hostile': c.image = image(ASM.sensorHostile); break;
  }
}

/**
 * The oracle: run each variant on a standalone board built from the same settings, and check it
 * does what it was written to do (a fault with the intended code, or an exit). Fills in r0 for the
 * exits and the sensor results. Throws when a variant is not what it claims.
 */
export function computeExpectations(plans: BoardPlan[]): void {
  for (const b of plans) {
    for (const c of b.containers) {
      const board = createBoard({ ...b.config, name: 'oracle' });
      if (c.kind === 'spin') continue; // 1e10 instructions: checked in the soak itself (still running, Node-RED answering)
      board.install({ id: 'x', image: c.image, hook: c.hook, quarantineAfter: 0, device: c.hook === 'sensor' ? 'soak temp' : undefined, budget: c.budget, profile: c.vmProfile });
      const runFlow = (payload: Uint8Array): Expect => {
        const r = board.runFlow('x', payload);
        if (r.status === 'fault') return { key: String(r.fault!.code) };
        if (r.status !== 'exit') throw new Error(`${c.name}: oracle run ${r.status}`);
        return { r0: Number(BigInt.asIntN(64, r.r0)) };
      };
      for (const v of c.variants ?? []) {
        const got = runFlow(Buffer.from(v.b64, 'base64'));
        if (v.expect.key !== undefined && got.key !== v.expect.key) throw new Error(`${c.kind} variant "${v.what}": expected fault ${v.expect.key}, oracle got ${JSON.stringify(got)}`);
        if (v.expect.key === undefined && got.key !== undefined) throw new Error(`${c.kind} variant "${v.what}": expected an exit, oracle got fault ${got.key}`);
        if (v.expect.r0 !== undefined && got.r0 !== v.expect.r0) throw new Error(`${c.kind} variant "${v.what}": expected r0 ${v.expect.r0}, oracle got ${got.r0}`);
        v.expect = got;
      }
      const x = 123456789;
      const one = (expect: Expect): void => {
        const got = runFlow(u64s([x]));
        if (JSON.stringify(got) !== JSON.stringify(expect)) throw new Error(`${c.kind}: expected ${JSON.stringify(expect)}, oracle got ${JSON.stringify(got)}`);
      };
      if (c.kind === 'store') {
        one({ r0: c.r0 });
        one({ r0: c.r0 });
      }
      if (c.kind === 'max-size') one({ r0: x + c.n! });
      if (c.kind === 'loop') one({ key: '-8' });
      if (c.kind === 'printf-flood') {
        const lines: string[] = [];
        board.on('console', (e: { line: string }) => lines.push(e.line));
        one({ key: '-8' });
        const bytes = lines.reduce((a, l) => a + l.length, 0);
        if (bytes > 8192 || !lines.some((l) => l.startsWith('… truncated'))) throw new Error(`printf-flood: console not capped (${lines.length} lines, ${bytes} B)`);
      }
      if (c.kind === 'div0') one({ key: '-9' });
      if (c.kind === 'quarantine') one({ key: '-2' });
      if (c.kind === 'hot-swap') {
        for (const s of c.swaps!) {
          let verdict = 'accepted';
          try {
            board.replaceImage('x', Buffer.from(s.b64, 'base64'));
          } catch (e) {
            const err = e as { rule?: string; code?: string };
            verdict = `rejected:${err.rule ?? err.code ?? 'error'}`;
          }
          if ((s.reject ?? 'accepted') !== verdict) throw new Error(`hot-swap image "${s.what}": expected ${s.reject ?? 'accepted'}, oracle ${verdict}`);
          if (s.effect) {
            const want: Expect = s.effect === 'loop' ? { key: '-8' } : { r0: s.effect === 'inc' ? x + 1 : s.effect === 'double' ? 2 * x : x + c.n! };
            one(want);
          }
        }
      }
      if (c.hook === 'sensor') {
        const results: Expect[] = [];
        board.on('result', (r: { status: string; r0: bigint; fault?: { code: number } }) => {
          results.push(r.status === 'fault' ? { key: String(r.fault!.code) } : { r0: Number(BigInt.asIntN(64, r.r0)) });
        });
        board.sampleSensor('soak temp');
        board.sampleSensor('soak temp');
        if (c.kind === 'sensor') {
          const want = b.tempC * 100 * 2 + c.k!;
          if (results.length !== 2 || results.some((r) => r.r0 !== want)) throw new Error(`sensor: expected r0 ${want} twice, oracle ${JSON.stringify(results)}`);
          c.r0 = want;
        } else if (JSON.stringify(results) !== JSON.stringify([{ key: '-8' }, { key: '-2' }])) {
          throw new Error(`sensor-hostile: expected −8 then −2, oracle ${JSON.stringify(results)}`);
        }
      }
      board.stop();
    }
  }
}

// ---- the flow's function nodes (serialized: self-contained, they run inside Node-RED) ------------

/** Shared counters in global context "soak". */
interface SoakStats {
  started: number;
  stopped: boolean;
  ticks: number;
  swapTicks: number;
  sent: Record<string, number>;
  expectOk: Record<string, number>;
  expectKeys: Record<string, Record<string, number>>;
  ok: Record<string, number>;
  bad: Record<string, number>;
  badSamples: unknown[];
  faults: Record<string, Record<string, number>>;
  mismatch: number;
  mismatchSamples: unknown[];
  otherSamples: unknown[];
  sensorExpect: Record<string, number>;
}

type Ctx = { get(k: string): unknown; set(k: string, v: unknown): void };

function soakStats(global: Ctx): SoakStats {
  let st = global.get('soak') as SoakStats | undefined;
  if (!st) {
    st = {
      started: Date.now(), stopped: false, ticks: 0, swapTicks: 0, sent: {}, expectOk: {}, expectKeys: {}, ok: {}, bad: {},
      badSamples: [], faults: {}, mismatch: 0, mismatchSamples: [], otherSamples: [], sensorExpect: {},
    };
    global.set('soak', st);
  }
  return st;
}

interface DriverContainer {
  id: string;
  kind: string;
  out: number;
  k?: number;
  n?: number;
  r0?: number;
  burst?: number;
  variants?: { b64: string; expect: Expect }[];
  swaps?: { b64: string; effect?: string; reject?: string }[];
  /** Run state kept in the node's context. */
  seq?: number;
  current?: string;
  swapAt?: number;
}

interface DriverSpec {
  outputs: number;
  sampleOut: number;
  containers: DriverContainer[];
}

/** One board's driver: a tick sends every container its input(s); a "swap" tick the next images. */
function driverTick(msg: { topic?: string }, S: DriverSpec, st: SoakStats, Buf: typeof Buffer): unknown[] | null {
  if (st.stopped) return null;
  const outs: Record<string, unknown>[][] = [];
  for (let i = 0; i < S.outputs; i++) outs.push([]);
  const inc = (m: Record<string, number>, k: string): void => {
    m[k] = (m[k] || 0) + 1;
  };
  const expectKey = (id: string, key: string): void => {
    const m = st.expectKeys[id] || (st.expectKeys[id] = {});
    inc(m, key);
  };
  const send = (c: DriverContainer, m: Record<string, unknown>, expect?: Expect): void => {
    inc(st.sent, c.id);
    if (expect && expect.key !== undefined) expectKey(c.id, expect.key);
    else if (expect) inc(st.expectOk, c.id);
    if (expect) m.expect = expect;
    outs[c.out].push(m);
  };
  const rnd = (): number => Math.floor(Math.random() * 2147483648);
  if (msg.topic === 'swap') {
    st.swapTicks++;
    for (const c of S.containers) {
      // Once a second: each run prints ~100 MB were the console not capped, and takes a while.
      if (c.kind === 'printf-flood') send(c, { payload: 0 }, { key: '-8' });
      // One message in the whole soak: it spins sliced until Node-RED stops.
      if (c.kind === 'spin' && !c.seq) { c.seq = 1; send(c, { payload: 0 }); }
      if (c.kind !== 'hot-swap' || !c.swaps) continue;
      const s = c.swaps[(c.swapAt = ((c.swapAt ?? -1) + 1) % c.swaps.length)];
      if (s.reject) send(c, { image: Buf.from(s.b64, 'base64') }, { key: s.reject });
      else {
        c.current = s.effect;
        send(c, { image: Buf.from(s.b64, 'base64') });
      }
    }
    return outs;
  }
  st.ticks++;
  for (const c of S.containers) {
    const x = rnd();
    switch (c.kind) {
      case 'inc': send(c, { payload: x }, { r0: x + 1 }); break;
      case 'muladd': send(c, { payload: x }, { r0: x * 3 + (c.k as number) }); break;
      case 'counter': c.seq = (c.seq || 0) + 1; send(c, { payload: 0 }, { r0: c.seq }); break;
      case 'checksum': {
        const b = Buf.alloc(16);
        let sum = 0;
        for (let i = 0; i < 4; i++) b.writeInt32LE(rnd() - 1073741824, 4 * i);
        for (let i = 0; i < 16; i++) sum += b[i] * (i + 1);
        const arr: number[] = [];
        for (let i = 0; i < 4; i++) arr.push(b.readInt32LE(4 * i));
        send(c, { payload: arr }, { r0: sum });
        break;
      }
      case 'printf-ok': {
        const fmt = 't=%d\n';
        const b = Buf.alloc(32 + fmt.length + 1);
        b.writeBigUInt64LE(BigInt(x), 0);
        b.write(fmt, 32, 'latin1');
        send(c, { payload: b }, { r0: ('t=' + x + '\n').length });
        break;
      }
      case 'loop': send(c, { payload: x }, { key: '-8' }); break;
      case 'div0': send(c, { payload: x }, { key: '-9' }); break;
      case 'store': send(c, { payload: 0 }, { r0: c.r0 }); break;
      case 'max-size': send(c, { payload: x }, { r0: x + (c.n as number) }); break;
      case 'oob':
      case 'wild-helper':
      case 'printf-hostile':
      case 'recursion': {
        const vs = c.variants || [];
        for (let i = 0; i < (c.burst || 1); i++) {
          const v = vs[Math.floor(Math.random() * vs.length)];
          send(c, { payload: Buf.from(v.b64, 'base64') }, v.expect);
        }
        break;
      }
      case 'hot-swap': {
        const cur = c.current || 'inc';
        if (cur === 'loop') send(c, { payload: x }, { key: '-8' });
        else send(c, { payload: x }, { r0: cur === 'inc' ? x + 1 : cur === 'double' ? 2 * x : x + (c.n as number) });
        break;
      }
      case 'quarantine': {
        c.seq = (c.seq || 0) + 1;
        const p = c.seq % 10;
        if (p === 0) send(c, { reset: true });
        else send(c, { payload: x }, { key: p <= 3 ? '-2' : 'quarantined' });
        break;
      }
      default:
        break;
    }
  }
  // One sample of the board's "soak temp": every sensor-hook container runs (fired by the board).
  outs[S.sampleOut].push({ payload: 'sample' });
  for (const c of S.containers) {
    if (c.kind === 'sensor') {
      st.sensorExpect[c.id] = c.r0 as number;
      inc(st.sent, c.id);
      inc(st.expectOk, c.id);
    } else if (c.kind === 'sensor-hostile') {
      c.seq = (c.seq || 0) + 1;
      inc(st.sent, c.id);
      expectKey(c.id, c.seq % 2 === 1 ? '-8' : '-2');
    }
  }
  return outs;
}

/** Every result: compare with msg.expect (flow hook) or the sensor result. */
function checkResult(msg: { payload?: unknown; expect?: Expect; femto?: { container?: string; status?: string } }, st: SoakStats): null {
  const id = (msg.femto && msg.femto.container) || '?';
  let exp = msg.expect;
  if (!exp && st.sensorExpect[id] !== undefined) exp = { r0: st.sensorExpect[id] };
  if (exp && exp.r0 !== undefined && msg.payload === exp.r0) st.ok[id] = (st.ok[id] || 0) + 1;
  else {
    st.bad[id] = (st.bad[id] || 0) + 1;
    if (st.badSamples.length < 20) st.badSamples.push({ id, payload: msg.payload, expect: exp, status: msg.femto && msg.femto.status });
  }
  return null;
}

/** Every error caught: count by source node and key; compare with msg.expect when it has one. */
function tallyFault(
  msg: { expect?: Expect; error?: { message?: string; source?: { id?: string; type?: string } }; femto?: { rejected?: boolean; rule?: string; code?: number; status?: string; quarantined?: boolean } },
  st: SoakStats,
): null {
  const src = (msg.error && msg.error.source && msg.error.source.id) || '?';
  const f = msg.femto || {};
  let key: string;
  if (f.rejected) key = 'rejected:' + f.rule;
  else if (f.status === 'fault' && typeof f.code === 'number') key = String(f.code);
  else if (f.quarantined === true) key = 'quarantined';
  else key = 'other';
  const m = st.faults[src] || (st.faults[src] = {});
  m[key] = (m[key] || 0) + 1;
  if (key === 'other' && st.otherSamples.length < 20) st.otherSamples.push({ src, type: msg.error && msg.error.source && msg.error.source.type, message: msg.error && msg.error.message });
  if (msg.expect && msg.expect.key !== key) {
    st.mismatch++;
    if (st.mismatchSamples.length < 20) st.mismatchSamples.push({ src, key, expect: msg.expect, message: msg.error && msg.error.message });
  }
  return null;
}

const STATS_INIT = `const st = (${soakStats.toString()})(global);\n`;

function functionNode(id: string, name: string, body: string, outputs: number, wires: string[][], x: number, y: number): Record<string, unknown> {
  return { id, type: 'function', z: 'soak-tab', name, func: body, outputs, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], x, y, wires };
}

/** The whole soak flow (tab, boards, containers, drivers, injects, check, catch, tally, HTTP). */
export function soakFlow(plans: BoardPlan[], hz: number): Record<string, unknown>[] {
  const z = 'soak-tab';
  const nodes: Record<string, unknown>[] = [{ id: z, type: 'tab', label: 'femto soak', disabled: false, info: 'Generated by test/soak/soak.ts' }];
  const period = Math.max(0.02, Math.round((1 / hz) * 1000) / 1000);
  for (const b of plans) {
    nodes.push(b.config);
    const y0 = 80 + b.index * 60 * (b.containers.length + 2);
    const driverId = `${b.id}-driver`;
    const sensorId = `${b.id}-sample`;
    const spec: DriverSpec = {
      outputs: b.containers.length + 1,
      sampleOut: b.containers.length,
      containers: b.containers.map((c) => ({ id: c.id, kind: c.kind, out: c.out, k: c.k, n: c.n, r0: c.r0, burst: c.burst, variants: c.variants, swaps: c.swaps })),
    };
    const body = `${STATS_INIT}let S = context.get('S');\nif (!S) { S = ${JSON.stringify(spec)}; context.set('S', S); }\nreturn (${driverTick.toString()})(msg, S, st, Buffer);\n`;
    nodes.push(functionNode(driverId, `driver ${b.index}`, body, spec.outputs, [...b.containers.map((c) => [c.id]), [sensorId]], 320, y0));
    const stagger = Math.round((0.5 + b.index * (period / Math.max(1, plans.length))) * 1000) / 1000;
    nodes.push({ id: `${b.id}-tick`, type: 'inject', z, name: `tick ${b.index}`, props: [{ p: 'topic', vt: 'str' }], repeat: String(period), crontab: '', once: true, onceDelay: stagger, topic: 'tick', x: 120, y: y0, wires: [[driverId]] });
    nodes.push({ id: `${b.id}-swap`, type: 'inject', z, name: `swap ${b.index}`, props: [{ p: 'topic', vt: 'str' }], repeat: '1', crontab: '', once: true, onceDelay: stagger + 0.25, topic: 'swap', x: 120, y: y0 + 40, wires: [[driverId]] });
    nodes.push({ id: sensorId, type: 'femto-sensor', z, name: `sample ${b.index}`, board: b.id, device: 'soak temp', sampleOnSet: true, x: 560, y: y0 + 60 * b.containers.length, wires: [[]] });
    b.containers.forEach((c, j) => {
      nodes.push({
        id: c.id, type: 'femto-container', z, name: c.name, board: b.id, language: 'image', source: '', image: Buffer.from(c.image).toString('base64'),
        imageName: `${c.kind}.bin`, hook: c.hook, device: c.hook === 'sensor' ? 'soak temp' : '', path: '', method: 'GET', tenant: 'default', helpers: '',
        budget: c.budget ?? '', profile: c.vmProfile ?? '', resultType: 'int64', entry: '', quarantineAfter: c.quarantineAfter, input: 'payload', inputType: 'msg',
        x: 560, y: y0 + 60 * j, wires: [['soak-check']],
      });
    });
  }
  nodes.push(functionNode('soak-check', 'check results', `${STATS_INIT}return (${checkResult.toString()})(msg, st);\n`, 0, [], 900, 80));
  nodes.push({ id: 'soak-catch', type: 'catch', z, name: 'every error', scope: null, uncaught: false, x: 700, y: 40, wires: [['soak-tally']] });
  nodes.push(functionNode('soak-tally', 'tally faults', `${STATS_INIT}return (${tallyFault.toString()})(msg, st);\n`, 0, [], 900, 40));
  nodes.push({ id: 'soak-http-stats', type: 'http in', z, name: '', url: '/soak/stats', method: 'get', upload: false, swaggerDoc: '', x: 120, y: 20, wires: [['soak-stats']] });
  nodes.push(functionNode('soak-stats', 'stats', `${STATS_INIT}msg.payload = Object.assign({ now: Date.now() }, st);\nreturn msg;\n`, 1, [['soak-http-res']], 320, 20));
  nodes.push({ id: 'soak-http-stop', type: 'http in', z, name: '', url: '/soak/stop', method: 'post', upload: false, swaggerDoc: '', x: 120, y: 50, wires: [['soak-stop']] });
  nodes.push(functionNode('soak-stop', 'stop drivers', `${STATS_INIT}st.stopped = true;\nmsg.payload = { stopped: true };\nreturn msg;\n`, 1, [['soak-http-res']], 320, 50));
  nodes.push({ id: 'soak-http-res', type: 'http response', z, name: '', statusCode: '', headers: {}, x: 520, y: 30, wires: [] });
  return nodes;
}

// ================================================================================================
// The run.

export interface SoakOptions {
  boards: number;
  perBoard: number;
  seconds: number;
  hz: number;
  warmupS: number;
  /** Requirements. */
  p99LimitMs: number;
  heapTolerance: number;
  /** Admin GET /flows must answer every time within this. */
  adminTimeoutMs: number;
  log?: (line: string) => void;
  keep?: boolean;
}

export const SOAK_DEFAULTS: SoakOptions = {
  boards: 10, perBoard: 10, seconds: 600, hz: 10, warmupS: 10, p99LimitMs: 20, heapTolerance: 0.2, adminTimeoutMs: 5000,
};

export interface Requirement {
  name: string;
  ok: boolean;
  detail: string;
}

export interface SoakReport {
  kind: 'soak';
  ok: boolean;
  requirements: Requirement[];
  startedAt: string;
  config: Record<string, unknown>;
  machine: Record<string, unknown>;
  loadAverage: { start: number[]; end: number[]; samples: number[][] };
  loopDelayMs: {
    p50: number; p90: number; p99: number; p999: number; max: number; mean: number; samples: number;
    /** One-second windows with p99 ≥ 20 ms, and those among them while the idle control process stayed under 20 ms. */
    windowsOver20ms: number; windowsOver20msControlCalm: number; windowsOver20msWithGcPause: number; windows: number;
    worstWindows: { atS: number; p99: number; max: number; gcMaxMs: number; controlP99: number }[];
    gcPauseMs: { count: number; total: number; max: number };
  };
  controlLoopDelayMs: { p50: number; p99: number; max: number; mean: number; count: number };
  eventLoopUtilization: number;
  cpuPercentOfOneCore: number;
  heapMB: { start: number; min: number; max: number; middleThirdMean: number; lastThirdMean: number; ratio: number; end: number; rssEnd: number; samples: number };
  admin: { requests: number; failures: number; p50Ms: number; p99Ms: number; maxMs: number };
  /** Verify requests with compile-sandbox attacks (test/soak/sandbox-attacks.ts), sent while containers spin. */
  sandbox: { attempts: number; refused: number; mustRefuse: number; leaked: number; malformed: number; honest: number; honestOk: number; samples: string[] };
  /** spin containers (budget 1e13, one message): still running at the end, with their progress. */
  spin: { containers: number; running: number; samples: string[] };
  deployMs: number;
  results: {
    healthy: { containers: number; expected: number; ok: number; bad: number; missing: number };
    hostileChecked: { containers: number; expected: number; ok: number; bad: number; missing: number };
    faults: { expected: Record<string, number>; reported: Record<string, number>; mismatchedContainers: { id: string; kind: string; expected: Record<string, number>; reported: Record<string, number> }[]; perMessageMismatches: number; other: number };
    byKind: Record<string, { containers: number; sent: number; ok: number; faults: number }>;
    ticks: number;
    swapTicks: number;
    runsPerSecond: number;
    badSamples: unknown[];
    mismatchSamples: unknown[];
    otherSamples: unknown[];
  };
  nodeRed: { pid: number; userDir: string; logFile: string; exit: { code: number | null; signal: string | null; ms: number; killed: boolean }; log: { warnings: number; errors: number; samples: string[] } };
}

export async function runSoak(o: Partial<SoakOptions> = {}): Promise<SoakReport> {
  const opts: SoakOptions = { ...SOAK_DEFAULTS, ...o };
  const log = opts.log ?? ((s: string) => process.stdout.write(s + '\n'));
  const startedAt = new Date().toISOString();
  const load0 = loadAverage();
  const plans = planSoak(opts.boards, opts.perBoard);
  computeExpectations(plans);
  const all = plans.flatMap((b) => b.containers);
  const kindOf = new Map(all.map((c) => [c.id, c]));
  log(`soak: ${all.length} containers on ${plans.length} boards (${all.filter((c) => c.hostile).length} hostile), ${opts.hz} Hz, ${opts.seconds} s after ${opts.warmupS} s warm-up; load average ${load0.join(' ')}`);

  const nr = await startNodeRed({ label: 'soak' });
  log(`soak: Node-RED pid ${nr.pid} at ${nr.url} (user folder ${nr.userDir})`);
  const control = new ControlLoop();
  const adminMs: number[] = [];
  const marker = `SOAK-SECRET-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  const secret = path.join(nr.userDir, 'secret.txt');
  fs.writeFileSync(secret, `${marker}\n`.repeat(64));
  const attacks = sandboxAttacks(secret);
  const sandbox: SoakReport['sandbox'] = { attempts: 0, refused: 0, mustRefuse: 0, leaked: 0, malformed: 0, honest: 0, honestOk: 0, samples: [] };
  const spin: SoakReport['spin'] = { containers: all.filter((c) => c.kind === 'spin').length, running: 0, samples: [] };
  const verify = async (source: string): Promise<{ ok?: boolean; text: string } | undefined> => {
    try {
      const r = await fetch(`${nr.url}/femto/verify`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ source, language: 'c', profile: 'rfc9669' }),
        signal: AbortSignal.timeout(60000),
      });
      const text = await r.text();
      return { ok: (JSON.parse(text) as { ok?: boolean }).ok, text };
    } catch {
      return undefined;
    }
  };
  /** One round: every attack, then an honest compile; each reply checked for the marker. */
  const sandboxRound = async (): Promise<void> => {
    for (const a of attacks) {
      const r = await verify(a.source);
      sandbox.attempts++;
      if (a.mustRefuse) sandbox.mustRefuse++;
      if (!r) { sandbox.malformed++; continue; }
      if (r.text.includes(marker) || r.text.includes(marker.slice(0, 14))) {
        sandbox.leaked++;
        if (sandbox.samples.length < 5) sandbox.samples.push(`leak: ${a.what}`);
      }
      if (r.ok === false && a.mustRefuse) sandbox.refused++;
      else if (a.mustRefuse && sandbox.samples.length < 5) sandbox.samples.push(`accepted: ${a.what}`);
    }
    const h = await verify(HONEST_C);
    sandbox.honest++;
    if (h?.ok === true) sandbox.honestOk++;
    else if (sandbox.samples.length < 5) sandbox.samples.push(`honest compile failed: ${h?.text.slice(0, 200)}`);
  };
  let sandboxRunning: Promise<void> | null = null;
  let adminFailures = 0;
  const loadSamples: number[][] = [];
  let exit: SoakReport['nodeRed']['exit'] = { code: null, signal: null, ms: 0, killed: false };
  let stats: SoakStats;
  let deployMs = 0;
  let markT = 0;
  let endT = 0;
  let startT = 0;
  try {
    deployMs = await deploy(nr, soakFlow(plans, opts.hz));
    startT = Date.now();
    log(`soak: deployed in ${Math.round(deployMs)} ms`);
    await sleep(opts.warmupS * 1000);
    const mark = await nr.command('mark');
    markT = mark.t;
    control.start();
    const t0 = Date.now();
    let nextAdmin = t0, nextReport = t0 + 30000, nextLoad = t0, nextSandbox = t0 + 500;
    while (Date.now() - t0 < opts.seconds * 1000) {
      if (nr.exited()) throw new Error(`Node-RED exited during the soak; log ${nr.logFile}\n${tail(nr.logFile, 30)}`);
      const now = Date.now();
      if (now >= nextAdmin) {
        nextAdmin += 1000;
        control.window();
        const a0 = performance.now();
        try {
          const r = await fetch(`${nr.url}/flows`, { signal: AbortSignal.timeout(opts.adminTimeoutMs) });
          await r.arrayBuffer();
          if (!r.ok) adminFailures++;
          else adminMs.push(performance.now() - a0);
        } catch {
          adminFailures++;
        }
      }
      if (now >= nextSandbox && !sandboxRunning) {
        nextSandbox = now + 5000;
        sandboxRunning = sandboxRound().finally(() => { sandboxRunning = null; });
      }
      if (now >= nextLoad) {
        nextLoad += 10000;
        loadSamples.push(loadAverage());
      }
      if (now >= nextReport) {
        nextReport += 30000;
        const last = nr.metrics().filter((l) => l.kind === 'tick').pop();
        const s = await getJson<SoakStats>(`${nr.url}/soak/stats`).catch(() => undefined);
        const okN = s ? Object.values(s.ok).reduce((a, b) => a + b, 0) : 0;
        const faultN = s ? Object.values(s.faults).reduce((a, m) => a + Object.values(m).reduce((x, y) => x + y, 0), 0) : 0;
        log(`soak: ${Math.round((now - t0) / 1000)} s: loop p99 ${last?.cum?.p99} ms (max ${last?.cum?.max}), heap ${mb(last?.heapUsed ?? 0)} MB, results ${okN}, faults ${faultN}, bad ${s ? Object.values(s.bad).reduce((a, b) => a + b, 0) : '?'}; load ${loadAverage().join(' ')}`);
      }
      await sleep(Math.max(1, Math.min(nextAdmin, nextLoad, nextReport) - Date.now()));
    }
    endT = Date.now();
    await sandboxRunning;
    // The spin containers must still be running (sliced), with their progress in the state.
    const state = await getJson<{ boards: { containers?: { id: string; nodeId?: string; state?: string; run?: { insns: number; budget: number; turns: number } }[] }[] }>(`${nr.url}/femto/state`);
    for (const b of state.boards) {
      for (const c of b.containers ?? []) {
        const id = c.nodeId ?? c.id;
        if (kindOf.get(id)?.kind !== 'spin') continue;
        if (c.state === 'running' && (c.run?.insns ?? 0) > 0 && (c.run?.turns ?? 0) > 1) spin.running++;
        if (spin.samples.length < 5) spin.samples.push(`${id}: ${JSON.stringify({ state: c.state, run: c.run })}`);
      }
    }
    // Stop the drivers and let every message in flight arrive.
    await fetch(`${nr.url}/soak/stop`, { method: 'POST', signal: AbortSignal.timeout(10000) });
    // Settled: nothing changed for 1.5 s (a run in slices may take longer than one poll).
    let prev = '';
    let same = 0;
    for (let i = 0; i < 60 && same < 3; i++) {
      await sleep(500);
      const s = await getJson<SoakStats>(`${nr.url}/soak/stats`);
      const sig = JSON.stringify([s.ok, s.bad, s.faults]);
      stats = s;
      same = sig === prev ? same + 1 : 0;
      prev = sig;
    }
  } finally {
    exit = await nr.stop();
  }
  const controlDelay = control.stop();
  const load1 = loadAverage();

  // ---- evaluate ---------------------------------------------------------------------------------
  const lines = nr.metrics();
  const ticks = lines.filter((l) => l.kind === 'tick' && l.t > markT && l.t <= endT + 1500);
  const lastTick = ticks[ticks.length - 1];
  const cum = lastTick?.cum ?? { p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN, mean: NaN, count: 0 };
  const heap = ticks.map((l) => l.heapUsed);
  const third = Math.floor(heap.length / 3);
  const midMean = mean(heap.slice(third, 2 * third));
  const lastMean = mean(heap.slice(2 * third));
  const ratio = lastMean / midMean;
  const cpuUs = ticks.reduce((a, l) => a + (l.cpuUser ?? 0) + (l.cpuSystem ?? 0), 0);
  const spanMs = ticks.length > 1 ? ticks[ticks.length - 1].up - ticks[0].up + 1000 : 1;
  const nearestControl = (t: number): number => control.windows.reduce((b, w) => (Math.abs(w.t - t) < Math.abs(b.t - t) ? w : b), { t: -1e15, p99: NaN, max: NaN }).p99;
  const windows = ticks.map((l) => ({ atS: Math.round((l.t - markT) / 1000), p99: l.loop?.p99 ?? 0, max: l.loop?.max ?? 0, gcMaxMs: l.gc?.max ?? 0, controlP99: nearestControl(l.t) }));

  const st = stats!;
  const sum = (m: Record<string, number> | undefined): number => (m ? Object.values(m).reduce((a, b) => a + b, 0) : 0);
  const resultTotals = (cs: ContainerPlan[]) => {
    let expected = 0, okN = 0, bad = 0;
    for (const c of cs) {
      expected += st.expectOk[c.id] ?? 0;
      okN += st.ok[c.id] ?? 0;
      bad += st.bad[c.id] ?? 0;
    }
    return { containers: cs.length, expected, ok: okN, bad, missing: expected - okN - bad };
  };
  const healthy = resultTotals(all.filter((c) => !c.hostile));
  const hostileChecked = resultTotals(all.filter((c) => c.hostile && (st.expectOk[c.id] ?? 0) > 0));
  const expectedByKey: Record<string, number> = {};
  const reportedByKey: Record<string, number> = {};
  const mismatched: SoakReport['results']['faults']['mismatchedContainers'] = [];
  const ids = new Set([...Object.keys(st.expectKeys), ...Object.keys(st.faults)]);
  for (const id of ids) {
    const e = st.expectKeys[id] ?? {};
    const r = st.faults[id] ?? {};
    for (const [k, n] of Object.entries(e)) expectedByKey[k] = (expectedByKey[k] ?? 0) + n;
    for (const [k, n] of Object.entries(r)) reportedByKey[k] = (reportedByKey[k] ?? 0) + n;
    const keys = new Set([...Object.keys(e), ...Object.keys(r)]);
    if ([...keys].some((k) => (e[k] ?? 0) !== (r[k] ?? 0))) mismatched.push({ id, kind: kindOf.get(id)?.kind ?? '(not a container)', expected: e, reported: r });
  }
  const byKind: SoakReport['results']['byKind'] = {};
  for (const c of all) {
    const k = (byKind[c.kind] ??= { containers: 0, sent: 0, ok: 0, faults: 0 });
    k.containers++;
    k.sent += st.sent[c.id] ?? 0;
    k.ok += st.ok[c.id] ?? 0;
    k.faults += sum(st.faults[c.id]);
  }
  const other = Object.values(st.faults).reduce((a, m) => a + (m.other ?? 0), 0);
  const totalRuns = sum(st.ok) + sum(st.bad) + Object.values(st.faults).reduce((a, m) => a + sum(m), 0);
  const logInfo = logProblems(nr.logFile);
  const admin = { requests: adminMs.length + adminFailures, failures: adminFailures, p50Ms: r2(quantile(adminMs, 0.5)), p99Ms: r2(quantile(adminMs, 0.99)), maxMs: r2(Math.max(...adminMs, 0)) };

  const reqs: Requirement[] = [
    { name: `event-loop delay p99 < ${opts.p99LimitMs} ms`, ok: cum.p99 < opts.p99LimitMs, detail: `p50 ${cum.p50} ms, p99 ${cum.p99} ms, max ${cum.max} ms over ${cum.count} samples (control process p99 ${controlDelay.p99} ms)` },
    { name: `heap stable (last third within ${Math.round(opts.heapTolerance * 100)}% of the middle third)`, ok: heap.length >= 6 && ratio <= 1 + opts.heapTolerance, detail: `middle ${mb(midMean)} MB, last ${mb(lastMean)} MB, ratio ${r2(ratio)}` },
    { name: 'every healthy result correct, none missing', ok: healthy.expected > 0 && healthy.bad === 0 && healthy.missing === 0, detail: `${healthy.ok}/${healthy.expected} correct, ${healthy.bad} wrong, ${healthy.missing} missing` },
    { name: 'hostile containers\' exits correct (store, max-size, recursion, printf, hot swap)', ok: hostileChecked.bad === 0 && hostileChecked.missing === 0, detail: `${hostileChecked.ok}/${hostileChecked.expected} correct, ${hostileChecked.bad} wrong, ${hostileChecked.missing} missing` },
    { name: 'every fault reported once with the right code', ok: mismatched.length === 0 && st.mismatch === 0 && other === 0 && sum(expectedByKey) > 0, detail: `${sum(reportedByKey)} reported / ${sum(expectedByKey)} expected; ${mismatched.length} containers differ, ${st.mismatch} per-message mismatches, ${other} other errors` },
    { name: 'admin API answered every request', ok: admin.failures === 0 && admin.requests > 0, detail: `GET /flows ×${admin.requests}: p50 ${admin.p50Ms} ms, p99 ${admin.p99Ms} ms, max ${admin.maxMs} ms, ${admin.failures} failed` },
    { name: 'compile sandbox: every attack refused, no secret byte in any reply, honest compiles still work', ok: sandbox.attempts > 0 && sandbox.refused === sandbox.mustRefuse && sandbox.leaked === 0 && sandbox.malformed === 0 && sandbox.honestOk === sandbox.honest,
      detail: `${sandbox.attempts} attempts in ${sandbox.honest} rounds: ${sandbox.refused}/${sandbox.mustRefuse} refused, ${sandbox.leaked} leaked, ${sandbox.malformed} failed requests, ${sandbox.honestOk}/${sandbox.honest} honest compiles ok${sandbox.samples.length ? '; ' + sandbox.samples.join('; ') : ''}` },
    { name: 'spin containers (budget 1e13) still running, sliced, at the end', ok: spin.running === spin.containers,
      detail: `${spin.running}/${spin.containers} running${spin.samples.length ? ': ' + spin.samples.join('; ') : ''}` },
    { name: 'Node-RED shut down cleanly', ok: !exit.killed && exit.ms < 15000, detail: `exit code ${exit.code}, signal ${exit.signal}, ${exit.ms} ms${exit.killed ? ' (killed)' : ''}` },
  ];
  const report: SoakReport = {
    kind: 'soak',
    ok: reqs.every((r) => r.ok),
    requirements: reqs,
    startedAt,
    config: { boards: opts.boards, perBoard: opts.perBoard, containers: all.length, hostile: all.filter((c) => c.hostile).length, seconds: opts.seconds, hz: opts.hz, warmupS: opts.warmupS, profiles: plans.map((b) => b.profile) },
    machine: machine(),
    loadAverage: { start: load0, end: load1, samples: loadSamples },
    loopDelayMs: {
      ...cum, samples: cum.count,
      windowsOver20ms: windows.filter((w) => w.p99 >= 20).length, windowsOver20msControlCalm: control.attributable(ticks, 20).overWhileControlCalm,
      windowsOver20msWithGcPause: windows.filter((w) => w.p99 >= 20 && w.gcMaxMs >= 20).length, windows: windows.length,
      gcPauseMs: { count: ticks.reduce((a, l) => a + (l.gc?.count ?? 0), 0), total: r2(ticks.reduce((a, l) => a + (l.gc?.ms ?? 0), 0)), max: r2(Math.max(0, ...ticks.map((l) => l.gc?.max ?? 0))) },
      worstWindows: [...windows].sort((a, b) => b.max - a.max).slice(0, 5),
    } as SoakReport['loopDelayMs'],
    controlLoopDelayMs: controlDelay,
    eventLoopUtilization: r2(mean(ticks.map((l) => l.elu ?? 0))),
    cpuPercentOfOneCore: r2((cpuUs / 1000 / spanMs) * 100),
    heapMB: { start: mb(heap[0] ?? 0), min: mb(Math.min(...heap)), max: mb(Math.max(...heap)), middleThirdMean: mb(midMean), lastThirdMean: mb(lastMean), ratio: r2(ratio), end: mb(heap[heap.length - 1] ?? 0), rssEnd: mb(lastTick?.rss ?? 0), samples: heap.length },
    admin,
    sandbox,
    spin,
    deployMs: Math.round(deployMs),
    results: {
      healthy, hostileChecked,
      faults: { expected: expectedByKey, reported: reportedByKey, mismatchedContainers: mismatched.slice(0, 20), perMessageMismatches: st.mismatch, other },
      byKind, ticks: st.ticks, swapTicks: st.swapTicks,
      runsPerSecond: r2(totalRuns / Math.max(1, (endT - startT) / 1000)),
      badSamples: st.badSamples, mismatchSamples: st.mismatchSamples, otherSamples: st.otherSamples,
    },
    nodeRed: { pid: nr.pid, userDir: nr.userDir, logFile: nr.logFile, exit, log: logInfo },
  };
  if (report.ok && !opts.keep) fs.rmSync(nr.userDir, { recursive: true, force: true });
  return report;
}

export function soakSummary(r: SoakReport): string {
  const L: string[] = [];
  const c = r.config;
  L.push(`femto soak — ${c.containers} containers (${c.hostile} hostile) on ${c.boards} boards, ${c.hz} Hz, ${c.seconds} s (${r.startedAt})`);
  L.push(`machine: ${r.machine.cpus} × ${r.machine.cpuModel}, Node ${r.machine.node}; load average ${r.loadAverage.start.join(' ')} → ${r.loadAverage.end.join(' ')}`);
  L.push(`event-loop delay (Node-RED): p50 ${r.loopDelayMs.p50} ms, p90 ${r.loopDelayMs.p90} ms, p99 ${r.loopDelayMs.p99} ms, p99.9 ${r.loopDelayMs.p999} ms, max ${r.loopDelayMs.max} ms; ${r.loopDelayMs.windowsOver20ms}/${r.loopDelayMs.windows} one-second windows with p99 ≥ 20 ms (${r.loopDelayMs.windowsOver20msControlCalm} of them while the control process stayed under 20 ms, ${r.loopDelayMs.windowsOver20msWithGcPause} with a GC event ≥ 20 ms)`);
  L.push(`GC events: ${r.loopDelayMs.gcPauseMs.count}, ${r.loopDelayMs.gcPauseMs.total} ms in all, longest ${r.loopDelayMs.gcPauseMs.max} ms; worst windows: ${r.loopDelayMs.worstWindows.map((w) => `${w.atS} s (p99 ${w.p99}, max ${w.max}, GC ${w.gcMaxMs}, control p99 ${w.controlP99})`).join('; ')}`);
  L.push(`event-loop delay (idle control process, same machine): p50 ${r.controlLoopDelayMs.p50} ms, p99 ${r.controlLoopDelayMs.p99} ms, max ${r.controlLoopDelayMs.max} ms`);
  L.push(`CPU ${r.cpuPercentOfOneCore}% of one core, event-loop utilisation ${r.eventLoopUtilization}; ≈${r.results.runsPerSecond} container runs/s`);
  L.push(`heap: start ${r.heapMB.start} MB, middle third ${r.heapMB.middleThirdMean} MB, last third ${r.heapMB.lastThirdMean} MB (ratio ${r.heapMB.ratio}), min ${r.heapMB.min}, max ${r.heapMB.max}, RSS ${r.heapMB.rssEnd} MB`);
  L.push(`admin GET /flows ×${r.admin.requests}: p50 ${r.admin.p50Ms} ms, p99 ${r.admin.p99Ms} ms, max ${r.admin.maxMs} ms, ${r.admin.failures} failed; deploy ${r.deployMs} ms`);
  L.push(`results: healthy ${r.results.healthy.ok}/${r.results.healthy.expected} correct; hostile exits ${r.results.hostileChecked.ok}/${r.results.hostileChecked.expected}`);
  L.push(`faults reported / expected: ${Object.keys({ ...r.results.faults.expected, ...r.results.faults.reported }).sort().map((k) => `${k} ${r.results.faults.reported[k] ?? 0}/${r.results.faults.expected[k] ?? 0}`).join(', ')}`);
  L.push('by kind (containers, inputs, correct results, errors):');
  for (const [k, v] of Object.entries(r.results.byKind)) L.push(`  ${k.padEnd(15)} ${String(v.containers).padStart(3)} ${String(v.sent).padStart(9)} ${String(v.ok).padStart(9)} ${String(v.faults).padStart(9)}`);
  L.push(`Node-RED: exit ${r.nodeRed.exit.code ?? r.nodeRed.exit.signal} after ${r.nodeRed.exit.ms} ms; log: ${r.nodeRed.log.warnings} warnings, ${r.nodeRed.log.errors} errors`);
  for (const s of r.nodeRed.log.samples.slice(0, 8)) L.push(`  log: ${s}`);
  for (const s of [...r.results.badSamples, ...r.results.mismatchSamples, ...r.results.otherSamples].slice(0, 8)) L.push(`  sample: ${JSON.stringify(s)}`);
  for (const m of r.results.faults.mismatchedContainers.slice(0, 8)) L.push(`  differs: ${m.id} (${m.kind}) expected ${JSON.stringify(m.expected)} reported ${JSON.stringify(m.reported)}`);
  L.push('requirements:');
  for (const q of r.requirements) L.push(`  ${q.ok ? 'PASS' : 'FAIL'}  ${q.name}: ${q.detail}`);
  L.push(r.ok ? 'soak: PASS' : 'soak: FAIL');
  return L.join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const seconds = args.seconds !== undefined ? numArg(args, 'seconds', 600) : numArg(args, 'minutes', 10) * 60;
  const report = await runSoak({
    seconds,
    boards: numArg(args, 'boards', SOAK_DEFAULTS.boards),
    perBoard: numArg(args, 'per-board', SOAK_DEFAULTS.perBoard),
    hz: numArg(args, 'hz', SOAK_DEFAULTS.hz),
    warmupS: numArg(args, 'warmup', SOAK_DEFAULTS.warmupS),
    keep: args.keep === true,
    log: args.json ? (s) => process.stderr.write(s + '\n') : undefined,
  });
  const out = typeof args.out === 'string' ? args.out : path.join(os.tmpdir(), `femto-soak-report-${Date.now()}.json`);
  fs.writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  if (args.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else process.stdout.write(soakSummary(report) + `\nreport: ${out}\n`);
  process.exitCode = report.ok ? 0 : 1;
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`soak: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(2);
  });
}
