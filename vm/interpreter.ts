/**
 * The reference interpreter: runs a *verified* program on a Machine until exit, fault, budget
 * exhaustion or a helper's request to suspend.
 *
 * Performance shape (DESIGN §14): one flat switch over the opcode in one function, registers as
 * two Int32Array halves (lo, hi), 64-bit arithmetic with explicit carries, no allocation, no
 * closures and no exceptions in the loop; faults are recorded on the Machine and the loop returns
 * a status code, the rich VmFault is built afterwards by the caller.
 *
 * What it relies on from the verifier: every jump and local-call target is a valid instruction
 * start, register fields are ≤ 10 and r10 is never written, reserved fields are zero, opcodes are
 * known. A sentinel slot after the program catches falling off the end anyway.
 *
 * Memory: the full 64-bit address `reg + offset` must lie inside one region with the needed
 * permission. Regions keep 64 KiB away from 0 and 2^32 (memory.ts), so "upper half of reg is 0
 * and lo + offset lands in a region" is exactly the 64-bit check. Two one-entry region caches
 * (last read region, last write region) make the common access one compare pair.
 */
import { Memory, PERM_READ, PERM_RW, PERM_WRITE } from './memory';
import { mul64, out, sdivmod64, udivmod64 } from './int64';
import type { Program } from './program';

export const STATUS_EXIT = 0;
export const STATUS_FAULT = 1;
export const STATUS_SUSPEND = 2;
export type Status = typeof STATUS_EXIT | typeof STATUS_FAULT | typeof STATUS_SUSPEND;

/** Opcode used for the sentinel slot after the program: not a valid instruction. */
const SENTINEL = 0x00;

/** Fault kinds the loop records; the Vm maps them to VmFault objects. */
export const enum FaultKind {
  None = 0,
  Mem = 1,
  Budget = 2,
  BranchBudget = 3,
  DivZero = 4,
  CallDepth = 5,
  Helper = 6, // details in helperFault
  Illegal = 7,
}

/**
 * Called for `call imm` (src 0) and `callx`: the host's helper dispatcher. Returns a status;
 * STATUS_EXIT means "continue" here.
 */
export type HelperDispatch = (m: Machine, id: number, pc: number) => Status;

export interface MachineOptions {
  /** Faults on division/modulo by zero (riot-2022) instead of RFC 9669's 0 / dividend. */
  divZeroFaults: boolean;
  /** Bytes of stack per call frame. */
  frameSize: number;
  /** Maximum depth of program-local calls. */
  maxCallDepth: number;
}

/** The complete run state of one container instance: registers, pc, memory, call frames. */
export class Machine {
  readonly lo = new Int32Array(11);
  readonly hi = new Int32Array(11);
  pc = 0;
  /** Remaining instruction budget of the current slice. */
  budget = 0;
  /** Remaining taken-branch budget of the current slice. */
  branchBudget = 0;
  /** Instructions executed in the current slice. */
  executed = 0;
  depth = 0;
  /** Virtual bases of .data and .rodata, for RIOT's 0xB8/0xD8 wide loads. */
  dataBase = 0;
  rodataBase = 0;
  // Per frame: return pc, r6..r10 (lo, hi).
  readonly framePc: Int32Array;
  readonly frameRegs: Int32Array;

  readonly op: Uint8Array;
  readonly dst: Uint8Array;
  readonly src: Uint8Array;
  readonly off: Int16Array;
  readonly imm: Int32Array;

  /**
   * Optional execution profile for the cost model: executions per pc, and taken conditional
   * jumps per pc. Null when not profiling (one predictable branch per instruction).
   */
  counts: Int32Array | null = null;
  taken: Int32Array | null = null;

  // Fault record (valid after STATUS_FAULT).
  faultKind: FaultKind = FaultKind.None;
  faultPc = 0;
  faultAddress = 0n;
  faultSize = 0;
  faultWrite = false;
  /** Set by the helper dispatcher when it returns STATUS_FAULT. */
  helperFault: unknown = undefined;

  constructor(
    program: Program,
    readonly mem: Memory,
    readonly helper: HelperDispatch,
    readonly opts: MachineOptions,
  ) {
    const n = program.length;
    // One sentinel slot: a verified program never reaches it; if it did, it is a clean fault.
    this.op = new Uint8Array(n + 1);
    this.op.set(program.opcode);
    this.op[n] = SENTINEL;
    this.dst = new Uint8Array(n + 1);
    this.dst.set(program.dst);
    this.src = new Uint8Array(n + 1);
    this.src.set(program.src);
    this.off = new Int16Array(n + 1);
    this.off.set(program.offset);
    this.imm = new Int32Array(n + 1);
    this.imm.set(program.imm);
    this.framePc = new Int32Array(opts.maxCallDepth);
    this.frameRegs = new Int32Array(opts.maxCallDepth * 10);
  }
}

/** Load sizes by opcode (0 = not a load). */
const LOAD_SIZE = new Uint8Array(256);
LOAD_SIZE[0x61] = 4; LOAD_SIZE[0x69] = 2; LOAD_SIZE[0x71] = 1; LOAD_SIZE[0x79] = 8;
LOAD_SIZE[0x81] = 4; LOAD_SIZE[0x89] = 2; LOAD_SIZE[0x91] = 1;
/** Store sizes by opcode (ST and STX, not atomics). */
const STORE_SIZE = new Uint8Array(256);
STORE_SIZE[0x62] = 4; STORE_SIZE[0x6a] = 2; STORE_SIZE[0x72] = 1; STORE_SIZE[0x7a] = 8;
STORE_SIZE[0x63] = 4; STORE_SIZE[0x6b] = 2; STORE_SIZE[0x73] = 1; STORE_SIZE[0x7b] = 8;

/**
 * Run from m.pc with the given budgets until exit, fault or suspension. Registers, pc and frames
 * stay on the Machine, so a suspended run resumes by calling execute again.
 */
export function execute(m: Machine, budget: number, branchBudget: number): Status {
  const lo = m.lo, hi = m.hi;
  const ops = m.op, dsts = m.dst, srcs = m.src, offs = m.off, imms = m.imm;
  const mem = m.mem;
  const divZeroFaults = m.opts.divZeroFaults;
  const counts = m.counts, taken = m.taken;
  let u8 = mem.u8, dv = mem.dv;
  // Read and write region caches: an access [a, a+n) hits when rB <= a && a+n <= rE; its
  // buffer offset is a - rD.
  let rB = 1, rE = 0, rD = 0, wB = 1, wE = 0, wD = 0;
  let pc = m.pc;
  let left = budget;
  let br = branchBudget;
  let i = 0;
  let status: Status = STATUS_EXIT;

  run: for (;;) {
    i = pc;
    if (--left < 0) {
      m.faultKind = FaultKind.Budget;
      status = STATUS_FAULT;
      break;
    }
    pc = i + 1;
    if (counts !== null) counts[i]++;
    const op = ops[i];
    const d = dsts[i];
    switch (op) {
      // ---------------- ALU64, immediate (imm sign-extended to 64 bits) ----------------
      case 0x07: { // add
        const k = imms[i];
        const s = (lo[d] >>> 0) + (k >>> 0);
        lo[d] = s | 0;
        hi[d] = (hi[d] + (k >> 31) + (s > 0xffffffff ? 1 : 0)) | 0;
        break;
      }
      case 0x17: { // sub
        const k = imms[i];
        const s = (lo[d] >>> 0) - (k >>> 0);
        lo[d] = s | 0;
        hi[d] = (hi[d] - (k >> 31) - (s < 0 ? 1 : 0)) | 0;
        break;
      }
      case 0x27: { // mul
        const k = imms[i];
        mul64(lo[d], hi[d], k, k >> 31);
        lo[d] = out[0]; hi[d] = out[1];
        break;
      }
      case 0x37: case 0x97: { // div, mod (offset 1: signed)
        const k = imms[i];
        if (k === 0) {
          if (divZeroFaults) { m.faultKind = FaultKind.DivZero; status = STATUS_FAULT; break run; }
          if (op === 0x37) { lo[d] = 0; hi[d] = 0; }
          break;
        }
        if (offs[i] === 1) sdivmod64(lo[d], hi[d], k, k >> 31);
        else udivmod64(lo[d], hi[d], k, k >> 31);
        if (op === 0x37) { lo[d] = out[0]; hi[d] = out[1]; } else { lo[d] = out[2]; hi[d] = out[3]; }
        break;
      }
      case 0x47: { const k = imms[i]; lo[d] |= k; hi[d] |= k >> 31; break; } // or
      case 0x57: { const k = imms[i]; lo[d] &= k; hi[d] &= k >> 31; break; } // and
      case 0xa7: { const k = imms[i]; lo[d] ^= k; hi[d] ^= k >> 31; break; } // xor
      case 0xb7: { const k = imms[i]; lo[d] = k; hi[d] = k >> 31; break; } // mov
      case 0x67: shl64(lo, hi, d, imms[i] & 63); break; // lsh
      case 0x77: shr64(lo, hi, d, imms[i] & 63); break; // rsh
      case 0xc7: sar64(lo, hi, d, imms[i] & 63); break; // arsh
      case 0x87: { // neg
        const l = lo[d];
        lo[d] = (-l) | 0;
        hi[d] = (~hi[d] + (l === 0 ? 1 : 0)) | 0;
        break;
      }
      case 0xd7: { // bswap16/32/64
        const k = imms[i];
        if (k === 16) { const l = lo[d]; lo[d] = ((l & 0xff) << 8) | ((l >>> 8) & 0xff); hi[d] = 0; }
        else if (k === 32) { lo[d] = bswap32(lo[d]); hi[d] = 0; }
        else { const l = lo[d]; lo[d] = bswap32(hi[d]); hi[d] = bswap32(l); }
        break;
      }

      // ---------------- ALU64, register ----------------
      case 0x0f: { // add
        const s2 = srcs[i];
        const s = (lo[d] >>> 0) + (lo[s2] >>> 0);
        lo[d] = s | 0;
        hi[d] = (hi[d] + hi[s2] + (s > 0xffffffff ? 1 : 0)) | 0;
        break;
      }
      case 0x1f: { // sub
        const s2 = srcs[i];
        const s = (lo[d] >>> 0) - (lo[s2] >>> 0);
        lo[d] = s | 0;
        hi[d] = (hi[d] - hi[s2] - (s < 0 ? 1 : 0)) | 0;
        break;
      }
      case 0x2f: { const s2 = srcs[i]; mul64(lo[d], hi[d], lo[s2], hi[s2]); lo[d] = out[0]; hi[d] = out[1]; break; }
      case 0x3f: case 0x9f: { // div, mod (offset 1: signed)
        const s2 = srcs[i];
        const bl = lo[s2], bh = hi[s2];
        if (bl === 0 && bh === 0) {
          if (divZeroFaults) { m.faultKind = FaultKind.DivZero; status = STATUS_FAULT; break run; }
          if (op === 0x3f) { lo[d] = 0; hi[d] = 0; }
          break;
        }
        if (offs[i] === 1) sdivmod64(lo[d], hi[d], bl, bh);
        else udivmod64(lo[d], hi[d], bl, bh);
        if (op === 0x3f) { lo[d] = out[0]; hi[d] = out[1]; } else { lo[d] = out[2]; hi[d] = out[3]; }
        break;
      }
      case 0x4f: { const s2 = srcs[i]; lo[d] |= lo[s2]; hi[d] |= hi[s2]; break; }
      case 0x5f: { const s2 = srcs[i]; lo[d] &= lo[s2]; hi[d] &= hi[s2]; break; }
      case 0xaf: { const s2 = srcs[i]; lo[d] ^= lo[s2]; hi[d] ^= hi[s2]; break; }
      case 0xbf: { // mov / movsx (offset 8, 16, 32)
        const s2 = srcs[i];
        const o = offs[i];
        if (o === 0) { lo[d] = lo[s2]; hi[d] = hi[s2]; }
        else {
          const v = o === 8 ? (lo[s2] << 24) >> 24 : o === 16 ? (lo[s2] << 16) >> 16 : lo[s2];
          lo[d] = v; hi[d] = v >> 31;
        }
        break;
      }
      case 0x6f: shl64(lo, hi, d, lo[srcs[i]] & 63); break;
      case 0x7f: shr64(lo, hi, d, lo[srcs[i]] & 63); break;
      case 0xcf: sar64(lo, hi, d, lo[srcs[i]] & 63); break;

      // ---------------- ALU32 (result zero-extended) ----------------
      case 0x04: lo[d] = (lo[d] + imms[i]) | 0; hi[d] = 0; break;
      case 0x0c: lo[d] = (lo[d] + lo[srcs[i]]) | 0; hi[d] = 0; break;
      case 0x14: lo[d] = (lo[d] - imms[i]) | 0; hi[d] = 0; break;
      case 0x1c: lo[d] = (lo[d] - lo[srcs[i]]) | 0; hi[d] = 0; break;
      case 0x24: lo[d] = Math.imul(lo[d], imms[i]); hi[d] = 0; break;
      case 0x2c: lo[d] = Math.imul(lo[d], lo[srcs[i]]); hi[d] = 0; break;
      case 0x34: case 0x3c: case 0x94: case 0x9c: { // div32, mod32 (offset 1: signed)
        const b = op === 0x34 || op === 0x94 ? imms[i] : lo[srcs[i]];
        const a = lo[d];
        const isDiv = op === 0x34 || op === 0x3c;
        if (b === 0) {
          if (divZeroFaults) { m.faultKind = FaultKind.DivZero; status = STATUS_FAULT; break run; }
          lo[d] = isDiv ? 0 : a;
          hi[d] = 0;
          break;
        }
        if (offs[i] === 1) lo[d] = isDiv ? (a / b) | 0 : (a % b) | 0;
        else {
          const ua = a >>> 0, ub = b >>> 0;
          lo[d] = isDiv ? Math.floor(ua / ub) | 0 : (ua % ub) | 0;
        }
        hi[d] = 0;
        break;
      }
      case 0x44: lo[d] |= imms[i]; hi[d] = 0; break;
      case 0x4c: lo[d] |= lo[srcs[i]]; hi[d] = 0; break;
      case 0x54: lo[d] &= imms[i]; hi[d] = 0; break;
      case 0x5c: lo[d] &= lo[srcs[i]]; hi[d] = 0; break;
      case 0x64: lo[d] <<= imms[i] & 31; hi[d] = 0; break;
      case 0x6c: lo[d] <<= lo[srcs[i]] & 31; hi[d] = 0; break;
      case 0x74: lo[d] = lo[d] >>> (imms[i] & 31); hi[d] = 0; break;
      case 0x7c: lo[d] = lo[d] >>> (lo[srcs[i]] & 31); hi[d] = 0; break;
      case 0x84: lo[d] = (-lo[d]) | 0; hi[d] = 0; break;
      case 0xa4: lo[d] ^= imms[i]; hi[d] = 0; break;
      case 0xac: lo[d] ^= lo[srcs[i]]; hi[d] = 0; break;
      case 0xb4: lo[d] = imms[i]; hi[d] = 0; break;
      case 0xbc: { // mov32 / movsx32 (offset 8, 16)
        const o = offs[i];
        const v = lo[srcs[i]];
        lo[d] = o === 8 ? (v << 24) >> 24 : o === 16 ? (v << 16) >> 16 : v;
        hi[d] = 0;
        break;
      }
      case 0xc4: lo[d] >>= imms[i] & 31; hi[d] = 0; break;
      case 0xcc: lo[d] >>= lo[srcs[i]] & 31; hi[d] = 0; break;
      case 0xd4: { // le16/32/64: on a little-endian target, truncation
        const k = imms[i];
        if (k === 16) { lo[d] &= 0xffff; hi[d] = 0; } else if (k === 32) hi[d] = 0;
        break;
      }
      case 0xdc: { // be16/32/64: byte swap
        const k = imms[i];
        if (k === 16) { const l = lo[d]; lo[d] = ((l & 0xff) << 8) | ((l >>> 8) & 0xff); hi[d] = 0; }
        else if (k === 32) { lo[d] = bswap32(lo[d]); hi[d] = 0; }
        else { const l = lo[d]; lo[d] = bswap32(hi[d]); hi[d] = bswap32(l); }
        break;
      }

      // ---------------- 64-bit immediate loads ----------------
      case 0x18: lo[d] = imms[i]; hi[d] = imms[i + 1]; pc = i + 2; break;
      case 0xb8: case 0xd8: { // RIOT: address of .data / .rodata + sext(imm_lo) + (imm_hi << 32)
        const s = (op === 0xb8 ? m.dataBase : m.rodataBase) + imms[i];
        lo[d] = s | 0;
        hi[d] = (imms[i + 1] + Math.floor(s / 4294967296)) | 0;
        pc = i + 2;
        break;
      }

      // ---------------- loads ----------------
      case 0x61: case 0x69: case 0x71: case 0x79: case 0x81: case 0x89: case 0x91: {
        const s2 = srcs[i];
        const n = LOAD_SIZE[op];
        const a = (lo[s2] >>> 0) + offs[i];
        let p: number;
        if (a >= rB && a + n <= rE && hi[s2] === 0) p = a - rD;
        else {
          const k = hi[s2] === 0 ? mem.lookup(a, n, PERM_READ) : -1;
          if (k < 0) { memFault(m, s2, offs[i], n, false); status = STATUS_FAULT; break run; }
          rB = mem.rBase[k]; rE = mem.rEnd[k]; rD = rB - mem.rOff[k];
          p = a - rD;
        }
        switch (op) {
          case 0x61: lo[d] = dv.getInt32(p, true); hi[d] = 0; break;
          case 0x69: lo[d] = dv.getUint16(p, true); hi[d] = 0; break;
          case 0x71: lo[d] = u8[p]; hi[d] = 0; break;
          case 0x79: lo[d] = dv.getInt32(p, true); hi[d] = dv.getInt32(p + 4, true); break;
          case 0x81: { const v = dv.getInt32(p, true); lo[d] = v; hi[d] = v >> 31; break; }
          case 0x89: { const v = dv.getInt16(p, true); lo[d] = v; hi[d] = v >> 31; break; }
          default: { const v = (u8[p] << 24) >> 24; lo[d] = v; hi[d] = v >> 31; break; }
        }
        break;
      }

      // ---------------- stores (ST: imm, STX: register) ----------------
      case 0x62: case 0x6a: case 0x72: case 0x7a: case 0x63: case 0x6b: case 0x73: case 0x7b: {
        const n = STORE_SIZE[op];
        const a = (lo[d] >>> 0) + offs[i];
        let p: number;
        if (a >= wB && a + n <= wE && hi[d] === 0) p = a - wD;
        else {
          const k = hi[d] === 0 ? mem.lookup(a, n, PERM_WRITE) : -1;
          if (k < 0) { memFault(m, d, offs[i], n, true); status = STATUS_FAULT; break run; }
          wB = mem.rBase[k]; wE = mem.rEnd[k]; wD = wB - mem.rOff[k];
          p = a - wD;
        }
        let vl: number, vh: number;
        if ((op & 0x07) === 0x02) { vl = imms[i]; vh = vl >> 31; } else { const s2 = srcs[i]; vl = lo[s2]; vh = hi[s2]; }
        if (n === 4) dv.setInt32(p, vl, true);
        else if (n === 2) dv.setInt16(p, vl, true);
        else if (n === 1) u8[p] = vl;
        else { dv.setInt32(p, vl, true); dv.setInt32(p + 4, vh, true); }
        break;
      }

      // ---------------- atomics ----------------
      case 0xc3: case 0xdb: {
        const n = op === 0xc3 ? 4 : 8;
        const k = hi[d] === 0 ? mem.lookup((lo[d] >>> 0) + offs[i], n, PERM_RW) : -1;
        if (k < 0) { memFault(m, d, offs[i], n, true); status = STATUS_FAULT; break run; }
        atomic(m, (lo[d] >>> 0) + offs[i] - mem.rBase[k] + mem.rOff[k], n, imms[i], srcs[i]);
        break;
      }

      // ---------------- JMP (64-bit compares) ----------------
      case 0x05: pc = i + 1 + offs[i]; if (--br < 0) { status = branchFault(m); break run; } break;
      case 0x06: pc = i + 1 + imms[i]; if (--br < 0) { status = branchFault(m); break run; } break;
      case 0x15: case 0x1d: case 0x25: case 0x2d: case 0x35: case 0x3d: case 0x45: case 0x4d:
      case 0x55: case 0x5d: case 0x65: case 0x6d: case 0x75: case 0x7d: case 0xa5: case 0xad:
      case 0xb5: case 0xbd: case 0xc5: case 0xcd: case 0xd5: case 0xdd: {
        const al = lo[d], ah = hi[d];
        let bl: number, bh: number;
        if (op & 0x08) { const s2 = srcs[i]; bl = lo[s2]; bh = hi[s2]; } else { bl = imms[i]; bh = bl >> 31; }
        let t: boolean;
        switch (op & 0xf0) {
          case 0x10: t = al === bl && ah === bh; break;
          case 0x50: t = al !== bl || ah !== bh; break;
          case 0x40: t = (al & bl) !== 0 || (ah & bh) !== 0; break;
          case 0x20: t = ah !== bh ? ah >>> 0 > bh >>> 0 : al >>> 0 > bl >>> 0; break;
          case 0x30: t = ah !== bh ? ah >>> 0 > bh >>> 0 : al >>> 0 >= bl >>> 0; break;
          case 0xa0: t = ah !== bh ? ah >>> 0 < bh >>> 0 : al >>> 0 < bl >>> 0; break;
          case 0xb0: t = ah !== bh ? ah >>> 0 < bh >>> 0 : al >>> 0 <= bl >>> 0; break;
          case 0x60: t = ah !== bh ? ah > bh : al >>> 0 > bl >>> 0; break;
          case 0x70: t = ah !== bh ? ah > bh : al >>> 0 >= bl >>> 0; break;
          case 0xc0: t = ah !== bh ? ah < bh : al >>> 0 < bl >>> 0; break;
          default: t = ah !== bh ? ah < bh : al >>> 0 <= bl >>> 0; break; // 0xd0 jsle
        }
        if (t) {
          pc = i + 1 + offs[i];
          if (taken !== null) taken[i]++;
          if (--br < 0) { status = branchFault(m); break run; }
        }
        break;
      }

      // ---------------- JMP32 (low 32-bit compares) ----------------
      case 0x16: case 0x1e: case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x46: case 0x4e:
      case 0x56: case 0x5e: case 0x66: case 0x6e: case 0x76: case 0x7e: case 0xa6: case 0xae:
      case 0xb6: case 0xbe: case 0xc6: case 0xce: case 0xd6: case 0xde: {
        const a = lo[d];
        const b = op & 0x08 ? lo[srcs[i]] : imms[i];
        let t: boolean;
        switch (op & 0xf0) {
          case 0x10: t = a === b; break;
          case 0x50: t = a !== b; break;
          case 0x40: t = (a & b) !== 0; break;
          case 0x20: t = a >>> 0 > b >>> 0; break;
          case 0x30: t = a >>> 0 >= b >>> 0; break;
          case 0xa0: t = a >>> 0 < b >>> 0; break;
          case 0xb0: t = a >>> 0 <= b >>> 0; break;
          case 0x60: t = a > b; break;
          case 0x70: t = a >= b; break;
          case 0xc0: t = a < b; break;
          default: t = a <= b; break;
        }
        if (t) {
          pc = i + 1 + offs[i];
          if (taken !== null) taken[i]++;
          if (--br < 0) { status = branchFault(m); break run; }
        }
        break;
      }

      // ---------------- calls and exit ----------------
      case 0x85: case 0x8d: {
        if (op === 0x85 && srcs[i] === 1) { // program-local call
          const depth = m.depth;
          if (depth >= m.opts.maxCallDepth) { m.faultKind = FaultKind.CallDepth; status = STATUS_FAULT; break run; }
          m.framePc[depth] = pc;
          const fr = m.frameRegs, b = depth * 10;
          for (let r = 0; r < 5; r++) { fr[b + 2 * r] = lo[6 + r]; fr[b + 2 * r + 1] = hi[6 + r]; }
          m.depth = depth + 1;
          lo[10] = (lo[10] - m.opts.frameSize) | 0;
          pc = i + 1 + imms[i];
          break;
        }
        // Helper: by id (call imm) or by register (callx dst).
        let id: number;
        if (op === 0x85) id = imms[i];
        else id = hi[d] === 0 ? lo[d] : -1;
        m.pc = pc;
        m.budget = left;
        m.branchBudget = br;
        const st = m.helper(m, id, i);
        u8 = mem.u8; dv = mem.dv;
        rB = 1; rE = 0; wB = 1; wE = 0; // helpers may not remap, but stay safe
        if (st !== STATUS_EXIT) {
          if (st === STATUS_SUSPEND) { m.executed = budget - left; return STATUS_SUSPEND; }
          status = st;
          break run;
        }
        break;
      }
      case 0x95: {
        const depth = m.depth;
        if (depth === 0) { status = STATUS_EXIT; break run; }
        const nd = depth - 1;
        const fr = m.frameRegs, b = nd * 10;
        for (let r = 0; r < 5; r++) { lo[6 + r] = fr[b + 2 * r]; hi[6 + r] = fr[b + 2 * r + 1]; }
        m.depth = nd;
        pc = m.framePc[nd];
        break;
      }

      default:
        m.faultKind = FaultKind.Illegal;
        status = STATUS_FAULT;
        break run;
    }
  }
  // On exit or fault, i is the pc of the last instruction considered.
  m.pc = i;
  m.faultPc = i;
  m.budget = left < 0 ? 0 : left;
  m.branchBudget = br;
  m.executed = budget - (left < 0 ? 0 : left);
  return status;
}

function branchFault(m: Machine): Status {
  m.faultKind = FaultKind.BranchBudget;
  return STATUS_FAULT;
}

function memFault(m: Machine, base: number, offset: number, size: number, write: boolean): void {
  // The full 64-bit effective address, for the message (fault path: BigInt is fine here).
  const reg = (BigInt(m.hi[base] >>> 0) << 32n) | BigInt(m.lo[base] >>> 0);
  m.faultAddress = BigInt.asUintN(64, reg + BigInt(offset));
  m.faultSize = size;
  m.faultWrite = write;
  m.faultKind = FaultKind.Mem;
}

function bswap32(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

function shl64(lo: Int32Array, hi: Int32Array, d: number, n: number): void {
  if (n === 0) return;
  if (n < 32) { hi[d] = (hi[d] << n) | (lo[d] >>> (32 - n)); lo[d] = lo[d] << n; }
  else { hi[d] = lo[d] << (n - 32); lo[d] = 0; }
}

function shr64(lo: Int32Array, hi: Int32Array, d: number, n: number): void {
  if (n === 0) return;
  if (n < 32) { lo[d] = (lo[d] >>> n) | (hi[d] << (32 - n)); hi[d] = hi[d] >>> n; }
  else { lo[d] = hi[d] >>> (n - 32); hi[d] = 0; }
}

function sar64(lo: Int32Array, hi: Int32Array, d: number, n: number): void {
  if (n === 0) return;
  if (n < 32) { lo[d] = (lo[d] >>> n) | (hi[d] << (32 - n)); hi[d] = hi[d] >> n; }
  else { lo[d] = hi[d] >> (n - 32); hi[d] = hi[d] >> 31; }
}

/** One atomic read-modify-write at buffer offset p (already checked for read and write). */
function atomic(m: Machine, p: number, n: number, kind: number, s: number): void {
  const dv = m.mem.dv, lo = m.lo, hi = m.hi;
  const oldLo = dv.getInt32(p, true);
  const oldHi = n === 8 ? dv.getInt32(p + 4, true) : 0;
  const vl = lo[s], vh = n === 8 ? hi[s] : 0;
  let nl = oldLo, nh = oldHi;
  switch (kind & ~0x01) {
    case 0x00: { const t = (oldLo >>> 0) + (vl >>> 0); nl = t | 0; nh = (oldHi + vh + (t > 0xffffffff ? 1 : 0)) | 0; break; }
    case 0x40: nl = oldLo | vl; nh = oldHi | vh; break;
    case 0x50: nl = oldLo & vl; nh = oldHi & vh; break;
    case 0xa0: nl = oldLo ^ vl; nh = oldHi ^ vh; break;
    case 0xe0: nl = vl; nh = vh; break; // xchg
    case 0xf0: { // cmpxchg: compare with r0 (low half only for 32-bit)
      const eq = n === 8 ? lo[0] === oldLo && hi[0] === oldHi : lo[0] === oldLo;
      if (eq) { nl = vl; nh = vh; }
      lo[0] = oldLo; hi[0] = oldHi;
      break;
    }
  }
  dv.setInt32(p, nl, true);
  if (n === 8) dv.setInt32(p + 4, nh, true);
  if ((kind & 0x01) !== 0 && (kind & 0xf0) !== 0xf0) { lo[s] = oldLo; hi[s] = oldHi; }
}
