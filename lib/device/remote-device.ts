/**
 * A remote board: an emulated RIOT board (lib/board) reachable over CoAP on UDP, serving what a
 * RIOT board running the Middleware 2022 artifact's `suit_femtocontainer` example serves, so the
 * same host-side deploy path drives it and a real board:
 *
 *   POST|PUT /suit/trigger   payload = manifest URL (< 128 B) → 2.01 Created, the update runs in
 *                            the background (RIOT: 4.08 for an empty payload, 4.13 for a long one;
 *                            ours adds 5.03 while an update is already running, where RIOT would
 *                            queue it behind the running one)
 *   POST /bpf/exec/N         runs slot N (`.ram.N`) with RIOT's CoAP context and replies 2.04 with
 *                            the result as RIOT prints it: fmt_s32_dfp(result, −2), e.g. 2225 →
 *                            "22.25". With Accept: application/json, a JSON run report instead
 *                            (r0, instructions, estimated µs, fault, console) — our extension
 *   GET /riot/board          RIOT_BOARD as text, e.g. "nrf52840dk"
 *   GET /suit/version        "NONE" (as RIOT without riotboot)
 *   GET /femto/status        ours: installed images and sequence numbers, the current or last
 *                            update, fault counters, store contents (`stores.global`, each
 *                            `slots[i].store`, entries per store in `device.storeCapacity`;
 *                            read-only: no resource writes a store), recent log lines. JSON, or
 *                            CBOR with Accept: application/cbor; `?only=update` gives just the
 *                            sequence number and the update record (what a host polls).
 *                            Over 1 KiB it goes block-wise (Block2), asked for or not; each
 *                            slot's last-run console is cut to 512 B there
 *   GET /.well-known/core    the resource list (link format)
 *
 * Block-wise request bodies (Block1) are reassembled only for /suit/trigger (< 128 B) and
 * /bpf/exec/N (the 512 B PDU), under the listener's caps; to any other resource they are refused
 * with 4.13 at the first block (coap-blockwise.ts).
 *
 * An update follows RIOT's order: fetch the manifest block-wise (64 B blocks, at most RIOT's 640 B
 * manifest buffer), verify the COSE signature against the trusted key(s), the manifest digest,
 * version, strictly increasing sequence number, component = slot, vendor and class ids, size
 * against the slot; then fetch the image block-wise from the URI in the manifest (refusing a byte
 * beyond the announced size), check its size and SHA-256, then the board verifies the program
 * (the VM verifier, helper grants of the CoAP hook, RAM) and only then is it installed in the slot.
 * Any failure leaves the slot's previous image installed and running; it is reported in the status
 * resource (`update.check` names the failed check) and the log.
 *
 * Sequence numbers: like RIOT's RAM storage, one counter per device (not per slot): each update,
 * to any slot, needs a number above the highest installed so far. The status shows it and, per
 * slot, the number each image came with.
 *
 * Slots are containers `slot0`, `slot1`… on the board's `coap` hook with path `/bpf/exec/N`; an
 * update replaces the image in place (Board.replaceImage verifies before it swaps). Board.coapRequest
 * runs them with the request laid out in container memory as gcoap does.
 */
import { EventEmitter } from 'node:events';
import { Board, BoardError, type RunReport } from '../board/board';
import { COAP_BUF_SIZE } from '../board/coap';
import { parseTruncationMarker, truncationMarker, type ConsoleLimits } from '../board/console';
import { VerifyError, FormatError } from '../../vm/errors';
import { FORMAT, CoapError, fetchBlockwise, type CoapTiming } from '../deploy/coap-client';
import { MAX_BLOCK } from '../deploy/coap-blockwise';
import { listenCoap, reply, requestPath, type CoapListener, type CoapReply, type CoapRequest, type HeldState } from '../deploy/coap-server';
import { encode } from '../deploy/cbor';
import { classIdFor, formatUuid, riotBoardName, vendorIdFor } from '../deploy/ids';
import { fingerprint } from '../deploy/keys';
import { ManifestError, verifyEnvelope, verifyImage, type VerifiedManifest } from '../deploy/manifest';
import { loadState, saveState, emptyState, type DeviceState } from './state';
import { DEFAULT_BLOCK_SIZE, fmtS32Dfp, MANIFEST_MAX_BYTES, PATHS, URL_MAX, type UpdateCheck, type UpdateRecord, type UpdateState } from '../deploy/protocol';

export { DEFAULT_BLOCK_SIZE, MANIFEST_MAX_BYTES, URL_MAX, fmtS32Dfp };
export type { UpdateCheck, UpdateRecord, UpdateState };
const STATUS_PATH = PATHS.status;

export interface DeviceOptions {
  /** Board profile (default nrf52840dk), or a ready Board (its containers must be ours alone). */
  profile?: string;
  board?: Board;
  name?: string;
  host?: string;
  /** UDP port; 0 picks a free one (see `port` after start). Default 5683. */
  port?: number;
  trustedKeys?: readonly Uint8Array[];
  /** Persist installed images and sequence numbers here. */
  stateDir?: string;
  vendorId?: Uint8Array;
  classId?: Uint8Array;
  /** RIOT board name for /riot/board and the class id; default from the profile. */
  riotBoard?: string;
  blockSize?: number;
  /** Console caps of each run on the board the device creates (board default: 4 KiB, 64 lines). */
  console?: Partial<ConsoleLimits>;
  /** Per-exchange timing of the device's fetches. */
  fetchTiming?: CoapTiming;
  /** Whole-transfer deadline of one fetch (manifest or image). Default 30 s. */
  fetchTimeoutMs?: number;
  log?: (line: string) => void;
}

interface Counters {
  triggers: number;
  installed: number;
  failed: number;
  failedBy: Partial<Record<UpdateCheck, number>>;
  execs: number;
  execFaults: number;
}

const LOG_KEEP = 100;
const HISTORY_KEEP = 10;
/** A log line quotes peers' paths and messages: it is cut here. */
const LOG_LINE_MAX = 300;
/** Console bytes of one run in the status document (per slot). */
const STATUS_CONSOLE_BYTES = 512;

/** Request bodies the device takes (block-wise too): a trigger URL, a /bpf/exec request payload. */
function maxUpload(method: string, path: string): number {
  if (path === PATHS.trigger) return method === 'POST' || method === 'PUT' ? URL_MAX - 1 : 0;
  if (/^\/bpf\/exec\/\d+$/.test(path)) return method === 'POST' ? COAP_BUF_SIZE : 0;
  return 0;
}

export class RemoteDevice extends EventEmitter {
  readonly board: Board;
  readonly riotBoard: string;
  readonly vendorId: Uint8Array;
  readonly classId: Uint8Array;
  readonly trustedKeys: readonly Uint8Array[];
  private listener: CoapListener | undefined;
  private state: DeviceState;
  private current: UpdateRecord | undefined;
  private readonly history: UpdateRecord[] = [];
  private nextUpdateId = 1;
  private readonly logLines: string[] = [];
  private readonly counters: Counters = { triggers: 0, installed: 0, failed: 0, failedBy: {}, execs: 0, execFaults: 0 };
  private readonly lastRuns = new Map<number, RunReport>();
  private readonly abort = new AbortController();
  private running: Promise<UpdateRecord> | undefined;

  private constructor(private readonly opts: DeviceOptions, state: DeviceState, trusted: readonly Uint8Array[]) {
    super();
    this.board = opts.board ?? new Board({ profile: opts.profile ?? 'nrf52840dk', name: opts.name, console: opts.console });
    this.riotBoard = opts.riotBoard ?? riotBoardName(this.board.profile.name);
    this.vendorId = opts.vendorId ?? vendorIdFor();
    this.classId = opts.classId ?? classIdFor(this.riotBoard, this.vendorId);
    this.state = state;
    this.trustedKeys = trusted;
  }

  /** Create the board, restore `stateDir`, and listen. */
  static async start(opts: DeviceOptions = {}): Promise<RemoteDevice> {
    let state = emptyState();
    const warnings: string[] = [];
    if (opts.stateDir) {
      const r = loadState(opts.stateDir);
      state = r.state;
      warnings.push(...r.warnings);
    }
    let trusted = opts.trustedKeys ? [...opts.trustedKeys] : [];
    if (trusted.length === 0 && state.trustedKeys.length) trusted = state.trustedKeys.map((h) => new Uint8Array(Buffer.from(h, 'hex')));
    const dev = new RemoteDevice(opts, state, trusted);
    for (const w of warnings) dev.log(`state: ${w}`);
    dev.restore();
    if (opts.stateDir && opts.trustedKeys?.length) {
      state.trustedKeys = opts.trustedKeys.map((k) => Buffer.from(k).toString('hex'));
      dev.persist();
    }
    dev.listener = await listenCoap((req, res) => dev.handle(req, res), { host: opts.host ?? '127.0.0.1', port: opts.port ?? 5683, maxUpload });
    dev.log(`${dev.riotBoard}: listening on ${dev.url} (vendor ${formatUuid(dev.vendorId)}, class ${formatUuid(dev.classId)}, ` +
      `${trusted.length ? `trusted key ${trusted.map(fingerprint).join(', ')}` : 'no trusted key: every update will be refused'})`);
    return dev;
  }

  get port(): number {
    if (!this.listener) throw new Error('device not listening');
    return this.listener.port;
  }

  get host(): string {
    return this.listener?.host ?? this.opts.host ?? '127.0.0.1';
  }

  get url(): string {
    return `coap://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  get seq(): number {
    return this.state.seq;
  }

  /** What the CoAP server holds for peers (block-wise uploads, snapshots, duplicate detection). */
  held(): HeldState | undefined {
    return this.listener?.held();
  }

  /** Wait for the update in progress, if any. */
  async idle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.idle();
    await this.listener?.close();
    this.listener = undefined;
    this.board.stop();
  }

  // ---- log ------------------------------------------------------------------------------------

  private log(line: string): void {
    if (line.length > LOG_LINE_MAX) line = line.slice(0, LOG_LINE_MAX - 1) + '…';
    this.logLines.push(`${new Date().toISOString()} ${line}`);
    if (this.logLines.length > LOG_KEEP) this.logLines.splice(0, this.logLines.length - LOG_KEEP);
    this.opts.log?.(line);
    this.emit('log', line);
  }

  // ---- slots ----------------------------------------------------------------------------------

  private containerId(slot: number): string {
    return `slot${slot}`;
  }

  private hasContainer(slot: number): boolean {
    return this.board.containers().some((c) => c.id === this.containerId(slot));
  }

  /** Install or replace the image of a slot; the board verifies it first and keeps the old one on failure. */
  private installImage(slot: number, image: Uint8Array): void {
    const id = this.containerId(slot);
    if (this.hasContainer(slot)) this.board.replaceImage(id, image);
    else this.board.install({ id, name: `.ram.${slot}`, image, hook: 'coap', path: `/bpf/exec/${slot}` });
    this.lastRuns.delete(slot);
  }

  private restore(): void {
    for (const [slot, r] of [...this.state.slots].sort((a, b) => a[0] - b[0])) {
      try {
        if (slot >= this.board.slots.count) throw new Error(`no slot ${slot} on this board`);
        this.installImage(slot, r.image);
        this.log(`state: restored .ram.${slot} (seq ${r.seq}, ${r.size} B)`);
      } catch (e) {
        this.state.slots.delete(slot);
        this.log(`state: cannot restore .ram.${slot}: ${(e as Error).message}`);
      }
    }
  }

  private persist(): void {
    if (this.opts.stateDir) saveState(this.opts.stateDir, this.state);
  }

  // ---- updates --------------------------------------------------------------------------------

  /** Start an update from a manifest URL (what /suit/trigger does). Throws when one is running. */
  trigger(url: string): Promise<UpdateRecord> {
    if (this.running) throw new Error(`an update is in progress (${this.current?.url ?? ''})`);
    this.counters.triggers++;
    const rec: UpdateRecord = { id: this.nextUpdateId++, url, state: 'fetching-manifest', startedAt: new Date().toISOString() };
    this.current = rec;
    this.history.push(rec);
    if (this.history.length > HISTORY_KEEP) this.history.splice(0, this.history.length - HISTORY_KEEP);
    const p = this.update(rec).finally(() => {
      this.running = undefined;
    });
    this.running = p;
    return p;
  }

  private set(rec: UpdateRecord, patch: Partial<UpdateRecord>): void {
    Object.assign(rec, patch);
    this.emit('update', { ...rec });
  }

  private fail(rec: UpdateRecord, check: UpdateCheck, message: string): UpdateRecord {
    this.counters.failed++;
    this.counters.failedBy[check] = (this.counters.failedBy[check] ?? 0) + 1;
    this.set(rec, { state: 'failed', check, message, endedAt: new Date().toISOString() });
    this.log(`suit: update ${rec.id} failed (${check}): ${message}; ${rec.slot !== undefined ? `.ram.${rec.slot}` : 'the slot'} keeps its previous image`);
    return rec;
  }

  private async update(rec: UpdateRecord): Promise<UpdateRecord> {
    const timing = this.opts.fetchTiming ?? {};
    const totalTimeoutMs = this.opts.fetchTimeoutMs ?? 30_000;
    const blockSize = this.opts.blockSize ?? DEFAULT_BLOCK_SIZE;
    this.log(`suit_coap: downloading "${rec.url}"`);
    let envelope: Uint8Array;
    try {
      envelope = await fetchBlockwise(rec.url, { ...timing, blockSize, maxBytes: MANIFEST_MAX_BYTES, totalTimeoutMs, signal: this.abort.signal });
    } catch (e) {
      if (e instanceof CoapError && e.kind === 'too-large') return this.fail(rec, 'format', `the manifest is larger than RIOT's ${MANIFEST_MAX_BYTES} B manifest buffer`);
      return this.fail(rec, 'fetch', `manifest: ${(e as Error).message}`);
    }
    this.log(`suit_coap: got manifest with size ${envelope.length}`);
    this.set(rec, { state: 'verifying-manifest' });
    let m: VerifiedManifest;
    try {
      m = verifyEnvelope(envelope, {
        trustedKeys: this.trustedKeys, vendorId: this.vendorId, classId: this.classId,
        currentSeq: this.state.seq, slotCount: this.board.slots.count, slotSize: this.board.slots.size,
      });
    } catch (e) {
      if (e instanceof ManifestError) return this.fail(rec, e.check, e.message);
      return this.fail(rec, 'format', (e as Error).message);
    }
    this.log(`suit: manifest verified (key ${m.keyIndex}), seq ${m.seq} > ${this.state.seq}, ${m.location}, ${m.size} B from ${m.uri}`);
    this.set(rec, { state: 'fetching-image', seq: m.seq, slot: m.slot, location: m.location, size: m.size, received: 0, block: 0, blocks: Math.ceil(m.size / blockSize) });
    let image: Uint8Array;
    try {
      image = await fetchBlockwise(m.uri, {
        ...timing, blockSize, maxBytes: m.size, totalTimeoutMs, signal: this.abort.signal,
        onBlock: (p) => this.set(rec, { received: p.received, block: p.num + 1, blocks: Math.max(p.num + 1, Math.ceil(m.size / p.blockSize)) }),
      });
    } catch (e) {
      if (e instanceof CoapError && e.kind === 'too-large') return this.fail(rec, 'size', `the server sends more than the manifest's ${m.size} B`);
      return this.fail(rec, 'fetch', `image: ${(e as Error).message}`);
    }
    if (image.length < m.size) return this.fail(rec, 'fetch', `image transfer ended after ${image.length} of ${m.size} B (truncated)`);
    this.set(rec, { state: 'verifying' });
    try {
      verifyImage(m, image);
    } catch (e) {
      if (e instanceof ManifestError) return this.fail(rec, e.check, e.message);
      throw e;
    }
    this.log(`suit: image digest OK (${m.size} B), verifying the program`);
    const previous = this.state.slots.get(m.slot);
    try {
      this.installImage(m.slot, image);
    } catch (e) {
      if (e instanceof VerifyError) return this.fail(rec, 'verifier', e.message);
      if (e instanceof FormatError) return this.fail(rec, 'image', e.message);
      if (e instanceof BoardError) return this.fail(rec, e.code === 'slot' ? 'size' : 'install', e.message);
      return this.fail(rec, 'install', (e as Error).message);
    }
    const oldSeq = this.state.seq;
    this.state.seq = m.seq;
    this.state.slots.set(m.slot, { seq: m.seq, digest: Buffer.from(m.digest).toString('hex'), size: m.size, installedAt: new Date().toISOString(), image });
    try {
      this.persist();
    } catch (e) {
      // Never run an image the device would forget on restart: put the old one back.
      this.state.seq = oldSeq;
      if (previous) {
        this.state.slots.set(m.slot, previous);
        this.installImage(m.slot, previous.image);
      } else {
        this.state.slots.delete(m.slot);
        this.board.remove(this.containerId(m.slot));
      }
      return this.fail(rec, 'storage', `cannot save the state: ${(e as Error).message}`);
    }
    this.counters.installed++;
    this.set(rec, { state: 'installed', endedAt: new Date().toISOString() });
    this.log(`suit: installed ${m.location} seq ${m.seq} (${m.size} B)`);
    return rec;
  }

  // ---- runs -----------------------------------------------------------------------------------

  /** Run slot N as RIOT's /bpf/exec/N handler does. Undefined when the slot is empty or did not run. */
  exec(slot: number, payload: Uint8Array = new Uint8Array(0)): RunReport | undefined {
    if (!this.hasContainer(slot)) return undefined;
    const id = this.containerId(slot);
    let report: RunReport | undefined;
    const onResult = (r: RunReport): void => {
      if (r.container === id && !report) report = r;
    };
    this.board.on('result', onResult);
    try {
      this.board.coapRequest('POST', `/bpf/exec/${slot}`, payload);
    } finally {
      this.board.off('result', onResult);
    }
    if (report) {
      this.counters.execs++;
      if (report.status === 'fault') this.counters.execFaults++;
      this.lastRuns.set(slot, report);
    }
    return report;
  }

  // ---- status ---------------------------------------------------------------------------------

  status(): Record<string, unknown> {
    const infos = new Map(this.board.containers().map((c) => [c.id, c]));
    const slots = [];
    for (let n = 0; n < this.board.slots.count; n++) {
      const rec = this.state.slots.get(n);
      const c = infos.get(this.containerId(n));
      const run = this.lastRuns.get(n);
      slots.push({
        slot: n,
        location: `.ram.${n}`,
        capacity: this.board.slots.size,
        installed: !!c,
        seq: rec?.seq ?? null,
        size: rec?.size ?? null,
        digest: rec?.digest ?? null,
        installedAt: rec?.installedAt ?? null,
        state: c?.state ?? null,
        runs: c?.runs ?? 0,
        faults: c?.faults ?? { consecutive: 0, total: 0 },
        lastRun: run ? runJson(run, STATUS_CONSOLE_BYTES) : null,
        store: c ? this.board.store('local', c.id).toJSON() : {},
      });
    }
    return {
      device: {
        name: this.board.name, board: this.riotBoard, profile: this.board.profile.name,
        vendorId: formatUuid(this.vendorId), classId: formatUuid(this.classId),
        trustedKeys: this.trustedKeys.map(fingerprint), url: this.listener ? this.url : null,
        storeCapacity: this.board.store('global').capacity,
      },
      seq: this.state.seq,
      slots,
      update: this.current ? { ...this.current } : null,
      history: this.history.map((h) => ({ id: h.id, url: h.url, state: h.state, seq: h.seq ?? null, slot: h.slot ?? null, check: h.check ?? null, message: h.message ?? null })),
      counters: { ...this.counters, failedBy: { ...this.counters.failedBy } },
      stores: { global: this.board.store('global').toJSON() },
      log: this.logLines.slice(-50),
    };
  }

  // ---- CoAP -----------------------------------------------------------------------------------

  private handle(req: CoapRequest, res: CoapReply): void {
    const method = req.method;
    let path: string;
    try {
      path = requestPath(req);
    } catch {
      return reply(res, '4.00', 'the Uri-Path is not valid percent-encoding');
    }
    try {
      if (path === '/suit/trigger') {
        if (method !== 'POST' && method !== 'PUT') return reply(res, '4.05');
        const url = Buffer.from(req.payload).toString('utf8').replace(/\0+$/, '').trim();
        if (!url) return reply(res, '4.08', 'the payload must be the manifest URL');
        if (req.payload.length >= URL_MAX) return reply(res, '4.13', `the URL must be shorter than ${URL_MAX} B`);
        if (!url.startsWith('coap://')) return reply(res, '4.00', 'the manifest URL must start with coap://');
        if (this.running) return reply(res, '5.03', `busy: update ${this.current?.id} in progress`);
        this.log('suit_coap: trigger received');
        void this.trigger(url).catch((e) => this.log(`suit: internal error: ${(e as Error).message}`));
        return reply(res, '2.01');
      }
      const exec = /^\/bpf\/exec\/(\d+)$/.exec(path);
      if (exec) {
        if (method !== 'POST') return reply(res, '4.05');
        const slot = Number(exec[1]);
        if (slot >= this.board.slots.count) return reply(res, '4.04', `no slot ${slot} (.ram.0 … .ram.${this.board.slots.count - 1})`);
        if (!this.hasContainer(slot)) return reply(res, '4.04', `.ram.${slot} is empty`);
        const report = this.exec(slot, new Uint8Array(req.payload));
        if (!report) {
          const c = this.board.container(this.containerId(slot));
          return reply(res, '5.03', `.ram.${slot} did not run (${c.state})`);
        }
        // One message: a host reads this reply without blocks (RemoteBoard.exec), so its console is cut to fit.
        if (accepts(req, 'application/json')) return reply(res, '2.04', execJson(slot, report), 'application/json');
        // RIOT: int64 result, printed as int32 with two decimals (fmt_s32_dfp(reply, result, -2)).
        const result = report.status === 'exit' ? Number(BigInt.asIntN(32, report.r0)) : -1;
        return reply(res, '2.04', fmtS32Dfp(result, -2), 'text/plain');
      }
      if (path === '/riot/board') return method === 'GET' ? reply(res, '2.05', this.riotBoard, 'text/plain') : reply(res, '4.05');
      if (path === '/suit/version') return method === 'GET' ? reply(res, '2.05', 'NONE', 'text/plain') : reply(res, '4.05');
      if (path === STATUS_PATH) {
        if (method !== 'GET') return reply(res, '4.05');
        // ?only=update: the small answer a host polls while it waits for an outcome.
        const only = /(?:^|&)only=update(?:&|$)/.test((req.url ?? '').split('?')[1] ?? '');
        const s = only ? { seq: this.state.seq, update: this.current ? { ...this.current } : null } : this.status();
        if (accepts(req, 'application/cbor')) return reply(res, '2.05', encode(s), 'application/cbor');
        return reply(res, '2.05', JSON.stringify(s), 'application/json');
      }
      if (path === '/.well-known/core') {
        const links = ['</suit/trigger>', ...Array.from({ length: this.board.slots.count }, (_, n) => `</bpf/exec/${n}>`), '</riot/board>', '</suit/version>', `<${STATUS_PATH}>;ct="50 60"`];
        return reply(res, '2.05', links.join(','), 'application/link-format');
      }
      return reply(res, '4.04', `no resource ${path}`);
    } catch (e) {
      this.log(`coap: ${method} ${path}: ${(e as Error).message}`);
      return reply(res, e instanceof BoardError && e.code === 'payload' ? '4.13' : '5.00', (e as Error).message);
    }
  }
}

function accepts(req: CoapRequest, format: 'application/json' | 'application/cbor'): boolean {
  return req.accept === (format === 'application/json' ? FORMAT.JSON : FORMAT.CBOR);
}

/** A run report as JSON fields, its console cut to `consoleBytes` (as JSON text). */
function runJson(r: RunReport, consoleBytes: number): Record<string, unknown> {
  const small = (v: bigint): number | string => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString());
  return {
    status: r.status, r0: small(r.r0Signed), insns: r.insns, estimatedUs: r.estimatedUs, estimated: true,
    fault: r.fault ? { code: r.fault.code, pc: r.fault.pc, message: r.fault.message, insn: r.fault.insn ?? null } : null,
    console: fitLines(r.console, consoleBytes), faults: r.faults, quarantined: r.quarantined,
  };
}

/** The JSON reply of /bpf/exec/N, within one CoAP block. */
function execJson(slot: number, r: RunReport): string {
  const bare = JSON.stringify({ slot, ...runJson(r, 0) });
  return JSON.stringify({ slot, ...runJson(r, MAX_BLOCK - bare.length - 80) }); // room for the marker
}

/**
 * Whole lines while their JSON text fits in `maxBytes`, then one marker line counting what was
 * left out (the board's own marker, if the run had one, is merged into it). The marker may go
 * beyond the budget: it is short.
 */
export function fitLines(lines: readonly string[], maxBytes: number): string[] {
  const prior = lines.length ? parseTruncationMarker(lines[lines.length - 1]) : undefined;
  const body = prior ? lines.slice(0, -1) : lines;
  const out: string[] = [];
  let used = 0;
  let k = 0;
  for (; k < body.length; k++) {
    const cost = JSON.stringify(body[k]).length + 1;
    if (used + cost > maxBytes) break;
    used += cost;
    out.push(body[k]);
  }
  if (k === body.length) return prior ? [...out, lines[lines.length - 1]] : out;
  const rest = body.slice(k);
  out.push(truncationMarker(rest.reduce((s, l) => s + l.length + 1, prior?.droppedBytes ?? 0), rest.length + (prior?.droppedLines ?? 0)));
  return out;
}
