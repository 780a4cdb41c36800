/**
 * CoAP servers for deployment, on the `coap` package: a small listener wrapper (the device's
 * endpoints use it) and the host's file server that hands out manifests and images.
 *
 * - Sockets are bound by us (`reuseAddr` off) and given to the package's server: on Linux a UDP
 *   port bound with SO_REUSEADDR can be bound twice, and a second device on a busy port would then
 *   silently steal half the traffic. Port 0 picks a free port; `address()` tells which.
 * - Block-wise (RFC 7959 Block2): the package segments a response body by the Block2 option of the
 *   request (block size as asked, at most 1024 B). Our client asks each block with a fresh token,
 *   so every block reaches our handler, which lets the file server report progress per block
 *   ("fetching block k/n"). RIOT's nanocoap does the same per block.
 * - A file server resource is bytes, or a function that may answer other bytes or `null` (do not
 *   answer at all: what a host that went away looks like) — the tests build truncated and stalled
 *   transfers from it, a flow could serve images computed on demand.
 */
import * as dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIPv6 } from 'node:net';
import * as coap from 'coap';
import { parseBlock } from './coap-client';

export type CoapHandler = (req: coap.IncomingMessage, res: coap.OutgoingMessage) => void;

export interface ListenOptions {
  /** Address to bind; default 127.0.0.1. */
  host?: string;
  /** UDP port; 0 (default) picks a free one. */
  port?: number;
}

export interface CoapListener {
  host: string;
  port: number;
  server: coap.Server;
  close(): Promise<void>;
}

/** Bind a UDP socket and serve CoAP on it with `handler`. */
export async function listenCoap(handler: CoapHandler, opts: ListenOptions = {}): Promise<CoapListener> {
  const host = opts.host ?? '127.0.0.1';
  const sock = dgram.createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(opts.port ?? 0, host, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  const server = coap.createServer({ piggybackReplyMs: 200 });
  server.on('request', handler);
  server.on('error', () => undefined); // a send to a vanished peer must not crash the process
  sock.on('error', () => undefined);
  server.listen(sock as unknown as EventEmitter as never);
  const port = sock.address().port;
  let closed = false;
  return {
    host,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        server.close();
        sock.close(() => resolve());
      }),
  };
}

/** CoAP code text of the request's method ("GET") and the Block2 it asks for, if any. */
export function requestedBlock(req: coap.IncomingMessage): { num: number; size: number } | undefined {
  // The package keeps Buffer-valued options out of `headers`; they stay in `options`.
  const opts = (req as unknown as { options?: { name: unknown; value: unknown }[] }).options ?? [];
  const v = opts.find((o) => o.name === 'Block2' || o.name === 23)?.value;
  if (!(v instanceof Uint8Array)) return undefined;
  try {
    const b = parseBlock(v);
    return { num: b.num, size: Math.min(b.size, 1024) };
  } catch {
    return undefined;
  }
}

/** The path of a request without query, normalised to "/a/b". */
export function requestPath(req: coap.IncomingMessage): string {
  return '/' + (req.url ?? '').split('?')[0].split('/').filter(Boolean).map(decodeURIComponent).join('/');
}

export function reply(res: coap.OutgoingMessage, code: string, payload?: Uint8Array | string, format?: string): void {
  res.code = code;
  if (format) res.setOption('Content-Format', format);
  res.end(payload === undefined ? undefined : typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
}

// ---- file server ------------------------------------------------------------------------------

export interface ResourceRequest {
  path: string;
  /** Block asked for (undefined: the whole resource in one message, or block 0 of 1024 B). */
  block?: { num: number; size: number };
  remote: { address: string; port: number };
}

/** Bytes, or per request: bytes to serve, or null to leave the request unanswered. */
export type Resource = Uint8Array | ((req: ResourceRequest) => Uint8Array | null);

export interface BlockEvent {
  path: string;
  /** 1-based block number being served and the number of blocks at that block size. */
  block: number;
  blocks: number;
  blockSize: number;
  bytes: number;
  remote: { address: string; port: number };
}

/**
 * Serves files over CoAP GET with Block2. Events: 'block' (BlockEvent, each block served),
 * 'request' ({ path, remote, found }).
 */
export class CoapFileServer extends EventEmitter {
  private readonly resources = new Map<string, Resource>();
  private listener: CoapListener | undefined;

  constructor(private readonly opts: ListenOptions = {}) {
    super();
  }

  async listen(): Promise<{ host: string; port: number }> {
    if (!this.listener) this.listener = await listenCoap((req, res) => this.handle(req, res), this.opts);
    return { host: this.listener.host, port: this.listener.port };
  }

  get port(): number {
    if (!this.listener) throw new Error('the file server is not listening');
    return this.listener.port;
  }

  /** coap://host:port/path for a served path. */
  url(path: string): string {
    if (!this.listener) throw new Error('the file server is not listening');
    const h = isIPv6(this.listener.host) ? `[${this.listener.host}]` : this.listener.host;
    return `coap://${h}:${this.listener.port}/${path.split('/').filter(Boolean).map(encodeURIComponent).join('/')}`;
  }

  put(path: string, resource: Resource): void {
    this.resources.set(norm(path), resource);
  }

  remove(path: string): void {
    this.resources.delete(norm(path));
  }

  async close(): Promise<void> {
    const l = this.listener;
    this.listener = undefined;
    await l?.close();
  }

  private handle(req: coap.IncomingMessage, res: coap.OutgoingMessage): void {
    const path = requestPath(req);
    const remote = { address: req.rsinfo.address, port: req.rsinfo.port };
    const resource = this.resources.get(path);
    this.emit('request', { path, remote, found: resource !== undefined });
    if (req.method !== 'GET') return reply(res, '4.05', 'only GET is served here');
    if (resource === undefined) return reply(res, '4.04', `no file ${path}`);
    const block = requestedBlock(req);
    const body = typeof resource === 'function' ? resource({ path, block, remote }) : resource;
    if (body === null) return; // deliberately unanswered
    const size = block?.size ?? 1024;
    const blocks = Math.max(1, Math.ceil(body.length / size));
    if (block && block.num >= blocks) return reply(res, '4.02', `block ${block.num} is past the end (${blocks} blocks of ${size} B)`);
    this.emit('block', { path, block: (block?.num ?? 0) + 1, blocks, blockSize: size, bytes: body.length, remote } satisfies BlockEvent);
    res.setOption('Content-Format', 'application/octet-stream');
    reply(res, '2.05', body);
  }
}

function norm(p: string): string {
  return '/' + p.split('/').filter(Boolean).join('/');
}
