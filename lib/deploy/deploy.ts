/**
 * Host side of a deployment: sign an image for one or many boards and install it over CoAP, in
 * parallel, reporting per-board progress and outcome. `femto deploy` and the Node-RED
 * `femto-deploy` node are thin faces over `deploy()`.
 *
 * For each target, concurrently:
 *  1. Ask the board who it is: GET /femto/status (our devices: board name, current sequence
 *     number, update state) or, failing that, GET /riot/board (a real RIOT board). The class id is
 *     derived from the board name unless given; the sequence number, unless given, is the board's
 *     current one + 1, or for a board without a status resource the Unix time in seconds (what
 *     RIOT's build system uses as SUIT sequence number: monotonic without any state on the host).
 *  2. Sign a manifest for it, pointing at `coap://HOST:PORT/d/<token>/image` on a CoAP file server
 *     this call runs (or the one given), and serve manifest and image under that per-target
 *     token — the token tells which board fetches which block ("fetching block k/n").
 *  3. POST the manifest URL to /suit/trigger.
 *  4. Poll /femto/status?only=update (a one-block answer) until the board reports this manifest installed or failed (the URL is
 *     unique per call, so an older update is never mistaken for this one). A board without a status
 *     resource cannot confirm: its outcome is `unconfirmed` once the last image block was served.
 *
 * Progress events: { target, phase, message } with phase 'probing', 'triggered', 'fetching'
 * (block/blocks), 'verifying', 'installed' (seq) or 'failed'. Outcomes: one per target, in target
 * order, never thrown: `ok`, and on failure `error.kind` = 'rejected' (the board refused: `check`
 * says which check: signature, digest, sequence, vendor, class, size, verifier…), 'timeout' (no
 * answer or no outcome in time), 'down' (nothing listens), 'busy', 'protocol', 'unconfirmed'.
 */
import { randomBytes } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { CoapError, coapCall, fetchBlockwise, FORMAT, parseCoapUrl, type CoapTiming } from './coap-client';
import { CoapFileServer, type BlockEvent } from './coap-server';
import { classIdFor, vendorIdFor } from './ids';
import { keyPairFromSecret, type KeyPair } from './keys';
import { createEnvelope, MAX_SEQ } from './manifest';
import { PATHS, type UpdateCheck, type UpdateRecord, type UpdateState } from './protocol';

export interface DeployTarget {
  /** coap://host:port of the board. */
  url: string;
  /** Overrides of the call-wide options for this board. */
  seq?: number;
  classId?: Uint8Array;
  board?: string;
}

export type DeployPhase = 'probing' | 'triggered' | 'fetching' | 'verifying' | 'installed' | 'failed';

export interface DeployProgress {
  target: string;
  phase: DeployPhase;
  block?: number;
  blocks?: number;
  seq?: number;
  message: string;
}

export type DeployErrorKind = 'rejected' | 'timeout' | 'down' | 'busy' | 'protocol' | 'unconfirmed';

export interface DeployOutcome {
  target: string;
  ok: boolean;
  slot: number;
  seq?: number;
  /** The board's last reported update state. */
  state?: UpdateState;
  error?: { kind: DeployErrorKind; check?: UpdateCheck; message: string };
  /** Milliseconds from the start of the call to this board's outcome. */
  ms: number;
  manifestUrl?: string;
}

export interface DeployOptions {
  image: Uint8Array;
  /** Ed25519 secret key (32 bytes) or a key pair. */
  key: Uint8Array | KeyPair;
  targets: readonly (string | DeployTarget)[];
  slot: number;
  /** Sequence number for every board (default: per board, see above). */
  seq?: number;
  /** Default: RIOT's (uuid5 of riot-os.org). */
  vendorId?: Uint8Array;
  /** Class id for every board; default: derived per board from its board name. */
  classId?: Uint8Array;
  /** Board name to derive the class id from, for every board. */
  board?: string;
  /** Per-board deadline for the whole update. Default 30 000 ms. */
  timeoutMs?: number;
  /** Status poll interval. Default 50 ms. */
  pollMs?: number;
  /** Serve manifests and images from this (running) server instead of a fresh one. */
  server?: CoapFileServer;
  /** Address to serve from (must be reachable by the boards). Default: loopback of the targets' family. */
  serveHost?: string;
  servePort?: number;
  /** Timing of the host's own requests (trigger, status). */
  timing?: CoapTiming;
  onProgress?: (p: DeployProgress) => void;
  signal?: AbortSignal;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

/** The address to serve from when none is given: loopback, when every target is local. */
export function defaultServeHost(targets: readonly (string | DeployTarget)[]): string {
  const hosts = targets.map((t) => parseCoapUrl(typeof t === 'string' ? t : t.url).host);
  if (hosts.every((h) => LOOPBACK.test(h))) return hosts.some((h) => isIPv6(h)) && hosts.every((h) => isIPv6(h)) ? '::1' : '127.0.0.1';
  throw new Error(`the boards (${[...new Set(hosts.filter((h) => !LOOPBACK.test(h)))].join(', ')}) are not on this machine: give the address of this host they can reach (serveHost / --host)`);
}

interface Probe {
  board?: string;
  seq?: number;
  hasStatus: boolean;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * A board's /femto/status as JSON (block-wise, one consistent snapshot); undefined when the board
 * has no such resource (a real RIOT board). Transport failures throw CoapError.
 */
export async function readStatus(base: string, timing: CoapTiming = {}, signal?: AbortSignal, only?: 'update'): Promise<Record<string, unknown> | undefined> {
  try {
    const bytes = await fetchBlockwise(base + PATHS.status + (only ? `?only=${only}` : ''), { ...timing, blockSize: 1024, sameToken: true, accept: FORMAT.JSON, signal, maxBytes: 1 << 20 });
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof CoapError && e.kind === 'response' && e.code === '4.04') return undefined;
    throw e;
  }
}

async function probe(base: string, timing: CoapTiming, signal?: AbortSignal): Promise<Probe> {
  const s = await readStatus(base, timing, signal);
  if (s) {
    const dev = (s.device ?? {}) as Record<string, unknown>;
    return { board: typeof dev.board === 'string' ? dev.board : undefined, seq: typeof s.seq === 'number' ? s.seq : undefined, hasStatus: true };
  }
  const r = await coapCall(base + PATHS.board, { ...timing, signal });
  return { board: Buffer.from(r.payload).toString('utf8').trim(), hasStatus: false };
}

function errorOf(e: unknown): { kind: DeployErrorKind; message: string } {
  if (e instanceof CoapError) {
    const kind: DeployErrorKind = e.kind === 'timeout' || e.kind === 'down' ? e.kind : 'protocol';
    return { kind, message: e.message };
  }
  return { kind: 'protocol', message: (e as Error).message };
}

/** Deploy one image to every target in parallel; resolves to one outcome per target. */
export async function deploy(opts: DeployOptions): Promise<DeployOutcome[]> {
  if (!(opts.image instanceof Uint8Array) || opts.image.length === 0) throw new TypeError('deploy: image must be non-empty bytes');
  if (!Number.isInteger(opts.slot) || opts.slot < 0) throw new RangeError(`deploy: slot ${opts.slot} is not an integer ≥ 0`);
  if (opts.seq !== undefined && (!Number.isInteger(opts.seq) || opts.seq < 0 || opts.seq > MAX_SEQ)) throw new RangeError(`deploy: sequence number ${opts.seq} is not in 0…${MAX_SEQ}`);
  const pair = opts.key instanceof Uint8Array ? keyPairFromSecret(opts.key) : opts.key;
  const targets = opts.targets.map((t) => (typeof t === 'string' ? { url: t } : t));
  for (const t of targets) parseCoapUrl(t.url); // bad URLs fail the call, before anything is sent
  const timing: CoapTiming = { timeoutMs: 3000, ...opts.timing };
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const pollMs = opts.pollMs ?? 50;
  const vendorId = opts.vendorId ?? vendorIdFor();
  const started = Date.now();
  const server = opts.server ?? new CoapFileServer({ host: opts.serveHost ?? defaultServeHost(targets), port: opts.servePort ?? 0 });
  await server.listen();
  const emit = (p: DeployProgress): void => {
    try {
      opts.onProgress?.(p);
    } catch {
      /* a listener's error must not break the deployment */
    }
  };
  const byToken = new Map<string, { target: string; lastBlockSeen: boolean; seq?: number; wake?: AbortController }>();
  const onBlock = (b: BlockEvent): void => {
    const m = /^\/d\/([0-9a-f]+)\/image$/.exec(b.path);
    const t = m ? byToken.get(m[1]) : undefined;
    if (!t) return;
    emit({ target: t.target, phase: 'fetching', block: b.block, blocks: b.blocks, seq: t.seq, message: `fetching block ${b.block}/${b.blocks}` });
    if (b.block === b.blocks && !t.lastBlockSeen) {
      t.lastBlockSeen = true;
      t.wake?.abort(); // the board is verifying now: look at its status soon
      emit({ target: t.target, phase: 'verifying', seq: t.seq, message: 'verifying' });
    }
  };
  server.on('block', onBlock);

  const one = async (t: DeployTarget): Promise<DeployOutcome> => {
    const base = (() => {
      const p = parseCoapUrl(t.url);
      return `coap://${isIPv6(p.host) ? `[${p.host}]` : p.host}:${p.port}`;
    })();
    const ac = new AbortController();
    const onAbort = (): void => ac.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const deadline = setTimeout(() => ac.abort(), timeoutMs);
    const token = randomBytes(8).toString('hex');
    const out = (o: Omit<DeployOutcome, 'target' | 'slot' | 'ms'>): DeployOutcome => {
      const r: DeployOutcome = { target: base, slot: opts.slot, ms: Date.now() - started, ...o };
      emit(r.ok
        ? { target: base, phase: 'installed', seq: r.seq, message: `installed seq ${r.seq}` }
        : { target: base, phase: 'failed', seq: r.seq, message: `${r.error?.kind}${r.error?.check ? ` (${r.error.check})` : ''}: ${r.error?.message}` });
      return r;
    };
    try {
      emit({ target: base, phase: 'probing', message: 'asking the board who it is' });
      // A lost datagram must not sink the update: ask again until the deadline (a board that is
      // down answers with an ICMP error at once and is not retried).
      let info: Probe | undefined;
      for (;;) {
        try {
          info = await probe(base, timing, ac.signal);
          break;
        } catch (e) {
          if (e instanceof CoapError && e.kind === 'timeout' && !ac.signal.aborted) continue;
          const err = ac.signal.aborted && !(e instanceof CoapError && e.kind === 'down')
            ? { kind: 'timeout' as const, message: `device not answering: no answer from ${base} within ${timeoutMs} ms` }
            : errorOf(e);
          return out({ ok: false, error: err });
        }
      }
      const board = t.board ?? opts.board ?? info.board;
      const classId = t.classId ?? opts.classId ?? (board ? classIdFor(board, vendorId) : undefined);
      if (!classId) return out({ ok: false, error: { kind: 'protocol', message: `${base} did not say which board it is; give a board name or class id` } });
      const seq = t.seq ?? opts.seq ?? (info.seq !== undefined ? info.seq + 1 : Math.floor(Date.now() / 1000));
      if (seq > MAX_SEQ) return out({ ok: false, error: { kind: 'protocol', message: `sequence number ${seq} exceeds ${MAX_SEQ}` } });
      const manifestPath = `d/${token}/manifest`;
      const imagePath = `d/${token}/image`;
      const envelope = createEnvelope({ seq, slot: opts.slot, vendorId, classId, image: opts.image, uri: server.url(imagePath) }, pair.secretKey);
      byToken.set(token, { target: base, lastBlockSeen: false, seq });
      server.put(imagePath, opts.image);
      server.put(manifestPath, envelope);
      const manifestUrl = server.url(manifestPath);
      try {
        const r = await coapCall(base + PATHS.trigger, { ...timing, method: 'POST', payload: manifestUrl, signal: ac.signal });
        void r;
      } catch (e) {
        if (e instanceof CoapError && e.kind === 'response' && e.code === '5.03') return out({ ok: false, seq, manifestUrl, error: { kind: 'busy', message: `${base} is busy with another update` } });
        const err = errorOf(e);
        return out({ ok: false, seq, manifestUrl, error: ac.signal.aborted && err.kind === 'protocol' ? { kind: 'timeout', message: `no answer from ${base} within ${timeoutMs} ms` } : err });
      }
      emit({ target: base, phase: 'triggered', seq, message: `triggered, seq ${seq}` });
      if (!info.hasStatus) {
        while (!ac.signal.aborted && !byToken.get(token)?.lastBlockSeen) await sleep(pollMs, ac.signal);
        return out({ ok: false, seq, manifestUrl, error: { kind: 'unconfirmed', message: byToken.get(token)?.lastBlockSeen ? `${base} fetched the image but has no status resource to confirm the install` : `${base} did not fetch the image within ${timeoutMs} ms` } });
      }
      let last: UpdateRecord | undefined;
      let reportedVerifying = false;
      // Poll every pollMs while the board fetches; once it has the last block it only has to
      // verify and install (milliseconds), so poll at a quicker pace from then on.
      const entry = byToken.get(token)!;
      while (!ac.signal.aborted) {
        if (entry.lastBlockSeen) await sleep(Math.min(10, pollMs), ac.signal);
        else {
          entry.wake = new AbortController();
          const both = AbortSignal.any([ac.signal, entry.wake.signal]);
          await sleep(pollMs, both);
          entry.wake = undefined;
        }
        if (ac.signal.aborted) break;
        let s: Record<string, unknown> | undefined;
        try {
          s = await readStatus(base, timing, ac.signal, 'update');
        } catch (e) {
          if (ac.signal.aborted) break;
          if (e instanceof CoapError && e.kind === 'down') return out({ ok: false, seq, manifestUrl, state: last?.state, error: { kind: 'down', message: `${base} went down during the update: ${e.message}` } });
          continue; // a lost poll is retried until the deadline
        }
        const u = s?.update as UpdateRecord | null | undefined;
        if (!u || u.url !== manifestUrl) continue;
        last = u;
        if (u.state === 'verifying' && !reportedVerifying && !byToken.get(token)?.lastBlockSeen) {
          reportedVerifying = true;
          emit({ target: base, phase: 'verifying', seq, message: 'verifying' });
        }
        if (u.state === 'installed') return out({ ok: true, seq: u.seq ?? seq, manifestUrl, state: u.state });
        if (u.state === 'failed') {
          return out({ ok: false, seq, manifestUrl, state: u.state, error: { kind: 'rejected', check: u.check, message: u.message ?? 'update failed' } });
        }
      }
      const where = last ? `last state: ${last.state}${last.block ? `, block ${last.block}/${last.blocks}` : ''}` : 'the board never reported this update';
      return out({ ok: false, seq, manifestUrl, state: last?.state, error: { kind: 'timeout', message: `no outcome from ${base} within ${timeoutMs} ms (${where})` } });
    } finally {
      clearTimeout(deadline);
      opts.signal?.removeEventListener('abort', onAbort);
      byToken.delete(token);
      server.remove(`d/${token}/manifest`);
      server.remove(`d/${token}/image`);
    }
  };

  try {
    return await Promise.all(targets.map(one));
  } finally {
    server.off('block', onBlock);
    if (!opts.server) await server.close();
  }
}
