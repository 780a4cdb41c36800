/**
 * An emulated RIOT board running femto-containers (issue 3): profiles, SAUL devices, hooks,
 * helpers, key-value stores, tenants and the MCU cost model, behind one EventEmitter the Node-RED
 * nodes and `femto sim` drive. Nothing a container does throws out of the board: every run ends in
 * a RunReport (exit, suspended or fault). A board built with `slice` never holds its caller longer
 * than a slice: a longer run is preempted and goes on in later turns of the event loop.
 *
 * ## API (stable; the nodes, femto.h's examples and `femto sim` build on it)
 *
 *   const board = new Board({ profile: 'nrf52840dk', clock?: new VirtualClock(), storeCapacity?: 16,
 *                             seed?: 1, name?: 'board', globalScope?: 'board' | 'tenant',
 *                             vmProfile?: 'riot-2022' | 'rfc9669', tier?: 'interp' | 'compiled' | 'auto',
 *                             timerPeriodMs?: 1000, console?: { maxBytes: 4096, maxLines: 64 },
 *                             schedTickMs?: 100, minWakeupUs?: 1000, slots?: { count, size },
 *                             containerRamBytes?: n, slice?: { ms?: 5, insns? }, queueLimit?: 32 })
 *   board.install(spec: ContainerSpec): ContainerInfo     throws VerifyError (rejected program),
 *                                                          FormatError (bad image), BoardError
 *                                                          (slot, RAM, id, hook, entry)
 *   board.replaceImage(id, image): ContainerInfo           verified again; a rejected image leaves
 *                                                          the old one installed and running; an
 *                                                          accepted one starts with fresh .data and
 *                                                          fault counters, keeps id, hook, local store
 *   board.remove(id) · board.detach(id) · board.attach(id, hook) · board.resetContainer(id)
 *   board.container(id) / board.containers(): ContainerInfo[]
 *   board.setPolicy(hook, policy) / board.policy(hook)
 *   board.addDevice(spec) · board.device(ref) · board.devices() · board.setSensor(ref, value)
 *   board.store('global') · board.store('tenant', tenant) · board.store('local', containerId): KvStore
 *
 *   Firing hooks (each returns what ran; synchronous, but on a slicing board a run that uses up
 *   its slice is reported 'preempted' and ends later with its 'result'):
 *   board.sampleSensor(ref?): HookResult       reads the device now, runs the 'sensor' hook
 *   board.pressButton(ref?) / releaseButton(ref?): HookResult
 *   board.fireTimer(): HookResult
 *   board.coapRequest(method, path, payload?): CoapResponse   (4.04 when no container serves the path;
 *                                                   runs to the end in this call: CLI and tests)
 *   board.schedTick(): HookResult              the modelled scheduler switches threads
 *   board.runFlow(containerId, payload): RunReport     one 'flow' container on one message, to
 *                                                       its end in this call (a suspended run of it
 *                                                       is abandoned: the message starts a new run)
 *
 *   Sliced (what Node-RED uses; settle when the runs end, possibly many turns later):
 *   board.flow(containerId, payload): Promise<RunReport>   like runFlow; a message to a busy
 *                                  container waits behind its run, in order; a full queue refuses it
 *                                  (BoardError 'busy', naming the dropped message); removing,
 *                                  replacing or stopping cancels (BoardError 'cancelled')
 *   board.coapRequestAsync(method, path, payload?): Promise<{ response, result: HookResult }>
 *   board.fireFlow(payload): HookResult                 every 'flow' container, by policy
 *   board.start() / board.stop()   periodic sensor sampling (per-device periodMs), the timer hook,
 *                                  scheduler ticks; stop() releases every timer, suspended runs too,
 *                                  and cancels runs in flight
 *
 *   Events: 'console' {container, line, atUs} · 'actuator' {device, name, type, value, previous,
 *   container?} · 'store' StoreChange · 'sample' {device, name, type, data, values} ·
 *   'button' {device, name, pressed} · 'result' RunReport (every run or resumed slice when it ends,
 *   faults included) · 'fault' RunReport (faults only) · 'quarantine' {container, faults} ·
 *   'progress' {container, insns, budget, turns} (a run in flight after each turn) · 'cancelled'
 *   {container, reason} (a run in flight dropped) · 'dropped' {container, queued} (a message
 *   refused, queue full) · 'change' (containers installed/removed/attached; for editors).
 *
 * ## Choices
 * - Containers on one hook run newest first (latest install or attach) under the hook's policy
 *   (hooks.ts); quarantined, suspended and running containers (a run in flight or messages
 *   queued) are skipped. A preempted run decides no policy: like a suspended one, it goes on alone.
 * - Slicing (`slice`): `{ ms }` cuts runs by wall time (Node-RED: 5 ms), `{ insns }` by
 *   instructions (deterministic: tests on a VirtualClock, where later turns run on the next
 *   advance at the same virtual time). The final report of a sliced run equals the unsliced one
 *   (instructions, classes, console, store writes); console and store events go out after each
 *   turn. Without `slice` every run goes to its end in one call (the CLI, `femto sim`).
 * - VM profile: `riot-2022` on the MCU profiles (exactly what RIOT's VM accepts, with its 200
 *   taken-branch budget per run slice), `rfc9669` on native; per container overridable.
 * - Events raised by helpers during a run (console lines, actuator and store changes) are queued
 *   and emitted right after the run, before its 'result': a listener reacting to them (and firing
 *   another hook) never re-enters a running VM.
 * - Console: printf output is split into lines, kept across the turns of a preempted run; a partial
 *   line is flushed at the end of each run slice. Each run's console is capped (bytes and lines,
 *   `console` option; console.ts), then one "… truncated" marker line; a printf costs time in
 *   proportion to its own text only.
 * - Instance RAM = 624 B (RIOT) + .data + 512 B per extra stack frame (local calls); the sum over
 *   installed containers must fit the profile's container RAM; an image must fit a slot and a free
 *   slot must exist.
 * - Time: one Clock (clock.ts). With a VirtualClock the board is fully deterministic.
 */
import { EventEmitter } from 'node:events';
import { VmFault, FaultCode, type FemtoError } from '../../vm/errors';
import { Vm, STACK_FRAME_SIZE, type RunResult, type SliceOptions, type Tier } from '../../vm/vm';
import { DEFAULT_MAX_CALL_DEPTH, type Profile } from '../../vm/verifier';
import type { RiotImage } from '../../vm/image';
import { every, VirtualClock, WallClock, type Clock, type TimerHandle } from './clock';
import {
  COAP_BUF_SIZE, COAP_METHODS, COAP_OPT_CONTENT_FORMAT, COAP_OPT_URI_PATH, COAP_PKT_SIZE, codeText,
  encodeCoap, parseCoap, writePacketStruct, type CoapResponse,
} from './coap';
import {
  Container, RunCapture, computeGrants, resolveImage, DEFAULT_TENANT, type ContainerSpec, type ContainerState,
  type FaultCounters, type FlowJob, type GlobalScope, type InFlight,
} from './container';
import { RunConsole, consoleLimits, type ConsoleLimits } from './console';
import { emptyCounts, type ClassCounts } from './cost-model';
import { buildHelpers, HELPER_NAME_BY_ID } from './helpers';
import {
  CONTRACTS, HOOKS, buttonContext, coapContext, flowContext, isHook, policyStops, schedContext,
  sensorContext, timerContext, type HookName, type HookPolicy,
} from './hooks';
import { getProfile, INSTANCE_RAM, type BoardProfile } from './profiles';
import { fromPhydat, isSensor, SAUL, SaulRegistry, type Phydat, type SaulDevice, type SaulDeviceSpec } from './saul';
import { external, makeSource, type Source, type SourceSpec } from './sources';
import { DEFAULT_STORE_CAPACITY, KvStore, type StoreChange, type StoreScope } from './stores';
import { workerTranslator } from '../tier-worker/translator';
import type { Translator } from '../../vm/compiled-tier';

export { VirtualClock, WallClock } from './clock';
export type { ContainerSpec } from './container';

export interface BoardOptions {
  profile: string | BoardProfile;
  clock?: Clock;
  storeCapacity?: number;
  /** Default seed for simulated random sources. */
  seed?: number;
  name?: string;
  globalScope?: GlobalScope;
  vmProfile?: Profile;
  /** Execution tier of every container's VM (default: the VM's `auto`). */
  tier?: Tier;
  timerPeriodMs?: number;
  schedTickMs?: number;
  minWakeupUs?: number;
  slots?: { count: number; size: number };
  containerRamBytes?: number;
  /** Caps on one run's console (default 4096 bytes, 64 lines); see console.ts. */
  console?: Partial<ConsoleLimits>;
  /** Preempt runs (see Choices); default: every run to its end in one call. */
  slice?: SliceOptions;
  /** Flow messages that may wait behind a busy container (default 32). */
  queueLimit?: number;
  /**
   * Translate hot programs to WebAssembly on a worker thread (tier-up in the background, runs
   * interpreted until the module is ready). Default: on with a wall clock (Node-RED), off with a
   * VirtualClock (deterministic tier-up for tests).
   */
  offThreadCompile?: boolean;
}

export const DEFAULT_QUEUE_LIMIT = 32;

export type BoardErrorCode = 'slot' | 'ram' | 'id' | 'hook' | 'entry' | 'not-found' | 'payload' | 'busy' | 'cancelled' | 'quarantined';

/** A refusal by the board (not by the verifier): no slot, no RAM, bad id or hook. */
export class BoardError extends Error {
  constructor(readonly code: BoardErrorCode, message: string) {
    super(message);
    this.name = 'BoardError';
  }
  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message };
  }
}

export interface FaultInfo {
  code: number;
  pc: number;
  insn?: string;
  message: string;
  [k: string]: unknown;
}

export interface RunReport {
  container: string;
  name: string;
  tenant: string;
  hook: HookName | 'direct';
  /** 'preempted': the run goes on in a later turn (only in a hook's or flow()'s first answer). */
  status: 'exit' | 'fault' | 'suspended' | 'preempted';
  /** r0 as unsigned 64-bit; `r0Signed` its low 32 bits as a signed int (RIOT's `int` result). */
  r0: bigint;
  r0Signed: bigint;
  /** Instructions in this slice; `totalInsns` since the run started (across resumes). */
  insns: number;
  totalInsns: number;
  /** 1 for the first slice of a run, 2… for resumed slices. */
  slice: number;
  /** Turns of the event loop this slice took (1 unless the board preempted it). */
  turns: number;
  byClass: ClassCounts;
  /** Estimated time of this slice on the board's real MCU (µs) — an estimate, see cost-model.ts. */
  estimatedUs: number;
  estimated: true;
  estimateLabel: string;
  console: string[];
  storeWrites: StoreChange[];
  fault?: FaultInfo;
  faults: FaultCounters;
  quarantined: boolean;
  /** Board time when the slice ran (µs). */
  atUs: number;
}

export interface HookResult {
  hook: HookName;
  reports: RunReport[];
  /** Container whose result stopped the hook under its policy. */
  stoppedBy?: string;
  /** Containers skipped (quarantined, suspended, running; filtered out is not listed). */
  skipped: { container: string; reason: ContainerState | 'cancelled' }[];
}

export interface ContainerInfo {
  id: string;
  name: string;
  tenant: string;
  hook?: HookName;
  state: ContainerState;
  grants: string[];
  helpersUsed: string[];
  budget: number;
  profile: Profile;
  imageBytes: number;
  ramBytes: number;
  faults: FaultCounters;
  runs: number;
  globalScope: GlobalScope;
  path?: string;
  device?: string | number;
  warnings: string[];
  /** A run in flight (state 'running'): how far it is. */
  run?: { insns: number; budget: number; turns: number };
  /** Flow messages waiting behind it, and refused so far for a full queue. */
  queued: number;
  dropped: number;
}

export interface ActuatorEvent {
  device: number;
  name: string;
  type: number;
  value: number[];
  previous: number[];
  container?: string;
}

type SliceKind = 'run' | 'resume' | 'continue';

/** A report's console or store writes when the run had none (shared, so frozen). */
const NO_LINES = Object.freeze([]) as unknown as string[];
const NO_WRITES = Object.freeze([]) as unknown as StoreChange[];

/** What a hook gives each container: the same context bytes for all, or bytes made per container. */
type Prepare = Uint8Array | ((c: Container) => Uint8Array | undefined);

const DEFAULT_THREADS = [
  { pid: 1, name: 'idle' },
  { pid: 2, name: 'main' },
  { pid: 3, name: 'gcoap' },
];

export class Board extends EventEmitter {
  readonly profile: BoardProfile;
  readonly clock: Clock;
  readonly name: string;
  readonly saul: SaulRegistry;
  readonly storeCapacity: number;
  readonly seed: number;
  readonly globalScope: GlobalScope;
  readonly vmProfile: Profile;
  readonly tier: Tier | undefined;
  readonly timerPeriodMs: number;
  readonly schedTickMs: number;
  readonly minWakeupUs: number;
  readonly slots: { count: number; size: number };
  readonly containerRamBytes: number;
  readonly consoleLimits: ConsoleLimits;
  readonly sliceOptions: SliceOptions | undefined;
  readonly queueLimit: number;
  private readonly translate: Translator | undefined;
  readonly threads = DEFAULT_THREADS.map((t) => ({ ...t }));

  private readonly globalStore: KvStore;
  private readonly tenantStores = new Map<string, KvStore>();
  private readonly list = new Map<string, Container>();
  private readonly policies = new Map<HookName, HookPolicy>();
  private nextId = 1;
  private seqCounter = 0;
  private timers: TimerHandle[] = [];
  private deviceTimers = new Map<number, TimerHandle>();
  private running = false;
  private timerTick = 0;
  private currentThread = 0;
  private coapMessageId = 0;
  private capture: RunCapture | undefined;
  /** Containers per hook, newest first; rebuilt after any install, removal or (de)attachment. */
  private readonly hookLists = new Map<HookName, Container[]>();
  /** Hook firings in progress (a listener may fire a hook from inside another one). */
  private firing = 0;
  /** Context bytes of an outermost sensor firing (vm.run copies them in; nested firings allocate). */
  private readonly sensorCtx = new Uint8Array(16);

  constructor(opts: BoardOptions) {
    super();
    // Every container node and the sidebar registry listen here: a board with many containers is
    // normal, not a leak.
    this.setMaxListeners(0);
    this.profile = typeof opts.profile === 'string' ? getProfile(opts.profile) : opts.profile;
    this.clock = opts.clock ?? new WallClock();
    this.name = opts.name ?? this.profile.name;
    this.storeCapacity = opts.storeCapacity ?? DEFAULT_STORE_CAPACITY;
    this.seed = opts.seed ?? 1;
    this.globalScope = opts.globalScope ?? 'board';
    this.vmProfile = opts.vmProfile ?? (this.profile.costColumn === 'native' ? 'rfc9669' : 'riot-2022');
    this.tier = opts.tier;
    this.timerPeriodMs = opts.timerPeriodMs ?? 1000;
    this.schedTickMs = opts.schedTickMs ?? 100;
    this.minWakeupUs = opts.minWakeupUs ?? 1000;
    this.slots = opts.slots ?? this.profile.slots;
    this.containerRamBytes = opts.containerRamBytes ?? this.profile.containerRamBytes;
    this.consoleLimits = consoleLimits(opts.console);
    this.sliceOptions = opts.slice;
    this.queueLimit = opts.queueLimit ?? DEFAULT_QUEUE_LIMIT;
    this.translate = (opts.offThreadCompile ?? !(this.clock instanceof VirtualClock)) ? workerTranslator : undefined;
    this.globalStore = this.watch(new KvStore('global', this.name, this.storeCapacity));
    this.saul = new SaulRegistry((dev, value, previous) => this.onActuator(dev, value, previous));
    for (const spec of this.profile.devices()) this.saul.add(spec);
  }

  // ---- stores ---------------------------------------------------------------------------------

  /** The store of a scope: global (board), tenant (by name, created on first use), local (by container id). */
  store(scope: StoreScope, owner?: string): KvStore {
    if (scope === 'global') return this.globalStore;
    if (scope === 'tenant') return this.tenantStore(owner ?? DEFAULT_TENANT);
    const c = owner === undefined ? undefined : this.list.get(owner);
    if (!c) throw new BoardError('not-found', `no container "${owner}" for its local store`);
    return c.local;
  }

  tenantStore(tenant: string): KvStore {
    let s = this.tenantStores.get(tenant);
    if (!s) {
      s = this.watch(new KvStore('tenant', tenant, this.storeCapacity));
      this.tenantStores.set(tenant, s);
    }
    return s;
  }

  tenants(): string[] {
    return [...new Set([...this.tenantStores.keys(), ...[...this.list.values()].map((c) => c.tenant)])].sort();
  }

  private watch(s: KvStore): KvStore {
    s.on('change', (ch: StoreChange) => {
      const cap = this.capture;
      if (cap) {
        if (ch.by === cap.container.id) (cap.storeWrites ??= []).push(ch);
        (cap.events ??= []).push(['store', ch]);
      } else {
        this.emit('store', ch);
      }
    });
    return s;
  }

  // ---- devices --------------------------------------------------------------------------------

  addDevice(spec: Omit<SaulDeviceSpec, 'source'> & { source?: Source | SourceSpec }): SaulDevice {
    const src = spec.source;
    const source = src === undefined ? undefined : 'sample' in src ? src : makeSource(src, this.seed);
    const dev = this.saul.add({ ...spec, source, simulated: spec.simulated ?? true });
    if (this.running) this.scheduleDevice(dev);
    this.emit('change', { kind: 'device', device: dev.index });
    return dev;
  }

  devices(): readonly SaulDevice[] {
    return this.saul.devices;
  }

  device(ref: string | number): SaulDevice {
    const d = this.saul.find(ref);
    if (!d) throw new BoardError('not-found', `no SAUL device ${typeof ref === 'number' ? `#${ref}` : `"${ref}"`} on ${this.name}`);
    return d;
  }

  /** Set a sensor's value from outside (its source becomes an external one if it was not). */
  setSensor(ref: string | number, value: number | number[]): void {
    const d = this.device(ref);
    if (!isSensor(d.type) || d.type === SAUL.SENSE_BTN) throw new BoardError('not-found', `"${d.name}" is not a sensor`);
    if (d.source?.kind === 'external') (d.source as ReturnType<typeof external>).set(value);
    else d.source = external(value);
  }

  /** Read a device now, as a container would (physical values too). */
  readDevice(ref: string | number): { data: Phydat; values: number[] } {
    const d = this.device(ref);
    const r = this.saul.read(d, this.clock.nowUs());
    if (typeof r === 'number') throw new BoardError('not-found', `reading "${d.name}" failed (${r})`);
    return { data: r.data, values: fromPhydat(r.data, r.dims) };
  }

  private onActuator(dev: SaulDevice, value: number[], previous: number[]): void {
    const ev: ActuatorEvent = { device: dev.index, name: dev.name, type: dev.type, value, previous, container: this.capture?.container.id };
    if (this.capture) (this.capture.events ??= []).push(['actuator', ev]);
    else this.emit('actuator', ev);
  }

  // ---- containers -----------------------------------------------------------------------------

  install(spec: ContainerSpec): ContainerInfo {
    if (spec.hook !== undefined && !isHook(spec.hook)) throw new BoardError('hook', `unknown hook "${String(spec.hook)}" (hooks: ${HOOKS.join(', ')})`);
    let id = spec.id;
    if (id === undefined) {
      do id = `c${this.nextId++}`; while (this.list.has(id));
    } else if (typeof id !== 'string' || id === '' || this.list.has(id)) {
      throw new BoardError('id', `container id "${String(id)}" is ${this.list.has(String(id)) ? 'taken' : 'invalid'}`);
    }
    if (this.list.size >= this.slots.count) {
      throw new BoardError('slot', `no free container slot on ${this.name} (${this.slots.count} slots, all used)`);
    }
    const tenant = spec.tenant ?? DEFAULT_TENANT;
    const local = this.watch(new KvStore('local', id, this.storeCapacity));
    const c = this.build(id, spec, tenant, local, spec.image, 0);
    c.seq = ++this.seqCounter;
    this.list.set(id, c);
    this.hookLists.clear();
    this.tenantStore(tenant);
    this.emit('change', { kind: 'install', container: id });
    return this.info(c);
  }

  /** Build (and verify) a container; nothing on the board changes if this throws. */
  private build(id: string, spec: ContainerSpec, tenant: string, local: KvStore, image: ContainerSpec['image'], ramFreedBy: number): Container {
    const resolved = resolveImage(image);
    if (resolved.size > this.slots.size) {
      throw new BoardError('slot', `image of ${resolved.size} B does not fit a ${this.slots.size} B slot on ${this.name}`);
    }
    const grants = computeGrants(spec.hook, spec.helpers);
    const holder: { c?: Container } = {};
    const scope = spec.globalScope ?? this.globalScope;
    const helpers = buildHelpers({
      clock: this.clock,
      saul: this.saul,
      local,
      global: scope === 'tenant' ? this.tenantStore(tenant) : this.globalStore,
      writer: id,
      minWakeupUs: this.minWakeupUs,
      print: (text) => this.print(text),
      wakeupAt: (atUs) => {
        if (holder.c) holder.c.wakeupAtUs = atUs;
      },
    });
    for (const k of [...helpers.keys()]) if (!grants.has(k)) helpers.delete(k);
    const profile = spec.profile ?? this.vmProfile;
    const vm = new Vm({
      image: resolved.image,
      text: resolved.text,
      data: resolved.data,
      rodata: resolved.rodata,
      profile,
      budget: spec.budget,
      branchBudget: spec.branchBudget,
      helpers,
      grants,
      countPerPc: true,
      reuseResult: true, // each result is read into the report before the next run
      translate: this.translate,
      tier: this.tier,
    });
    try {
      vm.entrySlot(spec.entry);
    } catch (e) {
      throw new BoardError('entry', (e as Error).message);
    }
    const frames = vm.info.hasLocalCalls ? DEFAULT_MAX_CALL_DEPTH : 0;
    const ram = INSTANCE_RAM + resolved.data.length + frames * STACK_FRAME_SIZE;
    const used = [...this.list.values()].reduce((s, x) => s + x.ramBytes, 0) - ramFreedBy;
    if (used + ram > this.containerRamBytes) {
      throw new BoardError('ram', `container needs ${ram} B of RAM; ${this.containerRamBytes - used} B of ${this.containerRamBytes} B left on ${this.name}`);
    }
    const c = new Container(id, spec, tenant, local, vm, resolved, grants, ram);
    holder.c = c;
    return c;
  }

  /** Install a new image in place: verified first; on rejection the old image stays. */
  replaceImage(id: string, image: Uint8Array | RiotImage | string): ContainerInfo {
    const old = this.get(id);
    const next = this.build(id, { ...old.spec, hook: old.hook, image }, old.tenant, old.local, image, old.ramBytes);
    this.abandon(old, 'its image was replaced');
    next.seq = old.seq;
    next.hook = old.hook;
    this.list.set(id, next);
    this.hookLists.clear();
    this.emit('change', { kind: 'replace', container: id });
    return this.info(next);
  }

  remove(id: string): void {
    const c = this.get(id);
    this.abandon(c, 'it was removed');
    this.list.delete(id);
    this.hookLists.clear();
    this.emit('change', { kind: 'remove', container: id });
  }

  /** Take a container off its hook (it stays installed, its suspended run is dropped). */
  detach(id: string): ContainerInfo {
    const c = this.get(id);
    this.abandon(c, 'it was detached');
    c.hook = undefined;
    this.hookLists.clear();
    this.emit('change', { kind: 'detach', container: id });
    return this.info(c);
  }

  /**
   * Attach to a hook. The grants are recomputed for the new hook's contract and the program is
   * verified against them (a VerifyError leaves the container where it was).
   */
  attach(id: string, hook: HookName): ContainerInfo {
    if (!isHook(hook)) throw new BoardError('hook', `unknown hook "${String(hook)}"`);
    const c = this.get(id);
    const next = this.build(id, { ...c.spec, hook }, c.tenant, c.local, c.spec.image, c.ramBytes);
    this.abandon(c, `it moved to the ${hook} hook`);
    next.seq = ++this.seqCounter;
    next.faults.consecutive = c.faults.consecutive;
    next.faults.total = c.faults.total;
    next.quarantined = c.quarantined;
    next.runs = c.runs;
    this.list.set(id, next);
    this.hookLists.clear();
    this.emit('change', { kind: 'attach', container: id });
    return this.info(next);
  }

  /** Clear quarantine and fault counters. */
  resetContainer(id: string): ContainerInfo {
    const c = this.get(id);
    c.reset();
    this.emit('change', { kind: 'reset', container: id });
    return this.info(c);
  }

  container(id: string): ContainerInfo {
    return this.info(this.get(id));
  }

  containers(): ContainerInfo[] {
    return [...this.list.values()].sort((a, b) => b.seq - a.seq).map((c) => this.info(c));
  }

  /** The container's Vm (tests, tools). */
  vmOf(id: string): Vm {
    return this.get(id).vm;
  }

  private get(id: string): Container {
    const c = this.list.get(id);
    if (!c) throw new BoardError('not-found', `no container "${id}" on ${this.name}`);
    return c;
  }

  private info(c: Container): ContainerInfo {
    return {
      id: c.id,
      name: c.name,
      tenant: c.tenant,
      hook: c.hook,
      state: c.state,
      grants: [...c.grants].sort((a, b) => a - b).map((g) => HELPER_NAME_BY_ID[g] ?? String(g)),
      helpersUsed: c.vm.info.helpersUsed.map((g) => HELPER_NAME_BY_ID[g] ?? String(g)),
      budget: c.vm.budget,
      profile: c.vm.profile,
      imageBytes: c.resolved.size,
      ramBytes: c.ramBytes,
      faults: { ...c.faults },
      runs: c.runs,
      globalScope: c.spec.globalScope ?? this.globalScope,
      path: c.spec.path,
      device: c.spec.device,
      warnings: [...c.vm.info.warnings],
      run: c.flight ? { insns: c.flight.insns, budget: c.flight.budget, turns: c.flight.turns } : undefined,
      queued: c.queue.length,
      dropped: c.dropped,
    };
  }

  /** Drop a container's suspended or preempted run and refuse the messages waiting on it. */
  private abandon(c: Container, why: string): void {
    const running = c.flight !== undefined;
    const waiting = c.abandonRun();
    for (const j of waiting) j.reject(new BoardError('cancelled', `container "${c.id}" did not run this message: ${why}`));
    if (running) this.emit('cancelled', { container: c.id, reason: why });
  }

  setPolicy(hook: HookName, policy: HookPolicy): void {
    if (!isHook(hook)) throw new BoardError('hook', `unknown hook "${String(hook)}"`);
    this.policies.set(hook, policy);
  }

  policy(hook: HookName): HookPolicy {
    return this.policies.get(hook) ?? CONTRACTS[hook].defaultPolicy;
  }

  // ---- running --------------------------------------------------------------------------------

  private print(text: string): void {
    const cap = this.capture;
    if (cap) this.consoleOf(cap).write(text);
  }

  /** The run's console, made on its first printf (most runs print nothing). */
  private consoleOf(cap: RunCapture): RunConsole {
    const sink = (cap.sink ??= (line) => this.consoleLine(cap, line));
    return (cap.out ??= new RunConsole(this.consoleLimits, sink));
  }

  private consoleLine(cap: RunCapture, line: string): void {
    (cap.console ??= []).push(line);
    (cap.events ??= []).push(['console', { container: cap.container.id, line, atUs: this.clock.nowUs() }]);
  }

  /**
   * Run, resume or continue one slice of a container with every event captured; never throws.
   * `whole`: to the end in this call whatever the board's slicing (the synchronous API). A slice
   * the VM preempted leaves the run in flight (continued on the next turn) and is reported
   * 'preempted', without a 'result'; `waiter` is answered when the run really ends.
   */
  private slice(c: Container, hook: HookName | 'direct', kind: SliceKind, context: Uint8Array | undefined, whole = false,
    waiter?: FlowJob): RunReport {
    const carried = kind === 'continue' ? c.flight : undefined;
    // A continued turn keeps the run's console (one cap for the whole run), now feeding this turn.
    const cap = c.capture;
    cap.reset(carried);
    const outer = this.capture;
    this.capture = cap;
    c.running = true;
    c.wakeupAtUs = undefined;
    if (kind === 'run') c.slice = 1;
    else if (kind === 'resume') c.slice++;
    c.vm.slicing = whole ? undefined : this.sliceOptions;
    let res: RunResult;
    try {
      res = kind === 'run' ? c.vm.run(c.runOptions(context!)) : kind === 'resume' ? c.vm.resume(0) : c.vm.continue();
    } catch (e) {
      // The VM promises not to throw; if it ever does, it is this container's fault report.
      res = { status: 'fault', r0: 0n, insns: 0, totalInsns: 0, fault: new VmFault(FaultCode.ILLEGAL_INSTRUCTION, `internal error: ${(e as Error)?.message ?? String(e)}`, 0) };
    } finally {
      c.running = false;
      this.capture = outer;
    }
    const turns = (carried?.turns ?? 0) + 1;
    if (res.status === 'preempted') return this.inFlight(c, hook, res, cap, carried, turns, waiter);
    c.flight = undefined;
    cap.out?.finish();
    if (res.status !== 'suspended') c.runs++;
    const quarantinedNow = c.recordOutcome(res.status);
    const report = this.report(c, hook, res, cap, turns);
    if (res.status === 'suspended') {
      c.suspended = true;
      c.runHook = hook;
      this.scheduleResume(c, c.wakeupAtUs ?? this.clock.nowUs() + this.minWakeupUs);
    } else {
      c.suspended = false;
      c.runHook = undefined;
    }
    if (outer) {
      // A run inside another run's listener chain cannot happen (events are queued), but a host
      // calling the board from a helper-triggered path would land here: queue behind the outer run.
      const q = (outer.events ??= []);
      if (cap.events) q.push(...cap.events);
      q.push(['result', report]);
      if (report.status === 'fault') q.push(['fault', report]);
      if (quarantinedNow) q.push(['quarantine', { container: c.id, faults: { ...c.faults } }]);
    } else {
      if (cap.events) for (const [ev, payload] of cap.events) this.emitOut(ev, payload);
      this.emitOut('result', report);
      if (report.status === 'fault') this.emitOut('fault', report);
      if (quarantinedNow) this.emitOut('quarantine', { container: c.id, faults: { ...c.faults } });
    }
    (carried?.job ?? waiter)?.resolve(report);
    if (c.queue.length > 0) this.nextQueued(c);
    return report;
  }

  /** The report of a slice (also of a preempted one: how far it got). */
  private report(c: Container, hook: HookName | 'direct', res: RunResult, cap: RunCapture, turns: number): RunReport {
    const column = this.profile.costColumn;
    const byClass = res.pcCounts ? c.countByClass(res.pcCounts, res.pcTaken) : emptyCounts();
    const us = res.pcCounts ? c.estimateUs(column) : 0;
    const r0 = res.r0;
    return {
      container: c.id,
      name: c.name,
      tenant: c.tenant,
      hook,
      status: res.status,
      r0,
      r0Signed: c.r0Signed(c.vm.r0Low32),
      insns: res.insns,
      totalInsns: res.totalInsns,
      slice: c.slice,
      turns,
      byClass,
      estimatedUs: us,
      estimated: true,
      estimateLabel: c.estimateLabel(us, column),
      console: cap.console ?? NO_LINES,
      storeWrites: cap.storeWrites ?? NO_WRITES,
      fault: res.fault ? faultInfo(res.fault) : undefined,
      faults: { consecutive: c.faults.consecutive, total: c.faults.total },
      quarantined: c.quarantined,
      atUs: this.clock.nowUs(),
    };
  }

  /**
   * A preempted slice: keep what the run produced so far, send out its events (console lines
   * appear as they are printed), and go on with it on the next turn of the event loop.
   */
  private inFlight(c: Container, hook: HookName | 'direct', res: RunResult, cap: RunCapture, carried: InFlight | undefined,
    turns: number, waiter: FlowJob | undefined): RunReport {
    // The run goes on: its console and writes so far are carried to the next turn.
    const f: InFlight = carried ?? {
      hook, turns, insns: 0, budget: c.vm.progress.budget, cancel: () => undefined,
      console: (cap.console ??= []), out: this.consoleOf(cap), storeWrites: (cap.storeWrites ??= []), job: waiter,
    };
    f.turns = turns;
    f.insns = res.insns;
    c.flight = f;
    const h = this.clock.nextTurn(() => {
      if (c.flight === f && this.list.get(c.id) === c) this.slice(c, f.hook, 'continue', undefined);
    });
    f.cancel = () => h.cancel();
    const progress = { container: c.id, insns: f.insns, budget: f.budget, turns };
    if (this.capture) {
      const q = (this.capture.events ??= []);
      if (cap.events) q.push(...cap.events);
      q.push(['progress', progress]);
    } else {
      if (cap.events) for (const [ev, payload] of cap.events) this.emitOut(ev, payload);
      this.emitOut('progress', progress);
    }
    return this.report(c, hook, res, cap, turns);
  }

  private emitOut(ev: string, payload: unknown): void {
    this.emit(ev, payload);
  }

  private scheduleResume(c: Container, atUs: number): void {
    c.cancelWakeup?.();
    const h = this.clock.at(atUs, () => {
      c.cancelWakeup = undefined;
      if (!c.suspended || this.list.get(c.id) !== c) return;
      this.slice(c, c.runHook ?? 'direct', 'resume', undefined);
    });
    c.cancelWakeup = () => h.cancel();
  }

  /** Containers of a hook, newest first. */
  private onHook(hook: HookName): readonly Container[] {
    let l = this.hookLists.get(hook);
    if (!l) {
      l = [...this.list.values()].filter((c) => c.hook === hook).sort((a, b) => b.seq - a.seq);
      this.hookLists.set(hook, l); // never changed in place: a firing iterates the list it started with
    }
    return l;
  }

  /**
   * Run every eligible container of `hook` under its policy. `prepare` maps hook regions on the
   * container's Vm and returns the context bytes (or undefined to leave the container out).
   */
  private fire(hook: HookName, prepare: Prepare, after?: (c: Container, r: RunReport) => boolean, whole = false, device?: SaulDevice): HookResult {
    const result: HookResult = { hook, reports: [], skipped: [] };
    const list = this.onHook(hook);
    this.firing++;
    try {
      for (let k = 0; k < list.length; k++) {
        const c = list[k];
        const report = this.fireOne(c, hook, prepare, whole, result, device);
        if (report && this.hookStops(c, report, result, after)) break;
      }
    } finally {
      this.firing--;
    }
    return result;
  }

  /**
   * `fire`, with every run awaited to its end before the policy looks at it (a preempted run
   * decides the policy when it ends; the synchronous `fire` cannot wait for it).
   */
  private async fireAsync(hook: HookName, prepare: Prepare, after?: (c: Container, r: RunReport) => boolean): Promise<HookResult> {
    const result: HookResult = { hook, reports: [], skipped: [] };
    for (const c of this.onHook(hook)) {
      if (this.list.get(c.id) !== c) continue; // removed or replaced while an earlier one ran
      let report = this.fireOne(c, hook, prepare, false, result);
      if (report?.status === 'preempted') {
        const waiting = report;
        report = await new Promise<RunReport | undefined>((resolve) => {
          const f = c.flight;
          if (!f) { resolve(waiting); return; }
          f.job = { payload: new Uint8Array(0), resolve, reject: () => resolve(undefined) };
        });
        if (!report) {
          result.reports.splice(result.reports.indexOf(waiting), 1);
          result.skipped.push({ container: c.id, reason: 'cancelled' });
          continue;
        }
        result.reports[result.reports.indexOf(waiting)] = report;
      }
      if (report && this.hookStops(c, report, result, after)) break;
    }
    return result;
  }

  /** One container of a hook firing: skipped, left out, or its first slice run. */
  private fireOne(c: Container, hook: HookName, prepare: Prepare, whole: boolean, result: HookResult, device?: SaulDevice): RunReport | undefined {
    if (c.quarantined || c.suspended || c.running || c.busy) {
      result.skipped.push({ container: c.id, reason: c.running || c.busy ? 'running' : c.state });
      return undefined;
    }
    if (device && !deviceMatches(c.spec.device, device)) return undefined;
    const ctx = typeof prepare === 'function' ? prepare(c) : prepare;
    if (!ctx) return undefined;
    const report = this.slice(c, hook, 'run', ctx, whole);
    result.reports.push(report);
    return report;
  }

  /** Whether the hook's policy stops after this report (a preempted or suspended one never does). */
  private hookStops(c: Container, report: RunReport, result: HookResult, after?: (c: Container, r: RunReport) => boolean): boolean {
    const policy = this.policy(result.hook);
    const stop = (after?.(c, report) ?? false) || (report.status === 'exit' && policyStops(policy, report.r0));
    if (stop) result.stoppedBy = c.id;
    return stop || policy === 'single';
  }

  /** Sample a sensor now (default: the first non-button sensor) and run the 'sensor' hook. */
  sampleSensor(ref?: string | number): HookResult {
    const dev = ref === undefined ? this.saul.devices.find((d) => isSensor(d.type) && d.type !== SAUL.SENSE_BTN) : this.device(ref);
    if (!dev) throw new BoardError('not-found', `no sensor on ${this.name}`);
    const r = this.saul.read(dev, this.clock.nowUs());
    const data: Phydat = typeof r === 'number' ? { val: [0, 0, 0], unit: dev.unit, scale: dev.scale } : r.data;
    if (this.listenerCount('sample') > 0) {
      this.emit('sample', { device: dev.index, name: dev.name, type: dev.type, data, values: fromPhydat(data, dev.dims) });
    }
    // Each run copies the context in: the outermost firing's bytes can be one reused buffer.
    const ctx = sensorContext(dev.index, dev.type, data, this.firing === 0 ? this.sensorCtx : undefined);
    return this.fire('sensor', ctx, undefined, false, dev);
  }

  pressButton(ref?: string | number): HookResult {
    return this.button(ref, true);
  }

  releaseButton(ref?: string | number): HookResult {
    return this.button(ref, false);
  }

  private button(ref: string | number | undefined, pressed: boolean): HookResult {
    const dev = ref === undefined ? this.saul.devices.find((d) => d.type === SAUL.SENSE_BTN) : this.device(ref);
    if (!dev || dev.type !== SAUL.SENSE_BTN) throw new BoardError('not-found', `no button ${ref === undefined ? '' : `"${ref}" `}on ${this.name}`);
    dev.actuator?.set([pressed ? 1 : 0]);
    this.emit('button', { device: dev.index, name: dev.name, pressed });
    return this.fire('button', buttonContext(dev.index, pressed), undefined, false, dev);
  }

  fireTimer(): HookResult {
    const ctx = timerContext(this.clock.nowUs(), this.timerPeriodMs, ++this.timerTick);
    return this.fire('timer', ctx);
  }

  /** One scheduler switch: from the current thread to the next (round robin over `threads`). */
  schedTick(): HookResult {
    const prev = this.threads[this.currentThread];
    this.currentThread = (this.currentThread + 1) % this.threads.length;
    const next = this.threads[this.currentThread];
    const ctx = schedContext(prev.pid, next.pid);
    return this.fire('sched', ctx);
  }

  /**
   * Run one 'flow' container on a message payload (a read-only copy in region "flow_payload"),
   * to its end in this call.
   */
  runFlow(containerId: string, payload: Uint8Array): RunReport {
    const c = this.flowContainer(containerId, payload);
    if (c.running || c.busy) throw new BoardError('busy', `container "${containerId}" is running`);
    c.abandonSuspension();
    const ctx = this.flowRegion(c, payload);
    return this.slice(c, 'flow', 'run', ctx, true);
  }

  /**
   * runFlow for hosts that must not be held: the run is sliced, and a message to a busy container
   * waits behind it (at most `queueLimit`). Settles when the message's run ends (exit, fault, or
   * its first suspension); rejects with a BoardError ('busy': queue full, 'cancelled': the
   * container was removed, replaced, moved or the board stopped before the run ended,
   * 'quarantined': a run ahead of it quarantined the container while it waited).
   */
  flow(containerId: string, payload: Uint8Array): Promise<RunReport> {
    return new Promise((resolve, reject) => {
      const c = this.flowContainer(containerId, payload);
      const job: FlowJob = { payload, resolve, reject };
      if (!c.busy && !c.running) {
        this.startFlow(c, job);
        return;
      }
      if (c.queue.length >= this.queueLimit) {
        c.dropped++;
        this.emit('dropped', { container: c.id, queued: c.queue.length });
        reject(new BoardError('busy', `container "${containerId}" is busy (a run in flight and ${c.queue.length} messages waiting, the most allowed): ` +
          `this message of ${payload.length} B was dropped`));
        return;
      }
      job.payload = payload.slice(); // the caller may reuse its buffer while the message waits
      c.queue.push(job);
    });
  }

  private flowContainer(containerId: string, payload: Uint8Array): Container {
    const c = this.get(containerId);
    if (c.hook !== 'flow') throw new BoardError('hook', `container "${containerId}" is ${c.hook ? `on the ${c.hook} hook` : 'detached'}, not on the flow hook`);
    if (payload.length > 65536) throw new BoardError('payload', `flow payload of ${payload.length} B exceeds 65536 B`);
    return c;
  }

  private startFlow(c: Container, job: FlowJob): void {
    if (c.hook !== 'flow') {
      job.reject(new BoardError('hook', `container "${c.id}" left the flow hook before this message's turn`));
      return;
    }
    if (c.quarantined) {
      // Quarantine takes the container out of service at once: a message that was waiting behind
      // the run that quarantined it is refused as it would be on arrival, not run.
      job.reject(new BoardError('quarantined', `container "${c.id}" was quarantined while this message waited`));
      this.nextQueued(c);
      return;
    }
    c.abandonSuspension(); // the new message starts a new run, as in runFlow
    const ctx = this.flowRegion(c, job.payload);
    this.slice(c, 'flow', 'run', ctx, false, job);
  }

  /** The next queued message starts on a later turn (one run per turn at most). */
  private nextQueued(c: Container): void {
    const h = this.clock.nextTurn(() => {
      if (c.queueTurn !== h) return;
      c.queueTurn = undefined;
      if (this.list.get(c.id) !== c || c.flight || c.running) return;
      const job = c.queue.shift();
      if (job) this.startFlow(c, job);
    });
    c.queueTurn?.cancel();
    c.queueTurn = h;
  }

  /** Run every 'flow' container (newest first, by policy) on a payload. */
  fireFlow(payload: Uint8Array): HookResult {
    if (payload.length > 65536) throw new BoardError('payload', `flow payload of ${payload.length} B exceeds 65536 B`);
    return this.fire('flow', (c) => this.flowRegion(c, payload));
  }

  private flowRegion(c: Container, payload: Uint8Array): Uint8Array {
    const r = c.vm.mapRegion('flow_payload', payload.slice(), false);
    return flowContext(r.base, payload.length);
  }

  /**
   * A CoAP request to the board's resource at `path`: the containers on the 'coap' hook serving it
   * run newest first (default policy abort-on-positive: the first that returns a PDU length
   * answers). No container for the path → 4.04; none answered → 5.00. Runs to the end in this
   * call (see coapRequestAsync for the sliced form).
   */
  coapRequest(method: string | number, path: string, payload: Uint8Array | string = new Uint8Array(0)): CoapResponse {
    const call = this.coapCall(method, path, payload);
    if (call.none) return call.none;
    this.fire('coap', call.prepare, call.after, true);
    return call.response();
  }

  /** coapRequest with sliced runs, each awaited before the policy decides on it. */
  async coapRequestAsync(method: string | number, path: string, payload: Uint8Array | string = new Uint8Array(0)): Promise<{ response: CoapResponse; result: HookResult }> {
    const call = this.coapCall(method, path, payload);
    if (call.none) return { response: call.none, result: { hook: 'coap', reports: [], skipped: [] } };
    const result = await this.fireAsync('coap', call.prepare, call.after);
    return { response: call.response(), result };
  }

  /** One CoAP request: the PDU, who serves it, how each container gets it and where the answer is. */
  private coapCall(method: string | number, path: string, payload: Uint8Array | string): {
    none?: CoapResponse;
    prepare: (c: Container) => Uint8Array | undefined;
    after: (c: Container, r: RunReport) => boolean;
    response: () => CoapResponse;
  } {
    const code = typeof method === 'number' ? method : COAP_METHODS[method.toUpperCase()];
    if (code === undefined) throw new BoardError('payload', `unknown CoAP method "${method}"`);
    const body = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
    const norm = normPath(path);
    this.coapMessageId = (this.coapMessageId + 1) & 0xffff;
    const mid = this.coapMessageId;
    const reqBytes = encodeCoap({
      type: 0, code, messageId: mid, token: Uint8Array.of(mid >> 8, mid & 0xff),
      options: norm.split('/').filter(Boolean).map((seg) => ({ num: COAP_OPT_URI_PATH, value: new TextEncoder().encode(seg) })),
      payload: body,
    });
    if (reqBytes.length > COAP_BUF_SIZE) throw new BoardError('payload', `CoAP request of ${reqBytes.length} B exceeds the ${COAP_BUF_SIZE} B PDU buffer`);
    const req = parseCoap(reqBytes);
    const serving = this.onHook('coap').filter((c) => c.spec.path === undefined || normPath(c.spec.path) === norm);
    let response: CoapResponse | undefined;
    const bufs = new Map<Container, { base: number }>();
    return {
      none: serving.length === 0 ? simpleResponse((4 << 5) | 4, 'no container serves ' + norm) : undefined,
      prepare: (c) => {
        if (!serving.includes(c)) return undefined;
        const pkt = c.vm.mapRegion('coap_pkt', COAP_PKT_SIZE, true);
        const buf = c.vm.mapRegion('coap_buf', COAP_BUF_SIZE, true);
        const padded = new Uint8Array(COAP_BUF_SIZE);
        padded.set(reqBytes);
        c.vm.memory.write(buf.base, padded);
        writePacketStruct(c.vm.memory, pkt.base, buf.base, req);
        bufs.set(c, buf);
        return coapContext(pkt.base, buf.base, COAP_BUF_SIZE);
      },
      after: (c, r) => {
        if (response || r.status !== 'exit' || r.r0Signed <= 0n || r.r0Signed > BigInt(COAP_BUF_SIZE)) return false;
        const pdu = c.vm.memory.read(bufs.get(c)!.base, Number(r.r0Signed));
        response = parseResponse(pdu, c.id);
        return false;
      },
      response: () => response ?? simpleResponse((5 << 5) | 0, 'no container answered'),
    };
  }

  // ---- clocked operation ----------------------------------------------------------------------

  get started(): boolean {
    return this.running;
  }

  /** Start periodic sensor sampling, the timer hook and scheduler ticks on the board clock. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const d of this.saul.devices) this.scheduleDevice(d);
    if (this.timerPeriodMs > 0) this.timers.push(every(this.clock, this.timerPeriodMs * 1000, () => this.fireTimer()));
    if (this.schedTickMs > 0) this.timers.push(every(this.clock, this.schedTickMs * 1000, () => {
      if (this.onHook('sched').length) this.schedTick();
    }));
  }

  private scheduleDevice(d: SaulDevice): void {
    if (!d.periodMs || !(d.periodMs > 0) || !isSensor(d.type) || d.type === SAUL.SENSE_BTN) return;
    this.deviceTimers.get(d.index)?.cancel();
    const periodUs = d.periodMs * 1000;
    this.deviceTimers.set(d.index, every(this.clock, periodUs, () => this.sampleSensor(d.index), this.firstSampleUs(d, periodUs)));
  }

  /**
   * When a device's first sample falls. On a virtual clock: one period after start (tests count
   * on it). On the wall clock: a phase derived from the board's name and the device, so boards
   * started together (a flow with hundreds of them) do not all sample in the same instant, as
   * real devices that booted at different times do not.
   */
  private firstSampleUs(d: SaulDevice, periodUs: number): number {
    if (this.clock instanceof VirtualClock) return periodUs;
    let h = 2166136261;
    for (const ch of `${this.name}/${d.index}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
    return 1 + ((h >>> 0) % periodUs);
  }

  /**
   * Stop every timer the board holds, suspended runs' wake-ups included (they are abandoned), and
   * cancel runs in flight and the messages waiting for them.
   */
  stop(): void {
    this.running = false;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    for (const t of this.deviceTimers.values()) t.cancel();
    this.deviceTimers.clear();
    for (const c of this.list.values()) this.abandon(c, 'the board stopped');
  }
}

function deviceMatches(filter: string | number | undefined, dev: SaulDevice): boolean {
  return filter === undefined || filter === dev.index || filter === dev.name;
}

function normPath(p: string): string {
  return '/' + p.split('/').filter(Boolean).join('/');
}

export function faultInfo(f: FemtoError | VmFault): FaultInfo {
  const j = f.toJSON() as FaultInfo;
  return { ...j, code: Number(j.code), pc: Number(j.pc ?? 0), message: String(j.message ?? f.message), text: f.message };
}

function simpleResponse(code: number, text: string): CoapResponse {
  const payload = new TextEncoder().encode(text);
  return { code, codeText: codeText(code), type: 2, options: [], payload, pdu: new Uint8Array(0) };
}

/** Parse the container's PDU leniently (a trailing payload marker with no payload is accepted). */
function parseResponse(pdu: Uint8Array, container: string): CoapResponse {
  const bytes = pdu.length > 0 && pdu[pdu.length - 1] === 0xff ? pdu.subarray(0, pdu.length - 1) : pdu;
  try {
    const m = parseCoap(bytes);
    const cf = m.options.find((o) => o.num === COAP_OPT_CONTENT_FORMAT);
    return {
      code: m.code, codeText: codeText(m.code), type: m.type, options: m.options, payload: m.payload, pdu: pdu.slice(), container,
      contentFormat: cf ? cf.value.reduce((v, b) => v * 256 + b, 0) : undefined,
    };
  } catch (e) {
    const r = simpleResponse((5 << 5) | 0, `malformed response from ${container}: ${(e as Error).message}`);
    return { ...r, pdu: pdu.slice(), container };
  }
}
