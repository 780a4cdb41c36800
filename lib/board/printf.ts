/**
 * RIOT-style printf for the `bpf_printf` helper (0x01): the format string and every `%s` argument
 * live in container memory and are read through the checked Memory API, so a bad pointer is a
 * MemoryAccessError (fault −2 at the call) and a string is bounded by its region.
 *
 * Supported: `%d %i %u %x %X %o %c %s %p %%`, flags `- 0 + space #`, width and precision (numbers or
 * `*`, which takes the next argument as on any printf), length modifiers `hh h l ll z j t`.
 * Argument model: each conversion takes the next helper argument (r2…r5, at most 4). Without `ll`
 * (or `j`) an integer is the low 32 bits of the register, as on RIOT's 32-bit MCUs where int and
 * long are 32 bits; `ll`/`j` use all 64 bits (on a real MCU a 64-bit vararg takes two slots; a
 * container passes one 64-bit register here, which is what its C source meant). `hh`/`h` narrow to
 * 8/16 bits as C does.
 *
 * Hostile formats never crash or run away:
 *  - a conversion with no argument left prints as if the argument were 0 (`%s`: "(null)"),
 *  - widths and precisions are capped at 64, the output of one call at 512 characters (the rest is
 *    dropped and the result counts only what was written), the format string at 1024 bytes,
 *  - an unknown conversion is printed literally, a lone `%` at the end prints `%`.
 */
import type { Memory } from '../../vm/memory';

export const PRINTF_MAX_OUTPUT = 512;
export const PRINTF_MAX_FORMAT = 1024;
export const PRINTF_MAX_WIDTH = 64;
export const PRINTF_MAX_STRING = 256;

export interface PrintfResult {
  text: string;
  /** true when output was cut at PRINTF_MAX_OUTPUT. */
  truncated: boolean;
}

/**
 * Format `fmt` with integer arguments (as unsigned 64-bit bigints: the raw registers).
 * `readString(addr, max)` reads a NUL-terminated string (throws MemoryAccessError when unmapped).
 */
export function formatPrintf(fmt: string, args: readonly bigint[], readString: (addr: number, max: number) => string): PrintfResult {
  let out = '';
  let ai = 0;
  const next = (): bigint | undefined => (ai < args.length ? args[ai++] : (ai++, undefined));
  let i = 0;
  while (i < fmt.length && out.length < PRINTF_MAX_OUTPUT) {
    const ch = fmt[i++];
    if (ch !== '%') {
      out += ch;
      continue;
    }
    if (i >= fmt.length) {
      out += '%';
      break;
    }
    const start = i - 1;
    let left = false, zero = false, plus = false, space = false, alt = false;
    for (;;) {
      const f = fmt[i];
      if (f === '-') left = true;
      else if (f === '0') zero = true;
      else if (f === '+') plus = true;
      else if (f === ' ') space = true;
      else if (f === '#') alt = true;
      else break;
      i++;
    }
    let width = 0;
    if (fmt[i] === '*') {
      i++;
      const w = Number(BigInt.asIntN(32, next() ?? 0n));
      if (w < 0) left = true;
      width = Math.abs(w);
    } else {
      while (i < fmt.length && fmt[i] >= '0' && fmt[i] <= '9') width = Math.min(width * 10 + (fmt.charCodeAt(i++) - 48), 1e6);
    }
    let prec = -1;
    if (fmt[i] === '.') {
      i++;
      prec = 0;
      if (fmt[i] === '*') {
        i++;
        const p = Number(BigInt.asIntN(32, next() ?? 0n));
        prec = p < 0 ? -1 : p;
      } else {
        while (i < fmt.length && fmt[i] >= '0' && fmt[i] <= '9') prec = Math.min(prec * 10 + (fmt.charCodeAt(i++) - 48), 1e6);
      }
    }
    width = Math.min(width, PRINTF_MAX_WIDTH);
    if (prec > PRINTF_MAX_WIDTH) prec = PRINTF_MAX_WIDTH;
    let bits = 32;
    for (;;) {
      const m = fmt[i];
      if (m === 'l') { bits = fmt[i + 1] === 'l' ? (i++, 64) : 32; i++; }
      else if (m === 'h') { bits = fmt[i + 1] === 'h' ? (i++, 8) : 16; i++; }
      else if (m === 'j') { bits = 64; i++; }
      else if (m === 'z' || m === 't') { bits = 32; i++; }
      else break;
    }
    const conv = fmt[i++];
    let body: string;
    let sign = '';
    let numeric = true;
    switch (conv) {
      case 'd':
      case 'i': {
        const v = BigInt.asIntN(bits, next() ?? 0n);
        sign = v < 0n ? '-' : plus ? '+' : space ? ' ' : '';
        body = digits(v < 0n ? -v : v, 10, prec);
        break;
      }
      case 'u': body = digits(BigInt.asUintN(bits, next() ?? 0n), 10, prec); break;
      case 'x':
      case 'X': {
        const v = BigInt.asUintN(bits, next() ?? 0n);
        body = digits(v, 16, prec);
        if (conv === 'X') body = body.toUpperCase();
        if (alt && v !== 0n) sign = conv === 'X' ? '0X' : '0x';
        break;
      }
      case 'o': {
        const v = BigInt.asUintN(bits, next() ?? 0n);
        body = digits(v, 8, prec);
        if (alt && !body.startsWith('0')) body = '0' + body;
        break;
      }
      case 'p': sign = '0x'; body = BigInt.asUintN(32, next() ?? 0n).toString(16); break;
      case 'c': numeric = false; body = String.fromCharCode(Number(BigInt.asUintN(8, next() ?? 0n))); break;
      case 's': {
        numeric = false;
        const p = next();
        const addr = Number(BigInt.asUintN(64, p ?? 0n));
        const max = prec >= 0 ? prec : PRINTF_MAX_STRING;
        if (addr === 0) body = '(null)';
        else if (prec === 0) body = '';
        else body = readString(addr, max);
        if (prec >= 0) body = body.slice(0, prec);
        break;
      }
      case '%': out += '%'; continue;
      default:
        // Unknown or missing conversion: print what was written, RIOT's newlib does likewise.
        out += fmt.slice(start, conv === undefined ? fmt.length : i);
        continue;
    }
    const len = sign.length + body.length;
    if (len >= width) out += sign + body;
    else if (left) out += sign + body + ' '.repeat(width - len);
    else if (zero && numeric && prec < 0) out += sign + '0'.repeat(width - len) + body;
    else out += ' '.repeat(width - len) + sign + body;
  }
  // The loop stops once the cap is reached; anything produced or left unformatted is dropped.
  const truncated = out.length >= PRINTF_MAX_OUTPUT && (out.length > PRINTF_MAX_OUTPUT || i < fmt.length);
  return { text: out.slice(0, PRINTF_MAX_OUTPUT), truncated };
}

function digits(v: bigint, radix: number, prec: number): string {
  if (prec === 0 && v === 0n) return '';
  const s = v.toString(radix);
  return prec > s.length ? '0'.repeat(prec - s.length) + s : s;
}

/**
 * The printf helper's reader over container memory: NUL-terminated, bounded by its region and by
 * `max` (the precision, else PRINTF_MAX_STRING). Byte by byte through the checked API, so that,
 * as in C, `%.2s` of a string cut off by its region's end is fine while `%s` of it faults.
 */
export function memoryStringReader(mem: Memory): (addr: number, max: number) => string {
  return (addr, max) => {
    let s = '';
    for (let k = 0; k < max; k++) {
      const b = mem.readU8(addr + k); // checked: throws MemoryAccessError past the region
      if (b === 0) return s;
      s += String.fromCharCode(b);
    }
    return s; // `max` bytes without NUL: C's %.Ns stops there too; unbounded %s is capped likewise
  };
}
