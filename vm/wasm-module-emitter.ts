/**
 * The compiled tier's `run` function: the prologue, the dispatch loop over nested blocks, each
 * block's checked code (budget, region checks, jumps, calls, exits) and the epilogue every way
 * out shares. The shape of the function is described in wasm-compiler.ts; loop copies and fast
 * self-loops come from wasm-emit-loops.ts.
 */
import { I32, I64, W, type FuncBody } from './wasm-encoder';
import {
  CALL_LOCAL, CLS_ALU, CLS_ALU64, CLS_JMP, CLS_JMP32, LOAD_SIZE, OP, STORE_SIZE, cls as opClass, isWide, jumpTarget,
} from './opcodes';
import { isDivision } from './division';
import { FaultKind } from './fault-kinds';
import type { Program } from './program';
import type { BasicBlocks } from './wasm-blocks';
import type { CompileOptions } from './wasm-compiler';
import { Code } from './wasm-code';
import { fastLoopPlan } from './wasm-loop-plans';
import { LOAD_OP, emitAlu, emitAtomic, emitCompare, emitStore, emitWideLoad } from './wasm-emit-insn';
import { LoopCopies, emitFastLoop } from './wasm-emit-loops';
import {
  C_BAIL, C_EXIT, C_FAULT, C_READ, C_WRITE, FRAME_BYTES, F_HELPER, F_LOOKUP, H,
  LOCALS, L_ADDR, L_BRANCHES, L_DEPTH, L_FINFO, L_K, L_LEFT, L_OUTPC, L_STATUS, L_SCRATCH64, L_SCRATCH32, P_BLOCK,
  reg, sizeIndex,
} from './wasm-state';

/** The label a jump to block `tb` branches to, or null for the dispatcher (set P_BLOCK, go round). */
export type JumpResolver = (tb: number) => unknown;

/** The block emitBody is writing and how its jumps and accesses go. */
interface BlockContext {
  b: number;
  /** Instructions in the block (what its entry takes from the budget). */
  len: number;
  resolve: JumpResolver;
  /** Accesses (by pc) proved in their region, with the local holding their buffer displacement. */
  unchecked?: Map<number, number>;
}

/** Writes the `run` function of one program; its fields are what the emitting methods share. */
export class ModuleEmitter {
  readonly code = new Code();
  /** The dispatch loop: a jump with no nearer label sets P_BLOCK and goes round its br_table. */
  readonly dispatch = { name: 'L' };
  /** One label per block: a branch to blockLabels[b] lands at the start of block b's checked code. */
  readonly blockLabels: { name: string; s: number }[];
  /** Every way out branches here, to the epilogue (spill registers, report), which keeps each exit short. */
  private readonly epilogue = { name: 'X' };
  /** RIOT's taken-branch budget (riot-2022) is kept in a local. */
  readonly countBranches: boolean;
  /** First instruction of each self-loop that got a fast version. */
  readonly fastLoops: number[] = [];
  /** First instruction of each fast self-loop that also runs in unrolled groups. */
  readonly fastGroups: number[] = [];
  /** [first, end) of each loop that got a structured copy, and how many of its accesses run unchecked. */
  readonly fastRanges: [number, number, number][] = [];
  private readonly loopCopies: LoopCopies;

  constructor(readonly p: Program, readonly opts: CompileOptions, readonly blocks: BasicBlocks) {
    this.blockLabels = blocks.starts.map((s) => ({ name: 'B', s }));
    this.countBranches = opts.countBranches === true;
    this.loopCopies = new LoopCopies(this);
  }

  /** The whole `run` function. */
  emitRun(): FuncBody {
    const c = this.code, nb = this.blocks.count;
    // Prologue: registers and depth from the state area, empty region caches.
    for (let r = 0; r <= 10; r++) c.i32(0).mem(W.i64_load, H.REGS + 8 * r, 3).set(reg(r));
    c.i32(0).mem(W.i64_load, H.LEFT, 3).set(L_LEFT);
    c.i32(0).mem(W.i32_load, H.DEPTH, 2).set(L_DEPTH);
    if (this.countBranches) c.i32(0).mem(W.i64_load, H.BRANCHES, 3).set(L_BRANCHES);
    // Region caches start empty: all limits 0 (locals are zero-initialised).

    c.block(this.epilogue);
    c.loop(this.dispatch);
    for (let b = nb - 1; b >= 0; b--) c.block(this.blockLabels[b]);
    c.get(P_BLOCK).brTable(this.blockLabels, this.blockLabels[0]);
    for (let b = 0; b < nb; b++) this.emitBlock(b);
    c.end(); // loop
    c.op(W.unreachable);
    c.end(); // the epilogue
    c.i32(0).get(L_OUTPC).mem(W.i32_store, H.PC, 2);
    c.get(L_FINFO).if();
    c.i32(0).get(L_ADDR).mem(W.i64_store, H.FAULT_ADDR, 3);
    c.i32(0).get(L_FINFO).i32(0xff).op(W.i32_and).mem(W.i32_store, H.FAULT_SIZE, 2);
    c.i32(0).get(L_FINFO).i32(8).op(W.i32_shr_u).i32(1).op(W.i32_and).mem(W.i32_store, H.FAULT_WRITE, 2);
    c.i32(0).get(L_FINFO).i32(16).op(W.i32_shr_u).mem(W.i32_store, H.FAULT_KIND, 2);
    c.end();
    this.spill();
    c.get(L_STATUS);
    c.op(W.end);
    return {
      type: { params: [I32], results: [I32] },
      locals: this.countBranches ? [...LOCALS, I64] : LOCALS,
      code: c.w.toBytes(),
      export: 'run',
    };
  }

  /** Block b after its label closes: a loop copy if it heads one, the fast self-loop, the checked code. */
  private emitBlock(b: number): void {
    const c = this.code, { p, blocks } = this;
    c.end(); // closes blockLabels[b]: its code follows
    const start = blocks.starts[b], end = blocks.end(b);
    // A block that jumps back to its own start gets its own loop.
    const self = blocks.selfLoop[b] === 1;
    const selfLabel = { name: 'S', b };
    // The loop copies check the budget once per pass and skip per-jump work: not with RIOT's
    // taken-branch budget or division faults, whose fault points are per instruction.
    const plainBlocks = this.countBranches || this.opts.divZeroFaults === true;
    const latch = plainBlocks ? -1 : this.loopCopies.latch(b);
    if (latch > b) this.loopCopies.emit(b, latch);
    const fast = self && !plainBlocks ? fastLoopPlan(p, start, end) : null;
    if (fast) this.fastLoops.push(start);
    const done = { name: 'done', b };
    if (fast) c.block(done);
    if (self) c.loop(selfLabel);
    if (fast) emitFastLoop(this, b, fast, done);
    const fallsOut = this.emitBody(b, (tb) => (tb > b ? this.blockLabels[tb] : tb === b && self ? selfLabel : null), true);
    // Only riot-2022's "no return" programs can run off the end: the interpreter's sentinel
    // faults there (or the budget ends first), exactly.
    if (b === blocks.count - 1 && fallsOut) this.ret(C_BAIL, p.length);
    if (self) c.end();
    if (fast) c.end();
  }

  /** Store registers, depth and budget into the state area (before returning to the host). */
  private spill(): void {
    const c = this.code;
    for (let r = 0; r <= 10; r++) c.i32(0).get(reg(r)).mem(W.i64_store, H.REGS + 8 * r, 3);
    c.i32(0).get(L_DEPTH).mem(W.i32_store, H.DEPTH, 2);
    c.i32(0).get(L_LEFT).mem(W.i64_store, H.LEFT, 3);
    if (this.countBranches) c.i32(0).get(L_BRANCHES).mem(W.i64_store, H.BRANCHES, 3);
  }

  /** Leave with `status` at `pc`; `finfo` = fault kind << 16 | write << 8 | size, for faults. */
  private ret(status: number, pc: number, finfo = 0): void {
    this.code.i32(status).set(L_STATUS).i32(pc).set(L_OUTPC);
    if (finfo) this.code.i32(finfo).set(L_FINFO);
    this.code.br(this.epilogue);
  }

  /**
   * The code of block `b`. `resolve` gives the label a jump to block `tb` branches to, or null
   * for the dispatcher (set P_BLOCK, go round the dispatch loop). `checkBudget`: bail when the
   * block does not fit in the budget left; false only inside a fast loop copy, whose head made
   * sure a whole pass fits. `unchecked`: accesses (by pc) already proved in their region, with the
   * local holding their displacement into the buffer. Returns whether the block can fall through
   * to the next one.
   */
  emitBody(b: number, resolve: JumpResolver, checkBudget: boolean, unchecked?: Map<number, number>): boolean {
    const c = this.code, p = this.p;
    const start = this.blocks.starts[b], end = this.blocks.end(b);
    const len = this.blocks.blockLen[b];
    const counts = this.opts.countsOffset;
    if (checkBudget) {
      // Bail to the interpreter when this block does not fit in what is left.
      c.get(L_LEFT).i64(len).op(W.i64_sub).tee(L_LEFT).i64(0).op(W.i64_lt_s).if();
      c.get(L_LEFT).i64(len).op(W.i64_add).set(L_LEFT);
      this.ret(C_BAIL, start);
      c.end();
    } else c.get(L_LEFT).i64(len).op(W.i64_sub).set(L_LEFT);
    if (counts !== undefined) {
      c.i32(0).i32(0).mem(W.i32_load, counts + 4 * b, 2).i32(1).op(W.i32_add).mem(W.i32_store, counts + 4 * b, 2);
    }
    const block: BlockContext = { b, len, resolve, unchecked };
    let idx = 0;
    let falls = true;
    for (let pc = start; pc < end; pc += isWide(p.opcode[pc]) ? 2 : 1, idx++) {
      if (!this.emitInstruction(block, pc, idx)) falls = false;
    }
    return falls;
  }

  /** Instruction `pc`, the `idx`-th of its block. Returns false when it never falls through. */
  private emitInstruction(block: BlockContext, pc: number, idx: number): boolean {
    const c = this.code, p = this.p, opts = this.opts;
    const op = p.opcode[pc], d = p.dst[pc], s = p.src[pc], off = p.offset[pc], imm = p.imm[pc];
    const cls = opClass(op);
    if (cls === CLS_ALU64 || cls === CLS_ALU) {
      emitAlu(c, op, d, s, off, imm, opts.divZeroFaults && isDivision(op) ? () => {
        // Fault −9 at this instruction: give back the rest of the block, as for memory faults.
        this.giveBackRest(block, idx);
        this.ret(C_FAULT, pc, FaultKind.DivZero << 16);
      } : undefined);
      return true;
    }
    switch (op) {
      case OP.LDDW: case OP.LDDWD: case OP.LDDWR:
        emitWideLoad(c, op, d, imm, p.imm[pc + 1], opts.dataBase, opts.rodataBase);
        return true;
      case OP.LDXW: case OP.LDXH: case OP.LDXB: case OP.LDXDW: case OP.LDXSW: case OP.LDXSH: case OP.LDXSB: {
        const size = LOAD_SIZE[op], ld = LOAD_OP[op];
        this.address(block, s, off, size, false, idx, pc);
        c.mem(ld).set(reg(d));
        return true;
      }
      case OP.STW: case OP.STH: case OP.STB: case OP.STDW: case OP.STXW: case OP.STXH: case OP.STXB: case OP.STXDW: {
        this.address(block, d, off, STORE_SIZE[op], true, idx, pc);
        emitStore(c, op, s, imm);
        return true;
      }
      case OP.ATOMIC_W: case OP.ATOMIC_DW: {
        const size = op === OP.ATOMIC_DW ? 8 : 4;
        c.get(reg(d)).i64(off).op(W.i64_add).set(L_ADDR);
        this.lookup(block, size, 3, idx, pc, true);
        emitAtomic(c, size, s, imm);
        return true;
      }
      case OP.JA: case OP.JA32:
        if (this.countBranches) this.spendBranch(pc);
        this.jump(block, jumpTarget(op, pc, off, imm));
        return false;
      case OP.EXIT: this.emitExit(pc); return false;
      case OP.CALL: case OP.CALLX: {
        if (op === OP.CALL && s === CALL_LOCAL) { this.emitLocalCall(block, pc); return false; }
        this.emitHelperCall(pc);
        return true;
      }
      default: {
        if (cls === CLS_JMP || cls === CLS_JMP32) { // conditional jumps
          emitCompare(c, op, d, s, imm);
          this.condJump(block, jumpTarget(op, pc, off, imm), pc);
          return true;
        }
        throw new Error(`compiled tier: opcode 0x${op.toString(16)} at pc ${pc} is not supported`);
      }
    }
  }

  /** `exit`: back to the host at depth 0, else pop a frame and go round to the return block. */
  private emitExit(pc: number): void {
    const c = this.code;
    c.get(L_DEPTH).op(W.i32_eqz).if();
    this.ret(C_EXIT, pc);
    c.end();
    c.get(L_DEPTH).i32(1).op(W.i32_sub).tee(L_DEPTH).i32(FRAME_BYTES).op(W.i32_mul).set(L_K);
    for (let r = 0; r < 5; r++) c.get(L_K).mem(W.i64_load, H.FRAMES + 8 + 8 * r, 3).set(reg(6 + r));
    c.get(L_K).mem(W.i32_load, H.FRAMES + 4, 2).set(P_BLOCK).br(this.dispatch);
  }

  /** A local call at `pc`: push a frame (return pc and block, r6–r9, r10), move r10 down, jump. */
  private emitLocalCall(block: BlockContext, pc: number): void {
    const c = this.code, p = this.p;
    const t = jumpTarget(p.opcode[pc], pc, p.offset[pc], p.imm[pc]);
    c.get(L_DEPTH).i32(this.opts.maxCallDepth).op(W.i32_ge_u).if();
    this.ret(C_FAULT, pc, FaultKind.CallDepth << 16);
    c.end();
    c.get(L_DEPTH).i32(FRAME_BYTES).op(W.i32_mul).set(L_K);
    c.get(L_K).i32(pc + 1).mem(W.i32_store, H.FRAMES, 2);
    c.get(L_K).i32(this.blocks.blockOf[pc + 1]).mem(W.i32_store, H.FRAMES + 4, 2);
    for (let r = 0; r < 5; r++) c.get(L_K).get(reg(6 + r)).mem(W.i64_store, H.FRAMES + 8 + 8 * r, 3);
    c.get(L_DEPTH).i32(1).op(W.i32_add).set(L_DEPTH);
    c.get(reg(10)).i64(this.opts.frameSize).op(W.i64_sub).set(reg(10));
    this.jump(block, t);
  }

  /** Helper call: everything spilled so the host sees (and can suspend) the full state. */
  private emitHelperCall(pc: number): void {
    const c = this.code, op = this.p.opcode[pc];
    c.i32(0).i32(pc + 1).mem(W.i32_store, H.PC, 2);
    this.spill();
    if (op === OP.CALL) c.i32(this.p.imm[pc]);
    else {
      const d = this.p.dst[pc];
      c.get(reg(d)).i64(32).op(W.i64_shr_u, W.i64_eqz).if(null, I32);
      c.get(reg(d)).op(W.i32_wrap_i64).else().i32(-1).end();
    }
    c.i32(pc).call(F_HELPER).tee(L_SCRATCH32).if();
    c.get(L_SCRATCH32).op(W.return);
    c.end();
    c.i32(0).mem(W.i64_load, H.REGS, 3).set(reg(0));
    // The host may have remapped regions during the call: forget both region caches.
    for (const cache of [C_READ, C_WRITE]) for (const l of cache.limit) c.i64(0).set(l);
  }

  /** A fault at the `idx`-th instruction gives back the instructions of its block after it. */
  private giveBackRest(block: BlockContext, idx: number): void {
    const rest = block.len - idx - 1;
    if (rest > 0) this.code.get(L_LEFT).i64(rest).op(W.i64_add).set(L_LEFT);
  }

  /** Jump to instruction `t` (a leader). */
  private jump(block: BlockContext, t: number): void {
    const tb = this.blocks.blockOf[t], label = block.resolve(tb);
    if (label) this.code.br(label);
    else this.code.i32(tb).set(P_BLOCK).br(this.dispatch);
  }

  /**
   * A taken jump at `pc` (the block's last instruction) spends one taken branch; with none left
   * it faults there, as the interpreter does after applying the jump (registers are unchanged).
   */
  private spendBranch(pc: number): void {
    const c = this.code;
    c.get(L_BRANCHES).i64(1).op(W.i64_sub).tee(L_BRANCHES).i64(0).op(W.i64_lt_s).if();
    this.ret(C_FAULT, pc, FaultKind.BranchBudget << 16);
    c.end();
  }

  /** A conditional jump to `t` at `pc`, its condition (i32) on the stack. */
  private condJump(block: BlockContext, t: number, pc: number): void {
    const c = this.code, tb = this.blocks.blockOf[t], counts = this.opts.countsOffset;
    const takenAt = counts === undefined ? 0 : counts + 4 * (this.blocks.count + block.b);
    if (this.countBranches) {
      c.if();
      if (counts !== undefined) c.i32(0).i32(0).mem(W.i32_load, takenAt, 2).i32(1).op(W.i32_add).mem(W.i32_store, takenAt, 2);
      this.spendBranch(pc);
      this.jump(block, t);
      c.end();
      return;
    }
    if (counts !== undefined) {
      c.tee(L_SCRATCH32).if().i32(0).i32(0).mem(W.i32_load, takenAt, 2).i32(1).op(W.i32_add).mem(W.i32_store, takenAt, 2).end();
      c.get(L_SCRATCH32);
    }
    const label = block.resolve(tb);
    if (label) c.brIf(label);
    else { c.if(); c.i32(tb).set(P_BLOCK).br(this.dispatch); c.end(); }
  }

  /** Region-checked address of [reg + off, +size) → i32 buffer address on the stack. */
  private address(block: BlockContext, base: number, off: number, size: number, write: boolean, idx: number, pc: number): void {
    const c = this.code;
    const disp = block.unchecked?.get(pc);
    if (disp !== undefined) { // proved in region at the loop copy's entry (LoopCopies.emit)
      c.get(reg(base)).op(W.i32_wrap_i64).get(disp).op(W.i32_add);
      return;
    }
    const cache = write ? C_WRITE : C_READ;
    c.get(reg(base));
    if (off !== 0) c.i64(off).op(W.i64_add);
    c.tee(L_ADDR).get(cache.base).op(W.i64_sub).tee(L_SCRATCH64).get(cache.limit[sizeIndex(size)]).op(W.i64_lt_u, W.i32_eqz).if();
    this.lookup(block, size, write ? 2 : 1, idx, pc, write);
    c.i32(0).mem(W.i64_load, H.LK_BASE, 3).set(cache.base);
    c.i32(0).mem(W.i32_load, H.LK_OFF, 2).set(cache.off);
    for (let k = 0; k < 4; k++) c.i32(0).mem(W.i64_load, H.LK_LIMIT + 8 * k, 3).set(cache.limit[k]);
    c.get(L_ADDR).get(cache.base).op(W.i64_sub).set(L_SCRATCH64);
    c.end();
    c.get(L_SCRATCH64).op(W.i32_wrap_i64).get(cache.off).op(W.i32_add);
  }

  /** Host lookup of L_ADDR; faults (returns) when no region grants `perm`. */
  private lookup(block: BlockContext, size: number, perm: number, idx: number, pc: number, write: boolean): void {
    const c = this.code;
    c.get(L_ADDR).i64(32).op(W.i64_shr_u, W.i64_eqz).if(null, I32);
    c.get(L_ADDR).op(W.i32_wrap_i64).i32(size).i32(perm).call(F_LOOKUP);
    c.else().i32(-1).end();
    c.i32(0).op(W.i32_lt_s).if();
    // Give back the instructions of this block after the faulting one.
    this.giveBackRest(block, idx);
    this.ret(C_FAULT, pc, (FaultKind.Mem << 16) | ((write ? 1 : 0) << 8) | size);
    c.end();
  }
}
