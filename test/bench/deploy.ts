/**
 * Deployment benchmark: wall time to deploy a 2 KiB container image to 1, 10 and 50
 * boards on loopback — from the deploy() call to every board's confirmed install: probe each board
 * (status), sign one manifest per board, serve manifest and image from a CoAP file server, trigger,
 * the boards fetch block-wise (64 B blocks, as RIOT: 5 manifest + 32 image blocks), verify the
 * Ed25519 signature, digest and program, install, and the host sees it in the board's status.
 *
 * Boards are `femto device` processes (one Node process and UDP socket each), started once before
 * timing. Each size is deployed 3 times (sequence numbers picked automatically); the median and
 * the best are reported, with per-board throughput. On a small machine the 50-board figure is
 * bound by CPU: 50 board processes and the host share the cores.
 *
 *   import { benchDeploy } from './deploy';  for (const l of await benchDeploy()) console.log(l);
 *   node dist/test/bench/deploy.js
 */
import * as os from 'node:os';
import { deploy } from '../../lib/deploy/deploy';
import { generateKeyPair, writeKeyPair } from '../../lib/deploy/keys';
import { imageReturning, spawnDevice, tmpDir, type DeviceProcess } from '../lib/deploy/util';
import * as path from 'node:path';

const SIZES = [1, 10, 50];
const ROUNDS = 3;
const IMAGE_BYTES = 2048;

export async function benchDeploy(): Promise<string[]> {
  const dir = tmpDir('bench');
  const kp = generateKeyPair();
  const { pubFile } = writeKeyPair(path.join(dir, 'bench'), kp);
  // Filler rodata brings the image to 2 KiB exactly (a full RIOT storage slot).
  const base = imageReturning(1).length;
  const image = imageReturning(1, (IMAGE_BYTES - base) & ~7);
  const lines: string[] = [];
  let devices: DeviceProcess[] = [];
  const t0 = Date.now();
  try {
    devices = await Promise.all(Array.from({ length: Math.max(...SIZES) }, () => spawnDevice(['--key', pubFile, '--quiet'], 60_000)));
    lines.push(`deploy: ${image.length} B image to N boards (femto device processes on 127.0.0.1, ${os.cpus().length} CPUs; ` +
      `started ${devices.length} in ${Date.now() - t0} ms), ${ROUNDS} rounds each`);
    for (const n of SIZES) {
      const targets = devices.slice(0, n).map((d) => d.url);
      const times: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const start = process.hrtime.bigint();
        const out = await deploy({ image, key: kp, targets, slot: r % 2, timeoutMs: 60_000 });
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        const bad = out.filter((o) => !o.ok);
        if (bad.length) throw new Error(`deploy to ${n} boards: ${bad.length} failed: ${bad[0].error?.kind}: ${bad[0].error?.message}`);
        times.push(ms);
      }
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)];
      lines.push(`  ${String(n).padStart(2)} board${n === 1 ? ' ' : 's'}: median ${median.toFixed(0).padStart(5)} ms, best ${times[0].toFixed(0).padStart(5)} ms` +
        `  (${(median / n).toFixed(1)} ms per board, ${((n * image.length) / 1024 / (median / 1000)).toFixed(1)} KiB/s delivered)`);
    }
  } finally {
    await Promise.all(devices.map((d) => d.stop()));
  }
  return lines;
}

if (require.main === module) {
  benchDeploy().then(
    (lines) => {
      for (const l of lines) console.log(l);
    },
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
