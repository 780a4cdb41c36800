/**
 * Server side of CoAP block-wise transfers (RFC 7959) with bounded state, for the CoAP server of
 * coap-server.ts:
 *
 * - Uploads (Block1): a request body sent in blocks is reassembled only for resources that take
 *   one, up to their own size, under global caps: transfers in progress, bytes buffered in all,
 *   bytes per transfer, age. Nothing is kept for a resource that takes no body.
 * - Downloads (Block2): a response body larger than one block (or than the block the client asked
 *   for) is served block by block, whether or not the client asked for blocks; the body is kept as
 *   a snapshot under the request's token, bounded the same way, so that a client reading all blocks
 *   with one token gets one consistent document (the status changes while it is read).
 *
 * Response codes, and why (RFC 7959 §2.9, RFC 7252 §5.9):
 * - Block1 to a resource that takes no body, a body larger than the resource takes, or a Size1
 *   announcing one: 4.13 Request Entity Too Large with Size1 = the largest body the resource
 *   takes (0: none). RFC 7959 §2.9.3 gives 4.13 + Size1 exactly this job, and a client stops at
 *   the first block. (4.02 Bad Option would claim the server does not know Block1, which is false
 *   for the resources that take uploads; 4.05 is about the method, which the resource decides.)
 * - A later block with no transfer in progress (never started, expired, evicted) or out of order:
 *   4.08 Request Entity Incomplete (§2.9.2), so the client starts again from block 0.
 * - A new transfer while the caps are full: 5.03 Service Unavailable with Max-Age = seconds until
 *   the oldest transfer expires (RFC 7252 §5.9.3): new transfers are refused, not older ones
 *   evicted, so a flood cannot break uploads already under way beyond what it already holds, and
 *   what it holds ages out.
 * - A malformed Block option (reserved size exponent 7, value longer than 3 bytes, a non-final
 *   block whose payload is not the block size): 4.00 Bad Request. Block2 past the end of the
 *   body: 4.02 Bad Option (as the `coap` package answered).
 * Transfers are matched by peer, method and URI, not by token (§2.5: a client may use a new token
 * per block).
 */
import type { CoapOption } from '../coap/message';
import { BoundedStore, type StoreLimits } from './bounded-store';
import { blockOption, concatBytes, OPT, optUint, readUint } from './coap-client';

/** Largest block we serve or take (RFC 7959: SZX 6), and our payload per message without blocks. */
export const MAX_BLOCK = 1024;

export interface UploadLimits extends StoreLimits {
  /** Largest body of one transfer, whatever the resource takes. */
  maxTransferBytes: number;
}

/** A device's resources take bodies of at most a few hundred bytes (a URL, a CoAP payload). */
export const DEFAULT_UPLOAD_LIMITS: Readonly<UploadLimits> = Object.freeze({ maxEntries: 16, maxBytes: 16 * 1024, maxAgeMs: 30_000, maxTransferBytes: 4096 });
/** Status documents of a few kilobytes, read by a handful of hosts at once. */
export const DEFAULT_SNAPSHOT_LIMITS: Readonly<StoreLimits> = Object.freeze({ maxEntries: 32, maxBytes: 256 * 1024, maxAgeMs: 30_000 });

export interface Block {
  num: number;
  more: boolean;
  size: number;
}

/** A Block1/Block2 option value, or an error text when it is malformed. */
export function readBlock(value: Uint8Array): Block | string {
  if (value.length > 3) return `block option of ${value.length} bytes (at most 3)`;
  const v = readUint(value);
  const szx = v & 7;
  if (szx === 7) return 'block option with the reserved size exponent 7';
  return { num: v >>> 4, more: (v & 8) !== 0, size: 1 << (szx + 4) };
}

/** A refusal: response code, text, options (Size1, Max-Age). */
export interface Refusal {
  code: string;
  message: string;
  options: CoapOption[];
}

export type UploadStep =
  | { kind: 'continue'; options: CoapOption[] }
  | { kind: 'complete'; body: Uint8Array; options: CoapOption[] }
  | ({ kind: 'refuse' } & Refusal);

interface Transfer {
  chunks: Uint8Array[];
  received: number;
}

/** State kept for peers in one BoundedStore: what it holds, swept and cleared as one. */
abstract class Held<V, L extends StoreLimits> {
  protected readonly store: BoundedStore<V>;

  constructor(readonly limits: L, now: () => number) {
    this.store = new BoundedStore(limits, now);
  }

  /** Entries held (transfers in progress, snapshots) and the bytes they hold. */
  get count(): number {
    return this.store.size;
  }

  get bytes(): number {
    return this.store.bytes;
  }

  sweep(): number {
    return this.store.sweep();
  }

  clear(): void {
    this.store.clear();
  }
}

/** Block1 reassembly under caps (see the header). */
export class Uploads extends Held<Transfer, UploadLimits> {
  constructor(limits: Partial<UploadLimits> = {}, now: () => number = Date.now) {
    super({ ...DEFAULT_UPLOAD_LIMITS, ...limits }, now);
  }

  /**
   * One block of an upload. `key` names the transfer (peer, method, URI); `maxBody` is what the
   * resource takes (0: no body); `size1` the total size the client announced, if it did.
   */
  step(key: string, block: Block, payload: Uint8Array, maxBody: number, size1?: number): UploadStep {
    const max = Math.min(maxBody, this.limits.maxTransferBytes);
    const tooLarge = (): UploadStep => {
      this.store.delete(key);
      const what = max === 0 ? 'this resource takes no request body' : `the request body must be at most ${max} B`;
      return { kind: 'refuse', code: '4.13', message: what, options: [optUint(OPT.SIZE1, max)] };
    };
    if (max === 0 || (size1 !== undefined && size1 > max)) return tooLarge();
    const offset = block.num * block.size;
    if (offset + payload.length > max) return tooLarge();
    if (block.more && payload.length !== block.size) {
      this.store.delete(key);
      return { kind: 'refuse', code: '4.00', message: `block ${block.num} carries ${payload.length} B, not its size ${block.size} B`, options: [] };
    }
    const echo = [blockOption(block.num, block.more, block.size, OPT.BLOCK1)];
    if (block.num === 0) {
      if (!block.more) {
        this.store.delete(key);
        return { kind: 'complete', body: payload, options: echo };
      }
      if (!this.store.set(key, { chunks: [payload], received: payload.length }, payload.length, 'refuse')) return this.busy();
      return { kind: 'continue', options: echo };
    }
    const t = this.store.get(key);
    if (!t) return { kind: 'refuse', code: '4.08', message: `no upload in progress for block ${block.num}: start again at block 0`, options: [] };
    if (block.more && offset + payload.length === t.received) {
      return { kind: 'continue', options: echo }; // the previous block again (a retransmission with a new message id)
    }
    if (offset !== t.received) {
      this.store.delete(key);
      return { kind: 'refuse', code: '4.08', message: `block ${block.num} at byte ${offset}, expected byte ${t.received}: start again at block 0`, options: [] };
    }
    if (!this.store.grow(key, payload.length)) {
      this.store.delete(key);
      return this.busy();
    }
    t.chunks.push(payload);
    t.received += payload.length;
    if (block.more) return { kind: 'continue', options: echo };
    this.store.delete(key);
    return { kind: 'complete', body: concatBytes(t.chunks, t.received), options: echo };
  }

  private busy(): UploadStep {
    const maxAge = Math.max(1, Math.ceil(this.store.msUntilRoom() / 1000));
    return { kind: 'refuse', code: '5.03', message: 'too many uploads in progress: try again later', options: [optUint(OPT.MAX_AGE, maxAge)] };
  }
}

/** A response kept for the blocks still to be read: code, options and the whole body. */
export interface Snapshot {
  code: string;
  options: CoapOption[];
  body: Uint8Array;
}

/** Response bodies by request token (see the header); oldest evicted when full. */
export class Snapshots extends Held<Snapshot, StoreLimits> {
  constructor(limits: Partial<StoreLimits> = {}, now: () => number = Date.now) {
    super({ ...DEFAULT_SNAPSHOT_LIMITS, ...limits }, now);
  }

  get(key: string): Snapshot | undefined {
    return this.store.get(key);
  }

  /** Keep a body for its later blocks (a body larger than the whole store is not kept). */
  put(key: string, s: Snapshot): void {
    this.store.set(key, s, s.body.length, 'evict');
  }
}

/**
 * The block of `body` to send for a request asking `asked` (undefined: the client did not ask):
 * payload and the options to add (Block2, Size2, ETag), or a 4.02 refusal past the end.
 * A body that fits in one message without a request for blocks goes whole (no options).
 */
export function blockOfBody(body: Uint8Array, asked: Block | undefined): { payload: Uint8Array; options: CoapOption[] } | Refusal {
  if (!asked && body.length <= MAX_BLOCK) return { payload: body, options: [] };
  const size = Math.min(asked?.size ?? MAX_BLOCK, MAX_BLOCK);
  const num = asked?.num ?? 0;
  const blocks = Math.max(1, Math.ceil(body.length / size));
  if (num >= blocks) return { code: '4.02', message: `block ${num} is past the end (${blocks} blocks of ${size} B)`, options: [] };
  const more = num < blocks - 1;
  return {
    payload: body.subarray(num * size, (num + 1) * size),
    options: [blockOption(num, more, size), optUint(OPT.SIZE2, body.length), { num: OPT.ETAG, value: etag(body) }],
  };
}

/** A 4-byte ETag of a body (FNV-1a): tells a client that reads blocks whether the body changed. */
export function etag(body: Uint8Array): Uint8Array {
  let h = 0x811c9dc5;
  for (let i = 0; i < body.length; i++) h = Math.imul(h ^ body[i], 0x01000193);
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, h >>> 0);
  return out;
}
