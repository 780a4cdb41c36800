/**
 * The VM's public vocabulary: the options a host gives a Vm, what a helper sees of a call, and what
 * a run returns. Kept apart from vm.ts (the Vm class itself) so the API reads on one page;
 * vm.ts re-exports all of it.
 */
import type { VmFault } from './errors';
import type { Memory } from './memory';
import type { RiotImage } from './image';
import type { Profile } from './verifier';
import type { Translator } from './compiled-tier';
import type { Vm } from './vm';

/** Returned by a helper (via `call.suspend()`) to pause the run; the host resumes it later. */
export const SUSPEND: unique symbol = Symbol('femto.suspend');
export type HelperReturn = number | bigint | typeof SUSPEND;

/** What a helper sees of the call: arguments r1–r5, checked memory, and the instance. */
export interface HelperCall {
  readonly id: number;
  readonly pc: number;
  readonly vm: Vm;
  /** Checked access to the container's memory: every pointer goes through the region check. */
  readonly mem: Memory;
  /** Argument n (1–5) as an unsigned 32-bit number (pointers, u32 values). */
  u32(n: number): number;
  /** Argument n as a signed 32-bit number. */
  i32(n: number): number;
  /** Argument n as an unsigned 64-bit BigInt. */
  u64(n: number): bigint;
  /** Argument n as a JS number when it fits in 53 bits, else NaN. */
  num(n: number): number;
  /** Pause the run after this call; `vm.resume()` continues with the next instruction. */
  suspend(): typeof SUSPEND;
}

export type HelperFn = (call: HelperCall) => HelperReturn;
export interface HelperDef {
  name?: string;
  fn: HelperFn;
  /** Result is a full 64-bit value instead of RIOT's zero-extended 32 bits. */
  returns64?: boolean;
}
export type HelperTable = ReadonlyMap<number, HelperFn | HelperDef>;

/** How a host cuts runs into slices (`Vm.slicing`). Either limit, or both (whichever comes first). */
export interface SliceOptions {
  /** Wall time (ms) one slice may hold its caller (DEFAULT_SLICE_MS is the usual choice). */
  ms?: number;
  /** Instructions one slice may execute (≥ 1): deterministic slicing, for tests and virtual clocks. */
  insns?: number;
  /** Timed slices: helper calls between two clock reads inside a chunk (default 16). */
  helperCheckEvery?: number;
}

export interface VmOptions {
  /** A parsed RIOT image, or raw bytecode in `text` (with optional data and rodata). */
  image?: RiotImage;
  text?: Uint8Array;
  data?: Uint8Array;
  rodata?: Uint8Array;
  profile?: Profile;
  /** Instructions per run (or per slice of a suspended run). */
  budget?: number;
  /** Taken branches per run; defaults to RIOT's 200 in the riot-2022 profile, unlimited otherwise. */
  branchBudget?: number;
  /**
   * RIOT's "no return" configuration (FC_CONFIG_NO_RETURN): no final-exit check in riot-2022 and
   * no taken-branch budget, as in RIOT. Default: the image header's FLAG_NO_RETURN bit.
   */
  noReturn?: boolean;
  helpers?: HelperTable;
  /** Helper ids the verifier accepts; defaults to the keys of `helpers`. */
  grants?: ReadonlySet<number>;
  maxCallDepth?: number;
  /** Count executions (and taken conditional jumps) per instruction, for a cost model. */
  countPerPc?: boolean;
  /**
   * Execution tier: `interp` (the reference interpreter), `compiled` (WebAssembly from the start,
   * when the program can be compiled), `auto` (interpreter first, compiled once hot).
   */
  tier?: Tier;
  /**
   * When `auto` moves to the compiled tier: after `runs` runs averaging at least `minAvgInsns`
   * instructions, or once `insns` instructions have run (one long run moves mid-run). Short
   * programs stay interpreted: entering compiled code, folding its counters and keeping one more
   * module per container cost more than they save below a few hundred instructions a run. With
   * 48 as the bar, 3,000 boards × 3 short sensor containers (60 instructions a run) all compiled and ran
   * at 7.4 µs a run against 6.0 µs interpreted, and Node-RED delivered 37,600 runs/s instead of 66,000.
   */
  tierUp?: { runs?: number; insns?: number; minAvgInsns?: number };
  /** Preempt runs (see SliceOptions); default: a run goes to its end in one call. */
  slice?: SliceOptions;
  /** Milliseconds from some epoch, for time slicing; default performance.now (tests inject one). */
  now?: () => number;
  /**
   * One RunResult object, rewritten by every run, resume and continue: for hosts that read each
   * result before the next call (a board, once per sensor event) and want no allocation per run.
   */
  reuseResult?: boolean;
  /**
   * Where `auto` translates a hot program: with a translator (a host's worker thread) the tier-up
   * happens in the background and runs stay interpreted until the module is ready; without one,
   * synchronously in the run that found the program hot.
   */
  translate?: Translator;
}

export type Tier = 'interp' | 'compiled' | 'auto';
export const DEFAULT_TIER: Tier = 'auto';
export const DEFAULT_TIER_UP = { runs: 16, insns: 200_000, minAvgInsns: 256 } as const;

/** Which tier a Vm runs on and why. */
export interface TierInfo {
  mode: Tier;
  current: 'interp' | 'compiled';
  /** Why the program stays on the interpreter, when it does. */
  reason?: string;
  compileMs?: number;
  moduleBytes?: number;
  runs: number;
  insns: number;
}

export interface RunOptions {
  /** Bytes copied into the context region; r1 points at them. */
  context?: Uint8Array;
  /** Context region writable by the container (and its changes visible in the result). */
  contextWritable?: boolean;
  /** Also pass the context length in r2 (conformance-suite convention). */
  lengthInR2?: boolean;
  /** Entry: an exported function name (images) or an instruction index. Default: 0. */
  entry?: string | number;
  budget?: number;
}

export type RunStatus = 'exit' | 'fault' | 'suspended' | 'preempted';

export interface RunResult {
  /** 'preempted': the slice used its share of time or instructions; `continue()` goes on. */
  status: RunStatus;
  /** r0 as an unsigned 64-bit value (exit), else the last r0. */
  r0: bigint;
  /**
   * Instructions executed since run() or resume() (summed over preempted slices, so the final
   * result of a sliced run equals the unsliced one).
   */
  insns: number;
  /** Instructions executed since run() started, across resumes. */
  totalInsns: number;
  fault?: VmFault;
  /** The context bytes after the run (only with a writable context). */
  context?: Uint8Array;
  /**
   * With `countPerPc`: executions per instruction index since run() or resume(), summed over
   * preempted slices like `insns` (a view, valid until the next run, resume or continue).
   */
  pcCounts?: Int32Array;
  /** With `countPerPc`: taken conditional jumps per instruction index, counted like pcCounts. */
  pcTaken?: Int32Array;
}
