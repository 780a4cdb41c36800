/**
 * The link to one remote board, shared by the nodes on it: a femto-board config node in remote mode
 * holds a RemoteBoardLink (the device's address, the public key it trusts, the slot its containers
 * run). The link reads the device's /femto/status at start, every `pollMs` (0: never again) and
 * after each run or install, and tells its listeners: reachable or "device not answering", the
 * sequence number, what each slot holds, whether the device trusts the configured key, and the
 * stores (lib/node-support/remote-store). Container nodes run `POST /bpf/exec/N` through it.
 */
import { EventEmitter } from 'node:events';
import type { CoapTiming } from '../deploy/coap-client';
import { fingerprint } from '../deploy/keys';
import { RemoteBoard, type RemoteRun } from '../deploy/remote';
import type { LastFault } from './registry';
import { storesFromStatus, type DeviceStores } from './remote-store';
import { isUnreachable, remoteErrorText } from './remote-errors';

export interface RemoteSettings {
  /** coap://host:port */
  url: string;
  /** The public key the device trusts (optional: the deploy node checks its key against it). */
  publicKey?: Uint8Array;
  slot: number;
  /** Per-request deadline (ms). */
  timeoutMs: number;
  /** Status poll period (ms); 0: only at start, after runs and after installs. */
  pollMs: number;
}

export interface SlotStatus {
  slot: number;
  location: string;
  installed: boolean;
  seq: number | null;
  size: number | null;
  state: string | null;
  runs: number;
  faults: { consecutive: number; total: number };
  lastRun: Record<string, unknown> | null;
}

/** What the link knows about the device (also what femto/state shows for a remote board). */
export interface DeviceSnapshot {
  url: string;
  reachable: boolean | null;
  error: string | null;
  checkedAt: string | null;
  /** Date.now() when the request of the last completed check was sent. */
  requestedAt: number;
  board: string | null;
  profile: string | null;
  seq: number | null;
  slots: SlotStatus[];
  trustedKeys: string[];
  /** The configured public key's fingerprint, and whether the device lists it (null: unknown). */
  keyFingerprint: string | null;
  keyTrusted: boolean | null;
  counters: Record<string, unknown> | null;
  update: Record<string, unknown> | null;
  /** The stores the last read showed (null: unknown, or a board without the status resource). */
  stores: DeviceStores | null;
}

/**
 * One remote board as the nodes share it. Events: 'status' (DeviceSnapshot) after every check,
 * 'run' ({ slot, run }) after every run, 'installed' ({ slot, seq }) after a deploy to it.
 */
export class RemoteBoardLink extends EventEmitter {
  readonly client: RemoteBoard;
  /** Container nodes running slots of this device (for femto/state). */
  readonly containers = new Map<string, RemoteContainerEntry>();
  readonly settings: RemoteSettings;
  private snap: DeviceSnapshot;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private checking: Promise<DeviceSnapshot> | undefined;
  private again = false;
  private closed = false;

  constructor(settings: RemoteSettings, readonly name: string) {
    super();
    this.setMaxListeners(0);
    this.settings = settings;
    const timing: CoapTiming = { timeoutMs: settings.timeoutMs, ackTimeoutMs: Math.max(50, Math.min(500, Math.floor(settings.timeoutMs / 6))) };
    this.client = new RemoteBoard(settings.url, timing);
    this.snap = {
      url: this.client.url, reachable: null, error: null, checkedAt: null, requestedAt: 0, board: null, profile: null, seq: null, slots: [], trustedKeys: [],
      keyFingerprint: settings.publicKey ? fingerprint(settings.publicKey) : null, keyTrusted: null, counters: null, update: null, stores: null,
    };
  }

  get url(): string {
    return this.client.url;
  }

  get snapshot(): DeviceSnapshot {
    return this.snap;
  }

  /** First check now, then every pollMs. */
  start(): void {
    void this.check();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.removeAllListeners();
  }

  /** Read the device's status (one at a time: a check asked for while one runs runs after it). */
  check(): Promise<DeviceSnapshot> {
    if (this.closed) return Promise.resolve(this.snap);
    if (this.checking) {
      this.again = true;
      return this.checking;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.checking = this.readStatus().finally(() => {
      this.checking = undefined;
      if (this.closed) return;
      if (this.again) {
        this.again = false;
        void this.check();
      } else if (this.settings.pollMs > 0) {
        this.timer = setTimeout(() => void this.check(), this.settings.pollMs);
        this.timer.unref?.();
      }
    });
    return this.checking;
  }

  private async readStatus(): Promise<DeviceSnapshot> {
    const s = this.snap;
    const requestedAt = Date.now();
    try {
      const st = await this.client.status();
      // A fresh read (readFresh) sent after this one already answered: keep its newer picture.
      if (requestedAt < s.requestedAt) return s;
      s.reachable = true;
      s.error = null;
      if (st) this.apply(st);
      else {
        // A real RIOT board: no status resource, only its name.
        s.stores = null;
        s.board = await this.client.board().catch(() => s.board);
      }
    } catch (e) {
      if (requestedAt < s.requestedAt) return s;
      s.reachable = false;
      s.error = remoteErrorText(e, this.url, this.settings.timeoutMs);
    }
    s.checkedAt = new Date().toISOString();
    s.requestedAt = requestedAt;
    if (!this.closed) this.emit('status', s);
    return s;
  }

  /** Take a status document into the snapshot. */
  private apply(st: Record<string, unknown>): void {
    const s = this.snap;
    const dev = (st.device ?? {}) as Record<string, unknown>;
    s.board = typeof dev.board === 'string' ? dev.board : s.board;
    s.profile = typeof dev.profile === 'string' ? dev.profile : s.profile;
    s.seq = typeof st.seq === 'number' ? st.seq : null;
    s.slots = Array.isArray(st.slots) ? (st.slots as SlotStatus[]).map((x) => ({
      slot: x.slot, location: x.location, installed: !!x.installed, seq: x.seq ?? null, size: x.size ?? null, state: x.state ?? null,
      runs: x.runs ?? 0, faults: x.faults ?? { consecutive: 0, total: 0 }, lastRun: x.lastRun ?? null,
    })) : [];
    s.trustedKeys = Array.isArray(dev.trustedKeys) ? (dev.trustedKeys as string[]) : [];
    s.keyTrusted = s.keyFingerprint ? s.trustedKeys.includes(s.keyFingerprint) : null;
    s.counters = (st.counters as Record<string, unknown>) ?? null;
    s.update = (st.update as Record<string, unknown>) ?? null;
    try {
      s.stores = storesFromStatus(st, this.url);
    } catch {
      s.stores = null;
    }
  }

  /**
   * A fresh GET /femto/status, never the poll's copy, within the link's request timeout (what
   * femto-store reads answer from). The snapshot takes it too, unless a newer read already came,
   * and the listeners hear of it. Undefined for a board without the resource (a RIOT board);
   * throws the CoapError when the device does not answer (the snapshot then says so).
   */
  async readFresh(): Promise<Record<string, unknown> | undefined> {
    const s = this.snap;
    const requestedAt = Date.now();
    let st: Record<string, unknown> | undefined;
    try {
      st = await this.client.status();
    } catch (e) {
      if (isUnreachable(e) && !this.closed && requestedAt >= s.requestedAt) {
        s.reachable = false;
        s.error = remoteErrorText(e, this.url, this.settings.timeoutMs);
        s.checkedAt = new Date().toISOString();
        s.requestedAt = requestedAt;
        this.emit('status', s);
      }
      throw e;
    }
    if (!this.closed && requestedAt >= s.requestedAt) {
      s.reachable = true;
      s.error = null;
      if (st) this.apply(st);
      else s.stores = null;
      s.checkedAt = new Date().toISOString();
      s.requestedAt = requestedAt;
      this.emit('status', s);
    }
    return st;
  }

  /** What slot N holds, from the last check (undefined when unknown). */
  slotStatus(slot: number): SlotStatus | undefined {
    return this.snap.slots.find((x) => x.slot === slot);
  }

  /** Run slot N on the device. Throws CoapError (device down, silent, 4.04 empty slot…). */
  async exec(slot: number, payload?: Uint8Array): Promise<RemoteRun> {
    try {
      const run = await this.client.exec(slot, payload);
      this.snap.reachable = true;
      this.snap.error = null;
      if (!this.closed) this.emit('run', { slot, run });
      return run;
    } catch (e) {
      if (isUnreachable(e)) {
        this.snap.reachable = false;
        this.snap.error = remoteErrorText(e, this.url, this.settings.timeoutMs);
        if (!this.closed) this.emit('status', this.snap);
      }
      throw e;
    } finally {
      if (!this.closed) void this.check();
    }
  }

  /** A deploy installed an image in a slot of this device (femto-deploy tells its boards). */
  installed(slot: number, seq: number | undefined): void {
    if (this.closed) return;
    this.emit('installed', { slot, seq });
    void this.check();
  }
}

export interface RemoteContainerEntry {
  nodeId: string;
  name: string;
  slot: number;
  lastResult?: { r0: number | string; insns: number; estimatedUs: number };
  /** The last fault this node's runs met (the device's lastRun only knows the very last run). */
  lastFault?: LastFault;
}

/** What the femto nodes need of a femto-board config node in remote mode. */
export interface RemoteCapableBoardNode {
  boardName: string;
  remote?: RemoteBoardLink;
  failure?: string;
}
