/**
 * Loader for eBPF ELF64 little-endian relocatable objects (`clang -target bpf -O2 -c`, EM_BPF
 * = 247) into a RIOT image (ARCHITECTURE.md § Image format): a small static linker for one
 * object file.
 *
 * What it does, beyond RIOT's converter (which only knows `.text`, `.data`, `.rodata`):
 * - text = every executable section, `.text` first, then the others in section-header order;
 * - rodata = every read-only allocated section (`.rodata`, `.rodata.str1.1`, `.rodata.cst*`, …);
 *   data = every writable allocated section (`.data*`), then the zero-filled NOBITS ones (`.bss*`);
 *   each placed at its own alignment;
 * - wide loads (0x18) relocated with R_BPF_64_64 against something in data become RIOT's 0xB8,
 *   against rodata 0xD8, with imm = offset in the merged section (symbol value + section base +
 *   the addend the compiler left in imm), as RIOT's converter does for its three sections;
 * - program-local calls (0x85, src=1) relocated with R_BPF_64_32 get the relative imm of the
 *   merged text (target slot − pc − 1); LLVM encodes the target as (S + A) / 8 − 1 with the
 *   addend A implicit in imm, so the target's byte offset in its section is S + (imm + 1) × 8;
 * - global functions (STT_FUNC, STB_GLOBAL) are exported to the function table.
 *
 * What it refuses, with a FormatError('elf') naming the relocation type, the symbol and the
 * section + offset: undefined (external) symbols, maps, the address of a function or of a
 * non-loaded section, pointers stored in initialised data (R_BPF_64_ABS64/ABS32 in .data or
 * .rodata: the VM address of a section is not known when the image is built), relocations that
 * do not sit on the instruction kind they belong to, unknown relocation types. Relocations inside
 * sections that are not loaded (.BTF, .BTF.ext, debug info) are ignored with those sections.
 *
 * Metadata that is never part of an image — unwind tables (`.eh_frame`, which LLVM marks
 * allocated: RIOT's own build, host-clang IR through `llc -march=bpf`, emits it with an
 * R_BPF_64_ABS64 against .text), debug info, BTF, address-significance tables, notes, comments —
 * is ignored by name whatever its flags (isMetadataSection), with its relocations, so that such an
 * object builds the very image the same object stripped of those sections builds; RIOT's
 * converter does the same (it only reads .text, .data and .rodata).
 *
 * Robustness: every read is bounds-checked, every loop is bounded by a count already checked
 * against the buffer length, and sizes are capped before anything is allocated, so garbage or
 * truncated input gives a FormatError and nothing else.
 */
import { FormatError } from './errors';
import { CALL_LOCAL, OP, INSN_SIZE } from './opcodes';
import type { RiotImage } from './image';
import { sourceMapFromDwarf, type SourceMap } from './source-map';

export const EM_BPF = 247;
const ET_REL = 1;

// Section types and flags.
const SHT_NULL = 0;
const SHT_PROGBITS = 1;
const SHT_SYMTAB = 2;
const SHT_RELA = 4;
const SHT_NOBITS = 8;
const SHT_REL = 9;
const SHF_WRITE = 0x1;
const SHF_ALLOC = 0x2;
const SHF_EXECINSTR = 0x4;

// Special section indexes.
const SHN_UNDEF = 0;
const SHN_LORESERVE = 0xff00;
const SHN_ABS = 0xfff1;
const SHN_COMMON = 0xfff2;
const SHN_XINDEX = 0xffff;

// Symbol types and bindings.
const STT_FUNC = 2;
const STT_SECTION = 3;
const STB_GLOBAL = 1;

/** LLVM's BPF relocation types (Linux Documentation/bpf/llvm_reloc.rst). */
export const R_BPF = {
  NONE: 0,
  /** ld_imm64 (0x18): S + A, A implicit in the instruction's imm. */
  R_64_64: 1,
  /** 64-bit data word: S + A. */
  ABS64: 2,
  /** 32-bit data word: S + A. */
  ABS32: 3,
  /** .BTF / .BTF.ext data, no dynamic linking. */
  NODYLD32: 4,
  /** call (0x85): (S + A) / 8 − 1, A implicit in imm. */
  R_64_32: 10,
} as const;

const RELOC_NAMES: Record<number, string> = {
  0: 'R_BPF_NONE',
  1: 'R_BPF_64_64',
  2: 'R_BPF_64_ABS64',
  3: 'R_BPF_64_ABS32',
  4: 'R_BPF_64_NODYLD32',
  10: 'R_BPF_64_32',
};

export function relocationName(type: number): string {
  return RELOC_NAMES[type] ?? `unknown relocation type ${type}`;
}

/**
 * Sections that describe the code rather than belong to it: never loaded, whatever their flags.
 * `.eh_frame` is SHF_ALLOC in LLVM's output (a host toolchain would map it), but nothing in a
 * femto-container reads unwind tables.
 */
const METADATA_SECTION =
  /^(?:\.eh_frame(?:_hdr)?|\.gcc_except_table|\.debug_.*|\.zdebug_.*|\.BTF(?:\..*)?|\.llvm_addrsig|\.llvm\..*|\.comment|\.note(?:\..*)?|\.stack_sizes|\.ARM\.(?:exidx|extab).*)$/;

/** True for unwind, debug and other metadata sections that an image never holds. */
export function isMetadataSection(name: string): boolean {
  return METADATA_SECTION.test(name);
}

/** Largest merged section we accept: far beyond any microcontroller, small enough to allocate. */
const MAX_SECTION_BYTES = 16 * 1024 * 1024;

export type ElfRegion = 'text' | 'data' | 'rodata';

export interface ElfSymbol {
  name: string;
  region: ElfRegion;
  /** Byte offset in the merged region. */
  offset: number;
  size: number;
  kind: 'func' | 'object' | 'section' | 'other';
  global: boolean;
  section: string;
}

export interface ElfRelocation {
  type: number;
  typeName: string;
  /** Symbol name (section name for section symbols). */
  symbol: string;
  /** Code section holding the instruction and the instruction's byte offset in it. */
  section: string;
  sectionOffset: number;
  /** Byte offset of the instruction in the merged text. */
  textOffset: number;
  /** What the relocated instruction now refers to. */
  target: ElfRegion;
  /** Wide loads: the imm64 written (offset in data/rodata); calls: target byte offset in text. */
  value: number;
}

export interface ElfSection {
  name: string;
  region: ElfRegion;
  /** Where the section landed in its merged region. */
  base: number;
  size: number;
}

export interface ElfLoad {
  /** Unpadded merged sections; buildImage(image) pads and appends the names, as RIOT does. */
  image: RiotImage;
  symbols: ElfSymbol[];
  relocations: ElfRelocation[];
  sections: ElfSection[];
  /** Objects built with -g: file and line of every slot of the merged text (vm/source-map). */
  sourceMap?: SourceMap;
  /** Why the object's line information could not be read (the image is built all the same). */
  sourceMapError?: string;
}

/** True when the bytes start with the ELF magic (says nothing about the kind of ELF). */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

/** Load an eBPF object into a RIOT image (sections merged, relocations applied). */
export function elfToImage(bytes: Uint8Array): RiotImage {
  return loadElf(bytes).image;
}

interface Shdr {
  index: number;
  name: string;
  type: number;
  flags: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  align: number;
  entsize: number;
}

interface Sym {
  index: number;
  name: string;
  type: number;
  bind: number;
  shndx: number;
  value: number;
  size: number;
}

interface Placement {
  region: ElfRegion;
  base: number;
}

function fail(reason: string, field?: string, offset?: number): never {
  const where: { field?: string; offset?: number } = {};
  if (field !== undefined) where.field = field;
  if (offset !== undefined) where.offset = offset;
  throw new FormatError('elf', reason, where);
}

const hex = (v: number): string => '0x' + v.toString(16);

class Reader {
  constructor(readonly b: Uint8Array) {}
  need(off: number, n: number, field: string): void {
    if (off < 0 || n < 0 || off + n > this.b.length) {
      fail(`truncated: ${n} bytes at offset ${off} are past the end of the file (${this.b.length} bytes)`, field, off);
    }
  }
  u8(off: number, field: string): number {
    this.need(off, 1, field);
    return this.b[off];
  }
  u16(off: number, field: string): number {
    this.need(off, 2, field);
    return this.b[off] | (this.b[off + 1] << 8);
  }
  u32(off: number, field: string): number {
    this.need(off, 4, field);
    const b = this.b;
    return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
  }
  i32(off: number, field: string): number {
    return this.u32(off, field) | 0;
  }
  /** An unsigned 64-bit field that must fit a safe JS number (offsets, sizes in a small file). */
  u64(off: number, field: string): number {
    const lo = this.u32(off, field);
    const hi = this.u32(off + 4, field);
    if (hi > 0x1fffff) fail(`value 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} is out of range`, field, off);
    return hi * 0x100000000 + lo;
  }
  /** NUL-terminated string starting at `off`, not beyond `end`. */
  cstr(off: number, end: number, field: string): string {
    if (off < 0 || off >= end || end > this.b.length) fail(`string offset ${off} is outside its string table`, field, off);
    let s = '';
    for (let k = off; k < end; k++) {
      const c = this.b[k];
      if (c === 0) return s;
      if (s.length >= 4096) fail('string is longer than 4096 bytes', field, off);
      s += String.fromCharCode(c);
    }
    return fail('string is not NUL-terminated inside its string table', field, off);
  }
}

/** Full load: image plus the symbol, section and relocation information (for tools and tests). */
export function loadElf(bytes: Uint8Array): ElfLoad {
  if (!(bytes instanceof Uint8Array)) fail('expected a Uint8Array');
  const r = new Reader(bytes);
  if (bytes.length < 64) fail(`truncated: ${bytes.length} bytes, an ELF64 header needs 64`, 'e_ident', 0);
  if (!isElf(bytes)) fail('not an ELF file (magic is not 7f 45 4c 46)', 'e_ident', 0);
  if (bytes[4] !== 2) fail(`ELF class ${bytes[4]} is not ELFCLASS64 (2): compile with clang -target bpf`, 'EI_CLASS', 4);
  if (bytes[5] !== 1) fail(`ELF data encoding ${bytes[5]} is not little-endian (1): use -target bpf or bpfel, not bpfeb`, 'EI_DATA', 5);
  if (bytes[6] !== 1) fail(`ELF version ${bytes[6]} is not 1`, 'EI_VERSION', 6);
  const eType = r.u16(16, 'e_type');
  const eMachine = r.u16(18, 'e_machine');
  if (eMachine !== EM_BPF) fail(`e_machine ${eMachine} is not EM_BPF (247): compile with clang -target bpf`, 'e_machine', 18);
  if (eType !== ET_REL) fail(`e_type ${eType} is not a relocatable object (ET_REL = 1): pass the output of clang -c`, 'e_type', 16);
  const shoff = r.u64(40, 'e_shoff');
  const shentsize = r.u16(58, 'e_shentsize');
  const shnum = r.u16(60, 'e_shnum');
  const shstrndx = r.u16(62, 'e_shstrndx');
  if (shnum === 0) fail('no section headers (e_shnum 0; extended numbering is not supported)', 'e_shnum', 60);
  if (shentsize !== 64) fail(`e_shentsize ${shentsize} is not 64`, 'e_shentsize', 58);
  if (shoff + shnum * 64 > bytes.length) {
    fail(`section header table (${shnum} × 64 bytes at ${shoff}) runs past the end of the file (${bytes.length} bytes)`, 'e_shoff', 40);
  }
  if (shstrndx === SHN_XINDEX || shstrndx >= shnum) fail(`e_shstrndx ${shstrndx} is not a section index`, 'e_shstrndx', 62);

  // Section headers, raw first (names need the section-name string table).
  const raw: Omit<Shdr, 'name'>[] = [];
  const nameOffs: number[] = [];
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * 64;
    const f = `section[${i}]`;
    nameOffs.push(r.u32(h, f));
    const type = r.u32(h + 4, f);
    const flags = r.u32(h + 8, f); // high half of sh_flags holds OS/processor bits we do not use
    const offset = r.u64(h + 24, f);
    const size = r.u64(h + 32, f);
    const link = r.u32(h + 40, f);
    const info = r.u32(h + 44, f);
    const align = r.u64(h + 48, f);
    const entsize = r.u64(h + 56, f);
    if (type !== SHT_NOBITS && type !== SHT_NULL && offset + size > bytes.length) {
      fail(`section ${i} (${size} bytes at ${offset}) runs past the end of the file (${bytes.length} bytes)`, f, h);
    }
    raw.push({ index: i, type, flags, offset, size, link, info, align, entsize });
  }
  const shstr = raw[shstrndx];
  if (shstr.type === SHT_NOBITS) fail('section-name string table has no contents', 'e_shstrndx', 62);
  const shdrs: Shdr[] = raw.map((s, i) => ({
    ...s,
    name: i === 0 && nameOffs[i] === 0 ? '' : r.cstr(shstr.offset + nameOffs[i], shstr.offset + shstr.size, `section[${i}].sh_name`),
  }));

  // Symbols.
  const symtabs = shdrs.filter((s) => s.type === SHT_SYMTAB);
  if (symtabs.length > 1) fail('more than one symbol table', symtabs[1].name, symtabs[1].offset);
  const syms: Sym[] = [];
  let symtabIndex = -1;
  if (symtabs.length === 1) {
    const st = symtabs[0];
    symtabIndex = st.index;
    if (st.entsize !== 24) fail(`symbol table entry size ${st.entsize} is not 24`, st.name, st.offset);
    if (st.link <= 0 || st.link >= shnum || shdrs[st.link].type === SHT_NOBITS) {
      fail(`symbol table links to section ${st.link}, not a string table`, st.name, st.offset);
    }
    const strtab = shdrs[st.link];
    const n = Math.floor(st.size / 24);
    for (let i = 0; i < n; i++) {
      const e = st.offset + i * 24;
      const f = `${st.name}[${i}]`;
      const nameOff = r.u32(e, f);
      const info = r.u8(e + 4, f);
      const shndx = r.u16(e + 6, f);
      const value = r.u64(e + 8, f);
      const size = r.u64(e + 16, f);
      let name = nameOff === 0 ? '' : r.cstr(strtab.offset + nameOff, strtab.offset + strtab.size, `${f}.st_name`);
      const type = info & 0xf;
      if (type === STT_SECTION && name === '' && shndx > 0 && shndx < shnum) name = shdrs[shndx].name;
      if (shndx === SHN_XINDEX) fail(`symbol "${name}" uses extended section indexes (not supported)`, f, e);
      syms.push({ index: i, name, type, bind: info >> 4, shndx, value, size });
    }
  }

  // Classify and place the loadable sections.
  const isMaps = (s: Shdr) => s.name === 'maps' || s.name === '.maps' || s.name.startsWith('maps/');
  const code: Shdr[] = [];
  const rodataSecs: Shdr[] = [];
  const dataSecs: Shdr[] = [];
  const bssSecs: Shdr[] = [];
  for (const s of shdrs) {
    if (!(s.flags & SHF_ALLOC)) continue; // .BTF, debug info, symbol tables: not part of the image
    if (isMetadataSection(s.name)) continue; // .eh_frame (allocated, but only unwind metadata)
    if (isMaps(s)) fail(`BPF maps (section "${s.name}") are not supported by femto-containers: use the key-value store helpers`, s.name, s.offset);
    if (s.type === SHT_NOBITS) {
      if (s.flags & SHF_EXECINSTR) fail('executable NOBITS section', s.name, s.offset);
      bssSecs.push(s);
    } else if (s.type !== SHT_PROGBITS) {
      continue; // e.g. SHT_LLVM_ADDRSIG; not loadable contents
    } else if (s.flags & SHF_EXECINSTR) {
      if (s.size % INSN_SIZE !== 0) fail(`code section size ${s.size} is not a multiple of ${INSN_SIZE}`, s.name, s.offset);
      code.push(s);
    } else if (s.flags & SHF_WRITE) {
      dataSecs.push(s);
    } else {
      rodataSecs.push(s);
    }
  }
  // `.text` first (RIOT starts at the first instruction), `.rodata`/`.data` first by habit.
  const first = (name: string) => (a: Shdr, b: Shdr) => (a.name === name ? 0 : 1) - (b.name === name ? 0 : 1) || a.index - b.index;
  code.sort(first('.text'));
  rodataSecs.sort(first('.rodata'));
  dataSecs.sort(first('.data'));

  const placement = new Map<number, Placement>();
  const sections: ElfSection[] = [];
  const lay = (secs: Shdr[], region: ElfRegion): number => {
    let size = 0;
    for (const s of secs) {
      const align = region === 'text' ? INSN_SIZE : Math.max(1, s.align);
      if (align & (align - 1) || align > 4096) fail(`section alignment ${s.align} is not a power of two up to 4096`, s.name, s.offset);
      size = Math.ceil(size / align) * align;
      placement.set(s.index, { region, base: size });
      sections.push({ name: s.name, region, base: size, size: s.size });
      size += s.size;
      if (size > MAX_SECTION_BYTES) fail(`${region} would be ${size} bytes, more than the ${MAX_SECTION_BYTES} a container may have`, s.name, s.offset);
    }
    return size;
  };
  const textLen = lay(code, 'text');
  const rodataLen = lay(rodataSecs, 'rodata');
  const dataLen = lay([...dataSecs, ...bssSecs], 'data');
  if (textLen === 0) fail('no code: the object has no executable section with instructions', '.text');

  const text = new Uint8Array(textLen);
  const rodata = new Uint8Array(rodataLen);
  const data = new Uint8Array(dataLen);
  const regionBytes = { text, rodata, data };
  for (const s of [...code, ...rodataSecs, ...dataSecs]) {
    const p = placement.get(s.index)!;
    regionBytes[p.region].set(bytes.subarray(s.offset, s.offset + s.size), p.base);
  }

  // Symbols that live in placed sections.
  const symbols: ElfSymbol[] = [];
  for (const s of syms) {
    if (s.shndx === SHN_UNDEF || s.shndx >= SHN_LORESERVE || s.shndx >= shnum) continue;
    const p = placement.get(s.shndx);
    if (!p) continue;
    const sec = shdrs[s.shndx];
    if (s.value > sec.size) fail(`symbol "${s.name}" value ${s.value} is beyond its section (${sec.size} bytes)`, sec.name, s.value);
    symbols.push({
      name: s.name,
      region: p.region,
      offset: p.base + s.value,
      size: s.size,
      kind: s.type === STT_FUNC ? 'func' : s.type === 1 ? 'object' : s.type === STT_SECTION ? 'section' : 'other',
      global: s.bind === STB_GLOBAL,
      section: sec.name,
    });
  }

  // Relocations.
  const relocations: ElfRelocation[] = [];
  const describeSym = (s: Sym): string => (s.type === STT_SECTION ? `section ${s.name}` : `symbol "${s.name}"`);
  for (const rs of shdrs) {
    if (rs.type !== SHT_REL && rs.type !== SHT_RELA) continue;
    const target = rs.info < shnum ? shdrs[rs.info] : undefined;
    if (!target || !placement.has(target.index)) continue; // relocations of non-loaded sections (.BTF.ext, debug)
    const tp = placement.get(target.index)!;
    if (rs.type === SHT_RELA) fail(`RELA relocations (${rs.name}) are not produced for BPF and are not supported`, rs.name, rs.offset);
    if (rs.entsize !== 16) fail(`relocation entry size ${rs.entsize} is not 16`, rs.name, rs.offset);
    if (rs.link !== symtabIndex) fail(`relocation section links to section ${rs.link}, not the symbol table`, rs.name, rs.offset);
    const n = Math.floor(rs.size / 16);
    for (let i = 0; i < n; i++) {
      const e = rs.offset + i * 16;
      const f = `${rs.name}[${i}]`;
      const rOff = r.u64(e, f);
      const type = r.u32(e + 8, f);
      const symIdx = r.u32(e + 12, f);
      const tname = relocationName(type);
      const at = `${target.name}+${hex(rOff)}`;
      if (type === R_BPF.NONE) continue;
      if (symIdx >= syms.length) fail(`${tname} at ${at}: symbol index ${symIdx} is outside the symbol table`, target.name, rOff);
      const sym = syms[symIdx];
      const what = `${tname} at ${at} against ${describeSym(sym)}`;
      if (tp.region !== 'text') {
        if (type === R_BPF.ABS64 || type === R_BPF.ABS32) {
          fail(`${what}: a pointer stored in initialised ${tp.region} needs the section's VM address, which a femto-container image cannot express; compute the pointer in code instead`, target.name, rOff);
        }
        fail(`${what}: unsupported relocation in a ${tp.region} section`, target.name, rOff);
      }
      if (type !== R_BPF.R_64_64 && type !== R_BPF.R_64_32) fail(`${what}: unsupported relocation type in code`, target.name, rOff);
      if (rOff % INSN_SIZE !== 0 || rOff + INSN_SIZE > target.size) {
        fail(`${what}: offset is not an instruction inside ${target.name} (${target.size} bytes)`, target.name, rOff);
      }
      // Where the symbol lives.
      if (sym.shndx === SHN_UNDEF) {
        fail(`${what}: undefined external symbol "${sym.name}"; a femto-container is one object file, calls to the host go through helper ids (femto.h)`, target.name, rOff);
      }
      if (sym.shndx === SHN_COMMON) fail(`${what}: common symbol "${sym.name}"; compile with -fno-common`, target.name, rOff);
      if (sym.shndx === SHN_ABS || sym.shndx >= SHN_LORESERVE || sym.shndx >= shnum) {
        fail(`${what}: symbol in special section ${hex(sym.shndx)} is not supported`, target.name, rOff);
      }
      const symSec = shdrs[sym.shndx];
      const sp = placement.get(sym.shndx);
      if (!sp) fail(`${what}: section "${symSec.name}" is not loaded into the image`, target.name, rOff);
      const pos = tp.base + rOff; // instruction byte offset in merged text
      const opcode = text[pos];
      const src = text[pos + 1] >> 4;
      const imm = readI32(text, pos + 4);

      if (type === R_BPF.R_64_64) {
        if (opcode !== OP.LDDW) fail(`${what}: instruction is opcode ${hex(opcode)}, not a wide load (0x18)`, target.name, rOff);
        if (rOff + 2 * INSN_SIZE > target.size) fail(`${what}: wide load is cut off by the end of the section`, target.name, rOff);
        if (src !== 0) fail(`${what}: wide load with src=${src} (a map or BTF reference) is not supported`, target.name, rOff);
        if (sp.region === 'text') {
          fail(`${what}: taking the address of code (function pointers) is not supported in a femto-container`, target.name, rOff);
        }
        const immHi = readI32(text, pos + 12);
        const addend = imm + immHi * 0x100000000;
        const value = sp.base + sym.value + addend;
        const regionLen = sp.region === 'data' ? dataLen : rodataLen;
        if (value < 0 || value > regionLen) {
          fail(`${what}: resolves to offset ${value}, outside ${sp.region} (${regionLen} bytes)`, target.name, rOff);
        }
        text[pos] = sp.region === 'data' ? OP.LDDWD : OP.LDDWR;
        writeI32(text, pos + 4, value);
        writeI32(text, pos + 12, 0);
        relocations.push({ type, typeName: tname, symbol: sym.name, section: target.name, sectionOffset: rOff, textOffset: pos, target: sp.region, value });
      } else {
        if (opcode !== OP.CALL || src !== CALL_LOCAL) {
          fail(`${what}: instruction is ${hex(opcode)} src=${src}, not a program-local call (0x85 src=1)`, target.name, rOff);
        }
        if (sp.region !== 'text') fail(`${what}: call target is in ${sp.region}, not code`, target.name, rOff);
        const targetInSec = sym.value + (imm + 1) * INSN_SIZE;
        if (targetInSec < 0 || targetInSec >= symSec.size || targetInSec % INSN_SIZE !== 0) {
          fail(`${what}: call target ${symSec.name}+${hex(targetInSec)} is not an instruction of that section`, target.name, rOff);
        }
        const targetSlot = (sp.base + targetInSec) / INSN_SIZE;
        const pc = pos / INSN_SIZE;
        writeI32(text, pos + 4, targetSlot - pc - 1);
        relocations.push({ type, typeName: tname, symbol: sym.name, section: target.name, sectionOffset: rOff, textOffset: pos, target: 'text', value: sp.base + targetInSec });
      }
    }
  }

  // Exported functions: global functions, in symbol-table order (as RIOT's converter).
  const functions = symbols
    .filter((s) => s.kind === 'func' && s.global && s.region === 'text')
    .map((s) => ({ name: s.name, flags: 0, offset: s.offset }));

  const load: ElfLoad = { image: { flags: 0, data, rodata, text, functions }, symbols, relocations, sections };
  const lines = shdrs.find((s) => s.name === '.debug_line' && s.type === SHT_PROGBITS);
  if (lines) {
    try {
      load.sourceMap = lineInfo(r, lines, shdrs, syms, placement, textLen / INSN_SIZE);
    } catch (e) {
      load.sourceMapError = e instanceof Error ? e.message : String(e);
    }
  }
  return load;
}

/**
 * The source map of an object built with -g. DW_LNE_set_address operands are section-relative;
 * the R_BPF_64_ABS64 at each of them in `.rel.debug_line` names the code section (addend in
 * place), whose base in the merged text is added. A sequence of a section not in the image is
 * dropped; without relocations the addresses are taken as offsets of the merged text.
 */
function lineInfo(r: Reader, lines: Shdr, shdrs: Shdr[], syms: Sym[], placement: Map<number, Placement>, slots: number): SourceMap {
  const bytesOf = (name: string): Uint8Array | undefined => {
    const s = shdrs.find((h) => h.name === name && h.type === SHT_PROGBITS);
    return s && r.b.subarray(s.offset, s.offset + s.size);
  };
  const symAt = new Map<number, Sym | undefined>();
  for (const rs of shdrs) {
    if (rs.type !== SHT_REL || rs.info !== lines.index || rs.entsize !== 16) continue;
    for (let i = 0; i < Math.floor(rs.size / 16); i++) {
      const e = rs.offset + i * 16;
      symAt.set(r.u64(e, rs.name), syms[r.u32(e + 12, rs.name)]);
    }
  }
  return sourceMapFromDwarf({
    debugLine: r.b.subarray(lines.offset, lines.offset + lines.size),
    debugLineStr: bytesOf('.debug_line_str'),
    debugStr: bytesOf('.debug_str'),
    resolveAddress: (at, value) => {
      if (!symAt.has(at)) return value;
      const sym = symAt.get(at);
      const p = sym && placement.get(sym.shndx);
      return p && p.region === 'text' ? p.base + sym.value + value : undefined;
    },
  }, slots);
}

function readI32(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
}

function writeI32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}
