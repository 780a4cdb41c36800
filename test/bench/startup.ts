/**
 * CLI start-up benchmark: how long `femto` takes to start for a simple command
 * (`--version`, `--help`, `run --help`) and for `femto run` on a two-instruction program, as a
 * ratio to bare `node -e 0` measured in the same run. Targets: simple commands within 1.5× of
 * bare node, `femto run` on a tiny program within 2×.
 *
 * Each round spawns every command once, in turn, so a busy machine slows them all alike; the
 * median over the rounds is reported. The ratios, not the milliseconds, are the figure to compare
 * between machines.
 *
 *   import { benchStartup } from './startup';  for (const l of benchStartup()) console.log(l);
 *   node dist/test/bench/startup.js [--rounds N]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../util/paths';

const MAIN = path.join(ROOT, 'dist', 'lib', 'cli', 'main.js');

interface Case {
  label: string;
  args: string[];
  /** The ratio to bare node this command must stay within. */
  target?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function timeOnce(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr.toString().trim()}`);
  return ms;
}

/** Lines of the report: each command's median wall time and its ratio to bare node. */
export function benchStartup(opts: { rounds?: number } = {}): string[] {
  const rounds = opts.rounds ?? 20;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-startup-'));
  const tiny = path.join(dir, 'tiny.s');
  fs.writeFileSync(tiny, 'mov %r0, 42\nexit\n');
  const cases: Case[] = [
    { label: 'node -e 0', args: ['-e', '0'] },
    { label: 'femto --version', args: [MAIN, '--version'], target: 1.5 },
    { label: 'femto --help', args: [MAIN, '--help'], target: 1.5 },
    { label: 'femto run --help', args: [MAIN, 'run', '--help'], target: 1.5 },
    { label: 'femto run tiny.s', args: [MAIN, 'run', tiny], target: 2 },
  ];
  try {
    const times = cases.map(() => [] as number[]);
    for (const c of cases) timeOnce(c.args); // warm the file cache
    for (let r = 0; r < rounds; r++) cases.forEach((c, i) => times[i].push(timeOnce(c.args)));
    const base = median(times[0]);
    const width = Math.max(...cases.map((c) => c.label.length));
    const lines = [`CLI start-up: median of ${rounds} rounds, each command spawned in turn (${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)})`];
    cases.forEach((c, i) => {
      const ms = median(times[i]);
      const ratio = ms / base;
      const verdict = c.target === undefined ? '' : `  (target ≤ ${c.target}×: ${ratio <= c.target ? 'ok' : 'OVER'})`;
      lines.push(`  ${c.label.padEnd(width)}  ${ms.toFixed(1).padStart(7)} ms  ${ratio.toFixed(2)}× bare node${verdict}`);
    });
    return lines;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const at = process.argv.indexOf('--rounds');
  const rounds = at > 0 ? Number(process.argv[at + 1]) : undefined;
  for (const l of benchStartup({ rounds })) console.log(l);
}
