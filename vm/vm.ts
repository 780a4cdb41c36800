/**
 * The VM as the host sees it: one container instance = a verified program, its memory regions,
 * its helper table and its run state. This is the VM boundary: nothing a container does escapes
 * it as an exception; every run returns a RunResult (exit, fault or suspended).
 *
 * Choices the design leaves open, made here:
 *  - Registers start at 0 on every run; r1 = context address (0 without a context), r10 = stack
 *    top. `lengthInR2` also puts the context length in r2 (the conformance suite's convention;
 *    RIOT only sets r1, so boards leave it off).
 *  - `.data` is copied from the image once and persists across runs of the instance; `.rodata` is
 *    read-only; the stack is zeroed at the start of every run so runs cannot pass data that way.
 *  - The stack is one frame (512 B) unless the program has local calls; then one frame per
 *    allowed call level, each call moving r10 down by a frame.
 *  - Helper results are zero-extended from 32 bits, as RIOT does, unless the helper says it
 *    returns 64 bits (or returns a bigint). In riot-2022 always 32 bits: RIOT's helpers return
 *    `uint32_t` and the VM assigns that to the 64-bit r0 (Femto-Container `src/jumptable.c`,
 *    `regmap[0] = call(femtoc, regmap)` with `typedef uint32_t (*f12r_call_t)(f12r_t*, uint64_t*)`;
 *    RIOT's in-tree VM the same with `uint32_t (*)(bpf_t*, uint32_t × 5)`), so a helper's −1
 *    reads 0xffffffff and a 64-bit value loses its high half.
 *  - A helper that throws a MemoryAccessError causes fault −2 at the call; any other exception
 *    from a helper is fault −4 with the helper's message. Neither reaches the caller as a throw.
 *  - Preemption (`slicing`): a run may be cut into slices by wall time or by instruction count
 *    without changing its meaning. A slice that used its share returns 'preempted' with the whole
 *    state kept; `continue()` goes on exactly there (no r0 change, the same instruction and
 *    taken-branch budgets, counting on). The end result equals the unsliced run's in every field.
 *    Wall time is read rarely: instructions run in chunks sized from the measured speed (the
 *    first chunk of a slice is not timed at all, so short runs never read the clock), and helper
 *    calls are a checkpoint every few calls, so slow helpers cannot stretch a slice either.
 */
import { FaultCode, FormatError, VmFault } from './errors';
import { FaultKind, Machine, STATUS_EXIT, STATUS_FAULT, STATUS_SUSPEND, execute, type Status } from './interpreter';
import { disassembleInsn } from './disassembler';
import { MAX_REGION_SIZE, Memory, MemoryAccessError, PERM_READ, PERM_RW, hex32, type Region } from './memory';
import { Program } from './program';
import { isWide } from './opcodes';
import { DEFAULT_MAX_CALL_DEPTH, assertVerified, type Profile, type VerifyInfo } from './verifier';
import { FLAG_NO_RETURN } from './image';
import { fromBig, out, toBigU64 } from './int64';
import { CompiledTier, type Translator } from './compiled-tier';
import type { CompileOptions } from './wasm-compiler';
import { DEFAULT_BUDGET, averageInsns, checkBudget, now } from './limits';
import { faultOf } from './fault-of';
import { divZeroFaults } from './division';
import { Call } from './helper-call';
import {
  DEFAULT_TIER, DEFAULT_TIER_UP, SUSPEND, type HelperDef, type HelperReturn, type RunOptions, type RunResult, type RunStatus,
  type SliceOptions, type Tier, type TierInfo, type VmOptions,
} from './vm-api';

export * from './vm-api';

export { DEFAULT_BUDGET };
/** Wall time of one slice when a host slices runs by time and gives no length. */
export const DEFAULT_SLICE_MS = 5;
export const RIOT_BRANCH_BUDGET = 200;
export const STACK_FRAME_SIZE = 512;

const PROBE_WARMUP_RUNS = 32;
const PROBE_RUNS = 64;

/** Status of a sliced run that used its share (Vm-internal; next to the interpreter's codes). */
const STATUS_PREEMPT = 3;
type SliceStatus = Status | typeof STATUS_PREEMPT;
/** Share of a slice one chunk of instructions is sized to take (the clock is read between chunks). */
const CHUNK_SHARE = 0.25;
/** Speed assumed before any chunk was timed (instructions per ms): slow, so the guess errs short. */
const INITIAL_RATE = 10_000;
const MIN_CHUNK = 1000;
/** A chunk grows at most this much over the last timed one (one fast measurement is not trusted). */
const CHUNK_GROWTH = 4;
/** Helper calls between clock reads inside a chunk (SliceOptions.helperCheckEvery). */
const HELPER_CHECK_EVERY = 16;

export class Vm {
  readonly program: Program;
  readonly memory = new Memory();
  readonly info: VerifyInfo;
  readonly profile: Profile;
  readonly functions: readonly { name: string; offset: number }[];
  /** RIOT's "no return" configuration is on (VmOptions.noReturn). */
  readonly noReturn: boolean;
  budget: number;
  branchBudget: number;
  private readonly machine: Machine;
  private readonly helpers = new Map<number, HelperDef>();
  /** Helper ids this container may call: checked again at run time for callx. */
  private readonly grants: ReadonlySet<number>;
  private readonly call: Call;
  private readonly stackSize: number;
  private state: 'idle' | 'suspended' | 'preempted' = 'idle';
  private runInsns = 0;
  /**
   * Preemption of runs: undefined runs each run to its end in one call. Hosts may change it
   * between calls (it applies from the next run, resume or continue).
   */
  slicing: SliceOptions | undefined;
  private readonly now: () => number;
  /** The current segment (from run() or resume() to its end): budget, progress, branches left. */
  private segBudget = 0;
  private segDone = 0;
  private segBranches = 0;
  private segWritable = false;
  /** Measured speed (instructions per ms) that sizes the chunks of a timed slice. */
  private rate = INITIAL_RATE;
  /** Timed slice in progress: its length, deadline (NaN until the first clock read), helper countdown. */
  private sliceMs = 0;
  private deadline = NaN;
  private helperTick = 0;
  private helperCheck = HELPER_CHECK_EVERY;
  private preemptAfterHelper = false;
  private compiled: CompiledTier | null = null;
  private compiling: Promise<boolean> | null = null;
  /**
   * `auto` checks its own decision: it times runs on each tier (ns per instruction) and, when
   * the compiled tier turns out no faster — short programs that mostly call helpers, where
   * crossing between JavaScript and WebAssembly costs more than it saves — it goes back to the
   * interpreter for good.
   */
  private readonly probe = { n: 0, interpNs: 0, interpInsns: 0, compiledNs: 0, compiledInsns: 0, decided: false };
  private useCompiled = true;
  private tierNote: string | undefined;
  private readonly tierMode: Tier;
  private readonly tierUp: { runs: number; insns: number; minAvgInsns: number };
  private noCompile: string | undefined;
  private hotRuns = 0;
  private hotInsns = 0;
  private readonly maxCallDepth: number;
  private readonly translate: Translator | undefined;
  /** The stack region (mapped once; relayouts move its offset, not the object). */
  private readonly stackRegion: Region;
  /** The context region of the last run and the layout it was mapped in (run() reuses it). */
  private contextRegion: Region | undefined;
  private contextLayout = -1;
  /** Views of the per-pc counters handed out in every result (made once, never reallocated). */
  private countsView: Int32Array | undefined;
  private takenView: Int32Array | undefined;
  /** The reused result (VmOptions.reuseResult), and the last r0 as halves and as a BigInt. */
  private readonly reused: RunResult | undefined;
  private r0Lo = 0;
  private r0Hi = 0;
  private r0Big = 0n;

  /** Verifies the program (throws VerifyError) and lays out memory. */
  constructor(opts: VmOptions) {
    const text = opts.image?.text ?? opts.text;
    if (!text) throw new TypeError('Vm needs an image or text');
    this.program = new Program(text);
    this.profile = opts.profile ?? 'rfc9669';
    for (const [id, h] of opts.helpers ?? []) this.helpers.set(id, typeof h === 'function' ? { fn: h } : h);
    const maxCallDepth = opts.maxCallDepth ?? DEFAULT_MAX_CALL_DEPTH;
    this.grants = opts.grants ?? new Set(this.helpers.keys());
    this.noReturn = opts.noReturn ?? ((opts.image?.flags ?? 0) & FLAG_NO_RETURN) !== 0;
    this.info = assertVerified(this.program, {
      profile: this.profile,
      helpers: this.grants,
      maxCallDepth,
      noReturn: this.noReturn,
    });
    this.budget = opts.budget ?? DEFAULT_BUDGET;
    // RIOT's "no return" flag also lifts the taken-branch budget (as RIOT's verifier and VM do; README § RIOT compatibility).
    this.branchBudget = this.noReturn ? Number.MAX_SAFE_INTEGER
      : opts.branchBudget ?? (this.profile === 'riot-2022' ? RIOT_BRANCH_BUDGET : Number.MAX_SAFE_INTEGER);
    this.functions = opts.image?.functions ?? [];
    // Every exported function must start an instruction, so that running one by name is always
    // possible (an offset into the second half of a wide load is a malformed image).
    const starts = new Set(this.program.starts());
    for (const f of this.functions) {
      if (!starts.has(f.offset / 8)) {
        throw new FormatError('image', `exported function "${f.name}" at text+${f.offset} is not the start of an instruction`, { field: 'functions' });
      }
    }

    const data = opts.image?.data ?? opts.data ?? new Uint8Array(0);
    const rodata = opts.image?.rodata ?? opts.rodata ?? new Uint8Array(0);
    for (const [name, bytes] of [['rodata', rodata], ['data', data]] as const) {
      if (bytes.length > MAX_REGION_SIZE) {
        throw new FormatError('image', `.${name} is ${bytes.length} bytes, more than a VM region holds (${MAX_REGION_SIZE})`, { field: `${name}_len` });
      }
    }
    this.memory.map('rodata', rodata, PERM_READ);
    this.memory.map('data', data, PERM_RW);
    this.stackSize = STACK_FRAME_SIZE * (this.info.hasLocalCalls ? maxCallDepth + 1 : 1);
    this.stackRegion = this.memory.map('stack', this.stackSize, PERM_RW);
    this.machine = new Machine(this.program, this.memory, this.dispatch, {
      divZeroFaults: divZeroFaults(this.profile),
      frameSize: STACK_FRAME_SIZE,
      maxCallDepth,
    });
    if (opts.countPerPc) {
      this.machine.counts = new Int32Array(this.program.length + 1);
      this.machine.taken = new Int32Array(this.program.length + 1);
      this.countsView = this.machine.counts.subarray(0, this.program.length);
      this.takenView = this.machine.taken.subarray(0, this.program.length);
    }
    this.machine.dataBase = this.memory.region('data')!.base;
    this.machine.rodataBase = this.memory.region('rodata')!.base;
    this.call = new Call(this, this.memory, this.machine);
    this.maxCallDepth = maxCallDepth;
    this.tierMode = opts.tier ?? DEFAULT_TIER;
    this.tierUp = { ...DEFAULT_TIER_UP, ...opts.tierUp };
    this.slicing = opts.slice;
    this.now = opts.now ?? now;
    this.translate = opts.translate;
    this.reused = opts.reuseResult ? { status: 'exit', r0: 0n, insns: 0, totalInsns: 0, fault: undefined, context: undefined } : undefined;
    if (typeof WebAssembly === 'undefined') this.noCompile = 'WebAssembly is not available';
    if (this.tierMode === 'compiled') this.compileNow();
  }

  /** Current tier, the reason a program stays interpreted, compile time. */
  get tier(): TierInfo {
    return {
      mode: this.tierMode,
      current: this.compiled && this.useCompiled ? 'compiled' : 'interp',
      reason: this.noCompile ?? this.tierNote,
      compileMs: this.compiled?.compileMs,
      moduleBytes: this.compiled?.moduleBytes,
      runs: this.hotRuns,
      insns: this.hotInsns,
    };
  }

  private compileOptions(): CompileOptions {
    return {
      dataBase: this.machine.dataBase,
      rodataBase: this.machine.rodataBase,
      frameSize: STACK_FRAME_SIZE,
      maxCallDepth: this.maxCallDepth,
      entries: this.functions.map((f) => f.offset / 8),
      countBranches: this.branchBudget !== Number.MAX_SAFE_INTEGER,
      divZeroFaults: divZeroFaults(this.profile),
    };
  }

  /** Compile now (if the program can be compiled); returns whether the compiled tier is in use. */
  compileNow(): boolean {
    if (this.compiled) return true;
    if (this.noCompile || this.compiling) return false;
    try {
      this.compiled = new CompiledTier(this.program, this.memory, this.machine, this.dispatch, this.compileOptions());
    } catch (e) {
      if (e instanceof RangeError && /synchronous|main thread|4 ?KB|limit/i.test(e.message)) {
        // A browser's main thread: compile asynchronously and switch when it is ready.
        void this.compileAsync();
        return false;
      }
      this.noCompile = `compile failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    return this.compiled !== null;
  }

  /** `auto`'s tier-up: in the background when a translator was given (false until it is ready). */
  private tierUpNow(): boolean {
    if (!this.translate || this.compiled) return this.compileNow();
    if (!this.noCompile && !this.compiling) void this.compileAsync();
    return false;
  }

  /**
   * Compile without blocking (the way to tier up on a browser's main thread); later runs use the
   * compiled tier once it resolves true. A suspended run continues on whichever tier fits.
   */
  compileAsync(): Promise<boolean> {
    if (this.compiled) return Promise.resolve(true);
    if (this.noCompile) return Promise.resolve(false);
    if (!this.compiling) {
      this.compiling = CompiledTier.compileAsync(this.program, this.machine.counts !== null, this.compileOptions(), this.translate)
        .then((pre) => {
          this.compiled = new CompiledTier(this.program, this.memory, this.machine, this.dispatch, this.compileOptions(), pre);
          return true;
        })
        .catch((e: unknown) => {
          this.noCompile = `compile failed: ${e instanceof Error ? e.message : String(e)}`;
          return false;
        })
        .finally(() => { this.compiling = null; });
    }
    return this.compiling;
  }

  /** r0's low 32 bits as a signed number, after the last run, resume or continue. */
  get r0Low32(): number {
    return this.machine.lo[0];
  }

  get suspended(): boolean {
    return this.state === 'suspended';
  }

  /** A sliced run stopped after its slice: `continue()` goes on, `run()` abandons it. */
  get preempted(): boolean {
    return this.state === 'preempted';
  }

  /**
   * The machine state between two slices: r0–r10 as unsigned 64-bit values and the pc of the next
   * instruction (after an exit or fault, of the last one). For tracers (vm/tracer.ts) and debuggers.
   */
  get machineState(): { pc: number; regs: bigint[] } {
    const m = this.machine;
    const regs: bigint[] = [];
    for (let r = 0; r < 11; r++) regs.push(toBigU64(m.lo[r], m.hi[r]));
    return { pc: m.pc, regs };
  }

  /** Budget and instructions so far of the current (or last) run or resumed segment. */
  get progress(): { insns: number; budget: number } {
    return { insns: this.segDone, budget: this.segBudget };
  }

  /** Map an extra region (a hook's packet buffer, a host buffer); returns it with its address. */
  mapRegion(name: string, init: Uint8Array | number, writable: boolean): Region {
    if (['stack', 'data', 'rodata'].includes(name)) throw new RangeError(`region name ${name} is reserved`);
    return this.memory.map(name, init, writable ? PERM_RW : PERM_READ);
  }

  /** Start a run from the entry point. A suspended or preempted run is abandoned. */
  run(opts: RunOptions = {}): RunResult {
    const m = this.machine;
    const lo = m.lo, hi = m.hi;
    for (let r = 0; r < lo.length; r++) { lo[r] = 0; hi[r] = 0; }
    m.depth = 0;
    const mem = this.memory;
    const stack = this.stackRegion;
    mem.u8.fill(0, stack.offset, stack.offset + this.stackSize);
    const ctx = opts.context;
    if (ctx) {
      const perm = opts.contextWritable ? PERM_RW : PERM_READ;
      // The same context shape as the last run (every hook run): copy in place, no remapping.
      const r = this.contextRegion;
      if (r && r.size === ctx.length && r.perm === perm && this.contextLayout === mem.layoutVersion) mem.u8.set(ctx, r.offset);
      else {
        this.contextRegion = mem.map('context', ctx, perm);
        this.contextLayout = mem.layoutVersion;
      }
      m.lo[1] = this.contextRegion!.base;
      if (opts.lengthInR2) m.lo[2] = ctx.length;
    } else if (this.contextRegion || mem.region('context')) {
      mem.unmap('context');
      this.contextRegion = undefined;
    }
    m.lo[10] = stack.base + this.stackSize;
    m.pc = opts.entry === undefined ? 0 : this.entrySlot(opts.entry);
    this.runInsns = 0;
    return this.segment(checkBudget(opts.budget ?? this.budget), opts.contextWritable === true);
  }

  /**
   * Continue a suspended run with a fresh budget (instructions, and taken branches where they are
   * limited); r0 of the suspending call is set to `r0`.
   */
  resume(r0: number | bigint = 0, budget = this.budget): RunResult {
    if (this.state !== 'suspended') throw new Error('resume: the container is not suspended');
    // The suspending helper's result: 32 bits zero-extended in riot-2022, like any helper result.
    if (typeof r0 === 'bigint' && this.profile === 'riot-2022') r0 = Number(BigInt.asUintN(32, r0));
    this.setR0(r0, typeof r0 === 'bigint');
    return this.segment(checkBudget(budget), this.memory.region('context')?.perm === PERM_RW);
  }

  /** Go on with a preempted run exactly where it stopped: same budgets, nothing reset. */
  continue(): RunResult {
    if (this.state !== 'preempted') throw new Error('continue: the run was not preempted');
    return this.slice(false);
  }

  /** Start a segment (a run, or a resumed suspension) with its own budgets. */
  private segment(budget: number, writableContext: boolean): RunResult {
    this.segBudget = budget;
    this.segDone = 0;
    this.segBranches = this.branchBudget;
    this.segWritable = writableContext;
    this.machine.counts?.fill(0);
    this.machine.taken?.fill(0);
    return this.slice(true);
  }

  /** Instruction index of an entry given as a name or an index. */
  entrySlot(entry?: string | number): number {
    if (entry === undefined) return 0;
    const startsInstruction = (slot: number): boolean => Number.isInteger(slot) && slot >= 0 && slot < this.program.length &&
      !(slot > 0 && isWide(this.program.opcode[slot - 1]) && [...this.program.starts()].includes(slot - 1));
    if (typeof entry === 'number') {
      if (!startsInstruction(entry)) throw new RangeError(`entry ${entry} is not the start of an instruction`);
      return entry;
    }
    const f = this.functions.find((fn) => fn.name === entry);
    if (!f) {
      const names = this.functions.map((fn) => fn.name).join(', ') || 'none';
      throw new RangeError(`no exported function "${entry}" (exported: ${names})`);
    }
    if (!startsInstruction(f.offset / 8)) throw new RangeError(`exported function "${entry}" at text+${f.offset} is not the start of an instruction`);
    return f.offset / 8;
  }

  /** One slice of the current segment: to its end, or until preempted. */
  private slice(first: boolean): RunResult {
    const m = this.machine;
    m.faultKind = FaultKind.None;
    this.state = 'idle';
    const probe = first ? this.probeChoice() : null;
    const t0 = probe ? now() : 0;
    const left = this.segBudget - this.segDone;
    const sl = this.slicing;
    const status: SliceStatus = sl && (sl.ms !== undefined || sl.insns !== undefined)
      ? this.executeSliced(left, sl, probe === 'interp')
      : probe === 'interp' ? execute(m, left, this.segBranches) : this.execute(left, this.segBranches);
    if (this.compiled?.broken) {
      this.noCompile = this.compiled.broken;
      this.compiled = null;
    }
    if (probe) this.record(probe, now() - t0, m.executed);
    this.segDone += m.executed;
    this.runInsns += m.executed;
    if (this.branchBudget !== Number.MAX_SAFE_INTEGER) this.segBranches = m.branchBudget;
    if (status !== STATUS_PREEMPT) this.hotRuns++;
    this.hotInsns += m.executed;
    const runStatus: RunStatus = status === STATUS_EXIT ? 'exit' : status === STATUS_FAULT ? 'fault' : status === STATUS_SUSPEND ? 'suspended' : 'preempted';
    // r0 as a BigInt, made again only when it changed (a hook's steady result costs nothing).
    if (m.lo[0] !== this.r0Lo || m.hi[0] !== this.r0Hi) {
      this.r0Lo = m.lo[0];
      this.r0Hi = m.hi[0];
      this.r0Big = toBigU64(this.r0Lo, this.r0Hi);
    }
    let res: RunResult;
    const reused = this.reused;
    if (reused) {
      res = reused;
      res.status = runStatus;
      res.r0 = this.r0Big;
      res.insns = this.segDone;
      res.totalInsns = this.runInsns;
      res.fault = undefined;
      res.context = undefined;
    } else res = { status: runStatus, r0: this.r0Big, insns: this.segDone, totalInsns: this.runInsns };
    if (this.countsView) {
      // Views, not copies: valid until the next run or resume of this Vm (hosts fold them into
      // their cost model right away; copying them on every short hook run was measurable).
      res.pcCounts = this.countsView;
      res.pcTaken = this.takenView;
    }
    if (status === STATUS_SUSPEND) this.state = 'suspended';
    else if (status === STATUS_PREEMPT) this.state = 'preempted';
    if (status === STATUS_FAULT) res.fault = faultOf(m, this.program, this.memory, this.segBudget, this.branchBudget);
    if (this.segWritable && this.memory.region('context')) res.context = this.memory.bytes('context').slice();
    return res;
  }

  /**
   * Run up to `left` instructions in chunks, stopping early (STATUS_PREEMPT) when the slice has
   * used its instructions or its time. A chunk ends as a budget fault of the chunk's own budget
   * with budget left over, which is just a pause: the state is exact at every instruction. Timed
   * slices size chunks to a quarter of the slice at the speed measured on the last chunk; the
   * first chunk is not timed (the clock is first read after it, or at a helper checkpoint), so a
   * run that ends within it never reads the clock. m.executed counts the whole slice.
   */
  private executeSliced(left: number, sl: SliceOptions, interpOnly: boolean): SliceStatus {
    const m = this.machine;
    const cap = sl.insns !== undefined ? Math.max(1, Math.floor(sl.insns)) : Infinity;
    const ms = sl.ms !== undefined && sl.ms >= 0 ? sl.ms : 0;
    const timed = sl.ms !== undefined;
    const limitedBranches = this.branchBudget !== Number.MAX_SAFE_INTEGER;
    this.sliceMs = ms;
    this.deadline = NaN;
    this.helperCheck = Math.max(1, Math.floor(sl.helperCheckEvery ?? HELPER_CHECK_EVERY));
    this.helperTick = timed ? this.helperCheck : 0;
    this.preemptAfterHelper = false;
    let done = 0;
    let br = this.segBranches;
    let lastT = NaN;
    let chunkCap = Infinity;
    let status: SliceStatus;
    for (;;) {
      let chunk = Math.min(left - done, cap - done);
      if (timed) chunk = Math.min(chunk, Math.max(MIN_CHUNK, Math.floor(Math.min(this.rate * ms * CHUNK_SHARE, chunkCap))));
      // Compiled code is entered at block starts only: after a pause inside a block, the
      // interpreter first runs to the end of that block (an untimed chunk of a few instructions).
      let align = false;
      const c = this.compiled;
      if (!interpOnly && c && this.useCompiled && !c.canEnter()) {
        const n = c.insnsToBlockStart(m.pc);
        if (n < chunk) { chunk = n; align = true; }
      }
      const st = interpOnly ? execute(m, chunk, br) : this.execute(chunk, br);
      const ran = m.executed;
      done += ran;
      if (limitedBranches) br = m.branchBudget;
      if (st === STATUS_SUSPEND && this.preemptAfterHelper) { status = STATUS_PREEMPT; break; }
      if (!(st === STATUS_FAULT && m.faultKind === FaultKind.Budget && done < left)) { status = st; break; }
      m.faultKind = FaultKind.None; // the chunk's budget, not the run's
      if (done >= cap) { status = STATUS_PREEMPT; break; }
      if (!timed || align) continue;
      const t = this.now();
      if (Number.isNaN(this.deadline)) this.deadline = t + ms * (1 - CHUNK_SHARE);
      if (!Number.isNaN(lastT)) {
        if (t > lastT) this.rate = ran / (t - lastT);
        chunkCap = CHUNK_GROWTH * ran;
      }
      lastT = t;
      if (t >= this.deadline) { status = STATUS_PREEMPT; break; }
      chunkCap = Math.min(chunkCap, this.rate * (this.deadline - t));
    }
    this.helperTick = 0;
    this.preemptAfterHelper = false;
    m.executed = done;
    m.branchBudget = br;
    return status;
  }

  /** A helper checkpoint of a timed slice: whether its time is up (the first read sets the deadline). */
  private timeUp(): boolean {
    const t = this.now();
    if (Number.isNaN(this.deadline)) {
      this.deadline = t + this.sliceMs * (1 - CHUNK_SHARE);
      return false;
    }
    return t >= this.deadline;
  }

  /**
   * After `auto` has compiled a program, a short trial: once the engine has warmed the module up,
   * alternate runs between the tiers (same conditions for both) and time them. Programs whose
   * runs are long skip it: the compiled tier wins there by orders of magnitude.
   */
  private probeChoice(): 'interp' | 'compiled' | null {
    const p = this.probe;
    if (this.tierMode !== 'auto' || p.decided || !this.compiled || !this.useCompiled) return null;
    if (this.hotRuns > 0 && this.hotInsns / this.hotRuns >= 10_000) { p.decided = true; return null; }
    const n = ++p.n;
    if (n <= PROBE_WARMUP_RUNS) return null;
    if (!this.compiled.canEnter()) return null;
    return n % 2 === 0 ? 'compiled' : 'interp';
  }

  /** Add one timed run to the trial; decide after PROBE_RUNS of each. */
  private record(tier: 'interp' | 'compiled', ms: number, insns: number): void {
    const p = this.probe;
    if (tier === 'interp') { p.interpNs += ms * 1e6; p.interpInsns += insns; } else { p.compiledNs += ms * 1e6; p.compiledInsns += insns; }
    if (p.n < PROBE_WARMUP_RUNS + 2 * PROBE_RUNS) return;
    p.decided = true;
    if (p.interpInsns === 0 || p.compiledInsns === 0) return;
    const interp = p.interpNs / p.interpInsns, compiled = p.compiledNs / p.compiledInsns;
    if (compiled >= interp * 0.95) {
      this.useCompiled = false;
      this.tierNote = `measured: the interpreter is as fast for this program (${interp.toFixed(1)} vs ${compiled.toFixed(1)} ns per instruction compiled)`;
    }
  }

  /** Run `budget` instructions on the best tier available; m.executed counts them all. */
  private execute(budget: number, branchBudget: number): Status {
    const m = this.machine;
    if (this.compiled && this.useCompiled && this.compiled.canEnter()) return this.compiled.run(budget, branchBudget);
    if (this.tierMode !== 'auto' || this.noCompile || this.compiled) return execute(m, budget, branchBudget);
    if ((this.hotRuns >= this.tierUp.runs || this.hotInsns >= this.tierUp.insns) && averageInsns(this.hotInsns, this.hotRuns) >= this.tierUp.minAvgInsns) {
      const c = this.tierUpNow() ? this.compiled as CompiledTier | null : null;
      if (c && c.canEnter()) return c.run(budget, branchBudget);
      return execute(m, budget, branchBudget);
    }
    // Interpret in chunks so that one long run can still move to the compiled tier when hot
    // (with the taken branches it has left, where they are limited).
    let left = budget;
    let executed = 0;
    let br = branchBudget;
    for (;;) {
      const chunk = Math.min(left, this.tierUp.insns);
      const st = execute(m, chunk, br);
      if (branchBudget !== Number.MAX_SAFE_INTEGER) br = m.branchBudget;
      executed += m.executed;
      left -= m.executed;
      const chunkEnded = st === STATUS_FAULT && m.faultKind === FaultKind.Budget && left > 0;
      if (!chunkEnded) { m.executed = executed; return st; }
      m.faultKind = FaultKind.None;
      const hot = this.hotInsns + executed >= this.tierUp.insns && averageInsns(this.hotInsns + executed, this.hotRuns + 1) >= this.tierUp.minAvgInsns;
      const c = hot && this.tierUpNow() ? this.compiled as CompiledTier | null : null;
      if (c && c.canEnter()) {
        const st2 = c.run(left, br);
        m.executed += executed;
        return st2;
      }
    }
  }

  private setR0(v: number | bigint, wide: boolean): void {
    const m = this.machine;
    if (typeof v === 'bigint') { fromBig(v); m.lo[0] = out[0]; m.hi[0] = out[1]; }
    else if (!wide) { m.lo[0] = v | 0; m.hi[0] = 0; }
  }

  /** Helper dispatch for `call imm` and `callx`: never throws. */
  private readonly dispatch = (m: Machine, id: number, pc: number): Status => {
    const h = id >= 0 && this.grants.has(id) ? this.helpers.get(id) : undefined;
    if (!h) return this.helperFault(m, id, pc, FaultCode.ILLEGAL_CALL, `helper ${id} (0x${(id >>> 0).toString(16)}) is not available${this.helpers.has(id) ? ' (not granted to this container)' : ''}`);
    const call = this.call;
    call.id = id;
    call.pc = pc;
    let r: HelperReturn;
    try {
      r = h.fn(call);
    } catch (e) {
      if (e instanceof MemoryAccessError) {
        return this.helperFault(m, id, pc, FaultCode.ILLEGAL_MEM, `helper ${h.name ?? id}: ${e.access} ${hex32(e.address)} (${e.size} B): ${e.why}`,
          { address: hex32(e.address), size: e.size, access: e.access });
      }
      if (e instanceof VmFault) return this.helperFault(m, id, pc, e.code, e.reason);
      return this.helperFault(m, id, pc, FaultCode.ILLEGAL_CALL, `helper ${h.name ?? id} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (r === SUSPEND) {
      m.executed = 0; // set by the interpreter on return
      return STATUS_SUSPEND;
    }
    // riot-2022: whatever the helper hands back, r0 gets its low 32 bits zero-extended, as RIOT
    // does (its helpers are `uint32_t fn(...)` and the VM assigns `regmap[0] = fn(...)`).
    const only32 = this.profile === 'riot-2022';
    if (typeof r === 'bigint') {
      fromBig(r);
      m.lo[0] = out[0];
      m.hi[0] = only32 ? 0 : out[1];
    } else if (typeof r === 'number' && Number.isFinite(r)) {
      if (h.returns64 && !only32) {
        fromBig(BigInt(Math.trunc(r)));
        m.lo[0] = out[0];
        m.hi[0] = out[1];
      } else {
        m.lo[0] = r | 0; // RIOT: 32-bit result, zero-extended
        m.hi[0] = 0;
      }
    } else {
      return this.helperFault(m, id, pc, FaultCode.ILLEGAL_CALL, `helper ${h.name ?? id} returned ${String(r)}, not a number`);
    }
    // A timed slice's checkpoint: slow helpers must not stretch a slice between two chunk ends.
    // Preempting here is a pause after the call, its result already in r0.
    if (this.helperTick > 0 && --this.helperTick === 0) {
      this.helperTick = this.helperCheck;
      if (this.timeUp()) {
        this.preemptAfterHelper = true;
        m.executed = 0; // set by the interpreter on return
        return STATUS_SUSPEND;
      }
    }
    return STATUS_EXIT;
  };

  /** A helper call's fault (a method: a closure made in every call would cost each event an object). */
  private helperFault(m: Machine, id: number, pc: number, code: number, reason: string, detail: ConstructorParameters<typeof VmFault>[4] = {}): Status {
    m.helperFault = new VmFault(code, reason, pc, disassembleInsn(this.program.insn(pc), pc), { helper: id, ...detail });
    m.faultKind = FaultKind.Helper;
    m.faultPc = pc;
    m.pc = pc;
    return STATUS_FAULT;
  }
}
