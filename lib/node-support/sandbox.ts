/**
 * The compile sandbox for C typed into the Node-RED editor (issues 4 and 7). Source from a flow
 * is untrusted: a flow file or an editor user must not be able to read files of the server
 * through the compiler, run anything else, or hold the server.
 *
 * What is enforced, before and around lib/compiler's clang front:
 *  - clang runs without a shell (argument vector), in a private temporary folder that is removed
 *    afterwards, with `-nostdinc` and only the package's header folder (`lib/include`) on the
 *    include path; no user-supplied flag, define or include folder reaches the command line;
 *  - time limit (default 10 s, the process group is killed) and output limit (default 16 KiB of
 *    diagnostics), a source size limit (default 64 KiB);
 *  - the source is checked first, on the text as the preprocessor will see it (line splices
 *    `\`+newline joined, comments removed, strings kept): every directive that names a file —
 *    `#include`, `#include_next`, `#import`, `#embed` — must be exactly `"femto.h"` or
 *    `<femto.h>` (not a macro); `#line` and GNU line markers (they rename the file in messages),
 *    `__has_include`, `_Pragma`, `#pragma GCC dependency`/`system_header`/`poison`-style pragmas that
 *    name files, and inline assembly (`asm`, `__asm__`: `.incbin` would pull a file into the
 *    object) are refused. Digraph `%:` and trigraph `??=` spellings of `#` are treated as `#`.
 *    Each refusal names the line and what was refused;
 *  - diagnostics are rewritten so they name only `container.c` and `femto.h`: any other absolute
 *    path (the temporary folder, the package folder) is replaced, and a diagnostic about a file
 *    other than those two is dropped, so a compile error can never echo a file from outside.
 */
import * as path from 'node:path';
import { FormatError } from '../../vm/errors';
import { loadElf } from '../../vm/elf';
import { buildImage } from '../../vm/image';
import { ClangNotFoundError, CompileError, compileC, defaultIncludeDir, type Diagnostic } from '../compiler';

export const SANDBOX_TIMEOUT_MS = 10_000;
export const SANDBOX_MAX_OUTPUT = 16 * 1024;
export const SANDBOX_MAX_SOURCE = 64 * 1024;
export const SOURCE_NAME = 'container.c';

/** A source the sandbox refuses to compile; `line` is 1-based in the user's text. */
export class SandboxError extends FormatError {
  constructor(reason: string, readonly line?: number) {
    super('c', reason, line !== undefined ? { line } : {});
    this.name = 'SandboxError';
  }
}

/**
 * The text as the preprocessor sees it, line by line (1-based line numbers of the original):
 * splices joined onto the line they start on, comments blanked. String and character literals
 * are kept (a `//` inside a string is not a comment).
 */
function logicalLines(src: string): { line: number; text: string; at: number[] }[] {
  // Trigraph ??/ is a backslash, ??= a hash (clang only honours them with -trigraphs, but refuse
  // the spelling anyway rather than depend on that).
  const s = src.replace(/\?\?\//g, '\\').replace(/\?\?=/g, '#');
  const out: { line: number; text: string; at: number[] }[] = [];
  let line = 1;
  let cur = '';
  let at: number[] = [];
  const add = (t: string): void => {
    cur += t;
    for (let k = 0; k < t.length; k++) at.push(line);
  };
  let curLine = 1;
  let inBlock = false;
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    // Line splice: backslash + newline vanishes everywhere (even inside comments and strings).
    if (c === '\\' && (s[i + 1] === '\n' || (s[i + 1] === '\r' && s[i + 2] === '\n'))) {
      i += s[i + 1] === '\r' ? 2 : 1;
      line++;
      continue;
    }
    if (c === '\n') {
      if (!inBlock) {
        out.push({ line: curLine, text: cur, at });
        cur = '';
        at = [];
        curLine = line + 1;
      } else add(' ');
      quote = null;
      line++;
      continue;
    }
    if (inBlock) {
      if (c === '*' && s[i + 1] === '/') {
        inBlock = false;
        i++;
        add(' ');
      }
      continue;
    }
    if (quote) {
      add(c);
      if (c === '\\' && i + 1 < s.length && s[i + 1] !== '\n') add(s[++i]);
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '/' && s[i + 1] === '*') {
      inBlock = true;
      i++;
      continue;
    }
    if (c === '/' && s[i + 1] === '/') {
      // Skip to the end of the line, honouring splices (a spliced // comment continues).
      while (i + 1 < s.length && s[i + 1] !== '\n') {
        if (s[i + 1] === '\\' && s[i + 2] === '\n') { i += 2; line++; continue; }
        i++;
      }
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    add(c);
  }
  if (cur !== '' || out.length === 0) out.push({ line: curLine, text: cur, at });
  return out;
}

const FILE_DIRECTIVES = new Set(['include', 'include_next', 'import', 'embed']);
const ALLOWED_INCLUDE = /^(?:"femto\.h"|<femto\.h>)$/;

/** Refuse anything that could make clang read or name a file other than femto.h. Throws SandboxError. */
export function checkSource(source: string): void {
  if (typeof source !== 'string') throw new SandboxError('the C source is not text');
  if (source.length > SANDBOX_MAX_SOURCE) {
    throw new SandboxError(`the C source is ${source.length} characters, more than the limit of ${SANDBOX_MAX_SOURCE}`);
  }
  if (source.includes('\0')) throw new SandboxError('the C source contains a NUL character');
  for (const { line: first, text, at } of logicalLines(source)) {
    const lineOf = (i: number): number => at[i] ?? first;
    const m = /^\s*(?:#|%:)\s*([A-Za-z_]\w*|\d+)?(.*)$/.exec(text);
    if (m) {
      const line = lineOf(text.search(/[#%]/));
      const name = m[1] ?? '';
      const rest = m[2].trim();
      if (FILE_DIRECTIVES.has(name)) {
        if (!ALLOWED_INCLUDE.test(rest)) {
          throw new SandboxError(`#${name} ${rest || '(nothing)'} is not allowed: a container can only include "femto.h"`, line);
        }
        if (name !== 'include') throw new SandboxError(`#${name} is not allowed: use #include "femto.h"`, line);
        continue;
      }
      if (name === 'line' || /^\d+$/.test(name)) {
        throw new SandboxError('#line directives are not allowed (they rename the file in compiler messages)', line);
      }
      if (name === 'pragma' && /\b(dependency|system_header|include_instead|__debug|push_macro|pop_macro)\b|["<]/.test(rest)) {
        throw new SandboxError(`#pragma ${rest} is not allowed in a container`, line);
      }
    }
    const bad = /\b(__has_include_next|__has_include|__has_embed|_Pragma|__asm__|__asm|asm|__FILE__|__BASE_FILE__|__FILE_NAME__|__TIMESTAMP__)\b/.exec(stripLiterals(text));
    if (bad) {
      const line = lineOf(stripLiterals(text) === text ? bad.index : text.indexOf(bad[1]));
      const what = bad[1].includes('asm') ? 'inline assembly' : bad[1];
      throw new SandboxError(`${what} is not allowed in a container`, line);
    }
  }
}

function stripLiterals(text: string): string {
  return text.replace(/"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'/g, '""');
}

/** Keep only diagnostics about the user's file and femto.h, with no absolute path anywhere. */
export function sanitizeDiagnostics(diags: readonly Diagnostic[], includeDir?: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const d of diags) {
    const base = path.basename(d.file);
    let file: string;
    if (d.file === SOURCE_NAME || base === SOURCE_NAME) file = SOURCE_NAME;
    else if (base === 'femto.h' && (includeDir === undefined || path.dirname(d.file) === includeDir)) file = 'femto.h';
    else continue;
    out.push({ ...d, file, message: scrubPaths(d.message, includeDir) });
  }
  return out;
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
}

export interface SandboxOptions {
  timeoutMs?: number;
  maxOutputBytes?: number;
  /** The clang binary (default $FEMTO_CLANG or clang on PATH); never from a flow. */
  clang?: string;
}

/** A refused or failed compilation: `line` (1-based) when known, `diagnostics` sanitised. */
export class SandboxCompileError extends FormatError {
  constructor(reason: string, readonly line: number | undefined, readonly diagnostics: Diagnostic[]) {
    super('c', reason, line !== undefined ? { line } : {});
    this.name = 'SandboxCompileError';
  }
}

/**
 * Compile C source text from a flow into RIOT image bytes under the sandbox rules. Throws
 * SandboxError (refused before compiling), SandboxCompileError (clang's errors, sanitised),
 * ClangNotFoundError (no clang) or a FormatError from the ELF loader.
 */
export async function compileSandboxed(source: string, opts: SandboxOptions = {}): Promise<SandboxResult> {
  checkSource(source);
  const includeDir = defaultIncludeDir();
  try {
    const { object, warnings } = await compileC({ source, fileName: SOURCE_NAME }, {
      timeoutMs: opts.timeoutMs ?? SANDBOX_TIMEOUT_MS,
      maxOutputBytes: opts.maxOutputBytes ?? SANDBOX_MAX_OUTPUT,
      clang: opts.clang,
      optimize: 'O2',
    });
    return { image: buildImage(loadElf(object).image), warnings: sanitizeDiagnostics(warnings, includeDir) };
  } catch (e) {
    if (e instanceof ClangNotFoundError) throw e;
    if (e instanceof CompileError) {
      const diags = sanitizeDiagnostics(e.diagnostics, includeDir);
      const first = diags.find((d) => d.severity === 'error' || d.severity === 'fatal error');
      const lines = diags.filter((d) => d.severity !== 'note').map((d) => `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}`);
      const timeout = e.where.field === 'timeout';
      const reason = timeout
        ? `clang did not finish within ${opts.timeoutMs ?? SANDBOX_TIMEOUT_MS} ms and was stopped`
        : `compilation failed${lines.length ? ':\n' + lines.slice(0, 20).join('\n') : ''}`;
      throw new SandboxCompileError(reason, first && first.file === SOURCE_NAME ? first.line : undefined, diags);
    }
    if (e instanceof FormatError) throw new FormatError(e.format, scrubPaths(e.reason, includeDir), e.where);
    throw e;
  }
}
