/**
 * A container's memory: a 32-bit virtual address space made of named regions (stack, .data,
 * .rodata, context, and whatever a hook or host adds), each with a base, a length and read/write
 * permission. All regions of one instance live in one ArrayBuffer, so the interpreter reads them
 * through a single DataView; a region is just (virtual base, length, offset into that buffer).
 *
 * Why fixed bases per kind: a container's addresses are then the same from run to run and from
 * board to board, which makes faults reproducible ("write 0x20000010" always means .data+16).
 * No region lies within 64 KiB of address 0 or of 2^32, so a null or small pointer never maps and
 * the interpreter may skip the 64-bit wrap-around cases of `reg + offset` (see interpreter.ts).
 *
 * Helpers and the host reach container memory only through the checked accessors here
 * (read/write/readCString/…): every pointer a container hands a helper gets the same check as a
 * load or store, and a failure is a MemoryAccessError the VM turns into fault −2.
 */
import type { AccessKind } from './errors';

export const PERM_READ = 1;
export const PERM_WRITE = 2;
export const PERM_RW = PERM_READ | PERM_WRITE;

/** Virtual bases of the standard regions. */
export const BASE = {
  rodata: 0x1000_0000,
  data: 0x2000_0000,
  stack: 0x3000_0000,
  context: 0x4000_0000,
  /** Host/hook regions are placed from here on, one 16 MiB window each. */
  extra: 0x5000_0000,
} as const;
const EXTRA_STRIDE = 0x0100_0000;
export const MAX_REGION_SIZE = 0x0100_0000 - 0x1_0000; // leave a guard gap inside each window
const MAX_EXTRA_REGIONS = 160; // 0x50000000 + 160 × 16 MiB stays below 0xF0000000

export interface Region {
  readonly name: string;
  readonly base: number;
  readonly size: number;
  readonly perm: number;
  /** Offset of the region in the memory's buffer. */
  offset: number;
}

/** Raised by checked accessors; the VM converts it into fault −2 with the pc. */
export class MemoryAccessError extends Error {
  constructor(
    readonly address: number,
    readonly size: number,
    readonly access: AccessKind,
    readonly why: string,
  ) {
    super(`${access} of ${size} byte${size === 1 ? '' : 's'} at ${hex32(address)}: ${why}`);
    this.name = 'MemoryAccessError';
  }
}

export function hex32(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}

const align8 = (n: number): number => (n + 7) & ~7;

export class Memory {
  buffer: ArrayBuffer = new ArrayBuffer(0);
  u8: Uint8Array = new Uint8Array(this.buffer);
  dv: DataView = new DataView(this.buffer);
  readonly regions: Region[] = [];
  /** Parallel arrays for the interpreter's lookup (index = region number). */
  rBase: number[] = [];
  rEnd: number[] = [];
  rOff: number[] = [];
  rPerm: number[] = [];
  private nextExtra = 0;
  /** Bytes before the first region (the compiled tier's state area), 0 without it. */
  private reserve = 0;
  /** The WebAssembly memory backing the regions once the compiled tier is in use. */
  wasmMemory: WebAssembly.Memory | null = null;
  private stateKept = false;
  /** Bumped on every layout change, so caches of region offsets know to refresh. */
  layoutVersion = 0;

  /**
   * Add (or replace, by name) a region. `init` is copied in; a number allocates that many zero
   * bytes. `base` defaults to the standard base for known names, else the next free window.
   */
  map(name: string, init: Uint8Array | number, perm: number, base?: number): Region {
    const size = typeof init === 'number' ? init : init.length;
    if (!Number.isInteger(size) || size < 0 || size > MAX_REGION_SIZE) {
      throw new RangeError(`region ${name}: size ${size} out of range (max ${MAX_REGION_SIZE})`);
    }
    const existing = this.regions.findIndex((r) => r.name === name);
    let at = base ?? (existing >= 0 ? this.regions[existing].base : undefined);
    if (at === undefined) at = (BASE as Record<string, number>)[name];
    if (at === undefined) {
      if (this.nextExtra >= MAX_EXTRA_REGIONS) throw new RangeError('too many memory regions');
      at = BASE.extra + EXTRA_STRIDE * this.nextExtra++;
    }
    if (at < 0x1_0000 || at + size > 0x1_0000_0000 - 0x1_0000) {
      throw new RangeError(`region ${name}: base ${hex32(at)} + ${size} leaves the mappable range`);
    }
    for (const r of this.regions) {
      if (r.name !== name && at < r.base + Math.max(r.size, 1) && r.base < at + Math.max(size, 1)) {
        throw new RangeError(`region ${name} overlaps region ${r.name}`);
      }
    }
    if (existing >= 0 && this.regions[existing].size === size && this.regions[existing].perm === perm &&
        this.regions[existing].base === at) {
      const r = this.regions[existing];
      if (typeof init === 'number') this.u8.fill(0, r.offset, r.offset + size);
      else this.u8.set(init, r.offset);
      return r;
    }
    const region: Region = { name, base: at, size, perm, offset: 0 };
    if (existing >= 0) this.regions[existing] = region;
    else this.regions.push(region);
    this.relayout(name);
    if (typeof init !== 'number') this.u8.set(init, region.offset);
    return region;
  }

  /** Remove a region by name (no-op when absent). */
  unmap(name: string): void {
    const i = this.regions.findIndex((r) => r.name === name);
    if (i < 0) return;
    this.regions.splice(i, 1);
    this.relayout();
  }

  region(name: string): Region | undefined {
    return this.regions.find((r) => r.name === name);
  }

  /** A live view of a region's bytes (invalidated when regions are added or resized). */
  bytes(name: string): Uint8Array {
    const r = this.region(name);
    if (!r) throw new RangeError(`no region ${name}`);
    return this.u8.subarray(r.offset, r.offset + r.size);
  }

  /** Rebuild the buffer after the region set changed, keeping every kept region's contents. */
  private relayout(fresh?: string): void {
    // Snapshot first: with a WebAssembly memory the old and new layouts share one buffer.
    const old = this.u8.slice();
    let total = this.reserve;
    const newOffsets = this.regions.map((r) => {
      const o = total;
      total += align8(r.size);
      return o;
    });
    let buffer: ArrayBuffer;
    if (this.wasmMemory) {
      const pages = Math.ceil(Math.max(total, 8) / 65536);
      const have = this.wasmMemory.buffer.byteLength / 65536;
      if (pages > have) this.wasmMemory.grow(pages - have);
      buffer = this.wasmMemory.buffer;
    } else buffer = new ArrayBuffer(Math.max(total, 8));
    const u8 = new Uint8Array(buffer);
    // The compiled tier's state area is kept across layouts once it exists, and starts zeroed
    // (the buffer it now occupies held region bytes before).
    if (this.wasmMemory) {
      if (this.stateKept) u8.set(old.subarray(0, Math.min(this.reserve, old.length)));
      else u8.fill(0, 0, this.reserve);
      this.stateKept = true;
    }
    this.regions.forEach((r, i) => {
      if (r.name !== fresh && r.offset + r.size <= old.length && r.size > 0) {
        u8.set(old.subarray(r.offset, r.offset + r.size), newOffsets[i]);
      } else if (r.name === fresh) {
        u8.fill(0, newOffsets[i], newOffsets[i] + r.size); // a shared buffer still holds old bytes here
      }
      r.offset = newOffsets[i];
    });
    this.buffer = buffer;
    this.u8 = u8;
    this.dv = new DataView(buffer);
    this.rBase = this.regions.map((r) => r.base);
    this.rEnd = this.regions.map((r) => r.base + r.size);
    this.rOff = this.regions.map((r) => r.offset);
    this.rPerm = this.regions.map((r) => r.perm);
    this.layoutVersion++;
  }

  /**
   * Move every region into a WebAssembly memory, after `reserve` bytes the compiled tier uses for
   * its own state (registers, region table, call frames). Contents are kept; later map/unmap
   * calls keep using (and growing) the same WebAssembly memory.
   */
  useWasmMemory(reserve: number): WebAssembly.Memory {
    if (this.wasmMemory) return this.wasmMemory;
    const total = reserve + this.regions.reduce((n, r) => n + align8(r.size), 0);
    this.wasmMemory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(total / 65536)) });
    this.reserve = reserve;
    this.relayout();
    return this.wasmMemory;
  }

  /**
   * Index of the region holding all of [addr, addr+size) with permission `perm`, or −1.
   * `addr` is an unsigned 32-bit value (the caller has checked the upper 32 bits are zero).
   */
  lookup(addr: number, size: number, perm: number): number {
    const end = addr + size;
    const n = this.rBase.length;
    for (let i = 0; i < n; i++) {
      if (addr >= this.rBase[i] && end <= this.rEnd[i]) return (this.rPerm[i] & perm) === perm ? i : -1;
    }
    return -1;
  }

  /** Why an access failed, for fault messages. */
  explain(addr: number, size: number, perm: number): string {
    for (const r of this.regions) {
      const inside = addr >= r.base && addr < r.base + r.size;
      if (inside && addr + size > r.base + r.size) return `runs past the end of ${r.name} (${hex32(r.base)}+${r.size})`;
      if (inside && (r.perm & perm) !== perm) return `${r.name} is ${r.perm & PERM_WRITE ? 'write-only' : 'read-only'}`;
      if (inside) return `inside ${r.name}`;
    }
    return 'not mapped';
  }

  /** Buffer offset of a checked access, or throws MemoryAccessError. */
  resolve(addr: number, size: number, access: AccessKind): number {
    const perm = access === 'write' ? PERM_WRITE : PERM_READ;
    if (!Number.isInteger(addr) || addr < 0 || addr > 0xffff_ffff || size < 0) {
      throw new MemoryAccessError(addr >>> 0, size, access, 'address outside the 32-bit space');
    }
    if (size === 0) return 0;
    const i = this.lookup(addr, size, perm);
    if (i < 0) throw new MemoryAccessError(addr, size, access, this.explain(addr, size, perm));
    return addr - this.rBase[i] + this.rOff[i];
  }

  // ---- checked accessors for helpers and the host -------------------------------------------

  read(addr: number, len: number): Uint8Array {
    const p = this.resolve(addr, len, 'read');
    return this.u8.slice(p, p + len);
  }

  write(addr: number, bytes: Uint8Array): void {
    const p = this.resolve(addr, bytes.length, 'write');
    this.u8.set(bytes, p);
  }

  readU8(addr: number): number {
    return this.u8[this.resolve(addr, 1, 'read')];
  }
  readU16(addr: number): number {
    return this.dv.getUint16(this.resolve(addr, 2, 'read'), true);
  }
  readU32(addr: number): number {
    return this.dv.getUint32(this.resolve(addr, 4, 'read'), true);
  }
  readI16(addr: number): number {
    return this.dv.getInt16(this.resolve(addr, 2, 'read'), true);
  }
  writeU8(addr: number, v: number): void {
    this.u8[this.resolve(addr, 1, 'write')] = v;
  }
  writeU16(addr: number, v: number): void {
    this.dv.setUint16(this.resolve(addr, 2, 'write'), v, true);
  }
  writeU32(addr: number, v: number): void {
    this.dv.setUint32(this.resolve(addr, 4, 'write'), v >>> 0, true);
  }
  writeI16(addr: number, v: number): void {
    this.dv.setInt16(this.resolve(addr, 2, 'write'), v, true);
  }
  readU64(addr: number): bigint {
    return this.dv.getBigUint64(this.resolve(addr, 8, 'read'), true);
  }
  writeU64(addr: number, v: bigint): void {
    this.dv.setBigUint64(this.resolve(addr, 8, 'write'), BigInt.asUintN(64, v), true);
  }

  /**
   * A NUL-terminated string, bounded by the region it starts in (and by `max`): a missing NUL
   * inside the region is a fault, never a read past it.
   */
  readCString(addr: number, max = 4096): string {
    const p0 = this.resolve(addr, 1, 'read');
    const i = this.lookup(addr, 1, PERM_READ);
    const limit = Math.min(this.rEnd[i] - addr, max);
    let n = 0;
    while (n < limit && this.u8[p0 + n] !== 0) n++;
    if (n === limit) {
      throw new MemoryAccessError(addr, n, 'read', n === max ? `string longer than ${max} bytes` : 'string not terminated inside its region');
    }
    let s = '';
    for (let k = 0; k < n; k++) s += String.fromCharCode(this.u8[p0 + k]);
    return s;
  }
}
