/**
 * Program files for the tools (the `femto` CLI, later the Node-RED editor's upload): read a file,
 * find out what it is, and turn it into the parts a Vm needs.
 *
 * Kinds, in the order detection tries them (a `format` option skips detection):
 *   image  RIOT "rBPF" application image (magic 72 42 50 46), fully validated by vm/image
 *   elf    eBPF ELF object (\x7fELF), linked into an image by vm/elf
 *   c      C source (by the `.c` extension only), compiled with clang by lib/compiler
 *   data   a bpf_conformance vector (`.data`, or text with a `-- asm` / `-- raw` section line);
 *          its `-- mem` and `-- result` come along as `mem` and `expected`
 *   asm    assembly text (`.s` / `.asm`, or any other text: it is assembled, and its errors are
 *          reported with the line number)
 *   hex    text made only of hex digits and white space (the conformance plugin's form, one
 *          program per line or spread over lines), 8 bytes per slot
 *   raw    binary bytecode (anything else containing non-text bytes): must be a whole number
 *          of 8-byte slots
 *
 * Choices made here:
 * - A binary file is one with a NUL or another control byte that text never has; raw bytecode
 *   always has one (any `exit` is 95 00 00 00 …), so such a file is never mistaken for text.
 * - For an ELF object the image is what `femto build` writes (buildImage then parseImage), so
 *   running the object or the built image behaves identically.
 * - Every failure is typed: an unreadable file is a ProgramFileError (with the errno code), bad
 *   content a FormatError whose message starts with the file name (`x.s: asm: line 3:5: …`);
 *   clang's own errors (CompileError, ClangNotFoundError) pass through unchanged since their
 *   diagnostics already name the file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FormatError, type FormatName } from '../vm/errors';
import { assembleWithLines } from '../vm/assembler';
import { parseDataFile } from '../vm/conformance-data';
import { isElf, loadElf } from '../vm/elf';
import { buildImage, isImage, parseImage, type RiotImage } from '../vm/image';
import { renameFiles, sourceMapFromLines, type SourceMap } from '../vm/source-map';
import type { CompileOptions } from './compiler';
import { PROGRAM_KINDS, ProgramFileError, type ProgramKind } from './program-kinds';

export { PROGRAM_KINDS, ProgramFileError, type ProgramKind } from './program-kinds';

export interface ProgramFunction {
  name: string;
  /** Byte offset into text. */
  offset: number;
}

export interface LoadedProgram {
  /** The file name as given (used in messages). */
  file: string;
  kind: ProgramKind;
  /** For image, elf and c inputs: the parsed image (rodata includes the function names). */
  image?: RiotImage;
  text: Uint8Array;
  data: Uint8Array;
  rodata: Uint8Array;
  /** A `.data` vector's `-- mem` (empty array when it has none). */
  mem?: Uint8Array;
  /** A `.data` vector's `-- result`, as an unsigned 64-bit value. */
  expected?: bigint;
  /** Exported functions (images); empty for other kinds. */
  functions: ProgramFunction[];
  /** Assembly inputs: label → instruction index. */
  labels?: Record<string, number>;
  /** Assembly inputs: source line of each slot (1-based, in the file). */
  lines?: number[];
  /**
   * File and line of each slot: assembly (the file itself), an ELF object built with -g, C (always
   * compiled with -g; the source named as given).
   */
  sourceMap?: SourceMap;
  /** Non-fatal notes (clang warnings, …). */
  warnings: string[];
}

export interface LoadOptions {
  /** Skip detection. */
  format?: ProgramKind;
  /** For C sources. */
  compile?: CompileOptions;
}

/** A FormatError whose message names the file it came from. */
export class ProgramFormatError extends FormatError {
  constructor(readonly file: string, readonly original: FormatError) {
    super(original.format, original.reason, original.where);
    this.name = 'ProgramFormatError';
    this.message = `${file}: ${original.message}`;
  }
}

/** Read a file or fail with a ProgramFileError that says why in words. */
export function readInputFile(file: string): Uint8Array {
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) throw new ProgramFileError(file, 'EISDIR', 'is a directory, not a file');
    return new Uint8Array(fs.readFileSync(file));
  } catch (e) {
    if (e instanceof ProgramFileError) throw e;
    const err = e as NodeJS.ErrnoException;
    const why: Record<string, string> = {
      ENOENT: 'no such file',
      EACCES: 'permission denied',
      EISDIR: 'is a directory, not a file',
      ENOTDIR: 'a part of the path is not a directory',
    };
    throw new ProgramFileError(file, err.code ?? 'EIO', why[err.code ?? ''] ?? `cannot read (${err.message})`);
  }
}

/** Load a program from disk. */
export async function loadProgramFile(file: string, opts: LoadOptions = {}): Promise<LoadedProgram> {
  const bytes = readInputFile(file);
  return loadProgramBytes(bytes, file, { ...opts, sourcePath: file });
}

/**
 * Load a program from bytes; `name` is used for detection (extension) and in messages. With
 * `sourcePath`, a C source is compiled from that file (so clang's diagnostics name it).
 */
export async function loadProgramBytes(
  bytes: Uint8Array,
  name: string,
  opts: LoadOptions & { sourcePath?: string } = {},
): Promise<LoadedProgram> {
  const kind = opts.format ?? detectKind(bytes, name);
  try {
    return await loadAs(kind, bytes, name, opts);
  } catch (e) {
    if (e instanceof ProgramFormatError || (kind === 'c' && (await isClangError(e)))) throw e;
    if (e instanceof FormatError) throw new ProgramFormatError(name, e);
    throw e;
  }
}

/**
 * clang's own errors. The compiler module is loaded only for C input (it is the heaviest part of
 * reading a program, and most programs are not C); without it no such error exists.
 */
async function isClangError(e: unknown): Promise<boolean> {
  const { ClangNotFoundError, CompileError } = await import('./compiler');
  return e instanceof CompileError || e instanceof ClangNotFoundError;
}

const TEXT_EXT: Record<string, ProgramKind> = { '.s': 'asm', '.asm': 'asm', '.data': 'data', '.c': 'c', '.hex': 'hex' };

/**
 * Is this binary content? A NUL or a control byte that text does not use (tab, line breaks,
 * form feed, vertical tab and escape are text; DEL is too: a stray one sits in a comment of
 * some conformance vectors).
 */
export function isBinary(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0b && b !== 0x0c && b !== 0x0d && b !== 0x1b) return true;
  }
  return false;
}

const DATA_SECTION = /^--\s+(asm|raw)\s*$/m;
const HEX_TEXT = /^[\s0-9a-fA-F]*$/;

/** Decide the kind of a program from its bytes and file name. */
export function detectKind(bytes: Uint8Array, name = ''): ProgramKind {
  if (isImage(bytes)) return 'image';
  if (isElf(bytes)) return 'elf';
  const ext = path.extname(name).toLowerCase();
  if (ext === '.c') return 'c';
  if (isBinary(bytes)) {
    // A text extension on a binary file: let that parser explain what is wrong with it.
    return TEXT_EXT[ext] ?? 'raw';
  }
  const text = decodeText(bytes);
  if (ext === '.data' || DATA_SECTION.test(text)) return 'data';
  if (ext === '.s' || ext === '.asm') return 'asm';
  if (ext === '.hex') return 'hex';
  if (text.trim() !== '' && HEX_TEXT.test(text) && /[0-9a-fA-F]{16}|(?:[0-9a-fA-F]{2}\s+){7}[0-9a-fA-F]{2}/.test(text)) return 'hex';
  return 'asm';
}

function decodeText(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** Default name for the single function of an image made from assembly or bytecode. */
export function functionNameFor(file: string): string {
  const stem = path.basename(file).replace(/\.[^.]*$/, '');
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(stem) ? stem : 'main';
}

/** Parse hex bytes: pairs of hex digits, optionally separated by white space (and an optional 0x). */
export function parseHexBytes(text: string, format: FormatName = 'hex'): Uint8Array {
  const tokens = text.trim() === '' ? [] : text.trim().split(/\s+/);
  const out: number[] = [];
  for (const t0 of tokens) {
    const t = t0.replace(/^0x/i, '');
    if (!/^[0-9a-fA-F]+$/.test(t)) throw new FormatError(format, `'${t0.slice(0, 24)}' is not hex bytes`);
    if (t.length % 2 !== 0) throw new FormatError(format, `'${t0.slice(0, 24)}' has an odd number of hex digits`);
    for (let i = 0; i < t.length; i += 2) out.push(parseInt(t.slice(i, i + 2), 16));
  }
  return Uint8Array.from(out);
}

function bytecode(text: Uint8Array, format: FormatName): Uint8Array {
  if (text.length === 0) throw new FormatError(format, 'empty program: no instructions');
  if (text.length % 8 !== 0) {
    throw new FormatError(format, `${text.length} bytes is not a whole number of 8-byte instructions (${text.length % 8} bytes too many)`);
  }
  return text;
}

function fromImage(file: string, kind: ProgramKind, image: RiotImage, warnings: string[] = []): LoadedProgram {
  return {
    file, kind, image,
    text: image.text, data: image.data, rodata: image.rodata,
    functions: image.functions.map((f) => ({ name: f.name, offset: f.offset })),
    warnings,
  };
}

function plain(file: string, kind: ProgramKind, text: Uint8Array, extra: Partial<LoadedProgram> = {}): LoadedProgram {
  return { file, kind, text, data: new Uint8Array(0), rodata: new Uint8Array(0), functions: [], warnings: [], ...extra };
}

async function loadAs(kind: ProgramKind, bytes: Uint8Array, file: string, opts: LoadOptions & { sourcePath?: string }): Promise<LoadedProgram> {
  switch (kind) {
    case 'image':
      return fromImage(file, kind, parseImage(bytes));
    case 'elf': {
      if (!isElf(bytes)) throw new FormatError('elf', 'not an ELF file (no \\x7fELF magic)', { offset: 0 });
      const load = loadElf(bytes);
      return withMap(fromImage(file, kind, parseImage(buildImage(load.image))), load.sourceMap);
    }
    case 'c': {
      const input = opts.sourcePath !== undefined ? { path: opts.sourcePath } : { source: decodeText(bytes), fileName: file };
      const { compileC } = await import('./compiler');
      const { object, warnings, compiledAs } = await compileC(input, opts.compile);
      const w = warnings.map((d) => `${d.file}:${d.line}:${d.column}: warning: ${d.message}`);
      const load = loadElf(object);
      // clang saw a temporary copy or an absolute path: the map names the file as the user gave it.
      const map = load.sourceMap && renameFiles(load.sourceMap, (f) => (f === compiledAs ? file : f));
      return withMap(fromImage(file, kind, parseImage(buildImage(load.image)), w), map);
    }
    case 'data': {
      if (isBinary(bytes)) throw new FormatError('data', 'binary content: a .data vector is text');
      const d = parseDataFile(decodeText(bytes));
      const extra: Partial<LoadedProgram> = { mem: d.mem, expected: d.result };
      if (d.raw !== undefined) return plain(file, kind, bytecode(d.raw, 'data'), extra);
      if (d.asm === undefined) throw new FormatError('data', `no '-- asm' or '-- raw' section`);
      const first = d.asmLine ?? 1;
      try {
        const a = assembleWithLines(d.asm);
        const lines = a.lines.map((l) => l + first - 1);
        return plain(file, kind, bytecode(a.text, 'data'), { ...extra, labels: a.labels, lines, sourceMap: sourceMapFromLines(file, lines) });
      } catch (e) {
        if (e instanceof FormatError && e.where.line !== undefined) {
          throw new FormatError(e.format, e.reason, { ...e.where, line: e.where.line + first - 1 });
        }
        throw e;
      }
    }
    case 'asm': {
      if (isBinary(bytes)) throw new FormatError('asm', 'binary content: assembly is text (use --format raw for bytecode)');
      const a = assembleWithLines(decodeText(bytes));
      if (a.text.length === 0) throw new FormatError('asm', 'no instructions');
      return plain(file, kind, a.text, { labels: a.labels, lines: a.lines, sourceMap: sourceMapFromLines(file, a.lines) });
    }
    case 'hex':
      return plain(file, kind, bytecode(parseHexBytes(decodeText(bytes), 'hex'), 'hex'));
    case 'raw':
      return plain(file, kind, bytecode(bytes, 'bytecode'));
    default:
      throw new FormatError('bytecode', `unknown format '${String(kind)}' (one of ${PROGRAM_KINDS.join(', ')})`);
  }
}

function withMap(p: LoadedProgram, map: SourceMap | undefined): LoadedProgram {
  if (map) p.sourceMap = map;
  return p;
}

/** Image bytes for any loaded program (an assembly or bytecode program gets one function). */
export function toImageBytes(p: LoadedProgram, functionName = functionNameFor(p.file)): Uint8Array {
  if (p.image) return buildImage(p.image);
  return buildImage({ text: p.text, data: p.data, rodata: p.rodata, functions: [{ name: functionName, offset: 0 }] });
}
