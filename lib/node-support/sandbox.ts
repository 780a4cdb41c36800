/**
 * The compile sandbox for C typed into the Node-RED editor. Source from a flow
 * is untrusted: a flow file or an editor user must not be able to read files of the server
 * through the compiler, run anything else, or hold the server.
 *
 * The guard is clang's own view (compile-guard.ts): clang preprocesses with `-nostdinc` and only
 * the package's header folder, names every file it enters (`-H`) and lists what it read (`-MD`);
 * anything but the user's source and the shipped headers is refused before any of its output is
 * used. The compile runs on clang's preprocessed output, the LLVM IR it produced must hold no
 * inline or module-level assembly, the object is made from exactly that IR and may hold only the
 * sections the IR names. No user-supplied flag, define or include folder reaches a command line.
 *
 * Around it:
 *  - a friendly early scan of the text (checkSource) refuses the obvious — an include of anything
 *    but a shipped header, `#line`, inline assembly, file pragmas, `__has_include` — with the
 *    line, before clang runs. It is only for nicer messages: whatever it misses or misreads, the
 *    guard still decides (the fuzzer and tests run the guard with the scan off);
 *  - limits: time (default 10 s for the whole compile, clang's process group is killed), output
 *    (16 KiB of diagnostics per clang run), source size (64 KiB); on Linux also memory (512 MiB
 *    resident per clang process) and what clang writes into its folder (32 MiB), enforced by a
 *    /proc watcher (below); and one turn of the process-wide compile queue (lib/compile-queue);
 *  - diagnostics are rewritten so they name only `container.c` and the shipped headers (by their
 *    name in the header folder): any other absolute path is replaced by its base name, and a
 *    diagnostic about any other file is dropped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FormatError } from '../../vm/errors';
import { buildImage } from '../../vm/image';
import { loadElf } from '../../vm/elf';
import { renameFiles, type SourceMap } from '../../vm/source-map';
import { ClangNotFoundError, CompileError, defaultIncludeDir, type Diagnostic } from '../compiler';
import { CompilerBusyError } from '../compile-queue';
import { allowedHeadersText, compileGuarded, shippedHeaders, SOURCE_NAME } from './compile-guard';
import { SandboxCompileError, SandboxError, type SandboxLimit } from './sandbox-errors';

export { SandboxCompileError, SandboxError, SOURCE_NAME, type SandboxLimit };

export const SANDBOX_TIMEOUT_MS = 10_000;
export const SANDBOX_MAX_OUTPUT = 16 * 1024;
export const SANDBOX_MAX_SOURCE = 64 * 1024;

/**
 * The text as the preprocessor sees it, line by line (1-based line numbers of the original):
 * splices joined onto the line they start on, comments blanked. String and character literals
 * are kept (a `//` inside a string is not a comment).
 *
 * In clang's order: lines end at LF, CR LF or a lone CR; then (translation phase 2) every
 * backslash followed by optional blanks and a newline is removed, wherever it stands — also the
 * second backslash of `"\\"`, and between the `*` and `/` of a comment's end; only then are
 * comments and literals recognised. `trigraphs` says whether `??/` and `??=` count as `\` and `#`
 * (clang's default for C is no, with -trigraphs yes): checkSource looks at both readings.
 */
function logicalLines(src: string, trigraphs: boolean): { line: number; text: string; at: number[] }[] {
  let s0 = src.replace(/\r\n?/g, '\n');
  if (trigraphs) s0 = s0.replace(/\?\?\//g, '\\').replace(/\?\?=/g, '#');
  // Phase 2: splices, keeping the original line of every character left.
  let s = '';
  const lineAt: number[] = [];
  let line = 1;
  for (let i = 0; i < s0.length; i++) {
    const c = s0[i];
    if (c === '\\') {
      let j = i + 1;
      while (s0[j] === ' ' || s0[j] === '\t' || s0[j] === '\f' || s0[j] === '\v') j++;
      if (s0[j] === '\n') {
        i = j;
        line++;
        continue;
      }
    }
    s += c;
    lineAt.push(line);
    if (c === '\n') line++;
  }
  // Phase 3: comments and literals, then lines.
  const out: { line: number; text: string; at: number[] }[] = [];
  let cur = '';
  let at: number[] = [];
  let curLine = 1;
  const add = (t: string, i: number): void => {
    cur += t;
    for (let k = 0; k < t.length; k++) at.push(lineAt[i]);
  };
  let inBlock = false;
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\n') {
      if (!inBlock) {
        out.push({ line: curLine, text: cur, at });
        cur = '';
        at = [];
        curLine = lineAt[i] + 1;
      } else add(' ', i);
      quote = null;
      continue;
    }
    if (inBlock) {
      if (c === '*' && s[i + 1] === '/') {
        inBlock = false;
        i++;
        add(' ', i);
      }
      continue;
    }
    if (quote) {
      add(c, i);
      if (c === '\\' && i + 1 < s.length && s[i + 1] !== '\n') add(s[++i], i);
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '/' && s[i + 1] === '*') {
      inBlock = true;
      i++;
      continue;
    }
    if (c === '/' && s[i + 1] === '/') {
      while (i + 1 < s.length && s[i + 1] !== '\n') i++;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    add(c, i);
  }
  if (cur !== '' || out.length === 0) out.push({ line: curLine, text: cur, at });
  return out;
}

/** Text, at most SANDBOX_MAX_SOURCE characters, no NUL: checked whether or not the scan runs. */
function checkSize(source: string): void {
  if (typeof source !== 'string') throw new SandboxError('the C source is not text');
  if (source.length > SANDBOX_MAX_SOURCE) {
    throw new SandboxError(`the C source is ${source.length} characters, more than the limit of ${SANDBOX_MAX_SOURCE}`);
  }
  if (source.includes('\0')) throw new SandboxError('the C source contains a NUL character');
}

const FILE_DIRECTIVES = new Set(['include', 'include_next', 'import', 'embed']);

let headerNames: { dir: string | undefined; names: string[] } | undefined;
/** The shipped headers' `#include` names (femto.h, stdint.h, bpf/shared.h, …). */
function shipped(): string[] {
  const dir = defaultIncludeDir();
  if (!headerNames || headerNames.dir !== dir) headerNames = { dir, names: dir ? shippedHeaders(dir) : [] };
  return headerNames.names;
}

/**
 * The friendly early scan: refuse, with the line, what is plainly not allowed — an include of
 * anything but a shipped header, #include_next/#import/#embed, #line, file pragmas, inline
 * assembly, __has_include, _Pragma. Not the guard (compile-guard.ts is): it only gives nicer
 * messages for the common mistakes. Throws SandboxError.
 */
export function checkSource(source: string): void {
  checkSize(source);
  // Both readings of `??/` and `??=`: clang's default (plain characters) and -trigraphs.
  checkLines(logicalLines(source, false));
  checkLines(logicalLines(source, true));
}

function checkLines(lines: { line: number; text: string; at: number[] }[]): void {
  const headers = shipped();
  for (const { line: first, text, at } of lines) {
    const lineOf = (i: number): number => at[i] ?? first;
    const m = /^\s*(?:#|%:)\s*([A-Za-z_]\w*|\d+)?(.*)$/.exec(text);
    if (m) {
      const line = lineOf(text.search(/[#%]/));
      const name = m[1] ?? '';
      const rest = m[2].trim();
      if (FILE_DIRECTIVES.has(name)) {
        const named = /^(?:"([^"]*)"|<([^>]*)>)$/.exec(rest);
        const header = named ? (named[1] ?? named[2]) : undefined;
        if (header === undefined || !headers.includes(header)) {
          throw new SandboxError(`#${name} ${rest || '(nothing)'} is not allowed: ${allowedHeadersText(headers)}`, line);
        }
        if (name !== 'include') throw new SandboxError(`#${name} is not allowed: use #include "${header}"`, line);
        continue;
      }
      if (name === 'line' || /^\d+$/.test(name)) {
        throw new SandboxError('#line directives are not allowed (they rename the file in compiler messages)', line);
      }
      if (name === 'pragma' && /\b(dependency|system_header|include_instead|__debug|push_macro|pop_macro|module)\b|["<]/.test(rest)) {
        throw new SandboxError(`#pragma ${rest} is not allowed in a container`, line);
      }
    }
    const code = stripLiterals(text);
    const bad = /\b(__has_include_next|__has_include|__has_embed|_Pragma|__asm__|__asm|asm)\b/.exec(code);
    if (bad) {
      const line = lineOf(code === text ? bad.index : text.indexOf(bad[1]));
      const what = bad[1].includes('asm') ? 'inline assembly' : bad[1];
      throw new SandboxError(`${what} is not allowed in a container`, line);
    }
  }
}

function stripLiterals(text: string): string {
  return text.replace(/"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'/g, '""');
}

/**
 * Keep only diagnostics about the user's file and the shipped headers (named as in the header
 * folder, e.g. `femto.h`, `bpf/shared.h`), with no absolute path anywhere.
 */
export function sanitizeDiagnostics(diags: readonly Diagnostic[], includeDir?: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const d of diags) {
    let file: string;
    if (d.file === SOURCE_NAME || path.basename(d.file) === SOURCE_NAME) file = SOURCE_NAME;
    else if (includeDir !== undefined && path.isAbsolute(d.file)) {
      const rel = path.relative(includeDir, path.normalize(d.file));
      if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) continue;
      file = rel.split(path.sep).join('/');
    } else if (includeDir === undefined && path.basename(d.file) === 'femto.h') file = 'femto.h';
    else continue;
    out.push({ ...d, file, message: scrubPaths(d.message, includeDir) });
  }
  return out;
}

/**
 * A source map of the sandbox's object as the user may see it: the compile folder's source is
 * `fileName`, a shipped header its name in the header folder (femto.h, bpf/shared.h), anything
 * else its base name; and no path of the server (the map's `paths` are dropped).
 */
export function userFileNames(map: SourceMap, includeDir: string, fileName = SOURCE_NAME): SourceMap {
  const rename = (f: string): string => {
    if (f === SOURCE_NAME || path.basename(f) === SOURCE_NAME) return fileName;
    const rel = path.relative(includeDir, f);
    if (path.isAbsolute(f) && rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)) return rel.split(path.sep).join('/');
    return path.basename(f);
  };
  return { ...renameFiles(map, rename), paths: {} };
}

/** Replace absolute paths in a message by their base name (never show the server's folders). */
export function scrubPaths(text: string, includeDir?: string): string {
  let t = text;
  if (includeDir) t = t.split(includeDir + path.sep).join('');
  return t.replace(/(?:[A-Za-z]:)?(?:[\\/][\w.@+-]+){2,}/g, (p) => path.basename(p));
}

export interface SandboxResult {
  image: Uint8Array;
  warnings: Diagnostic[];
  /** The C line of every instruction slot (clang's -g line table), files named as the user knows them. */
  sourceMap?: SourceMap;
}

export interface SandboxOptions {
  timeoutMs?: number;
  maxOutputBytes?: number;
  /** Resident memory any one clang process may use, bytes (Linux; default 512 MiB). */
  maxMemoryBytes?: number;
  /** Bytes clang may have in its temporary folder: the object and its temporaries (Linux; default 32 MiB). */
  maxFileBytes?: number;
  /** The clang binary (default $FEMTO_CLANG or clang on PATH); never from a flow. */
  clang?: string;
  /** How long to wait for a turn in the compile queue (default: the queue's, 15 s). */
  queueWaitMs?: number;
  /** What the source map calls the user's file (the node's name + ".c"; default container.c). */
  fileName?: string;
  /**
   * false skips the friendly early scan (checkSource), leaving the guard alone: for the tests
   * and the fuzzer, which show that the guard holds without it. Never from a flow.
   */
  textScan?: boolean;
}

// ---- memory and file limits --------------------------------------------------------------------
//
// Node cannot set rlimits on a child, and `prlimit`/`ulimit` would mean another program or a
// shell. Instead, on Linux, while sandboxed compiles run, a 50 ms watcher walks this process's
// children and grandchildren in /proc (clang's driver and its `clang -cc1`), keeps those whose
// working folder is a compile folder (`femto-cc-*`, where lib/compiler runs clang) holding the
// source of one of our compiles, and kills the process group of one whose resident memory, or
// whose folder's size, is over that compile's limit. Elsewhere only the time limit applies.

export const SANDBOX_MAX_MEMORY = 512 * 1024 * 1024;
export const SANDBOX_MAX_FILES = 32 * 1024 * 1024;
const WATCH_MS = 50;

/** Whether the memory and file limits are enforced on this system. */
export const SANDBOX_LIMITS_ENFORCED = process.platform === 'linux' && fs.existsSync('/proc/self/task');

interface Watch {
  source: Buffer;
  maxMemory: number;
  maxFiles: number;
  dir?: string;
  stopped?: { limit: 'memory' | 'files'; bytes: number };
}

const watches = new Set<Watch>();
/** Compile folder → its watch (null: a compile that is not a sandboxed one). */
const owners = new Map<string, Watch | null>();
let watchTimer: NodeJS.Timeout | undefined;

function readProc(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** ppid and process group from /proc/PID/stat (the command name may hold spaces and parentheses). */
function procStat(pid: number | 'self'): { ppid: number; pgrp: number } | undefined {
  const st = readProc(`/proc/${pid}/stat`);
  if (!st) return undefined;
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), pgrp: Number(f[2]) };
}

/**
 * Every process below this one (clang's driver runs cc1 as a child; $FEMTO_CLANG may be a wrapper
 * that runs clang in turn), a few levels deep.
 */
function descendants(): number[] {
  const kids = (pid: number): number[] | undefined => {
    let tasks: string[];
    try {
      tasks = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      return [];
    }
    const out: number[] = [];
    for (const t of tasks) {
      const c = readProc(`/proc/${pid}/task/${t}/children`);
      if (c === undefined) return undefined; // kernel without CONFIG_PROC_CHILDREN
      for (const x of c.trim().split(/\s+/)) if (x) out.push(Number(x));
    }
    return out;
  };
  let childrenOf = kids;
  if (kids(process.pid) === undefined) {
    // Fallback: every process's parent, from /proc/PID/stat.
    const parent = new Map<number, number>();
    for (const e of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      const st = procStat(Number(e));
      if (st) parent.set(Number(e), st.ppid);
    }
    childrenOf = (pid) => [...parent.keys()].filter((p) => parent.get(p) === pid);
  }
  const all: number[] = [];
  let level = [process.pid];
  for (let depth = 0; depth < 6 && level.length; depth++) {
    level = level.flatMap((p) => childrenOf(p) ?? []);
    all.push(...level);
  }
  return all;
}

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s*(\d+)\s*kB/m.exec(readProc(`/proc/${pid}/status`) ?? '');
  return m ? Number(m[1]) * 1024 : 0;
}

function folderBytes(dir: string): number {
  let n = 0;
  try {
    for (const f of fs.readdirSync(dir)) {
      try {
        const st = fs.lstatSync(path.join(dir, f));
        if (st.isFile()) n += st.size;
      } catch {
        /* removed meanwhile */
      }
    }
  } catch {
    /* the folder is gone: the compile ended */
  }
  return n;
}

function ownerOf(dir: string): Watch | null | undefined {
  if (owners.has(dir)) return owners.get(dir);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(path.join(dir, SOURCE_NAME));
  } catch {
    return undefined; // not written yet, or gone
  }
  const w = [...watches].find((x) => !x.dir && x.source.equals(bytes)) ?? null;
  if (w) w.dir = dir;
  owners.set(dir, w);
  return w;
}

function scanCompiles(): void {
  const myGroup = procStat('self')?.pgrp;
  const sized = new Map<string, number>();
  for (const pid of descendants()) {
    let cwd: string;
    try {
      cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      continue;
    }
    if (!path.basename(cwd).startsWith('femto-cc-')) continue;
    const w = ownerOf(cwd);
    if (!w || w.stopped) continue;
    const rss = rssBytes(pid);
    if (!sized.has(cwd)) sized.set(cwd, folderBytes(cwd));
    const files = sized.get(cwd)!;
    if (rss <= w.maxMemory && files <= w.maxFiles) continue;
    w.stopped = rss > w.maxMemory ? { limit: 'memory', bytes: rss } : { limit: 'files', bytes: files };
    const group = procStat(pid)?.pgrp;
    try {
      // lib/compiler starts clang in its own process group: kill the driver and cc1 together.
      if (group && group !== myGroup && group > 1) process.kill(-group, 'SIGKILL');
      else process.kill(pid, 'SIGKILL');
    } catch {
      /* exited meanwhile */
    }
  }
}

function watchCompile(source: string, opts: SandboxOptions): Watch | undefined {
  if (!SANDBOX_LIMITS_ENFORCED) return undefined;
  const w: Watch = { source: Buffer.from(source, 'utf8'), maxMemory: opts.maxMemoryBytes ?? SANDBOX_MAX_MEMORY, maxFiles: opts.maxFileBytes ?? SANDBOX_MAX_FILES };
  watches.add(w);
  if (!watchTimer) {
    watchTimer = setInterval(() => {
      try {
        scanCompiles();
      } catch {
        /* /proc unreadable for a moment: try again at the next tick */
      }
    }, WATCH_MS);
    watchTimer.unref();
  }
  return w;
}

function unwatchCompile(w: Watch | undefined): void {
  if (!w) return;
  watches.delete(w);
  if (w.dir) owners.delete(w.dir);
  if (watches.size === 0) {
    owners.clear();
    clearInterval(watchTimer);
    watchTimer = undefined;
  }
}

const mib = (n: number): string => (n / (1024 * 1024)).toFixed(n % (1024 * 1024) ? 1 : 0);

/**
 * Compile C source text from a flow into RIOT image bytes under the sandbox rules. Throws
 * SandboxError (refused: by the early scan, or by the guard on clang's own view),
 * SandboxCompileError (clang's errors, sanitised, or a limit that stopped it: `limit`),
 * CompilerBusyError (no turn in the compile queue in time), ClangNotFoundError (no clang) or a
 * FormatError from the ELF loader.
 */
export async function compileSandboxed(source: string, opts: SandboxOptions = {}): Promise<SandboxResult> {
  if (opts.textScan === false) checkSize(source);
  else checkSource(source);
  const includeDir = defaultIncludeDir();
  if (includeDir === undefined) throw new SandboxError('the package\'s header folder (lib/include) is missing: C cannot be compiled');
  const timeoutMs = opts.timeoutMs ?? SANDBOX_TIMEOUT_MS;
  const watch = watchCompile(source, opts);
  try {
    const { object, warnings } = await compileGuarded(source, {
      includeDir, timeoutMs, maxOutputBytes: opts.maxOutputBytes ?? SANDBOX_MAX_OUTPUT, clang: opts.clang, queueWaitMs: opts.queueWaitMs,
    });
    const load = loadElf(object);
    const result: SandboxResult = { image: buildImage(load.image), warnings: sanitizeDiagnostics(warnings, includeDir) };
    if (load.sourceMap) result.sourceMap = userFileNames(load.sourceMap, includeDir, opts.fileName);
    return result;
  } catch (e) {
    // A refusal wins over everything: clang read (or was about to read) what it must not.
    if (e instanceof SandboxError || e instanceof ClangNotFoundError || e instanceof CompilerBusyError) throw e;
    if (watch?.stopped) {
      const { limit, bytes } = watch.stopped;
      throw new SandboxCompileError(limit === 'memory'
        ? `clang used more than ${mib(watch.maxMemory)} MiB of memory (${mib(bytes)} MiB) and was stopped: the source expands too much`
        : `clang wrote more than ${mib(watch.maxFiles)} MiB (${mib(bytes)} MiB) and was stopped: the object would be far larger than any container`,
      undefined, [], limit);
    }
    if (e instanceof CompileError) {
      const diags = sanitizeDiagnostics(e.diagnostics, includeDir);
      const first = diags.find((d) => d.severity === 'error' || d.severity === 'fatal error');
      const lines = diags.filter((d) => d.severity !== 'note').map((d) => `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}`);
      if (e.diagnostics.length === 0) {
        // Errors tied to no file (the BPF back end's "fatal error: error in backend: …", the
        // driver's "clang: error: …"): shown without paths, so the user learns why. Only when
        // clang printed no located diagnostic at all.
        for (const l of e.output.split(/\r?\n/)) {
          if (/^(?:clang(?:-[\d.]+)?: )?(?:fatal error|error): /.test(l) && lines.length < 20) lines.push(scrubPaths(l, includeDir));
        }
      }
      const elsewhere = e.diagnostics.length - diags.length;
      if (lines.length === 0 && elsewhere > 0) {
        lines.push(`${elsewhere} diagnostic${elsewhere === 1 ? '' : 's'} about a file other than ${SOURCE_NAME} and the shipped headers (did a #line directive rename the file?)`);
      }
      const timeout = e.where.field === 'timeout';
      const reason = timeout
        ? `clang did not finish within ${timeoutMs} ms and was stopped`
        : `compilation failed${lines.length ? ':\n' + lines.slice(0, 20).join('\n') : ''}`;
      throw new SandboxCompileError(reason, first && first.file === SOURCE_NAME ? first.line : undefined, diags, timeout ? 'time' : undefined);
    }
    if (e instanceof FormatError) throw new FormatError(e.format, scrubPaths(e.reason, includeDir), e.where);
    throw e;
  } finally {
    unwatchCompile(watch);
  }
}
