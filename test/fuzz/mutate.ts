/**
 * Mutation of valid inputs: byte-level (bit flips, interesting values, insertions, deletions,
 * duplicated chunks, truncation, splices with another corpus item) and field-level (a u8/u16/u32/
 * u64 length or offset field at a known position set to an edge value or nudged by ±1, ±8…), plus
 * token-level mutation of text. Every function is deterministic given its Rng.
 */
import type { Rng } from './rng';

export const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40, 0x0f, 0xfe];
export const INTERESTING_16 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0xfffe, 8, 16, 24, 64];
export const INTERESTING_32 = [0, 1, 7, 8, 9, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
  0xfffffff8, 0xfffffffc, 0x01000000, 0x40000000, 28, 64, 4096, 65536, 65537];

/** Field widths a field-edit may use. */
export interface Field {
  offset: number;
  size: 1 | 2 | 4 | 8;
  name?: string;
}

function readLE(b: Uint8Array, off: number, size: number): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[off + i] ?? 0);
  return v;
}

function writeLE(b: Uint8Array, off: number, size: number, v: bigint): void {
  const m = BigInt.asUintN(size * 8, v);
  for (let i = 0; i < size; i++) if (off + i < b.length) b[off + i] = Number((m >> BigInt(8 * i)) & 0xffn);
}

/** An edge value for a field of `size` bytes, relative to its current value or absolute. */
export function edgeValue(rng: Rng, size: number, current: bigint, hints: readonly number[] = []): bigint {
  const bits = BigInt(size * 8);
  const max = (1n << bits) - 1n;
  switch (rng.int(9)) {
    case 0: return 0n;
    case 1: return max;
    case 2: return max >> 1n;
    case 3: return current + BigInt(rng.pick([1, -1, 2, -2, 4, -4, 8, -8, 6, -6, 16, -16]));
    case 4: return current * 2n;
    case 5: return BigInt(rng.pick(INTERESTING_32));
    case 6: return hints.length ? BigInt(rng.pick(hints)) + BigInt(rng.range(-2, 2)) : current ^ (1n << BigInt(rng.int(size * 8)));
    case 7: return current ^ (1n << BigInt(rng.int(size * 8)));
    default: return BigInt(rng.u32()) & max;
  }
}

/** Set a field to an edge value. */
export function editField(b: Uint8Array, rng: Rng, f: Field, hints: readonly number[] = []): Uint8Array {
  if (f.offset + f.size > b.length) return b;
  const out = b.slice();
  writeLE(out, f.offset, f.size, edgeValue(rng, f.size, readLE(out, f.offset, f.size), hints));
  return out;
}

/** One random byte-level mutation. `other` supplies splice material. */
export function mutateBytes(b: Uint8Array, rng: Rng, other?: Uint8Array, maxLen = 1 << 16): Uint8Array {
  const n = b.length;
  const at = (): number => rng.int(Math.max(1, n));
  switch (rng.int(12)) {
    case 0: { // bit flip
      if (!n) return rng.bytes(rng.len(16));
      const out = b.slice();
      out[at()] ^= 1 << rng.int(8);
      return out;
    }
    case 1: { // interesting byte
      if (!n) return Uint8Array.of(rng.pick(INTERESTING_8));
      const out = b.slice();
      out[at()] = rng.pick(INTERESTING_8);
      return out;
    }
    case 2: { // random byte run
      if (!n) return rng.bytes(rng.len(8));
      const out = b.slice();
      const o = at();
      const k = rng.range(1, 8);
      for (let i = 0; i < k && o + i < n; i++) out[o + i] = rng.u32() & 0xff;
      return out;
    }
    case 3: { // interesting 16/32-bit value at any position
      if (n < 4) return b;
      const out = b.slice();
      const size = rng.pick([2, 4, 8] as const);
      const o = rng.int(Math.max(1, n - size + 1));
      writeLE(out, o, size, edgeValue(rng, size, readLE(out, o, size)));
      return out;
    }
    case 4: { // truncate
      if (!n) return b;
      return b.slice(0, rng.bool(0.5) ? rng.int(n) : n - rng.range(1, Math.min(n, 8)));
    }
    case 5: { // delete a chunk
      if (!n) return b;
      const o = at();
      const k = rng.range(1, Math.min(32, n - o));
      return concat(b.subarray(0, o), b.subarray(o + k));
    }
    case 6: { // insert random bytes
      if (n >= maxLen) return b;
      const o = rng.int(n + 1);
      return concat(b.subarray(0, o), rng.bytes(rng.range(1, 16)), b.subarray(o));
    }
    case 7: { // duplicate a chunk
      if (!n || n >= maxLen) return b;
      const o = at();
      const k = rng.range(1, Math.min(64, n - o));
      const p = rng.int(n + 1);
      return concat(b.subarray(0, p), b.subarray(o, o + k), b.subarray(p)).subarray(0, maxLen);
    }
    case 8: { // splice with another input
      const src = other && other.length ? other : b;
      if (!src.length) return b;
      const cut = rng.int(n + 1);
      const from = rng.int(src.length);
      return concat(b.subarray(0, cut), src.subarray(from, from + rng.range(1, src.length - from))).subarray(0, maxLen);
    }
    case 9: { // overwrite a chunk with a copy from elsewhere in the input (or the other)
      const src = other && other.length && rng.bool() ? other : b;
      if (!n || !src.length) return b;
      const out = b.slice();
      const o = at();
      const from = rng.int(src.length);
      out.set(src.subarray(from, from + Math.min(n - o, rng.range(1, 32))), o);
      return out;
    }
    case 10: { // extend with zeros or ones (a length that now has room)
      if (n >= maxLen) return b;
      return concat(b, new Uint8Array(rng.pick([1, 4, 6, 8, 16, 64])).fill(rng.bool() ? 0 : 0xff));
    }
    default: { // swap two bytes
      if (n < 2) return b;
      const out = b.slice();
      const i = at(), j = at();
      [out[i], out[j]] = [out[j], out[i]];
      return out;
    }
  }
}

/** 1–`max` mutations, field edits preferred when fields are given. */
export function mutate(b: Uint8Array, rng: Rng, opts: { fields?: Field[]; hints?: number[]; other?: Uint8Array; max?: number; maxLen?: number } = {}): Uint8Array {
  let out = b;
  const k = rng.range(1, opts.max ?? 4);
  for (let i = 0; i < k; i++) {
    if (opts.fields?.length && rng.bool(0.5)) out = editField(out, rng, rng.pick(opts.fields), opts.hints);
    else out = mutateBytes(out, rng, opts.other, opts.maxLen);
  }
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---- text ---------------------------------------------------------------------------------------

const WEIRD_TOKENS = [
  '0', '-0', '1', '-1', '0x', '0x0', '-0x80000000', '0x7fffffff', '0xffffffff', '4294967296', '-2147483649',
  '0xffffffffffffffff', '18446744073709551616', '-9223372036854775809', '99999999999999999999999', '1e3', '0b101', '00',
  '%r0', '%r10', '%r11', '%r15', '%r-1', '%r99999999999999', '%r', 'r1', '%R1', '[%r1+0]', '[%r10-512]', '[%r1+32768]',
  '[%r1-32769]', '[%r1]', '[%r1+]', '[]', '[', ']', '+', '-', '+-1', '--1', ',', ',,', ':', 'exit', 'local', 'call',
  'lock', 'fetch', '#', '.insn', '.quad', 'dst=11', 'src=16', 'off=32768', 'imm=0x100000000', 'label', 'L0', 'L0:',
  '\t', '\u0000', '\u00ff', '\u{1F600}', '\\', '"', "'", '$', ' '.repeat(50), 'a'.repeat(300),
];
const MNEMONICS = [
  'mov', 'mov32', 'add', 'add32', 'sub', 'mul', 'div', 'sdiv', 'mod', 'smod', 'or', 'and', 'lsh', 'rsh', 'arsh', 'xor', 'neg', 'neg32',
  'be16', 'be32', 'be64', 'le16', 'le32', 'le64', 'bswap16', 'bswap32', 'bswap64', 'movsx832', 'movsx1664', 'movsx3264',
  'ldxb', 'ldxh', 'ldxw', 'ldxdw', 'ldxsb', 'ldxsh', 'ldxsw', 'stb', 'sth', 'stw', 'stdw', 'stxb', 'stxh', 'stxw', 'stxdw',
  'lddw', 'lddwd', 'lddwr', 'ja', 'ja32', 'jeq', 'jne', 'jgt', 'jge', 'jlt', 'jle', 'jsgt', 'jsge', 'jslt', 'jsle', 'jset',
  'jeq32', 'jset32', 'call', 'callx', 'exit', 'lock', '.insn', '.quad',
];

/** Tokenize into words and separators (kept, so joining gives the text back). */
function tokens(s: string): string[] {
  return s.match(/%?[A-Za-z0-9_.]+|\s+|./gsu) ?? [];
}

/** One token-level or character-level mutation of assembly text. */
export function mutateText(s: string, rng: Rng, other?: string): string {
  const toks = tokens(s);
  const lines = s.split('\n');
  switch (rng.int(10)) {
    case 0: case 1: { // replace a token
      if (!toks.length) return rng.pick(WEIRD_TOKENS);
      toks[rng.int(toks.length)] = rng.bool(0.7) ? rng.pick(WEIRD_TOKENS) : rng.pick(MNEMONICS);
      return toks.join('');
    }
    case 2: { // numbers: edge values
      const nums = toks.map((t, i) => (/^-?(0x)?[0-9a-f]+$/i.test(t) ? i : -1)).filter((i) => i >= 0);
      if (!nums.length) return s + ' 0';
      const i = rng.pick(nums);
      toks[i] = rng.pick(['0', '1', '-1', '0x7fffffff', '0x80000000', '0xffffffff', '0x100000000', '32767', '32768', '-32768', '-32769',
        '65535', '0xffffffffffffffff', '0x10000000000000000', '2147483648', '-2147483648', String(rng.u32()), '-' + rng.u32()]);
      return toks.join('');
    }
    case 3: { // delete a token
      if (!toks.length) return s;
      toks.splice(rng.int(toks.length), 1);
      return toks.join('');
    }
    case 4: { // duplicate / swap / delete a line
      if (!lines.length) return s;
      const i = rng.int(lines.length), j = rng.int(lines.length);
      const k = rng.int(3);
      if (k === 0) lines.splice(j, 0, lines[i]);
      else if (k === 1) [lines[i], lines[j]] = [lines[j], lines[i]];
      else lines.splice(i, 1);
      return lines.join('\n');
    }
    case 5: { // insert a random character
      const o = rng.int(s.length + 1);
      const ch = rng.pick(['\n', '\r', '\t', ' ', ',', '[', ']', '+', '-', ':', '#', '%', '\u0000', '\u00a0', '\u2028', String.fromCharCode(rng.int(128)), '\uD800']);
      return s.slice(0, o) + ch + s.slice(o);
    }
    case 6: { // labels: define twice, jump to an undefined one, label on every line
      if (rng.bool()) return `L0:\n${s}\nL0:\nexit`;
      return s.replace(/([+-]\d+)\s*$/m, rng.pick(['nowhere', 'exit', 'L0', '+32767', '-32768', '+65536']));
    }
    case 7: { // splice lines from another text
      if (!other) return s;
      const ol = other.split('\n');
      const from = rng.int(ol.length);
      lines.splice(rng.int(lines.length + 1), 0, ...ol.slice(from, from + rng.range(1, 8)));
      return lines.join('\n');
    }
    case 8: { // a random instruction line
      const m = rng.pick(MNEMONICS);
      const ops = Array.from({ length: rng.int(4) }, () => rng.pick(WEIRD_TOKENS)).join(rng.bool(0.8) ? ', ' : ' ');
      lines.splice(rng.int(lines.length + 1), 0, `${m} ${ops}`);
      return lines.join('\n');
    }
    default: { // truncate
      return s.slice(0, rng.int(s.length + 1));
    }
  }
}
