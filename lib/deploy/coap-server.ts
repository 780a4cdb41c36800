/**
 * CoAP servers for deployment: the listener (coap-endpoint.ts: our own server with bounded
 * block-wise state; the device's endpoints use it) and the host's file server that hands out
 * manifests and images.
 *
 * - Block-wise (RFC 7959 Block2): the listener segments a response body by the Block2 option of
 *   the request (block size as asked, at most 1024 B). Our client asks each block with a fresh
 *   token, so every block reaches our handler, which lets the file server report progress per
 *   block ("fetching block k/n"). RIOT's nanocoap does the same per block.
 * - A file server resource is bytes, or a function that may answer other bytes or `null` (do not
 *   answer at all: what a host that went away looks like) — the tests build truncated and stalled
 *   transfers from it, a flow could serve images computed on demand. It takes no uploads.
 */
import { EventEmitter } from 'node:events';
import { isIPv6 } from 'node:net';
import { MAX_BLOCK, readBlock } from './coap-blockwise';
import { OPT } from './coap-client';
import { listenCoap, reply, requestPath, type CoapListener, type CoapReply, type CoapRequest, type ListenOptions } from './coap-endpoint';

export { listenCoap, reply, requestPath };
export type { CoapHandler, CoapListener, CoapReply, CoapRequest, HeldState, ListenOptions } from './coap-endpoint';

/** The Block2 a request asks for, if any (block size at most 1024). */
export function requestedBlock(req: CoapRequest): { num: number; size: number } | undefined {
  const v = req.options.find((o) => o.num === OPT.BLOCK2)?.value;
  const b = v && readBlock(v);
  return b && typeof b !== 'string' ? { num: b.num, size: Math.min(b.size, MAX_BLOCK) } : undefined;
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

  private handle(req: CoapRequest, res: CoapReply): void {
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
    reply(res, '2.05', body, 'application/octet-stream');
  }
}

function norm(p: string): string {
  return '/' + p.split('/').filter(Boolean).join('/');
}
