/**
 * The compiled tier's translator: a verified program → one WebAssembly function with the eBPF
 * registers as i64 locals. Same semantics as interpreter.ts, instruction for instruction; the
 * differential tests hold the two together.
 *
 * Control flow. The program is cut into basic blocks (leaders: 0, entry points, jump and call
 * targets, and the instruction after any jump, call or exit). The function is the classic
 * "loop over nested blocks" shape:
 *
 *     loop $L
 *       block $B(n-1) … block $B1  block $B0  br_table(block index)  end
 *       code0  end  code1  end … code(n-1)
 *     end
 *
 * so a forward jump is a plain `br` to the block that ends right before its target, and only
 * backward jumps go round through `$L` and the br_table. A block that jumps to its own start (a
 * tight loop) is additionally wrapped in its own `loop`, so its back edge is a direct branch.
 *
 * Budget. Each block subtracts its length from the remaining budget on entry. When the rest of
 * the budget is smaller than the block, the code returns "bail" and the interpreter finishes the
 * run from that block's first instruction, which makes the fault point and the instruction count
 * exactly the interpreter's. A fault in the middle of a block gives back the instructions after
 * it, so counts match there too.
 *
 * Loop copies. Back edges through $L and the br_table cost a dispatch and make V8 merge every
 * local at $L's head, so an innermost call-free loop [h, t] also gets a structured copy at its
 * head (a wasm `loop` with local blocks for its forward jumps, the budget checked once per
 * pass); jumps out of it go to the checked code, which is unchanged (emitLoopCopy). When some
 * of its accesses go through registers the loop moves only by constants, a second copy runs
 * them unchecked for as many passes as provably stay inside the cached regions, counted down
 * per pass, before the first copy takes over (emitPassBound).
 *
 * Fast self-loops. A self-loop with no calls whose address registers only move by constants
 * (`add r1, 2`) also gets a fast version at its head: one check of each access's first address
 * against the region caches tells how many iterations stay inside those regions, and the loop
 * runs min(that, what the budget allows) iterations with no per-access checks and one compare
 * per iteration, then falls into the checked loop, which faults, bails or refills the caches
 * exactly as it always does. This is what brings Fletcher-32 from plain-JS speed to uBPF's JIT.
 * That first address is computed in 64 bits like any other: a register's movement plus an offset
 * can pass ±2^31, and a 32-bit sum would fold an address 2^32 away onto a cached region.
 *
 * Memory. Every access computes the full 64-bit address and checks it against a one-entry cache
 * of the last read region and of the last written region (locals); a miss asks the host's
 * region lookup (an import), which also refuses addresses of 4 GiB and above. Helper calls go to
 * the host's dispatcher through an import, with all registers spilled to the state area first so
 * the helper sees them and a suspension keeps them.
 *
 * riot-2022 (CompileOptions.countBranches, divZeroFaults): every taken jump spends one of RIOT's
 * taken branches (a local i64 spilled to H.BRANCHES) and faults −8 at the jump when none is
 * left; a zero divisor faults −9 at the division, giving back the rest of its block like a
 * memory fault, so fault pc and counts are the interpreter's. Those programs get neither loop
 * copies nor fast self-loops (both skip per-jump work); a "no return" program that falls off its
 * last block bails to the interpreter at pc n, whose sentinel faults there. Per-instruction
 * counting for the cost model (countsOffset) works with every option: no program is
 * interpreter-only.
 */
import { BLOCK_VOID, ByteWriter, I32, I64, W, encodeModule, type FuncBody, type ValType } from './wasm-encoder';
import { isWide } from './opcodes';
import type { Program } from './program';

/** Layout of the state area at the start of the WebAssembly memory (bytes). */
export const H = {
  REGS: 0, // r0..r10, i64 each
  FAULT_ADDR: 96, // i64
  FAULT_SIZE: 104, // i32
  FAULT_KIND: 108, // i32 (interpreter FaultKind)
  FAULT_WRITE: 112, // i32
  PC: 116, // i32: pc where a bail resumes / a fault happened
  DEPTH: 120, // i32: local-call depth
  LEFT: 128, // i64: remaining instruction budget
  LK_BASE: 136, // i64: region found by the last lookup: virtual base
  LK_OFF: 144, // i32: its offset in the buffer
  LK_LIMIT: 152, // i64 × 4: for access sizes 1, 2, 4, 8: max(0, size − n + 1)
  BRANCHES: 184, // i64: remaining taken-branch budget (riot-2022; only with CompileOptions.countBranches)
  FRAMES: 256, // per frame: ret pc i32, ret block i32, r6..r10 i64
} as const;
export const FRAME_BYTES = 48;
export const stateBytes = (maxCallDepth: number): number => (H.FRAMES + FRAME_BYTES * maxCallDepth + 63) & ~63;

/** Return codes of the compiled function. */
export const C_EXIT = 0;
export const C_FAULT = 1;
export const C_SUSPEND = 2;
export const C_BAIL = 3;

// Fault kinds shared with interpreter.ts (kept numerically equal).
const FK_MEM = 1;
const FK_BRANCH_BUDGET = 3;
const FK_DIV_ZERO = 4;
const FK_CALL_DEPTH = 5;

export interface CompileOptions {
  dataBase: number;
  rodataBase: number;
  frameSize: number;
  maxCallDepth: number;
  /** Extra instruction indexes execution may start at (exported functions). */
  entries?: number[];
  /**
   * Count block entries and taken conditional jumps (for the cost model) in two i32 arrays of
   * one slot per block at this byte offset of the memory: entries, then taken.
   */
  countsOffset?: number;
  /**
   * RIOT's taken-branch budget (riot-2022): every taken jump (conditional or `ja`) takes one from
   * H.BRANCHES and faults at the jump, after it, when none is left — as the interpreter does.
   */
  countBranches?: boolean;
  /** riot-2022: division and modulo by zero fault (−9) at the instruction instead of RFC 9669's results. */
  divZeroFaults?: boolean;
}

export interface CompiledModule {
  bytes: Uint8Array;
  /** Block index for each instruction index that starts a block, else −1. */
  blockOf: Int32Array;
  blockCount: number;
  /** Instructions in each block (what its entry subtracts from the budget). */
  blockLen: Int32Array;
  /** First instruction of each self-loop that got a fast version (see fastLoopPlan). */
  fastLoops: number[];
  /**
   * [first, end) instructions of each loop that got a structured copy (see loopLatch), and how
   * many of its accesses a counted number of passes runs unchecked (see rangeHoistPlan).
   */
  fastRanges: [number, number, number][];
}

// Local variable indexes.
const P_BLOCK = 0; // i32 param
const L_LEFT = 1; // i64
const R0 = 2; // r0..r10 → 2..12
const L_A = 13; // i64 address
const L_T = 14; // i64 temp
// One-entry region caches, read and write: base (i64), limits for sizes 1/2/4/8 (i64), buffer
// offset (i32). An access [a, a+n) hits when (a − base) <u limit_n, limit_n = max(0, size−n+1):
// one subtraction and one unsigned compare, with no wrap-around case (a below the base or above
// 4 GiB gives a huge difference; a limit of 0 never hits).
const C_READ = { base: 15, limit: [16, 17, 18, 19], off: 29 };
const C_WRITE = { base: 20, limit: [21, 22, 23, 24], off: 30 };
const L_K = 25; // i32
const L_DEPTH = 26; // i32
const L_T32 = 27; // i32
const L_T2 = 28; // i32
const L_STATUS = 31, L_OUTPC = 32, L_FINFO = 33; // i32: what the shared epilogue reports
// Fast self-loops (see fastLoopPlan): budget floor and a temp (i64), iteration counter and one
// precomputed buffer displacement per memory access (i32).
const L_FLOOR = 34, L_T3 = 35;
const L_ITER = 36;
const L_DISP = 37;
const MAX_FAST_ACCESSES = 8;
const LOCALS: ValType[] = [...Array(24).fill(I64), ...Array(9).fill(I32), I64, I64, ...Array(1 + MAX_FAST_ACCESSES).fill(I32)];
// Taken branches left (i64), declared only when counting them (so other modules stay as they were).
const L_BRANCHES = 1 + LOCALS.length;
const sizeIndex = (n: number): number => (n === 1 ? 0 : n === 2 ? 1 : n === 4 ? 2 : 3);

// Function indexes: imports first.
const F_HELPER = 0; // (id i32, pc i32) → status i32
const F_LOOKUP = 1; // (addr i32, size i32, perm i32) → region index or −1
const F_BSWAP32 = 3; // defined after run (index 2)

const reg = (r: number): number => R0 + r;

// Opcode → operation tables (module-level: the translator allocates nothing per instruction).
const LOAD_SIZE = new Uint8Array(256);
const LOAD_OP = new Uint8Array(256);
for (const [op, size, w] of [[0x61, 4, W.i64_load32_u], [0x69, 2, W.i64_load16_u], [0x71, 1, W.i64_load8_u], [0x79, 8, W.i64_load],
  [0x81, 4, W.i64_load32_s], [0x89, 2, W.i64_load16_s], [0x91, 1, W.i64_load8_s]]) { LOAD_SIZE[op] = size; LOAD_OP[op] = w; }
const STORE_SIZE = [4, 2, 1, 8]; // by size field >> 3 (W, H, B, DW)
const cmpTable = (pairs: [number, number][]): Uint8Array => {
  const t = new Uint8Array(16);
  for (const [code, w] of pairs) t[code >> 4] = w;
  return t;
};
const CMP64 = cmpTable([[0x10, W.i64_eq], [0x50, W.i64_ne], [0x20, W.i64_gt_u], [0x30, W.i64_ge_u], [0xa0, W.i64_lt_u],
  [0xb0, W.i64_le_u], [0x60, W.i64_gt_s], [0x70, W.i64_ge_s], [0xc0, W.i64_lt_s], [0xd0, W.i64_le_s]]);
const CMP32 = cmpTable([[0x10, W.i32_eq], [0x50, W.i32_ne], [0x20, W.i32_gt_u], [0x30, W.i32_ge_u], [0xa0, W.i32_lt_u],
  [0xb0, W.i32_le_u], [0x60, W.i32_gt_s], [0x70, W.i32_ge_s], [0xc0, W.i32_lt_s], [0xd0, W.i32_le_s]]);

/** Emits WebAssembly instructions, tracking structured labels for br depths. */
class Code {
  readonly w = new ByteWriter();
  private depthNow = 0;
  /** Nesting level of each open label (labels are unique objects). */
  private readonly levels = new Map<unknown, number>();
  private readonly open: unknown[] = [];

  op(...ops: number[]): this { for (const o of ops) this.w.byte(o); return this; }
  get(l: number): this { this.w.byte(W.local_get).u32(l); return this; }
  set(l: number): this { this.w.byte(W.local_set).u32(l); return this; }
  tee(l: number): this { this.w.byte(W.local_tee).u32(l); return this; }
  /**
   * Constants are exact or the translation fails (and the program stays on the interpreter): a
   * constant that silently wrapped to 32 bits would move an address by 2^32 (issue 11).
   */
  i32(v: number): this {
    if ((v | 0) !== v) throw new Error(`internal: i32 constant ${v} out of range`);
    this.w.byte(W.i32_const).s32(v);
    return this;
  }
  /** i64.const of an integer value: sums of offsets and steps may leave the 32-bit range. */
  i64(v: number): this {
    if (!Number.isSafeInteger(v)) throw new Error(`internal: i64 constant ${v} is not an exact integer`);
    const hi = Math.floor(v / 2 ** 32);
    return this.i64Bits((v - hi * 2 ** 32) | 0, hi);
  }
  /** i64.const from the bit patterns of its halves (wide-load immediates, masks). */
  i64Bits(lo: number, hi: number): this { this.w.byte(W.i64_const).s64(lo | 0, hi | 0); return this; }
  mem(opcode: number, offset = 0, align = 0): this { this.w.byte(opcode).u32(align).u32(offset); return this; }
  call(f: number): this { this.w.byte(W.call).u32(f); return this; }
  private push(label: unknown): void {
    this.open.push(label);
    if (label !== null) this.levels.set(label, this.depthNow);
    this.depthNow++;
  }
  block(label: unknown): this { this.push(label); this.w.byte(W.block).byte(BLOCK_VOID); return this; }
  loop(label: unknown): this { this.push(label); this.w.byte(W.loop).byte(BLOCK_VOID); return this; }
  if(label: unknown = null, type: number = BLOCK_VOID): this { this.push(label); this.w.byte(W.if).byte(type); return this; }
  else(): this { this.w.byte(W.else); return this; }
  end(): this {
    const label = this.open.pop();
    if (label !== null) this.levels.delete(label);
    this.depthNow--;
    this.w.byte(W.end);
    return this;
  }
  depth(label: unknown): number {
    const level = this.levels.get(label);
    if (level === undefined) throw new Error('internal: branch to a label that is not open');
    return this.depthNow - 1 - level;
  }
  br(label: unknown): this { this.w.byte(W.br).u32(this.depth(label)); return this; }
  brIf(label: unknown): this { this.w.byte(W.br_if).u32(this.depth(label)); return this; }
  brTable(labels: unknown[], dflt: unknown): this {
    this.w.byte(W.br_table).u32(labels.length);
    for (const l of labels) this.w.u32(this.depth(l));
    this.w.u32(this.depth(dflt));
    return this;
  }
}

/** A memory access of a fast self-loop: its base register advances by `stride` per iteration. */
interface FastAccess { pc: number; base: number; off: number; size: number; write: boolean; partial: number; stride: number }

/**
 * Can the self-loop block [start, end) run as a fast loop, and with which accesses? It can when
 * it has no calls, exits or atomics, and every register it addresses memory through is either
 * untouched or only moved by 64-bit add/sub of constants, so the address of each access is
 * first + i·stride in iteration i. Then one check at loop entry tells how many iterations stay
 * inside the cached regions, and the loop runs that many (budget permitting) with no per-access
 * checks and one budget compare per iteration, falling back to the checked loop after them.
 */
function fastLoopPlan(p: Program, start: number, end: number): FastAccess[] | null {
  const accesses: FastAccess[] = [];
  for (let pc = start; pc < end; pc += isWide(p.opcode[pc]) ? 2 : 1) {
    const op = p.opcode[pc], cls = op & 7;
    if (cls === 5 || cls === 6) {
      const code = op & 0xf0;
      if (code === 0x80 || code === 0x90) return null; // call, exit
      continue;
    }
    if (op === 0xc3 || op === 0xdb) return null; // atomics
    if (LOAD_SIZE[op]) accesses.push({ pc, base: p.src[pc], off: p.offset[pc], size: LOAD_SIZE[op], write: false, partial: 0, stride: 0 });
    else if (cls === 2 || cls === 3) accesses.push({ pc, base: p.dst[pc], off: p.offset[pc], size: STORE_SIZE[(op & 0x18) >> 3], write: true, partial: 0, stride: 0 });
  }
  if (accesses.length > MAX_FAST_ACCESSES) return null;
  for (const a of accesses) {
    let delta = 0;
    for (let pc = start; pc < end; pc += isWide(p.opcode[pc]) ? 2 : 1) {
      if (pc === a.pc) a.partial = delta;
      const op = p.opcode[pc], cls = op & 7;
      const writes = cls === 7 || cls === 4 || LOAD_SIZE[op] !== 0 || op === 0x18 || op === 0xb8 || op === 0xd8;
      if (!writes || p.dst[pc] !== a.base) continue;
      if (op === 0x07) delta += p.imm[pc];
      else if (op === 0x17) delta -= p.imm[pc];
      else return null;
    }
    a.stride = delta;
    // A stride of 2^31 or more leaves any region in one iteration (and would not fit the 32-bit
    // power-of-two test in emitFastLoop); partial + off is an exact i64 constant at any size.
    if (Math.abs(delta) >= 2 ** 31 || Math.abs(a.partial) >= 2 ** 31) return null;
  }
  return accesses;
}

/** Accesses a loop copy runs unchecked, and each address register's total steps per pass. */
interface RangeHoist { accesses: FastAccess[]; steps: { up: number; down: number }[] }

/**
 * Which accesses of the call-free loop [start, end) can run unchecked for a counted number of
 * passes: those through a register the loop only moves by 64-bit add/sub of constants (at most
 * MAX_FAST_ACCESSES of them). Null when there are none.
 */
function rangeHoistPlan(p: Program, start: number, end: number): RangeHoist | null {
  const steps = Array.from({ length: 11 }, () => ({ up: 0, down: 0 }));
  const moved = new Uint8Array(11); // 1: only by constants, 2: otherwise
  for (let pc = start; pc < end; pc += isWide(p.opcode[pc]) ? 2 : 1) {
    const op = p.opcode[pc], cls = op & 7, d = p.dst[pc];
    if (op === 0xc3 || op === 0xdb) { moved[p.src[pc]] = 2; moved[0] = 2; continue; } // fetch / cmpxchg
    const writes = cls === 7 || cls === 4 || LOAD_SIZE[op] !== 0 || op === 0x18 || op === 0xb8 || op === 0xd8;
    if (!writes) continue;
    const k = op === 0x07 ? p.imm[pc] : op === 0x17 ? -p.imm[pc] : NaN;
    if (Number.isNaN(k)) { moved[d] = 2; continue; }
    if (moved[d] !== 2) moved[d] = 1;
    if (k > 0) steps[d].up += k; else steps[d].down -= k;
  }
  const accesses: FastAccess[] = [];
  for (let pc = start; pc < end && accesses.length < MAX_FAST_ACCESSES; pc += isWide(p.opcode[pc]) ? 2 : 1) {
    const op = p.opcode[pc], cls = op & 7;
    const base = LOAD_SIZE[op] ? p.src[pc] : (cls === 2 || cls === 3) && op !== 0xc3 && op !== 0xdb ? p.dst[pc] : -1;
    if (base < 0 || moved[base] === 2 || steps[base].up >= 2 ** 31 || steps[base].down >= 2 ** 31) continue;
    accesses.push({ pc, base, off: p.offset[pc], size: LOAD_SIZE[op] || STORE_SIZE[(op & 0x18) >> 3], write: !LOAD_SIZE[op], partial: 0, stride: 0 });
  }
  return accesses.length ? { accesses, steps } : null;
}

/** Translate a verified rfc9669 program. Throws Error for anything it cannot take. */
export function compileToWasm(p: Program, opts: CompileOptions): CompiledModule {
  const n = p.length;
  // ---- leaders ----
  const leader = new Uint8Array(n + 1);
  leader[0] = 1;
  for (const e of opts.entries ?? []) if (e >= 0 && e < n) leader[e] = 1;
  for (let pc = 0; pc < n; pc++) {
    const op = p.opcode[pc];
    if (isWide(op)) { pc++; continue; }
    const cls = op & 7;
    if (cls !== 5 && cls !== 6) continue;
    const code = op & 0xf0;
    if (code === 0x80) { // call: return point, and local-call target
      leader[pc + 1] = 1;
      if (op === 0x85 && p.src[pc] === 1) leader[pc + 1 + p.imm[pc]] = 1;
      continue;
    }
    leader[pc + 1] = 1;
    if (code === 0x90) continue; // exit
    const t = op === 0x06 ? pc + 1 + p.imm[pc] : pc + 1 + p.offset[pc];
    leader[t] = 1;
  }
  const blockOf = new Int32Array(n).fill(-1);
  const starts: number[] = [];
  for (let pc = 0; pc < n; pc++) if (leader[pc]) { blockOf[pc] = starts.length; starts.push(pc); }
  const nb = starts.length;
  const blockEnd = (b: number): number => (b + 1 < nb ? starts[b + 1] : n);

  const blockLen = new Int32Array(nb);
  for (let b = 0; b < nb; b++) {
    for (let pc = starts[b]; pc < blockEnd(b); pc += isWide(p.opcode[pc]) ? 2 : 1) blockLen[b]++;
  }

  const c = new Code();
  const fastLoops: number[] = [];
  const fastRanges: [number, number, number][] = [];
  const L = { name: 'L' };
  const B = starts.map((s) => ({ name: 'B', s }));

  // Prologue: registers and depth from the state area, empty region caches.
  for (let r = 0; r <= 10; r++) c.i32(0).mem(W.i64_load, H.REGS + 8 * r, 3).set(reg(r));
  c.i32(0).mem(W.i64_load, H.LEFT, 3).set(L_LEFT);
  c.i32(0).mem(W.i32_load, H.DEPTH, 2).set(L_DEPTH);
  const countBranches = opts.countBranches === true;
  if (countBranches) c.i32(0).mem(W.i64_load, H.BRANCHES, 3).set(L_BRANCHES);
  // Region caches start empty: all limits 0 (locals are zero-initialised).

  // Every way out goes through one epilogue after $X (spill registers, report), which keeps
  // each exit site a few bytes long.
  const X = { name: 'X' };
  c.block(X);
  c.loop(L);
  for (let b = nb - 1; b >= 0; b--) c.block(B[b]);
  c.get(P_BLOCK).brTable(B, B[0]);

  /** Store registers, depth and budget into the state area (before returning to the host). */
  const spill = (): void => {
    for (let r = 0; r <= 10; r++) c.i32(0).get(reg(r)).mem(W.i64_store, H.REGS + 8 * r, 3);
    c.i32(0).get(L_DEPTH).mem(W.i32_store, H.DEPTH, 2);
    c.i32(0).get(L_LEFT).mem(W.i64_store, H.LEFT, 3);
    if (countBranches) c.i32(0).get(L_BRANCHES).mem(W.i64_store, H.BRANCHES, 3);
  };
  /** Leave with `status` at `pc`; `finfo` = fault kind << 16 | write << 8 | size, for faults. */
  const ret = (status: number, pc: number, finfo = 0): void => {
    c.i32(status).set(L_STATUS).i32(pc).set(L_OUTPC);
    if (finfo) c.i32(finfo).set(L_FINFO);
    c.br(X);
  };

  /**
   * The code of block `b`. `resolve` gives the label a jump to block `tb` branches to, or null
   * for the dispatcher (set P_BLOCK, go round $L). `checkBudget`: bail when the block does not fit
   * in the budget left; false only inside a fast loop copy, whose head made sure a whole pass fits.
   * `unchecked`: accesses (by pc) already proved in their region, with the local holding their
   * displacement into the buffer. Returns whether the block can fall through to the next one.
   */
  function emitBody(b: number, resolve: (tb: number) => unknown, checkBudget: boolean, unchecked?: Map<number, number>): boolean {
    const start = starts[b], end = blockEnd(b);
    const len = blockLen[b];
    const counts = opts.countsOffset;
    if (checkBudget) {
      // Bail to the interpreter when this block does not fit in what is left.
      c.get(L_LEFT).i64(len).op(W.i64_sub).tee(L_LEFT).i64(0).op(W.i64_lt_s).if();
      c.get(L_LEFT).i64(len).op(W.i64_add).set(L_LEFT);
      ret(C_BAIL, start);
      c.end();
    } else c.get(L_LEFT).i64(len).op(W.i64_sub).set(L_LEFT);
    if (counts !== undefined) {
      c.i32(0).i32(0).mem(W.i32_load, counts + 4 * b, 2).i32(1).op(W.i32_add).mem(W.i32_store, counts + 4 * b, 2);
    }

    /** Jump to instruction `t` (a leader). */
    const jump = (t: number): void => {
      const tb = blockOf[t], label = resolve(tb);
      if (label) c.br(label);
      else c.i32(tb).set(P_BLOCK).br(L);
    };
    /**
     * A taken jump at `pc` (the block's last instruction) spends one taken branch; with none left
     * it faults there, as the interpreter does after applying the jump (registers are unchanged).
     */
    const spendBranch = (pc: number): void => {
      c.get(L_BRANCHES).i64(1).op(W.i64_sub).tee(L_BRANCHES).i64(0).op(W.i64_lt_s).if();
      ret(C_FAULT, pc, FK_BRANCH_BUDGET << 16);
      c.end();
    };
    const condJump = (t: number, pc: number): void => { // condition (i32) on the stack
      const tb = blockOf[t];
      if (countBranches) {
        c.if();
        if (counts !== undefined) c.i32(0).i32(0).mem(W.i32_load, counts + 4 * (nb + b), 2).i32(1).op(W.i32_add).mem(W.i32_store, counts + 4 * (nb + b), 2);
        spendBranch(pc);
        jump(t);
        c.end();
        return;
      }
      if (counts !== undefined) {
        const at = counts + 4 * (nb + b);
        c.tee(L_T32).if().i32(0).i32(0).mem(W.i32_load, at, 2).i32(1).op(W.i32_add).mem(W.i32_store, at, 2).end();
        c.get(L_T32);
      }
      const label = resolve(tb);
      if (label) c.brIf(label);
      else { c.if(); c.i32(tb).set(P_BLOCK).br(L); c.end(); }
    };
    /** Region-checked address of [reg + off, +size) → i32 buffer address on the stack. */
    const address = (base: number, off: number, size: number, write: boolean, idx: number, pc: number): void => {
      const disp = unchecked?.get(pc);
      if (disp !== undefined) { // proved in region at the loop copy's entry (emitLoopCopy)
        c.get(reg(base)).op(W.i32_wrap_i64).get(disp).op(W.i32_add);
        return;
      }
      const cache = write ? C_WRITE : C_READ;
      c.get(reg(base));
      if (off !== 0) c.i64(off).op(W.i64_add);
      c.tee(L_A).get(cache.base).op(W.i64_sub).tee(L_T).get(cache.limit[sizeIndex(size)]).op(W.i64_lt_u, W.i32_eqz).if();
      lookup(size, write ? 2 : 1, idx, pc, write);
      c.i32(0).mem(W.i64_load, H.LK_BASE, 3).set(cache.base);
      c.i32(0).mem(W.i32_load, H.LK_OFF, 2).set(cache.off);
      for (let k = 0; k < 4; k++) c.i32(0).mem(W.i64_load, H.LK_LIMIT + 8 * k, 3).set(cache.limit[k]);
      c.get(L_A).get(cache.base).op(W.i64_sub).set(L_T);
      c.end();
      c.get(L_T).op(W.i32_wrap_i64).get(cache.off).op(W.i32_add);
    };
    /** Host lookup of L_A; faults (returns) when no region grants `perm`. */
    const lookup = (size: number, perm: number, idx: number, pc: number, write: boolean): void => {
      c.get(L_A).i64(32).op(W.i64_shr_u, W.i64_eqz).if(null, I32);
      c.get(L_A).op(W.i32_wrap_i64).i32(size).i32(perm).call(F_LOOKUP);
      c.else().i32(-1).end();
      c.i32(0).op(W.i32_lt_s).if();
      // Give back the instructions of this block after the faulting one.
      if (len - idx - 1 > 0) c.get(L_LEFT).i64(len - idx - 1).op(W.i64_add).set(L_LEFT);
      ret(C_FAULT, pc, (FK_MEM << 16) | ((write ? 1 : 0) << 8) | size);
      c.end();
    };

    let idx = 0;
    let falls = true;
    for (let pc = start; pc < end; pc += isWide(p.opcode[pc]) ? 2 : 1, idx++) {
      const op = p.opcode[pc], d = p.dst[pc], s = p.src[pc], off = p.offset[pc], imm = p.imm[pc];
      const cls = op & 7;
      if (cls === 7 || cls === 4) {
        const divides = (op & 0xf0) === 0x30 || (op & 0xf0) === 0x90;
        emitAlu(c, op, d, s, off, imm, opts.divZeroFaults && divides ? () => {
          // Fault −9 at this instruction: give back the rest of the block, as for memory faults.
          if (len - idx - 1 > 0) c.get(L_LEFT).i64(len - idx - 1).op(W.i64_add).set(L_LEFT);
          ret(C_FAULT, pc, FK_DIV_ZERO << 16);
        } : undefined);
        continue;
      }
      switch (op) {
        case 0x18: c.i64Bits(imm, p.imm[pc + 1]).set(reg(d)); continue;
        case 0xb8: case 0xd8: {
          const v = BigInt.asUintN(64, BigInt(op === 0xb8 ? opts.dataBase : opts.rodataBase) + BigInt(imm) + (BigInt(p.imm[pc + 1]) << 32n));
          c.i64Bits(Number(v & 0xffffffffn), Number(v >> 32n)).set(reg(d));
          continue;
        }
        case 0x61: case 0x69: case 0x71: case 0x79: case 0x81: case 0x89: case 0x91: {
          const size = LOAD_SIZE[op], ld = LOAD_OP[op];
          address(s, off, size, false, idx, pc);
          c.mem(ld).set(reg(d));
          continue;
        }
        case 0x62: case 0x6a: case 0x72: case 0x7a: case 0x63: case 0x6b: case 0x73: case 0x7b: {
          const size = STORE_SIZE[(op & 0x18) >> 3];
          address(d, off, size, true, idx, pc);
          if (cls === 2) c.i64(imm); else c.get(reg(s));
          c.mem(size === 8 ? W.i64_store : size === 4 ? W.i64_store32 : size === 2 ? W.i64_store16 : W.i64_store8);
          continue;
        }
        case 0xc3: case 0xdb: {
          const size = op === 0xdb ? 8 : 4;
          c.get(reg(d)).i64(off).op(W.i64_add).set(L_A);
          lookup(size, 3, idx, pc, true);
          emitAtomic(c, size, s, imm);
          continue;
        }
        case 0x05: if (countBranches) spendBranch(pc); jump(pc + 1 + off); falls = false; continue;
        case 0x06: if (countBranches) spendBranch(pc); jump(pc + 1 + imm); falls = false; continue;
        case 0x95: { // exit
          c.get(L_DEPTH).op(W.i32_eqz).if();
          ret(C_EXIT, pc);
          c.end();
          c.get(L_DEPTH).i32(1).op(W.i32_sub).tee(L_DEPTH).i32(FRAME_BYTES).op(W.i32_mul).set(L_K);
          for (let r = 0; r < 5; r++) c.get(L_K).mem(W.i64_load, H.FRAMES + 8 + 8 * r, 3).set(reg(6 + r));
          c.get(L_K).mem(W.i32_load, H.FRAMES + 4, 2).set(P_BLOCK).br(L);
          falls = false;
          continue;
        }
        case 0x85: case 0x8d: {
          if (op === 0x85 && s === 1) { // local call
            const t = pc + 1 + imm;
            c.get(L_DEPTH).i32(opts.maxCallDepth).op(W.i32_ge_u).if();
            ret(C_FAULT, pc, FK_CALL_DEPTH << 16);
            c.end();
            c.get(L_DEPTH).i32(FRAME_BYTES).op(W.i32_mul).set(L_K);
            c.get(L_K).i32(pc + 1).mem(W.i32_store, H.FRAMES, 2);
            c.get(L_K).i32(blockOf[pc + 1]).mem(W.i32_store, H.FRAMES + 4, 2);
            for (let r = 0; r < 5; r++) c.get(L_K).get(reg(6 + r)).mem(W.i64_store, H.FRAMES + 8 + 8 * r, 3);
            c.get(L_DEPTH).i32(1).op(W.i32_add).set(L_DEPTH);
            c.get(reg(10)).i64(opts.frameSize).op(W.i64_sub).set(reg(10));
            jump(t);
            falls = false;
            continue;
          }
          // Helper call: everything spilled so the host sees (and can suspend) the full state.
          c.i32(0).i32(pc + 1).mem(W.i32_store, H.PC, 2);
          spill();
          if (op === 0x85) c.i32(imm);
          else {
            c.get(reg(d)).i64(32).op(W.i64_shr_u, W.i64_eqz).if(null, I32);
            c.get(reg(d)).op(W.i32_wrap_i64).else().i32(-1).end();
          }
          c.i32(pc).call(F_HELPER).tee(L_T32).if();
          c.get(L_T32).op(W.return);
          c.end();
          c.i32(0).mem(W.i64_load, H.REGS, 3).set(reg(0));
          // The host may have remapped regions during the call: forget both region caches.
          for (const cache of [C_READ, C_WRITE]) for (const l of cache.limit) c.i64(0).set(l);
          continue;
        }
        default: {
          if (cls === 5 || cls === 6) { // conditional jumps
            emitCompare(c, op, d, s, imm);
            condJump(pc + 1 + off, pc);
            continue;
          }
          throw new Error(`compiled tier: opcode 0x${op.toString(16)} at pc ${pc} is not supported`);
        }
      }
    }
    return falls;
  }

  // The last block jumping back to each block, and which blocks jump to their own start (one
  // pass: a scan per head would be quadratic).
  const lastBackEdge = new Int32Array(nb).fill(-1);
  const selfLoop = new Uint8Array(nb);
  for (let x = 0; x < nb; x++) {
    const e = blockEnd(x);
    let pc = starts[x];
    while (pc + (isWide(p.opcode[pc]) ? 2 : 1) < e) pc += isWide(p.opcode[pc]) ? 2 : 1;
    const op = p.opcode[pc], cls = op & 7, code = op & 0xf0;
    if ((cls !== 5 && cls !== 6) || code === 0x80 || code === 0x90) continue;
    const tb = blockOf[op === 0x06 ? pc + 1 + p.imm[pc] : pc + 1 + p.offset[pc]];
    if (tb <= x) lastBackEdge[tb] = x;
    if (tb === x) selfLoop[x] = 1;
  }
  /**
   * Loops [h, t] get structured copies (emitLoopCopy) up to this many instructions each, and
   * (overlapping loops can share blocks) all copies together at most the program's length.
   */
  const MAX_COPY = 1024;
  let copyBudget = Math.max(n, 64);
  const internal = (tb: number): never => { throw new Error(`internal: loop copy jumps back to block ${tb}`); };
  /**
   * The last block t > h of an innermost loop headed by block h that can run as a structured copy,
   * or −1: some block in [h, t] jumps back to h, no block in it calls, exits or jumps backward to
   * anything but h (an inner loop keeps its own fast form), it is at most MAX_COPY long, and h
   * does not jump to itself (a self-loop head keeps the self-loop form).
   */
  function loopLatch(h: number): number {
    const t = lastBackEdge[h];
    if (selfLoop[h] || t <= h || blockEnd(t) - starts[h] > Math.min(MAX_COPY, copyBudget)) return -1;
    for (let x = h; x <= t; x++) {
      for (let pc = starts[x]; pc < blockEnd(x); pc += isWide(p.opcode[pc]) ? 2 : 1) {
        const op = p.opcode[pc], cls = op & 7, code = op & 0xf0;
        if (cls !== 5 && cls !== 6) continue;
        if (code === 0x80 || code === 0x90) return -1; // calls, exit
        const tb = blockOf[op === 0x06 ? pc + 1 + p.imm[pc] : pc + 1 + p.offset[pc]];
        if (tb > h && tb <= x) return -1; // an inner back edge
      }
    }
    copyBudget -= blockEnd(t) - starts[h];
    return t;
  }

  /**
   * A structured copy of the loop [h, t] (blocks), emitted at its head before the checked code:
   * a wasm `loop` whose back edge is a direct branch and whose forward jumps are local blocks,
   * with the budget checked once per pass (a pass runs each block at most once) instead of per
   * block. Everything else, region checks included, is the checked code's. Jumps out of the
   * range go to the checked code of their target (or the dispatcher, for targets before h);
   * when a pass may not fit in the budget, the checked loop takes over and bails exactly.
   */
  function emitLoopCopy(h: number, t: number): void {
    let rangeLen = 0;
    for (let x = h; x <= t; x++) rangeLen += blockLen[x];
    const checked = { name: 'checked', h }, toCopy = { name: 'toCopy', h };
    // The unchecked version is a second copy: it too counts against the copy budget.
    const hoist = copyBudget >= blockEnd(t) - starts[h] ? rangeHoistPlan(p, starts[h], blockEnd(t)) : null;
    if (hoist) copyBudget -= blockEnd(t) - starts[h];
    fastRanges.push([starts[h], blockEnd(t), hoist?.accesses.length ?? 0]);
    c.block(checked);
    if (hoist) {
      // After each pass with checks (the caches may hold the regions now, or an edge is near),
      // back to the entry to bound the unchecked passes again.
      const E = { name: 'E', h };
      c.loop(E);
      c.block(toCopy);
      emitPassBound(hoist, toCopy);
      emitPasses(h, t, rangeLen, checked, null, toCopy, new Map(hoist.accesses.map((a, j) => [a.pc, L_DISP + j])));
      c.end(); // toCopy: one pass of the copy with checks follows
      emitPasses(h, t, rangeLen, checked, E, null);
      c.end(); // E
    } else emitPasses(h, t, rangeLen, checked, null, null);
    c.end(); // checked: the checked loop follows
  }

  /**
   * The passes of a loop copy: a wasm loop over blocks h..t, the budget checked once per pass.
   * `again`: where the back edge goes (default: this loop). With `unchecked`, the passes left in
   * L_FLOOR are counted down and run those accesses without checks; when they are used up, the
   * copy with checks (after `toCopy`) goes on.
   */
  function emitPasses(h: number, t: number, rangeLen: number, checked: unknown, again: unknown, toCopy: unknown, unchecked?: Map<number, number>): void {
    const F = { name: 'F', h };
    const back = again ?? F;
    const FB: { name: string; x: number }[] = [];
    for (let x = h; x <= t; x++) FB[x] = { name: 'FB', x };
    c.loop(F);
    c.get(L_LEFT).i64(rangeLen).op(W.i64_lt_s).brIf(checked);
    if (unchecked) {
      c.get(L_FLOOR).op(W.i64_eqz).brIf(toCopy);
      c.get(L_FLOOR).i64(1).op(W.i64_sub).set(L_FLOOR);
    }
    for (let x = t; x > h; x--) c.block(FB[x]);
    let falls = false;
    for (let x = h; x <= t; x++) {
      if (x > h) c.end(); // FB[x]: block x's copy follows
      falls = emitBody(x, (tb) => (tb === h ? back : tb > x && tb <= t ? FB[tb] : tb > t ? B[tb] : tb < h ? null : internal(tb)), false, unchecked);
    }
    // Leaving the range by falling off its last block: the checked code of the next block.
    if (falls) c.br(B[t + 1]);
    c.end(); // F
  }

  /**
   * At a loop copy's entry: how many passes keep every hoisted access inside the region its
   * cache holds, into L_FLOOR (0 → `none`), and each access's buffer displacement into L_DISP+j.
   * In any pass an address register has moved from its entry value by at most passes·down and
   * passes·up (the sums of its negative and positive steps in the loop), in whatever order.
   */
  function emitPassBound(plan: RangeHoist, none: unknown): void {
    c.i64Bits(-1, 0x3fffffff).set(L_FLOOR); // 2^62 − 1: no bound yet
    plan.accesses.forEach((a, j) => {
      const cache = a.write ? C_WRITE : C_READ, limit = cache.limit[sizeIndex(a.size)];
      const { up, down } = plan.steps[a.base];
      c.get(reg(a.base));
      if (a.off !== 0) c.i64(a.off).op(W.i64_add);
      c.get(cache.base).op(W.i64_sub).tee(L_T3).get(limit).op(W.i64_ge_u).brIf(none);
      const bound = (value: () => void, step: number): void => { // L_FLOOR = min(L_FLOOR, value / step)
        value();
        if ((step & (step - 1)) === 0) c.i64(31 - Math.clz32(step)).op(W.i64_shr_u); else c.i64(step).op(W.i64_div_u);
        c.tee(L_T).get(L_FLOOR).get(L_T).get(L_FLOOR).op(W.i64_lt_u, W.select).set(L_FLOOR);
      };
      if (up > 0) bound(() => c.get(limit).i64(1).op(W.i64_sub).get(L_T3).op(W.i64_sub), up);
      if (down > 0) bound(() => c.get(L_T3), down);
      c.get(cache.off).get(cache.base).op(W.i32_wrap_i64, W.i32_sub).i32(a.off).op(W.i32_add).set(L_DISP + j);
    });
    c.get(L_FLOOR).op(W.i64_eqz).brIf(none);
  }

  for (let b = 0; b < nb; b++) {
    c.end(); // closes B[b]: its code follows
    const start = starts[b], end = blockEnd(b);
    const len = blockLen[b];
    // A block that jumps back to its own start gets its own loop.
    const self = selfLoop[b] === 1;
    const S = { name: 'S', b };
    const counts = opts.countsOffset;
    // The loop copies check the budget once per pass and skip per-jump work: not with RIOT's
    // taken-branch budget or division faults, whose fault points are per instruction.
    const plainBlocks = countBranches || opts.divZeroFaults === true;
    const latch = plainBlocks ? -1 : loopLatch(b);
    if (latch > b) emitLoopCopy(b, latch);
    const fast = self && !plainBlocks ? fastLoopPlan(p, start, end) : null;
    if (fast) fastLoops.push(start);
    const done = { name: 'done', b };
    if (fast) c.block(done);
    if (self) c.loop(S);
    if (fast) emitFastLoop(fast);
    const fallsOut = emitBody(b, (tb) => (tb > b ? B[tb] : tb === b && self ? S : null), true);
    // Only riot-2022's "no return" programs can run off the end: the interpreter's sentinel
    // faults there (or the budget ends first), exactly.
    if (b === nb - 1 && fallsOut) ret(C_BAIL, n);
    if (self) c.end();
    if (fast) c.end();

    /**
     * The fast version of this self-loop (see fastLoopPlan), emitted at the loop head: when every
     * access's first address hits its region cache, run the iterations that provably stay in
     * those regions and fit the budget without per-access checks, then fall into the checked
     * loop, which faults, bails or refills the caches exactly as before.
     */
    function emitFastLoop(accesses: FastAccess[]): void {
      const slow = { name: 'slow', b };
      const F = { name: 'F', b };
      c.block(slow);
      c.i64(len).set(L_FLOOR);
      accesses.forEach((a, j) => {
        const cache = a.write ? C_WRITE : C_READ, limit = cache.limit[sizeIndex(a.size)];
        // t = first address − region base, all in 64 bits (partial + off can pass ±2^31: a
        // 32-bit constant would fold a fault 2^32 away onto the region); a miss leaves it to
        // the checked loop.
        c.get(reg(a.base));
        if (a.partial + a.off !== 0) c.i64(a.partial + a.off).op(W.i64_add);
        c.get(cache.base).op(W.i64_sub).tee(L_T3).get(limit).op(W.i64_ge_u).brIf(slow);
        if (a.stride !== 0) {
          // Iterations after the first that stay inside: (limit − 1 − t) / stride, or t / −stride.
          if (a.stride > 0) c.get(limit).i64(1).op(W.i64_sub).get(L_T3).op(W.i64_sub);
          else c.get(L_T3);
          const s = Math.abs(a.stride);
          if ((s & (s - 1)) === 0) c.i64(31 - Math.clz32(s)).op(W.i64_shr_u);
          else c.i64(s).op(W.i64_div_u);
          // floor = max(floor, left − that·len): the loop goes on while left ≥ floor.
          c.i64(len).op(W.i64_mul).set(L_T3);
          c.get(L_LEFT).get(L_T3).op(W.i64_sub).tee(L_T3).get(L_FLOOR).get(L_T3).get(L_FLOOR).op(W.i64_gt_s, W.select).set(L_FLOOR);
        }
        // Buffer address = wrap(register) + (offset in buffer − wrap(base) + off).
        c.get(cache.off).get(cache.base).op(W.i32_wrap_i64, W.i32_sub).i32(a.off).op(W.i32_add).set(L_DISP + j);
      });
      c.get(L_LEFT).get(L_FLOOR).op(W.i64_lt_s).brIf(slow);
      if (counts !== undefined) c.i32(0).set(L_ITER);
      c.loop(F);
      let j = 0, lastPc = start;
      for (let pc = start; pc < end; pc += isWide(p.opcode[pc]) ? 2 : 1) {
        lastPc = pc;
        const op = p.opcode[pc], d = p.dst[pc], s = p.src[pc], imm = p.imm[pc], cls = op & 7;
        if (cls === 7 || cls === 4) { emitAlu(c, op, d, s, p.offset[pc], imm); continue; }
        if (op === 0x18) { c.i64Bits(imm, p.imm[pc + 1]).set(reg(d)); continue; }
        if (op === 0xb8 || op === 0xd8) {
          const v = BigInt.asUintN(64, BigInt(op === 0xb8 ? opts.dataBase : opts.rodataBase) + BigInt(imm) + (BigInt(p.imm[pc + 1]) << 32n));
          c.i64Bits(Number(v & 0xffffffffn), Number(v >> 32n)).set(reg(d));
          continue;
        }
        if (LOAD_SIZE[op]) {
          c.get(reg(s)).op(W.i32_wrap_i64).get(L_DISP + j++).op(W.i32_add).mem(LOAD_OP[op]).set(reg(d));
          continue;
        }
        if (cls === 2 || cls === 3) {
          const size = STORE_SIZE[(op & 0x18) >> 3];
          c.get(reg(d)).op(W.i32_wrap_i64).get(L_DISP + j++).op(W.i32_add);
          if (cls === 2) c.i64(imm); else c.get(reg(s));
          c.mem(size === 8 ? W.i64_store : size === 4 ? W.i64_store32 : size === 2 ? W.i64_store16 : W.i64_store8);
          continue;
        }
        // The closing jump back to the start.
        c.get(L_LEFT).i64(len).op(W.i64_sub).set(L_LEFT);
        if (counts !== undefined) c.get(L_ITER).i32(1).op(W.i32_add).set(L_ITER);
        if (op !== 0x05 && op !== 0x06) {
          emitCompare(c, op, d, s, imm);
          c.op(W.i32_eqz).if();
          if (counts !== undefined) foldFastCounts(1, true);
          c.br(done).end();
        }
        c.get(L_LEFT).get(L_FLOOR).op(W.i64_ge_s).brIf(F);
      }
      c.end(); // F
      if (counts !== undefined) foldFastCounts(0, !(p.opcode[lastPc] === 0x05 || p.opcode[lastPc] === 0x06));
      c.end(); // slow
    }
    /** Add the fast loop's iterations to this block's entry and taken counters. */
    function foldFastCounts(exited: number, conditional: boolean): void {
      const at = counts! + 4 * b, takenAt = counts! + 4 * (nb + b);
      c.i32(0).i32(0).mem(W.i32_load, at, 2).get(L_ITER).op(W.i32_add).mem(W.i32_store, at, 2);
      if (!conditional) return; // `ja` is not a taken conditional jump
      c.i32(0).i32(0).mem(W.i32_load, takenAt, 2).get(L_ITER).op(W.i32_add);
      if (exited) c.i32(exited).op(W.i32_sub);
      c.mem(W.i32_store, takenAt, 2);
    }
  }
  c.end(); // loop
  c.op(W.unreachable);
  c.end(); // $X: the epilogue
  c.i32(0).get(L_OUTPC).mem(W.i32_store, H.PC, 2);
  c.get(L_FINFO).if();
  c.i32(0).get(L_A).mem(W.i64_store, H.FAULT_ADDR, 3);
  c.i32(0).get(L_FINFO).i32(0xff).op(W.i32_and).mem(W.i32_store, H.FAULT_SIZE, 2);
  c.i32(0).get(L_FINFO).i32(8).op(W.i32_shr_u).i32(1).op(W.i32_and).mem(W.i32_store, H.FAULT_WRITE, 2);
  c.i32(0).get(L_FINFO).i32(16).op(W.i32_shr_u).mem(W.i32_store, H.FAULT_KIND, 2);
  c.end();
  spill();
  c.get(L_STATUS);
  c.op(W.end);

  const run: FuncBody = {
    type: { params: [I32], results: [I32] },
    locals: countBranches ? [...LOCALS, I64] : LOCALS,
    code: c.w.toBytes(),
    export: 'run',
  };
  const bswap = new Code();
  // ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)
  bswap.get(0).i32(0xff).op(W.i32_and).i32(24).op(W.i32_shl);
  bswap.get(0).i32(0xff00).op(W.i32_and).i32(8).op(W.i32_shl).op(W.i32_or);
  bswap.get(0).i32(8).op(W.i32_shr_u).i32(0xff00).op(W.i32_and).op(W.i32_or);
  bswap.get(0).i32(24).op(W.i32_shr_u).op(W.i32_or).op(W.end);
  const bytes = encodeModule(
    [
      { module: 'env', name: 'helper', type: { params: [I32, I32], results: [I32] } },
      { module: 'env', name: 'lookup', type: { params: [I32, I32, I32], results: [I32] } },
    ],
    [run, { type: { params: [I32], results: [I32] }, locals: [], code: bswap.w.toBytes() }],
    1,
  );
  return { bytes, blockOf, blockCount: nb, blockLen, fastLoops, fastRanges };
}

/**
 * ALU and ALU64 instructions (verified: fields are consistent). `divFault`, for riot-2022's
 * division faults: emits the fault exit, and division or modulo by zero takes it.
 */
function emitAlu(c: Code, op: number, d: number, s: number, off: number, imm: number, divFault?: () => void): void {
  const x = (op & 0x08) !== 0;
  const code = op & 0xf0;
  const rd = reg(d);
  if ((op & 7) === 7) {
    const rhs = (): Code => (x ? c.get(reg(s)) : c.i64(imm));
    const bin = (w: number): void => { c.get(rd); rhs(); c.op(w).set(rd); };
    switch (code) {
      case 0x00: bin(W.i64_add); return;
      case 0x10: bin(W.i64_sub); return;
      case 0x20: bin(W.i64_mul); return;
      case 0x40: bin(W.i64_or); return;
      case 0x50: bin(W.i64_and); return;
      case 0xa0: bin(W.i64_xor); return;
      case 0x60: bin(W.i64_shl); return; // wasm masks the count by 63, as RFC 9669 does
      case 0x70: bin(W.i64_shr_u); return;
      case 0xc0: bin(W.i64_shr_s); return;
      case 0x80: c.i64(0).get(rd).op(W.i64_sub).set(rd); return;
      case 0xb0:
        if (!x) { c.i64(imm).set(rd); return; }
        c.get(reg(s));
        if (off === 8) c.op(W.i64_extend8_s); else if (off === 16) c.op(W.i64_extend16_s); else if (off === 32) c.op(W.i64_extend32_s);
        c.set(rd);
        return;
      case 0xd0: { // bswap16/32/64
        if (imm === 16) c.get(rd).op(W.i32_wrap_i64).call(F_BSWAP32).i32(16).op(W.i32_shr_u, W.i64_extend_i32_u).set(rd);
        else if (imm === 32) c.get(rd).op(W.i32_wrap_i64).call(F_BSWAP32).op(W.i64_extend_i32_u).set(rd);
        else {
          c.get(rd).op(W.i32_wrap_i64).call(F_BSWAP32).op(W.i64_extend_i32_u).i64(32).op(W.i64_shl);
          c.get(rd).i64(32).op(W.i64_shr_u, W.i32_wrap_i64).call(F_BSWAP32).op(W.i64_extend_i32_u, W.i64_or).set(rd);
        }
        return;
      }
      case 0x30: case 0x90: { // div / mod, RFC 9669: x/0 = 0, x%0 = x; signed INT_MIN/−1 = INT_MIN, %−1 = 0
        const div = code === 0x30;
        const signed = off === 1;
        if (!x) {
          if (imm === 0 && divFault) { divFault(); return; }
          if (imm === 0) { if (div) c.i64(0).set(rd); return; }
          if (signed && imm === -1) { if (div) c.i64(0).get(rd).op(W.i64_sub).set(rd); else c.i64(0).set(rd); return; }
          c.get(rd).i64(imm).op(div ? (signed ? W.i64_div_s : W.i64_div_u) : (signed ? W.i64_rem_s : W.i64_rem_u)).set(rd);
          return;
        }
        const rs = reg(s);
        if (divFault) { c.get(rs).op(W.i64_eqz).if(); divFault(); c.end(); }
        c.get(rs).op(W.i64_eqz).if();
        if (div) c.i64(0).set(rd);
        c.else();
        if (signed) {
          c.get(rs).i64(-1).op(W.i64_eq).if();
          if (div) c.i64(0).get(rd).op(W.i64_sub).set(rd); else c.i64(0).set(rd);
          c.else();
          c.get(rd).get(rs).op(div ? W.i64_div_s : W.i64_rem_s).set(rd);
          c.end();
        } else c.get(rd).get(rs).op(div ? W.i64_div_u : W.i64_rem_u).set(rd);
        c.end();
        return;
      }
    }
    throw new Error(`compiled tier: ALU64 opcode 0x${op.toString(16)}`);
  }
  // ALU32: operate on the low halves, zero-extend the result.
  const lhs = (): Code => c.get(rd).op(W.i32_wrap_i64);
  const rhs = (): Code => (x ? c.get(reg(s)).op(W.i32_wrap_i64) : c.i32(imm));
  const done = (): void => { c.op(W.i64_extend_i32_u).set(rd); };
  const bin = (w: number): void => { lhs(); rhs(); c.op(w); done(); };
  switch (code) {
    case 0x00: bin(W.i32_add); return;
    case 0x10: bin(W.i32_sub); return;
    case 0x20: bin(W.i32_mul); return;
    case 0x40: bin(W.i32_or); return;
    case 0x50: bin(W.i32_and); return;
    case 0xa0: bin(W.i32_xor); return;
    case 0x60: bin(W.i32_shl); return;
    case 0x70: bin(W.i32_shr_u); return;
    case 0xc0: bin(W.i32_shr_s); return;
    case 0x80: c.i32(0); lhs(); c.op(W.i32_sub); done(); return;
    case 0xb0:
      rhs();
      if (x && off === 8) c.op(W.i32_extend8_s); else if (x && off === 16) c.op(W.i32_extend16_s);
      done();
      return;
    case 0xd0: // le (0xd4: truncate) / be (0xdc: swap)
      if (!x) {
        if (imm === 16) c.get(rd).i64(0xffff).op(W.i64_and).set(rd);
        else if (imm === 32) c.get(rd).i64Bits(-1, 0).op(W.i64_and).set(rd);
        return;
      }
      emitAlu(c, 0xd7, d, 0, 0, imm);
      return;
    case 0x30: case 0x90: {
      const div = code === 0x30;
      const signed = off === 1;
      // divisor → L_T32
      rhs(); c.set(L_T32);
      if (divFault) { c.get(L_T32).op(W.i32_eqz).if(); divFault(); c.end(); }
      c.get(L_T32).op(W.i32_eqz).if();
      if (div) c.i64(0).set(rd); else c.get(rd).i64Bits(-1, 0).op(W.i64_and).set(rd);
      c.else();
      if (signed) {
        c.get(L_T32).i32(-1).op(W.i32_eq).if();
        if (div) { c.i32(0); lhs(); c.op(W.i32_sub); done(); } else c.i64(0).set(rd);
        c.else();
        lhs(); c.get(L_T32).op(div ? W.i32_div_s : W.i32_rem_s); done();
        c.end();
      } else { lhs(); c.get(L_T32).op(div ? W.i32_div_u : W.i32_rem_u); done(); }
      c.end();
      return;
    }
  }
  throw new Error(`compiled tier: ALU opcode 0x${op.toString(16)}`);
}

/** Conditional jump condition → i32 on the stack. */
function emitCompare(c: Code, op: number, d: number, s: number, imm: number): void {
  const x = (op & 0x08) !== 0;
  const code = op & 0xf0;
  if ((op & 7) === 5) {
    c.get(reg(d));
    if (x) c.get(reg(s)); else c.i64(imm);
    const w = CMP64[code >> 4];
    if (code === 0x40) c.op(W.i64_and).i64(0).op(W.i64_ne);
    else c.op(w);
    return;
  }
  c.get(reg(d)).op(W.i32_wrap_i64);
  if (x) c.get(reg(s)).op(W.i32_wrap_i64); else c.i32(imm);
  const w = CMP32[code >> 4];
  if (code === 0x40) c.op(W.i32_and).i32(0).op(W.i32_ne);
  else c.op(w);
}

/** Atomic read-modify-write at the address in L_A, already checked for read and write. */
function emitAtomic(c: Code, size: number, s: number, kind: number): void {
  // p = wrap(a − base) + offset into L_K
  c.get(L_A).i32(0).mem(W.i64_load, H.LK_BASE, 3).op(W.i64_sub, W.i32_wrap_i64).i32(0).mem(W.i32_load, H.LK_OFF, 2).op(W.i32_add).set(L_K);
  const load = size === 8 ? W.i64_load : W.i64_load32_u;
  const store = size === 8 ? W.i64_store : W.i64_store32;
  c.get(L_K).mem(load).set(L_T); // old value
  const rs = reg(s);
  const base = kind & ~0x01;
  if (base === 0xf0) { // cmpxchg: compare with r0 (low 32 bits for the 32-bit form)
    if (size === 8) c.get(reg(0)).get(L_T).op(W.i64_eq);
    else c.get(reg(0)).op(W.i32_wrap_i64).get(L_T).op(W.i32_wrap_i64, W.i32_eq);
    c.if().get(L_K).get(rs).mem(store).end();
    c.get(L_T).set(reg(0));
    return;
  }
  c.get(L_K);
  if (base === 0xe0) c.get(rs);
  else {
    c.get(L_T).get(rs);
    c.op(base === 0x00 ? W.i64_add : base === 0x40 ? W.i64_or : base === 0x50 ? W.i64_and : W.i64_xor);
  }
  c.mem(store);
  if (kind & 0x01) c.get(L_T).set(rs);
}
