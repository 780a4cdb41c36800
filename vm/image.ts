/**
 * RIOT's "rBPF" femto-container application image (ARCHITECTURE.md § Image format): parse with full
 * validation, build byte-exactly as RIOT's converter (`dist/tools/rbpf/gen_rbf.py`) does, pick an
 * entry point.
 *
 * Layout (little-endian): a 28-byte header of 7 × u32 (magic "rBPF", version, flags, data_len,
 * rodata_len, text_len, functions), then .data, .rodata (RIOT appends the exported function names
 * here, NUL-terminated, and counts them in rodata_len), text, and a table of 6-byte entries
 * (u16 name_offset into rodata, u16 flags, u16 location_offset into text in bytes).
 *
 * Choices, where RIOT's runtimes are silent (they never validate):
 * - the lengths must account for the buffer exactly: a trailing byte is as suspicious as a missing
 *   one, since images travel over CoAP block-wise and a truncation must not pass;
 * - flags: bit 0 (compressed text) is RIOT's converter's only flag and is not executable; 0x0100 is
 *   RIOT's "no return" configuration (FLAG_NO_RETURN); any other bit has no defined meaning, so it
 *   is rejected rather than silently ignored;
 * - .data and .rodata lengths need not be multiples of 8 (the converter pads them, a hand-made
 *   image may not; nothing depends on it);
 * - function names must be ASCII: they come from C identifiers, and this keeps the parser free of
 *   any text-decoding dependency (it also runs in the browser);
 * - every failure is a FormatError('image') naming the header field or table entry; no other
 *   exception escapes, whatever the input.
 */
import { FormatError } from './errors';
import { INSN_SIZE } from './opcodes';

/** "rBPF" read as a little-endian u32 (bytes 72 42 50 46). */
export const RIOT_MAGIC = 0x46504272;
export const RIOT_VERSION = 0;
/** Header flag bit 0: text is in RIOT's compressed instruction encoding. */
export const FLAG_COMPRESSED = 0x01;
/**
 * Header flag 0x0100: RIOT's "no return" configuration (FC_CONFIG_NO_RETURN, same value). RIOT
 * keeps it in the VM state its host sets up, not in the image; we let the image carry it so a
 * long-running container says so itself: no final-exit check in riot-2022, no taken-branch budget.
 */
export const FLAG_NO_RETURN = 0x0100;
export const HEADER_SIZE = 28;
export const FUNCTION_ENTRY_SIZE = 6;

export interface RiotFunction {
  name: string;
  flags: number;
  /** Bytes into text. */
  offset: number;
  /**
   * Where the name sits in rodata, when known (set by parseImage). buildImage reuses it instead of
   * appending the name again, so that build(parse(bytes)) gives the same bytes back.
   */
  nameOffset?: number;
}

export interface RiotImage {
  flags: number;
  data: Uint8Array;
  /** As stored in the image: for a built or parsed image this includes the function names. */
  rodata: Uint8Array;
  text: Uint8Array;
  functions: RiotFunction[];
}

export interface ImageParts {
  data?: Uint8Array;
  rodata?: Uint8Array;
  text: Uint8Array;
  functions?: { name: string; offset: number; flags?: number; nameOffset?: number }[];
  /** Header flags: 0 (default) or FLAG_NO_RETURN (a parsed image's flags round-trip). */
  flags?: number;
}

/** True when the bytes start with the "rBPF" magic (says nothing about validity). */
export function isImage(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x72 && bytes[1] === 0x42 && bytes[2] === 0x50 && bytes[3] === 0x46;
}

function fail(reason: string, field: string, offset: number): never {
  throw new FormatError('image', reason, { field, offset });
}

function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

/** Parse and validate a RIOT image. Throws only FormatError('image', …). */
export function parseImage(bytes: Uint8Array): RiotImage {
  if (!(bytes instanceof Uint8Array)) fail('expected a Uint8Array', 'header', 0);
  const len = bytes.length;
  if (len < HEADER_SIZE) fail(`truncated: ${len} bytes, the header alone needs ${HEADER_SIZE}`, 'header', 0);
  const magic = u32(bytes, 0);
  if (magic !== RIOT_MAGIC) {
    fail(`bad magic 0x${hex32(magic)} (bytes ${hexBytes(bytes, 0, 4)}), expected "rBPF" (72 42 50 46)`, 'magic', 0);
  }
  const version = u32(bytes, 4);
  if (version !== RIOT_VERSION) fail(`unsupported version ${version}, expected ${RIOT_VERSION}`, 'version', 4);
  const flags = u32(bytes, 8);
  if (flags & FLAG_COMPRESSED) {
    fail('compressed text (flag bit 0) is not executable; convert the image without compression', 'flags', 8);
  }
  if ((flags & ~FLAG_NO_RETURN) !== 0) fail(`unknown flag bits 0x${hex32(flags & ~FLAG_NO_RETURN)}`, 'flags', 8);

  const dataLen = u32(bytes, 12);
  const rodataLen = u32(bytes, 16);
  const textLen = u32(bytes, 20);
  const nfuncs = u32(bytes, 24);

  // Each length is checked against what remains, so the sums never exceed the buffer length.
  let pos = HEADER_SIZE;
  if (dataLen > len - pos) fail(`data_len ${dataLen} exceeds the ${len - pos} bytes after the header`, 'data_len', 12);
  const dataStart = pos;
  pos += dataLen;
  if (rodataLen > len - pos) fail(`rodata_len ${rodataLen} exceeds the ${len - pos} bytes left after .data`, 'rodata_len', 16);
  const rodataStart = pos;
  pos += rodataLen;
  if (textLen === 0) fail('text_len is 0: an image needs at least one instruction', 'text_len', 20);
  if (textLen % INSN_SIZE !== 0) fail(`text_len ${textLen} is not a multiple of ${INSN_SIZE}`, 'text_len', 20);
  if (textLen > len - pos) fail(`text_len ${textLen} exceeds the ${len - pos} bytes left after .rodata`, 'text_len', 20);
  const textStart = pos;
  pos += textLen;
  const tableLen = len - pos;
  if (nfuncs * FUNCTION_ENTRY_SIZE !== tableLen) {
    const want = nfuncs * FUNCTION_ENTRY_SIZE;
    fail(
      want > tableLen
        ? `${nfuncs} functions need ${want} bytes but only ${tableLen} remain (truncated image)`
        : `${nfuncs} functions take ${want} bytes but ${tableLen} remain: ${tableLen - want} trailing bytes`,
      'functions',
      24,
    );
  }

  const functions: RiotFunction[] = [];
  for (let i = 0; i < nfuncs; i++) {
    const e = pos + i * FUNCTION_ENTRY_SIZE;
    const nameOffset = u16(bytes, e);
    const fflags = u16(bytes, e + 2);
    const loc = u16(bytes, e + 4);
    if (nameOffset >= rodataLen) {
      fail(`name_offset ${nameOffset} is outside rodata (${rodataLen} bytes)`, `functions[${i}].name_offset`, e);
    }
    let name = '';
    let end = -1;
    for (let k = rodataStart + nameOffset; k < rodataStart + rodataLen; k++) {
      const c = bytes[k];
      if (c === 0) {
        end = k;
        break;
      }
      if (c >= 0x80) fail(`name at rodata+${nameOffset} is not ASCII (byte 0x${c.toString(16)})`, `functions[${i}].name_offset`, e);
      name += String.fromCharCode(c);
    }
    if (end < 0) fail(`name at rodata+${nameOffset} is not NUL-terminated inside rodata`, `functions[${i}].name_offset`, e);
    if (end === rodataStart + nameOffset) fail(`name at rodata+${nameOffset} is empty`, `functions[${i}].name_offset`, e);
    if (loc >= textLen) {
      fail(`location_offset ${loc} is outside text (${textLen} bytes)`, `functions[${i}].location_offset`, e + 4);
    }
    if (loc % INSN_SIZE !== 0) {
      fail(`location_offset ${loc} is not on an instruction boundary (multiple of 8)`, `functions[${i}].location_offset`, e + 4);
    }
    functions.push({ name, flags: fflags, offset: loc, nameOffset });
  }

  return {
    flags,
    data: bytes.slice(dataStart, dataStart + dataLen),
    rodata: bytes.slice(rodataStart, rodataStart + rodataLen),
    text: bytes.slice(textStart, textStart + textLen),
    functions,
  };
}

/**
 * Build image bytes the way RIOT's converter does: .data padded to 8; each exported name appended
 * NUL-terminated right after .rodata (no padding in between), then rodata padded to 8 and counted
 * in rodata_len; header flags 0 (or FLAG_NO_RETURN on request). Throws FormatError('image') for parts that cannot form a valid
 * image (empty or unaligned text, names or offsets that do not fit the u16 table fields).
 */
export function buildImage(parts: ImageParts): Uint8Array {
  const text = parts.text;
  if (!(text instanceof Uint8Array) || text.length === 0) fail('text is empty: an image needs at least one instruction', 'text_len', 20);
  if (text.length % INSN_SIZE !== 0) fail(`text length ${text.length} is not a multiple of ${INSN_SIZE}`, 'text_len', 20);
  const flags = parts.flags ?? 0;
  if (flags !== 0 && flags !== FLAG_NO_RETURN) fail(`header flags 0x${hex32(flags)}: only the "no return" flag 0x0100 can be set`, 'flags', 8);
  const data = pad8(parts.data ?? new Uint8Array(0));
  const rodataIn = parts.rodata ?? new Uint8Array(0);
  const funcs = parts.functions ?? [];
  if (funcs.length > 0xffffffff) fail('too many functions', 'functions', 24);

  const names: number[] = [];
  const table = new Uint8Array(funcs.length * FUNCTION_ENTRY_SIZE);
  for (let i = 0; i < funcs.length; i++) {
    const f = funcs[i];
    const field = `functions[${i}]`;
    if (typeof f.name !== 'string' || f.name.length === 0) fail('function name is empty', `${field}.name`, 0);
    for (let k = 0; k < f.name.length; k++) {
      const c = f.name.charCodeAt(k);
      if (c === 0 || c >= 0x80) fail(`function name ${JSON.stringify(f.name)} must be ASCII without NUL`, `${field}.name`, 0);
    }
    let nameOffset: number;
    if (f.nameOffset !== undefined && hasNameAt(rodataIn, f.nameOffset, f.name)) {
      nameOffset = f.nameOffset;
    } else {
      nameOffset = rodataIn.length + names.length;
      for (let k = 0; k < f.name.length; k++) names.push(f.name.charCodeAt(k));
      names.push(0);
    }
    if (nameOffset > 0xffff) fail(`name offset ${nameOffset} of "${f.name}" does not fit the u16 name_offset`, `${field}.name_offset`, 0);
    const loc = f.offset;
    if (!Number.isInteger(loc) || loc < 0 || loc >= text.length || loc % INSN_SIZE !== 0) {
      fail(`offset ${loc} of "${f.name}" is not an instruction boundary inside text (${text.length} bytes)`, `${field}.location_offset`, 0);
    }
    if (loc > 0xffff) fail(`offset ${loc} of "${f.name}" does not fit the u16 location_offset`, `${field}.location_offset`, 0);
    const fflags = f.flags ?? 0;
    if (!Number.isInteger(fflags) || fflags < 0 || fflags > 0xffff) fail(`flags ${fflags} of "${f.name}" do not fit u16`, `${field}.flags`, 0);
    const e = i * FUNCTION_ENTRY_SIZE;
    table[e] = nameOffset & 0xff;
    table[e + 1] = nameOffset >>> 8;
    table[e + 2] = fflags & 0xff;
    table[e + 3] = fflags >>> 8;
    table[e + 4] = loc & 0xff;
    table[e + 5] = loc >>> 8;
  }
  const rodata = pad8(concat(rodataIn, Uint8Array.from(names)));

  const total = HEADER_SIZE + data.length + rodata.length + text.length + table.length;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, RIOT_MAGIC, true);
  dv.setUint32(4, RIOT_VERSION, true);
  dv.setUint32(8, flags, true);
  dv.setUint32(12, data.length, true);
  dv.setUint32(16, rodata.length, true);
  dv.setUint32(20, text.length, true);
  dv.setUint32(24, funcs.length, true);
  let o = HEADER_SIZE;
  out.set(data, o);
  o += data.length;
  out.set(rodata, o);
  o += rodata.length;
  out.set(text, o);
  o += text.length;
  out.set(table, o);
  return out;
}

/**
 * Byte offset into text where a run starts. Without a name: 0, as RIOT (which ignores the function
 * table and starts at the first instruction). With a name: that exported function, or a
 * FormatError listing what the image exports.
 */
export function entryOffset(img: RiotImage, name?: string): number {
  if (name === undefined) return 0;
  const f = img.functions.find((fn) => fn.name === name);
  if (!f) {
    const avail = img.functions.map((fn) => fn.name);
    throw new FormatError(
      'image',
      `no exported function "${name}"; available: ${avail.length ? avail.join(', ') : '(none: the image exports no function, it starts at offset 0)'}`,
      { field: 'functions' },
    );
  }
  return f.offset;
}

function hasNameAt(rodata: Uint8Array, off: number, name: string): boolean {
  if (!Number.isInteger(off) || off < 0 || off + name.length >= rodata.length) return false;
  for (let k = 0; k < name.length; k++) if (rodata[off + k] !== name.charCodeAt(k)) return false;
  return rodata[off + name.length] === 0;
}

function pad8(b: Uint8Array): Uint8Array {
  const rem = b.length % 8;
  if (rem === 0) return b;
  const out = new Uint8Array(b.length + 8 - rem);
  out.set(b);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function hex32(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}

function hexBytes(b: Uint8Array, start: number, n: number): string {
  const parts: string[] = [];
  for (let i = start; i < start + n && i < b.length; i++) parts.push(b[i].toString(16).padStart(2, '0'));
  return parts.join(' ');
}
