/**
 * One installed container on a board: its image and verified Vm (per-pc counting on, for the cost
 * model), tenant, hook, grants, budget, local store, fault counters and run state.
 *
 * - Grants: the hook's contract ∩ what the container requests (default: the whole contract). Only
 *   granted helpers are in the Vm's helper table *and* in the verifier's grant set, so a program
 *   calling anything else is rejected at install (−4), and `callx` to a non-granted id faults.
 * - Quarantine: after `quarantineAfter` consecutive faults (default 3) the container is skipped by
 *   its hook until `Board.resetContainer`. A clean exit resets the consecutive count.
 * - A suspended run (ztimer_periodic_wakeup) belongs to the container until the board resumes it;
 *   while it is suspended, its hook skips it (RIOT's container is likewise busy in its loop).
 * - A preempted run (a sliced board: `flight`) is 'running' until it ends on a later turn; its
 *   hook skips it and flow messages wait in `queue`, in order.
 * - Image input: RIOT image bytes (detected by magic), any other bytes as raw bytecode, a parsed
 *   RiotImage, or assembly text (conformance syntax). Its size is what must fit a storage slot:
 *   the image bytes as given, or for text/parsed input the size RIOT's image would have.
 */
import type { RunConsole } from './console';
import { COST_CLASSES, COST_COLUMN_LABEL, COST_TABLE, classifyInsn, formatUs, type ClassCounts } from './cost-model';
import type { CostColumn } from './profiles';
import type { StoreChange } from './stores';
import { assemble } from '../../vm/assembler';
import { HEADER_SIZE, FUNCTION_ENTRY_SIZE, isImage, parseImage, type RiotImage } from '../../vm/image';
import type { Profile } from '../../vm/verifier';
import type { RunReport } from './results';
import type { TimerHandle } from './clock';
import type { RunOptions, RunStatus, Vm } from '../../vm/vm';
import { ALL_HELPER_IDS, helperId } from './helpers';
import { CONTRACTS, type HookName } from './hooks';
import type { KvStore } from './stores';

export type GlobalScope = 'board' | 'tenant';
export const DEFAULT_QUARANTINE_AFTER = 3;
export const DEFAULT_TENANT = 'default';

export interface ContainerSpec {
  /** Unique on the board; default `c1`, `c2`, … */
  id?: string;
  name?: string;
  /** RIOT image bytes or raw bytecode, a parsed RiotImage, or assembly text. */
  image: Uint8Array | RiotImage | string;
  /** Hook to attach to; absent = installed but detached. */
  hook?: HookName;
  tenant?: string;
  /** Helpers the container asks for (ids or names, `bpf_` prefix optional). Default: the hook's whole contract. */
  helpers?: readonly (number | string)[];
  /** Instructions per run (and per resumed slice). Default 1,000,000. */
  budget?: number;
  /** Taken branches per run; default RIOT's 200 under the riot-2022 profile. */
  branchBudget?: number;
  /** VM profile; default the board's (riot-2022 on MCU boards, rfc9669 on native). */
  profile?: Profile;
  /** Exported function name or instruction index. Default: the first instruction (RIOT). */
  entry?: string | number;
  /** Consecutive faults before quarantine. Default 3. */
  quarantineAfter?: number;
  /** What store_global/fetch_global reach: the board's global store or the tenant's. */
  globalScope?: GlobalScope;
  /** coap hook: the resource path served (e.g. "/temp"); absent = every path. */
  path?: string;
  /** sensor hook: only samples of this device (name or index); absent = every sensor. */
  device?: string | number;
}

export interface ResolvedImage {
  image?: RiotImage;
  text: Uint8Array;
  data: Uint8Array;
  rodata: Uint8Array;
  /** Bytes the image occupies in a storage slot. */
  size: number;
}

export function resolveImage(input: ContainerSpec['image']): ResolvedImage {
  if (typeof input === 'string') {
    const text = assemble(input);
    return { text, data: new Uint8Array(0), rodata: new Uint8Array(0), size: HEADER_SIZE + text.length };
  }
  if (input instanceof Uint8Array) {
    if (isImage(input)) {
      const image = parseImage(input);
      return { image, text: image.text, data: image.data, rodata: image.rodata, size: input.length };
    }
    return { text: input, data: new Uint8Array(0), rodata: new Uint8Array(0), size: input.length };
  }
  const img = input;
  const pad8 = (n: number): number => (n + 7) & ~7;
  return {
    image: img, text: img.text, data: img.data, rodata: img.rodata,
    size: HEADER_SIZE + pad8(img.data.length) + pad8(img.rodata.length) + img.text.length + FUNCTION_ENTRY_SIZE * img.functions.length,
  };
}

/**
 * The hook's contract ∩ the request. Unknown helper names are an error (a typo must not pass).
 * A detached container is verified against every helper (it is verified again when attached).
 */
export function computeGrants(hook: HookName | undefined, requested?: readonly (number | string)[]): Set<number> {
  const contract: ReadonlySet<number> = hook ? CONTRACTS[hook].helpers : new Set(ALL_HELPER_IDS);
  if (!requested) return new Set(contract);
  const out = new Set<number>();
  for (const r of requested) {
    const id = helperId(r);
    if (id === undefined) throw new RangeError(`unknown helper ${typeof r === 'number' ? `0x${r.toString(16)}` : `"${r}"`}`);
    if (contract.has(id)) out.add(id);
  }
  return out;
}

export interface FaultCounters {
  consecutive: number;
  total: number;
}

export type ContainerState = 'detached' | 'idle' | 'suspended' | 'running' | 'quarantined';

/** A flow message for a container (Board.flow): settled when its run ends or is cancelled. */
export interface FlowJob {
  payload: Uint8Array;
  resolve(report: RunReport): void;
  reject(error: Error): void;
}

/** What a run in slices carries from one turn to the next. */
export interface InFlight {
  hook: HookName | 'direct';
  /** Turns of the event loop it has taken so far. */
  turns: number;
  /** Instructions so far and the budget of the run (or resumed slice). */
  insns: number;
  budget: number;
  cancel: () => void;
  /** Console lines, the run's console (its unfinished line and caps) and store writes so far: the final report has them all. */
  console: string[];
  out: RunConsole;
  storeWrites: RunReport['storeWrites'];
  /** The message that started the run, answered when it ends. */
  job: FlowJob | undefined;
}

/**
 * What one slice of a container's run produced, gathered while it runs: console lines, store
 * writes and the events to send out after it. One per container, reset for every slice; the
 * arrays are made on first use, so a run that prints and writes nothing allocates none.
 */
export class RunCapture {
  console: string[] | undefined;
  out: RunConsole | undefined;
  storeWrites: StoreChange[] | undefined;
  events: [string, unknown][] | undefined;
  /** The console's sink for this capture, made once. */
  sink: ((line: string) => void) | undefined;
  constructor(readonly container: Container) {}

  /** Start a slice: a continued turn carries the run's console and writes so far. */
  reset(carried: InFlight | undefined): void {
    this.console = carried?.console;
    this.out = carried?.out;
    this.storeWrites = carried?.storeWrites;
    this.events = undefined;
  }
}

const JCOND_TAKEN = COST_CLASSES.indexOf('jcond_taken');
const JCOND_NOT_TAKEN = COST_CLASSES.indexOf('jcond_not_taken');

export class Container {
  hook: HookName | undefined;
  /** Attach order: higher = newer (hooks run newest first). */
  seq = 0;
  vm: Vm;
  resolved: ResolvedImage;
  grants: Set<number>;
  ramBytes: number;
  readonly faults: FaultCounters = { consecutive: 0, total: 0 };
  quarantined = false;
  runs = 0;
  /** Slice number of the current (possibly suspended) run; 0 when idle. */
  slice = 0;
  suspended = false;
  running = false;
  wakeupAtUs: number | undefined;
  cancelWakeup: (() => void) | undefined;
  /** Hook of the run that suspended (resumed slices report it). */
  runHook: HookName | 'direct' | undefined;
  /** A preempted run waiting for its next turn (boards that slice runs). */
  flight: InFlight | undefined;
  /** Flow messages waiting behind the running one, oldest first (Board.flow). */
  readonly queue: FlowJob[] = [];
  /** Flow messages refused because the queue was full. */
  dropped = 0;
  /** The turn that starts the next queued message. */
  queueTurn: TimerHandle | undefined;
  /**
   * Whoever takes this container's results (its Node-RED node): called with every report that the
   * board's 'result' event carries, before that event, straight from the run (no event fan-out to
   * every listener of the board). Kept per id by the container table, so it survives replacement.
   */
  onResult: ((r: RunReport) => void) | undefined = undefined;
  /** The last reported run (r0, instructions, estimate), kept as fields: displays read them later. */
  lastR0 = 0n;
  lastInsns = 0;
  lastUs = 0;
  hasRun = false;
  /**
   * The report reused by the runs nobody keeps (the board's own timer-driven hooks with no board
   * 'result' listener): its taker reads it during the call, and it stays valid until the next run.
   */
  liveReport: RunReport | undefined = undefined;
  /** Reused by every slice of this container (its runs never overlap). */
  readonly capture = new RunCapture(this);
  /** Reused options of vm.run (the Vm reads them during the call only). */
  private readonly runOpts: RunOptions = { context: undefined, entry: undefined };
  /** Cost class (index into COST_CLASSES) of each instruction slot, made on the first report. */
  private classOf: Uint8Array | undefined;
  private readonly classSums = new Float64Array(COST_CLASSES.length);
  /** µs per instruction of each class on the board's MCU (cost-model.ts's table as a vector). */
  private costs: Float64Array | undefined;
  /** The last estimate's label, kept while the estimate does not change (steady runs). */
  private labelUs = NaN;
  private label = '';
  /** The last result's low 32 bits as a signed BigInt (RunReport.r0Signed), made when it changes. */
  private signedLow = 0;
  private signedBig = 0n;

  constructor(
    readonly id: string,
    readonly spec: ContainerSpec,
    readonly tenant: string,
    readonly local: KvStore,
    vm: Vm,
    resolved: ResolvedImage,
    grants: Set<number>,
    ramBytes: number,
  ) {
    this.hook = spec.hook;
    this.vm = vm;
    this.resolved = resolved;
    this.grants = grants;
    this.ramBytes = ramBytes;
  }

  /** Options for a run on `context` (one object, reused). */
  runOptions(context: Uint8Array): RunOptions {
    this.runOpts.context = context;
    this.runOpts.entry = this.spec.entry;
    return this.runOpts;
  }

  /**
   * Instructions by cost class from the Vm's per-pc counters: cost-model.ts's countByClass with
   * each slot classified once per container instead of on every report.
   */
  countByClass(pcCounts: Int32Array, pcTaken: Int32Array | undefined, into?: ClassCounts): ClassCounts {
    const program = this.vm.program;
    let classOf = this.classOf;
    if (!classOf) {
      classOf = new Uint8Array(program.length);
      for (let pc = 0; pc < program.length; pc++) classOf[pc] = COST_CLASSES.indexOf(classifyInsn(program.opcode[pc]));
      this.classOf = classOf;
    }
    const sums = this.classSums;
    sums.fill(0);
    const n = Math.min(program.length, pcCounts.length);
    for (let pc = 0; pc < n; pc++) {
      const k = pcCounts[pc];
      if (k === 0) continue;
      const cl = classOf[pc];
      if (cl === JCOND_TAKEN) {
        const taken = Math.min(k, pcTaken ? pcTaken[pc] : 0);
        sums[JCOND_TAKEN] += taken;
        sums[JCOND_NOT_TAKEN] += k - taken;
      } else sums[cl] += k;
    }
    if (into) {
      into.alu_reg = sums[0]; into.alu_imm = sums[1]; into.mul_imm = sums[2]; into.shift_imm = sums[3]; into.div_imm = sums[4];
      into.load_dw = sums[5]; into.store_imm = sums[6]; into.store_reg = sums[7]; into.ja = sums[8];
      into.jcond_taken = sums[9]; into.jcond_not_taken = sums[10];
      return into;
    }
    return {
      alu_reg: sums[0], alu_imm: sums[1], mul_imm: sums[2], shift_imm: sums[3], div_imm: sums[4], load_dw: sums[5],
      store_imm: sums[6], store_reg: sums[7], ja: sums[8], jcond_taken: sums[9], jcond_not_taken: sums[10],
    };
  }

  /** r0's low 32 bits, signed, as a BigInt: reused while a hook keeps returning the same value. */
  r0Signed(low32: number): bigint {
    if (low32 !== this.signedLow) {
      this.signedLow = low32;
      this.signedBig = BigInt(low32);
    }
    return this.signedBig;
  }

  /** cost-model.ts's estimateUs of the counts last returned by countByClass. */
  estimateUs(column: CostColumn): number {
    let costs = this.costs;
    if (!costs) {
      const t = COST_TABLE[column];
      costs = this.costs = Float64Array.from(COST_CLASSES, (c) => t[c]);
    }
    const sums = this.classSums;
    let us = 0;
    for (let k = 0; k < sums.length; k++) us += sums[k] * costs[k];
    return us;
  }

  /** cost-model.ts's estimate label, formatted again only when the estimate changed. */
  estimateLabel(us: number, column: CostColumn): string {
    if (us !== this.labelUs) {
      this.labelUs = us;
      this.label = `≈${formatUs(us)} on ${COST_COLUMN_LABEL[column]} (estimated)`;
    }
    return this.label;
  }

  get name(): string {
    return this.spec.name ?? this.id;
  }

  get quarantineAfter(): number {
    return this.spec.quarantineAfter ?? DEFAULT_QUARANTINE_AFTER;
  }

  get state(): ContainerState {
    if (this.quarantined) return 'quarantined';
    if (this.busy) return 'running'; // a run in flight, or messages about to start one
    if (this.suspended) return 'suspended';
    return this.hook ? 'idle' : 'detached';
  }

  /** Record a finished slice. Returns true when this fault just quarantined the container. */
  recordOutcome(status: RunStatus): boolean {
    if (status === 'exit') this.faults.consecutive = 0;
    if (status !== 'fault') return false;
    this.faults.consecutive++;
    this.faults.total++;
    if (!this.quarantined && this.quarantineAfter > 0 && this.faults.consecutive >= this.quarantineAfter) {
      this.quarantined = true;
      return true;
    }
    return false;
  }

  /** Record the run a report describes as the last one (Board.lastRun). */
  noteRun(r: RunReport): void {
    this.lastR0 = r.r0;
    this.lastInsns = r.insns;
    this.lastUs = r.estimatedUs;
    this.hasRun = true;
  }

  /** Carry what the displays show over from the container this one replaces. */
  takeLastRun(old: Container): void {
    this.lastR0 = old.lastR0;
    this.lastInsns = old.lastInsns;
    this.lastUs = old.lastUs;
    this.hasRun = old.hasRun;
  }

  /** Busy for new work: a run in flight or messages waiting for their turn. */
  get busy(): boolean {
    return this.flight !== undefined || this.queue.length > 0;
  }

  /** Forget a suspended run (a new message starts a new run). */
  abandonSuspension(): void {
    this.cancelWakeup?.();
    this.cancelWakeup = undefined;
    this.wakeupAtUs = undefined;
    this.suspended = false;
    this.slice = 0;
  }

  /**
   * Forget a suspended or preempted run (detach, replace, remove, stop); returns the messages
   * that were waiting on it, for the board to refuse.
   */
  abandonRun(): FlowJob[] {
    this.abandonSuspension();
    const f = this.flight;
    this.flight = undefined;
    f?.cancel();
    this.queueTurn?.cancel();
    this.queueTurn = undefined;
    const waiting = this.queue.splice(0);
    if (f?.job) waiting.unshift(f.job);
    return waiting;
  }

  reset(): void {
    this.quarantined = false;
    this.faults.consecutive = 0;
    this.faults.total = 0;
  }
}
