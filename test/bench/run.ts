/**
 * `npm run bench`: performance as ratios measured side by side in one run (never as timed tests).
 * Programs come from `../shared/bench/`; the baseline is the same algorithm in plain JavaScript,
 * plus the reference figures for uBPF and native C from `../shared/bench/README.md`.
 *
 *   node dist/test/bench/run.js [--quick] [--only NAME]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assemble } from '../../vm/assembler';
import { parseDataFile } from '../../vm/conformance-data';
import { Vm } from '../../vm/vm';
import { BENCH_DIR } from '../util/paths';

const quick = process.argv.includes('--quick');

/** uBPF and native figures from ../shared/bench/README.md (seconds), for reference lines. */
const REFERENCE = {
  fletcherX1e6: { ubpfInterp: 5.4, ubpfJit: 0.10, nativeC: 0.07, insns: 1.108e9 },
  sum1e9: { ubpfInterp: 13, ubpfJit: 0.27, insns: 3e9 + 3 },
};

interface Loaded { vm: Vm; mem: Uint8Array; expect?: bigint }

function load(file: string): Loaded {
  const parsed = parseDataFile(fs.readFileSync(path.join(BENCH_DIR, file), 'utf8'));
  const vm = new Vm({ text: assemble(parsed.asm ?? ''), budget: Number.MAX_SAFE_INTEGER });
  return { vm, mem: parsed.mem, expect: parsed.result };
}

function runOnce(l: Loaded): { seconds: number; insns: number; r0: bigint } {
  const t0 = process.hrtime.bigint();
  const res = l.vm.run(l.mem.length ? { context: l.mem, lengthInR2: true } : {});
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (res.status !== 'exit') throw new Error(`bench program faulted: ${res.fault?.message}`);
  if (l.expect !== undefined && res.r0 !== l.expect) throw new Error(`wrong result 0x${res.r0.toString(16)}`);
  return { seconds, insns: res.insns, r0: res.r0 };
}

/** Best of n runs (the first run also warms the JIT). */
function best<T extends { seconds: number }>(n: number, f: () => T): T {
  let b: T | undefined;
  for (let i = 0; i < n; i++) {
    const r = f();
    if (!b || r.seconds < b.seconds) b = r;
  }
  return b!;
}

/** Fletcher-32 (RIOT's variant) in plain JS over the same buffer, repeated `times`. */
function fletcherJs(buf: Uint8Array, times: number): number {
  let result = 0;
  for (let t = 0; t < times; t++) {
    let words = buf.length >>> 1;
    let s1 = 0xffff, s2 = 0xffff, p = 0;
    while (words) {
      let tlen = words > 359 ? 359 : words;
      words -= tlen;
      do {
        s1 += buf[p] | (buf[p + 1] << 8);
        s2 += s1;
        p += 2;
      } while (--tlen);
      s1 = (s1 & 0xffff) + (s1 >>> 16);
      s2 = (s2 & 0xffff) + (s2 >>> 16);
    }
    s1 = (s1 & 0xffff) + (s1 >>> 16);
    s2 = (s2 & 0xffff) + (s2 >>> 16);
    result = ((s2 << 16) | s1) >>> 0;
  }
  return result;
}

function timeJs(f: () => number): { seconds: number; value: number } {
  const t0 = process.hrtime.bigint();
  const value = f();
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, value };
}

const fmt = (n: number, d = 1): string => n.toFixed(d);
const mips = (insns: number, s: number): string => fmt(insns / s / 1e6);

function main(): void {
  console.log(`femto bench — node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} ×${os.cpus().length}, ${os.platform()}`);
  console.log('');

  // Fletcher-32 ×1e5 in the VM vs plain JS.
  const fl = load(quick ? 'fletcher32-360-x1000.data' : 'fletcher32-360-x100000.data');
  const times = quick ? 1000 : 100000;
  const vmF = best(3, () => runOnce(fl));
  const js = best(3, () => timeJs(() => fletcherJs(fl.mem, times)));
  if (js.value !== 0xa4b6d43f) throw new Error('plain JS fletcher gave a wrong result');
  console.log(`fletcher32-360 ×${times} (${vmF.insns.toLocaleString('en-US')} instructions)`);
  console.log(`  interpreter      ${fmt(vmF.seconds, 3)} s   ${mips(vmF.insns, vmF.seconds)} M insns/s`);
  console.log(`  plain JS         ${fmt(js.seconds, 4)} s   interpreter/JS time ratio ${fmt(vmF.seconds / js.seconds)}×`);
  const ref = REFERENCE.fletcherX1e6;
  console.log(`  reference (README, ×1e6): uBPF interpreter ${ref.ubpfInterp} s ≈ ${fmt(ref.insns / ref.ubpfInterp / 1e6, 0)} M insns/s; ` +
    `our interpreter at this rate: ${fmt(ref.insns / (vmF.insns / vmF.seconds), 2)} s ` +
    `(${fmt((vmF.insns / vmF.seconds) / (ref.insns / ref.ubpfInterp), 2)}× uBPF's rate)`);
  console.log('');

  // Sum loop.
  const sumName = quick ? 'sum-loop-1000.data' : 'sum-loop-100000000.data';
  const sl = load(sumName);
  const vmS = best(quick ? 3 : 2, () => runOnce(sl));
  const n = quick ? 1000 : 1e8;
  const jsS = best(3, () => timeJs(() => {
    let s = 0n; // 64-bit exact sum needs more than 53 bits for 1e8
    let lo = 0, hi = 0;
    for (let k = 1; k <= n; k++) { lo += k; if (lo >= 4294967296) { lo -= 4294967296; hi++; } }
    s = (BigInt(hi) << 32n) + BigInt(lo);
    return Number(s & 0xffffffffn);
  }));
  console.log(`${sumName.replace('.data', '')} (${vmS.insns.toLocaleString('en-US')} instructions)`);
  console.log(`  interpreter      ${fmt(vmS.seconds, 3)} s   ${mips(vmS.insns, vmS.seconds)} M insns/s`);
  console.log(`  plain JS         ${fmt(jsS.seconds, 4)} s   interpreter/JS time ratio ${fmt(vmS.seconds / jsS.seconds)}×`);
  const rs = REFERENCE.sum1e9;
  console.log(`  reference (README, 1e9): uBPF interpreter ${rs.ubpfInterp} s ≈ ${fmt(rs.insns / rs.ubpfInterp / 1e6, 0)} M insns/s`);
}

main();
