/**
 * femto-store on a remote board (a `femto device` process or a RIOT board reached over CoAP):
 * read-only, testable without Node-RED.
 *
 * What the device protocol (lib/device/remote-device.ts) offers for stores is one resource, our
 * `GET /femto/status`: `stores.global` (the board's global store), `slots[i].store` (the local
 * store of the container in `.ram.i`) and `device.storeCapacity` (entries per store). There is no
 * resource that writes a store, and none that shows tenant stores. So on a remote board:
 *
 *  - get and list of the global store, and of the local store of the femto-board's slot (its
 *    "slot" setting; the node's owner is not used), are answered from a fresh GET /femto/status
 *    (never the link's poll) within the board's request timeout. Output as on an emulated board
 *    (get: payload = the value or null, msg.femto.present; list: payload = { key: value },
 *    msg.femto.size and capacity, capacity null when the device does not say) plus
 *    msg.femto.remote = true and msg.femto.url (the device's address); a local store adds
 *    msg.femto.slot and its owner is the slot's location (".ram.N").
 *  - set, delete and clear, and tenant stores, are refused with one sentence each (refusal()).
 *  - A device that does not answer: "device not answering: … <address> … <timeout> ms"; a board
 *    without the status resource (a RIOT board) or a malformed document: one sentence too.
 *    Entries are checked (u32 keys and values): a malformed document is an error, never passed on.
 *
 * Status texts (the remote vocabulary of ARCHITECTURE.md § The Node-RED face): grey dot "remote:
 * read-only · <action> · <store>" for a node that can read, grey ring "remote: read-only" for one
 * that never can (a write action, a tenant store), red ring "device not answering" after a read the
 * device did not answer, and a red ring with the short reason after another failed read.
 */
import { CoapError } from '../deploy/coap-client';
import type { NodeStatus } from './status';

export type StoreAction = 'get' | 'set' | 'delete' | 'clear' | 'list';
export type StoreScopeName = 'global' | 'tenant' | 'local';

/** The stores a device status document shows. */
export interface DeviceStores {
  global: Record<string, number>;
  /** The local store of each slot the device lists, by slot number (empty for an empty slot). */
  local: Map<number, Record<string, number>>;
  /** Entries per store, when the device says (ours does: device.storeCapacity). */
  capacity: number | null;
}

/** A read the device could not answer with store contents. `short` is for the node's status. */
export class RemoteStoreError extends Error {
  constructor(message: string, readonly short: string) {
    super(message);
    this.name = 'RemoteStoreError';
  }
}

const U32 = 0xffffffff;
const isU32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= U32;

function entries(v: unknown, where: string, url: string): Record<string, number> {
  if (v === undefined || v === null) return {};
  const bad = (): RemoteStoreError => new RemoteStoreError(`the status document of ${url} has a malformed ${where} (u32 keys and values expected)`, 'malformed store document');
  if (typeof v !== 'object' || Array.isArray(v)) throw bad();
  const out: Record<string, number> = {};
  for (const [k, value] of Object.entries(v as Record<string, unknown>)) {
    if (!/^\d{1,10}$/.test(k) || Number(k) > U32 || !isU32(value)) throw bad();
    out[String(Number(k))] = value;
  }
  return out;
}

/**
 * The stores in a device's status document (GET /femto/status as JSON), or RemoteStoreError for a
 * board without the resource (undefined: a RIOT board answers 4.04) or a malformed document.
 */
export function storesFromStatus(status: Record<string, unknown> | undefined, url: string): DeviceStores {
  if (!status) {
    throw new RemoteStoreError(`${url} has no /femto/status resource (a RIOT board), so its stores cannot be read from a flow`, 'no store resource');
  }
  const stores = status.stores as Record<string, unknown> | undefined;
  if (stores !== undefined && (typeof stores !== 'object' || stores === null || Array.isArray(stores))) {
    throw new RemoteStoreError(`the status document of ${url} has a malformed stores field`, 'malformed store document');
  }
  const global = entries(stores?.global, 'global store', url);
  const local = new Map<number, Record<string, number>>();
  if (status.slots !== undefined && !Array.isArray(status.slots)) throw new RemoteStoreError(`the status document of ${url} has a malformed slots field`, 'malformed store document');
  for (const s of (status.slots as unknown[] | undefined) ?? []) {
    const slot = (s as { slot?: unknown } | null)?.slot;
    if (!isU32(slot)) throw new RemoteStoreError(`the status document of ${url} lists a slot without a number`, 'malformed store document');
    local.set(slot, entries((s as { store?: unknown }).store, `local store of .ram.${slot}`, url));
  }
  const cap = (status.device as { storeCapacity?: unknown } | undefined)?.storeCapacity;
  return { global, local, capacity: isU32(cap) ? cap : null };
}

// ---- what a remote board refuses --------------------------------------------------------------

/** A sentence for the node to translate: locale key, English text with __subs__, the subs. */
export interface Sentence {
  key: string;
  text: string;
  subs: Record<string, unknown>;
}

export const isReadAction = (a: StoreAction): boolean => a === 'get' || a === 'list';

/**
 * Why a femto-store node cannot do `action` on `scope` of a remote board (one sentence), or
 * undefined when it can (get or list of the global store or the slot's local store).
 */
export function refusal(action: StoreAction, scope: StoreScopeName, board: string): Sentence | undefined {
  if (scope === 'tenant') {
    return {
      key: 'errors.remoteTenant',
      text: 'the remote board __board__ has no tenant stores a flow can reach: the device protocol offers no resource for them (only the global store and the local store of its slot can be read)',
      subs: { board },
    };
  }
  if (!isReadAction(action)) {
    return {
      key: 'errors.remoteWrite',
      text: 'cannot __action__ on the remote board __board__: the device protocol offers no resource for writing stores, so its stores are read-only (get and list work)',
      subs: { action, board },
    };
  }
  return undefined;
}

// ---- reads --------------------------------------------------------------------------------------

export interface RemoteRead {
  action: 'get' | 'list';
  scope: 'global' | 'local';
  /** The board's slot (its local store is the one read). */
  slot: number;
  key?: number;
}

/** The femto-board node (name) and its device (address). */
export interface RemoteStoreBoard {
  board: string;
  url: string;
}

/**
 * payload and msg.femto of a read, from the device's stores: the emulated node's shape plus
 * remote, url (and slot for a local store). RemoteStoreError when the device has no such slot.
 */
export function readRemoteStore(stores: DeviceStores, q: RemoteRead, ctx: RemoteStoreBoard): { payload: unknown; femto: Record<string, unknown> } {
  let store: Record<string, number>;
  let info: Record<string, unknown>;
  if (q.scope === 'global') {
    store = stores.global;
    info = { scope: 'global', owner: ctx.board, board: ctx.board, key: q.key, remote: true, url: ctx.url };
  } else {
    const local = stores.local.get(q.slot);
    if (!local) {
      const slots = [...stores.local.keys()].sort((a, b) => a - b).map((n) => `.ram.${n}`);
      throw new RemoteStoreError(`${ctx.url} has no slot ${q.slot}${slots.length ? ` (it has ${slots.join(', ')})` : ''}`, `no slot ${q.slot} on the device`);
    }
    store = local;
    info = { scope: 'local', owner: `.ram.${q.slot}`, board: ctx.board, key: q.key, remote: true, url: ctx.url, slot: q.slot };
  }
  if (q.action === 'get') {
    const v = q.key !== undefined ? store[String(q.key)] : undefined;
    return { payload: v ?? null, femto: { ...info, present: v !== undefined } };
  }
  const copy = { ...store };
  return { payload: copy, femto: { ...info, size: Object.keys(copy).length, capacity: stores.capacity } };
}

// ---- failures and status ------------------------------------------------------------------------

/** The device did not answer (nothing listens, or no reply in time). */
export function isDeviceDown(e: unknown): boolean {
  return e instanceof CoapError && (e.kind === 'down' || e.kind === 'timeout');
}

/** One line for a failed read, naming the address and, when the device is away, the timeout. */
export function remoteReadErrorText(e: unknown, url: string, timeoutMs: number): string {
  if (e instanceof CoapError) {
    if (e.kind === 'timeout') return `device not answering: no reply from ${url} within ${timeoutMs} ms, so its stores cannot be read`;
    if (e.kind === 'down') return `device not answering: nothing listens at ${url} (port unreachable, before the ${timeoutMs} ms timeout), so its stores cannot be read`;
    if (e.kind === 'response') {
      const text = e.payload ? Buffer.from(e.payload).toString('utf8').split('\n')[0] : '';
      return `${url} answered ${e.code} to GET /femto/status${text ? `: ${text}` : ''}`;
    }
    return `${url}: ${e.message.split('\n')[0]}`;
  }
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

/** Status of a femto-store node on a remote board before any read, or after a good one. */
export function readOnlyStatus(action: StoreAction, scope: StoreScopeName, label: string): NodeStatus {
  if (scope === 'tenant' || !isReadAction(action)) return { fill: 'grey', shape: 'ring', text: 'remote: read-only' };
  return { fill: 'grey', shape: 'dot', text: `remote: read-only · ${action} · ${label}` };
}

/** Status after a failed read. */
export function readFailedStatus(e: unknown): NodeStatus {
  if (isDeviceDown(e)) return { fill: 'red', shape: 'ring', text: 'device not answering' };
  if (e instanceof RemoteStoreError) return { fill: 'red', shape: 'ring', text: e.short };
  if (e instanceof CoapError && e.kind === 'response') return { fill: 'red', shape: 'ring', text: `device answered ${e.code}` };
  return { fill: 'red', shape: 'ring', text: 'read failed' };
}
