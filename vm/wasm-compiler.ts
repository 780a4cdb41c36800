/**
 * The compiled tier's translator: a verified program → one WebAssembly function with the eBPF
 * registers as i64 locals. Same semantics as interpreter.ts, instruction for instruction; the
 * differential tests hold the two together.
 *
 * Files: this one is the driver (basic blocks, block bodies, loop copies and fast self-loops, the
 * module); wasm-state.ts the fixed layout (state area, return codes, locals), wasm-code.ts the
 * instruction writer, wasm-loop-plans.ts which accesses a loop may run unchecked,
 * wasm-emit-insn.ts ALU, compare and atomic emission. Opcodes are named in opcodes.ts.
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
import { I32, I64, W, encodeModule, type FuncBody } from './wasm-encoder';
import {
  CALL_LOCAL, CLS_ALU, CLS_ALU64, CLS_JMP, CLS_JMP32, CLS_ST, CLS_STX, JMP_CALL, JMP_EXIT, LOAD_SIZE, OP, STORE_SIZE,
  cls as opClass, isWide, jmpOp, jumpTarget,
} from './opcodes';
import { isDivision } from './division';
import { FaultKind } from './fault-kinds';
import type { Program } from './program';
import { BasicBlocks } from './wasm-blocks';
import { Code } from './wasm-code';
import { fastLoopPlan, rangeHoistPlan, type FastAccess, type RangeHoist } from './wasm-loop-plans';
import { LOAD_OP, emitAlu, emitAtomic, emitCompare } from './wasm-emit-insn';
import {
  C_BAIL, C_EXIT, C_FAULT, C_READ, C_WRITE, FRAME_BYTES, F_HELPER, F_LOOKUP, H,
  LOCALS, L_ADDR, L_BRANCHES, L_DEPTH, L_DISP, L_FINFO, L_FLOOR, L_ITER, L_K, L_LEFT, L_OUTPC, L_STATUS, L_SCRATCH64, L_LOOP_SCRATCH64, L_SCRATCH32, P_BLOCK,
  reg, sizeIndex,
} from './wasm-state';

export { C_BAIL, C_EXIT, C_FAULT, C_SUSPEND, FRAME_BYTES, H, stateBytes } from './wasm-state';

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

/** Translate a verified rfc9669 program. Throws Error for anything it cannot take. */
export function compileToWasm(p: Program, opts: CompileOptions): CompiledModule {
  const n = p.length;
  const blocks = new BasicBlocks(p, opts.entries);
  const { starts, blockOf, blockLen, lastBackEdge, selfLoop } = blocks;
  const nb = blocks.count;
  const blockEnd = (b: number): number => blocks.end(b);

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
      ret(C_FAULT, pc, FaultKind.BranchBudget << 16);
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
        c.tee(L_SCRATCH32).if().i32(0).i32(0).mem(W.i32_load, at, 2).i32(1).op(W.i32_add).mem(W.i32_store, at, 2).end();
        c.get(L_SCRATCH32);
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
      c.tee(L_ADDR).get(cache.base).op(W.i64_sub).tee(L_SCRATCH64).get(cache.limit[sizeIndex(size)]).op(W.i64_lt_u, W.i32_eqz).if();
      lookup(size, write ? 2 : 1, idx, pc, write);
      c.i32(0).mem(W.i64_load, H.LK_BASE, 3).set(cache.base);
      c.i32(0).mem(W.i32_load, H.LK_OFF, 2).set(cache.off);
      for (let k = 0; k < 4; k++) c.i32(0).mem(W.i64_load, H.LK_LIMIT + 8 * k, 3).set(cache.limit[k]);
      c.get(L_ADDR).get(cache.base).op(W.i64_sub).set(L_SCRATCH64);
      c.end();
      c.get(L_SCRATCH64).op(W.i32_wrap_i64).get(cache.off).op(W.i32_add);
    };
    /** Host lookup of L_ADDR; faults (returns) when no region grants `perm`. */
    const lookup = (size: number, perm: number, idx: number, pc: number, write: boolean): void => {
      c.get(L_ADDR).i64(32).op(W.i64_shr_u, W.i64_eqz).if(null, I32);
      c.get(L_ADDR).op(W.i32_wrap_i64).i32(size).i32(perm).call(F_LOOKUP);
      c.else().i32(-1).end();
      c.i32(0).op(W.i32_lt_s).if();
      // Give back the instructions of this block after the faulting one.
      if (len - idx - 1 > 0) c.get(L_LEFT).i64(len - idx - 1).op(W.i64_add).set(L_LEFT);
      ret(C_FAULT, pc, (FaultKind.Mem << 16) | ((write ? 1 : 0) << 8) | size);
      c.end();
    };

    let idx = 0;
    let falls = true;
    for (let pc = start; pc < end; pc += isWide(p.opcode[pc]) ? 2 : 1, idx++) {
      const op = p.opcode[pc], d = p.dst[pc], s = p.src[pc], off = p.offset[pc], imm = p.imm[pc];
      const cls = opClass(op);
      if (cls === CLS_ALU64 || cls === CLS_ALU) {
        emitAlu(c, op, d, s, off, imm, opts.divZeroFaults && isDivision(op) ? () => {
          // Fault −9 at this instruction: give back the rest of the block, as for memory faults.
          if (len - idx - 1 > 0) c.get(L_LEFT).i64(len - idx - 1).op(W.i64_add).set(L_LEFT);
          ret(C_FAULT, pc, FaultKind.DivZero << 16);
        } : undefined);
        continue;
      }
      switch (op) {
        case OP.LDDW: c.i64Bits(imm, p.imm[pc + 1]).set(reg(d)); continue;
        case OP.LDDWD: case OP.LDDWR: {
          const v = BigInt.asUintN(64, BigInt(op === OP.LDDWD ? opts.dataBase : opts.rodataBase) + BigInt(imm) + (BigInt(p.imm[pc + 1]) << 32n));
          c.i64Bits(Number(v & 0xffffffffn), Number(v >> 32n)).set(reg(d));
          continue;
        }
        case OP.LDXW: case OP.LDXH: case OP.LDXB: case OP.LDXDW: case OP.LDXSW: case OP.LDXSH: case OP.LDXSB: {
          const size = LOAD_SIZE[op], ld = LOAD_OP[op];
          address(s, off, size, false, idx, pc);
          c.mem(ld).set(reg(d));
          continue;
        }
        case OP.STW: case OP.STH: case OP.STB: case OP.STDW: case OP.STXW: case OP.STXH: case OP.STXB: case OP.STXDW: {
          const size = STORE_SIZE[op];
          address(d, off, size, true, idx, pc);
          if (cls === 2) c.i64(imm); else c.get(reg(s));
          c.mem(size === 8 ? W.i64_store : size === 4 ? W.i64_store32 : size === 2 ? W.i64_store16 : W.i64_store8);
          continue;
        }
        case OP.ATOMIC_W: case OP.ATOMIC_DW: {
          const size = op === OP.ATOMIC_DW ? 8 : 4;
          c.get(reg(d)).i64(off).op(W.i64_add).set(L_ADDR);
          lookup(size, 3, idx, pc, true);
          emitAtomic(c, size, s, imm);
          continue;
        }
        case OP.JA: case OP.JA32: if (countBranches) spendBranch(pc); jump(jumpTarget(op, pc, off, imm)); falls = false; continue;
        case OP.EXIT: {
          c.get(L_DEPTH).op(W.i32_eqz).if();
          ret(C_EXIT, pc);
          c.end();
          c.get(L_DEPTH).i32(1).op(W.i32_sub).tee(L_DEPTH).i32(FRAME_BYTES).op(W.i32_mul).set(L_K);
          for (let r = 0; r < 5; r++) c.get(L_K).mem(W.i64_load, H.FRAMES + 8 + 8 * r, 3).set(reg(6 + r));
          c.get(L_K).mem(W.i32_load, H.FRAMES + 4, 2).set(P_BLOCK).br(L);
          falls = false;
          continue;
        }
        case OP.CALL: case OP.CALLX: {
          if (op === OP.CALL && s === CALL_LOCAL) {
            const t = jumpTarget(op, pc, off, imm);
            c.get(L_DEPTH).i32(opts.maxCallDepth).op(W.i32_ge_u).if();
            ret(C_FAULT, pc, FaultKind.CallDepth << 16);
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
          if (op === OP.CALL) c.i32(imm);
          else {
            c.get(reg(d)).i64(32).op(W.i64_shr_u, W.i64_eqz).if(null, I32);
            c.get(reg(d)).op(W.i32_wrap_i64).else().i32(-1).end();
          }
          c.i32(pc).call(F_HELPER).tee(L_SCRATCH32).if();
          c.get(L_SCRATCH32).op(W.return);
          c.end();
          c.i32(0).mem(W.i64_load, H.REGS, 3).set(reg(0));
          // The host may have remapped regions during the call: forget both region caches.
          for (const cache of [C_READ, C_WRITE]) for (const l of cache.limit) c.i64(0).set(l);
          continue;
        }
        default: {
          if (cls === CLS_JMP || cls === CLS_JMP32) { // conditional jumps
            emitCompare(c, op, d, s, imm);
            condJump(jumpTarget(op, pc, off, imm), pc);
            continue;
          }
          throw new Error(`compiled tier: opcode 0x${op.toString(16)} at pc ${pc} is not supported`);
        }
      }
    }
    return falls;
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
        const op = p.opcode[pc], cls = opClass(op), code = jmpOp(op);
        if (cls !== CLS_JMP && cls !== CLS_JMP32) continue;
        if (code === JMP_CALL || code === JMP_EXIT) return -1; // calls, exit
        const tb = blockOf[jumpTarget(op, pc, p.offset[pc], p.imm[pc])];
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
      c.get(cache.base).op(W.i64_sub).tee(L_LOOP_SCRATCH64).get(limit).op(W.i64_ge_u).brIf(none);
      const bound = (value: () => void, step: number): void => { // L_FLOOR = min(L_FLOOR, value / step)
        value();
        if ((step & (step - 1)) === 0) c.i64(31 - Math.clz32(step)).op(W.i64_shr_u); else c.i64(step).op(W.i64_div_u);
        c.tee(L_SCRATCH64).get(L_FLOOR).get(L_SCRATCH64).get(L_FLOOR).op(W.i64_lt_u, W.select).set(L_FLOOR);
      };
      if (up > 0) bound(() => c.get(limit).i64(1).op(W.i64_sub).get(L_LOOP_SCRATCH64).op(W.i64_sub), up);
      if (down > 0) bound(() => c.get(L_LOOP_SCRATCH64), down);
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
        c.get(cache.base).op(W.i64_sub).tee(L_LOOP_SCRATCH64).get(limit).op(W.i64_ge_u).brIf(slow);
        if (a.stride !== 0) {
          // Iterations after the first that stay inside: (limit − 1 − t) / stride, or t / −stride.
          if (a.stride > 0) c.get(limit).i64(1).op(W.i64_sub).get(L_LOOP_SCRATCH64).op(W.i64_sub);
          else c.get(L_LOOP_SCRATCH64);
          const s = Math.abs(a.stride);
          if ((s & (s - 1)) === 0) c.i64(31 - Math.clz32(s)).op(W.i64_shr_u);
          else c.i64(s).op(W.i64_div_u);
          // floor = max(floor, left − that·len): the loop goes on while left ≥ floor.
          c.i64(len).op(W.i64_mul).set(L_LOOP_SCRATCH64);
          c.get(L_LEFT).get(L_LOOP_SCRATCH64).op(W.i64_sub).tee(L_LOOP_SCRATCH64).get(L_FLOOR).get(L_LOOP_SCRATCH64).get(L_FLOOR).op(W.i64_gt_s, W.select).set(L_FLOOR);
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
        const op = p.opcode[pc], d = p.dst[pc], s = p.src[pc], imm = p.imm[pc], cls = opClass(op);
        if (cls === CLS_ALU64 || cls === CLS_ALU) { emitAlu(c, op, d, s, p.offset[pc], imm); continue; }
        if (op === OP.LDDW) { c.i64Bits(imm, p.imm[pc + 1]).set(reg(d)); continue; }
        if (op === OP.LDDWD || op === OP.LDDWR) {
          const v = BigInt.asUintN(64, BigInt(op === OP.LDDWD ? opts.dataBase : opts.rodataBase) + BigInt(imm) + (BigInt(p.imm[pc + 1]) << 32n));
          c.i64Bits(Number(v & 0xffffffffn), Number(v >> 32n)).set(reg(d));
          continue;
        }
        if (LOAD_SIZE[op]) {
          c.get(reg(s)).op(W.i32_wrap_i64).get(L_DISP + j++).op(W.i32_add).mem(LOAD_OP[op]).set(reg(d));
          continue;
        }
        if (cls === CLS_ST || cls === CLS_STX) {
          const size = STORE_SIZE[op];
          c.get(reg(d)).op(W.i32_wrap_i64).get(L_DISP + j++).op(W.i32_add);
          if (cls === 2) c.i64(imm); else c.get(reg(s));
          c.mem(size === 8 ? W.i64_store : size === 4 ? W.i64_store32 : size === 2 ? W.i64_store16 : W.i64_store8);
          continue;
        }
        // The closing jump back to the start.
        c.get(L_LEFT).i64(len).op(W.i64_sub).set(L_LEFT);
        if (counts !== undefined) c.get(L_ITER).i32(1).op(W.i32_add).set(L_ITER);
        if (op !== OP.JA && op !== OP.JA32) {
          emitCompare(c, op, d, s, imm);
          c.op(W.i32_eqz).if();
          if (counts !== undefined) foldFastCounts(1, true);
          c.br(done).end();
        }
        c.get(L_LEFT).get(L_FLOOR).op(W.i64_ge_s).brIf(F);
      }
      c.end(); // F
      if (counts !== undefined) foldFastCounts(0, !(p.opcode[lastPc] === OP.JA || p.opcode[lastPc] === OP.JA32));
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
  c.i32(0).get(L_ADDR).mem(W.i64_store, H.FAULT_ADDR, 3);
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

