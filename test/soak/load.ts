/**
 * Fleet-scale load: `npm run load -- --boards 1000 --containers 3 --hz 10 --seconds N`.
 *
 * One Node-RED 4.1 process (started as in soak.ts: lib/start's settings, a temporary user folder, a
 * free loopback port, the monitor preload) with N emulated nrf52840dk boards, each sampling its
 * NRF_TEMP sensor every 1/hz s, and C containers per board on the sensor hook (rotating: the
 * threshold alarm of example 02 — a C container writing LED 1 through SAUL and keeping its state in
 * the local store —, a sample scaler, a local-store counter). Every sample runs the board's C
 * containers, and each run sends a message from its node (the messages are not wired further).
 *
 * Reported: sample events/s and container runs/s achieved vs requested (counted inside Node-RED
 * from the boards' own sample and report counters: listening to every sample and result would
 * change what is measured), CPU (process.cpuUsage, % of one core), event-loop
 * delay p50/p99/max (perf_hooks.monitorEventLoopDelay), event-loop utilisation, heap per board
 * and per container (heap after a forced GC: empty flow, boards only, boards with containers), the
 * deploy time, the machine's load average, and this process's own loop delay as a control.
 *
 * --find-limit: ramps the number of boards (×1.5 from --start, then bisects) until the loop delay
 * p99 exceeds 20 ms or the achieved run rate falls below 95% of the requested one, and reports the
 * largest passing fleet on this machine.
 *
 * Options: --boards 1000 --containers 3 --hz 10 --seconds 20 --warmup 3 --find-limit --start 100
 * --max 6000 --out FILE --json --keep --cpu-prof DIR (profile the Node-RED process: node --cpu-prof, written
 * to DIR when it exits). Exit 0 when the run met both criteria (find-limit: always 0
 * once a limit was found), 1 otherwise, 2 on error.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../util/paths';
import {
  ASM, ControlLoop, deploy, loadAverage, logProblems, machine, mb, numArg, parseArgs, r2, sleep, startNodeRed,
  type MetricLine, type NodeRed,
} from './soak';
import { assemble } from '../../vm/assembler';
import { buildImage } from '../../vm/image';

export interface LoadOptions {
  boards: number;
  containers: number;
  hz: number;
  seconds: number;
  warmupS: number;
  findLimit: boolean;
  start: number;
  max: number;
  p99LimitMs: number;
  /** Achieved / requested run rate below this fails. */
  minRatio: number;
  /** Measure heap per board and per container (three deploys). */
  heap: boolean;
  log?: (line: string) => void;
  keep?: boolean;
  /** Write a V8 CPU profile of the Node-RED process into this folder (node --cpu-prof). */
  cpuProfDir?: string;
}

export const LOAD_DEFAULTS: LoadOptions = {
  boards: 1000, containers: 3, hz: 10, seconds: 20, warmupS: 3, findLimit: false, start: 100, max: 6000,
  p99LimitMs: 20, minRatio: 0.95, heap: true,
};

export interface StepResult {
  boards: number;
  containers: number;
  hz: number;
  requested: { samplesPerS: number; runsPerS: number };
  achieved: { samplesPerS: number; runsPerS: number; ratio: number; faults: number };
  loopDelayMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number; samples: number };
  controlLoopDelayMs: { p50: number; p99: number; max: number };
  cpuPercentOfOneCore: number;
  eventLoopUtilization: number;
  heapAfterGcMB: number;
  rssMB: number;
  deployMs: number;
  measuredS: number;
  loadAverage: number[];
  pass: boolean;
  why: string;
}

export interface LoadReport {
  kind: 'load';
  ok: boolean;
  startedAt: string;
  config: Record<string, unknown>;
  machine: Record<string, unknown>;
  loadAverage: { start: number[]; end: number[] };
  heap?: { emptyMB: number; boardsOnlyMB: number; fullMB: number; perBoardKB: number; perContainerKB: number; perBoardWithContainersKB: number };
  steps: StepResult[];
  /** find-limit: the largest passing fleet, and the first failing one. */
  limit?: { boards: number; runsPerS: number; samplesPerS: number; firstFailing?: number; why?: string };
  nodeRed: { pid: number; userDir: string; logFile: string; exit: { code: number | null; signal: string | null; ms: number; killed: boolean }; log: { warnings: number; errors: number; samples: string[] } };
}

/** The threshold alarm of example 02 (lib/containers/threshold.c), as the example embeds it. */
function thresholdImage(): string {
  const ex = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', '02 - Sensor threshold alarm.json'), 'utf8')) as { type: string; image?: string }[];
  const c = ex.find((n) => n.type === 'femto-container' && n.image);
  if (!c?.image) throw new Error('example 02 has no embedded image');
  return c.image;
}

export function loadFlow(boards: number, containers: number, hz: number): Record<string, unknown>[] {
  const z = 'load-tab';
  const b64 = (asm: string): string => Buffer.from(buildImage({ text: assemble(asm), functions: [{ name: 'main', offset: 0 }] })).toString('base64');
  const images = [
    { name: 'threshold', image: thresholdImage(), resultType: 'int32' },
    { name: 'scale', image: b64(ASM.sensor(7)), resultType: 'int64' },
    { name: 'counter', image: b64(ASM.counter), resultType: 'int64' },
  ];
  const nodes: Record<string, unknown>[] = [{ id: z, type: 'tab', label: 'femto load', disabled: false, info: 'Generated by test/soak/load.ts' }];
  const period = Math.round((1000 / hz) * 1000) / 1000;
  for (let b = 0; b < boards; b++) {
    const id = `load-b${b}`;
    nodes.push({
      id, type: 'femto-board', name: `load ${b}`, profile: 'nrf52840dk', storeCapacity: 16, globalScope: 'board',
      timerPeriodMs: 0, samplePeriodMs: period, slots: Math.max(2, containers), devices: [],
    });
    for (let j = 0; j < containers; j++) {
      const im = images[j % images.length];
      nodes.push({
        id: `${id}-c${j}`, type: 'femto-container', z, name: `${im.name} ${b}.${j}`, board: id, language: 'image', source: '', image: im.image,
        imageName: `${im.name}.bin`, hook: 'sensor', device: 'NRF_TEMP', path: '', method: 'GET', tenant: 'default', helpers: '', budget: '',
        profile: '', resultType: im.resultType, entry: '', quarantineAfter: 3, input: 'payload', inputType: 'msg',
        x: 200 + 200 * j, y: 40 + 20 * b, wires: [[]],
      });
    }
  }
  return nodes;
}

async function gcHeap(nr: NodeRed): Promise<number> {
  const l = await nr.command('gc');
  return l.heapUsed;
}

/** Deploy N boards, let them run, measure for `seconds`. */
export async function measureStep(nr: NodeRed, boards: number, o: LoadOptions, log: (s: string) => void): Promise<StepResult> {
  const deployMs = await deploy(nr, loadFlow(boards, o.containers, o.hz));
  await sleep(2000);
  const heap = await gcHeap(nr);
  await sleep(o.warmupS * 1000);
  const control = new ControlLoop();
  const mark = await nr.command('mark');
  control.start();
  await sleep(o.seconds * 1000 + 1200);
  const ctl = control.stop();
  const ticks = nr.metrics().filter((l): l is MetricLine & { runs: number; samples: number } => l.kind === 'tick' && l.seq > mark.seq && l.runs !== undefined);
  if (ticks.length < 2) throw new Error(`only ${ticks.length} monitor lines after the mark`);
  const first = ticks[0], last = ticks[ticks.length - 1];
  const spanS = (last.up - first.up) / 1000;
  const runsPerS = (last.runs - first.runs) / spanS;
  const samplesPerS = (last.samples - first.samples) / spanS;
  const requested = { samplesPerS: boards * o.hz, runsPerS: boards * o.containers * o.hz };
  const ratio = requested.runsPerS > 0 ? runsPerS / requested.runsPerS : samplesPerS / requested.samplesPerS;
  const cum = last.cum!;
  const cpuUs = ticks.reduce((a, l) => a + (l.cpuUser ?? 0) + (l.cpuSystem ?? 0), 0);
  const cpuSpanMs = last.up - mark.up;
  const faults = last.faults! - first.faults!;
  const why: string[] = [];
  if (!(cum.p99 <= o.p99LimitMs)) why.push(`loop delay p99 ${cum.p99} ms > ${o.p99LimitMs} ms`);
  if (!(ratio >= o.minRatio)) why.push(`achieved ${Math.round(ratio * 1000) / 10}% < ${o.minRatio * 100}% of requested`);
  if (last.boards !== boards) why.push(`${last.boards} boards running, ${boards} deployed`);
  if (o.containers > 0 && last.containers !== boards * o.containers) why.push(`${last.containers} containers registered, ${boards * o.containers} deployed`);
  const step: StepResult = {
    boards, containers: boards * o.containers, hz: o.hz, requested,
    achieved: { samplesPerS: Math.round(samplesPerS), runsPerS: Math.round(runsPerS), ratio: Math.round(ratio * 1000) / 1000, faults },
    loopDelayMs: { p50: cum.p50, p90: cum.p90, p99: cum.p99, p999: cum.p999, max: cum.max, mean: cum.mean, samples: cum.count },
    controlLoopDelayMs: { p50: ctl.p50, p99: ctl.p99, max: ctl.max },
    cpuPercentOfOneCore: r2((cpuUs / 1000 / cpuSpanMs) * 100),
    eventLoopUtilization: r2(ticks.reduce((a, l) => a + (l.elu ?? 0), 0) / ticks.length),
    heapAfterGcMB: mb(heap), rssMB: mb(last.rss), deployMs: Math.round(deployMs), measuredS: r2(spanS), loadAverage: loadAverage(),
    pass: why.length === 0, why: why.join('; '),
  };
  log(`load: ${boards} boards × ${o.containers} @ ${o.hz} Hz: ${step.achieved.runsPerS}/${requested.runsPerS} runs/s (${Math.round(ratio * 1000) / 10}%), ` +
    `${step.achieved.samplesPerS}/${requested.samplesPerS} samples/s, loop p50 ${cum.p50} p99 ${cum.p99} max ${cum.max} ms (control p99 ${ctl.p99}), ` +
    `CPU ${step.cpuPercentOfOneCore}%, heap ${step.heapAfterGcMB} MB, deploy ${step.deployMs} ms, load ${step.loadAverage.join(' ')} → ${step.pass ? 'pass' : 'FAIL: ' + step.why}`);
  return step;
}

export async function runLoad(o: Partial<LoadOptions> = {}): Promise<LoadReport> {
  const opts: LoadOptions = { ...LOAD_DEFAULTS, ...o };
  const log = opts.log ?? ((s: string) => process.stdout.write(s + '\n'));
  const startedAt = new Date().toISOString();
  const load0 = loadAverage();
  const nodeArgs = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(opts.cpuProfDir)}`] : [];
  const nr = await startNodeRed({ label: 'load', countRuns: true, maxOldSpaceMb: 4096, nodeArgs });
  log(`load: Node-RED pid ${nr.pid} at ${nr.url} (user folder ${nr.userDir}); load average ${load0.join(' ')}`);
  const steps: StepResult[] = [];
  let heapInfo: LoadReport['heap'];
  let limit: LoadReport['limit'];
  let exit: LoadReport['nodeRed']['exit'] = { code: null, signal: null, ms: 0, killed: false };
  try {
    await sleep(1000);
    const empty = await gcHeap(nr);
    if (!opts.findLimit) {
      let boardsOnly = NaN;
      if (opts.heap) {
        await deploy(nr, loadFlow(opts.boards, 0, opts.hz));
        await sleep(2000);
        boardsOnly = await gcHeap(nr);
      }
      const s = await measureStep(nr, opts.boards, opts, log);
      steps.push(s);
      if (opts.heap) {
        const full = s.heapAfterGcMB * 1048576;
        heapInfo = {
          emptyMB: mb(empty), boardsOnlyMB: mb(boardsOnly), fullMB: s.heapAfterGcMB,
          perBoardKB: r2((boardsOnly - empty) / opts.boards / 1024),
          perContainerKB: opts.containers > 0 ? r2((full - boardsOnly) / (opts.boards * opts.containers) / 1024) : 0,
          perBoardWithContainersKB: r2((full - empty) / opts.boards / 1024),
        };
      }
    } else {
      // Ramp ×1.5 until a step fails, then bisect twice between the last pass and the first failure.
      let pass: StepResult | undefined;
      let fail: StepResult | undefined;
      let n = opts.start;
      while (n <= opts.max) {
        const s = await measureStep(nr, n, opts, log);
        steps.push(s);
        if (!s.pass) {
          fail = s;
          break;
        }
        pass = s;
        n = Math.round((n * 1.5) / 10) * 10;
      }
      if (!pass && fail) {
        // Even the first step failed: go down.
        for (n = Math.floor(opts.start / 2); n >= 5 && !pass; n = Math.floor(n / 2)) {
          const s = await measureStep(nr, n, opts, log);
          steps.push(s);
          if (s.pass) pass = s;
          else fail = s;
        }
      }
      for (let i = 0; i < 2 && pass && fail && fail.boards - pass.boards > Math.max(10, pass.boards * 0.1); i++) {
        const mid = Math.round((pass.boards + fail.boards) / 20) * 10;
        const s = await measureStep(nr, mid, opts, log);
        steps.push(s);
        if (s.pass) pass = s;
        else fail = s;
      }
      if (pass) {
        limit = { boards: pass.boards, runsPerS: pass.achieved.runsPerS, samplesPerS: pass.achieved.samplesPerS, firstFailing: fail?.boards, why: fail?.why };
        heapInfo = { emptyMB: mb(empty), boardsOnlyMB: NaN, fullMB: pass.heapAfterGcMB, perBoardKB: NaN, perContainerKB: NaN, perBoardWithContainersKB: r2(((pass.heapAfterGcMB * 1048576) - empty) / pass.boards / 1024) };
      }
    }
  } finally {
    exit = await nr.stop(60000);
  }
  const report: LoadReport = {
    kind: 'load',
    ok: opts.findLimit ? limit !== undefined : steps.length > 0 && steps.every((s) => s.pass),
    startedAt,
    config: { boards: opts.boards, containers: opts.containers, hz: opts.hz, seconds: opts.seconds, warmupS: opts.warmupS, findLimit: opts.findLimit, p99LimitMs: opts.p99LimitMs, minRatio: opts.minRatio },
    machine: machine(),
    loadAverage: { start: load0, end: loadAverage() },
    heap: heapInfo,
    steps,
    limit,
    nodeRed: { pid: nr.pid, userDir: nr.userDir, logFile: nr.logFile, exit, log: logProblems(nr.logFile) },
  };
  if (!opts.keep && exit.code !== null && !exit.killed) fs.rmSync(nr.userDir, { recursive: true, force: true });
  return report;
}

export function loadSummary(r: LoadReport): string {
  const L: string[] = [];
  L.push(`femto fleet load — ${r.config.findLimit ? 'find-limit' : `${r.config.boards} boards × ${r.config.containers} containers`} @ ${r.config.hz} Hz (${r.startedAt})`);
  L.push(`machine: ${r.machine.cpus} × ${r.machine.cpuModel}, Node ${r.machine.node}; load average ${r.loadAverage.start.join(' ')} → ${r.loadAverage.end.join(' ')}`);
  L.push('boards  containers  runs/s achieved/requested      samples/s  loop p50/p99/max ms  (control p99)  CPU %  ELU   heap MB  deploy ms  load avg   verdict');
  for (const s of r.steps) {
    L.push(`${String(s.boards).padStart(6)}  ${String(s.containers).padStart(10)}  ${`${s.achieved.runsPerS}/${s.requested.runsPerS}`.padStart(14)} (${(s.achieved.ratio * 100).toFixed(1).padStart(5)}%)  ` +
      `${`${s.achieved.samplesPerS}/${s.requested.samplesPerS}`.padStart(13)}  ${`${s.loopDelayMs.p50}/${s.loopDelayMs.p99}/${s.loopDelayMs.max}`.padStart(19)}  ${String(s.controlLoopDelayMs.p99).padStart(13)}  ` +
      `${String(s.cpuPercentOfOneCore).padStart(5)}  ${String(s.eventLoopUtilization).padStart(4)}  ${String(s.heapAfterGcMB).padStart(7)}  ${String(s.deployMs).padStart(9)}  ${s.loadAverage[0].toFixed(2).padStart(8)}   ${s.pass ? 'pass' : 'FAIL: ' + s.why}`);
  }
  if (r.heap) {
    L.push(`heap after GC: empty flow ${r.heap.emptyMB} MB` + (Number.isFinite(r.heap.boardsOnlyMB) ? `, boards only ${r.heap.boardsOnlyMB} MB` : '') + `, with containers ${r.heap.fullMB} MB`);
    L.push(`heap per board ${Number.isFinite(r.heap.perBoardKB) ? r.heap.perBoardKB + ' KB' : '—'}, per container ${Number.isFinite(r.heap.perContainerKB) ? r.heap.perContainerKB + ' KB' : '—'}, per board with its containers ${r.heap.perBoardWithContainersKB} KB`);
  }
  if (r.config.findLimit) {
    L.push(r.limit
      ? `limit on this machine: ${r.limit.boards} boards × ${r.config.containers} containers @ ${r.config.hz} Hz = ${r.limit.runsPerS} container runs/s (${r.limit.samplesPerS} samples/s)` +
        (r.limit.firstFailing ? `; ${r.limit.firstFailing} boards failed: ${r.limit.why}` : ' (the ramp reached --max)')
      : 'limit: not found (even the smallest fleet failed)');
  }
  L.push(`Node-RED: exit ${r.nodeRed.exit.code ?? r.nodeRed.exit.signal} after ${r.nodeRed.exit.ms} ms; log: ${r.nodeRed.log.warnings} warnings, ${r.nodeRed.log.errors} errors`);
  for (const s of r.nodeRed.log.samples.slice(0, 6)) L.push(`  log: ${s}`);
  L.push(r.ok ? 'load: PASS' : 'load: FAIL');
  return L.join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const findLimit = args['find-limit'] === true;
  const report = await runLoad({
    boards: numArg(args, 'boards', LOAD_DEFAULTS.boards),
    containers: numArg(args, 'containers', LOAD_DEFAULTS.containers),
    hz: numArg(args, 'hz', LOAD_DEFAULTS.hz),
    seconds: numArg(args, 'seconds', findLimit ? 10 : LOAD_DEFAULTS.seconds),
    warmupS: numArg(args, 'warmup', LOAD_DEFAULTS.warmupS),
    start: numArg(args, 'start', LOAD_DEFAULTS.start),
    max: numArg(args, 'max', LOAD_DEFAULTS.max),
    findLimit,
    heap: args['no-heap'] !== true,
    keep: args.keep === true,
    cpuProfDir: typeof args['cpu-prof'] === 'string' ? args['cpu-prof'] : undefined,
    log: args.json ? (s) => process.stderr.write(s + '\n') : undefined,
  });
  const out = typeof args.out === 'string' ? args.out : path.join(os.tmpdir(), `femto-load-report-${Date.now()}.json`);
  fs.writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  if (args.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else process.stdout.write(loadSummary(report) + `\nreport: ${out}\n`);
  process.exitCode = report.ok ? 0 : 1;
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`load: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(2);
  });
}
