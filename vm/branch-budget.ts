/**
 * Will a program's loops fit riot-2022's taken-branch budget (RIOT 2022 counts taken branches
 * and faults −8 after 200 in one run)? A static look at every loop — a backward branch — for
 * the editor's Verify and `femto verify`: it warns when a loop's trip count is not
 * provably within the budget, so that "out of budget after 1,415 instructions" does not come as a
 * surprise when the Budget field says 1,000,000.
 *
 * What counts as proven: a loop whose branches are all decided by values known before the run —
 * a counted loop as clang writes it, whatever shape (a conditional branch back, or a `ja` back
 * with the exit test before it, counters truncated to 32 bits by shifts): the straight-line code
 * before the loop's head and then the loop are executed on known values only (constants and what
 * is computed from them; loads, helper results and the input are unknown), counting every taken
 * branch — forward ones too — until the loop is left, up to the budget. A branch that depends on
 * an unknown value, a loop entered in the middle or a call to a local function (its branches
 * count too) is "not provable" and warned about. Loops are looked at one by one: the budget is
 * per run, so several loops that each fit may still exceed it together (not warned about).
 */
import { jumpTarget } from './disassembler';
import { divideBig, isDivision } from './division';
import {
  ALU_ADD, ALU_AND, ALU_ARSH, ALU_END, ALU_LSH, ALU_MOV, ALU_MUL, ALU_NEG, ALU_OR, ALU_RSH, ALU_SUB, ALU_XOR,
  CLS_ALU, CLS_ALU64, CLS_JMP, CLS_JMP32, CLS_LD, CLS_LDX, CLS_STX, JMP_JA, JMP_JEQ, JMP_JGE, JMP_JGT, JMP_JLE, JMP_JLT,
  JMP_JNE, JMP_JSET, JMP_JSGE, JMP_JSGT, JMP_JSLE, JMP_JSLT, MODE_ATOMIC, NUM_REGS, OP,
  aluOp, cls as opClass, isSrcX, isWide, jmpOp, memMode,
} from './opcodes';
import type { Program } from './program';

export interface LoopBudgetFinding {
  /** The backward branch closing the loop, and the loop's first slot. */
  pc: number;
  head: number;
  /** Taken branches of one run through the loop when proven (≤ budget), else undefined. */
  trips?: number;
  /** Why the count is not within the budget ("more than 200", "bounded by a value not known …"). */
  reason: string;
}

const isJump = (op: number): boolean => (opClass(op) === CLS_JMP || opClass(op) === CLS_JMP32) && op !== OP.CALL && op !== OP.EXIT;

/** Registers an instruction may write. */
function writes(p: Program, pc: number): number[] {
  const op = p.opcode[pc];
  const cls = opClass(op);
  if (op === OP.CALL) return [0, 1, 2, 3, 4, 5];
  if (cls === CLS_ALU || cls === CLS_ALU64 || cls === CLS_LDX || cls === CLS_LD) return [p.dst[pc]];
  if (cls === CLS_STX && memMode(op) === MODE_ATOMIC) return [p.src[pc], 0];
  return [];
}

/** Every loop of the program whose taken branches are not provably within `budget`. */
export function loopsOverBudget(p: Program, budget: number): LoopBudgetFinding[] {
  const targets: { from: number; to: number }[] = [];
  for (const pc of p.starts()) {
    if (!isJump(p.opcode[pc])) continue;
    const to = jumpTarget(p.insn(pc), pc);
    if (to !== null) targets.push({ from: pc, to });
  }
  const backward = targets.filter((t) => t.to <= t.from);
  const out: LoopBudgetFinding[] = [];
  for (const b of backward) {
    const trips = tripCount(p, b.from, b.to, budget, targets);
    if (typeof trips === 'number' && trips <= budget) continue;
    out.push({
      pc: b.from, head: b.to,
      reason: typeof trips === 'number' ? `it branches back more than ${budget} times` : trips,
    });
  }
  return out;
}

/**
 * The loop's taken branches in one run through it (capped at budget + 1), or why they cannot be
 * told: the straight-line code before the head and then the loop are executed on what is known —
 * constants, and what is computed from constants; loads, helper results and the input are
 * unknown. Every branch inside the loop must be decided by known values; leaving the loop's slots
 * ends the count.
 */
function tripCount(p: Program, j: number, head: number, budget: number, jumps: { from: number; to: number }[]): number | string {
  const unknown = 'its trip count depends on values not known before the run';
  for (const t of jumps) {
    const inside = t.from >= head && t.from <= j;
    if (!inside && t.to > head && t.to <= j) return 'it is entered in the middle';
  }
  // Start where straight-line code leading to the head starts (no jump lands after it).
  let s = head;
  while (s > 0) {
    const prev = s - 1 > 0 && isWide(p.opcode[s - 2]) ? s - 2 : s - 1;
    const o = p.opcode[prev];
    if (isJump(o) || o === OP.EXIT || jumps.some((t) => t.to === s && t.from < head)) break;
    s = prev;
  }
  const regs: (bigint | undefined)[] = new Array(NUM_REGS).fill(undefined);
  let pc = s;
  let taken = 0;
  let steps = 0;
  const maxSteps = (budget + 2) * (j - head + 2) + (head - s) + 16;
  while (pc >= s && pc <= j) {
    if (++steps > maxSteps) return unknown;
    const o = p.opcode[pc];
    const cls = opClass(o);
    if (o === OP.EXIT) return pc >= head ? taken : unknown;
    if (o === OP.CALL) {
      if (p.src[pc] !== 0) return 'it calls a function whose branches count too';
      for (let r = 0; r <= 5; r++) regs[r] = undefined;
      pc++;
      continue;
    }
    if (isJump(o)) {
      const to = jumpTarget(p.insn(pc), pc);
      if (to === null) return unknown;
      let go: boolean;
      if (jmpOp(o) === JMP_JA) go = true;
      else {
        const bits = cls === CLS_JMP32 ? 32 : 64;
        const a = regs[p.dst[pc]];
        const b = isSrcX(o) ? regs[p.src[pc]] : BigInt(p.imm[pc]);
        if (a === undefined || b === undefined) return unknown;
        go = holds(jmpOp(o), BigInt.asUintN(bits, a), BigInt.asUintN(bits, b), bits);
      }
      if (go) {
        if (pc >= head) taken++;
        if (taken > budget) return taken;
        pc = to;
      } else pc++;
      continue;
    }
    if (cls === CLS_ALU || cls === CLS_ALU64) {
      const v = alu(o, p.offset[pc], regs[p.dst[pc]], isSrcX(o) ? regs[p.src[pc]] : BigInt(p.imm[pc]));
      regs[p.dst[pc]] = v;
      pc++;
      continue;
    }
    if (isWide(o)) {
      regs[p.dst[pc]] = o === OP.LDDW && p.src[pc] === 0 ? (BigInt(p.imm[pc + 1] >>> 0) << 32n) | BigInt(p.imm[pc] >>> 0) : undefined;
      pc += 2;
      continue;
    }
    for (const r of writes(p, pc)) regs[r] = undefined;
    pc++;
  }
  return pc >= head || pc > j ? taken : unknown;
}

/**
 * One ALU instruction on known values (undefined: not known, or not modelled). Division by zero
 * is not known: riot-2022, whose budget this is about, faults there.
 */
function alu(o: number, off: number, a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  const op = aluOp(o);
  const w = opClass(o) === CLS_ALU ? 32 : 64;
  if (op === ALU_MOV) return b === undefined ? undefined : BigInt.asUintN(w, b);
  if (op === ALU_END) return undefined; // byte swaps
  if (a === undefined) return undefined;
  const x = BigInt.asUintN(w, a);
  if (op === ALU_NEG) return BigInt.asUintN(w, -x);
  if (b === undefined) return undefined;
  const y = BigInt.asUintN(w, b);
  if (isDivision(o)) return divideBig(o, off, x, y, w, true);
  const sh = Number(y & BigInt(w - 1));
  switch (op) {
    case ALU_ADD: return BigInt.asUintN(w, x + y);
    case ALU_SUB: return BigInt.asUintN(w, x - y);
    case ALU_MUL: return BigInt.asUintN(w, x * y);
    case ALU_OR: return x | y;
    case ALU_AND: return x & y;
    case ALU_LSH: return BigInt.asUintN(w, x << BigInt(sh));
    case ALU_RSH: return x >> BigInt(sh);
    case ALU_XOR: return x ^ y;
    case ALU_ARSH: return BigInt.asUintN(w, BigInt.asIntN(w, x) >> BigInt(sh));
    default: return undefined;
  }
}

/** A conditional jump's test on unsigned `bits`-wide operands (signed tests reinterpret them). */
function holds(op: number, a: bigint, b: bigint, bits: number): boolean {
  const sa = BigInt.asIntN(bits, a);
  const sb = BigInt.asIntN(bits, b);
  switch (op) {
    case JMP_JEQ: return a === b;
    case JMP_JGT: return a > b;
    case JMP_JGE: return a >= b;
    case JMP_JSET: return (a & b) !== 0n;
    case JMP_JNE: return a !== b;
    case JMP_JSGT: return sa > sb;
    case JMP_JSGE: return sa >= sb;
    case JMP_JLT: return a < b;
    case JMP_JLE: return a <= b;
    case JMP_JSLT: return sa < sb;
    case JMP_JSLE: return sa <= sb;
    default: return true; // not a known test: assume the branch is taken (the worse case)
  }
}

/**
 * The warnings for a riot-2022 program (one per loop), naming the loop by its source line when
 * the program has one: what the budget is, why the loop may exceed it, and the way out.
 */
export function branchBudgetWarnings(p: Program, budget: number, lineOf: (pc: number) => string | undefined = () => undefined): string[] {
  return loopsOverBudget(p, budget).map((f) => {
    const where = lineOf(f.pc);
    return `riot-2022 allows ${budget} taken branches per run and the loop at ${where ? `${where} (pc ${f.pc})` : `pc ${f.pc}`} may need more ` +
      `(${f.reason}): a run would then fault −8 (out of budget); the rfc9669 profile has no branch budget`;
  });
}
