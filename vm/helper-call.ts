/**
 * What a helper sees of its call (HelperCall): the arguments r1–r5 read from the machine's
 * registers in the width the helper asks for, checked memory, and the instance. One object per
 * Vm, reused for every call.
 */
import { toBigU64 } from './int64';
import type { Machine } from './interpreter';
import type { Memory } from './memory';
import { SUSPEND, type HelperCall } from './vm-api';
import type { Vm } from './vm';

export class Call implements HelperCall {
  id = 0;
  pc = 0;
  constructor(readonly vm: Vm, readonly mem: Memory, private readonly m: Machine) {}
  u32(n: number): number { return this.m.lo[n] >>> 0; }
  i32(n: number): number { return this.m.lo[n]; }
  u64(n: number): bigint { return toBigU64(this.m.lo[n], this.m.hi[n]); }
  num(n: number): number {
    const h = this.m.hi[n] >>> 0;
    return h < 0x200000 ? h * 4294967296 + (this.m.lo[n] >>> 0) : NaN;
  }
  suspend(): typeof SUSPEND { return SUSPEND; }
}
