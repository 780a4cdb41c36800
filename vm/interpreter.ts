/**
 * The reference interpreter: runs a *verified* program on a Machine until exit, fault, budget
 * exhaustion or a helper's request to suspend.
 *
 * Performance shape (ARCHITECTURE.md § The two tiers): the program decoded once into one Int32Array (two words per
 * slot: every field but imm in the first), one flat switch over named opcodes (vm/opcodes.ts's
 * const enum, so the switch is one jump table) with a case per opcode and operand kind, registers
 * as two Int32Array halves (lo, hi), 64-bit arithmetic with explicit carries, no allocation, no
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
import {
  ATOMIC_ADD, ATOMIC_AND, ATOMIC_CMPXCHG, ATOMIC_FETCH, ATOMIC_OR, ATOMIC_XCHG, ATOMIC_XOR, CALL_LOCAL, Opcode,
} from './opcodes';
import { bswap, mul64, out, sar64, sdivmod64, shl64, shr64, udivmod64 } from './int64';
import { FaultKind, Fused, Machine, STATUS_EXIT, STATUS_FAULT, STATUS_SUSPEND, type Status } from './machine';

// The Machine, its statuses and fault kinds live in machine.ts; hosts import them from here too.
export * from './machine';

/**
 * Run from m.pc with the given budgets until exit, fault or suspension. Registers, pc and frames
 * stay on the Machine, so a suspended run resumes by calling execute again.
 */
export function execute(m: Machine, budget: number, branchBudget: number): Status {
  const lo = m.lo, hi = m.hi;
  const code = m.code;
  const mem = m.mem;
  const divZeroFaults = m.opts.divZeroFaults;
  const counts = m.counts, taken = m.taken;
  let u8 = mem.u8, dv = mem.dv;
  // Read and write region caches: an access [a, a+n) hits when rB <= a && a+n <= rE; its
  // buffer offset is a - rD.
  let rB = 1, rE = 0, rD = 0, wB = 1, wE = 0, wD = 0;
  let pc = m.pc;
  // Budgets count down in small integers (V8 keeps them in registers; MAX_SAFE_INTEGER, the
  // "unlimited" of hosts and benchmarks, would make every decrement a double): whatever exceeds
  // BUDGET_CHUNK waits in `extra` (instructions) and m.branchExtra (taken branches).
  const chunk = m.budgetChunk;
  let left = budget > chunk ? chunk : budget;
  let extra = budget - left;
  let br = branchBudget > chunk ? chunk : branchBudget;
  m.branchExtra = branchBudget - br;
  let i = 0;
  let status: Status = STATUS_EXIT;

  run: for (;;) {
    i = pc;
    if (--left < 0) {
      if (extra > 0) {
        const take = extra > chunk ? chunk : extra;
        extra -= take;
        left = take - 1;
      } else {
        m.faultKind = FaultKind.Budget;
        status = STATUS_FAULT;
        break;
      }
    }
    pc = i + 1;
    if (counts !== null) counts[i]++;
    const j = i << 1;
    const w = code[j]; // opcode | dst << 8 | src << 12 | offset << 16; code[j + 1] = imm
    const d = (w >> 8) & 15;
    switch (w & 0xff) {
      // ---------------- ALU64, immediate (imm sign-extended to 64 bits) ----------------
      case Opcode.ADD64_IMM: {
        const k = code[j + 1];
        const s = (lo[d] >>> 0) + (k >>> 0);
        lo[d] = s | 0;
        hi[d] = (hi[d] + (k >> 31) + (s > 0xffffffff ? 1 : 0)) | 0;
        break;
      }
      case Opcode.SUB64_IMM: {
        const k = code[j + 1];
        const s = (lo[d] >>> 0) - (k >>> 0);
        lo[d] = s | 0;
        hi[d] = (hi[d] - (k >> 31) - (s < 0 ? 1 : 0)) | 0;
        break;
      }
      case Opcode.MUL64_IMM: {
        const k = code[j + 1];
        mul64(lo[d], hi[d], k, k >> 31);
        lo[d] = out[0]; hi[d] = out[1];
        break;
      }
      case Opcode.DIV64_IMM: case Opcode.MOD64_IMM: { // offset 1: signed
        const k = code[j + 1];
        const isDiv = (w & 0xff) === Opcode.DIV64_IMM;
        if (k === 0) {
          if (divZeroFaults) { m.faultKind = FaultKind.DivZero; status = STATUS_FAULT; break run; }
          if (isDiv) { lo[d] = 0; hi[d] = 0; }
          break;
        }
        if (w >> 16 === 1) sdivmod64(lo[d], hi[d], k, k >> 31);
        else udivmod64(lo[d], hi[d], k, k >> 31);
        if (isDiv) { lo[d] = out[0]; hi[d] = out[1]; } else { lo[d] = out[2]; hi[d] = out[3]; }
        break;
      }
      case Opcode.OR64_IMM: { const k = code[j + 1]; lo[d] |= k; hi[d] |= k >> 31; break; }
      case Opcode.AND64_IMM: { const k = code[j + 1]; lo[d] &= k; hi[d] &= k >> 31; break; }
      case Opcode.XOR64_IMM: { const k = code[j + 1]; lo[d] ^= k; hi[d] ^= k >> 31; break; }
      case Opcode.MOV64_IMM: { const k = code[j + 1]; lo[d] = k; hi[d] = k >> 31; break; }
      case Opcode.LSH64_IMM: shl64(lo, hi, d, code[j + 1] & 63); break;
      case Opcode.RSH64_IMM: shr64(lo, hi, d, code[j + 1] & 63); break;
      case Opcode.ARSH64_IMM: sar64(lo, hi, d, code[j + 1] & 63); break;
      case Opcode.NEG64: {
        const l = lo[d];
        lo[d] = (-l) | 0;
        hi[d] = (~hi[d] + (l === 0 ? 1 : 0)) | 0;
        break;
      }
      case Opcode.BSWAP: bswap(lo, hi, d, code[j + 1]); break;

      // ---------------- ALU64, register ----------------
      case Opcode.ADD64_REG: {
        const s2 = (w >> 12) & 15;
        const s = (lo[d] >>> 0) + (lo[s2] >>> 0);
        lo[d] = s | 0;
        hi[d] = (hi[d] + hi[s2] + (s > 0xffffffff ? 1 : 0)) | 0;
        break;
      }
      case Opcode.SUB64_REG: {
        const s2 = (w >> 12) & 15;
        const s = (lo[d] >>> 0) - (lo[s2] >>> 0);
        lo[d] = s | 0;
        hi[d] = (hi[d] - hi[s2] - (s < 0 ? 1 : 0)) | 0;
        break;
      }
      case Opcode.MUL64_REG: { const s2 = (w >> 12) & 15; mul64(lo[d], hi[d], lo[s2], hi[s2]); lo[d] = out[0]; hi[d] = out[1]; break; }
      case Opcode.DIV64_REG: case Opcode.MOD64_REG: { // offset 1: signed
        const s2 = (w >> 12) & 15;
        const isDiv = (w & 0xff) === Opcode.DIV64_REG;
        const bl = lo[s2], bh = hi[s2];
        if (bl === 0 && bh === 0) {
          if (divZeroFaults) { m.faultKind = FaultKind.DivZero; status = STATUS_FAULT; break run; }
          if (isDiv) { lo[d] = 0; hi[d] = 0; }
          break;
        }
        if (w >> 16 === 1) sdivmod64(lo[d], hi[d], bl, bh);
        else udivmod64(lo[d], hi[d], bl, bh);
        if (isDiv) { lo[d] = out[0]; hi[d] = out[1]; } else { lo[d] = out[2]; hi[d] = out[3]; }
        break;
      }
      case Opcode.OR64_REG: { const s2 = (w >> 12) & 15; lo[d] |= lo[s2]; hi[d] |= hi[s2]; break; }
      case Opcode.AND64_REG: { const s2 = (w >> 12) & 15; lo[d] &= lo[s2]; hi[d] &= hi[s2]; break; }
      case Opcode.XOR64_REG: { const s2 = (w >> 12) & 15; lo[d] ^= lo[s2]; hi[d] ^= hi[s2]; break; }
      case Opcode.MOV64_REG: { // mov, or movsx with offset 8, 16, 32
        const s2 = (w >> 12) & 15;
        const o = w >> 16;
        if (o === 0) { lo[d] = lo[s2]; hi[d] = hi[s2]; }
        else {
          const v = o === 8 ? (lo[s2] << 24) >> 24 : o === 16 ? (lo[s2] << 16) >> 16 : lo[s2];
          lo[d] = v; hi[d] = v >> 31;
        }
        break;
      }
      case Opcode.LSH64_REG: shl64(lo, hi, d, lo[(w >> 12) & 15] & 63); break;
      case Opcode.RSH64_REG: shr64(lo, hi, d, lo[(w >> 12) & 15] & 63); break;
      case Opcode.ARSH64_REG: sar64(lo, hi, d, lo[(w >> 12) & 15] & 63); break;

      // ---------------- ALU32 (result zero-extended) ----------------
      case Opcode.ADD32_IMM: lo[d] = (lo[d] + code[j + 1]) | 0; hi[d] = 0; break;
      case Opcode.ADD32_REG: lo[d] = (lo[d] + lo[(w >> 12) & 15]) | 0; hi[d] = 0; break;
      case Opcode.SUB32_IMM: lo[d] = (lo[d] - code[j + 1]) | 0; hi[d] = 0; break;
      case Opcode.SUB32_REG: lo[d] = (lo[d] - lo[(w >> 12) & 15]) | 0; hi[d] = 0; break;
      case Opcode.MUL32_IMM: lo[d] = Math.imul(lo[d], code[j + 1]); hi[d] = 0; break;
      case Opcode.MUL32_REG: lo[d] = Math.imul(lo[d], lo[(w >> 12) & 15]); hi[d] = 0; break;
      case Opcode.DIV32_IMM: case Opcode.DIV32_REG: case Opcode.MOD32_IMM: case Opcode.MOD32_REG: { // offset 1: signed
        const op = w & 0xff;
        const b = op === Opcode.DIV32_IMM || op === Opcode.MOD32_IMM ? code[j + 1] : lo[(w >> 12) & 15];
        const a = lo[d];
        const isDiv = op === Opcode.DIV32_IMM || op === Opcode.DIV32_REG;
        if (b === 0) {
          if (divZeroFaults) { m.faultKind = FaultKind.DivZero; status = STATUS_FAULT; break run; }
          lo[d] = isDiv ? 0 : a;
          hi[d] = 0;
          break;
        }
        if (w >> 16 === 1) lo[d] = isDiv ? (a / b) | 0 : (a % b) | 0;
        else {
          const ua = a >>> 0, ub = b >>> 0;
          lo[d] = isDiv ? Math.floor(ua / ub) | 0 : (ua % ub) | 0;
        }
        hi[d] = 0;
        break;
      }
      case Opcode.OR32_IMM: lo[d] |= code[j + 1]; hi[d] = 0; break;
      case Opcode.OR32_REG: lo[d] |= lo[(w >> 12) & 15]; hi[d] = 0; break;
      case Opcode.AND32_IMM: lo[d] &= code[j + 1]; hi[d] = 0; break;
      case Opcode.AND32_REG: lo[d] &= lo[(w >> 12) & 15]; hi[d] = 0; break;
      case Opcode.LSH32_IMM: lo[d] <<= code[j + 1] & 31; hi[d] = 0; break;
      case Opcode.LSH32_REG: lo[d] <<= lo[(w >> 12) & 15] & 31; hi[d] = 0; break;
      case Opcode.RSH32_IMM: lo[d] = lo[d] >>> (code[j + 1] & 31); hi[d] = 0; break;
      case Opcode.RSH32_REG: lo[d] = lo[d] >>> (lo[(w >> 12) & 15] & 31); hi[d] = 0; break;
      case Opcode.NEG32: lo[d] = (-lo[d]) | 0; hi[d] = 0; break;
      case Opcode.XOR32_IMM: lo[d] ^= code[j + 1]; hi[d] = 0; break;
      case Opcode.XOR32_REG: lo[d] ^= lo[(w >> 12) & 15]; hi[d] = 0; break;
      case Opcode.MOV32_IMM: lo[d] = code[j + 1]; hi[d] = 0; break;
      case Opcode.MOV32_REG: { // mov32, or movsx32 with offset 8, 16
        const o = w >> 16;
        const v = lo[(w >> 12) & 15];
        lo[d] = o === 8 ? (v << 24) >> 24 : o === 16 ? (v << 16) >> 16 : v;
        hi[d] = 0;
        break;
      }
      case Opcode.ARSH32_IMM: lo[d] >>= code[j + 1] & 31; hi[d] = 0; break;
      case Opcode.ARSH32_REG: lo[d] >>= lo[(w >> 12) & 15] & 31; hi[d] = 0; break;
      case Opcode.LE: { // le16/32/64: on a little-endian target, truncation
        const k = code[j + 1];
        if (k === 16) { lo[d] &= 0xffff; hi[d] = 0; } else if (k === 32) hi[d] = 0;
        break;
      }
      case Opcode.BE: bswap(lo, hi, d, code[j + 1]); break;

      // ---------------- 64-bit immediate loads ----------------
      case Opcode.LDDW: lo[d] = code[j + 1]; hi[d] = code[j + 3]; pc = i + 2; break;
      case Opcode.LDDWD: case Opcode.LDDWR: { // RIOT: address of .data / .rodata + sext(imm_lo) + (imm_hi << 32)
        const s = ((w & 0xff) === Opcode.LDDWD ? m.dataBase : m.rodataBase) + code[j + 1];
        lo[d] = s | 0;
        hi[d] = (code[j + 3] + Math.floor(s / 4294967296)) | 0;
        pc = i + 2;
        break;
      }

      // ---------------- loads: one case per size, each with the read-region cache check ----------------
      // The check is repeated in every load and store case on purpose: one shared check followed
      // by a second switch on the size measured 1.7× slower on Fletcher-32 (two dispatches per access).
      case Opcode.LDXW: {
        const s2 = (w >> 12) & 15;
        const a = (lo[s2] >>> 0) + (w >> 16);
        if (a < rB || a + 4 > rE || hi[s2] !== 0) {
          const k = hi[s2] === 0 ? mem.lookup(a, 4, PERM_READ) : -1;
          if (k < 0) { memFault(m, s2, w >> 16, 4, false); status = STATUS_FAULT; break run; }
          rB = mem.rBase[k]; rE = mem.rEnd[k]; rD = rB - mem.rOff[k];
        }
        const p = a - rD;
        lo[d] = dv.getInt32(p, true); hi[d] = 0;
        break;
      }
      case Opcode.LDXH: {
        const s2 = (w >> 12) & 15;
        const a = (lo[s2] >>> 0) + (w >> 16);
        if (a < rB || a + 2 > rE || hi[s2] !== 0) {
          const k = hi[s2] === 0 ? mem.lookup(a, 2, PERM_READ) : -1;
          if (k < 0) { memFault(m, s2, w >> 16, 2, false); status = STATUS_FAULT; break run; }
          rB = mem.rBase[k]; rE = mem.rEnd[k]; rD = rB - mem.rOff[k];
        }
        const p = a - rD;
        lo[d] = u8[p] | (u8[p + 1] << 8); hi[d] = 0;
        break;
      }
      case Opcode.LDXB: {
        const s2 = (w >> 12) & 15;
        const a = (lo[s2] >>> 0) + (w >> 16);
        if (a < rB || a + 1 > rE || hi[s2] !== 0) {
          const k = hi[s2] === 0 ? mem.lookup(a, 1, PERM_READ) : -1;
          if (k < 0) { memFault(m, s2, w >> 16, 1, false); status = STATUS_FAULT; break run; }
          rB = mem.rBase[k]; rE = mem.rEnd[k]; rD = rB - mem.rOff[k];
        }
        const p = a - rD;
        lo[d] = u8[p]; hi[d] = 0;
        break;
      }
      case Opcode.LDXDW: {
        const s2 = (w >> 12) & 15;
        const a = (lo[s2] >>> 0) + (w >> 16);
        if (a < rB || a + 8 > rE || hi[s2] !== 0) {
          const k = hi[s2] === 0 ? mem.lookup(a, 8, PERM_READ) : -1;
          if (k < 0) { memFault(m, s2, w >> 16, 8, false); status = STATUS_FAULT; break run; }
          rB = mem.rBase[k]; rE = mem.rEnd[k]; rD = rB - mem.rOff[k];
        }
        const p = a - rD;
        lo[d] = dv.getInt32(p, true); hi[d] = dv.getInt32(p + 4, true);
        break;
      }
      case Opcode.LDXSW: {
        const s2 = (w >> 12) & 15;
        const a = (lo[s2] >>> 0) + (w >> 16);
        if (a < rB || a + 4 > rE || hi[s2] !== 0) {
          const k = hi[s2] === 0 ? mem.lookup(a, 4, PERM_READ) : -1;
          if (k < 0) { memFault(m, s2, w >> 16, 4, false); status = STATUS_FAULT; break run; }
          rB = mem.rBase[k]; rE = mem.rEnd[k]; rD = rB - mem.rOff[k];
        }
        const p = a - rD;
        const v = dv.getInt32(p, true); lo[d] = v; hi[d] = v >> 31;
        break;
      }
      case Opcode.LDXSH: {
        const s2 = (w >> 12) & 15;
        const a = (lo[s2] >>> 0) + (w >> 16);
        if (a < rB || a + 2 > rE || hi[s2] !== 0) {
          const k = hi[s2] === 0 ? mem.lookup(a, 2, PERM_READ) : -1;
          if (k < 0) { memFault(m, s2, w >> 16, 2, false); status = STATUS_FAULT; break run; }
          rB = mem.rBase[k]; rE = mem.rEnd[k]; rD = rB - mem.rOff[k];
        }
        const p = a - rD;
        const v = ((u8[p] | (u8[p + 1] << 8)) << 16) >> 16; lo[d] = v; hi[d] = v >> 31;
        break;
      }
      case Opcode.LDXSB: {
        const s2 = (w >> 12) & 15;
        const a = (lo[s2] >>> 0) + (w >> 16);
        if (a < rB || a + 1 > rE || hi[s2] !== 0) {
          const k = hi[s2] === 0 ? mem.lookup(a, 1, PERM_READ) : -1;
          if (k < 0) { memFault(m, s2, w >> 16, 1, false); status = STATUS_FAULT; break run; }
          rB = mem.rBase[k]; rE = mem.rEnd[k]; rD = rB - mem.rOff[k];
        }
        const p = a - rD;
        const v = (u8[p] << 24) >> 24; lo[d] = v; hi[d] = v >> 31;
        break;
      }

      // ---------------- stores (ST: imm, STX: register), each with the write-region cache check ----------------
      case Opcode.STW: {
        const a = (lo[d] >>> 0) + (w >> 16);
        if (a < wB || a + 4 > wE || hi[d] !== 0) {
          const k = hi[d] === 0 ? mem.lookup(a, 4, PERM_WRITE) : -1;
          if (k < 0) { memFault(m, d, w >> 16, 4, true); status = STATUS_FAULT; break run; }
          wB = mem.rBase[k]; wE = mem.rEnd[k]; wD = wB - mem.rOff[k];
        }
        const p = a - wD;
        dv.setInt32(p, code[j + 1], true);
        break;
      }
      case Opcode.STH: {
        const a = (lo[d] >>> 0) + (w >> 16);
        if (a < wB || a + 2 > wE || hi[d] !== 0) {
          const k = hi[d] === 0 ? mem.lookup(a, 2, PERM_WRITE) : -1;
          if (k < 0) { memFault(m, d, w >> 16, 2, true); status = STATUS_FAULT; break run; }
          wB = mem.rBase[k]; wE = mem.rEnd[k]; wD = wB - mem.rOff[k];
        }
        const p = a - wD;
        const v = code[j + 1]; u8[p] = v; u8[p + 1] = v >> 8;
        break;
      }
      case Opcode.STB: {
        const a = (lo[d] >>> 0) + (w >> 16);
        if (a < wB || a + 1 > wE || hi[d] !== 0) {
          const k = hi[d] === 0 ? mem.lookup(a, 1, PERM_WRITE) : -1;
          if (k < 0) { memFault(m, d, w >> 16, 1, true); status = STATUS_FAULT; break run; }
          wB = mem.rBase[k]; wE = mem.rEnd[k]; wD = wB - mem.rOff[k];
        }
        const p = a - wD;
        u8[p] = code[j + 1];
        break;
      }
      case Opcode.STDW: {
        const a = (lo[d] >>> 0) + (w >> 16);
        if (a < wB || a + 8 > wE || hi[d] !== 0) {
          const k = hi[d] === 0 ? mem.lookup(a, 8, PERM_WRITE) : -1;
          if (k < 0) { memFault(m, d, w >> 16, 8, true); status = STATUS_FAULT; break run; }
          wB = mem.rBase[k]; wE = mem.rEnd[k]; wD = wB - mem.rOff[k];
        }
        const p = a - wD;
        const v = code[j + 1]; dv.setInt32(p, v, true); dv.setInt32(p + 4, v >> 31, true);
        break;
      }
      case Opcode.STXW: {
        const a = (lo[d] >>> 0) + (w >> 16);
        if (a < wB || a + 4 > wE || hi[d] !== 0) {
          const k = hi[d] === 0 ? mem.lookup(a, 4, PERM_WRITE) : -1;
          if (k < 0) { memFault(m, d, w >> 16, 4, true); status = STATUS_FAULT; break run; }
          wB = mem.rBase[k]; wE = mem.rEnd[k]; wD = wB - mem.rOff[k];
        }
        const p = a - wD;
        dv.setInt32(p, lo[(w >> 12) & 15], true);
        break;
      }
      case Opcode.STXH: {
        const a = (lo[d] >>> 0) + (w >> 16);
        if (a < wB || a + 2 > wE || hi[d] !== 0) {
          const k = hi[d] === 0 ? mem.lookup(a, 2, PERM_WRITE) : -1;
          if (k < 0) { memFault(m, d, w >> 16, 2, true); status = STATUS_FAULT; break run; }
          wB = mem.rBase[k]; wE = mem.rEnd[k]; wD = wB - mem.rOff[k];
        }
        const p = a - wD;
        const v = lo[(w >> 12) & 15]; u8[p] = v; u8[p + 1] = v >> 8;
        break;
      }
      case Opcode.STXB: {
        const a = (lo[d] >>> 0) + (w >> 16);
        if (a < wB || a + 1 > wE || hi[d] !== 0) {
          const k = hi[d] === 0 ? mem.lookup(a, 1, PERM_WRITE) : -1;
          if (k < 0) { memFault(m, d, w >> 16, 1, true); status = STATUS_FAULT; break run; }
          wB = mem.rBase[k]; wE = mem.rEnd[k]; wD = wB - mem.rOff[k];
        }
        const p = a - wD;
        u8[p] = lo[(w >> 12) & 15];
        break;
      }
      case Opcode.STXDW: {
        const a = (lo[d] >>> 0) + (w >> 16);
        if (a < wB || a + 8 > wE || hi[d] !== 0) {
          const k = hi[d] === 0 ? mem.lookup(a, 8, PERM_WRITE) : -1;
          if (k < 0) { memFault(m, d, w >> 16, 8, true); status = STATUS_FAULT; break run; }
          wB = mem.rBase[k]; wE = mem.rEnd[k]; wD = wB - mem.rOff[k];
        }
        const p = a - wD;
        const s2 = (w >> 12) & 15; dv.setInt32(p, lo[s2], true); dv.setInt32(p + 4, hi[s2], true);
        break;
      }

      // ---------------- atomics ----------------
      case Opcode.ATOMIC_W: case Opcode.ATOMIC_DW: {
        const n = (w & 0xff) === Opcode.ATOMIC_W ? 4 : 8;
        const o = w >> 16;
        const k = hi[d] === 0 ? mem.lookup((lo[d] >>> 0) + o, n, PERM_RW) : -1;
        if (k < 0) { memFault(m, d, o, n, true); status = STATUS_FAULT; break run; }
        atomic(m, (lo[d] >>> 0) + o - mem.rBase[k] + mem.rOff[k], n, code[j + 1], (w >> 12) & 15);
        break;
      }

      // ---------------- unconditional jumps ----------------
      case Opcode.JA: pc = i + 1 + (w >> 16); if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } break;
      case Opcode.JA32: pc = i + 1 + code[j + 1]; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } break;

      // ---------------- JMP: 64-bit compares (b = sign-extended imm, or a register) ----------------
      case Opcode.JEQ_IMM: { const al = lo[d], ah = hi[d], bl = code[j + 1], bh = bl >> 31; if (al === bl && ah === bh) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JEQ_REG: { const s = (w >> 12) & 15, al = lo[d], ah = hi[d], bl = lo[s], bh = hi[s]; if (al === bl && ah === bh) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JNE_IMM: { const al = lo[d], ah = hi[d], bl = code[j + 1], bh = bl >> 31; if (al !== bl || ah !== bh) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JNE_REG: { const s = (w >> 12) & 15, al = lo[d], ah = hi[d], bl = lo[s], bh = hi[s]; if (al !== bl || ah !== bh) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JSET_IMM: { const al = lo[d], ah = hi[d], bl = code[j + 1], bh = bl >> 31; if ((al & bl) !== 0 || (ah & bh) !== 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JSET_REG: { const s = (w >> 12) & 15, al = lo[d], ah = hi[d], bl = lo[s], bh = hi[s]; if ((al & bl) !== 0 || (ah & bh) !== 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JGT_IMM: { const al = lo[d], ah = hi[d], bl = code[j + 1], bh = bl >> 31; if (ah !== bh ? ah >>> 0 > bh >>> 0 : al >>> 0 > bl >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JGT_REG: { const s = (w >> 12) & 15, al = lo[d], ah = hi[d], bl = lo[s], bh = hi[s]; if (ah !== bh ? ah >>> 0 > bh >>> 0 : al >>> 0 > bl >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JGE_IMM: { const al = lo[d], ah = hi[d], bl = code[j + 1], bh = bl >> 31; if (ah !== bh ? ah >>> 0 > bh >>> 0 : al >>> 0 >= bl >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JGE_REG: { const s = (w >> 12) & 15, al = lo[d], ah = hi[d], bl = lo[s], bh = hi[s]; if (ah !== bh ? ah >>> 0 > bh >>> 0 : al >>> 0 >= bl >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JLT_IMM: { const al = lo[d], ah = hi[d], bl = code[j + 1], bh = bl >> 31; if (ah !== bh ? ah >>> 0 < bh >>> 0 : al >>> 0 < bl >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JLT_REG: { const s = (w >> 12) & 15, al = lo[d], ah = hi[d], bl = lo[s], bh = hi[s]; if (ah !== bh ? ah >>> 0 < bh >>> 0 : al >>> 0 < bl >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JLE_IMM: { const al = lo[d], ah = hi[d], bl = code[j + 1], bh = bl >> 31; if (ah !== bh ? ah >>> 0 < bh >>> 0 : al >>> 0 <= bl >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JLE_REG: { const s = (w >> 12) & 15, al = lo[d], ah = hi[d], bl = lo[s], bh = hi[s]; if (ah !== bh ? ah >>> 0 < bh >>> 0 : al >>> 0 <= bl >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JSGT_IMM: { const al = lo[d], ah = hi[d], bl = code[j + 1], bh = bl >> 31; if (ah !== bh ? ah > bh : al >>> 0 > bl >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JSGT_REG: { const s = (w >> 12) & 15, al = lo[d], ah = hi[d], bl = lo[s], bh = hi[s]; if (ah !== bh ? ah > bh : al >>> 0 > bl >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JSGE_IMM: { const al = lo[d], ah = hi[d], bl = code[j + 1], bh = bl >> 31; if (ah !== bh ? ah > bh : al >>> 0 >= bl >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JSGE_REG: { const s = (w >> 12) & 15, al = lo[d], ah = hi[d], bl = lo[s], bh = hi[s]; if (ah !== bh ? ah > bh : al >>> 0 >= bl >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JSLT_IMM: { const al = lo[d], ah = hi[d], bl = code[j + 1], bh = bl >> 31; if (ah !== bh ? ah < bh : al >>> 0 < bl >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JSLT_REG: { const s = (w >> 12) & 15, al = lo[d], ah = hi[d], bl = lo[s], bh = hi[s]; if (ah !== bh ? ah < bh : al >>> 0 < bl >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JSLE_IMM: { const al = lo[d], ah = hi[d], bl = code[j + 1], bh = bl >> 31; if (ah !== bh ? ah < bh : al >>> 0 <= bl >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JSLE_REG: { const s = (w >> 12) & 15, al = lo[d], ah = hi[d], bl = lo[s], bh = hi[s]; if (ah !== bh ? ah < bh : al >>> 0 <= bl >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }

      // ---------------- JMP32: compares of the low halves ----------------
      case Opcode.JEQ32_IMM: { const a = lo[d], b = code[j + 1]; if (a === b) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JEQ32_REG: { const a = lo[d], b = lo[(w >> 12) & 15]; if (a === b) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JNE32_IMM: { const a = lo[d], b = code[j + 1]; if (a !== b) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JNE32_REG: { const a = lo[d], b = lo[(w >> 12) & 15]; if (a !== b) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JSET32_IMM: { const a = lo[d], b = code[j + 1]; if ((a & b) !== 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JSET32_REG: { const a = lo[d], b = lo[(w >> 12) & 15]; if ((a & b) !== 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JGT32_IMM: { const a = lo[d], b = code[j + 1]; if (a >>> 0 > b >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JGT32_REG: { const a = lo[d], b = lo[(w >> 12) & 15]; if (a >>> 0 > b >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JGE32_IMM: { const a = lo[d], b = code[j + 1]; if (a >>> 0 >= b >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JGE32_REG: { const a = lo[d], b = lo[(w >> 12) & 15]; if (a >>> 0 >= b >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JLT32_IMM: { const a = lo[d], b = code[j + 1]; if (a >>> 0 < b >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JLT32_REG: { const a = lo[d], b = lo[(w >> 12) & 15]; if (a >>> 0 < b >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JLE32_IMM: { const a = lo[d], b = code[j + 1]; if (a >>> 0 <= b >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JLE32_REG: { const a = lo[d], b = lo[(w >> 12) & 15]; if (a >>> 0 <= b >>> 0) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JSGT32_IMM: { const a = lo[d], b = code[j + 1]; if (a > b) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JSGT32_REG: { const a = lo[d], b = lo[(w >> 12) & 15]; if (a > b) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JSGE32_IMM: { const a = lo[d], b = code[j + 1]; if (a >= b) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JSGE32_REG: { const a = lo[d], b = lo[(w >> 12) & 15]; if (a >= b) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JSLT32_IMM: { const a = lo[d], b = code[j + 1]; if (a < b) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JSLT32_REG: { const a = lo[d], b = lo[(w >> 12) & 15]; if (a < b) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JSLE32_IMM: { const a = lo[d], b = code[j + 1]; if (a <= b) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }
      case Opcode.JSLE32_REG: { const a = lo[d], b = lo[(w >> 12) & 15]; if (a <= b) { pc = i + 1 + (w >> 16); if (taken !== null) taken[i]++; if (--br < 0 && (br = moreBranches(m)) < 0) { status = branchFault(m); break run; } } break; }

      // ---------------- fused pairs (see Fused): the ALU part, then the jump at i + 1 ----------------
      case Fused.ADD64_IMM_JNE_IMM: {
        { const k = code[j + 1]; const s = (lo[d] >>> 0) + (k >>> 0); lo[d] = s | 0; hi[d] = (hi[d] + (k >> 31) + (s > 0xffffffff ? 1 : 0)) | 0; }
        if (left === 0) break; // no budget for the jump here: the loop's top checks it at pc i + 1
        left--;
        if (counts !== null) counts[i + 1]++;
        const w2 = code[j + 2], d2 = (w2 >> 8) & 15;
        const al = lo[d2], ah = hi[d2], bl = code[j + 3], bh = bl >> 31;
        pc = i + 2;
        if (al !== bl || ah !== bh) {
          pc = i + 2 + (w2 >> 16);
          if (taken !== null) taken[i + 1]++;
          if (--br < 0 && (br = moreBranches(m)) < 0) { i++; status = branchFault(m); break run; }
        }
        break;
      }
      case Fused.ADD64_IMM_JLT_IMM: {
        { const k = code[j + 1]; const s = (lo[d] >>> 0) + (k >>> 0); lo[d] = s | 0; hi[d] = (hi[d] + (k >> 31) + (s > 0xffffffff ? 1 : 0)) | 0; }
        if (left === 0) break; // no budget for the jump here: the loop's top checks it at pc i + 1
        left--;
        if (counts !== null) counts[i + 1]++;
        const w2 = code[j + 2], d2 = (w2 >> 8) & 15;
        const al = lo[d2], ah = hi[d2], bl = code[j + 3], bh = bl >> 31;
        pc = i + 2;
        if (ah !== bh ? ah >>> 0 < bh >>> 0 : al >>> 0 < bl >>> 0) {
          pc = i + 2 + (w2 >> 16);
          if (taken !== null) taken[i + 1]++;
          if (--br < 0 && (br = moreBranches(m)) < 0) { i++; status = branchFault(m); break run; }
        }
        break;
      }
      case Fused.ADD64_IMM_JGT_IMM: {
        { const k = code[j + 1]; const s = (lo[d] >>> 0) + (k >>> 0); lo[d] = s | 0; hi[d] = (hi[d] + (k >> 31) + (s > 0xffffffff ? 1 : 0)) | 0; }
        if (left === 0) break; // no budget for the jump here: the loop's top checks it at pc i + 1
        left--;
        if (counts !== null) counts[i + 1]++;
        const w2 = code[j + 2], d2 = (w2 >> 8) & 15;
        const al = lo[d2], ah = hi[d2], bl = code[j + 3], bh = bl >> 31;
        pc = i + 2;
        if (ah !== bh ? ah >>> 0 > bh >>> 0 : al >>> 0 > bl >>> 0) {
          pc = i + 2 + (w2 >> 16);
          if (taken !== null) taken[i + 1]++;
          if (--br < 0 && (br = moreBranches(m)) < 0) { i++; status = branchFault(m); break run; }
        }
        break;
      }
      case Fused.SUB64_IMM_JNE_IMM: {
        { const k = code[j + 1]; const s = (lo[d] >>> 0) - (k >>> 0); lo[d] = s | 0; hi[d] = (hi[d] - (k >> 31) - (s < 0 ? 1 : 0)) | 0; }
        if (left === 0) break; // no budget for the jump here: the loop's top checks it at pc i + 1
        left--;
        if (counts !== null) counts[i + 1]++;
        const w2 = code[j + 2], d2 = (w2 >> 8) & 15;
        const al = lo[d2], ah = hi[d2], bl = code[j + 3], bh = bl >> 31;
        pc = i + 2;
        if (al !== bl || ah !== bh) {
          pc = i + 2 + (w2 >> 16);
          if (taken !== null) taken[i + 1]++;
          if (--br < 0 && (br = moreBranches(m)) < 0) { i++; status = branchFault(m); break run; }
        }
        break;
      }
      case Fused.SUB64_IMM_JLT_IMM: {
        { const k = code[j + 1]; const s = (lo[d] >>> 0) - (k >>> 0); lo[d] = s | 0; hi[d] = (hi[d] - (k >> 31) - (s < 0 ? 1 : 0)) | 0; }
        if (left === 0) break; // no budget for the jump here: the loop's top checks it at pc i + 1
        left--;
        if (counts !== null) counts[i + 1]++;
        const w2 = code[j + 2], d2 = (w2 >> 8) & 15;
        const al = lo[d2], ah = hi[d2], bl = code[j + 3], bh = bl >> 31;
        pc = i + 2;
        if (ah !== bh ? ah >>> 0 < bh >>> 0 : al >>> 0 < bl >>> 0) {
          pc = i + 2 + (w2 >> 16);
          if (taken !== null) taken[i + 1]++;
          if (--br < 0 && (br = moreBranches(m)) < 0) { i++; status = branchFault(m); break run; }
        }
        break;
      }
      case Fused.SUB64_IMM_JGT_IMM: {
        { const k = code[j + 1]; const s = (lo[d] >>> 0) - (k >>> 0); lo[d] = s | 0; hi[d] = (hi[d] - (k >> 31) - (s < 0 ? 1 : 0)) | 0; }
        if (left === 0) break; // no budget for the jump here: the loop's top checks it at pc i + 1
        left--;
        if (counts !== null) counts[i + 1]++;
        const w2 = code[j + 2], d2 = (w2 >> 8) & 15;
        const al = lo[d2], ah = hi[d2], bl = code[j + 3], bh = bl >> 31;
        pc = i + 2;
        if (ah !== bh ? ah >>> 0 > bh >>> 0 : al >>> 0 > bl >>> 0) {
          pc = i + 2 + (w2 >> 16);
          if (taken !== null) taken[i + 1]++;
          if (--br < 0 && (br = moreBranches(m)) < 0) { i++; status = branchFault(m); break run; }
        }
        break;
      }
      case Fused.ADD64_REG_JNE_IMM: {
        { const s2 = (w >> 12) & 15; const s = (lo[d] >>> 0) + (lo[s2] >>> 0); lo[d] = s | 0; hi[d] = (hi[d] + hi[s2] + (s > 0xffffffff ? 1 : 0)) | 0; }
        if (left === 0) break; // no budget for the jump here: the loop's top checks it at pc i + 1
        left--;
        if (counts !== null) counts[i + 1]++;
        const w2 = code[j + 2], d2 = (w2 >> 8) & 15;
        const al = lo[d2], ah = hi[d2], bl = code[j + 3], bh = bl >> 31;
        pc = i + 2;
        if (al !== bl || ah !== bh) {
          pc = i + 2 + (w2 >> 16);
          if (taken !== null) taken[i + 1]++;
          if (--br < 0 && (br = moreBranches(m)) < 0) { i++; status = branchFault(m); break run; }
        }
        break;
      }
      case Fused.ADD64_REG_JLT_IMM: {
        { const s2 = (w >> 12) & 15; const s = (lo[d] >>> 0) + (lo[s2] >>> 0); lo[d] = s | 0; hi[d] = (hi[d] + hi[s2] + (s > 0xffffffff ? 1 : 0)) | 0; }
        if (left === 0) break; // no budget for the jump here: the loop's top checks it at pc i + 1
        left--;
        if (counts !== null) counts[i + 1]++;
        const w2 = code[j + 2], d2 = (w2 >> 8) & 15;
        const al = lo[d2], ah = hi[d2], bl = code[j + 3], bh = bl >> 31;
        pc = i + 2;
        if (ah !== bh ? ah >>> 0 < bh >>> 0 : al >>> 0 < bl >>> 0) {
          pc = i + 2 + (w2 >> 16);
          if (taken !== null) taken[i + 1]++;
          if (--br < 0 && (br = moreBranches(m)) < 0) { i++; status = branchFault(m); break run; }
        }
        break;
      }
      case Fused.ADD64_REG_JGT_IMM: {
        { const s2 = (w >> 12) & 15; const s = (lo[d] >>> 0) + (lo[s2] >>> 0); lo[d] = s | 0; hi[d] = (hi[d] + hi[s2] + (s > 0xffffffff ? 1 : 0)) | 0; }
        if (left === 0) break; // no budget for the jump here: the loop's top checks it at pc i + 1
        left--;
        if (counts !== null) counts[i + 1]++;
        const w2 = code[j + 2], d2 = (w2 >> 8) & 15;
        const al = lo[d2], ah = hi[d2], bl = code[j + 3], bh = bl >> 31;
        pc = i + 2;
        if (ah !== bh ? ah >>> 0 > bh >>> 0 : al >>> 0 > bl >>> 0) {
          pc = i + 2 + (w2 >> 16);
          if (taken !== null) taken[i + 1]++;
          if (--br < 0 && (br = moreBranches(m)) < 0) { i++; status = branchFault(m); break run; }
        }
        break;
      }

      // ---------------- fused triples (see Fused): two ALU parts, then the jump at i + 2 ----------------
      // Written out rather than falling through to the pair at i + 1: the fall-through measured
      // about 10 % slower on the sum loop. With budget for fewer than both ALU parts, the loop's
      // top takes the rest (refilling a chunk or faulting where the budget ends). A high half is
      // written only when it changes (a carry, a negative constant, a source's high half): loop
      // counters below 2^32 skip that load and store.
      case Fused.ADD64_IMM_ADD64_REG_JLT_IMM: {
        { const k = code[j + 1]; const s = (lo[d] >>> 0) + (k >>> 0); lo[d] = s | 0; const c = (k >> 31) + (s > 0xffffffff ? 1 : 0); if (c !== 0) hi[d] = (hi[d] + c) | 0; }
        if (left < 2) break; // the loop's top runs the rest one by one (the pair at i + 1, then the jump)
        left -= 2;
        if (counts !== null) { counts[i + 1]++; counts[i + 2]++; }
        { const w1 = code[j + 2], d1 = (w1 >> 8) & 15, s2 = (w1 >> 12) & 15; const s = (lo[d1] >>> 0) + (lo[s2] >>> 0); lo[d1] = s | 0; const c = hi[s2] + (s > 0xffffffff ? 1 : 0); if (c !== 0) hi[d1] = (hi[d1] + c) | 0; }
        const w2 = code[j + 4], d2 = (w2 >> 8) & 15;
        const al = lo[d2], ah = hi[d2], bl = code[j + 5], bh = bl >> 31;
        pc = i + 3;
        if (ah !== bh ? ah >>> 0 < bh >>> 0 : al >>> 0 < bl >>> 0) {
          pc = i + 3 + (w2 >> 16);
          if (taken !== null) taken[i + 2]++;
          if (--br < 0 && (br = moreBranches(m)) < 0) { i += 2; status = branchFault(m); break run; }
        }
        break;
      }
      case Fused.ADD64_IMM_SUB64_IMM_JNE_IMM: {
        { const k = code[j + 1]; const s = (lo[d] >>> 0) + (k >>> 0); lo[d] = s | 0; const c = (k >> 31) + (s > 0xffffffff ? 1 : 0); if (c !== 0) hi[d] = (hi[d] + c) | 0; }
        if (left < 2) break; // the loop's top runs the rest one by one (the pair at i + 1, then the jump)
        left -= 2;
        if (counts !== null) { counts[i + 1]++; counts[i + 2]++; }
        { const d1 = (code[j + 2] >> 8) & 15, k = code[j + 3]; const s = (lo[d1] >>> 0) - (k >>> 0); lo[d1] = s | 0; const c = (k >> 31) + (s < 0 ? 1 : 0); if (c !== 0) hi[d1] = (hi[d1] - c) | 0; }
        const w2 = code[j + 4], d2 = (w2 >> 8) & 15;
        const al = lo[d2], ah = hi[d2], bl = code[j + 5], bh = bl >> 31;
        pc = i + 3;
        if (al !== bl || ah !== bh) {
          pc = i + 3 + (w2 >> 16);
          if (taken !== null) taken[i + 2]++;
          if (--br < 0 && (br = moreBranches(m)) < 0) { i += 2; status = branchFault(m); break run; }
        }
        break;
      }

      // ---------------- calls and exit ----------------
      case Opcode.CALL: case Opcode.CALLX: {
        const op = w & 0xff;
        if (op === Opcode.CALL && ((w >> 12) & 15) === CALL_LOCAL) {
          const depth = m.depth;
          if (depth >= m.opts.maxCallDepth) { m.faultKind = FaultKind.CallDepth; status = STATUS_FAULT; break run; }
          m.framePc[depth] = pc;
          const fr = m.frameRegs, b = depth * 10;
          for (let r = 0; r < 5; r++) { fr[b + 2 * r] = lo[6 + r]; fr[b + 2 * r + 1] = hi[6 + r]; }
          m.depth = depth + 1;
          lo[10] = (lo[10] - m.opts.frameSize) | 0;
          pc = i + 1 + code[j + 1];
          break;
        }
        // Helper: by id (call imm) or by register (callx dst).
        let id: number;
        if (op === Opcode.CALL) id = code[j + 1];
        else id = hi[d] === 0 ? lo[d] : -1;
        m.pc = pc;
        m.budget = left + extra;
        m.branchBudget = br + m.branchExtra;
        const st = m.helper(m, id, i);
        u8 = mem.u8; dv = mem.dv;
        rB = 1; rE = 0; wB = 1; wE = 0; // helpers may not remap, but stay safe
        if (st !== STATUS_EXIT) {
          if (st === STATUS_SUSPEND) { m.executed = budget - (left + extra); return STATUS_SUSPEND; }
          status = st;
          break run;
        }
        break;
      }
      case Opcode.EXIT: {
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
  const remaining = (left < 0 ? 0 : left) + extra;
  m.budget = remaining;
  m.branchBudget = br + m.branchExtra;
  m.executed = budget - remaining;
  return status;
}


/** The taken-branch budget's next chunk (minus the branch being taken), or −1 when none is left. */
function moreBranches(m: Machine): number {
  const extra = m.branchExtra;
  if (extra <= 0) return -1;
  const take = extra > m.budgetChunk ? m.budgetChunk : extra;
  m.branchExtra = extra - take;
  return take - 1;
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

/** One atomic read-modify-write at buffer offset p (already checked for read and write). */
function atomic(m: Machine, p: number, n: number, kind: number, s: number): void {
  const dv = m.mem.dv, lo = m.lo, hi = m.hi;
  const oldLo = dv.getInt32(p, true);
  const oldHi = n === 8 ? dv.getInt32(p + 4, true) : 0;
  const vl = lo[s], vh = n === 8 ? hi[s] : 0;
  let nl = oldLo, nh = oldHi;
  switch (kind & ~ATOMIC_FETCH) {
    case ATOMIC_ADD: { const t = (oldLo >>> 0) + (vl >>> 0); nl = t | 0; nh = (oldHi + vh + (t > 0xffffffff ? 1 : 0)) | 0; break; }
    case ATOMIC_OR: nl = oldLo | vl; nh = oldHi | vh; break;
    case ATOMIC_AND: nl = oldLo & vl; nh = oldHi & vh; break;
    case ATOMIC_XOR: nl = oldLo ^ vl; nh = oldHi ^ vh; break;
    case ATOMIC_XCHG & ~ATOMIC_FETCH: nl = vl; nh = vh; break;
    case ATOMIC_CMPXCHG & ~ATOMIC_FETCH: { // cmpxchg: compare with r0 (low half only for 32-bit)
      const eq = n === 8 ? lo[0] === oldLo && hi[0] === oldHi : lo[0] === oldLo;
      if (eq) { nl = vl; nh = vh; }
      lo[0] = oldLo; hi[0] = oldHi;
      break;
    }
  }
  dv.setInt32(p, nl, true);
  if (n === 8) dv.setInt32(p + 4, nh, true);
  if ((kind & ATOMIC_FETCH) !== 0 && kind !== ATOMIC_CMPXCHG) { lo[s] = oldLo; hi[s] = oldHi; }
}
