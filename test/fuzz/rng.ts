/**
 * Deterministic randomness for the fuzzer: one small PRNG (sfc32) seeded from (run seed, target,
 * case index), so that every case can be regenerated on its own from the three numbers a finding
 * prints, whatever ran before it. `fcRandom` lets fast-check arbitraries (test/util/program-gen.ts)
 * draw from the same stream.
 */
import fc from 'fast-check';

/** 32-bit hash of a string (cyrb53's mixing, truncated): seeds from names. */
export function hashString(s: string, h0 = 0x9e3779b9): number {
  let h1 = h0 ^ 0xdeadbeef;
  let h2 = h0 ^ 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h1 ^ h2) >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | string, ...more: (number | string)[]) {
    const key = [seed, ...more].map(String).join('/');
    this.a = hashString(key, 1);
    this.b = hashString(key, 2);
    this.c = hashString(key, 3);
    this.d = hashString(key, 4) | 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Uniform unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    if (n <= 1) return 0;
    if (n <= 0x100000000) return Math.floor((this.u32() / 0x100000000) * n);
    return Math.floor(((this.u32() * 0x100000000 + this.u32()) / 2 ** 64) * n);
  }

  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  bool(p = 0.5): boolean {
    return this.u32() / 0x100000000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** Pick with weights: [[weight, value], …]. */
  weighted<T>(items: readonly (readonly [number, T])[]): T {
    const total = items.reduce((s, [w]) => s + w, 0);
    let r = this.int(total);
    for (const [w, v] of items) {
      if (r < w) return v;
      r -= w;
    }
    return items[items.length - 1][1];
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** A random unsigned 64-bit value. */
  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }

  /** A small-biased length: mostly short, sometimes up to `max`. */
  len(max: number): number {
    const r = this.int(10);
    if (r < 6) return this.int(Math.min(max, 16) + 1);
    if (r < 9) return this.int(Math.min(max, 128) + 1);
    return this.int(max + 1);
  }

  clone(): Rng {
    const r = Object.create(Rng.prototype) as Rng;
    r.a = this.a;
    r.b = this.b;
    r.c = this.c;
    r.d = this.d;
    return r;
  }

  state(): number[] {
    return [this.a, this.b, this.c, this.d];
  }
}

/** A fast-check Random drawing from `rng` (pure-rand 8's generator interface). */
export function fcRandom(rng: Rng): fc.Random {
  const gen = (r: Rng): { clone(): unknown; next(): number; getState(): number[] } => ({
    clone: () => gen(r.clone()),
    next: () => r.u32() | 0,
    getState: () => r.state(),
  });
  return new fc.Random(gen(rng) as never);
}

/** One value of a fast-check arbitrary, drawn deterministically from `rng`. */
export function sampleArb<T>(arb: fc.Arbitrary<T>, rng: Rng, bias?: number): T {
  // A child stream: fast-check clones the generator it is given, so draw its seed from `rng`.
  return arb.generate(fcRandom(new Rng(rng.u32(), rng.u32())), bias).value;
}
