/**
 * Key-value stores (ARCHITECTURE.md § Key-value stores): u32 keys and values in three scopes.
 *  - local:  one per container instance (RIOT: per femto-container);
 *  - tenant: one per tenant, shared by that tenant's containers (the paper's proposal);
 *  - global: one per board (RIOT: system-wide).
 *
 * Semantics, RIOT's with one deliberate difference:
 *  - capacity is a number of entries per store (RIOT's default is 16); storing a new key into a
 *    full store returns −1 and changes nothing; overwriting an existing key always succeeds;
 *  - fetching an absent key reads 0. RIOT also inserts the key (consuming a slot); we do not, so
 *    a container probing keys cannot fill a store by reading it;
 *  - nothing here throws for any key or value a container can produce: keys and values are taken
 *    modulo 2^32.
 * Stores are observable ('change' events carrying scope, owner, key, value, previous and who
 * wrote) and editable from the host (a Node-RED store node, a test), through the same capacity rule.
 */
import { EventEmitter } from 'node:events';

export type StoreScope = 'local' | 'tenant' | 'global';
export const DEFAULT_STORE_CAPACITY = 16;

export interface StoreChange {
  scope: StoreScope;
  /** Container id (local), tenant name (tenant) or board name (global). */
  owner: string;
  key: number;
  /** New value; undefined when the key was deleted. */
  value: number | undefined;
  previous: number | undefined;
  /** 'container' with its id, or 'host'. */
  by: string;
}

export class KvStore extends EventEmitter {
  private readonly map = new Map<number, number>();

  constructor(readonly scope: StoreScope, readonly owner: string, public capacity = DEFAULT_STORE_CAPACITY) {
    super();
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`store capacity must be a non-negative integer, got ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  has(key: number): boolean {
    return this.map.has(key >>> 0);
  }

  /** The value, or undefined when absent (host view; containers get fetch()). */
  get(key: number): number | undefined {
    return this.map.get(key >>> 0);
  }

  /** A container's fetch: absent reads 0 and does not consume a slot. */
  fetch(key: number): number {
    return this.map.get(key >>> 0) ?? 0;
  }

  /** Store a value: 0 on success, −1 when the store is full (a new key). Never throws. */
  put(key: number, value: number, by = 'host'): 0 | -1 {
    const k = key >>> 0;
    const v = value >>> 0;
    const prev = this.map.get(k);
    if (prev === undefined && this.map.size >= this.capacity) return -1;
    this.map.set(k, v);
    if (prev !== v) this.emit('change', { scope: this.scope, owner: this.owner, key: k, value: v, previous: prev, by } satisfies StoreChange);
    return 0;
  }

  delete(key: number, by = 'host'): boolean {
    const k = key >>> 0;
    const prev = this.map.get(k);
    if (prev === undefined) return false;
    this.map.delete(k);
    this.emit('change', { scope: this.scope, owner: this.owner, key: k, value: undefined, previous: prev, by } satisfies StoreChange);
    return true;
  }

  clear(by = 'host'): void {
    for (const k of [...this.map.keys()]) this.delete(k, by);
  }

  entries(): [number, number][] {
    return [...this.map.entries()].sort((a, b) => a[0] - b[0]);
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.entries().map(([k, v]) => [String(k), v]));
  }
}
