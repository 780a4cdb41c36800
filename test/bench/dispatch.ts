/**
 * Hook dispatch benchmark: the host cost of one sensor event through the emulated
 * board's 'sensor' hook — sample the SAUL device, build the 16-byte context, run the attached
 * container in the VM, count instructions by class for the cost model, capture its console /
 * actuator / store events and emit the run report — in µs per event and events per second.
 *
 * Cases (nRF52840 DK profile, virtual clock, 5 ms slices as in Node-RED, one container on the hook):
 *   - no container: the hook with nothing attached (sampling + emitting only);
 *   - empty container: `mov r0, 0; exit`;
 *   - threshold, steady: lib/containers/threshold.c with the temperature below the threshold
 *     (reads the context, finds the LED, writes it, fetches its state: no change, no console);
 *   - threshold, toggling: the temperature crosses the threshold on every event (an LED change, a
 *     store write and a console line per event: the worst case).
 * Each case is warmed up, then timed in 15 batches of ~50 ms of events each, keeping the best
 * batch (the one least disturbed by other processes); the whole benchmark takes 1–4 s. The
 * threshold container is compiled with clang; without clang those lines say so.
 *
 *   import { benchDispatch } from './dispatch';  for (const l of benchDispatch()) console.log(l);
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Board, VirtualClock } from '../../lib/board/board';
import { DEFAULT_SLICE_MS, type Tier } from '../../vm/vm';
import { buildImage } from '../../vm/image';
import { loadElf } from '../../vm/elf';
import { ROOT } from '../util/paths';

const BATCHES = 15;
const EMPTY_ASM = 'mov %r0, 0\nexit\n';

/** threshold.c → image bytes, with the flags lib/compiler uses; undefined without clang. */
function compileThreshold(): Uint8Array | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-bench-'));
  try {
    const out = path.join(dir, 'threshold.o');
    const r = spawnSync(process.env.FEMTO_CLANG ?? 'clang', [
      '-target', 'bpf', '-O2', '-nostdinc', '-ffreestanding', '-fno-common',
      `-I${path.join(ROOT, 'lib', 'include')}`, '-c', path.join(ROOT, 'lib', 'containers', 'threshold.c'), '-o', out,
    ], { encoding: 'utf8' });
    if (r.status !== 0 || !fs.existsSync(out)) return undefined;
    return buildImage(loadElf(new Uint8Array(fs.readFileSync(out))).image);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface Case {
  label: string;
  /** Board VM settings (default: the nRF52840 DK's riot-2022 profile, which stays interpreted). */
  vm?: { vmProfile: 'rfc9669'; tier: Tier };
  image?: Uint8Array | string;
  /** Sensor value before event i (undefined: leave the default 22.25 °C). */
  value?: (i: number) => number;
}

interface Measured {
  usPerEvent: number;
  eventsPerSecond: number;
  events: number;
  insnsPerEvent: number;
}

function measure(c: Case, targetSeconds: number): Measured {
  // Sliced like Node-RED's boards: a short run never reads the clock, so it costs nothing here.
  const board = new Board({ profile: 'nrf52840dk', clock: new VirtualClock(), slice: { ms: DEFAULT_SLICE_MS }, ...c.vm });
  if (c.image !== undefined) board.install({ id: 'c', image: c.image, hook: 'sensor' });
  let insns = 0;
  let runs = 0;
  const fire = (i: number): void => {
    if (c.value) board.setSensor('NRF_TEMP', c.value(i));
    const r = board.sampleSensor('NRF_TEMP');
    for (const rep of r.reports) {
      if (rep.status !== 'exit') throw new Error(`bench container ${rep.status}: ${rep.fault?.message ?? ''}`);
      insns += rep.insns;
      runs++;
    }
  };
  // Warm-up (JIT, caches) and calibration: how many events fit in ~1/20 of the target; then
  // BATCHES batches of that size, keeping the best (the least disturbed by other processes).
  let n = 0;
  const t0 = process.hrtime.bigint();
  // At least 20,000 warm-up events: enough for the VM's own tier decision (compile, trial runs)
  // and for the engine to optimise the compiled module, so every case is measured warm.
  while (n < 20_000 || Number(process.hrtime.bigint() - t0) / 1e9 < targetSeconds / 20) fire(n++);
  const batch = Math.max(500, Math.round(n / 4));
  let bestSeconds = Infinity;
  for (let b = 0; b < BATCHES; b++) {
    const s = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fire(n + i);
    n += batch;
    bestSeconds = Math.min(bestSeconds, Number(process.hrtime.bigint() - s) / 1e9);
  }
  return { usPerEvent: (bestSeconds / batch) * 1e6, eventsPerSecond: batch / bestSeconds, events: batch, insnsPerEvent: runs ? insns / runs : 0 };
}

function cases(threshold: Uint8Array | undefined): Case[] {
  return [
    { label: 'no container on the hook' },
    { label: 'empty container (mov r0, 0; exit)', image: EMPTY_ASM },
    { label: 'threshold.c, steady (below 25 °C)', image: threshold, value: () => 22.25 },
    { label: 'threshold.c, toggling every event', image: threshold, value: (i) => (i % 2 ? 26 : 24) },
    // The tiers on a short container (rfc9669 so that it may compile): auto must not be slower.
    { label: 'threshold.c, rfc9669, tier interp', image: threshold, value: () => 22.25, vm: { vmProfile: 'rfc9669', tier: 'interp' } },
    { label: 'threshold.c, rfc9669, tier auto', image: threshold, value: () => 22.25, vm: { vmProfile: 'rfc9669', tier: 'auto' } },
    { label: 'threshold.c, rfc9669, tier compiled', image: threshold, value: () => 22.25, vm: { vmProfile: 'rfc9669', tier: 'compiled' } },
  ];
}

/**
 * Lines to print: one per case, with µs per event and events per second. Each case runs in its
 * own process: in one process the cases measured later pay for the engine's type feedback from
 * the earlier ones (a board that ran the interpreter, then the compiled tier…), which skews
 * exactly the tier comparison this benchmark is for.
 */
export function benchDispatch(opts: { quick?: boolean } = {}): string[] {
  const threshold = compileThreshold();
  const lines = ['hook dispatch: one sensor event through the sensor hook (nrf52840dk board, virtual clock; each case in its own process)'];
  cases(threshold).forEach((c, k) => {
    if (c.label.startsWith('threshold') && !threshold) {
      lines.push(`  ${c.label.padEnd(38)} skipped: clang with the BPF target not found`);
      return;
    }
    const r = spawnSync(process.execPath, [__filename, '--case', String(k), ...(opts.quick ? ['--quick'] : [])], { encoding: 'utf8' });
    if (r.status !== 0) {
      lines.push(`  ${c.label.padEnd(38)} failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
      return;
    }
    const m = JSON.parse(r.stdout) as Measured;
    lines.push(
      `  ${c.label.padEnd(38)} ${m.usPerEvent.toFixed(2).padStart(8)} µs/event  ${Math.round(m.eventsPerSecond).toLocaleString('en-US').padStart(10)} events/s` +
        (m.insnsPerEvent ? `  (${Math.round(m.insnsPerEvent)} insns/run)` : ''),
    );
  });
  return lines;
}

if (require.main === module) {
  const at = process.argv.indexOf('--case');
  const quick = process.argv.includes('--quick');
  if (at >= 0) {
    const c = cases(compileThreshold())[Number(process.argv[at + 1])];
    process.stdout.write(JSON.stringify(measure(c, quick ? 0.3 : 1)));
  } else for (const l of benchDispatch({ quick })) console.log(l);
}
