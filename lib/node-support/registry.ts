/**
 * The boards a Node-RED runtime holds (one per femto-board config node), the container nodes on
 * them, and the live state the editor sidebar shows: what `GET femto/state` answers and what is
 * published on the comms topic `femto/state` (throttled) whenever it changes.
 *
 * State shape (stable: the editor's "femto" sidebar consumes exactly this):
 *   { boards: [{ id, name, profile, title, running,
 *                containers: [{ id, nodeId, name, hook, tenant, state, lastResult: { r0, insns,
 *                              estimatedUs } | null, lastFault: { code, reason, pc, instruction,
 *                              at } | null, faults, consecutiveFaults, quarantined, tier,
 *                              run?: { insns, budget, turns } }],
 *                stores: { global: { key: value }, tenants: { tenant: { key: value } } },
 *                devices: [{ index, name, type, typeName, kind, unit, values, simulated }] }] }
 * `state` is the board's container state (idle, running, suspended, quarantined, detached; `run`,
 * only while running, says how far a sliced run in flight is) or, for a node
 * whose program is not on the board, "no image", "verifying" or "rejected". Store keys are
 * decimal strings, values u32 numbers. Sensor values are the last sample (reading a sensor for the
 * sidebar would advance simulated sources). `lastFault` is the container's most recent fault (it
 * stays after later good runs and after a reset, so the sidebar can still say what went wrong;
 * the counters say whether it is current); `at` is an ISO time.
 *
 * Remote boards (femto-board in remote mode) are listed after the emulated ones with the
 * same fields (profile = the device's, running = it answers, containers = the nodes running its
 * slots; stores and devices empty) plus `remote: true`, `address` and `device` (what the device's
 * status resource said: reachable, error, checkedAt — the last poll —, board, seq, slots, trusted
 * key fingerprints, update).
 */
import type { Board, FaultInfo, RunReport } from '../board/board';
import { fromPhydat, isActuator, SAUL, saulTypeName, unitSymbol } from '../board/saul';
import { sourceAt, type SourceLocation, type SourceMap } from '../../vm/source-map';
import { r0Value, type ResultType } from './payload-bytes';

/** A container's last fault as the sidebar shows it ("fault −2: <reason> at pc N"). */
export interface LastFault {
  code: number;
  reason: string;
  pc: number;
  instruction: string | null;
  /** The C or assembly line of pc, when the program carries line information. */
  source?: SourceLocation;
  /** ISO time the fault was seen. */
  at: string;
}

/** LastFault from a fault as the board (FaultInfo) or a remote device (run report) gives it. */
export function lastFaultOf(f: { code: number; pc: number; message?: string; insn?: string | null }, at: Date = new Date()): LastFault {
  return { code: f.code, reason: f.message ?? '', pc: f.pc, instruction: f.insn ?? null, at: at.toISOString() };
}

export interface ContainerEntry {
  nodeId: string;
  name: string;
  hook: string;
  tenant: string;
  /** Node-level state when the program is not (yet) on the board. */
  pending?: 'no image' | 'verifying' | 'rejected';
  /**
   * Remote boards: the last result as the device reported it. Emulated boards keep their last run
   * themselves (Board.lastRun), formatted (r0 as `resultType`) only when a snapshot is built.
   */
  lastResult?: { r0: number | string; insns: number; estimatedUs: number };
  /** How the node reads r0 (default int64). */
  resultType?: ResultType;
  /** The image installed from this node (femto-deploy can deploy a container node's program). */
  image?: Uint8Array;
  /** Its line information, so a fault names its source line. */
  sourceMap?: SourceMap;
}

/** A remote board: its state is computed by its owner (the femto-board node's link). */
export interface RemoteEntry {
  id: string;
  name: string;
  state: () => BoardState;
}

export interface BoardEntry {
  id: string;
  name: string;
  board: Board;
  containers: Map<string, ContainerEntry>;
  /** Last fault per container id, recorded from the board's results. */
  lastFault: Map<string, LastFault>;
  /** The board's samples and reports at the last publication (more since: publish again). */
  activityPublished: number;
}

export interface ContainerState {
  id: string;
  nodeId: string;
  name: string;
  hook: string;
  tenant: string;
  state: string;
  lastResult: { r0: number | string; insns: number; estimatedUs: number } | null;
  lastFault: LastFault | null;
  faults: number;
  consecutiveFaults: number;
  quarantined: boolean;
  tier: string | null;
  /** Emulated boards, only while running: how far the sliced run in flight is. */
  run?: { insns: number; budget: number; turns: number };
}

export interface BoardState {
  id: string;
  name: string;
  profile: string;
  title: string;
  running: boolean;
  containers: ContainerState[];
  stores: { global: Record<string, number>; tenants: Record<string, Record<string, number>> };
  devices: { index: number; name: string; type: number; typeName: string; kind: 'sensor' | 'button' | 'actuator'; unit: string; values: number[]; simulated: boolean }[];
  /** Remote boards only. */
  remote?: true;
  address?: string;
  device?: Record<string, unknown>;
}

export interface FemtoState {
  boards: BoardState[];
}

export const PUBLISH_INTERVAL_MS = 250;
/** Longest stretch of snapshot building in one turn of the event loop. */
export const SNAPSHOT_TURN_MS = 4;

export class BoardRegistry {
  private readonly boards = new Map<string, BoardEntry>();
  private readonly remotes = new Map<string, RemoteEntry>();
  private publisher: ((state: FemtoState) => void) | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** A publication's snapshot being built, a few boards per turn (buildSome). */
  private building: { entries: BoardEntry[]; boards: BoardState[]; next: number; spentMs: number; dirty: boolean } | undefined;
  private immediate: ReturnType<typeof setImmediate> | undefined;
  /** While publishing: looks for boards that sampled or ran since (they raise no event for it). */
  private poll: ReturnType<typeof setInterval> | undefined;
  private lastCostMs = 0;
  private lastPublish = 0;

  /** Where changes are published (RED.comms.publish('femto/state', …) in the nodes). */
  setPublisher(fn: ((state: FemtoState) => void) | undefined): void {
    this.publisher = fn;
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
    if (!fn) return;
    this.poll = setInterval(() => {
      if (this.activeSinceLastLook()) this.changed();
    }, PUBLISH_INTERVAL_MS);
    this.poll.unref?.();
    this.changed(); // a new subscriber gets the current state
  }

  add(id: string, name: string, board: Board): BoardEntry {
    const entry: BoardEntry = { id, name, board, containers: new Map(), lastFault: new Map(), activityPublished: activityOf(board) };
    this.boards.set(id, entry);
    const changed = (): void => this.changed();
    for (const ev of ['change', 'store', 'quarantine', 'actuator', 'button', 'progress']) board.on(ev, changed);
    // Every faulting run, hook-fired or from a flow, passes here. Good runs and samples are not
    // listened to: a snapshot reads each container's last run and each device's last sample from
    // the board, and the activity poll publishes again while they come in (a fleet at 10 Hz would
    // otherwise call the registry tens of thousands of times a second for a state shown 4 times).
    board.on('fault', (r: RunReport) => {
      if (!r.fault) return;
      const f = lastFaultOf(r.fault);
      const source = sourceAt(entry.containers.get(r.container)?.sourceMap, f.pc);
      entry.lastFault.set(r.container, source ? { ...f, source } : f);
      this.changed();
    });
    this.changed();
    return entry;
  }

  remove(id: string): void {
    const e = this.boards.get(id);
    if (!e) return;
    this.boards.delete(id);
    this.changed();
  }

  /** Add (or replace) a remote board; call changed() when its state changes. */
  addRemote(entry: RemoteEntry): void {
    this.remotes.set(entry.id, entry);
    this.changed();
  }

  removeRemote(id: string): void {
    if (this.remotes.delete(id)) this.changed();
  }

  getRemote(id: string): RemoteEntry | undefined {
    return this.remotes.get(id);
  }

  /** The image a container node installed on an emulated board, if it is known. */
  containerImage(nodeId: string): Uint8Array | undefined {
    for (const e of this.boards.values()) {
      const c = e.containers.get(nodeId);
      if (c?.image) return c.image;
    }
    return undefined;
  }

  get(id: string): BoardEntry | undefined {
    return this.boards.get(id);
  }

  entries(): BoardEntry[] {
    return [...this.boards.values()];
  }

  setContainer(boardId: string, id: string, c: ContainerEntry): void {
    // Every field present from the start (and none deleted later): one object shape for all entries.
    this.boards.get(boardId)?.containers.set(id, { pending: undefined, lastResult: undefined, resultType: undefined, image: undefined, sourceMap: undefined, ...c });
    this.changed();
  }

  updateContainer(boardId: string, id: string, patch: Partial<ContainerEntry>): void {
    const c = this.boards.get(boardId)?.containers.get(id);
    if (!c) return;
    Object.assign(c, patch);
    this.changed();
  }

  /**
   * Hand this container's results on the board to `fn` (Board.takeResults: straight from the run,
   * no board-wide listener). False when the board is not registered: the caller listens on the board.
   */
  onResult(boardId: string, id: string, fn: ((r: RunReport) => void) | undefined): boolean {
    const e = this.boards.get(boardId);
    if (!e) return false;
    e.board.takeResults(id, fn);
    return true;
  }

  removeContainer(boardId: string, id: string): void {
    this.boards.get(boardId)?.containers.delete(id);
    this.boards.get(boardId)?.lastFault.delete(id);
    this.changed();
  }

  /** Note a change: publish now if the last publication is old enough, else once the interval ends. */
  changed(): void {
    if (this.building) this.building.dirty = true; // published again once this one is out
    if (!this.publisher || this.timer || this.building) return;
    // The interval stretches with the cost of a publication (building and sending the state of
    // a thousand boards takes tens of ms): publishing never takes more than ~1% of the loop.
    const interval = Math.max(PUBLISH_INTERVAL_MS, 100 * this.lastCostMs);
    const wait = Math.max(0, this.lastPublish + interval - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastPublish = Date.now();
      this.building = { entries: this.entries(), boards: [], next: 0, spentMs: 0, dirty: false };
      this.buildSome();
    }, wait);
    this.timer.unref?.();
  }

  /**
   * Build the snapshot for a publication a few boards at a time, at most SNAPSHOT_TURN_MS per turn
   * of the event loop, then publish it: the state of thousands of boards takes ~100 ms to build,
   * which in one go would hold every flow and every board's timers for that long.
   */
  private readonly buildSome = (): void => {
    this.immediate = undefined;
    const b = this.building;
    if (!b) return;
    const t0 = performance.now();
    while (b.next < b.entries.length) {
      const e = b.entries[b.next++];
      if (this.boards.get(e.id) !== e) continue; // removed meanwhile
      try {
        b.boards.push(boardState(e));
      } catch {
        // A board that cannot describe itself is left out of this snapshot.
      }
      if (performance.now() - t0 >= SNAPSHOT_TURN_MS) break;
    }
    b.spentMs += performance.now() - t0;
    if (b.next < b.entries.length) {
      this.immediate = setImmediate(this.buildSome);
      this.immediate.unref?.();
      return;
    }
    this.building = undefined;
    const t1 = performance.now();
    try {
      this.publisher?.({ boards: [...b.boards, ...this.remoteStates()] });
    } catch {
      // A failing publisher must never break a board.
    }
    this.lastCostMs = b.spentMs + performance.now() - t1;
    if (b.dirty) this.changed();
  };

  /** Whether a board sampled or reported a run since the last look (the state shows both). */
  private activeSinceLastLook(): boolean {
    let any = false;
    for (const e of this.boards.values()) {
      const n = activityOf(e.board);
      if (n !== e.activityPublished) any = true;
      e.activityPublished = n;
    }
    return any;
  }

  /** Cancel a pending publication (tests, shutdown). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.building = undefined;
  }

  state(): FemtoState {
    return { boards: [...this.entries().map((e) => boardState(e)), ...this.remoteStates()] };
  }

  private remoteStates(): BoardState[] {
    const remote: BoardState[] = [];
    for (const r of this.remotes.values()) {
      try {
        remote.push(r.state());
      } catch {
        // A remote board that cannot describe itself is left out of this snapshot.
      }
    }
    return remote;
  }
}

function lastResultOf(run: { r0: bigint; insns: number; estimatedUs: number }, type: ResultType = 'int64'): { r0: number | string; insns: number; estimatedUs: number } {
  return { r0: r0Value(run.r0, type), insns: run.insns, estimatedUs: Math.round(run.estimatedUs * 1000) / 1000 };
}

/** Samples taken and runs reported by a board so far. */
function activityOf(b: Board): number {
  return b.samples + b.reportsMade;
}

export function boardState(e: BoardEntry): BoardState {
  const b = e.board;
  const installed = new Map(b.containers().map((c) => [c.id, c]));
  const containers: ContainerState[] = [];
  for (const [id, c] of e.containers) {
    const info = installed.get(id);
    const lastRun = info ? b.lastRun(id) : undefined;
    let tier: string | null = null;
    if (info) {
      try {
        tier = b.vmOf(id).tier.current;
      } catch {
        tier = null;
      }
    }
    containers.push({
      id,
      nodeId: c.nodeId,
      name: c.name,
      hook: info?.hook ?? c.hook,
      tenant: info?.tenant ?? c.tenant,
      state: c.pending && (!info || c.pending === 'verifying') ? c.pending : info?.state ?? 'no image',
      lastResult: lastRun ? lastResultOf(lastRun, c.resultType) : c.lastResult ?? null,
      lastFault: e.lastFault.get(id) ?? null,
      faults: info?.faults.total ?? 0,
      consecutiveFaults: info?.faults.consecutive ?? 0,
      quarantined: info?.state === 'quarantined',
      tier,
      ...(info?.run ? { run: info.run } : {}),
    });
  }
  const tenants: Record<string, Record<string, number>> = {};
  for (const t of b.tenants()) tenants[t] = b.tenantStore(t).toJSON();
  return {
    id: e.id,
    name: e.name,
    profile: b.profile.name,
    title: b.profile.title,
    running: b.started,
    containers,
    stores: { global: b.store('global').toJSON(), tenants },
    devices: b.devices().map((d) => ({
      index: d.index,
      name: d.name,
      type: d.type,
      typeName: saulTypeName(d.type),
      kind: d.type === SAUL.SENSE_BTN ? 'button' as const : isActuator(d.type) ? 'actuator' as const : 'sensor' as const,
      unit: unitSymbol(d.unit),
      values: d.actuator ? d.actuator.value.slice(0, d.dims) : d.lastSample ? fromPhydat(d.lastSample, d.dims) : [],
      simulated: d.simulated,
    })),
  };
}

/** One registry per process: every node file of the package shares it (same module instance). */
export const registry = new BoardRegistry();
