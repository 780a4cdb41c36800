/**
 * A map with hard limits, for state a network peer can make a server keep (block-wise transfers,
 * response snapshots, duplicate detection): at most `maxEntries` entries, at most `maxBytes` bytes
 * in all (as the caller counts them), none older than `maxAgeMs`. When an entry does not fit, the
 * caller chooses: refuse it (the peer is told to come back later) or evict the oldest entries.
 *
 * Why: the `coap` package kept every unauthenticated Block1 fragment for its exchange lifetime
 * (247 s), without a count or byte limit: 3,000 datagrams of 60 KB grew a device from 90 to
 * 265 MB. Everything kept here is bounded by construction.
 *
 * Age is counted from an entry's creation, not its last use: a transfer trickled one block at a
 * time still ends at `maxAgeMs`. Entries are kept in creation order (a Map's order), so expiry and
 * eviction look at the front only: O(1) amortised per entry. Expired entries go when they are
 * looked at, when room is needed, and on `sweep()`; `startSweeping()` runs it on a timer that does
 * not keep the process alive.
 */

export interface StoreLimits {
  maxEntries: number;
  maxBytes: number;
  maxAgeMs: number;
}

interface Entry<V> {
  value: V;
  bytes: number;
  createdAt: number;
}

export class BoundedStore<V> {
  private readonly map = new Map<string, Entry<V>>();
  private total = 0;

  constructor(readonly limits: StoreLimits, private readonly now: () => number = Date.now) {
    for (const [k, v] of Object.entries(limits)) {
      if (!(typeof v === 'number' && v >= 0 && Number.isFinite(v))) throw new RangeError(`store limit ${k} must be a non-negative number, not ${String(v)}`);
    }
  }

  /** Entries held (expired ones included until they are swept or looked at). */
  get size(): number {
    return this.map.size;
  }

  /** Bytes held, as the callers counted them. */
  get bytes(): number {
    return this.total;
  }

  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (this.expired(e)) {
      this.delete(key);
      return undefined;
    }
    return e.value;
  }

  /**
   * Add (or replace) an entry of `bytes`. `refuse`: false when it does not fit (nothing changes);
   * `evict`: the oldest entries make room (an entry larger than `maxBytes` is still refused).
   */
  set(key: string, value: V, bytes: number, when: 'refuse' | 'evict'): boolean {
    this.delete(key);
    this.sweep();
    if (bytes > this.limits.maxBytes || this.limits.maxEntries === 0) return false;
    if (when === 'refuse' && !this.fits(1, bytes)) return false;
    while (!this.fits(1, bytes)) this.evictOldest();
    this.map.set(key, { value, bytes, createdAt: this.now() });
    this.total += bytes;
    return true;
  }

  /** Count `more` bytes against an entry (a transfer grew); false (nothing changes) past maxBytes. */
  grow(key: string, more: number): boolean {
    const e = this.map.get(key);
    if (!e) return false;
    if (!this.fits(0, more)) {
      this.sweep();
      if (!this.map.has(key) || !this.fits(0, more)) return false;
    }
    e.bytes += more;
    this.total += more;
    return true;
  }

  delete(key: string): boolean {
    const e = this.map.get(key);
    if (!e) return false;
    this.map.delete(key);
    this.total -= e.bytes;
    return true;
  }

  clear(): void {
    this.map.clear();
    this.total = 0;
  }

  /** Drop expired entries; returns how many went. */
  sweep(): number {
    let n = 0;
    for (const [k, e] of this.map) {
      if (!this.expired(e)) break; // creation order: the rest are younger
      this.map.delete(k);
      this.total -= e.bytes;
      n++;
    }
    return n;
  }

  /** Milliseconds until the oldest entry expires (what a refused peer is told to wait). */
  msUntilRoom(): number {
    for (const e of this.map.values()) return Math.max(0, e.createdAt + this.limits.maxAgeMs - this.now());
    return 0;
  }

  private fits(entries: number, bytes: number): boolean {
    return this.map.size + entries <= this.limits.maxEntries && this.total + bytes <= this.limits.maxBytes;
  }

  private evictOldest(): void {
    for (const k of this.map.keys()) {
      this.delete(k);
      return;
    }
  }

  private expired(e: Entry<V>): boolean {
    return this.now() - e.createdAt >= this.limits.maxAgeMs;
  }
}

/**
 * Sweep `stores` every `periodMs` on a timer that does not keep the process alive; returns the
 * function that stops it.
 */
export function startSweeping(stores: readonly { sweep(): number }[], periodMs: number): () => void {
  const t = setInterval(() => {
    for (const s of stores) s.sweep();
  }, Math.max(100, periodMs));
  t.unref();
  return () => clearInterval(t);
}
