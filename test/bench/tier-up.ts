/**
 * The longest the event loop is held while `auto` moves a 4,096-instruction program to the
 * compiled tier for the first time in a process: every run timed until the compiled tier is in
 * use, with a turn of the event loop between runs (as Node-RED's sensor events have). Run in a
 * fresh process per mode, since only the first translation in a process is cold.
 *
 *   node dist/test/bench/tier-up.js --mode worker|inline    → JSON { worstMs, runs, compiled }
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { assemble } from '../../vm/assembler';
import { Vm } from '../../vm/vm';
import { workerTranslator } from '../../lib/tier-worker/translator';

export interface TierUpStall {
  worstMs: number;
  /** The turn in which the module arrived and the first run went compiled (the tier-up's own stall). */
  arrivalMs: number;
  /** Worst turn of the same loop on the interpreter only: what this machine's load alone adds. */
  baselineMs: number;
  runs: number;
  compiled: boolean;
}

/**
 * A 4,096-instruction program with branches every few instructions. `variant` changes one
 * constant: V8 caches modules by their bytes, so each timed compilation needs different bytes.
 */
export function bigProgram(variant = 0): string {
  const lines: string[] = ['mov %r0, 0', 'mov %r1, 1'];
  let k = 0;
  while (lines.length < 4094) {
    lines.push(`add %r0, ${k % 100}`, `xor %r1, %r0`, `jgt %r1, ${k}, +1`, `lsh %r1, 1`, `stxdw [%r10-8], %r1`, `ldxdw %r2, [%r10-8]`);
    k++;
  }
  while (lines.length < 4095) lines.push(`mov %r3, ${variant}`);
  lines.push('exit');
  return lines.join('\n');
}

async function measure(worker: boolean): Promise<TierUpStall> {
  const vm = new Vm({ text: assemble(bigProgram(7)), budget: 1e6, tier: 'auto', translate: worker ? workerTranslator : undefined });
  let worstMs = 0;
  let arrivalMs = 0;
  let runs = 0;
  // Each iteration is one run and one turn of the event loop, so the module's arrival (a
  // promise callback that instantiates it) is timed too, not only the runs.
  let t0 = performance.now();
  while (vm.tier.current !== 'compiled' && runs < 20_000) {
    vm.run();
    runs++;
    await new Promise((r) => setImmediate(r));
    const t1 = performance.now();
    worstMs = Math.max(worstMs, t1 - t0);
    arrivalMs = t1 - t0;
    t0 = t1;
  }
  const base = new Vm({ text: assemble(bigProgram(8)), budget: 1e6, tier: 'interp' });
  let baselineMs = 0;
  t0 = performance.now();
  for (let k = 0; k < runs; k++) {
    base.run();
    await new Promise((r) => setImmediate(r));
    const t1 = performance.now();
    baselineMs = Math.max(baselineMs, t1 - t0);
    t0 = t1;
  }
  return { worstMs, arrivalMs, baselineMs, runs, compiled: vm.tier.current === 'compiled' };
}

/** Lines for the bench: worst stall with the worker and, for comparison, inline. */
export function benchTierUp(): string[] {
  const out = ['first tier-up of a 4,096-instruction program (auto tier, a fresh process each): worst run while it happens'];
  for (const mode of ['worker', 'inline'] as const) {
    const r = spawnSync(process.execPath, [__filename, '--mode', mode], { encoding: 'utf8' });
    if (r.status !== 0) { out.push(`  ${mode}: failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`); continue; }
    const m = JSON.parse(r.stdout) as TierUpStall;
    out.push(`  ${mode === 'worker' ? 'translated on a worker thread' : 'translated on the event loop '}  the tier-up's turn ${m.arrivalMs.toFixed(2)} ms` +
      `${mode === 'worker' ? ` (target ≤ 2 ms: ${m.arrivalMs <= 2 ? 'met' : 'NOT met'})` : ''}; worst turn ${m.worstMs.toFixed(2)} ms over ${m.runs} runs ` +
      `(interpreter only, same loop: worst ${m.baselineMs.toFixed(2)} ms, the machine's own noise)` + (m.compiled ? '' : '; never reached the compiled tier'));
  }
  return out;
}

if (require.main === module) {
  const at = process.argv.indexOf('--mode');
  if (at >= 0) {
    measure(process.argv[at + 1] === 'worker').then((r) => process.stdout.write(JSON.stringify(r)), (e: unknown) => {
      console.error(e instanceof Error ? e.message : String(e));
      process.exitCode = 1;
    });
  } else for (const l of benchTierUp()) console.log(l);
}
