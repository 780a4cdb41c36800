/**
 * Programs for a container node: from its configuration (assembly text, C source compiled in the
 * sandbox, an uploaded image or ELF object kept as base64) or from a message (`msg.image`), to RIOT
 * image bytes the board installs. Also the editor's Verify: the same path, then the verifier for
 * the chosen profile, hook contract and helpers, and a disassembly listing.
 *
 * Choices:
 *  - assembly and raw bytecode become a one-function image (function "main" at offset 0), so the
 *    slot size the board checks is the size RIOT's image would have;
 *  - an uploaded or message-borne ELF object is linked into an image (vm/elf), exactly what
 *    `femto build` writes; an image is taken as it is (validated by vm/image when installed);
 *  - `msg.image` may be a Buffer/Uint8Array (image, ELF or raw bytecode), a base64 string of those,
 *    or `{ asm: "…" }` / `{ base64: "…" }`; a plain string is assembly text when it has a line
 *    break or a mnemonic, base64 otherwise.
 */
import { assembleWithLines } from '../../vm/assembler';
import { disassembleListing } from '../../vm/disassembler';
import { FaultCode, FormatError, VerifyError } from '../../vm/errors';
import { isElf, loadElf } from '../../vm/elf';
import { buildImage, isImage, parseImage } from '../../vm/image';
import { Program } from '../../vm/program';
import { branchBudgetWarnings } from '../../vm/branch-budget';
import { RIOT_BRANCH_BUDGET } from '../../vm/vm';
import { interleaveSource, sourceAt, sourceMapFromLines, type SourceLocation, type SourceMap } from '../../vm/source-map';
import { verify, type Profile, PROFILES } from '../../vm/verifier';
import { ClangNotFoundError } from '../compiler';
import { CompilerBusyError } from '../compile-queue';
import { computeGrants } from '../board/container';
import { HELPER_NAME_BY_ID } from '../board/helpers';
import { isHook } from '../board/hooks';
import { getProfile, PROFILES as BOARD_PROFILES } from '../board/profiles';
import { compileSandboxed, SandboxCompileError, SandboxError, type SandboxOptions } from './sandbox';

export type Language = 'asm' | 'c' | 'image';
export const LANGUAGES: readonly Language[] = ['asm', 'c', 'image'];

export interface BuiltProgram {
  image: Uint8Array;
  kind: 'asm' | 'c' | 'image' | 'elf' | 'raw';
  /** Assembly: the source line of every instruction slot. */
  lines?: number[];
  /** File and line of every instruction slot: assembly, C (clang -g), an ELF object built with -g. */
  sourceMap?: SourceMap;
  warnings: string[];
}

export interface ProgramConfig {
  language?: string;
  source?: string;
  /** Uploaded file as base64; for C, an image prebuilt from the source (used without clang). */
  image?: string;
  /** What the source map calls the source: the node's name + ".c" / ".s" (default container.c / program.s). */
  fileName?: string;
}

/** The file name a container's source goes by in source maps: its name + the language's extension. */
export function sourceFileName(name: string | undefined, language: string | undefined): string {
  const ext = language === 'c' ? '.c' : '.s';
  const stem = (name ?? '').trim().replace(/[\\/\0-\x1f]+/g, '_').slice(0, 64);
  if (stem === '') return language === 'c' ? 'container.c' : 'program.s';
  return stem.toLowerCase().endsWith(ext) ? stem : stem + ext;
}

/** Said (a node warning, a Verify warning) when a C container runs its prebuilt image. */
export const PREBUILT_NOTE = 'clang is not installed on the Node-RED server: running the image prebuilt from this C source (apt-get install clang to compile your edits)';

/**
 * How long a deploy-time compile waits for its turn in the compile queue: a flow with many C
 * containers compiles them one after the other, and each must get its turn (an editor's Verify
 * waits the queue's default, 15 s, then says the compiler is busy).
 */
export const DEPLOY_COMPILE_WAIT_MS = 5 * 60_000;

/** Image bytes from the node's configuration, or undefined when it holds no program. */
export async function buildProgram(cfg: ProgramConfig, sandbox: SandboxOptions = {}): Promise<BuiltProgram | undefined> {
  const lang = (cfg.language || 'asm') as Language;
  if (lang === 'image') {
    if (!cfg.image || !cfg.image.trim()) return undefined;
    return fromBytes(decodeBase64(cfg.image));
  }
  const src = cfg.source ?? '';
  if (!src.trim()) return undefined;
  if (lang === 'c') {
    let r: Awaited<ReturnType<typeof compileSandboxed>>;
    try {
      r = await compileSandboxed(src, { fileName: cfg.fileName ?? sourceFileName(undefined, 'c'), ...sandbox });
    } catch (e) {
      // A C container may carry an image prebuilt from this same source (the examples do; the
      // editor drops it when the source is edited): it runs where the server has no clang.
      if (e instanceof ClangNotFoundError && cfg.image && cfg.image.trim()) {
        return { ...fromBytes(decodeBase64(cfg.image)), kind: 'c', warnings: [PREBUILT_NOTE] };
      }
      throw e;
    }
    const built: BuiltProgram = { image: r.image, kind: 'c', warnings: r.warnings.map((d) => `${d.file}:${d.line}:${d.column}: warning: ${d.message}`) };
    if (r.sourceMap) built.sourceMap = r.sourceMap;
    return built;
  }
  if (lang !== 'asm') throw new FormatError('asm', `unknown language "${String(cfg.language)}" (asm, c or image)`);
  return fromAsm(src, cfg.fileName);
}

export function fromAsm(src: string, fileName = sourceFileName(undefined, 'asm')): BuiltProgram {
  const a = assembleWithLines(src);
  if (a.text.length === 0) throw new FormatError('asm', 'no instructions');
  return {
    image: buildImage({ text: a.text, functions: [{ name: 'main', offset: 0 }] }), kind: 'asm', lines: a.lines,
    sourceMap: sourceMapFromLines(fileName, a.lines), warnings: [],
  };
}

/** Where the program's slot `pc` came from, when it carries line information. */
export function sourceOf(p: Pick<BuiltProgram, 'sourceMap'> | undefined, pc: number | undefined): SourceLocation | undefined {
  return pc === undefined ? undefined : sourceAt(p?.sourceMap, pc);
}

/** Bytes of an image, an ELF object or raw bytecode. */
export function fromBytes(bytes: Uint8Array): BuiltProgram {
  if (bytes.length === 0) throw new FormatError('image', 'empty image');
  if (isImage(bytes)) {
    parseImage(bytes);
    return { image: bytes, kind: 'image', warnings: [] };
  }
  if (isElf(bytes)) {
    const load = loadElf(bytes);
    const built: BuiltProgram = { image: buildImage(load.image), kind: 'elf', warnings: [] };
    if (load.sourceMap) built.sourceMap = load.sourceMap;
    return built;
  }
  if (bytes.length % 8 !== 0) {
    throw new FormatError('bytecode', `${bytes.length} bytes is neither a RIOT image (no rBPF magic), an ELF object nor whole 8-byte instructions`);
  }
  return { image: buildImage({ text: bytes, functions: [{ name: 'main', offset: 0 }] }), kind: 'raw', warnings: [] };
}

export function decodeBase64(s: string): Uint8Array {
  const t = s.replace(/^data:[^,]*,/, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t)) throw new FormatError('image', 'the uploaded image is not valid base64');
  return new Uint8Array(Buffer.from(t, 'base64'));
}

/** A program carried by a message (`msg.image`). Throws FormatError when it is not one. */
export function programFromMessage(x: unknown): BuiltProgram {
  if (x instanceof Uint8Array) return fromBytes(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  if (x instanceof ArrayBuffer) return fromBytes(new Uint8Array(x));
  if (x && typeof x === 'object') {
    const o = x as Record<string, unknown>;
    if (o.type === 'Buffer' && Array.isArray(o.data)) return fromBytes(Uint8Array.from(o.data as number[]));
    if (typeof o.asm === 'string') return fromAsm(o.asm);
    if (typeof o.base64 === 'string') return fromBytes(decodeBase64(o.base64));
  }
  if (typeof x === 'string') {
    if (/[\r\n]/.test(x) || /^\s*(mov|exit|ldx|add|ja|call|lddw|st)/i.test(x)) return fromAsm(x);
    return fromBytes(decodeBase64(x));
  }
  throw new FormatError('image', 'msg.image must be a Buffer (RIOT image, ELF object or bytecode), base64 text or assembly text');
}

/** Instructions (slots) in image bytes. */
export function imageInsns(image: Uint8Array): number {
  if (isImage(image)) return parseImage(image).text.length / 8;
  return Math.floor(image.length / 8);
}

// ---- Verify (the editor's button) --------------------------------------------------------------

export interface VerifyRequest {
  source?: string;
  language?: string;
  /** base64 of an uploaded image/ELF (language "image"). */
  image?: string;
  /** 'rfc9669' | 'riot-2022' | 'board' (the board's) | '' (same). */
  profile?: string;
  /** A board profile name (nrf52840dk…) or a deployed femto-board node id. */
  board?: string;
  hook?: string;
  helpers?: string[] | string;
  /** The node's name: the source is called name + ".c" / ".s" in source lines (default container.c / program.s). */
  name?: string;
}

export interface VerifyResponse {
  ok: boolean;
  /** The verifier rule (e.g. "jump-target"), or "syntax", "compile", "sandbox", "format", "helpers", "slot", "clang", "busy". */
  rule: string | null;
  /** RIOT code (−1 … −9) for verifier rejections, else null. */
  code: number | null;
  pc: number | null;
  /** 1-based source line (assembly always; C for compile errors). */
  line: number | null;
  column: number | null;
  message: string;
  instruction: string | null;
  /**
   * Disassembly, one line per instruction ("   pc: text"), also for rejected programs when
   * decodable. For C (and ELF objects built with -g) the source lines are interleaved as objdump -S
   * does: a line "; file:line  text" before the instructions it became.
   */
  listing: string[];
  /** The source location of every instruction slot (index = pc), null where unknown; [] when the program carries none. */
  sourceLines: ({ file: string; line: number } | null)[];
  warnings: string[];
  profile: Profile;
  insns: number;
  imageBytes: number;
  helpersUsed: string[];
  diagnostics?: { file: string; line: number; column: number; severity: string; message: string }[];
  /** base64 of the built image when it was accepted: the edit dialog's Try panel runs it in the page. */
  image?: string;
}

export interface BoardLookup {
  /** A deployed board by node id → its VM profile and slot size. */
  (id: string): { vmProfile: Profile; slotSize: number; name: string } | undefined;
}

function boardFacts(board: string | undefined, lookup?: BoardLookup): { vmProfile: Profile; slotSize: number; name: string } {
  if (board) {
    const deployed = lookup?.(board);
    if (deployed) return deployed;
    if (Object.hasOwn(BOARD_PROFILES, board)) {
      const p = getProfile(board);
      return { vmProfile: p.costColumn === 'native' ? 'rfc9669' : 'riot-2022', slotSize: p.slots.size, name: p.name };
    }
  }
  return { vmProfile: 'riot-2022', slotSize: 2048, name: 'nrf52840dk' };
}

/** Build, verify and list a program for the editor. Never throws for bad input: `ok: false` says why. */
export async function verifyRequest(req: VerifyRequest, lookup?: BoardLookup, sandbox: SandboxOptions = {}): Promise<VerifyResponse> {
  const facts = boardFacts(req.board, lookup);
  const profile: Profile = req.profile && (PROFILES as readonly string[]).includes(req.profile) ? (req.profile as Profile) : facts.vmProfile;
  const res: VerifyResponse = {
    ok: false, rule: null, code: null, pc: null, line: null, column: null, message: '', instruction: null,
    listing: [], sourceLines: [], warnings: [], profile, insns: 0, imageBytes: 0, helpersUsed: [],
  };
  const language = req.language || 'asm';
  let built: BuiltProgram | undefined;
  const fileName = sourceFileName(typeof req.name === 'string' ? req.name : undefined, language);
  try {
    built = await buildProgram({ language, source: req.source, image: req.image, fileName }, sandbox);
  } catch (e) {
    return describeBuildError(e, res);
  }
  if (!built) {
    res.rule = 'empty';
    res.message = language === 'image' ? 'no image uploaded' : 'no program: the source is empty';
    return res;
  }
  res.warnings.push(...built.warnings);
  res.imageBytes = built.image.length;
  let text: Uint8Array;
  try {
    text = isImage(built.image) ? parseImage(built.image).text : built.image;
  } catch (e) {
    return describeBuildError(e, res);
  }
  const program = new Program(text);
  res.insns = program.length;
  res.listing = disassembleListing(program);
  const map = built.sourceMap;
  if (map) {
    res.sourceLines = Array.from({ length: program.length }, (_, pc) => sourceAt(map, pc) ?? null);
    if (built.kind !== 'asm') {
      // The user's own text is at hand for C; an uploaded object's lines are named without text.
      const own = language === 'c' && req.source !== undefined ? req.source.split(/\r\n?|\n/) : undefined;
      res.listing = interleaveSource(res.listing, map, (f) => (f === fileName ? own : undefined));
    }
  }
  const hook = req.hook && isHook(req.hook) ? req.hook : undefined;
  let grants: Set<number>;
  try {
    const requested = typeof req.helpers === 'string' ? req.helpers.split(/[\s,]+/).filter(Boolean) : req.helpers;
    grants = computeGrants(hook, requested && requested.length ? requested : undefined);
  } catch (e) {
    res.rule = 'helpers';
    res.message = (e as Error).message;
    return res;
  }
  const v = verify(program, { profile, helpers: grants });
  res.helpersUsed = v.helpersUsed.map((id) => HELPER_NAME_BY_ID[id] ?? `0x${id.toString(16)}`);
  res.warnings.push(...v.warnings);
  if (profile === 'riot-2022') {
    res.warnings.push(...branchBudgetWarnings(program, RIOT_BRANCH_BUDGET, (pc) => {
      const s = sourceAt(map, pc);
      return s && `line ${s.line}`;
    }));
  }
  if (!v.ok) {
    const err: VerifyError = v.error;
    res.rule = err.rule;
    res.code = err.code;
    res.pc = err.pc;
    res.instruction = err.insn ?? null;
    res.line = built.lines?.[err.pc] ?? (built.kind === 'c' ? sourceOf(built, err.pc)?.line ?? null : null);
    res.message = err.message + (err.code === FaultCode.ILLEGAL_CALL && hook ? ` (granted on the ${hook} hook: ${[...grants].map((g) => HELPER_NAME_BY_ID[g] ?? g).join(', ') || 'none'})` : '');
    return res;
  }
  if (built.image.length > facts.slotSize) {
    res.rule = 'slot';
    res.message = `image of ${built.image.length} B does not fit a ${facts.slotSize} B slot on ${facts.name}`;
    return res;
  }
  res.ok = true;
  res.image = Buffer.from(built.image).toString('base64');
  res.message = `accepted for ${profile}${hook ? ` on the ${hook} hook` : ''}: ${program.length} instructions, ${built.image.length} B image`;
  return res;
}

function describeBuildError(e: unknown, res: VerifyResponse): VerifyResponse {
  if (e instanceof SandboxError) {
    res.rule = 'sandbox';
    res.line = e.line ?? null;
    res.message = e.message;
  } else if (e instanceof SandboxCompileError) {
    res.rule = 'compile';
    res.line = e.line ?? null;
    const first = e.diagnostics.find((d) => d.severity === 'error' || d.severity === 'fatal error');
    res.column = first?.column ?? null;
    res.message = e.reason;
    res.diagnostics = e.diagnostics;
  } else if (e instanceof CompilerBusyError) {
    res.rule = 'busy';
    res.message = e.reason;
  } else if (e instanceof ClangNotFoundError) {
    res.rule = 'clang';
    res.message = 'C needs clang on the Node-RED server (apt-get install clang); use assembly or upload a built image instead';
  } else if (e instanceof FormatError) {
    res.rule = e.format === 'asm' ? 'syntax' : 'format';
    res.line = e.where.line ?? null;
    res.column = e.where.column ?? null;
    res.message = e.message;
  } else {
    res.rule = 'error';
    res.message = e instanceof Error ? e.message : String(e);
  }
  return res;
}
