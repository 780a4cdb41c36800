/**
 * A CoAP server on UDP (RFC 7252, block-wise per RFC 7959) with the message codec of
 * lib/coap/message.ts, for the device and the host's file server. Every piece of state a peer can
 * make it keep is bounded: duplicate detection, block-wise uploads and response
 * snapshots live in BoundedStores (count, bytes, age), swept on a timer that does not keep the
 * process alive.
 *
 * Why not the `coap` package's server (used before): it reassembles every Block1 upload itself,
 * before any handler sees it, for any resource, keeping each fragment 247 s with no count or byte
 * limit and a timer per transfer that keeps the process alive (3,000 datagrams of 60 KB: 90 →
 * 265 MB); it keeps every multi-block response body per token for 247 s, again without a count;
 * and an Observe request for a body over 1,152 B made it throw ("Max packet size"), which the
 * device answered with 5.00. A handler cannot fix any of that, so the protocol layer is ours.
 *
 * Behaviour:
 * - Requests (CON or NON) go to the handler once: a duplicate (same peer and message id) gets the
 *   same answer again, never a second run (RFC 7252 §4.5).
 * - Answers are piggybacked on the ACK; a handler that has not answered after `piggybackMs` gets
 *   an empty ACK sent for it and its answer goes later as a separate CON response, retransmitted
 *   until acknowledged (at most 4 times).
 * - Block1 (uploads): see coap-blockwise.ts; `maxUpload(method, path)` says which resources take
 *   a body and how large (default: none).
 * - Block2: any success body larger than 1,024 B, or than the block the client asked for, goes
 *   block by block with Block2, Size2 and ETag; a client that keeps its token across blocks reads
 *   one snapshot of the body.
 * - Observe is not offered: such a request is answered once, without an Observe option (RFC 7641
 *   §4.1: the client is then not on the list of observers).
 * - A CoAP ping (empty CON) gets a reset; responses, ACKs and resets other than for our separate
 *   responses, and datagrams that are not CoAP are ignored (RFC 7252 §4.2, 4.3).
 */
import * as dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { codeText, encodeCoap, parseCoap, type CoapMessage, type CoapOption } from '../coap/message';
import { BoundedStore, startSweeping, type StoreLimits } from './bounded-store';
import { blockOfBody, MAX_BLOCK, readBlock, Snapshots, Uploads, type Block, type UploadLimits } from './coap-blockwise';
import { FORMAT, OPT, optUint, readUint } from './coap-client';

const TYPE = { CON: 0, NON: 1, ACK: 2, RST: 3 } as const;
const METHODS = ['', 'GET', 'POST', 'PUT', 'DELETE', 'FETCH', 'PATCH', 'IPATCH'];
const FORMATS: Readonly<Record<string, number>> = {
  'text/plain': FORMAT.TEXT, 'application/link-format': FORMAT.LINK_FORMAT, 'application/octet-stream': FORMAT.OCTET_STREAM,
  'application/json': FORMAT.JSON, 'application/cbor': FORMAT.CBOR,
};

/** RFC 7252 §4.8 ACK_TIMEOUT and MAX_RETRANSMIT, for separate responses. */
const ACK_TIMEOUT_MS = 2000;
const MAX_RETRANSMIT = 4;
/** Separate responses awaiting their ACK; beyond this, one is sent once without retransmission. */
const MAX_PENDING_SEPARATE = 64;

/** Remembered answers for duplicates: RFC 7252's EXCHANGE_LIFETIME is 247 s, bounded here. */
export const DEFAULT_EXCHANGE_LIMITS: Readonly<StoreLimits> = Object.freeze({ maxEntries: 1024, maxBytes: 1536 * 1024, maxAgeMs: 60_000 });

export interface CoapRequest {
  /** "GET", "POST", … or the code ("0.08") of a method we do not name. */
  method: string;
  /** "/a/b?x=1&y": each Uri-Path segment percent-encoded, Uri-Query options joined with "&". */
  url: string;
  /** The whole body (block-wise uploads reassembled). */
  payload: Buffer;
  options: readonly CoapOption[];
  accept?: number;
  contentFormat?: number;
  token: Uint8Array;
  rsinfo: { address: string; port: number };
}

export interface CoapReply {
  /** Response code, "2.05" (default). */
  code: string;
  setOption(num: number, value: Uint8Array): this;
  /** Send the answer (once; later calls do nothing). */
  end(payload?: Uint8Array): void;
  readonly ended: boolean;
}

export type CoapHandler = (req: CoapRequest, res: CoapReply) => void;

export interface ListenOptions {
  /** Address to bind; default 127.0.0.1. */
  host?: string;
  /** UDP port; 0 (default) picks a free one. */
  port?: number;
  /** Largest request body a resource takes in blocks (Block1); 0: none. Default: none anywhere. */
  maxUpload?: (method: string, path: string) => number;
  limits?: { uploads?: Partial<UploadLimits>; snapshots?: Partial<StoreLimits>; exchanges?: Partial<StoreLimits> };
  /** Wait this long for a handler's answer before sending an empty ACK. Default 200 ms. */
  piggybackMs?: number;
  /** Clock of the stores (tests). */
  now?: () => number;
}

/** What the server holds on behalf of peers. */
export interface HeldState {
  uploads: number;
  uploadBytes: number;
  snapshots: number;
  snapshotBytes: number;
  exchanges: number;
  exchangeBytes: number;
}

export interface CoapListener {
  host: string;
  port: number;
  held(): HeldState;
  close(): Promise<void>;
}

interface Exchange {
  /** The datagram that answered it (again for a duplicate); undefined while the handler works. */
  answer?: Uint8Array;
}

/** The path of a request without query, normalised to "/a/b" (segments decoded). */
export function requestPath(req: { url?: string }): string {
  return '/' + (req.url ?? '').split('?')[0].split('/').filter(Boolean).map(decodeURIComponent).join('/');
}

/** Content-Format number of a name ("application/json") or number. */
export function formatNumber(format: string | number): number {
  const n = typeof format === 'number' ? format : FORMATS[format];
  if (n === undefined) throw new RangeError(`unknown content format "${format}"`);
  return n;
}

/** Reply with a code, an optional payload (text is UTF-8) and Content-Format. */
export function reply(res: CoapReply, code: string, payload?: Uint8Array | string, format?: string | number): void {
  res.code = code;
  if (format !== undefined) res.setOption(OPT.CONTENT_FORMAT, optUint(OPT.CONTENT_FORMAT, formatNumber(format)).value);
  res.end(payload === undefined ? undefined : typeof payload === 'string' ? new Uint8Array(Buffer.from(payload, 'utf8')) : payload);
}

/** Bind a UDP socket and serve CoAP on it with `handler`. */
export async function listenCoap(handler: CoapHandler, opts: ListenOptions = {}): Promise<CoapListener> {
  const host = opts.host ?? '127.0.0.1';
  // reuseAddr off: on Linux a UDP port bound with SO_REUSEADDR can be bound twice, and a second
  // device on a busy port would then silently steal half the traffic.
  const sock = dgram.createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(opts.port ?? 0, host, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  const server = new Endpoint(sock, handler, opts);
  return { host, port: sock.address().port, held: () => server.held(), close: () => server.close() };
}

class Endpoint {
  private readonly now: () => number;
  private readonly exchanges: BoundedStore<Exchange>;
  private readonly uploads: Uploads;
  private readonly snapshots: Snapshots;
  private readonly stopSweeping: () => void;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly separate = new Map<string, () => void>();
  private mid = randomBytes(2).readUInt16BE(0);
  private closed = false;

  constructor(private readonly sock: dgram.Socket, private readonly handler: CoapHandler, private readonly opts: ListenOptions) {
    this.now = opts.now ?? Date.now;
    this.exchanges = new BoundedStore({ ...DEFAULT_EXCHANGE_LIMITS, ...opts.limits?.exchanges }, this.now);
    this.uploads = new Uploads(opts.limits?.uploads, this.now);
    this.snapshots = new Snapshots(opts.limits?.snapshots, this.now);
    const stores = [this.exchanges, this.uploads, this.snapshots];
    this.stopSweeping = startSweeping(stores, Math.min(5000, ...[this.exchanges.limits, this.uploads.limits, this.snapshots.limits].map((l) => l.maxAgeMs / 2)));
    sock.on('message', (msg, rinfo) => this.onDatagram(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), rinfo));
    sock.on('error', () => undefined); // a send to a vanished peer must not crash the process
  }

  held(): HeldState {
    return {
      uploads: this.uploads.count, uploadBytes: this.uploads.bytes,
      snapshots: this.snapshots.count, snapshotBytes: this.snapshots.bytes,
      exchanges: this.exchanges.size, exchangeBytes: this.exchanges.bytes,
    };
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.stopSweeping();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.separate.clear();
    this.exchanges.clear();
    this.uploads.clear();
    this.snapshots.clear();
    return new Promise((resolve) => this.sock.close(() => resolve()));
  }

  private send(bytes: Uint8Array, peer: dgram.RemoteInfo): void {
    if (this.closed) return;
    try {
      this.sock.send(bytes, peer.port, peer.address, () => undefined);
    } catch {
      /* the socket is going away */
    }
  }

  private timer(ms: number, fn: () => void): () => void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
    return () => {
      clearTimeout(t);
      this.timers.delete(t);
    };
  }

  private nextMid(): number {
    this.mid = (this.mid + 1) & 0xffff;
    return this.mid;
  }

  private onDatagram(bytes: Uint8Array, peer: dgram.RemoteInfo): void {
    let m: CoapMessage;
    try {
      m = parseCoap(bytes);
    } catch {
      return; // not CoAP
    }
    const peerKey = `${peer.address}|${peer.port}`;
    if (m.type === TYPE.ACK || m.type === TYPE.RST) {
      this.separate.get(`${peerKey}#${m.messageId}`)?.();
      return;
    }
    if (m.code === 0) {
      if (m.type === TYPE.CON) this.send(encodeCoap({ type: TYPE.RST, code: 0, messageId: m.messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) }), peer);
      return;
    }
    if (m.code >> 5 !== 0) return; // a response sent to a server
    const exKey = `${peerKey}#${m.messageId}`;
    const seen = this.exchanges.get(exKey);
    if (seen) {
      if (seen.answer) this.send(seen.answer, peer);
      return;
    }
    const ex: Exchange = {};
    this.exchanges.set(exKey, ex, exKey.length, 'evict');
    this.request(m, peer, peerKey, exKey, ex);
  }

  private request(m: CoapMessage, peer: dgram.RemoteInfo, peerKey: string, exKey: string, ex: Exchange): void {
    const method = METHODS[m.code] ?? codeText(m.code);
    const text = (o: CoapOption): string => Buffer.from(o.value).toString('utf8');
    const segments = m.options.filter((o) => o.num === OPT.URI_PATH).map(text);
    const query = m.options.filter((o) => o.num === OPT.URI_QUERY).map(text);
    const url = '/' + segments.map(encodeURIComponent).join('/') + (query.length ? '?' + query.join('&') : '');
    const opt = (num: number): CoapOption | undefined => m.options.find((o) => o.num === num);
    const answer = (code: string, options: CoapOption[], payload: Uint8Array): void => this.answer(m, peer, exKey, ex, code, options, payload);
    const refuse = (code: string, message: string, options: CoapOption[] = []): void => answer(code, options, new Uint8Array(Buffer.from(message, 'utf8')));

    let body = m.payload;
    let echo: CoapOption[] = [];
    const b1 = opt(OPT.BLOCK1);
    if (b1) {
      const block = readBlock(b1.value);
      if (typeof block === 'string') return refuse('4.00', block);
      const size1 = opt(OPT.SIZE1);
      const maxBody = this.opts.maxUpload?.(method, '/' + segments.filter(Boolean).join('/')) ?? 0;
      const step = this.uploads.step(`${peerKey} ${m.code} ${url}`, block, m.payload, maxBody, size1 && size1.value.length <= 4 ? readUint(size1.value) : undefined);
      if (step.kind === 'refuse') return refuse(step.code, step.message, step.options);
      if (step.kind === 'continue') return answer('2.31', step.options, new Uint8Array(0));
      body = step.body;
      echo = step.options;
    }
    let asked: Block | undefined;
    const b2 = opt(OPT.BLOCK2);
    if (b2) {
      const block = readBlock(b2.value);
      if (typeof block === 'string') return refuse('4.00', block);
      asked = block;
    }
    const snapKey = m.token.length ? `${peerKey} ${Buffer.from(m.token).toString('hex')} ${m.code} ${url}` : undefined;
    if (asked && asked.num > 0 && snapKey) {
      const s = this.snapshots.get(snapKey);
      if (s) return this.answerBody(m, peer, exKey, ex, s.code, s.options, s.body, asked, undefined, echo);
    }

    const accept = opt(OPT.ACCEPT);
    const cf = opt(OPT.CONTENT_FORMAT);
    const req: CoapRequest = {
      method, url, payload: Buffer.from(body.buffer, body.byteOffset, body.byteLength), options: m.options,
      accept: accept && accept.value.length <= 2 ? readUint(accept.value) : undefined,
      contentFormat: cf && cf.value.length <= 2 ? readUint(cf.value) : undefined,
      token: m.token, rsinfo: { address: peer.address, port: peer.port },
    };
    let stopWaiting: (() => void) | undefined;
    const res = new Reply((code, options, payload) => {
      stopWaiting?.();
      this.answerBody(m, peer, exKey, ex, code, options, payload, asked, snapKey, echo);
    });
    try {
      this.handler(req, res);
    } catch (e) {
      if (!res.ended) reply(res, '5.00', `internal error: ${(e as Error)?.message ?? String(e)}`);
    }
    if (!res.ended && m.type === TYPE.CON) {
      // Not answered yet: acknowledge now, answer later as a separate response.
      stopWaiting = this.timer(this.opts.piggybackMs ?? 200, () => {
        if (res.ended) return;
        ex.answer = encodeCoap({ type: TYPE.ACK, code: 0, messageId: m.messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) });
        this.send(ex.answer, peer);
      });
    }
  }

  /** Answer with a body: success bodies go block-wise when they must, error texts are cut to one block. */
  private answerBody(m: CoapMessage, peer: dgram.RemoteInfo, exKey: string, ex: Exchange, code: string, options: CoapOption[], body: Uint8Array,
    asked: Block | undefined, snapKey: string | undefined, echo: CoapOption[]): void {
    if (!code.startsWith('2.')) return this.answer(m, peer, exKey, ex, code, [...options, ...echo], body.subarray(0, MAX_BLOCK));
    const part = blockOfBody(body, asked);
    if ('code' in part) return this.answer(m, peer, exKey, ex, part.code, part.options, new Uint8Array(Buffer.from(part.message, 'utf8')));
    if (snapKey && part.payload.length < body.length && (asked?.num ?? 0) === 0) this.snapshots.put(snapKey, { code, options, body });
    this.answer(m, peer, exKey, ex, code, [...options, ...echo, ...part.options], part.payload);
  }

  /** Send one answer: piggybacked on the ACK, as a NON to a NON, or as a separate CON response. */
  private answer(m: CoapMessage, peer: dgram.RemoteInfo, exKey: string, ex: Exchange, code: string, options: CoapOption[], payload: Uint8Array): void {
    const msg = { code: codeNumber(code), token: m.token, options, payload };
    if (m.type === TYPE.CON && !ex.answer) {
      ex.answer = encodeCoap({ ...msg, type: TYPE.ACK, messageId: m.messageId });
      this.exchanges.set(exKey, ex, exKey.length + ex.answer.length, 'evict');
      return this.send(ex.answer, peer);
    }
    if (m.type === TYPE.NON) {
      ex.answer = encodeCoap({ ...msg, type: TYPE.NON, messageId: this.nextMid() });
      this.exchanges.set(exKey, ex, exKey.length + ex.answer.length, 'evict');
      return this.send(ex.answer, peer);
    }
    this.sendSeparate(encodeCoap({ ...msg, type: TYPE.CON, messageId: this.nextMid() }), peer);
  }

  /** A separate CON response, retransmitted (doubling from ACK_TIMEOUT) until the peer acknowledges it. */
  private sendSeparate(bytes: Uint8Array, peer: dgram.RemoteInfo): void {
    this.send(bytes, peer);
    if (this.separate.size >= MAX_PENDING_SEPARATE) return;
    const key = `${peer.address}|${peer.port}#${(bytes[2] << 8) | bytes[3]}`;
    let tries = 0;
    let cancel = (): void => undefined;
    const schedule = (ms: number): void => {
      cancel = this.timer(ms, () => {
        if (tries++ >= MAX_RETRANSMIT) return void this.separate.delete(key);
        this.send(bytes, peer);
        schedule(ms * 2);
      });
    };
    schedule(ACK_TIMEOUT_MS * (1 + Math.random() * 0.5));
    this.separate.set(key, () => {
      cancel();
      this.separate.delete(key);
    });
  }
}

class Reply implements CoapReply {
  code = '2.05';
  ended = false;
  private readonly options: CoapOption[] = [];

  constructor(private readonly done: (code: string, options: CoapOption[], payload: Uint8Array) => void) {}

  setOption(num: number, value: Uint8Array): this {
    const i = this.options.findIndex((o) => o.num === num);
    if (i >= 0) this.options.splice(i, 1);
    this.options.push({ num, value });
    return this;
  }

  end(payload: Uint8Array = new Uint8Array(0)): void {
    if (this.ended) return;
    this.ended = true;
    this.done(this.code, this.options, payload);
  }
}

/** (class << 5) | detail for "4.13"; an unknown text is 5.00. */
function codeNumber(code: string): number {
  const m = /^([0-7])\.(\d\d)$/.exec(code);
  return m && Number(m[2]) < 32 ? (Number(m[1]) << 5) | Number(m[2]) : (5 << 5);
}
