/**
 * The compile guard: C from a flow is compiled only on what clang itself
 * reports it read and produced, never on a re-reading of the text. Three clang runs in one private
 * folder, each checked before the next starts:
 *
 *  1. preprocess: `clang -E` with `-nostdinc -I<package>/lib/include` and nothing else on the
 *     include path. `-H` makes clang name every file it enters, on stderr, the moment it enters it
 *     (also a name a GNU line marker `# 1 "name" 1` claims to enter): a file that is neither the
 *     user's source nor a regular file under the shipped header folder (real paths: symlinks and
 *     `..` resolved) stops clang at once, whatever it would have done with the file's text after
 *     (so not even the time it takes can tell anything about it). Its dependency list (`-MD`,
 *     with `-MG` so missing headers are listed instead of failing) must name nothing else either:
 *     it also holds files found by `__has_include`, which `-H` does not show (and which are
 *     defined away: `-D__has_include(...)=0`). A refusal names the include as clang spelled it and
 *     carries none of clang's output: no byte of the file reaches a message;
 *  2. compile the preprocessed text (`-x cpp-output container.i`) to LLVM IR. A macro can print a
 *     `# include` or `# if __has_include(…)` line into the preprocessed text, and clang obeys it
 *     there: such lines are refused first (macroDirective), and the run has no include path and
 *     `-H` and a dependency list again, in which only container.i and the files of step 1 may
 *     appear. Then the IR
 *     (before optimisation, so dead code is still there) must hold no `asm`: no inline assembly
 *     (`asm sideeffect`, any `asm` call) and no `module asm`, whatever spelling or macro produced
 *     them — that is what could `.incbin` a file;
 *  3. the checked IR file itself is compiled to the object (`-x ir`, the -O2 pipeline once, so the
 *     object is the one a one-step compile makes), and every section the image will hold must be
 *     one clang's code generation makes by itself or one the IR names in its code (not in its
 *     debug metadata, which spells every identifier): nothing an assembler directive could have
 *     added.
 *
 * Step 2 compiles with `-g`: the object keeps clang's line table (`.debug_line`), so
 * faults and listings name the C line. The file it names is the one the preprocessed text's own
 * line markers name (container.c); -g changes no instruction of the image.
 *
 * Diagnostics of a run are passed on only after its checks passed, so they can only quote the
 * user's source and the shipped headers. The whole compile holds one turn of the process-wide
 * compile queue (lib/compile-queue) and shares one time limit.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadElf } from '../../vm/elf';
import { withCompileSlot } from '../compile-queue';
import { clangBinary, compileErrorOf, parseDiagnostics, startClang, type Diagnostic, type RunResult } from '../compiler';
import { SandboxError } from './sandbox-errors';

export const SOURCE_NAME = 'container.c';
const PREPROCESSED = 'container.i';
const IR_FILE = 'container.ll';
const OBJECT_FILE = 'out.o';
const DEPS_PRE = 'preprocess.d';
const DEPS_IR = 'compile.d';
const DEP_TARGET = 'deps';

export interface GuardOptions {
  /** The shipped header folder (lib/include). */
  includeDir: string;
  /** For the whole compile (all three clang runs). */
  timeoutMs: number;
  /** Bytes of clang output kept per run. */
  maxOutputBytes: number;
  clang?: string;
  /** Wait for a turn in the compile queue (default: the queue's). */
  queueWaitMs?: number;
}

export interface GuardedObject {
  object: Uint8Array;
  /** Warnings of the preprocessing and compiling runs (file names as clang wrote them). */
  warnings: Diagnostic[];
}

/** Flags of every run: no colours, no source excerpts, no crash reproducer files. */
const QUIET = ['-fno-color-diagnostics', '-fno-caret-diagnostics', '-fno-crash-diagnostics'];
const TARGET = ['-target', 'bpf', '-O2', '-ffreestanding', '-fno-common'];

/** The most text of clang's that the guard reads back (the preprocessed source, the IR). */
const MAX_READ_BACK = 64 * 1024 * 1024;

/** A file clang wrote, read as text, refused when larger than MAX_READ_BACK (where no watcher limits it). */
function readBack(file: string, what: string): string {
  const size = fs.statSync(file).size;
  if (size > MAX_READ_BACK) throw new SandboxError(`the ${what} is ${Math.round(size / 2 ** 20)} MiB, more than the ${MAX_READ_BACK / 2 ** 20} MiB a container may produce`);
  return fs.readFileSync(file, 'utf8');
}

/** The clang command lines, exported for the tests that pin them. */
export function guardArgs(includeDir: string): { preprocess: string[]; compile: string[]; codegen: string[] } {
  return {
    preprocess: [
      ...TARGET, ...QUIET, '-nostdinc', `-I${includeDir}`,
      // Probes of file existence answer 0 (newer clangs: __has_embed too).
      '-D__has_include(...)=0', '-D__has_include_next(...)=0', '-D__has_embed(...)=0', '-Wno-builtin-macro-redefined',
      '-E', '-H', '-MD', '-MF', DEPS_PRE, '-MT', DEP_TARGET, '-Xclang', '-MG',
      SOURCE_NAME, '-o', PREPROCESSED,
    ],
    compile: [
      ...TARGET, ...QUIET, '-nostdinc', '-g', '-Xclang', '-disable-llvm-passes', '-S', '-emit-llvm', '-H',
      '-Xclang', '-dependency-file', '-Xclang', DEPS_IR, '-Xclang', '-MT', '-Xclang', DEP_TARGET,
      '-x', 'cpp-output', PREPROCESSED, '-o', IR_FILE,
    ],
    codegen: [...TARGET, ...QUIET, '-c', '-x', 'ir', IR_FILE, '-o', OBJECT_FILE],
  };
}

// ---- which files may be read ---------------------------------------------------------------------

interface Allowed {
  cwd: string;
  files: Set<string>;
  /** Real path of the header folder, with a trailing separator. */
  under?: string;
}

function realpath(p: string): string | undefined {
  try {
    return fs.realpathSync.native(p);
  } catch {
    return undefined;
  }
}

/** True when `p` (as clang named it, relative to the compile folder) is an allowed regular file. */
function isAllowed(p: string, a: Allowed): boolean {
  const real = realpath(path.resolve(a.cwd, p));
  if (real === undefined) return false;
  if (a.files.has(real)) return true;
  if (a.under === undefined || !real.startsWith(a.under)) return false;
  try {
    return fs.statSync(real).isFile();
  } catch {
    return false;
  }
}

/** The header files shipped in the include folder, as `#include` names (femto.h, bpf/shared.h, …). */
export function shippedHeaders(includeDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, prefix: string, depth: number): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((x, y) => x.name.localeCompare(y.name))) {
      if (e.isDirectory() && depth < 4) walk(path.join(dir, e.name), `${prefix}${e.name}/`, depth + 1);
      else if (e.isFile() && e.name.endsWith('.h')) out.push(prefix + e.name);
    }
  };
  walk(includeDir, '', 0);
  return out.sort((x, y) => (x === 'femto.h' ? -1 : y === 'femto.h' ? 1 : x.localeCompare(y)));
}

/** What a refused include is told: the headers it may include instead. */
export function allowedHeadersText(headers: readonly string[]): string {
  const others = headers.filter((h) => h !== 'femto.h');
  return `a container can only include "femto.h"${others.length ? ` and the other headers shipped with it (${others.join(', ')})` : ''}`;
}

/**
 * A path as clang printed it, for a message: the compile folder and the header folder left out
 * (the server's folders are nobody's business). What remains was spelled by the user's source or
 * a shipped header: the first file refused is always named by a file that was allowed.
 */
function shown(p: string, cwd: string, includeDir: string): string {
  for (const dir of [cwd, realpath(cwd), includeDir, realpath(includeDir)]) {
    if (dir && p.startsWith(dir + path.sep)) return p.slice(dir.length + 1);
  }
  // clang names a file found next to the source "./name", a missing one as spelled: the same
  // name either way, so that the message does not tell whether the file exists.
  return p.replace(/^(?:\.\/)+/, '');
}

/** The first line of the user's text mentioning `needle` (best effort: only for the message). */
function lineMentioning(source: string, needle: string | RegExp): number | undefined {
  const lines = source.split(/\r\n?|\n/);
  const i = lines.findIndex((l) => (typeof needle === 'string' ? l.includes(needle) : needle.test(l)));
  return i >= 0 ? i + 1 : undefined;
}

// ---- clang's dependency list ---------------------------------------------------------------------

/**
 * The files of a Make-style dependency list as clang writes it (`deps: a b \` newline `  c`; in a
 * name a space is `\ ` with the backslashes before it doubled, `#` is `\#`, `$` is `$$`). Names
 * clang does not escape (tabs, line breaks) come out split: the pieces then fail the check, so a
 * misreading can only refuse, never admit.
 */
export function parseDependencyList(text: string): string[] | undefined {
  if (!text.startsWith(`${DEP_TARGET}:`)) return undefined;
  const body = text.slice(DEP_TARGET.length + 1).replace(/ \\\r?\n/g, ' ');
  const out: string[] = [];
  let cur = '';
  const end = (): void => {
    if (cur !== '') out.push(cur);
    cur = '';
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\') {
      let j = i;
      while (body[j] === '\\') j++;
      const n = j - i;
      if (body[j] === ' ') {
        cur += '\\'.repeat(n >> 1);
        if (n % 2 === 1) cur += ' ';
        else end();
        i = j;
      } else if (body[j] === '#') {
        cur += '\\'.repeat(n - 1) + '#';
        i = j;
      } else {
        cur += '\\'.repeat(n);
        i = j - 1;
      }
    } else if (c === '$' && body[i + 1] === '$') {
      cur += '$';
      i++;
    } else if (c === ' ' || c === '\n' || c === '\r' || c === '\t') {
      end();
    } else {
      cur += c;
    }
  }
  end();
  return out;
}

function readDependencyList(file: string): string[] | undefined {
  let text: string;
  try {
    if (fs.statSync(file).size > 1024 * 1024) return undefined;
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  return parseDependencyList(text);
}

/**
 * Names clang gives the predefined macros and the command line's definitions: `-H` lists them
 * when line markers re-enter them in preprocessed text. No file is read under these names.
 */
const PSEUDO_FILES = new Set(['<built-in>', '<command line>']);

/** A `-H` line: dots (the include depth), a space, the file clang entered. */
function enteredFile(line: string): string | undefined {
  const m = /^\.+ (.+)$/.exec(line);
  return m ? m[1] : undefined;
}

/** clang's output without its `-H` lines (they name the server's header folder). */
function withoutEnteredFiles(output: string): string {
  return output.split('\n').filter((l) => enteredFile(l) === undefined).join('\n');
}

// ---- what clang produced -------------------------------------------------------------------------

/**
 * A directive a macro printed into the preprocessed text: clang obeys it when it compiles that
 * text, where neither `-D__has_include(...)=0` nor `-MG` applies, so `# if __has_include(…)`
 * or `# include` of a missing file would tell whether a file exists. clang writes only line
 * markers (`# N "file" flags`) and `#pragma` lines at the start of a line; a line whose first token
 * is `#` or `%:` otherwise came from a macro — and is a syntax error in a one-step compile, so
 * refusing it costs no valid program. Pragmas that name files or modules are refused too.
 * Returns the offending line and the user's line it came from, or undefined.
 */
export function macroDirective(preprocessed: string): { text: string; line?: number; pragma?: true } | undefined {
  let file = '';
  let line = 0;
  for (const l of preprocessed.split(/\r\n|\r|\n/)) {
    const marker = /^# (\d+) "((?:[^"\\]|\\.)*)"(?: \d+)*$/.exec(l);
    if (marker) {
      line = Number(marker[1]);
      file = marker[2];
      continue;
    }
    const t = l.replace(/^[ \t\f\v]+/, '');
    if ((t.startsWith('#') || t.startsWith('%:')) && !(/^#pragma\b/.test(l) && !/\b(?:dependency|include_alias|include_instead|module|__debug|embed)\b/.test(l))) {
      return { text: t.length > 80 ? `${t.slice(0, 80)}…` : t, line: file === SOURCE_NAME ? line : undefined, ...(/^#pragma\b/.test(l) ? { pragma: true as const } : {}) };
    }
    line++;
  }
  return undefined;
}

export interface AssemblyFound {
  /** "module asm" or "inline assembly". */
  what: string;
  /** The function holding it (inline assembly). */
  fn?: string;
  /** The IR line (for tests). */
  irLine: number;
}

/**
 * The first `asm` in LLVM IR text: `module asm "…"` or an inline `asm [sideeffect] "…"` call.
 * LLVM prints every string with `"` and `\` escaped (\22, \5C), so removing `"…"` removes strings
 * whole; names carry a sigil (% @ ! $ #) or are quoted; comments start with `;`. What is left
 * holds only keywords, and the keyword `asm` means assembly. Any doubt refuses.
 */
export function findAssembly(ir: string): AssemblyFound | undefined {
  let fn: string | undefined;
  const lines = ir.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const bare = lines[i]
      .replace(/"[^"]*"/g, '""')
      .replace(/;.*$/, '')
      .replace(/[%@!$#](?:""|[-\w$.]+)/g, ' ');
    const def = /^define\b[^@]*@("(?:[^"]*)"|[-\w$.]+)/.exec(lines[i]);
    if (def) fn = def[1].replace(/^"|"$/g, '');
    if (/^\s*}\s*$/.test(lines[i])) fn = undefined;
    if (/\basm\b/.test(bare)) {
      return /^\s*module\s+asm\b/.test(bare) ? { what: 'module asm', irLine: i + 1 } : { what: 'inline assembly', fn, irLine: i + 1 };
    }
  }
  return undefined;
}

/**
 * Every string literal of the IR's code, unescaped (section names among them). Metadata lines
 * (`!0 = …`, debug information) are left out: they spell every identifier and file name, and a
 * section is named by a `section "…"` of a global or function, never there.
 */
function irStrings(ir: string): Set<string> {
  const out = new Set<string>();
  const code = ir.split('\n').filter((l) => !l.startsWith('!')).join('\n');
  for (const m of code.matchAll(/"([^"]*)"/g)) {
    out.add(m[1].replace(/\\([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))));
  }
  return out;
}

/** Sections clang's BPF code generation makes by itself. */
const DEFAULT_SECTION = /^\.(?:text|data|bss|rodata)$|^\.rodata\.(?:str\d+\.\d+|cst\d+)$/;
/** A section name that is plainly a name (no quotes, blanks or line breaks). */
const PLAIN_SECTION = /^[A-Za-z0-9_.$/-]{1,200}$/;

/**
 * The loaded sections of the object: each made by code generation or named in the IR (a
 * `section` attribute or pragma). An assembler directive's section is neither. Returns the
 * offending name, or undefined.
 */
export function unexpectedSection(object: Uint8Array, ir: string): string | undefined {
  const named = irStrings(ir);
  for (const s of loadElf(object).sections) {
    if (!PLAIN_SECTION.test(s.name)) return s.name;
    if (!DEFAULT_SECTION.test(s.name) && !named.has(s.name)) return s.name;
  }
  return undefined;
}

// ---- the guarded compile -------------------------------------------------------------------------

function refuseInclude(name: string, source: string, headers: string[]): never {
  const base = path.basename(name);
  throw new SandboxError(
    `#include of ${JSON.stringify(name)} is not allowed: ${allowedHeadersText(headers)}`,
    lineMentioning(source, name) ?? lineMentioning(source, base),
  );
}

/**
 * Compile C source text from a flow to an eBPF object under the guard. Throws SandboxError (a
 * refusal), CompileError (clang's errors, file names as clang wrote them: the caller sanitises),
 * ClangNotFoundError, CompilerBusyError, or FormatError('elf') from the object's loader.
 */
export async function compileGuarded(source: string, opts: GuardOptions): Promise<GuardedObject> {
  const clang = clangBinary(opts.clang);
  const includeDir = path.resolve(opts.includeDir);
  const headers = shippedHeaders(includeDir);
  return withCompileSlot(async () => {
    const deadline = Date.now() + opts.timeoutMs;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-cc-'));
    try {
      fs.writeFileSync(path.join(tmp, SOURCE_NAME), source);
      const realInc = realpath(includeDir);
      const realTmp = realpath(tmp);
      if (realInc && realTmp && (realTmp + path.sep).startsWith(realInc + path.sep)) {
        // Every compile folder's files would count as shipped headers.
        throw new SandboxError('the temporary folder lies inside the header folder (lib/include): set TMPDIR elsewhere to compile C');
      }
      const args = guardArgs(includeDir);
      const run = (argv: string[], watchLine?: (l: string) => boolean): Promise<RunResult> =>
        startClang(clang, argv, tmp, { timeoutMs: Math.max(1, deadline - Date.now()), maxOutput: opts.maxOutputBytes, watchLine });
      const failure = (res: RunResult) => compileErrorOf(res, withoutEnteredFiles(res.output), opts.timeoutMs);
      /** A run that may read only `allowed`: stopped when -H names another file, then its dependency list checked. */
      const confined = async (argv: string[], allowed: Allowed, depsFile: string): Promise<{ res: RunResult; deps?: string[]; outside?: string }> => {
        let outside: string | undefined;
        const res = await run(argv, (line) => {
          const f = enteredFile(line);
          if (f === undefined || PSEUDO_FILES.has(f) || isAllowed(f, allowed)) return false;
          outside ??= f;
          return true;
        });
        const deps = readDependencyList(path.join(tmp, depsFile));
        return { res, deps, outside: outside ?? deps?.find((f) => !isAllowed(f, allowed)) };
      };
      const noDeps = (of: string) => new SandboxError(`clang wrote no usable dependency list for ${of}, so what it read cannot be checked: refused`);

      // 1. Preprocess: only the source and the shipped headers may be entered or found.
      const pre: Allowed = { cwd: tmp, files: new Set([realpath(path.join(tmp, SOURCE_NAME))!]), under: realInc && realInc + path.sep };
      const s1 = await confined(args.preprocess, pre, DEPS_PRE);
      if (s1.outside !== undefined) refuseInclude(shown(s1.outside, tmp, includeDir), source, headers);
      const f1 = failure(s1.res);
      if (f1) throw f1;
      if (s1.deps === undefined) throw noDeps('the source');
      const warnings = parseDiagnostics(withoutEnteredFiles(s1.res.output)).filter((d) => d.severity === 'warning');

      const printed = macroDirective(readBack(path.join(tmp, PREPROCESSED), 'preprocessed source'));
      if (printed) {
        throw new SandboxError(printed.pragma
          ? `${printed.text} is not allowed in a container (a pragma that names files or modules, or a debugging pragma)`
          : `a macro expanded into a preprocessor directive (${printed.text}): not allowed in a container`, printed.line);
      }

      // 2. Compile the preprocessed text to IR. `-H` also names the files its line markers
      //    enter (the source, the headers, <built-in>): those are no reads. A directive that a
      //    macro printed into the text may read container.i, the source or a header, nothing else.
      const own: Allowed = { ...pre, files: new Set([...pre.files, realpath(path.join(tmp, PREPROCESSED)) ?? '\0']) };
      const s2 = await confined(args.compile, own, DEPS_IR);
      if (s2.outside !== undefined) {
        throw new SandboxError(`a macro expanded into a preprocessor directive that names ${JSON.stringify(shown(s2.outside, tmp, includeDir))}: not allowed in a container`);
      }
      const f2 = failure(s2.res);
      if (f2) throw f2;
      if (s2.deps === undefined) throw noDeps('the preprocessed source');
      warnings.push(...parseDiagnostics(withoutEnteredFiles(s2.res.output)).filter((d) => d.severity === 'warning'));
      const ir = readBack(path.join(tmp, IR_FILE), 'LLVM IR');
      const asm = findAssembly(ir);
      if (asm) {
        throw new SandboxError(
          `${asm.what === 'module asm' ? 'module-level assembly (asm outside a function)' : `inline assembly${asm.fn ? ` (in function ${asm.fn})` : ''}`} is not allowed in a container`,
          lineMentioning(source, /\b(?:asm|__asm__|__asm)\b/),
        );
      }

      // 3. Code generation from exactly the IR checked above.
      const r3 = await run(args.codegen);
      const f3 = failure(r3);
      if (f3) throw f3;
      const object = new Uint8Array(fs.readFileSync(path.join(tmp, OBJECT_FILE)));
      const section = unexpectedSection(object, ir);
      if (section !== undefined) {
        throw new SandboxError(PLAIN_SECTION.test(section)
          ? `the object holds a section ${JSON.stringify(section)} that the compiled code does not name: refused (assembler directives are not allowed)`
          : `the section name ${JSON.stringify(section)} is not allowed: use letters, digits and . _ $ / - only`);
      }
      // A #pragma message is obeyed by both runs: say it once.
      const seen = new Set<string>();
      return { object, warnings: warnings.filter((d) => !seen.has(JSON.stringify(d)) && !!seen.add(JSON.stringify(d))) };
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }, { waitMs: opts.queueWaitMs });
}
