/**
 * CoAP client for deployment (RFC 7252 over UDP, block-wise GET per RFC 7959): the device fetches
 * manifests and images with it, the host triggers updates, reads status and runs containers.
 *
 * Why not the `coap` package's agent (nor its server: see coap-endpoint.ts): its agent
 * follows Block2 on its own and hands over the body only when the last block arrived, and its
 * retransmission timing is process-global. A device must count and cap blocks as they come (RIOT
 * writes each block to its storage slot and refuses one byte beyond the slot), report progress,
 * and give up on a silent server in bounded time; a host talking to 50 boards wants per-request
 * timeouts. So this module speaks the protocol itself, with the message codec of
 * lib/coap/message.ts, on one `node:dgram` socket per exchange or transfer:
 *
 * - Confirmable requests, retransmitted after ackTimeoutMs × [1, 1.5) doubling, at most
 *   maxRetransmit times (RFC 7252 §4.2; defaults are tighter than the RFC's 2 s, 4, since a
 *   deploy waits on a human: override for lossy links), within an overall deadline.
 * - Piggybacked and separate responses (an empty ACK, then a CON response we acknowledge).
 * - The socket is `connect`ed: on loopback a closed port answers ICMP "port unreachable", which a
 *   connected UDP socket reports as ECONNREFUSED, so "device down" is told apart at once from "not
 *   answering" (a timeout).
 *
 * Errors are `CoapError` with `kind`: 'timeout' (no answer in time), 'down' (nothing listens),
 * 'response' (an error code from the peer; `code` and the payload text are kept), 'protocol'
 * (reset, malformed answer), 'too-large' (a block-wise body beyond `maxBytes`), 'aborted'.
 */
import * as dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { codeText, encodeCoap, parseCoap, uintBytes, type CoapOption } from '../coap/message';

export const OPT = {
  ETAG: 4, OBSERVE: 6, URI_PATH: 11, CONTENT_FORMAT: 12, MAX_AGE: 14, URI_QUERY: 15, ACCEPT: 17,
  BLOCK2: 23, BLOCK1: 27, SIZE2: 28, SIZE1: 60,
} as const;
export const FORMAT = { TEXT: 0, LINK_FORMAT: 40, OCTET_STREAM: 42, JSON: 50, CBOR: 60 } as const;
export const METHOD = { GET: 1, POST: 2, PUT: 3, DELETE: 4 } as const;
const TYPE = { CON: 0, NON: 1, ACK: 2, RST: 3 } as const;

export type CoapErrorKind = 'timeout' | 'down' | 'response' | 'protocol' | 'too-large' | 'aborted';

export class CoapError extends Error {
  constructor(readonly kind: CoapErrorKind, message: string, readonly code?: string, readonly payload?: Uint8Array) {
    super(message);
    this.name = 'CoapError';
  }
}

export interface CoapTiming {
  /** First retransmission after this many ms (× a random factor in [1, 1.5)). Default 500. */
  ackTimeoutMs?: number;
  /** Retransmissions of one request. Default 4. */
  maxRetransmit?: number;
  /** Give up on one exchange (all retransmissions, a separate response) after this. Default 5000. */
  timeoutMs?: number;
}

export interface RequestOptions extends CoapTiming {
  method?: keyof typeof METHOD;
  payload?: Uint8Array | string;
  contentFormat?: number;
  accept?: number;
  /** Extra options (e.g. Block2). */
  options?: CoapOption[];
  signal?: AbortSignal;
}

export interface CoapResult {
  /** "2.05" */
  code: string;
  payload: Uint8Array;
  options: CoapOption[];
  contentFormat?: number;
}

interface Target {
  host: string;
  port: number;
  path: string[];
  query: string[];
  text: string;
}

/** Split a coap:// URL into what goes on the wire. */
export function parseCoapUrl(url: string | URL): Target {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    throw new CoapError('protocol', `"${String(url)}" is not a URL`);
  }
  if (u.protocol !== 'coap:') throw new CoapError('protocol', `"${u.href}" is not a coap:// URL (coaps and others are not supported)`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new CoapError('protocol', `"${u.href}" has no host`);
  const port = u.port ? Number(u.port) : 5683;
  const path = u.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const query = u.search ? u.search.slice(1).split('&').filter(Boolean).map(decodeURIComponent) : [];
  return { host, port, path, query, text: `coap://${isIPv6(host) ? `[${host}]` : host}:${port}${u.pathname}` };
}

const enc = new TextEncoder();
export const optUint = (num: number, v: number): CoapOption => ({ num, value: Uint8Array.from(uintBytes(v)) });

export function readUint(b: Uint8Array): number {
  let v = 0;
  for (const x of b) v = v * 256 + x;
  return v;
}

export function contentFormatOf(options: readonly CoapOption[]): number | undefined {
  const o = options.find((x) => x.num === OPT.CONTENT_FORMAT);
  return o ? readUint(o.value) : undefined;
}

/** Block option (RFC 7959 §2.2): NUM << 4 | M << 3 | SZX, block size = 2^(SZX+4). Block2 unless told. */
export function blockOption(num: number, more: boolean, size: number, option: number = OPT.BLOCK2): CoapOption {
  const szx = Math.log2(size) - 4;
  if (!Number.isInteger(szx) || szx < 0 || szx > 6) throw new RangeError(`block size ${size} is not one of 16, 32, … 1024`);
  return optUint(option, num * 16 + (more ? 8 : 0) + szx);
}

export function parseBlock(value: Uint8Array): { num: number; more: boolean; size: number } {
  const v = readUint(value);
  const szx = v & 7;
  if (szx === 7) throw new CoapError('protocol', 'block option with the reserved size exponent 7');
  return { num: Math.floor(v / 16), more: (v & 8) !== 0, size: 1 << (szx + 4) };
}

/** One socket connected to one peer, with its own message ids and tokens. */
class Channel {
  private readonly sock: dgram.Socket;
  private mid = randomBytes(2).readUInt16BE(0);
  private ready: Promise<void>;
  private failure: CoapError | undefined;
  private waiter: ((msg: Uint8Array | CoapError) => void) | undefined;

  constructor(readonly target: Target) {
    this.sock = dgram.createSocket(isIPv6(target.host) ? 'udp6' : 'udp4');
    this.sock.on('message', (m) => this.waiter?.(new Uint8Array(m)));
    this.sock.on('error', (e: NodeJS.ErrnoException) => {
      const err = e.code === 'ECONNREFUSED'
        ? new CoapError('down', `nothing answers on udp ${target.host}:${target.port} (port unreachable: device down?)`)
        : new CoapError('protocol', `socket error talking to ${target.host}:${target.port}: ${e.message}`);
      this.failure = err;
      this.waiter?.(err);
    });
    this.ready = new Promise((resolve, reject) => {
      this.sock.connect(target.port, target.host, () => resolve());
      this.sock.once('error', reject);
    });
    this.ready.catch(() => undefined);
  }

  close(): void {
    try {
      this.sock.close();
    } catch {
      /* closed already */
    }
  }

  /** One confirmable request/response exchange. */
  async exchange(code: number, options: CoapOption[], payload: Uint8Array, t: Required<CoapTiming>, signal?: AbortSignal, token: Uint8Array = new Uint8Array(randomBytes(4))): Promise<CoapResult> {
    try {
      await this.ready;
    } catch (e) {
      throw this.failure ?? new CoapError('down', `cannot reach ${this.target.host}:${this.target.port}: ${(e as Error).message}`);
    }
    this.mid = (this.mid + 1) & 0xffff;
    const mid = this.mid;
    const bytes = encodeCoap({ type: TYPE.CON, code, messageId: mid, token, options, payload });
    const sameToken = (a: Uint8Array): boolean => a.length === token.length && a.every((v, i) => v === token[i]);
    return await new Promise<CoapResult>((resolve, reject) => {
      let acked = false;
      let tries = 0;
      let retry: NodeJS.Timeout | undefined;
      const finish = (err: CoapError | undefined, res?: CoapResult): void => {
        clearTimeout(retry);
        clearTimeout(deadline);
        signal?.removeEventListener('abort', onAbort);
        this.waiter = undefined;
        if (err) reject(err);
        else resolve(res!);
      };
      const onAbort = (): void => finish(new CoapError('aborted', 'request aborted'));
      const send = (): void => {
        this.sock.send(bytes, (e) => {
          if (e) finish(this.failure ?? new CoapError('protocol', `send failed: ${e.message}`));
        });
      };
      const schedule = (ms: number): void => {
        retry = setTimeout(() => {
          if (acked || tries >= t.maxRetransmit) return;
          tries++;
          send();
          schedule(ms * 2);
        }, ms);
      };
      const deadline = setTimeout(() => finish(new CoapError('timeout', `no answer from ${this.target.text} within ${t.timeoutMs} ms (device down or not answering)`)), t.timeoutMs);
      if (signal) {
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
      }
      this.waiter = (m) => {
        if (m instanceof CoapError) return finish(m);
        let msg;
        try {
          msg = parseCoap(m);
        } catch {
          return; // not CoAP: ignore, as RFC 7252 §4.2 allows
        }
        if (msg.type === TYPE.RST && msg.messageId === mid) return finish(new CoapError('protocol', `${this.target.host}:${this.target.port} reset the request`));
        if (msg.type === TYPE.ACK && msg.messageId === mid && msg.code === 0) {
          acked = true; // separate response to follow
          return;
        }
        if (!sameToken(msg.token)) return;
        if (msg.type === TYPE.ACK && msg.messageId !== mid) return;
        if (msg.type === TYPE.CON) {
          this.sock.send(encodeCoap({ type: TYPE.ACK, code: 0, messageId: msg.messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) }));
        }
        finish(undefined, { code: codeText(msg.code), payload: msg.payload, options: msg.options, contentFormat: contentFormatOf(msg.options) });
      };
      send();
      schedule(t.ackTimeoutMs * (1 + Math.random() * 0.5));
    });
  }
}

const DEFAULTS: Required<CoapTiming> = { ackTimeoutMs: 500, maxRetransmit: 4, timeoutMs: 5000 };

function timing(t: CoapTiming): Required<CoapTiming> {
  return { ackTimeoutMs: t.ackTimeoutMs ?? DEFAULTS.ackTimeoutMs, maxRetransmit: t.maxRetransmit ?? DEFAULTS.maxRetransmit, timeoutMs: t.timeoutMs ?? DEFAULTS.timeoutMs };
}

function requestOptions(target: Target, o: { contentFormat?: number; accept?: number; options?: CoapOption[] }): CoapOption[] {
  const opts: CoapOption[] = [
    ...target.path.map((seg) => ({ num: OPT.URI_PATH, value: enc.encode(seg) })),
    ...target.query.map((q) => ({ num: OPT.URI_QUERY, value: enc.encode(q) })),
    ...(o.options ?? []),
  ];
  if (o.contentFormat !== undefined) opts.push(optUint(OPT.CONTENT_FORMAT, o.contentFormat));
  if (o.accept !== undefined) opts.push(optUint(OPT.ACCEPT, o.accept));
  return opts;
}

/** One request; any response code is returned (check `code`), transport failures throw. */
export async function coapRequest(url: string | URL, o: RequestOptions = {}): Promise<CoapResult> {
  const target = parseCoapUrl(url);
  const ch = new Channel(target);
  try {
    const payload = typeof o.payload === 'string' ? enc.encode(o.payload) : (o.payload ?? new Uint8Array(0));
    return await ch.exchange(METHOD[o.method ?? 'GET'], requestOptions(target, o), payload, timing(o), o.signal);
  } finally {
    ch.close();
  }
}

/** Like coapRequest, but a non-2.xx answer throws a 'response' CoapError with the peer's text. */
export async function coapCall(url: string | URL, o: RequestOptions = {}): Promise<CoapResult> {
  const r = await coapRequest(url, o);
  if (!r.code.startsWith('2.')) {
    const text = Buffer.from(r.payload).toString('utf8').slice(0, 200);
    throw new CoapError('response', `${parseCoapUrl(url).text} answered ${r.code}${text ? `: ${text}` : ''}`, r.code, r.payload);
  }
  return r;
}

export interface BlockProgress {
  /** Block number just received (0-based) and how many bytes so far. */
  num: number;
  received: number;
  more: boolean;
  blockSize: number;
  /** Total size when the server announced it (Size2) or once the last block arrived. */
  total?: number;
}

export interface FetchOptions extends CoapTiming {
  /** Requested block size: 16 … 1024. Default 64 (RIOT's CONFIG_SUIT_COAP_BLOCKSIZE). */
  blockSize?: number;
  /** Refuse bodies larger than this (checked as blocks arrive). */
  maxBytes?: number;
  /** Whole-transfer deadline (each block also has `timeoutMs`). Default: none beyond per block. */
  totalTimeoutMs?: number;
  onBlock?: (p: BlockProgress) => void;
  signal?: AbortSignal;
  accept?: number;
  /**
   * One token for all blocks: a server that caches the body by token (ours does, see coap-blockwise.ts)
   * then serves one consistent snapshot — right for a status document that changes while it is
   * read. Default: a fresh token per block, as RIOT's nanocoap sends, so every block reaches the
   * server's handler (the file server counts them for progress).
   */
  sameToken?: boolean;
}

/** GET a resource block by block (Block2), reassembling it; a server may pick smaller blocks. */
export async function fetchBlockwise(url: string | URL, o: FetchOptions = {}): Promise<Uint8Array> {
  const target = parseCoapUrl(url);
  const t = timing(o);
  let size = o.blockSize ?? 64;
  blockOption(0, false, size); // validates the size
  const ch = new Channel(target);
  const chunks: Uint8Array[] = [];
  let received = 0;
  const ac = new AbortController();
  const onOuterAbort = (): void => ac.abort();
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const token = o.sameToken ? new Uint8Array(randomBytes(4)) : undefined;
  const total = o.totalTimeoutMs ? setTimeout(() => ac.abort(new CoapError('timeout', `transfer of ${target.text} not done within ${o.totalTimeoutMs} ms (${received} B received)`)), o.totalTimeoutMs) : undefined;
  try {
    for (let num = 0; ; ) {
      let r: CoapResult;
      try {
        r = await ch.exchange(METHOD.GET, requestOptions(target, { options: [blockOption(num, false, size)], accept: o.accept }), new Uint8Array(0), t, ac.signal, token);
      } catch (e) {
        if (e instanceof CoapError && e.kind === 'aborted' && ac.signal.reason instanceof CoapError) throw ac.signal.reason;
        if (e instanceof CoapError && e.kind === 'timeout') {
          throw new CoapError('timeout', `${target.text}: block ${num} not answered within ${t.timeoutMs} ms after ${received} B (transfer stalled: server down or not answering)`);
        }
        throw e;
      }
      if (!r.code.startsWith('2.')) {
        const text = Buffer.from(r.payload).toString('utf8').slice(0, 200);
        throw new CoapError('response', `${target.text} answered ${r.code} to block ${num}${text ? `: ${text}` : ''}`, r.code, r.payload);
      }
      const opt = r.options.find((x) => x.num === OPT.BLOCK2);
      const size2 = r.options.find((x) => x.num === OPT.SIZE2);
      if (!opt) {
        if (num !== 0) throw new CoapError('protocol', `${target.text}: block ${num} answered without a Block2 option`);
        if (o.maxBytes !== undefined && r.payload.length > o.maxBytes) throw new CoapError('too-large', `${target.text} is ${r.payload.length} B, more than the ${o.maxBytes} B allowed`);
        o.onBlock?.({ num: 0, received: r.payload.length, more: false, blockSize: r.payload.length, total: r.payload.length });
        return r.payload.slice();
      }
      const b = parseBlock(opt.value);
      if (b.size > size) throw new CoapError('protocol', `${target.text}: server answered with ${b.size} B blocks to a ${size} B request`);
      if (b.num * b.size !== received) throw new CoapError('protocol', `${target.text}: got block ${b.num} of ${b.size} B at byte ${received} (out of order)`);
      if (b.more && r.payload.length !== b.size) throw new CoapError('protocol', `${target.text}: block ${b.num} carries ${r.payload.length} B, not ${b.size}`);
      received += r.payload.length;
      if (o.maxBytes !== undefined && received > o.maxBytes) throw new CoapError('too-large', `${target.text} exceeds the ${o.maxBytes} B allowed (${received} B received, more coming)`);
      chunks.push(r.payload);
      o.onBlock?.({ num: b.num, received, more: b.more, blockSize: b.size, total: b.more ? (size2 ? readUint(size2.value) : undefined) : received });
      if (!b.more) break;
      size = b.size;
      num = received / size;
    }
  } finally {
    clearTimeout(total);
    o.signal?.removeEventListener('abort', onOuterAbort);
    ch.close();
  }
  return concatBytes(chunks, received);
}

/** The chunks one after the other (`total` = their summed length). */
export function concatBytes(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
