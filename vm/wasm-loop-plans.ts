/**
 * Loop plans of the compiled tier: which memory accesses of a call-free loop may run without
 * per-access region checks, and how their address registers move per pass. fastLoopPlan serves
 * self-loops (one block jumping to its own start), rangeHoistPlan the structured loop copies.
 * Both only read the program; the emission is in wasm-emit-loops.ts.
 */
import {
  CLS_ALU, CLS_ALU64, CLS_JMP, CLS_JMP32, CLS_ST, CLS_STX, JMP_CALL, JMP_EXIT, LOAD_SIZE, OP, STORE_SIZE, cls as opClass, isSrcX, isWide, jmpOp,
} from './opcodes';
import type { Program } from './program';
import { MAX_FAST_ACCESSES } from './wasm-state';

/** A memory access of a fast self-loop: its base register advances by `stride` per iteration. */
export interface FastAccess { pc: number; base: number; off: number; size: number; write: boolean; partial: number; stride: number }

/**
 * Can the self-loop block [start, end) run as a fast loop, and with which accesses? It can when
 * it has no calls, exits or atomics, and every register it addresses memory through is either
 * untouched or only moved by 64-bit add/sub of constants, so the address of each access is
 * first + i·stride in iteration i. Then one check at loop entry tells how many iterations stay
 * inside the cached regions, and the loop runs that many (budget permitting) with no per-access
 * checks and one budget compare per iteration, falling back to the checked loop after them.
 */
export function fastLoopPlan(p: Program, start: number, end: number): FastAccess[] | null {
  const accesses: FastAccess[] = [];
  for (let pc = start; pc < end; pc += isWide(p.opcode[pc]) ? 2 : 1) {
    const op = p.opcode[pc], cls = opClass(op);
    if (cls === CLS_JMP || cls === CLS_JMP32) {
      const code = jmpOp(op);
      if (code === JMP_CALL || code === JMP_EXIT) return null; // call, exit
      continue;
    }
    if (op === OP.ATOMIC_W || op === OP.ATOMIC_DW) return null; // atomics
    if (LOAD_SIZE[op]) accesses.push({ pc, base: p.src[pc], off: p.offset[pc], size: LOAD_SIZE[op], write: false, partial: 0, stride: 0 });
    else if (cls === CLS_ST || cls === CLS_STX) accesses.push({ pc, base: p.dst[pc], off: p.offset[pc], size: STORE_SIZE[op], write: true, partial: 0, stride: 0 });
  }
  if (accesses.length > MAX_FAST_ACCESSES) return null;
  for (const a of accesses) {
    let delta = 0;
    for (let pc = start; pc < end; pc += isWide(p.opcode[pc]) ? 2 : 1) {
      if (pc === a.pc) a.partial = delta;
      const op = p.opcode[pc], cls = opClass(op);
      const writes = cls === CLS_ALU64 || cls === CLS_ALU || LOAD_SIZE[op] !== 0 || isWide(op);
      if (!writes || p.dst[pc] !== a.base) continue;
      if (op === OP.ADD64_IMM) delta += p.imm[pc];
      else if (op === OP.SUB64_IMM) delta -= p.imm[pc];
      else return null;
    }
    a.stride = delta;
    // A stride of 2^31 or more leaves any region in one iteration (and would not fit the 32-bit
    // power-of-two test in emitFastLoop, wasm-emit-loops.ts); partial + off is an exact i64 constant at any size.
    if (Math.abs(delta) >= 2 ** 31 || Math.abs(a.partial) >= 2 ** 31) return null;
  }
  return accesses;
}

/** Accesses a loop copy runs unchecked, and each address register's total steps per pass. */
export interface RangeHoist { accesses: FastAccess[]; steps: { up: number; down: number }[] }

/**
 * Which accesses of the call-free loop [start, end) can run unchecked for a counted number of
 * passes: those through a register the loop only moves by 64-bit add/sub of constants (at most
 * MAX_FAST_ACCESSES of them). Null when there are none.
 */
export function rangeHoistPlan(p: Program, start: number, end: number): RangeHoist | null {
  const steps = Array.from({ length: 11 }, () => ({ up: 0, down: 0 }));
  const moved = new Uint8Array(11); // 1: only by constants, 2: otherwise
  for (let pc = start; pc < end; pc += isWide(p.opcode[pc]) ? 2 : 1) {
    const op = p.opcode[pc], cls = opClass(op), d = p.dst[pc];
    if (op === OP.ATOMIC_W || op === OP.ATOMIC_DW) { moved[p.src[pc]] = 2; moved[0] = 2; continue; } // fetch / cmpxchg
    const writes = cls === CLS_ALU64 || cls === CLS_ALU || LOAD_SIZE[op] !== 0 || isWide(op);
    if (!writes) continue;
    const k = op === OP.ADD64_IMM ? p.imm[pc] : op === OP.SUB64_IMM ? -p.imm[pc] : NaN;
    if (Number.isNaN(k)) { moved[d] = 2; continue; }
    if (moved[d] !== 2) moved[d] = 1;
    if (k > 0) steps[d].up += k; else steps[d].down -= k;
  }
  const accesses: FastAccess[] = [];
  for (let pc = start; pc < end && accesses.length < MAX_FAST_ACCESSES; pc += isWide(p.opcode[pc]) ? 2 : 1) {
    const op = p.opcode[pc], cls = opClass(op);
    const base = LOAD_SIZE[op] ? p.src[pc] : (cls === CLS_ST || cls === CLS_STX) && op !== OP.ATOMIC_W && op !== OP.ATOMIC_DW ? p.dst[pc] : -1;
    if (base < 0 || moved[base] === 2 || steps[base].up >= 2 ** 31 || steps[base].down >= 2 ** 31) continue;
    accesses.push({ pc, base, off: p.offset[pc], size: LOAD_SIZE[op] || STORE_SIZE[op], write: !LOAD_SIZE[op], partial: 0, stride: 0 });
  }
  return accesses.length ? { accesses, steps } : null;
}

/**
 * Registers the unrolled passes of a fast self-loop (emitFastGroups, wasm-emit-loops.ts) can
 * leave in place until the end of a group of iterations: each one the block [start, end) writes
 * only by 64-bit add/sub of constants and reads only as an access's base (a group's accesses are
 * offsets from their first address) or in the closing jump (whose compare adds the movement so
 * far), and each one it never writes. For each register, its movement per iteration (0 when
 * unwritten), or null when it must move in place.
 */
export function deferredRegisters(p: Program, start: number, end: number): (number | null)[] {
  const delta = Array<number>(11).fill(0);
  const moved = new Uint8Array(11), read = new Uint8Array(11), written = new Uint8Array(11);
  for (let pc = start; pc < end; pc += isWide(p.opcode[pc]) ? 2 : 1) {
    const op = p.opcode[pc], cls = opClass(op), d = p.dst[pc], s = p.src[pc];
    if (op === OP.ADD64_IMM || op === OP.SUB64_IMM) {
      delta[d] += op === OP.ADD64_IMM ? p.imm[pc] : -p.imm[pc];
      moved[d] = 1;
      continue;
    }
    if (cls === CLS_ALU64 || cls === CLS_ALU) { written[d] = 1; if (isSrcX(op)) read[s] = 1; continue; }
    if (LOAD_SIZE[op] || isWide(op)) { written[d] = 1; continue; }
    if (cls === CLS_STX) read[s] = 1; // the value stored (its base is an address)
  }
  return delta.map((k, r) => (written[r] || (moved[r] && read[r]) ? null : k));
}
