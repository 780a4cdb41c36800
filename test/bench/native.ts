/**
 * The bench's stable yardstick: Fletcher-32 in plain C (test/data/bench/fletcher32_ref.c) compiled
 * with clang -O2 and timed in the same run as the VM. The reference figures for uBPF were taken
 * on another machine; scaled by the native time measured here (reference native ÷ this native)
 * they say what uBPF would do on this machine right now, busy or not.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BENCH_DIR } from '../util/paths';

export interface NativeFletcher {
  /** Seconds for `reps` repetitions over the 360-byte buffer (best of the runs). */
  seconds: number;
  reps: number;
  checksum: number;
}

/** Compile and time the C reference ×reps; a string (saying why) when clang or a C library is missing. */
export function timeNativeFletcher(reps = 1e6, runs = 3): NativeFletcher | string {
  const clang = process.env.FEMTO_HOST_CC ?? 'clang';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-native-'));
  try {
    const exe = path.join(dir, 'fletcher32');
    const cc = spawnSync(clang, ['-O2', '-o', exe, path.join(BENCH_DIR, 'fletcher32_ref.c')], { encoding: 'utf8' });
    if (cc.status !== 0) return `${clang} -O2 failed: ${(cc.stderr || String(cc.error)).trim().split('\n')[0]}`;
    const hex = fs.readFileSync(path.join(BENCH_DIR, 'mem360.hex'), 'utf8').trim().split(/\s+/).map((h) => parseInt(h, 16));
    const bin = path.join(dir, 'mem360.bin');
    fs.writeFileSync(bin, Uint8Array.from(hex));
    let best = Infinity;
    let checksum = 0;
    for (let k = 0; k < runs; k++) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(exe, [bin, String(reps)], { encoding: 'utf8' });
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (r.status !== 0) return `the native reference failed: ${r.stderr.trim()}`;
      checksum = parseInt(r.stdout.trim(), 16);
      best = Math.min(best, s);
    }
    return { seconds: best, reps, checksum };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
