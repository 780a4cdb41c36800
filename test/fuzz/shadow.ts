/**
 * Shadow copies of all memory the host can see, to prove that no write lands outside a granted
 * region. Before a run: every region's bytes, and every byte of the backing buffer that belongs
 * to no region (alignment padding between regions, the tail of a WebAssembly memory) filled with
 * a known pattern — the "unmapped gap". After the run: regions the container may not write
 * (read-only ones, the canary) must be byte-identical, and so must the gap bytes when the layout
 * did not change. Writable regions may change.
 *
 * The compiled tier keeps its own state (registers, frames, counters) in front of the first
 * region of its WebAssembly memory; those bytes are the VM's, not a container's, and are skipped.
 */
import { Memory, PERM_READ, PERM_RW, PERM_WRITE } from '../../vm/memory';
import type { RunOptions, Vm } from '../../vm/vm';
import { Finding } from './engine';

export interface RegionShot {
  name: string;
  base: number;
  size: number;
  perm: number;
  offset: number;
  bytes: Uint8Array;
}

export interface Shadow {
  regions: RegionShot[];
  layoutVersion: number;
  buffer: ArrayBufferLike;
  /** [start, end) ranges of the backing buffer outside every region, and their bytes. */
  gaps: { start: number; end: number; bytes: Uint8Array }[];
}

const GAP_PATTERN = 0xa5;

function gapRanges(mem: Memory): { start: number; end: number }[] {
  const sorted = [...mem.regions].sort((a, b) => a.offset - b.offset);
  // The compiled tier's state area sits before the first region of its WebAssembly memory.
  let pos = mem.wasmMemory && sorted.length ? sorted[0].offset : 0;
  const out: { start: number; end: number }[] = [];
  for (const r of sorted) {
    if (r.offset > pos) out.push({ start: pos, end: r.offset });
    pos = Math.max(pos, r.offset + r.size);
  }
  if (mem.u8.length > pos) out.push({ start: pos, end: mem.u8.length });
  return out;
}

/** Fill every gap byte with a recognisable pattern (so a stray write of zeros shows too). */
export function fillGaps(mem: Memory): void {
  for (const g of gapRanges(mem)) {
    // Cap the tail of a large WebAssembly memory: a stray write lands near the regions.
    const end = Math.min(g.end, g.start + (1 << 16));
    for (let i = g.start; i < end; i++) mem.u8[i] = GAP_PATTERN ^ (i & 0x3f);
  }
}

export function snapshot(mem: Memory, withGaps = true): Shadow {
  return {
    regions: mem.regions.map((r) => ({ name: r.name, base: r.base, size: r.size, perm: r.perm, offset: r.offset, bytes: mem.u8.slice(r.offset, r.offset + r.size) })),
    layoutVersion: mem.layoutVersion,
    buffer: mem.buffer,
    gaps: withGaps ? gapRanges(mem).map((g) => {
      const end = Math.min(g.end, g.start + (1 << 16));
      return { start: g.start, end, bytes: mem.u8.slice(g.start, end) };
    }) : [],
  };
}

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/**
 * Compare memory after a run with the shadow. `writable(name)` says which regions the container
 * may change (default: those mapped with write permission). Throws a 'write-outside' Finding.
 */
export function checkShadow(mem: Memory, before: Shadow, what: string, writable?: (r: RegionShot) => boolean): void {
  const mayWrite = writable ?? ((r: RegionShot) => (r.perm & PERM_WRITE) !== 0);
  for (const r of before.regions) {
    const now = mem.region(r.name);
    if (!now || now.base !== r.base || now.size !== r.size) continue; // remapped by the host (context)
    if (mayWrite(r)) continue;
    const after = mem.u8.subarray(now.offset, now.offset + now.size);
    const d = firstDiff(r.bytes, after);
    if (d >= 0) {
      throw new Finding('write-outside', `${what}: ${r.perm & PERM_WRITE ? 'protected' : 'read-only'} region ${r.name} (0x${r.base.toString(16)}+${r.size}) changed at +${d}: ` +
        `0x${r.bytes[d]?.toString(16)} -> 0x${after[d]?.toString(16)}`);
    }
  }
  if (before.gaps.length && mem.layoutVersion === before.layoutVersion && mem.buffer === before.buffer) {
    for (const g of before.gaps) {
      const d = firstDiff(g.bytes, mem.u8.subarray(g.start, g.end));
      if (d >= 0) {
        const at = g.start + d;
        throw new Finding('write-outside', `${what}: unmapped gap byte changed at buffer offset ${at} (gap ${g.start}..${g.end}): ` +
          `0x${g.bytes[d].toString(16)} -> 0x${mem.u8[at].toString(16)}; regions ${mem.regions.map((r) => `${r.name}@${r.offset}+${r.size}`).join(' ')}`);
      }
    }
  }
}

/**
 * Map the run's context region up front exactly as Vm.run will (same size and permission, so
 * run() takes the in-place path and the layout — and the gap — stays put), or unmap it.
 */
export function premapContext(vm: Vm, opts: RunOptions): void {
  if (opts.context) vm.memory.map('context', opts.context, opts.contextWritable ? PERM_RW : PERM_READ);
  else vm.memory.unmap('context');
}

/**
 * Wrap a Vm's run and resume so every slice (whoever starts it: a board, a hook) is checked
 * against a shadow taken right before it. `onViolation` receives the Finding (the wrapper must not
 * throw into the host that called run()).
 */
export function guardVm(vm: Vm, label: string, onViolation: (f: Finding) => void, extraCheck?: (before: Shadow) => void): () => void {
  const run = vm.run.bind(vm);
  const resume = vm.resume.bind(vm);
  const check = (before: Shadow, what: string): void => {
    try {
      checkShadow(vm.memory, before, what);
      extraCheck?.(before);
    } catch (e) {
      if (e instanceof Finding) onViolation(e);
      else throw e;
    }
  };
  vm.run = (opts: RunOptions = {}) => {
    premapContext(vm, opts);
    fillGaps(vm.memory);
    const before = snapshot(vm.memory);
    const r = run(opts);
    check(before, `${label} run`);
    return r;
  };
  vm.resume = (r0?: number | bigint, budget?: number) => {
    fillGaps(vm.memory);
    const before = snapshot(vm.memory);
    const r = resume(r0, budget);
    check(before, `${label} resume`);
    return r;
  };
  return () => {
    vm.run = run;
    vm.resume = resume;
  };
}
