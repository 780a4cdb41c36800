/**
 * Fuzz target for the C compile sandbox (lib/node-support/sandbox.ts and compile-guard.ts, issue
 * 11): generated C sources interleave preprocessor directives (#warning, #error, #if 0 … #endif,
 * #define, #pragma, includes of allowed and forbidden paths), comments of both kinds, string and
 * character literals holding comment markers and quotes, raw-string look-alikes, line splices
 * (also inside // comments and around comment ends), trigraphs and digraphs, and attempts at
 * reading a file: #include of a sentinel secret by absolute, `..` and symlinked paths, #include
 * by macro, #include_next/#import/#embed, __has_include probes, a directive printed by a macro,
 * GNU line markers, asm/__asm__ with .incbin (plain, pasted, UCN, in a function, at file scope),
 * section names carrying directives, __FILE__-style probes. Most cases run the guard alone (the
 * early text scan off); some run the whole sandbox.
 *
 * The sentinel is a file made at setup with a random marker (as C: a string, an identifier, a
 * #warning, a comment; and as text). Properties, judged on what clang itself reports:
 *  - nothing returned (error message, diagnostics, warnings, image) contains the marker;
 *  - no message names the server's folders (compile folder, header folder);
 *  - a compile that succeeded is replayed by the oracle: clang with the guard's flags in a folder
 *    of its own; its dependency lists (preprocessing and compiling the preprocessed text) may name
 *    only the source, its preprocessed copy and files under lib/include (real paths), and its IR
 *    holds no asm;
 *  - a source made only of harmless pieces is never refused by the guard;
 *  - some cases are compiled twice, the second time with the sentinel's paths naming files that
 *    do not exist: the outcome (kind, image, message with the names masked) must be the same, so
 *    that nothing tells whether a file exists;
 *  - only the sandbox's typed errors escape.
 *
 * Each case starts clang one to five times, so the target runs a few cases per second and takes
 * three shares of the run's time (engine weight); without clang it runs the early scan only.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultIncludeDir } from '../../lib/compiler';
import { CompilerBusyError } from '../../lib/compile-queue';
import { guardArgs } from '../../lib/node-support/compile-guard';
import { checkSource, compileSandboxed, SandboxCompileError, SandboxError } from '../../lib/node-support/sandbox';
import { FormatError } from '../../vm/errors';
import { CLANG } from '../util/needs';
import { Finding, type Counters, type Target } from './engine';
import type { Rng } from './rng';

const bump = (c: Counters, k: string, n = 1): void => { c[k] = (c[k] ?? 0) + n; };

export interface SandboxCase {
  /** C source with placeholders (@ABS@ …) for the sentinel's paths, filled in at run time. */
  src: string;
  /** Run the early text scan too (else the guard alone). */
  scan: boolean;
  /** Only harmless pieces: the guard must not refuse it. */
  harmless: boolean;
  /** Compile it again with the sentinel's paths pointing at files that do not exist: same outcome. */
  twin: boolean;
}

// ---- the sentinel ------------------------------------------------------------------------------

export interface Sentinel {
  dir: string;
  marker: string;
  markerNum: number;
  paths: Record<string, string>;
  /** The same placeholders, naming files that do not exist. */
  ghosts: Record<string, string>;
  realInclude: string;
}
let sentinel: Sentinel | undefined;
let clangHere = false;

export function makeSentinel(): Sentinel {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-fuzz-sandbox-'));
  const hex = randomBytes(6).toString('hex');
  const marker = `FZSECRET_${hex}`;
  const markerNum = (parseInt(hex.slice(0, 8), 16) | 0x01010101) >>> 0;
  const secret = path.join(dir, 'secret.h');
  fs.writeFileSync(secret, `/* ${marker} */\n#warning ${marker}\n#define SECRET_VALUE ${markerNum}u\nstatic const char secret_text[] = "${marker}";\nint ${marker}_ident = 1;\n`);
  fs.writeFileSync(path.join(dir, 'secret.txt'), `${marker}:x:0:0:root:/root:/bin/bash\n`);
  fs.symlinkSync(secret, path.join(dir, 'link.h'));
  const include = defaultIncludeDir()!;
  return {
    dir, marker, markerNum, realInclude: fs.realpathSync(include),
    paths: {
      '@ABS@': secret,
      '@TXT@': path.join(dir, 'secret.txt'),
      '@LINK@': path.join(dir, 'link.h'),
      // From a compile folder (a sibling in the temporary folder) and from the header folder.
      '@RELCWD@': `../${path.basename(dir)}/secret.h`,
      '@RELINC@': path.relative(include, secret),
      '@DIR@': dir,
      '@BASE@': path.basename(dir),
    },
    // Names as long as the real ones: a column in a message must not tell them apart either.
    ghosts: {
      '@ABS@': path.join(dir, 'phantm.h'),
      '@TXT@': path.join(dir, 'phantm.txt'),
      '@LINK@': path.join(dir, 'gone.h'),
      '@RELCWD@': `../${path.basename(dir)}/phantm.h`,
      '@RELINC@': path.relative(include, path.join(dir, 'phantm.h')),
      '@DIR@': dir,
      '@BASE@': path.basename(dir),
    },
  };
}

export function materialise(src: string, s: Sentinel, names: Record<string, string> = s.paths): string {
  return src.replace(/@(?:ABS|TXT|LINK|RELCWD|RELINC|DIR|BASE)@/g, (k) => names[k]);
}

// ---- generation ----------------------------------------------------------------------------------

/** Include targets naming the sentinel (their twins name files that do not exist). */
const SENTINEL_FILES = ['"@ABS@"', '<@ABS@>', '"@RELCWD@"', '<@RELINC@>', '"@RELINC@"', '"@TXT@"', '"@LINK@"', '<@LINK@>'];
const FORBIDDEN = ['"@ABS@"', '<@ABS@>', '"@RELCWD@"', '<@RELINC@>', '"@RELINC@"', '"@TXT@"', '"@LINK@"', '<@LINK@>',
  '"@DIR@/../@BASE@/secret.h"', '"@DIR@/./secret.h"', '"/etc/passwd"', '"/proc/self/environ"', '"nope.h"', '<stdio.h>', '"@DIR@"', '<bpf/../../@RELINC@>'];
const ALLOWED = ['"femto.h"', '<femto.h>', '<stdint.h>', '"stdbool.h"', '"bpf/shared.h"', '"bpf/bpfapi/helpers.h"', '<bpf/../femto.h>', '<bpf/bpfapi/../../stddef.h>'];
const HASH = ['#', '#', '#', '  #  ', '%:', '??=', '#/**/', '# /* c */ '];
/** The secret's path as it goes inside a C string that is itself an assembler string. */
const ASM_PATHS = ['@ABS@', '@TXT@', '@LINK@', '@RELCWD@'];

/** A piece of source; `files` are the include targets to pick from. */
type Piece = (rng: Rng, files: readonly string[]) => string;

const attacks: Piece[] = [
  (r, f) => `${r.pick(HASH)}include ${r.pick(f)}`,
  (r, f) => `${r.pick(HASH)}${r.pick(['include_next', 'import'])} ${r.pick(f)}`,
  (r, f) => `const char embedded[] = {\n${r.pick(HASH)}embed ${r.pick(f)}\n};`,
  (r, f) => `#define INC ${r.pick(f)}\n#include INC`,
  () => '#define S(x) #x\n#define T(x) S(x)\n#include T(@ABS@)',
  (r, f) => `#if ${r.pick(['__has_include', '__has_include_next', '__has_embed'])}(${r.pick(f)})\n${r.pick(['#error found', 'int probe = 1;', '#include "@ABS@"'])}\n#endif`,
  (r) => `${r.pick(['asm', '__asm__', '__asm'])}(".section .rodata\\n.incbin \\"${r.pick(ASM_PATHS)}\\"");`,
  (r) => `__asm__(".section .text.leak,\\"ax\\"\\n.incbin \\"${r.pick(ASM_PATHS)}\\"\\n");`,
  (r) => `int g${r.int(100)}(void) { ${r.pick(['asm', '__asm__ __volatile__', 'asm volatile'])}(".incbin \\"${r.pick(ASM_PATHS)}\\""); return 0; }`,
  (r) => `#define P(a, b) a${r.pick(['##', '%:%:'])}b\nP(${r.pick(['a, sm', '__as, m__', '__a, sm'])})(".incbin \\"${r.pick(ASM_PATHS)}\\"");`,
  (r) => `\\u0061sm(".incbin \\"${r.pick(ASM_PATHS)}\\"");`,
  (r) => `__attribute__((section(".text\\n.incbin \\"${r.pick(ASM_PATHS)}\\""))) int h${r.int(100)}(void) { return 1; }`,
  (r, f) => `#define X # include ${r.pick(f)}\nX`,
  (r, f) => `#define HI # if ${r.pick(['__has_include', '__has_include_next'])}\n#define ARG (${r.pick(f)})\n#define EI # endif\nHI ARG\nint probe_hit = 1;\nEI`,
  (r, f) => `#define D ${r.pick(['#', '%:'])} pragma GCC dependency ${r.pick(f)}\nD`,
  (r) => `#define X _Pragma("GCC dependency \\"@ABS@\\"")\nX\n${r.pick(['', '#define Y # 1 "@ABS@" 1\nY'])}`,
  (r) => r.pick(['# 1 "@ABS@" 1\nint marked;\n# 2 "container.c" 2', '#line 1 "@ABS@"', '# 7 "@TXT@"', '#line 3 "femto.h"']),
  (r) => `${r.pick(['#pragma GCC dependency "@ABS@"', '_Pragma("GCC dependency \\"@TXT@\\"")', '#pragma clang module import secret', '#pragma clang __debug macro SECRET_VALUE', '#pragma GCC system_header', '#pragma clang module load x'])}`,
  (r) => `const char probe${r.int(100)}[] = ${r.pick(['__FILE__', '__BASE_FILE__', '__FILE_NAME__'])};`,
  () => 'int fileprobe(void) { return __builtin_FILE()[1]; }',
];

/**
 * Pieces that read nothing whatever a hider or a splice does to them: they name no file but the
 * shipped headers and hold no asm, not even in a comment (a hider can bring a comment's text out).
 */
const harmless: Piece[] = [
  (r) => `#include ${r.pick(ALLOWED)}`,
  () => '#define TWICE(x) ((x) * 2)',
  () => 'const char msg[] = "/* not a comment */ // nor this \\" still a string";',
  () => "char quote = '\\'';\nchar dq = '\"';",
  () => '/* a comment: #include and *\\/ */',
  () => '// a comment with /* and " and \'',
  () => '#if 0\nit\'s "unterminated\n#endif',
  () => '#warning just a warning',
  () => '#define CAT(a, b) a##b\nstatic int CAT(va, lue) = 3;',
  () => '_Static_assert(1, "ok");',
  () => 'static const int table[4] = {1, 2, 3, 4};',
  () => '#pragma once',
  () => '#define EMPTY\nEMPTY',
  () => 'const char named[] = __FILE__;',
];

/** Prefix and suffix that make a re-reading of the text see something other than what clang sees. */
const hiders: ((p: string) => string)[] = [
  (p) => `#warning /*\n${p}\n// */`,
  (p) => `#error /*\n${p}\n// */`,
  (p) => `#if 0\n${p}\n#endif`,
  (p) => `#if 0\n"\n#endif\n${p}`,
  (p) => `#if 0\nit's\n#endif\n${p}`,
  (p) => `#if 0\n#else\n${p}\n#endif`,
  (p) => `// hidden \\\n${p}`,
  (p) => `// hidden \\ \t\n${p}`,
  (p) => `/* x *\\\n/\n${p}\n/* */`,
  (p) => `const char opener[] = "/*";\n${p}\n// */`,
  (p) => `const char s2[] = "a\\\\\n/*";\n${p}\nconst char t2[] = "*/";`,
  (p) => `char q1 = '"';\n${p}\nchar q2 = '"';`,
  (p) => `// ??/\n${p}`,
  (p) => `R"(/*)";\n${p}\n// */`,
  (p) => `#pragma message("/*")\n${p}\n// */`,
  (p) => `#define COMMENTED /*\n${p}\n*/`,
  (p) => `/*\n${p}\n*/`,
  (p) => `#include "femto.h" // \\\n${p}`,
  (p) => `%:define HIDE /*\n${p}\n*/`,
];

/** Insert a backslash-newline (maybe with blanks) at a few random places. */
function splice(rng: Rng, s: string): string {
  let out = s;
  for (let k = rng.range(1, 3); k > 0; k--) {
    const at = rng.int(out.length + 1);
    out = out.slice(0, at) + rng.pick(['\\\n', '\\ \n', '\\\t\n', '??/\n']) + out.slice(at);
  }
  return out;
}

function generate(rng: Rng): SandboxCase {
  const isHarmless = rng.bool(0.2);
  // A twin is compiled again with the sentinel's names pointing nowhere: short, about the sentinel.
  const twin = !isHarmless && rng.bool(0.25);
  const files = twin ? SENTINEL_FILES : FORBIDDEN;
  const parts: string[] = [];
  if (rng.bool(0.5)) parts.push(`#include ${rng.pick(ALLOWED)}`);
  for (let n = twin ? rng.range(1, 2) : rng.range(1, 4); n > 0; n--) {
    const piece = isHarmless || (!twin && rng.bool(0.3)) ? rng.pick(harmless)(rng, files) : rng.pick(attacks)(rng, files);
    parts.push(rng.bool(twin ? 0.3 : 0.5) ? rng.pick(hiders)(piece) : piece);
  }
  const useSecret = !isHarmless && !twin && rng.bool(0.3);
  parts.push(useSecret ? 'int f(void *c) { return SECRET_VALUE + secret_text[(long)c & 7]; }' : 'int f(void *c) { return 0; }');
  let src = parts.join('\n') + '\n';
  if (rng.bool(0.15)) src = splice(rng, src);
  if (!isHarmless && !twin && rng.bool(0.1)) {
    // Byte-level damage: drop or double a character.
    const at = rng.int(src.length);
    src = rng.bool() ? src.slice(0, at) + src.slice(at + 1) : src.slice(0, at) + src[at] + src.slice(at);
  }
  const eol = rng.weighted([[8, '\n'], [1, '\r\n'], [1, '\r']] as const);
  if (eol !== '\n') src = src.replace(/\n/g, eol);
  return { src, scan: rng.bool(0.25), harmless: isHarmless, twin };
}

// ---- the oracle: clang's own dependency lists and IR, in a folder of its own -------------------

function clang(args: string[], cwd: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.env.FEMTO_CLANG ?? 'clang', args, { cwd, timeout: 8000, maxBuffer: 1 << 20, env: { PATH: process.env.PATH ?? '' } }, (err, _out, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr: String(stderr) });
    });
  });
}

/** Names in a Make dependency list (the sentinel's paths have no blanks). */
function depNames(file: string): string[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').replace(/\\\n/g, ' ').split(/\s+/).filter(Boolean).slice(1);
}

/** What the oracle finds wrong with a compile the sandbox accepted, or undefined. */
export async function oracle(src: string, s: Sentinel): Promise<string | undefined> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-fuzz-oracle-'));
  try {
    fs.writeFileSync(path.join(dir, 'container.c'), src);
    const args = guardArgs(defaultIncludeDir()!);
    const pre = await clang(args.preprocess, dir);
    const ir = pre.code === 0 ? await clang(args.compile, dir) : undefined;
    const realDir = fs.realpathSync(dir);
    const allowed = (name: string): boolean => {
      let real: string;
      try {
        real = fs.realpathSync(path.resolve(dir, name));
      } catch {
        return false;
      }
      return real === path.join(realDir, 'container.c') || real === path.join(realDir, 'container.i') || real.startsWith(s.realInclude + path.sep);
    };
    for (const d of [...depNames(path.join(dir, 'preprocess.d')), ...depNames(path.join(dir, 'compile.d'))]) {
      if (!allowed(d)) return `clang's dependency list names ${d}`;
    }
    if (pre.code !== 0 || !ir || ir.code !== 0) return `the oracle's clang failed where the sandbox succeeded: ${(pre.stderr + (ir?.stderr ?? '')).slice(0, 300)}`;
    const text = fs.readFileSync(path.join(dir, 'container.ll'), 'utf8');
    const asm = text.split('\n').find((l) => /(^|[\s(,])asm(\s|$)/.test(l.replace(/"[^"]*"/g, '""').replace(/;.*$/, '').replace(/[%@!$#][-\w$.]+/g, '')));
    if (asm) return `the IR holds assembly: ${asm.slice(0, 200)}`;
    if (text.includes(s.marker)) return 'the IR holds the secret';
    return undefined;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the target ------------------------------------------------------------------------------------

function carries(s: Sentinel, bytes: Uint8Array | string): boolean {
  const b = Buffer.from(typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
  const num = Buffer.alloc(4);
  num.writeUInt32LE(s.markerNum);
  return b.includes(Buffer.from(s.marker)) || b.includes(num);
}

interface Outcome {
  image?: Uint8Array;
  error?: unknown;
  /** Everything the user is shown: message, diagnostics, warnings. */
  shown: string;
}

async function compile(src: string, scan: boolean): Promise<Outcome> {
  try {
    const r = await compileSandboxed(src, { textScan: scan, timeoutMs: 6000, queueWaitMs: Infinity });
    return { image: r.image, shown: JSON.stringify(r.warnings) };
  } catch (error) {
    const shown = [error instanceof Error ? error.message : '', JSON.stringify(error instanceof SandboxCompileError ? error.diagnostics : [])].join('\n');
    return { error, shown };
  }
}

/** An outcome with the sentinel's names masked: what must not depend on whether the file exists. */
function signature(o: Outcome, s: Sentinel): string {
  let text = o.shown;
  for (const names of [s.paths, s.ghosts]) {
    for (const k of ['@RELINC@', '@RELCWD@', '@ABS@', '@TXT@', '@LINK@']) text = text.split(names[k]).join(k);
  }
  const kind = o.image ? `image ${Buffer.from(o.image).toString('hex')}` : o.error instanceof Error ? o.error.constructor.name : String(o.error);
  return `${kind}\n${text}`;
}

async function runCase(input: SandboxCase, counters: Counters): Promise<void> {
  if (!clangHere || !sentinel) {
    bump(counters, 'no-clang-scan-only');
    try {
      checkSource(input.src);
    } catch (e) {
      if (!(e instanceof SandboxError)) throw new Finding('untyped-error', `the early scan threw ${String(e)}`);
    }
    return;
  }
  const s = sentinel;
  const src = materialise(input.src, s);
  const o = await compile(src, input.scan);
  const { image, error, shown } = o;
  const typed = error instanceof SandboxError || error instanceof SandboxCompileError || error instanceof FormatError;
  if ((error !== undefined && !typed) || error instanceof CompilerBusyError) {
    throw new Finding('untyped-error', `the sandbox threw ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error)}`);
  }
  if (carries(s, shown)) throw new Finding('invariant', `a message carries the secret file's bytes: ${shown.slice(0, 400)}`);
  const serverPath = /femto-cc-\w+|femto-fuzz-oracle/.exec(shown) ?? (shown.includes(s.realInclude) ? [s.realInclude] : null);
  if (serverPath) throw new Finding('invariant', `a message names a server folder (${serverPath[0]}): ${shown.slice(0, 300)}`);
  if (input.twin) {
    bump(counters, 'twin');
    const ghost = await compile(materialise(input.src, s, s.ghosts), input.scan);
    const [a, b] = [signature(o, s), signature(ghost, s)];
    if (a !== b) throw new Finding('invariant', `existence oracle: the outcome differs when the named files exist (${a.slice(0, 200)}) and when they do not (${b.slice(0, 200)})`);
  }
  if (error instanceof SandboxError) {
    bump(counters, input.scan ? 'refused(scan on)' : 'refused(guard)');
    if (input.harmless && !input.scan) throw new Finding('invariant', `the guard refused a harmless source: ${error.message}`);
    return;
  }
  if (error instanceof SandboxCompileError) {
    bump(counters, error.limit ? `limit:${error.limit}` : 'compile-error');
    return;
  }
  if (error !== undefined) {
    bump(counters, 'format-error');
    return;
  }
  bump(counters, 'compiled');
  if (carries(s, image!)) throw new Finding('soundness', 'the image holds the secret file\'s bytes');
  const wrong = await oracle(src, s);
  if (wrong) throw new Finding('soundness', `the sandbox compiled it, but ${wrong}`);
}

export const sandboxTarget: Target<SandboxCase> = {
  name: 'sandbox',
  description: 'C compile sandbox: directives, comments, literals, splices, skipped blocks and file-reading attempts; judged by clang\'s own dependency lists, IR and the sentinel\'s bytes',
  allowed: ['SandboxError', 'SandboxCompileError', 'FormatError (elf, from the object loader)'],
  // A case starts clang one to five times (about 0.2-1 s): three shares of the run's time.
  weight: 3,
  setup() {
    clangHere = CLANG.present() && defaultIncludeDir() !== undefined;
    if (clangHere) sentinel = makeSentinel();
  },
  teardown() {
    if (sentinel) fs.rmSync(sentinel.dir, { recursive: true, force: true });
    sentinel = undefined;
  },
  generate: (rng) => generate(rng),
  run: (input, counters) => runCase(input, counters),
};
