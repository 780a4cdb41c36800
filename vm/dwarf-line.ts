/**
 * A reader of DWARF line programs (`.debug_line`, DWARF 2–5) as clang writes them for BPF
 * objects: the rows "address → file, line" of every sequence, so that a pc of a built image can
 * be named by the C line it came from (vm/source-map.ts). Own code, no dependencies: the VM also
 * runs in a browser.
 *
 * What it knows: 32- and 64-bit DWARF units; the v2–v4 header (include_directories and
 * file_names as NUL-terminated strings) and the v5 header (entry formats, with paths as
 * DW_FORM_string, DW_FORM_line_strp into `.debug_line_str` or DW_FORM_strp into `.debug_str`);
 * every standard and extended opcode (unknown ones skipped by their declared lengths).
 *
 * Addresses: in a relocatable object DW_LNE_set_address holds an offset into a code section and
 * a relocation (R_BPF_64_ABS64 in `.rel.debug_line`, against that section's symbol, the addend
 * in place) says which section. The caller passes `resolveAddress(offset in .debug_line, stored
 * value)`, which turns that into a byte offset of the merged text (or undefined when the section
 * is not in the image: the sequence is then dropped).
 *
 * Robustness: every read is bounds-checked and throws DwarfError; the caller decides what a
 * program without usable line information means (vm/elf: no source map, never a refused object).
 */

export class DwarfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DwarfError';
  }
}

export interface LineFile {
  /** The name as the compiler recorded it (relative to its directory, or absolute). */
  name: string;
  /** Its directory entry (absolute, or relative to the compilation folder), '' when none. */
  dir: string;
  /** True when `dir` is the compilation folder itself (directory 0). */
  inCompDir: boolean;
}

export interface LineRow {
  /** Byte offset in the merged text. */
  address: number;
  file: number;
  line: number;
  /** Last row of a sequence: its address is one past the sequence's last instruction. */
  end: boolean;
}

export interface LineTable {
  version: number;
  /** The compilation folder when the unit names it (DWARF 5's directory 0). */
  compDir?: string;
  /** Indexed by the row's `file` (0-based in DWARF 5, 1-based before: entry 0 is then unused). */
  files: (LineFile | undefined)[];
  /** Rows in program order, sequence after sequence, ends included. */
  rows: LineRow[];
}

export interface LineSections {
  debugLine: Uint8Array;
  debugLineStr?: Uint8Array;
  debugStr?: Uint8Array;
  /**
   * The text offset a DW_LNE_set_address operand (at `at` in .debug_line, holding `value`)
   * stands for; undefined when it points outside the image. Default: the value itself.
   */
  resolveAddress?: (at: number, value: number) => number | undefined;
}

// Forms used in DWARF 5 entry formats.
const FORM = {
  block2: 0x03, block4: 0x04, data2: 0x05, data4: 0x06, data8: 0x07, string: 0x08, block: 0x09,
  block1: 0x0a, data1: 0x0b, sdata: 0x0d, strp: 0x0e, udata: 0x0f, data16: 0x1e, line_strp: 0x1f,
  strx: 0x1a, strx1: 0x25, strx2: 0x26, strx3: 0x27, strx4: 0x28,
} as const;
const LNCT_PATH = 1;
const LNCT_DIRECTORY_INDEX = 2;

/** Cap on rows per unit: a BPF program has at most 65,536 slots; this keeps garbage bounded. */
const MAX_ROWS = 1 << 20;

class Cursor {
  constructor(readonly b: Uint8Array, public pos: number, public end: number) {}
  need(n: number): void {
    if (this.pos + n > this.end) throw new DwarfError(`truncated line program: ${n} bytes at ${this.pos} are past ${this.end}`);
  }
  u8(): number {
    this.need(1);
    return this.b[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = this.b[this.pos] | (this.b[this.pos + 1] << 8);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const b = this.b;
    const p = this.pos;
    this.pos += 4;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  }
  /** A 64-bit field that must fit a safe integer. */
  u64(): number {
    const lo = this.u32();
    const hi = this.u32();
    if (hi > 0x1fffff) throw new DwarfError(`64-bit value at ${this.pos - 8} is out of range`);
    return hi * 0x100000000 + lo;
  }
  uleb(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; ; i++) {
      const byte = this.u8();
      if (i < 8) v += (byte & 0x7f) * mul;
      mul *= 128;
      if (!(byte & 0x80)) return v;
      if (i > 16) throw new DwarfError(`LEB128 at ${this.pos} is too long`);
    }
  }
  sleb(): number {
    let v = 0;
    let mul = 1;
    let byte = 0;
    for (let i = 0; ; i++) {
      byte = this.u8();
      if (i < 8) v += (byte & 0x7f) * mul;
      mul *= 128;
      if (!(byte & 0x80)) break;
      if (i > 16) throw new DwarfError(`LEB128 at ${this.pos} is too long`);
    }
    return byte & 0x40 ? v - mul : v;
  }
  cstr(): string {
    const from = this.pos;
    for (;;) {
      if (this.u8() === 0) return UTF8.decode(this.b.subarray(from, this.pos - 1));
      if (this.pos - from > 4096) throw new DwarfError('string longer than 4096 bytes');
    }
  }
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
}

/** File names may hold any UTF-8 (a bad sequence becomes U+FFFD, never an exception). */
const UTF8 = new TextDecoder('utf-8');

function strAt(sec: Uint8Array | undefined, off: number, what: string): string {
  if (!sec || off >= sec.length) throw new DwarfError(`${what} offset ${off} is outside the string section`);
  return new Cursor(sec, off, sec.length).cstr();
}

/** Read every unit of a `.debug_line` section. */
export function readLineTables(s: LineSections): LineTable[] {
  const out: LineTable[] = [];
  let pos = 0;
  while (pos < s.debugLine.length) {
    const t = readUnit(s, pos);
    out.push(t.table);
    pos = t.next;
  }
  return out;
}

function readUnit(s: LineSections, start: number): { table: LineTable; next: number } {
  const b = s.debugLine;
  const c = new Cursor(b, start, b.length);
  let unitLength = c.u32();
  let offsetSize = 4;
  if (unitLength === 0xffffffff) {
    unitLength = c.u64();
    offsetSize = 8;
  } else if (unitLength >= 0xfffffff0) throw new DwarfError(`reserved unit length 0x${unitLength.toString(16)}`);
  const end = c.pos + unitLength;
  if (end > b.length) throw new DwarfError(`line unit at ${start} (${unitLength} bytes) runs past the section`);
  c.end = end;
  const version = c.u16();
  if (version < 2 || version > 5) throw new DwarfError(`DWARF line table version ${version} is not 2 to 5`);
  let addressSize = 8;
  if (version >= 5) {
    addressSize = c.u8();
    c.u8(); // segment_selector_size
  }
  const headerLength = offsetSize === 8 ? c.u64() : c.u32();
  const programStart = c.pos + headerLength;
  if (programStart > end) throw new DwarfError('line table header runs past its unit');
  const minInst = c.u8();
  if (version >= 4) c.u8(); // maximum_operations_per_instruction (VLIW only)
  const defaultIsStmt = c.u8();
  void defaultIsStmt;
  const lineBase = (c.u8() << 24) >> 24;
  const lineRange = c.u8();
  const opcodeBase = c.u8();
  if (lineRange === 0) throw new DwarfError('line_range is 0');
  const stdLengths: number[] = [0];
  for (let i = 1; i < opcodeBase; i++) stdLengths.push(c.u8());

  const table: LineTable = { version, files: [], rows: [] };
  if (version >= 5) {
    const dirs = entries(c, s, offsetSize).map((e) => e.path);
    table.compDir = dirs[0];
    table.files = entries(c, s, offsetSize).map((e) => ({ name: e.path, dir: dirs[e.dir] ?? '', inCompDir: e.dir === 0 }));
  } else {
    const dirs: string[] = [''];
    for (let d = c.cstr(); d !== ''; d = c.cstr()) dirs.push(d);
    table.files.push(undefined);
    for (let f = c.cstr(); f !== ''; f = c.cstr()) {
      const dir = c.uleb();
      c.uleb(); // mtime
      c.uleb(); // length
      table.files.push({ name: f, dir: dirs[dir] ?? '', inCompDir: dir === 0 });
    }
  }

  // The line-number program.
  c.pos = programStart;
  const resolve = s.resolveAddress ?? ((_at: number, v: number) => v);
  let address: number | undefined = 0;
  let file = 1;
  let line = 1;
  const reset = (): void => {
    address = 0;
    file = 1;
    line = 1;
  };
  const emit = (isEnd: boolean): void => {
    if (table.rows.length >= MAX_ROWS) throw new DwarfError(`more than ${MAX_ROWS} rows in one line table`);
    if (address !== undefined) table.rows.push({ address, file, line, end: isEnd });
  };
  const advance = (n: number): void => {
    if (address !== undefined) address += n * minInst;
  };
  while (c.pos < end) {
    const op = c.u8();
    if (op >= opcodeBase) {
      const adj = op - opcodeBase;
      advance(Math.floor(adj / lineRange));
      line += lineBase + (adj % lineRange);
      emit(false);
      continue;
    }
    switch (op) {
      case 0: {
        const len = c.uleb();
        const after = c.pos + len;
        if (len === 0 || after > end) throw new DwarfError(`extended opcode of length ${len} at ${c.pos}`);
        const sub = c.u8();
        if (sub === 1) {
          emit(true);
          reset();
        } else if (sub === 2) {
          const at = c.pos;
          const value = addressSize === 8 && len - 1 === 8 ? c.u64() : len - 1 === 4 ? c.u32() : NaN;
          if (Number.isNaN(value)) throw new DwarfError(`DW_LNE_set_address with a ${len - 1}-byte address`);
          address = resolve(at, value);
        } else if (sub === 3) {
          const name = c.cstr();
          const dir = c.uleb();
          table.files.push({ name, dir: '', inCompDir: dir === 0 });
        }
        c.pos = after;
        break;
      }
      case 1: // copy
        emit(false);
        break;
      case 2: // advance_pc
        advance(c.uleb());
        break;
      case 3: // advance_line
        line += c.sleb();
        break;
      case 4: // set_file
        file = c.uleb();
        break;
      case 8: // const_add_pc
        advance(Math.floor((255 - opcodeBase) / lineRange));
        break;
      case 9: // fixed_advance_pc: a plain byte count
        if (address !== undefined) address += c.u16();
        else c.u16();
        break;
      default:
        // set_column, negate_stmt, basic_block, prologue_end, epilogue_begin, set_isa and any
        // opcode this reader does not know: skip their operands as the header declares them.
        for (let k = 0; k < (stdLengths[op] ?? 0); k++) c.uleb();
    }
  }
  return { table, next: end };
}

/** DWARF 5 directory or file entries: their path and directory index. */
function entries(c: Cursor, s: LineSections, offsetSize: number): { path: string; dir: number }[] {
  const formatCount = c.u8();
  const formats: [number, number][] = [];
  for (let i = 0; i < formatCount; i++) formats.push([c.uleb(), c.uleb()]);
  const count = c.uleb();
  if (count > 65_536) throw new DwarfError(`${count} entries in a line table header`);
  const out: { path: string; dir: number }[] = [];
  for (let i = 0; i < count; i++) {
    let p = '';
    let dir = 0;
    for (const [content, form] of formats) {
      const v = formValue(c, s, form, offsetSize);
      if (content === LNCT_PATH && typeof v === 'string') p = v;
      if (content === LNCT_DIRECTORY_INDEX && typeof v === 'number') dir = v;
    }
    out.push({ path: p, dir });
  }
  return out;
}

function formValue(c: Cursor, s: LineSections, form: number, offsetSize: number): string | number | undefined {
  const offset = (): number => (offsetSize === 8 ? c.u64() : c.u32());
  switch (form) {
    case FORM.string: return c.cstr();
    case FORM.line_strp: return strAt(s.debugLineStr, offset(), 'DW_FORM_line_strp');
    case FORM.strp: return strAt(s.debugStr, offset(), 'DW_FORM_strp');
    case FORM.udata: return c.uleb();
    case FORM.sdata: return c.sleb();
    case FORM.data1: return c.u8();
    case FORM.data2: return c.u16();
    case FORM.data4: return c.u32();
    case FORM.data8: c.skip(8); return undefined;
    case FORM.data16: c.skip(16); return undefined;
    case FORM.block: c.skip(c.uleb()); return undefined;
    case FORM.block1: c.skip(c.u8()); return undefined;
    case FORM.block2: c.skip(c.u16()); return undefined;
    case FORM.block4: c.skip(c.u32()); return undefined;
    // String indexes need .debug_str_offsets and the unit's base: not produced by clang for
    // line tables; the name is left unknown rather than guessed.
    case FORM.strx: c.uleb(); return undefined;
    case FORM.strx1: c.skip(1); return undefined;
    case FORM.strx2: c.skip(2); return undefined;
    case FORM.strx3: c.skip(3); return undefined;
    case FORM.strx4: c.skip(4); return undefined;
    default:
      throw new DwarfError(`form 0x${form.toString(16)} in a line table header is not supported`);
  }
}
