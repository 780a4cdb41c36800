/**
 * Runs a Machine on the compiled tier: instantiates the WebAssembly module from wasm-compiler.ts
 * against the container's memory (moved into a WebAssembly.Memory), and moves the run state —
 * registers, pc, call frames, budget — between the Machine and the module's state area on the
 * way in and out, so that the interpreter can take over at any exit (a bail near the end of the
 * budget, a resumed suspension) and the host never sees which tier ran.
 */
import { C_BAIL, C_EXIT, C_FAULT, C_SUSPEND, FRAME_BYTES, H, compileToWasm, stateBytes, type CompileOptions, type CompiledModule } from './wasm-compiler';
import { FaultKind } from './fault-kinds';
import { Machine, STATUS_EXIT, STATUS_FAULT, STATUS_SUSPEND, execute, type HelperDispatch, type Status } from './interpreter';
import type { Memory } from './memory';
import type { Program } from './program';
import { isWide } from './opcodes';

const TWO32 = 4294967296;
/**
 * Instructions per call into the module. A long run is cut into calls of this size because V8
 * moves a WebAssembly function from its baseline compiler to its optimising one only between
 * calls (no on-stack replacement for wasm): the first call of a billion-instruction run would
 * otherwise stay in baseline code to the end.
 */
const CHUNK = 1 << 24;

/**
 * Translates a program's text to a module somewhere else (a host's worker thread: vm/ itself has
 * no threads), so that a cold translation never holds the caller's event loop.
 */
export type Translator = (text: Uint8Array, opts: CompileOptions) => Promise<CompiledModule>;

/** A module translated and compiled ahead of instantiation (see compileAsync). */
export interface Precompiled { mod: CompiledModule; module: WebAssembly.Module; ms: number }

export class CompiledTier {
  readonly blockOf: Int32Array;
  /** Set when the compiled code failed in a way it never should; the Vm then stays interpreted. */
  broken: string | undefined;
  private readonly blockLen: Int32Array;
  /** Milliseconds spent translating and compiling the module. */
  readonly compileMs: number;
  readonly moduleBytes: number;
  private readonly runFn: (block: number) => number;

  /** Byte offset of the per-block counters, when counting for the cost model. */
  private readonly countsAt: number | undefined;
  /** The module keeps RIOT's taken-branch budget (CompileOptions.countBranches). */
  readonly countsBranches: boolean;
  private readonly starts: Int32Array;

  /**
   * Translate and compile off the calling thread's critical path (browsers refuse synchronous
   * compilation of modules over 4 KB on their main thread); pass the result to the constructor.
   */
  static async compileAsync(program: Program, counting: boolean, opts: CompileOptions, translate?: Translator): Promise<Precompiled> {
    const t0 = now();
    const o = { ...opts, countsOffset: counting ? stateBytes(opts.maxCallDepth) : undefined };
    const mod = translate ? await translate(program.text, o) : compileToWasm(program, o);
    const module = await WebAssembly.compile(mod.bytes);
    return { mod, module, ms: now() - t0 };
  }

  constructor(private readonly program: Program, private readonly mem: Memory, private readonly m: Machine, dispatch: HelperDispatch,
    opts: CompileOptions, pre?: Precompiled) {
    const t0 = now();
    const counting = m.counts !== null;
    const blocksMax = program.length; // upper bound on the number of blocks
    this.countsAt = counting ? stateBytes(opts.maxCallDepth) : undefined;
    const mod = pre?.mod ?? compileToWasm(program, { ...opts, countsOffset: this.countsAt });
    const module = pre?.module ?? new WebAssembly.Module(mod.bytes);
    const reserve = stateBytes(opts.maxCallDepth) + (counting ? 8 * blocksMax : 0);
    const memory = mem.useWasmMemory((reserve + 63) & ~63);
    this.starts = new Int32Array(mod.blockCount);
    for (let pc = 0; pc < mod.blockOf.length; pc++) if (mod.blockOf[pc] >= 0) this.starts[mod.blockOf[pc]] = pc;
    const instance = new WebAssembly.Instance(module, {
      env: {
        memory,
        helper: (id: number, pc: number): number => this.helper(dispatch, id, pc),
        lookup: (a: number, n: number, perm: number): number => this.lookup(a >>> 0, n, perm),
      },
    });
    this.runFn = instance.exports.run as (block: number) => number;
    this.countsBranches = opts.countBranches === true;
    this.blockOf = mod.blockOf;
    this.blockLen = mod.blockLen;
    this.moduleBytes = mod.bytes.length;
    this.compileMs = (pre?.ms ?? 0) + now() - t0;
  }

  /** Whether a run can enter compiled code at the Machine's current state. */
  canEnter(): boolean {
    const m = this.m;
    if (m.pc >= this.blockOf.length || this.blockOf[m.pc] < 0) return false;
    for (let k = 0; k < m.depth; k++) if (this.blockOf[m.framePc[k]] < 0) return false;
    return true;
  }

  /**
   * Instructions from `pc` (inside a block) to the next block start: a run paused inside a block
   * gets there on the interpreter before it can enter compiled code again.
   */
  insnsToBlockStart(pc: number): number {
    const op = this.program.opcode;
    let n = 0;
    while (pc < this.blockOf.length && this.blockOf[pc] < 0) { n++; pc += isWide(op[pc]) ? 2 : 1; }
    return Math.max(1, n);
  }

  /** Run from m.pc with `budget` instructions; finishes on the interpreter after a bail. */
  run(budget: number, branchBudget: number): Status {
    const m = this.m;
    // A module that does not count taken branches cannot keep a limited branch budget.
    if (!this.countsBranches && branchBudget !== Number.MAX_SAFE_INTEGER) return execute(m, budget, branchBudget);
    const dv = this.mem.dv;
    if (this.countsBranches) {
      dv.setInt32(H.BRANCHES, branchBudget % TWO32 | 0, true);
      dv.setInt32(H.BRANCHES + 4, Math.floor(branchBudget / TWO32), true);
    }
    for (let r = 0; r <= 10; r++) { dv.setInt32(H.REGS + 8 * r, m.lo[r], true); dv.setInt32(H.REGS + 8 * r + 4, m.hi[r], true); }
    dv.setInt32(H.DEPTH, m.depth, true);
    for (let k = 0; k < m.depth; k++) {
      const f = H.FRAMES + k * FRAME_BYTES;
      dv.setInt32(f, m.framePc[k], true);
      dv.setInt32(f + 4, this.blockOf[m.framePc[k]], true);
      for (let r = 0; r < 5; r++) {
        dv.setInt32(f + 8 + 8 * r, m.frameRegs[k * 10 + 2 * r], true);
        dv.setInt32(f + 12 + 8 * r, m.frameRegs[k * 10 + 2 * r + 1], true);
      }
    }
    let remaining = budget;
    let block = this.blockOf[m.pc];
    let code: number;
    for (;;) {
      const slice = Math.min(remaining, CHUNK);
      const dvs = this.mem.dv; // a helper may have grown the memory
      dvs.setInt32(H.LEFT, slice % TWO32 | 0, true);
      dvs.setInt32(H.LEFT + 4, Math.floor(slice / TWO32), true);
      try {
        code = this.runFn(block);
      } catch (e) {
        // Defence in depth: the module's own checks make an engine trap impossible, but if one
        // ever happened it must not escape the VM. Report it as a fault and stop using this tier.
        this.broken = `the compiled code trapped (${e instanceof Error ? e.message : String(e)})`;
        m.faultKind = FaultKind.Illegal;
        m.faultPc = m.pc;
        m.executed = budget - remaining;
        return STATUS_FAULT;
      }
      const d1 = this.mem.dv;
      const leftInSlice = d1.getInt32(H.LEFT + 4, true) * TWO32 + (d1.getInt32(H.LEFT, true) >>> 0);
      remaining -= slice - leftInSlice;
      if (code !== C_BAIL) break;
      // A bail only because the slice ran out: the state area already holds the state, go on.
      // (A bail past the end — a riot-2022 "no return" program running off it — is the
      // interpreter's to finish.)
      const at = d1.getInt32(H.PC, true);
      if (at >= this.blockOf.length) break;
      block = this.blockOf[at];
      if (remaining < this.blockLen[block]) break;
    }
    const d = this.mem.dv;
    d.setInt32(H.LEFT, remaining % TWO32 | 0, true);
    d.setInt32(H.LEFT + 4, Math.floor(remaining / TWO32), true);
    for (let r = 0; r <= 10; r++) { m.lo[r] = d.getInt32(H.REGS + 8 * r, true); m.hi[r] = d.getInt32(H.REGS + 8 * r + 4, true); }
    m.depth = d.getInt32(H.DEPTH, true);
    for (let k = 0; k < m.depth; k++) {
      const f = H.FRAMES + k * FRAME_BYTES;
      m.framePc[k] = d.getInt32(f, true);
      for (let r = 0; r < 5; r++) {
        m.frameRegs[k * 10 + 2 * r] = d.getInt32(f + 8 + 8 * r, true);
        m.frameRegs[k * 10 + 2 * r + 1] = d.getInt32(f + 12 + 8 * r, true);
      }
    }
    const left = d.getInt32(H.LEFT + 4, true) * TWO32 + (d.getInt32(H.LEFT, true) >>> 0);
    m.branchBudget = this.countsBranches ? d.getInt32(H.BRANCHES + 4, true) * TWO32 + (d.getInt32(H.BRANCHES, true) >>> 0) : branchBudget;
    m.pc = d.getInt32(H.PC, true);
    m.executed = budget - left;
    if (this.countsAt !== undefined) this.foldCounts(code === C_FAULT ? m.pc : -1);
    switch (code) {
      case C_EXIT:
        m.budget = left;
        return STATUS_EXIT;
      case C_SUSPEND:
        m.budget = left;
        return STATUS_SUSPEND;
      case C_FAULT: {
        m.faultPc = m.pc;
        m.budget = left;
        const kind = d.getInt32(H.FAULT_KIND, true) as FaultKind;
        if (kind !== FaultKind.Helper) m.faultKind = kind;
        if (kind === FaultKind.Mem) {
          m.faultAddress = (BigInt(d.getUint32(H.FAULT_ADDR + 4, true)) << 32n) | BigInt(d.getUint32(H.FAULT_ADDR, true));
          m.faultSize = d.getInt32(H.FAULT_SIZE, true);
          m.faultWrite = d.getInt32(H.FAULT_WRITE, true) !== 0;
        }
        return STATUS_FAULT;
      }
      case C_BAIL: {
        // Less budget left than the next block needs: the interpreter finishes exactly.
        const before = m.executed;
        const st = execute(m, left, m.branchBudget);
        m.executed += before;
        return st;
      }
      default:
        throw new Error(`compiled tier returned ${code}`);
    }
  }

  /**
   * Add the module's block counters into the Machine's per-instruction counts (and reset them).
   * A fault in the middle of a block counted the rest of that block: take those back.
   */
  private foldCounts(faultPc: number): void {
    const m = this.m, counts = m.counts!, taken = m.taken!, d = this.mem.dv, at = this.countsAt!;
    const nb = this.starts.length, n = this.program.length, op = this.program.opcode;
    for (let b = 0; b < nb; b++) {
      const k = d.getInt32(at + 4 * b, true);
      const t = d.getInt32(at + 4 * (nb + b), true);
      if (k === 0 && t === 0) continue;
      d.setInt32(at + 4 * b, 0, true);
      d.setInt32(at + 4 * (nb + b), 0, true);
      const end = b + 1 < nb ? this.starts[b + 1] : n;
      let last = this.starts[b];
      for (let pc = this.starts[b]; pc < end; pc += isWide(op[pc]) ? 2 : 1) { counts[pc] += k; last = pc; }
      taken[last] += t;
    }
    if (faultPc >= 0 && faultPc < n && this.blockOf[faultPc] < 0) {
      // Not a block start: walk back to the block's start, then undo the instructions after faultPc.
      let s = faultPc;
      while (s > 0 && this.blockOf[s] < 0) s--;
      const b = this.blockOf[s];
      const end = b + 1 < nb ? this.starts[b + 1] : n;
      let pc = s;
      while (pc <= faultPc) pc += isWide(op[pc]) ? 2 : 1;
      for (; pc < end; pc += isWide(op[pc]) ? 2 : 1) counts[pc]--;
    } else if (faultPc >= 0 && faultPc < n) {
      const b = this.blockOf[faultPc];
      const end = b + 1 < nb ? this.starts[b + 1] : n;
      for (let pc = faultPc + (isWide(op[faultPc]) ? 2 : 1); pc < end; pc += isWide(op[pc]) ? 2 : 1) counts[pc]--;
    }
  }

  private helper(dispatch: HelperDispatch, id: number, pc: number): number {
    const m = this.m;
    const d = this.mem.dv;
    for (let r = 0; r <= 10; r++) { m.lo[r] = d.getInt32(H.REGS + 8 * r, true); m.hi[r] = d.getInt32(H.REGS + 8 * r + 4, true); }
    const st = dispatch(m, id, pc);
    const d2 = this.mem.dv;
    if (st === STATUS_EXIT) {
      d2.setInt32(H.REGS, m.lo[0], true);
      d2.setInt32(H.REGS + 4, m.hi[0], true);
      return C_EXIT;
    }
    if (st === STATUS_SUSPEND) {
      // A preemption after the call keeps its result (a helper's own suspension sets r0 on resume).
      d2.setInt32(H.REGS, m.lo[0], true);
      d2.setInt32(H.REGS + 4, m.hi[0], true);
      return C_SUSPEND;
    }
    d2.setInt32(H.PC, pc, true);
    d2.setInt32(H.FAULT_KIND, FaultKind.Helper, true);
    return C_FAULT;
  }

  private lookup(a: number, n: number, perm: number): number {
    const mem = this.mem;
    const k = mem.lookup(a, n, perm);
    if (k < 0) return -1;
    const d = mem.dv;
    const base = mem.rBase[k], size = mem.rEnd[k] - base;
    d.setInt32(H.LK_BASE, base, true); d.setInt32(H.LK_BASE + 4, 0, true);
    d.setInt32(H.LK_OFF, mem.rOff[k], true);
    [1, 2, 4, 8].forEach((sz, i) => {
      d.setInt32(H.LK_LIMIT + 8 * i, Math.max(0, size - sz + 1), true);
      d.setInt32(H.LK_LIMIT + 8 * i + 4, 0, true);
    });
    return k;
  }
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}
