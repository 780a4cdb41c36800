/**
 * The emulated RIOT board: the one object the Node-RED nodes, `femto sim` and the tests drive. It
 * owns the profile, clock, SAUL devices and stores, and hands the rest to its parts: the container
 * table (container-table.ts, container-factory.ts), running (runner.ts, flow-queue.ts), hook
 * firing (hook-firing.ts), CoAP routing (coap-router.ts) and its timers (board-timers.ts). How the
 * pieces fit, and the path of one sensor event through them: docs/ARCHITECTURE.md.
 */
import { EventEmitter } from 'node:events';
import type { Profile } from '../../vm/verifier';
import type { RiotImage } from '../../vm/image';
import type { SliceOptions, Tier, Vm } from '../../vm/vm';
import { BoardError } from './board-error';
import { BoardTimers } from './board-timers';
import { VirtualClock, WallClock, type Clock } from './clock';
import type { CoapResponse } from './coap';
import { CoapRouter } from './coap-router';
import { consoleLimits, type ConsoleLimits } from './console';
import { DEFAULT_TENANT, type Container, type ContainerSpec, type GlobalScope } from './container';
import { buildContainer, type ContainerEnv } from './container-factory';
import { ContainerTable, containerInfo } from './container-table';
import { checkFlowPayload, flowRegion, type FlowQueue } from './flow-queue';
import { HookFiring } from './hook-firing';
import { HOOKS, buttonContext, isHook, schedContext, sensorContext, timerContext, type HookName, type HookPolicy } from './hooks';
import { getProfile, type BoardProfile } from './profiles';
import type { ActuatorEvent, ContainerInfo, HookResult, RunReport } from './results';
import { Runner } from './runner';
import { fromPhydat, isSensor, SAUL, SaulRegistry, type Phydat, type SaulDevice, type SaulDeviceSpec } from './saul';
import { external, makeSource, type Source, type SourceSpec } from './sources';
import { DEFAULT_STORE_CAPACITY, KvStore, type StoreChange, type StoreScope } from './stores';
import { workerTranslator } from '../tier-worker/translator';
import type { Translator } from '../../vm/compiled-tier';

export { VirtualClock, WallClock } from './clock';
export type { ContainerSpec } from './container';
export { BoardError, type BoardErrorCode } from './board-error';
export { faultInfo, type ActuatorEvent, type ContainerInfo, type FaultInfo, type HookResult, type RunReport } from './results';

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
  /**
   * Preempt runs: `{ ms }` by wall time (Node-RED: 5 ms), `{ insns }` by instructions
   * (deterministic on a VirtualClock). Default: every run to its end in one call (the CLI).
   */
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

const DEFAULT_THREADS = [
  { pid: 1, name: 'idle' },
  { pid: 2, name: 'main' },
  { pid: 3, name: 'gcoap' },
];

/**
 * Events: 'console' {container, line, atUs} · 'actuator' ActuatorEvent · 'store' StoreChange ·
 * 'sample' {device, name, type, data, values} · 'button' {device, name, pressed} · 'result'
 * RunReport (every run or resumed slice when it ends, faults included) · 'fault' RunReport ·
 * 'quarantine' {container, faults} · 'progress' {container, insns, budget, turns} (a run in flight,
 * after each turn) · 'cancelled' {container, reason} · 'dropped' {container, queued} (a message
 * refused, queue full) · 'change' (containers or devices added, removed, moved; for editors).
 * Events a run raises go out after it, before its 'result': a listener never re-enters a running VM.
 */
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
  readonly threads = DEFAULT_THREADS.map((t) => ({ ...t }));

  private readonly globalStore: KvStore;
  private readonly tenantStores = new Map<string, KvStore>();
  private readonly table: ContainerTable;
  private readonly runner: Runner;
  private readonly flows: FlowQueue;
  private readonly hooks: HookFiring;
  private readonly coap: CoapRouter;
  private readonly timers: BoardTimers;
  private readonly containerEnv: ContainerEnv;
  private timerTick = 0;
  /** Sensor samples taken (sampleSensor calls), for hosts that show readings or count them. */
  samples = 0;
  private currentThread = 0;
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
    const translate: Translator | undefined = (opts.offThreadCompile ?? !(this.clock instanceof VirtualClock)) ? workerTranslator : undefined;
    this.table = new ContainerTable(this.name, this.slots.count);
    this.runner = new Runner(this, this.table, {
      clock: this.clock, costColumn: this.profile.costColumn, consoleLimits: this.consoleLimits,
      sliceOptions: this.sliceOptions, minWakeupUs: this.minWakeupUs, queueLimit: this.queueLimit,
    });
    this.flows = this.runner.flows;
    this.hooks = new HookFiring(this.table, this.runner);
    this.coap = new CoapRouter(this.table, this.hooks);
    this.timers = new BoardTimers(this, this.table);
    this.globalStore = this.watch(new KvStore('global', this.name, this.storeCapacity));
    this.saul = new SaulRegistry((dev, value, previous) => this.onActuator(dev, value, previous));
    for (const spec of this.profile.devices()) this.saul.add(spec);
    this.containerEnv = {
      boardName: this.name, clock: this.clock, saul: this.saul, slotSize: this.slots.size,
      containerRamBytes: this.containerRamBytes, minWakeupUs: this.minWakeupUs, vmProfile: this.vmProfile,
      tier: this.tier, translate,
      globalStore: (scope, tenant) => ((scope ?? this.globalScope) === 'tenant' ? this.tenantStore(tenant) : this.globalStore),
      ramUsed: () => this.table.ramUsed(),
      print: (text) => this.runner.print(text),
    };
  }

  // ---- stores ---------------------------------------------------------------------------------

  /** The store of a scope: global (board), tenant (by name, created on first use), local (by container id). */
  store(scope: StoreScope, owner?: string): KvStore {
    if (scope === 'global') return this.globalStore;
    if (scope === 'tenant') return this.tenantStore(owner ?? DEFAULT_TENANT);
    const c = owner === undefined ? undefined : this.table.find(owner);
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
    return [...new Set([...this.tenantStores.keys(), ...[...this.table.values()].map((c) => c.tenant)])].sort();
  }

  /** A store's changes: into the running slice's report and events, or out at once. */
  private watch(s: KvStore): KvStore {
    s.on('change', (ch: StoreChange) => {
      const cap = this.runner.capture;
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
    this.timers.scheduleDevice(dev);
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
    const cap = this.runner.capture;
    const ev: ActuatorEvent = { device: dev.index, name: dev.name, type: dev.type, value, previous, container: cap?.container.id };
    if (cap) (cap.events ??= []).push(['actuator', ev]);
    else this.emit('actuator', ev);
  }

  // ---- containers -----------------------------------------------------------------------------

  /** Install a container: verified (VerifyError), its image parsed (FormatError), slot, RAM, id, hook and entry checked (BoardError). */
  install(spec: ContainerSpec): ContainerInfo {
    if (spec.hook !== undefined && !isHook(spec.hook)) throw new BoardError('hook', `unknown hook "${String(spec.hook)}" (hooks: ${HOOKS.join(', ')})`);
    const id = this.table.newId(spec.id);
    const tenant = spec.tenant ?? DEFAULT_TENANT;
    const local = this.watch(new KvStore('local', id, this.storeCapacity));
    const c = buildContainer(this.containerEnv, id, spec, tenant, local, 0);
    c.seq = this.table.nextSeq();
    this.table.set(c);
    this.tenantStore(tenant);
    this.emit('change', { kind: 'install', container: id });
    return this.info(c);
  }

  /**
   * Install a new image in place: verified first; on rejection the old image stays installed and
   * running. An accepted one starts with fresh .data and fault counters, keeps id, hook and local store.
   */
  replaceImage(id: string, image: Uint8Array | RiotImage | string): ContainerInfo {
    const old = this.table.get(id);
    const next = buildContainer(this.containerEnv, id, { ...old.spec, hook: old.hook, image }, old.tenant, old.local, old.ramBytes);
    this.runner.abandon(old, 'its image was replaced');
    next.seq = old.seq;
    next.hook = old.hook;
    next.takeLastRun(old);
    this.table.set(next);
    this.emit('change', { kind: 'replace', container: id });
    return this.info(next);
  }

  remove(id: string): void {
    const c = this.table.get(id);
    this.runner.abandon(c, 'it was removed');
    this.table.delete(id);
    this.emit('change', { kind: 'remove', container: id });
  }

  /** Take a container off its hook (it stays installed, its suspended run is dropped). */
  detach(id: string): ContainerInfo {
    const c = this.table.get(id);
    this.runner.abandon(c, 'it was detached');
    c.hook = undefined;
    this.table.hooksChanged();
    this.emit('change', { kind: 'detach', container: id });
    return this.info(c);
  }

  /**
   * Attach to a hook. The grants are recomputed for the new hook's contract and the program is
   * verified against them (a VerifyError leaves the container where it was).
   */
  attach(id: string, hook: HookName): ContainerInfo {
    if (!isHook(hook)) throw new BoardError('hook', `unknown hook "${String(hook)}"`);
    const c = this.table.get(id);
    const next = buildContainer(this.containerEnv, id, { ...c.spec, hook }, c.tenant, c.local, c.ramBytes);
    this.runner.abandon(c, `it moved to the ${hook} hook`);
    next.seq = this.table.nextSeq();
    next.faults.consecutive = c.faults.consecutive;
    next.faults.total = c.faults.total;
    next.quarantined = c.quarantined;
    next.runs = c.runs;
    next.takeLastRun(c);
    this.table.set(next);
    this.emit('change', { kind: 'attach', container: id });
    return this.info(next);
  }

  /** Clear quarantine and fault counters. */
  resetContainer(id: string): ContainerInfo {
    const c = this.table.get(id);
    c.reset();
    this.emit('change', { kind: 'reset', container: id });
    return this.info(c);
  }

  container(id: string): ContainerInfo {
    return this.info(this.table.get(id));
  }

  containers(): ContainerInfo[] {
    return this.table.newestFirst().map((c) => this.info(c));
  }

  /**
   * Hand every result of container `id` to `fn` (also after it is replaced, moved or reinstalled
   * under the same id), before the board's 'result' event; undefined stops it. One taker per
   * container: how a Node-RED node gets its own container's results without a board-wide listener.
   */
  takeResults(id: string, fn: ((r: RunReport) => void) | undefined): void {
    this.table.takeResults(id, fn);
  }

  /** Run reports made so far (finished slices, faults included): hosts that poll for changes read it. */
  get reportsMade(): number {
    return this.runner.reported;
  }

  /** The last run a report was made for (r0, instructions, estimated µs), if the container ran. */
  lastRun(id: string): { r0: bigint; insns: number; estimatedUs: number } | undefined {
    const c = this.table.find(id);
    return c?.hasRun ? { r0: c.lastR0, insns: c.lastInsns, estimatedUs: c.lastUs } : undefined;
  }

  /** The container's Vm (tests, tools). */
  vmOf(id: string): Vm {
    return this.table.get(id).vm;
  }

  private info(c: Container): ContainerInfo {
    return containerInfo(c, this.globalScope);
  }

  setPolicy(hook: HookName, policy: HookPolicy): void {
    this.hooks.setPolicy(hook, policy);
  }

  policy(hook: HookName): HookPolicy {
    return this.hooks.policy(hook);
  }

  // ---- firing hooks (each returns what ran; on a slicing board a run that uses up its slice is
  // reported 'preempted' and ends later with its 'result') ------------------------------------

  /**
   * Sample a sensor now (default: the first non-button sensor) and run the 'sensor' hook.
   * `unkept`: the caller drops the result (the board's own timers; also fireTimer and schedTick),
   * so the firing reuses one result object and, with no board 'result' listener, each
   * container's report: the steady event path allocates nothing.
   */
  sampleSensor(ref?: string | number, unkept = false): HookResult {
    const dev = ref === undefined ? this.saul.devices.find((d) => isSensor(d.type) && d.type !== SAUL.SENSE_BTN) : this.device(ref);
    if (!dev) throw new BoardError('not-found', `no sensor on ${this.name}`);
    return this.sampleDevice(dev, unkept);
  }

  /** sampleSensor for a device in hand (the board's timers hold theirs: no lookup per sample). */
  sampleDevice(dev: SaulDevice, unkept = false): HookResult {
    // The device's one reading, overwritten by each sample (a failed read hands the hook zeros).
    const data = (dev.lastSample ??= { val: [0, 0, 0], unit: dev.unit, scale: dev.scale });
    if (this.saul.readInto(dev, this.clock.nowUs(), data) < 0) {
      data.val[0] = data.val[1] = data.val[2] = 0;
      data.unit = dev.unit;
      data.scale = dev.scale;
    }
    this.samples++;
    if (this.listenerCount('sample') > 0) {
      const copy: Phydat = { val: [data.val[0], data.val[1], data.val[2]], unit: data.unit, scale: data.scale };
      this.emit('sample', { device: dev.index, name: dev.name, type: dev.type, data: copy, values: fromPhydat(copy, dev.dims) });
    }
    // Each run copies the context in: the outermost firing's bytes can be one reused buffer.
    const ctx = sensorContext(dev.index, dev.type, data, this.hooks.active ? undefined : this.sensorCtx);
    return this.hooks.fire('sensor', ctx, undefined, false, dev, unkept);
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
    return this.hooks.fire('button', buttonContext(dev.index, pressed), undefined, false, dev);
  }

  fireTimer(unkept = false): HookResult {
    const ctx = timerContext(this.clock.nowUs(), this.timerPeriodMs, ++this.timerTick);
    return this.hooks.fire('timer', ctx, undefined, false, undefined, unkept);
  }

  /** One scheduler switch: from the current thread to the next (round robin over `threads`). */
  schedTick(unkept = false): HookResult {
    const prev = this.threads[this.currentThread];
    this.currentThread = (this.currentThread + 1) % this.threads.length;
    const next = this.threads[this.currentThread];
    const ctx = schedContext(prev.pid, next.pid);
    return this.hooks.fire('sched', ctx, undefined, false, undefined, unkept);
  }

  /** Run every 'flow' container (newest first, by policy) on a payload. */
  fireFlow(payload: Uint8Array): HookResult {
    checkFlowPayload(payload);
    return this.hooks.fire('flow', (c) => flowRegion(c, payload));
  }

  /**
   * Run one 'flow' container on a message payload (a read-only copy in region "flow_payload"),
   * to its end in this call (a suspended run of it is abandoned: the message starts a new run).
   */
  runFlow(containerId: string, payload: Uint8Array): RunReport {
    return this.flows.runNow(containerId, payload);
  }

  /**
   * runFlow for hosts that must not be held: the run is sliced, and a message to a busy container
   * waits behind it (at most `queueLimit`). Settles when the message's run ends (exit, fault, or
   * its first suspension); rejects with a BoardError ('busy': queue full, 'cancelled': the
   * container was removed, replaced, moved or the board stopped before the run ended,
   * 'quarantined': a run ahead of it quarantined the container while it waited).
   */
  flow(containerId: string, payload: Uint8Array): Promise<RunReport> {
    return this.flows.submit(containerId, payload);
  }

  /**
   * A CoAP request to the board's resource at `path`: the containers on the 'coap' hook serving it
   * run newest first (default policy abort-on-positive: the first that returns a PDU length
   * answers). No container for the path → 4.04; none answered → 5.00. Runs to the end in this
   * call (see coapRequestAsync for the sliced form).
   */
  coapRequest(method: string | number, path: string, payload: Uint8Array | string = new Uint8Array(0)): CoapResponse {
    return this.coap.request(method, path, payload);
  }

  /** coapRequest with sliced runs, each awaited before the policy decides on it. */
  coapRequestAsync(method: string | number, path: string, payload: Uint8Array | string = new Uint8Array(0)): Promise<{ response: CoapResponse; result: HookResult }> {
    return this.coap.requestAsync(method, path, payload);
  }

  // ---- clocked operation ----------------------------------------------------------------------

  get started(): boolean {
    return this.timers.running;
  }

  /** Start periodic sensor sampling, the timer hook and scheduler ticks on the board clock. */
  start(): void {
    this.timers.start();
  }

  /**
   * Stop every timer the board holds, suspended runs' wake-ups included (they are abandoned), and
   * cancel runs in flight and the messages waiting for them.
   */
  stop(): void {
    this.timers.stop();
    for (const c of this.table.values()) this.runner.abandon(c, 'the board stopped');
  }
}
