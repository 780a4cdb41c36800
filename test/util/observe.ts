/**
 * What a host can see of a Vm after one run slice, as a plain comparable record: the tiers'
 * differential tests and the fuzzer's interp-vs-compiled target compare these slice by slice.
 */
import type { RunResult, Vm } from '../../vm/vm';

/** FNV-1a of a region (the stack is large; a hash and its length are enough to compare). */
function fnv(b: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return (h >>> 0).toString(16) + '/' + b.length;
}

export const hex = (b: Uint8Array | undefined): string | undefined => (b ? Buffer.from(b).toString('hex') : undefined);

/**
 * Status, r0, counts, the whole fault, the context after the run, .data, .rodata, the stack,
 * whether the Vm is left suspended, per-pc counts when kept, and the contents of `regions`
 * (host-mapped regions by name; null for one not mapped).
 */
export function observe(vm: Vm, res: RunResult, regions: string[] = []): Record<string, unknown> {
  const f = res.fault;
  const extra: Record<string, unknown> = {};
  for (const name of regions) extra[name] = vm.memory.region(name) ? hex(vm.memory.bytes(name)) : null;
  return {
    status: res.status,
    r0: '0x' + res.r0.toString(16),
    insns: res.insns,
    totalInsns: res.totalInsns,
    fault: f ? { code: f.code, pc: f.pc, reason: f.reason, insn: f.insn, detail: f.detail, message: f.message } : null,
    context: hex(res.context),
    data: hex(vm.memory.bytes('data')),
    rodata: hex(vm.memory.bytes('rodata')),
    stack: fnv(vm.memory.bytes('stack')),
    ...extra,
    suspended: vm.suspended,
    ...(res.pcCounts ? { pcCounts: res.pcCounts.join(','), pcTaken: res.pcTaken?.join(',') } : {}),
  };
}
