/**
 * Remote boards in Node-RED (issue 5), testable without Node-RED: a femto-board config node in
 * remote mode holds a RemoteBoardLink (the device's address, the public key it trusts, the slot
 * its containers run), container nodes on it run `POST /bpf/exec/N` on the device, and the
 * femto-deploy node signs and installs images through lib/deploy's deploy().
 *
 *  - Keys typed or pasted into the editor: a private key as PKCS#8 PEM (what `femto keygen`,
 *    OpenSSL and RIOT's suit-tool write) or 64 hex digits / base64 of the 32-byte seed; a public
 *    key as SubjectPublicKeyInfo PEM, 64 hex digits or base64 (a private key gives its public half).
 *  - The link reads the device's /femto/status at start, every `pollMs` (0: never again) and after
 *    each run or install, and tells its listeners: reachable or "device not answering", the
 *    sequence number, what each slot holds, whether the device trusts the configured key.
 *  - Status texts of a container on a remote board use DESIGN §12's vocabulary (lib/node-support
 *    /status): "no image" (empty slot), "exec · .ram.N seq S" (attached), "r0=… · N insns · ≈X µs
 *    on <board>" (ran; the device's estimate), "fault −2: write 0x… at pc N (k faults)",
 *    "quarantined", plus "device not answering" (red ring) when the device is down or silent.
 *  - femto-sensor needs an emulated board (SAUL devices in this process): on a remote one it
 *    shows a grey ring "remote board: not emulated" and refuses input with one sentence naming the
 *    board (boardRef, notEmulatedStatus). femto-store reads a remote board's global store and its
 *    slot's local store from a fresh status read (readFresh; lib/node-support/remote-store).
 *  - Deploy outcomes (lib/deploy DeployOutcome) become one clear sentence per board.
 */
import { EventEmitter } from 'node:events';
import { CoapError, type CoapTiming } from '../deploy/coap-client';
import type { DeployOutcome, DeployProgress } from '../deploy/deploy';
import { publicKeyOf } from '../deploy/ed25519';
import { fingerprint, keyPairFromSecret, type KeyPair } from '../deploy/keys';
import { RemoteBoard, type RemoteRun } from '../deploy/remote';
import { r0Value, type ResultType } from './message';
import { storesFromStatus, type DeviceStores } from './remote-store';
import { fromAsm, fromBytes, programFromMessage } from './program';
import { lastFaultOf, registry, type BoardState, type ContainerState, type LastFault } from './registry';
import * as status from './status';
import type { NodeStatus } from './status';

// ---- keys -------------------------------------------------------------------------------------

const PKCS8_PREFIX = '302e020100300506032b657004220420';
const SPKI_PREFIX = '302a300506032b6570032100';

/** Thrown for key text that is not an Ed25519 key. */
export class KeyTextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyTextError';
  }
}

function keyBytes(text: string, what: string): { kind: 'secret' | 'public' | 'raw'; key: Uint8Array } {
  const t = text.trim();
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(t);
  if (m) {
    const der = Buffer.from(m[2].replace(/\s+/g, ''), 'base64').toString('hex');
    if (m[1] === 'PRIVATE KEY' && der.length === 96 && der.startsWith(PKCS8_PREFIX)) return { kind: 'secret', key: new Uint8Array(Buffer.from(der.slice(32), 'hex')) };
    if (m[1] === 'PUBLIC KEY' && der.length === 88 && der.startsWith(SPKI_PREFIX)) return { kind: 'public', key: new Uint8Array(Buffer.from(der.slice(24), 'hex')) };
    throw new KeyTextError(`the ${what} is a PEM "${m[1]}" block that is not an Ed25519 key`);
  }
  const hex = t.replace(/^0x/i, '').replace(/[\s:]/g, '');
  if (/^[0-9a-f]{64}$/i.test(hex)) return { kind: 'raw', key: new Uint8Array(Buffer.from(hex, 'hex')) };
  if (/^[A-Za-z0-9+/]{43}=$/.test(t)) return { kind: 'raw', key: new Uint8Array(Buffer.from(t, 'base64')) };
  throw new KeyTextError(t ? `the ${what} is not an Ed25519 key (PEM, 64 hex digits or base64 of 32 bytes)` : `no ${what}`);
}

/** A signing key from text (PKCS#8 PEM, or the 32-byte seed as hex/base64). */
export function parseSecretKey(text: string): KeyPair {
  const k = keyBytes(text, 'signing key');
  if (k.kind === 'public') throw new KeyTextError('the signing key is a public key: signing needs the private key (-----BEGIN PRIVATE KEY-----)');
  return keyPairFromSecret(k.key);
}

/** A public key from text (SPKI PEM, hex, base64; a private key gives its public half). */
export function parsePublicKey(text: string): Uint8Array {
  const k = keyBytes(text, 'public key');
  return k.kind === 'secret' ? publicKeyOf(k.key) : k.key;
}

export { fingerprint };

// ---- remote board settings ------------------------------------------------------------------------

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

// ---- errors ------------------------------------------------------------------------------------

/** "device not answering …" for transport failures, the device's own words for the rest. */
export function remoteErrorText(e: unknown, url: string, timeoutMs?: number): string {
  if (e instanceof CoapError) {
    if (e.kind === 'down') return `device not answering: nothing listens at ${url} (start it with \`npx femto device --port ${portOf(url)}\`)`;
    if (e.kind === 'timeout') return `device not answering: no reply from ${url}${timeoutMs ? ` within ${timeoutMs} ms` : ''}`;
    if (e.kind === 'response') {
      const text = e.payload ? Buffer.from(e.payload).toString('utf8') : '';
      return `${url} answered ${e.code}${text ? `: ${text}` : ''}`;
    }
    return `${url}: ${e.message}`;
  }
  return e instanceof Error ? e.message : String(e);
}

function portOf(url: string): string {
  const m = /:(\d+)\/?$/.exec(url);
  return m ? m[1] : '5683';
}

/** The transport failed (down, silent): as opposed to an answer the device gave. */
export function isUnreachable(e: unknown): boolean {
  return e instanceof CoapError && (e.kind === 'down' || e.kind === 'timeout');
}

// ---- the link ------------------------------------------------------------------------------------

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

/** The fault of a slot's last run as the device's status reports it, if that run faulted. */
function slotLastFault(slot: SlotStatus | undefined, checkedAt: string | null): LastFault | undefined {
  const f = (slot?.lastRun as { fault?: { code?: unknown; pc?: unknown; message?: unknown; insn?: unknown } | null } | null)?.fault;
  if (!f || typeof f.code !== 'number' || typeof f.pc !== 'number') return undefined;
  return lastFaultOf({ code: f.code, pc: f.pc, message: typeof f.message === 'string' ? f.message : '', insn: typeof f.insn === 'string' ? f.insn : null }, checkedAt ? new Date(checkedAt) : undefined);
}

/** femto/state's entry for a remote board (registry BoardState, plus remote fields). */
export function remoteBoardState(id: string, name: string, link: RemoteBoardLink): BoardState {
  const s = link.snapshot;
  const containers: ContainerState[] = [...link.containers.values()].map((c) => {
    const slot = s.slots.find((x) => x.slot === c.slot);
    return {
      id: c.nodeId, nodeId: c.nodeId, name: c.name, hook: 'exec', tenant: `.ram.${c.slot}`,
      state: s.reachable === false ? 'unreachable' : !slot ? 'unknown' : !slot.installed ? 'no image' : slot.state ?? 'idle',
      lastResult: c.lastResult ?? null, lastFault: c.lastFault ?? slotLastFault(slot, s.checkedAt) ?? null, faults: slot?.faults.total ?? 0, consecutiveFaults: slot?.faults.consecutive ?? 0,
      quarantined: slot?.state === 'quarantined', tier: null,
    };
  });
  return {
    id, name, profile: s.profile ?? 'remote', title: `${s.board ?? 'remote board'} at ${link.url}`, running: s.reachable === true,
    containers, stores: { global: {}, tenants: {} }, devices: [],
    remote: true, address: link.url,
    device: {
      reachable: s.reachable, error: s.error, checkedAt: s.checkedAt, board: s.board, seq: s.seq, slot: link.settings.slot,
      slots: s.slots.map((x) => ({ slot: x.slot, location: x.location, installed: x.installed, seq: x.seq, size: x.size, state: x.state, runs: x.runs, faults: x.faults })),
      trustedKeys: s.trustedKeys, keyFingerprint: s.keyFingerprint, keyTrusted: s.keyTrusted, update: s.update,
    },
  };
}

/** What the femto nodes need of a femto-board config node in remote mode. */
export interface RemoteCapableBoardNode {
  boardName: string;
  remote?: RemoteBoardLink;
  failure?: string;
}

// ---- nodes that need an emulated board --------------------------------------------------------------

/**
 * The board a femto-sensor or femto-store node names: an emulated one, a remote one (whose SAUL
 * devices a flow cannot reach, and whose stores it can only read: the device protocol has no
 * resource for more), or none (missing, or its settings failed). `label` names a remote board
 * with its address, once.
 */
export type BoardRef<B> =
  | { kind: 'emulated'; board: B }
  | { kind: 'remote'; name: string; url: string; label: string }
  | { kind: 'none'; failure?: string };

export function boardRef<B>(node: (RemoteCapableBoardNode & { board?: B }) | null | undefined): BoardRef<B> {
  if (node?.board) return { kind: 'emulated', board: node.board };
  if (node?.remote) {
    const url = node.remote.url;
    const label = node.boardName && node.boardName !== url.replace(/^coap:\/\//, '') ? `${node.boardName} (${url})` : url;
    return { kind: 'remote', name: node.boardName, url, label };
  }
  return { kind: 'none', failure: node?.failure };
}

/** Status of a femto-sensor node on a remote board: inactive, not broken. */
export function notEmulatedStatus(text = 'remote board: not emulated'): NodeStatus {
  return { fill: 'grey', shape: 'ring', text };
}

// ---- container status and messages -----------------------------------------------------------------

const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;

/** Status of a container node on a remote board, from the link's snapshot. */
export function slotNodeStatus(snap: DeviceSnapshot, slot: number): NodeStatus {
  if (snap.reachable === false) return { fill: 'red', shape: 'ring', text: 'device not answering' };
  if (snap.reachable === null) return { fill: 'yellow', shape: 'ring', text: 'connecting' };
  if (!snap.slots.length) return { fill: 'green', shape: 'dot', text: `exec · .ram.${slot}` };
  const s = snap.slots.find((x) => x.slot === slot);
  if (!s) return { fill: 'red', shape: 'ring', text: `no slot ${slot} on the device` };
  if (!s.installed) return status.noImage();
  if (s.state === 'quarantined') return status.quarantined();
  return { fill: 'green', shape: 'dot', text: `exec · .ram.${slot}${s.seq !== null ? ` seq ${s.seq}` : ''}` };
}

/** Status after a run on the device (ran, faulted or quarantined). */
export function remoteRunStatus(run: RemoteRun, board: string, type: ResultType = 'int64'): NodeStatus {
  if (run.riotText !== undefined) return { fill: 'green', shape: 'dot', text: `${run.riotText} on ${board}` };
  const quarantined = (run as RemoteRun & { quarantined?: boolean }).quarantined;
  if (run.status === 'fault' && run.fault) {
    if (quarantined) return status.quarantined();
    const m = /^(read|write) (0x[0-9a-f]+)/i.exec(run.fault.message ?? '');
    return status.faulted({ code: run.fault.code, pc: run.fault.pc, message: run.fault.message, access: m?.[1], address: m?.[2] });
  }
  return status.ran({ status: run.status === 'suspended' ? 'suspended' : 'exit', r0: toBig(run.r0), insns: run.insns ?? 0, estimatedUs: run.estimatedUs ?? 0 }, type);
}

function toBig(v: number | string): bigint {
  try {
    return BigInt(v);
  } catch {
    return 0n;
  }
}

/** msg.femto after a run on the device. */
export function remoteRunInfo(run: RemoteRun, ctx: { container: string; name: string; board: string; url: string; slot: number }, type: ResultType = 'int64'): Record<string, unknown> {
  const r = run as RemoteRun & { faults?: { consecutive: number; total: number }; quarantined?: boolean };
  const info: Record<string, unknown> = {
    container: ctx.container, name: ctx.name, hook: 'exec', remote: true, board: ctx.board, url: ctx.url, slot: ctx.slot,
    status: run.status, r0: run.riotText !== undefined ? run.r0 : r0Value(toBig(run.r0), type), insns: run.insns ?? null,
    estimatedUs: run.estimatedUs ?? null, console: run.console ?? [], faults: r.faults ?? null, quarantined: !!r.quarantined,
  };
  if (run.riotText !== undefined) info.text = run.riotText;
  if (run.fault) Object.assign(info, { code: run.fault.code, pc: run.fault.pc, instruction: run.fault.insn ?? undefined, message: run.fault.message, fault: { ...run.fault } });
  return info;
}

/** The Error for a faulted run on the device. */
export function remoteFaultError(run: RemoteRun, name: string): Error & { code?: number; pc?: number } {
  const f = run.fault!;
  const e = new Error(`${name}: fault ${f.code} at pc ${f.pc} on the device: ${f.message}${f.insn ? ` [${f.insn}]` : ''}`) as Error & { code?: number; pc?: number };
  e.name = 'FemtoFault';
  e.code = f.code;
  e.pc = f.pc;
  return e;
}

// ---- deploy -----------------------------------------------------------------------------------

const CHECK_TEXT: Record<string, string> = {
  signature: 'bad signature (the device does not trust the signing key)',
  sequence: 'rollback refused (the sequence number is not above the installed one)',
  size: 'the image does not fit the slot',
  slot: 'no such slot on the device',
  verifier: "rejected by the device's verifier",
  digest: 'the image does not match the manifest digest',
  vendor: 'wrong vendor id',
  class: 'wrong class id (the image is for another board)',
  format: 'malformed manifest',
  fetch: 'the transfer failed',
  image: 'not a valid image',
  install: 'the device could not install it',
  storage: 'the device could not save it',
  key: 'the signing key is not the key this board trusts',
};

/** One sentence for a failed outcome: "<what> — <the device's words>". */
export function outcomeReason(o: Pick<DeployOutcome, 'error' | 'target'>): string {
  const e = o.error;
  if (!e) return 'installed';
  switch (e.kind) {
    case 'rejected': return `${CHECK_TEXT[e.check ?? ''] ?? `rejected (${e.check ?? 'unknown check'})`}: ${e.message}`;
    case 'timeout': return `timeout: ${e.message}`;
    case 'down': return `device not answering: ${e.message}`;
    case 'busy': return `busy: ${e.message}`;
    case 'unconfirmed': return `unconfirmed: ${e.message}`;
    default: return `${e.kind}: ${e.message}`;
  }
}

/** Short form for a status line ("rollback refused", "timeout", "device not answering"). */
export function outcomeShort(o: Pick<DeployOutcome, 'error'>): string {
  const e = o.error;
  if (!e) return 'installed';
  if (e.kind === 'rejected') {
    const s: Record<string, string> = { signature: 'bad signature', sequence: 'rollback refused', size: 'slot too small', verifier: 'verifier rejected', key: 'wrong key' };
    return s[e.check ?? ''] ?? `rejected (${e.check})`;
  }
  return e.kind === 'down' ? 'device not answering' : e.kind;
}

/**
 * The deploy node's status from progress events: one board shows its phase ("fetching block k/n",
 * "verifying", "installed seq N"); several show how many are done and the latest phase.
 */
export class DeployProgressView {
  private readonly phases = new Map<string, DeployProgress>();
  constructor(private readonly total: number, private readonly labels: Map<string, string>) {}

  update(p: DeployProgress): NodeStatus {
    this.phases.set(p.target, p);
    const done = [...this.phases.values()].filter((x) => x.phase === 'installed' || x.phase === 'failed');
    const failed = done.filter((x) => x.phase === 'failed').length;
    if (this.total === 1) {
      if (p.phase === 'installed') return { fill: 'green', shape: 'dot', text: `installed seq ${p.seq}` };
      if (p.phase === 'failed') return { fill: 'red', shape: 'ring', text: 'failed' };
      return { fill: 'blue', shape: 'ring', text: p.phase === 'probing' ? 'connecting' : p.message };
    }
    const label = this.labels.get(p.target) ?? p.target;
    const head = `${done.length}/${this.total} done${failed ? `, ${failed} failed` : ''}`;
    return { fill: failed ? 'yellow' : 'blue', shape: 'ring', text: `${head} · ${label}: ${p.phase === 'probing' ? 'connecting' : p.message}`.slice(0, 64) };
  }
}

export function finalDeployStatus(outcomes: { ok: boolean; seq?: number; error?: DeployOutcome['error'] }[]): NodeStatus {
  const ok = outcomes.filter((o) => o.ok);
  const seqs = [...new Set(ok.map((o) => o.seq))];
  if (ok.length === outcomes.length) {
    if (outcomes.length === 1) return { fill: 'green', shape: 'dot', text: `installed seq ${ok[0].seq}` };
    return { fill: 'green', shape: 'dot', text: `installed on ${plural(ok.length, 'board')}${seqs.length === 1 ? ` · seq ${seqs[0]}` : ''}` };
  }
  const bad = outcomes.filter((o) => !o.ok);
  if (outcomes.length === 1) return { fill: 'red', shape: 'ring', text: `failed: ${outcomeShort(bad[0])}`.slice(0, 64) };
  const kinds = [...new Set(bad.map((o) => outcomeShort(o)))].join(', ');
  return { fill: 'red', shape: 'ring', text: `${ok.length}/${outcomes.length} installed, ${bad.length} failed: ${kinds}`.slice(0, 64) };
}

// ---- the deploy node's input ------------------------------------------------------------------

/** Where femto-deploy found the image of a message. */
export type ImageSource = 'msg.image' | 'msg.filename' | 'container' | 'msg.payload';

export class NoImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoImageError';
  }
}

/**
 * The image a message to femto-deploy carries: msg.image (Buffer, base64, { asm }), a file named
 * by msg.filename (a RIOT image, ELF object, raw bytecode, or assembly text for .s/.asm), the
 * program of the femto-container node whose output this is (msg.femto.container), or msg.payload
 * (a Buffer or base64/assembly text). ELF objects and bytecode become RIOT images, as `femto build`
 * and the container node make them.
 */
export async function deployImageFromMessage(msg: Record<string, unknown>, readFile: (p: string) => Promise<Uint8Array>): Promise<{ image: Uint8Array; source: ImageSource; file?: string }> {
  if (msg.image !== undefined && msg.image !== null) return { image: programFromMessage(msg.image).image, source: 'msg.image' };
  if (typeof msg.filename === 'string' && msg.filename.trim()) {
    const file = msg.filename.trim();
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new NoImageError(`msg.filename ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`);
    }
    if (/\.(s|asm)$/i.test(file)) return { image: fromAsm(Buffer.from(bytes).toString('utf8')).image, source: 'msg.filename', file };
    return { image: fromBytes(bytes).image, source: 'msg.filename', file };
  }
  const p = msg.payload;
  const isProgram = p instanceof Uint8Array || p instanceof ArrayBuffer || (typeof p === 'string' && p.length > 0) || (!!p && typeof p === 'object' && !Array.isArray(p) && ('asm' in p || 'base64' in p || (p as { type?: unknown }).type === 'Buffer'));
  const femto = msg.femto as { container?: unknown } | undefined;
  if (!isProgram && femto && typeof femto.container === 'string') {
    const image = registry.containerImage(femto.container);
    if (image) return { image, source: 'container' };
    throw new NoImageError(`the femto-container ${femto.container} has no image femto-deploy can reach (it must run on an emulated board)`);
  }
  if (isProgram) return { image: programFromMessage(p).image, source: 'msg.payload' };
  throw new NoImageError('no image: send a Buffer in msg.payload or msg.image, a file path in msg.filename, or the output of a femto-container node');
}
