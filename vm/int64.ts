/**
 * 64-bit integer arithmetic on (lo, hi) pairs of int32 halves, without BigInt, for the interpreter.
 * Results go to the module-level `out` array (lo, hi, and for division the remainder's lo, hi),
 * which avoids allocating an object per operation in the run loop.
 *
 * Multiplication builds the high word from 16-bit partial products (each exact in a double);
 * division has a fast path for operands that fit in 32 bits and an exact shift-subtract path for
 * the rest (64 iterations at most, only for genuinely 64-bit operands). What division by zero and
 * signed overflow give is vm/division.ts's rule; the callers handle a zero divisor before these.
 */

/** out[0], out[1] = result lo, hi; out[2], out[3] = remainder lo, hi (division only). */
export const out = new Int32Array(4);

/** High 32 bits of the unsigned product of two 32-bit values. */
export function mulhiU32(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
}

/** Low 64 bits of a 64×64 product → out[0..1]. */
export function mul64(alo: number, ahi: number, blo: number, bhi: number): void {
  out[0] = Math.imul(alo, blo);
  out[1] = (mulhiU32(alo, blo) + Math.imul(alo, bhi) + Math.imul(ahi, blo)) | 0;
}

/** Unsigned 64-bit division and remainder → out[0..3]. The divisor must be non-zero. */
export function udivmod64(alo: number, ahi: number, blo: number, bhi: number): void {
  if (ahi === 0 && bhi === 0) {
    const a = alo >>> 0, b = blo >>> 0;
    const q = Math.floor(a / b);
    out[0] = q | 0; out[1] = 0; out[2] = (a - q * b) | 0; out[3] = 0;
    return;
  }
  // Unsigned compare: a < b → q = 0, r = a.
  const ah = ahi >>> 0, bh = bhi >>> 0;
  if (ah < bh || (ah === bh && (alo >>> 0) < (blo >>> 0))) {
    out[0] = 0; out[1] = 0; out[2] = alo; out[3] = ahi;
    return;
  }
  // Shift-subtract long division, one quotient bit per step, starting at the dividend's top bit.
  let qlo = 0, qhi = 0, rlo = 0, rhi = 0;
  const top = ahi !== 0 ? 63 - Math.clz32(ahi) : 31 - Math.clz32(alo);
  for (let i = top; i >= 0; i--) {
    // r = (r << 1) | bit i of a; a bit shifted out of r's top means r > b for sure (b < 2^64).
    const bit = i >= 32 ? (ahi >>> (i - 32)) & 1 : (alo >>> i) & 1;
    const over = rhi < 0;
    rhi = (rhi << 1) | (rlo >>> 31);
    rlo = (rlo << 1) | bit;
    // if r >= b: r -= b (mod 2^64, exact since the true difference is below b); q |= 1 << i
    const rh = rhi >>> 0;
    if (over || rh > bh || (rh === bh && (rlo >>> 0) >= (blo >>> 0))) {
      const lo = (rlo >>> 0) - (blo >>> 0);
      rhi = (rhi - bhi - (lo < 0 ? 1 : 0)) | 0;
      rlo = lo | 0;
      if (i >= 32) qhi |= 1 << (i - 32);
      else qlo |= 1 << i;
    }
  }
  out[0] = qlo; out[1] = qhi; out[2] = rlo; out[3] = rhi;
}

/** Two's-complement negation of (lo, hi) → out[0..1]. */
export function neg64(lo: number, hi: number): void {
  out[0] = (-lo) | 0;
  out[1] = (~hi + (lo === 0 ? 1 : 0)) | 0;
}

/**
 * Signed 64-bit division and remainder (C semantics: truncate toward zero, remainder has the
 * dividend's sign) → out[0..3]. INT64_MIN / −1 gives INT64_MIN with remainder 0, as RFC 9669 says.
 */
export function sdivmod64(alo: number, ahi: number, blo: number, bhi: number): void {
  const aneg = ahi < 0, bneg = bhi < 0;
  let ualo = alo, uahi = ahi, ublo = blo, ubhi = bhi;
  if (aneg) { neg64(alo, ahi); ualo = out[0]; uahi = out[1]; }
  if (bneg) { neg64(blo, bhi); ublo = out[0]; ubhi = out[1]; }
  udivmod64(ualo, uahi, ublo, ubhi);
  let qlo = out[0], qhi = out[1], rlo = out[2], rhi = out[3];
  if (aneg !== bneg) { neg64(qlo, qhi); qlo = out[0]; qhi = out[1]; }
  if (aneg) { neg64(rlo, rhi); rlo = out[0]; rhi = out[1]; }
  out[0] = qlo; out[1] = qhi; out[2] = rlo; out[3] = rhi;
}

/** (lo, hi) as an unsigned BigInt — for results and messages, never inside the run loop. */
export function toBigU64(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Split a BigInt (taken modulo 2^64) into int32 halves → out[0..1]. */
export function fromBig(v: bigint): void {
  const u = BigInt.asUintN(64, v);
  out[0] = Number(u & 0xffffffffn) | 0;
  out[1] = Number(u >> 32n) | 0;
}

/** Hex text of a 64-bit value ("0x…"), as printed by the CLI and faults. */
export function hex64(lo: number, hi: number): string {
  return '0x' + toBigU64(lo, hi).toString(16);
}

// ---- Shifts and byte swaps of one register held as (lo, hi) halves, in place ----

function bswap32(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

/** BSWAP (ALU64 | END) and BE: swap 16, 32 (zero-extended) or all 64 bits of register d. */
export function bswap(lo: Int32Array, hi: Int32Array, d: number, bits: number): void {
  if (bits === 16) { const l = lo[d]; lo[d] = ((l & 0xff) << 8) | ((l >>> 8) & 0xff); hi[d] = 0; }
  else if (bits === 32) { lo[d] = bswap32(lo[d]); hi[d] = 0; }
  else { const l = lo[d]; lo[d] = bswap32(hi[d]); hi[d] = bswap32(l); }
}

export function shl64(lo: Int32Array, hi: Int32Array, d: number, n: number): void {
  if (n === 0) return;
  if (n < 32) { hi[d] = (hi[d] << n) | (lo[d] >>> (32 - n)); lo[d] = lo[d] << n; }
  else { hi[d] = lo[d] << (n - 32); lo[d] = 0; }
}

export function shr64(lo: Int32Array, hi: Int32Array, d: number, n: number): void {
  if (n === 0) return;
  if (n < 32) { lo[d] = (lo[d] >>> n) | (hi[d] << (32 - n)); hi[d] = hi[d] >>> n; }
  else { lo[d] = hi[d] >>> (n - 32); hi[d] = 0; }
}

export function sar64(lo: Int32Array, hi: Int32Array, d: number, n: number): void {
  if (n === 0) return;
  if (n < 32) { lo[d] = (lo[d] >>> n) | (hi[d] << (32 - n)); hi[d] = hi[d] >> n; }
  else { lo[d] = hi[d] >> (n - 32); hi[d] = hi[d] >> 31; }
}
