/**
 * The compiled tier's loop forms, emitted at a loop's head before its checked code: structured
 * copies of innermost call-free loops (LoopCopies: the budget checked once per pass, and a
 * counted number of passes with hoisted region checks) and fast self-loops (emitFastLoop). Which
 * accesses may run unchecked is decided in wasm-loop-plans.ts; why these forms exist is in
 * wasm-compiler.ts.
 */
import { W } from './wasm-encoder';
import {
  CLS_ALU, CLS_ALU64, CLS_JMP, CLS_JMP32, CLS_ST, CLS_STX, JMP_CALL, JMP_EXIT, LOAD_SIZE, OP, Opcode,
  cls as opClass, isWide, jmpOp, jumpTarget,
} from './opcodes';
import { deferredRegisters, rangeHoistPlan, type FastAccess, type RangeHoist } from './wasm-loop-plans';
import { LOAD_OP, emitAlu, emitCompare, emitStore, emitWideLoad } from './wasm-emit-insn';
import type { ModuleEmitter } from './wasm-module-emitter';
import { C_READ, C_WRITE, L_DISP, L_FLOOR, L_ITER, L_LEFT, L_LOOP_SCRATCH64, L_PTR, L_SCRATCH64, reg, sizeIndex } from './wasm-state';

/**
 * Loops [h, t] get structured copies up to this many instructions each, and (overlapping loops
 * can share blocks) all copies together at most the program's length.
 */
const MAX_COPY = 1024;

const internal = (tb: number): never => { throw new Error(`internal: loop copy jumps back to block ${tb}`); };

/** The structured loop copies of one program, within one budget of copied instructions. */
export class LoopCopies {
  /** Instructions the copies made so far may still add (the unchecked versions count too). */
  private copyBudget: number;

  constructor(private readonly e: ModuleEmitter) { this.copyBudget = Math.max(e.p.length, 64); }

  /**
   * The last block t > h of an innermost loop headed by block h that can run as a structured copy,
   * or −1: some block in [h, t] jumps back to h, no block in it calls, exits or jumps backward to
   * anything but h (an inner loop keeps its own fast form), it is at most MAX_COPY long, and h
   * does not jump to itself (a self-loop head keeps the self-loop form). Takes the copy's length
   * from the budget.
   */
  latch(h: number): number {
    const { p, blocks } = this.e, { starts, blockOf } = blocks;
    const t = blocks.lastBackEdge[h];
    if (blocks.selfLoop[h] || t <= h || blocks.end(t) - starts[h] > Math.min(MAX_COPY, this.copyBudget)) return -1;
    for (let x = h; x <= t; x++) {
      for (let pc = starts[x]; pc < blocks.end(x); pc += isWide(p.opcode[pc]) ? 2 : 1) {
        const op = p.opcode[pc], cls = opClass(op), code = jmpOp(op);
        if (cls !== CLS_JMP && cls !== CLS_JMP32) continue;
        if (code === JMP_CALL || code === JMP_EXIT) return -1; // calls, exit
        const tb = blockOf[jumpTarget(op, pc, p.offset[pc], p.imm[pc])];
        if (tb > h && tb <= x) return -1; // an inner back edge
      }
    }
    this.copyBudget -= blocks.end(t) - starts[h];
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
  emit(h: number, t: number): void {
    const { code: c, p, blocks } = this.e;
    const first = blocks.starts[h], end = blocks.end(t);
    let rangeLen = 0;
    for (let x = h; x <= t; x++) rangeLen += blocks.blockLen[x];
    const checked = { name: 'checked', h }, toCopy = { name: 'toCopy', h };
    // The unchecked version is a second copy: it too counts against the copy budget.
    const hoist = this.copyBudget >= end - first ? rangeHoistPlan(p, first, end) : null;
    if (hoist) this.copyBudget -= end - first;
    this.e.fastRanges.push([first, end, hoist?.accesses.length ?? 0]);
    c.block(checked);
    if (hoist) {
      // After each pass with checks (the caches may hold the regions now, or an edge is near),
      // back to the entry to bound the unchecked passes again.
      const entry = { name: 'E', h };
      c.loop(entry);
      c.block(toCopy);
      this.emitPassBound(hoist, toCopy);
      this.emitPasses(h, t, rangeLen, checked, null, toCopy, new Map(hoist.accesses.map((a, j) => [a.pc, L_DISP + j])));
      c.end(); // toCopy: one pass of the copy with checks follows
      this.emitPasses(h, t, rangeLen, checked, entry, null);
      c.end(); // entry
    } else this.emitPasses(h, t, rangeLen, checked, null, null);
    c.end(); // checked: the checked loop follows
  }

  /**
   * The passes of a loop copy: a wasm loop over blocks h..t, the budget checked once per pass.
   * `again`: where the back edge goes (default: this loop). With `unchecked`, the passes left in
   * L_FLOOR are counted down and run those accesses without checks; when they are used up, the
   * copy with checks (after `toCopy`) goes on.
   */
  private emitPasses(h: number, t: number, rangeLen: number, checked: unknown, again: unknown, toCopy: unknown, unchecked?: Map<number, number>): void {
    const e = this.e, c = e.code, blockLabels = e.blockLabels;
    const pass = { name: 'F', h };
    const back = again ?? pass;
    const forward: { name: string; x: number }[] = [];
    for (let x = h; x <= t; x++) forward[x] = { name: 'FB', x };
    c.loop(pass);
    c.get(L_LEFT).i64(rangeLen).op(W.i64_lt_s).brIf(checked);
    if (unchecked) {
      c.get(L_FLOOR).op(W.i64_eqz).brIf(toCopy);
      c.get(L_FLOOR).i64(1).op(W.i64_sub).set(L_FLOOR);
    }
    for (let x = t; x > h; x--) c.block(forward[x]);
    let falls = false;
    for (let x = h; x <= t; x++) {
      if (x > h) c.end(); // forward[x]: block x's copy follows
      falls = e.emitBody(x, (tb) => (tb === h ? back : tb > x && tb <= t ? forward[tb] : tb > t ? blockLabels[tb] : tb < h ? null : internal(tb)), false, unchecked);
    }
    // Leaving the range by falling off its last block: the checked code of the next block.
    if (falls) c.br(blockLabels[t + 1]);
    c.end(); // pass
  }

  /**
   * At a loop copy's entry: how many passes keep every hoisted access inside the region its
   * cache holds, into L_FLOOR (0 → `none`), and each access's buffer displacement into L_DISP+j.
   * In any pass an address register has moved from its entry value by at most passes·down and
   * passes·up (the sums of its negative and positive steps in the loop), in whatever order.
   */
  private emitPassBound(plan: RangeHoist, none: unknown): void {
    const c = this.e.code;
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
}

/**
 * The fast version of self-loop block `b` (see fastLoopPlan), emitted at the loop head: when
 * every access's first address hits its region cache, run the iterations that provably stay in
 * those regions and fit the budget without per-access checks, then fall into the checked loop,
 * which faults, bails or refills the caches exactly as before. An iteration that does not take
 * the closing jump leaves through `done`.
 */
export function emitFastLoop(e: ModuleEmitter, b: number, accesses: FastAccess[], done: unknown): void {
  const { code: c, p, opts, blocks } = e;
  const start = blocks.starts[b], end = blocks.end(b), len = blocks.blockLen[b];
  const counts = opts.countsOffset;
  const slow = { name: 'slow', b };
  const iteration = { name: 'F', b };
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
  if (counts === undefined) emitFastGroups(e, b, accesses, done);
  c.get(L_LEFT).get(L_FLOOR).op(W.i64_lt_s).brIf(slow);
  if (counts !== undefined) c.i32(0).set(L_ITER);
  c.loop(iteration);
  let j = 0, lastPc = start;
  for (let pc = start; pc < end; pc += isWide(p.opcode[pc]) ? 2 : 1) {
    lastPc = pc;
    const op = p.opcode[pc], d = p.dst[pc], s = p.src[pc], imm = p.imm[pc], cls = opClass(op);
    if (cls === CLS_ALU64 || cls === CLS_ALU) { emitAlu(c, op, d, s, p.offset[pc], imm); continue; }
    if (isWide(op)) { emitWideLoad(c, op, d, imm, p.imm[pc + 1], opts.dataBase, opts.rodataBase); continue; }
    if (LOAD_SIZE[op]) {
      c.get(reg(s)).op(W.i32_wrap_i64).get(L_DISP + j++).op(W.i32_add).mem(LOAD_OP[op]).set(reg(d));
      continue;
    }
    if (cls === CLS_ST || cls === CLS_STX) {
      c.get(reg(d)).op(W.i32_wrap_i64).get(L_DISP + j++).op(W.i32_add);
      emitStore(c, op, s, imm);
      continue;
    }
    // The closing jump back to the start.
    c.get(L_LEFT).i64(len).op(W.i64_sub).set(L_LEFT);
    if (counts !== undefined) c.get(L_ITER).i32(1).op(W.i32_add).set(L_ITER);
    if (op !== OP.JA && op !== OP.JA32) {
      emitCompare(c, op, d, s, imm);
      c.op(W.i32_eqz).if();
      if (counts !== undefined) foldFastCounts(e, b, 1, true);
      c.br(done).end();
    }
    c.get(L_LEFT).get(L_FLOOR).op(W.i64_ge_s).brIf(iteration);
  }
  c.end(); // iteration
  if (counts !== undefined) foldFastCounts(e, b, 0, !(p.opcode[lastPc] === OP.JA || p.opcode[lastPc] === OP.JA32));
  c.end(); // slow
}

/** Iterations per group of emitFastGroups. */
const UNROLL = 8;

/**
 * Before a fast self-loop's one-iteration-at-a-time loop: groups of UNROLL iterations, each
 * group run while all of its iterations stay under the floor the entry computed (budget and
 * regions). Inside a group the budget is taken once, every access goes through its buffer
 * address in the group's first iteration plus a constant (its base moves by a known stride), and
 * the registers deferredRegisters finds stay put: the closing jump's compare adds their movement
 * so far (or, for a counted loop, is not needed in the group at all), and at the group's end (or
 * where the loop leaves through `done`) they move by the iterations run. The one-at-a-time loop
 * after it takes the rest. Off when counting per block (countsOffset): its iteration counter is
 * per iteration. Eight per group: on a core whose sibling thread is busy, fewer instructions per
 * iteration measured 1.1× native C on Fletcher-32 where four with compares gave 1.4×.
 */
function emitFastGroups(e: ModuleEmitter, b: number, accesses: FastAccess[], done: unknown): void {
  const { code: c, p, opts, blocks } = e;
  const start = blocks.starts[b], end = blocks.end(b), len = blocks.blockLen[b];
  const delta = deferredRegisters(p, start, end);
  // Offsets within a group are memarg offsets (unsigned, below 2^31 here) from an in-region address.
  if (accesses.some((a) => Math.abs(a.stride) * (UNROLL - 1) >= 2 ** 31)) return;
  // A group's register movements are i64 constants: exact integers (a block of 2^20 steps of 2^31 is not).
  let travel = 0;
  for (let pc = start; pc < end; pc += isWide(p.opcode[pc]) ? 2 : 1) if (p.opcode[pc] === OP.ADD64_IMM || p.opcode[pc] === OP.SUB64_IMM) travel += Math.abs(p.imm[pc]);
  if (travel * UNROLL >= 2 ** 52) return;
  e.fastGroups.push(start);
  // A counted loop (`jne c, K` closing it, c deferred and stepping by ±1): a group in which the
  // counter cannot reach K runs with no compare at all, and the group in which it can is left to
  // the one-at-a-time loop. The counter is at K after m = c − K (down) or K − c (up) more steps.
  let last = start;
  for (let pc = start; pc < end; pc += isWide(p.opcode[pc]) ? 2 : 1) last = pc;
  const counter = p.opcode[last] === Opcode.JNE_IMM && Math.abs(delta[p.dst[last]] ?? 0) === 1 ? p.dst[last] : -1;
  const groups = { name: 'G', b }, rest = { name: 'Gx', b };
  // A group runs when its last iteration would: left − (UNROLL − 1)·len ≥ floor.
  c.get(L_FLOOR).i64((UNROLL - 1) * len).op(W.i64_add).set(L_LOOP_SCRATCH64);
  c.block(rest);
  c.loop(groups);
  c.get(L_LEFT).get(L_LOOP_SCRATCH64).op(W.i64_lt_s).brIf(rest);
  if (counter >= 0) { // (m − 1) mod 2^64 < UNROLL: the counter reaches K within this group
    const k = p.imm[last];
    if (delta[counter]! < 0) c.get(reg(counter)).i64(k + 1).op(W.i64_sub); else c.i64(k - 1).get(reg(counter)).op(W.i64_sub);
    c.i64(UNROLL).op(W.i64_lt_u).brIf(rest);
  }
  accesses.forEach((a, j) => {
    // The access's buffer address in the group's first iteration (last, for a downward stride).
    const first = a.partial + (a.stride < 0 ? (UNROLL - 1) * a.stride : 0);
    c.get(reg(a.base)).op(W.i32_wrap_i64).get(L_DISP + j).op(W.i32_add);
    if (first !== 0) c.i32(first | 0).op(W.i32_add);
    c.set(L_PTR + j);
  });
  const advance = (n: number): void => { // the deferred registers and the budget, by n iterations
    delta.forEach((k, r) => { if (k) c.get(reg(r)).i64(n * k).op(W.i64_add).set(reg(r)); });
    c.get(L_LEFT).i64(n * len).op(W.i64_sub).set(L_LEFT);
  };
  for (let k = 0; k < UNROLL; k++) {
    const moved = delta.map((m) => k * (m ?? 0)); // each deferred register's movement so far
    let j = 0;
    for (let pc = start; pc < end; pc += isWide(p.opcode[pc]) ? 2 : 1) {
      const op = p.opcode[pc], d = p.dst[pc], s = p.src[pc], imm = p.imm[pc], cls = opClass(op);
      if ((op === OP.ADD64_IMM || op === OP.SUB64_IMM) && delta[d] !== null) { moved[d] += op === OP.ADD64_IMM ? imm : -imm; continue; }
      if (cls === CLS_ALU64 || cls === CLS_ALU) { emitAlu(c, op, d, s, p.offset[pc], imm); continue; }
      if (isWide(op)) { emitWideLoad(c, op, d, imm, p.imm[pc + 1], opts.dataBase, opts.rodataBase); continue; }
      if (LOAD_SIZE[op] || cls === CLS_ST || cls === CLS_STX) {
        const a = accesses[j];
        c.get(L_PTR + j);
        const at = (a.stride < 0 ? UNROLL - 1 - k : k) * Math.abs(a.stride);
        j++;
        if (LOAD_SIZE[op]) c.mem(LOAD_OP[op], at).set(reg(d)); else emitStore(c, op, s, imm, at);
        continue;
      }
      if (op === OP.JA || op === OP.JA32 || counter >= 0) continue; // the closing jump, taken all through the group
      emitCompare(c, op, d, s, imm, (r) => moved[r]);
      c.op(W.i32_eqz).if();
      advance(k + 1);
      c.br(done).end();
    }
  }
  advance(UNROLL);
  c.br(groups);
  c.end(); // groups
  c.end(); // rest: one iteration at a time
}

/** Add the fast loop's iterations (L_ITER) to block b's entry and taken counters. */
function foldFastCounts(e: ModuleEmitter, b: number, exited: number, conditional: boolean): void {
  const c = e.code, counts = e.opts.countsOffset!;
  const at = counts + 4 * b, takenAt = counts + 4 * (e.blocks.count + b);
  c.i32(0).i32(0).mem(W.i32_load, at, 2).get(L_ITER).op(W.i32_add).mem(W.i32_store, at, 2);
  if (!conditional) return; // `ja` is not a taken conditional jump
  c.i32(0).i32(0).mem(W.i32_load, takenAt, 2).get(L_ITER).op(W.i32_add);
  if (exited) c.i32(exited).op(W.i32_sub);
  c.mem(W.i32_store, takenAt, 2);
}
