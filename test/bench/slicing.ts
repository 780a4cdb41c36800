/**
 * Time slicing benchmarks, for `npm run bench` (section `slicing`):
 *
 *  - overhead: Fletcher-32 ×1e6 on the compiled tier and ×1e5 on the interpreter, run whole and
 *    cut into 5 ms slices (run, then continue() until the end, as a board does minus the event
 *    loop turn), alternately, best of several each; the ratio sliced / whole of the process's CPU
 *    time (target ≤ 1.05), and of the wall time, which a busy machine makes noisy.
 *  - responsiveness: a real Node-RED (started as the soak does) with a container spinning in an
 *    endless loop under a budget of 1e10 (rfc9669, native board) and a healthy container behind
 *    an HTTP endpoint; while the loop spins, the latency of GET /flows, GET /femto/state, POST
 *    /femto/verify and a round trip through the healthy container (target < 100 ms; without
 *    slicing each would wait for the whole budget: minutes). The worst of each is printed.
 *
 *   import { benchSlicingOverhead, benchSpinLatency } from './slicing';
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { assemble } from '../../vm/assembler';
import { parseDataFile } from '../../vm/conformance-data';
import { DEFAULT_SLICE_MS, Vm, type RunResult, type Tier } from '../../vm/vm';
import { BENCH_DIR } from '../util/paths';
import { deploy, getJson, quantile, sleep, startNodeRed } from '../soak/soak';

const fmt = (n: number, d = 1): string => n.toFixed(d);

function fletcher(file: string, tier: Tier): { vm: Vm; mem: Uint8Array; expect?: bigint } {
  const parsed = parseDataFile(fs.readFileSync(path.join(BENCH_DIR, file), 'utf8'));
  const vm = new Vm({ text: assemble(parsed.asm ?? ''), budget: Number.MAX_SAFE_INTEGER, tier });
  if (tier === 'compiled' && vm.tier.current !== 'compiled') throw new Error(`not compiled: ${vm.tier.reason}`);
  return { vm, mem: parsed.mem, expect: parsed.result };
}

/**
 * One run, whole or in slices of `sliceMs`: wall seconds, CPU seconds of this process (what the
 * slicing really costs: on a shared box the wall time also counts the time other processes had
 * the core), and how many slices it took.
 */
function timeRun(l: ReturnType<typeof fletcher>, sliceMs: number | undefined): { seconds: number; cpu: number; slices: number } {
  l.vm.slicing = sliceMs === undefined ? undefined : { ms: sliceMs };
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let r: RunResult = l.vm.run({ context: l.mem, lengthInR2: true });
  let slices = 1;
  while (r.status === 'preempted') { r = l.vm.continue(); slices++; }
  const c = process.cpuUsage(c0);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 'exit' || (l.expect !== undefined && r.r0 !== l.expect)) throw new Error(`fletcher ${r.status}: ${r.fault?.message ?? r.r0}`);
  return { seconds, cpu: (c.user + c.system) / 1e6, slices };
}

/** Lines to print: sliced vs whole on both tiers. */
export function benchSlicingOverhead(opts: { quick?: boolean } = {}): string[] {
  const lines = [`slicing overhead: Fletcher-32 whole vs cut into ${DEFAULT_SLICE_MS} ms slices (run + continue(), alternately, best of each)`];
  const cases: [string, string, Tier, number][] = [
    ['compiled (wasm)', opts.quick ? 'fletcher32-360-x1000.data' : 'fletcher32-360-x1000000.data', 'compiled', opts.quick ? 3 : 9],
    ['interpreter', opts.quick ? 'fletcher32-360-x1000.data' : 'fletcher32-360-x100000.data', 'interp', opts.quick ? 3 : 5],
  ];
  for (const [label, file, tier, rounds] of cases) {
    // Two Vms on the same program, so that neither run's engine state (type feedback, wasm tier)
    // depends on the other's; warmed up, then alternately, best of each.
    const whole = fletcher(file, tier), sliced = fletcher(file, tier);
    timeRun(whole, undefined);
    timeRun(sliced, DEFAULT_SLICE_MS);
    const w = { seconds: Infinity, cpu: Infinity }, s = { seconds: Infinity, cpu: Infinity, slices: 0 };
    for (let k = 0; k < rounds; k++) {
      const a = timeRun(whole, undefined), b = timeRun(sliced, DEFAULT_SLICE_MS);
      w.seconds = Math.min(w.seconds, a.seconds); w.cpu = Math.min(w.cpu, a.cpu);
      s.seconds = Math.min(s.seconds, b.seconds); s.cpu = Math.min(s.cpu, b.cpu); s.slices = b.slices;
    }
    const ratio = s.cpu / w.cpu;
    lines.push(`  ${label.padEnd(16)} ${file.replace(/^fletcher32-360-|\.data$/g, '').padEnd(9)} CPU whole ${fmt(w.cpu, 3)} s, sliced ${fmt(s.cpu, 3)} s ` +
      `(${s.slices} slices): ${fmt(ratio, 3)}× (wall ${fmt(s.seconds / w.seconds, 3)}×)  target ≤ 1.05: ${ratio <= 1.05 ? 'met' : 'NOT met'}`);
  }
  return lines;
}

const SPIN = 'mov %r0, 0\nloop:\nadd %r0, 1\nja loop';
const INCREMENT = 'ldxdw %r2, [%r1]\nldxdw %r0, [%r2]\nadd %r0, 1\nexit';

/** The measuring flow: the spinner (started by an inject), and a healthy container behind GET /slice/ok. */
function spinFlow(): Record<string, unknown>[] {
  const c = (id: string, source: string, extra: Record<string, unknown>): Record<string, unknown> => ({
    id, type: 'femto-container', z: 'tab', name: id, board: 'board', language: 'asm', source, hook: 'flow', tenant: 'default',
    budget: '', profile: 'rfc9669', resultType: 'int64', entry: '', quarantineAfter: 0, input: 'payload', inputType: 'msg', x: 300, y: 100, ...extra,
  });
  return [
    { id: 'tab', type: 'tab', label: 'slicing bench' },
    { id: 'board', type: 'femto-board', name: 'bench', profile: 'native', storeCapacity: 16, timerPeriodMs: 0, samplePeriodMs: 0 },
    // Every second another message for the spinner: on the compiled tier 1e10 instructions take
    // only seconds, and the messages waiting behind the run keep it spinning all along.
    { id: 'go', type: 'inject', z: 'tab', name: 'spin', props: [{ p: 'payload' }], payload: '1', payloadType: 'num', once: true, onceDelay: 0.5, repeat: '1', wires: [['spin']], x: 100, y: 100 },
    c('spin', SPIN, { budget: 1e10, wires: [[]] }),
    { id: 'in', type: 'http in', z: 'tab', name: '', url: '/slice/ok', method: 'get', upload: false, wires: [['num']], x: 100, y: 200 },
    { id: 'num', type: 'change', z: 'tab', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: '41', tot: 'num' }], wires: [['ok']], x: 200, y: 200 },
    c('ok', INCREMENT, { y: 200, wires: [['res']] }),
    { id: 'res', type: 'http response', z: 'tab', name: '', statusCode: '', headers: {}, wires: [], x: 500, y: 200 },
  ];
}

interface SpinState { boards: { containers: { id: string; state: string }[] }[] }

/**
 * Lines to print: worst and median latency of each request while the loop spins, measured
 * `samples` times each, 100 ms apart, checking the loop still runs after the last one.
 */
export async function benchSpinLatency(opts: { samples?: number } = {}): Promise<{ lines: string[]; worstMs: number }> {
  const samples = opts.samples ?? 20;
  const nr = await startNodeRed({ label: 'slicing-bench' });
  try {
    await deploy(nr, spinFlow());
    const spinState = async (): Promise<string | undefined> =>
      (await getJson<SpinState>(`${nr.url}/femto/state`)).boards.flatMap((b) => b.containers).find((c) => c.id === 'spin')?.state;
    const t0 = Date.now();
    while ((await spinState()) !== 'running') {
      if (Date.now() - t0 > 30_000) throw new Error('the spinning container never ran');
      await sleep(100);
    }
    const req = async (url: string, init?: RequestInit): Promise<number> => {
      const s = performance.now();
      const r = await fetch(url, { ...init, signal: AbortSignal.timeout(120_000) });
      const body = await r.text();
      if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${body.slice(0, 200)}`);
      return performance.now() - s;
    };
    const kinds: [string, () => Promise<number>][] = [
      ['GET /flows', () => req(`${nr.url}/flows`)],
      ['GET /femto/state', () => req(`${nr.url}/femto/state`)],
      ['POST /femto/verify (asm)', () => req(`${nr.url}/femto/verify`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ language: 'asm', source: INCREMENT, board: 'native' }) })],
      ['healthy container (HTTP round trip)', () => req(`${nr.url}/slice/ok`)],
    ];
    const ms: number[][] = kinds.map(() => []);
    // A control: this process is idle while it waits for answers, so its event-loop delay is the
    // machine's scheduling noise, not Node-RED's.
    const control = monitorEventLoopDelay({ resolution: 5 });
    control.enable();
    const firstTick = nr.metrics().filter((l) => l.kind === 'tick').length;
    let spinning = 0;
    for (let i = 0; i < samples; i++) {
      for (let k = 0; k < kinds.length; k++) ms[k].push(await kinds[k][1]());
      if ((await spinState()) === 'running') spinning++;
      await sleep(100);
    }
    control.disable();
    const ticks = nr.metrics().filter((l) => l.kind === 'tick').slice(firstTick);
    const nrLoopMax = Math.max(0, ...ticks.map((l) => l.loop?.max ?? 0));
    const nrLoopP99 = Math.max(0, ...ticks.map((l) => l.loop?.p99 ?? 0));
    const lines = [`responsiveness while a container spins in an endless loop with budget 1e10 (real Node-RED, native board, rfc9669; ${samples} samples each; ` +
      `the loop was running at ${spinning} of ${samples} checks)`];
    let worstMs = 0;
    kinds.forEach(([label], k) => {
      const worst = Math.max(...ms[k]);
      if (label !== 'healthy container (HTTP round trip)') worstMs = Math.max(worstMs, worst);
      lines.push(`  ${label.padEnd(38)} median ${fmt(quantile(ms[k], 0.5), 1).padStart(6)} ms, worst ${fmt(worst, 1).padStart(6)} ms`);
    });
    lines.push(`  worst admin-API latency while the loop spins: ${fmt(worstMs, 1)} ms  target < 100 ms: ${worstMs < 100 ? 'met' : 'NOT met'}` +
      (spinning === samples ? '' : ' (the loop was not running all along)'));
    lines.push(`  Node-RED's event-loop delay: worst per-second p99 ${fmt(nrLoopP99, 1)} ms, max ${fmt(nrLoopMax, 1)} ms; ` +
      `this idle process (machine noise): max ${fmt(Math.max(0, control.max / 1e6 - 5), 1)} ms; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    return { lines, worstMs };
  } finally {
    await nr.stop();
    fs.rmSync(nr.userDir, { recursive: true, force: true });
  }
}
