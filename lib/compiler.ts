/**
 * Compiler front: C source → eBPF object (clang) → RIOT femto-container image (vm/elf + vm/image).
 *
 * clang runs as `clang -target bpf -O2 -nostdinc -I<repo>/lib/include -c src.c -o out.o` through
 * child_process.spawn with an argument vector (never a shell, so no file name or option can be
 * interpreted as shell syntax), in a private temporary folder that is always removed, under a
 * timeout (the process is killed when it expires) and with a cap on the diagnostics kept.
 * `-nostdinc`: a container has no libc; `femto.h` (shipped in `lib/include/`) is the only header.
 *
 * Failures are typed: clang missing → ClangNotFoundError (says how to install it); compile errors
 * → CompileError carrying clang's diagnostics (file:line:col, paths shown as the user's file
 * name, not the temporary copy); object problems → the FormatError('elf') of vm/elf.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from './package-root';
import { FormatError } from '../vm/errors';
import { loadElf } from '../vm/elf';
import { buildImage } from '../vm/image';

export interface CompileOptions {
  /** Extra include directories (-I); `<repo>/lib/include` is always added when it exists. */
  includeDirs?: string[];
  /** Optimisation level: 'O0' | 'O1' | 'O2' | 'O3' | 'Os' | 'Oz' (a leading '-' is accepted). Default O2. */
  optimize?: string;
  /** Kill clang after this many ms (default 30 000). */
  timeoutMs?: number;
  /** The clang binary: a name looked up on PATH or a path (default $FEMTO_CLANG or 'clang'). */
  clang?: string;
  /** Preprocessor definitions (-DNAME or -DNAME=value). */
  defines?: Record<string, string | number | true>;
  /** Bytes of clang output kept for diagnostics (default 64 KiB). */
  maxOutputBytes?: number;
}

/** A C source given as text; `fileName` is what diagnostics call it (default "container.c"). */
export interface CSourceText {
  source: string;
  fileName?: string;
}
/** A C source file on disk. */
export interface CSourcePath {
  path: string;
}
/**
 * A plain string is a path when it has no line break and names an existing file; otherwise it is
 * source text. Use the object forms to say which explicitly.
 */
export type CInput = string | CSourceText | CSourcePath;

export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  severity: 'error' | 'warning' | 'note' | 'fatal error';
  message: string;
}

/** clang could not be started (not installed, not on PATH, or the given path is wrong). */
export class ClangNotFoundError extends FormatError {
  constructor(readonly clang: string, cause?: string) {
    super(
      'c',
      `C compiler "${clang}" not found${cause ? ` (${cause})` : ''}: install clang with eBPF support ` +
        '(Debian/Ubuntu: `apt-get install clang`; macOS: `brew install llvm`), ' +
        'or set the FEMTO_CLANG environment variable to the clang binary',
      { field: 'clang' },
    );
    this.name = 'ClangNotFoundError';
  }
}

/** clang rejected the source; `diagnostics` are parsed, `output` is clang's text (capped). */
export class CompileError extends FormatError {
  constructor(
    reason: string,
    readonly diagnostics: Diagnostic[],
    readonly output: string,
    where: { line?: number; column?: number; field?: string } = {},
  ) {
    super('c', reason, where);
    this.name = 'CompileError';
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), diagnostics: this.diagnostics };
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_OUTPUT = 64 * 1024;

/** The package root (where `lib/include/femto.h` lives), re-exported for the CLI. */
export { packageRoot };

/** `<package>/include` if it exists. */
export function defaultIncludeDir(): string | undefined {
  const dir = path.join(packageRoot(), 'lib', 'include');
  return fs.existsSync(dir) ? dir : undefined;
}

function normaliseOptimize(o: string | undefined): string {
  const v = (o ?? 'O2').replace(/^-/, '');
  const level = /^[0-3sz]$/.test(v) ? 'O' + v : v;
  if (!/^O[0-3sz]$/.test(level)) {
    throw new FormatError('c', `optimisation level "${o}" is not one of O0, O1, O2, O3, Os, Oz`, { field: 'optimize' });
  }
  return '-' + level;
}

function resolveInput(input: CInput): { text?: string; file?: string; display: string } {
  if (typeof input === 'string') {
    if (!/[\r\n]/.test(input) && input.length < 4096 && fs.existsSync(input) && fs.statSync(input).isFile()) {
      return { file: path.resolve(input), display: input };
    }
    return { text: input, display: 'container.c' };
  }
  if ('path' in input) {
    if (!fs.existsSync(input.path)) throw new FormatError('c', `source file ${input.path} does not exist`, { field: 'source' });
    return { file: path.resolve(input.path), display: input.path };
  }
  return { text: input.source, display: input.fileName ?? 'container.c' };
}

/** Parse clang's `file:line:col: severity: message` lines. */
export function parseDiagnostics(output: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  const re = /^(.*?):(\d+):(\d+): (fatal error|error|warning|note): (.*)$/;
  for (const line of output.split(/\r?\n/)) {
    const m = re.exec(line);
    if (m) {
      out.push({ file: m[1], line: Number(m[2]), column: Number(m[3]), severity: m[4] as Diagnostic['severity'], message: m[5] });
    }
  }
  return out;
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  timedOut: boolean;
}

function run(cmd: string, args: string[], cwd: string, timeoutMs: number, maxOutput: number): Promise<RunResult> {
  // POSIX: clang's driver runs `clang -cc1` as a child; its own process group lets the timeout
  // kill both (killing the driver alone would leave cc1 running and holding the output pipes).
  const group = process.platform !== 'win32';
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, { cwd, shell: false, detached: group, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    } catch (e) {
      reject(e);
      return;
    }
    const chunks: Buffer[] = [];
    let kept = 0;
    let dropped = 0;
    const collect = (b: Buffer) => {
      if (kept < maxOutput) {
        const part = b.subarray(0, maxOutput - kept);
        chunks.push(part);
        kept += part.length;
        dropped += b.length - part.length;
      } else dropped += b.length;
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    let timedOut = false;
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      let output = Buffer.concat(chunks).toString('utf8');
      if (dropped > 0) output += `\n… (${dropped} more bytes of compiler output dropped)`;
      resolve({ code, signal, output, timedOut });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (group && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.on('error', (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      // After a timeout, do not wait for stray grandchildren to close the pipes.
      if (timedOut) {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish(code, signal);
      }
    });
    child.on('close', finish);
  });
}

/** Compile C to an eBPF ELF object with clang. */
export async function compileC(input: CInput, opts: CompileOptions = {}): Promise<{ object: Uint8Array; warnings: Diagnostic[] }> {
  const clang = opts.clang ?? process.env.FEMTO_CLANG ?? 'clang';
  const optimize = normaliseOptimize(opts.optimize);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxOutput = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const src = resolveInput(input);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-cc-'));
  try {
    let srcFile = src.file;
    if (srcFile === undefined) {
      srcFile = path.join(tmp, 'container.c');
      fs.writeFileSync(srcFile, src.text ?? '');
    }
    const outFile = path.join(tmp, 'out.o');
    const includes = [...(opts.includeDirs ?? [])];
    const def = defaultIncludeDir();
    if (def && !includes.includes(def)) includes.push(def);
    const defines = Object.entries(opts.defines ?? {}).map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new FormatError('c', `invalid macro name "${k}"`, { field: 'defines' });
      return v === true ? `-D${k}` : `-D${k}=${v}`;
    });
    const args = [
      '-target', 'bpf', optimize, '-nostdinc', '-ffreestanding', '-fno-common', '-fno-color-diagnostics',
      // No reproducer files left in the system temp folder when the back end crashes, and no
      // source excerpts in messages (the only way another file's text could reach a user).
      '-fno-crash-diagnostics', '-fno-caret-diagnostics',
      ...includes.map((d) => `-I${path.resolve(d)}`),
      ...defines,
      '-c', srcFile, '-o', outFile,
    ];

    let res: RunResult;
    try {
      res = await run(clang, args, tmp, timeoutMs, maxOutput);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT' || err.code === 'EACCES') throw new ClangNotFoundError(clang, err.code);
      throw new FormatError('c', `could not run ${clang}: ${err.message}`, { field: 'clang' });
    }
    // Show the user's file name, not the temporary copy.
    const output = src.text !== undefined ? res.output.split(srcFile).join(src.display) : res.output;
    const diagnostics = parseDiagnostics(output);
    if (res.timedOut) {
      throw new CompileError(`clang did not finish within ${timeoutMs} ms and was stopped`, diagnostics, output, { field: 'timeout' });
    }
    if (res.code !== 0) {
      const first = diagnostics.find((d) => d.severity === 'error' || d.severity === 'fatal error');
      const summary = diagnostics.filter((d) => d.severity !== 'note').map((d) => `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}`);
      throw new CompileError(
        `compilation failed${res.signal ? ` (clang killed by ${res.signal})` : ` (exit code ${res.code})`}:\n` +
          (summary.length ? summary.join('\n') : output.trim()),
        diagnostics,
        output,
        first ? { line: first.line, column: first.column } : {},
      );
    }
    if (!fs.existsSync(outFile)) throw new CompileError('clang reported success but wrote no object file', diagnostics, output);
    return { object: new Uint8Array(fs.readFileSync(outFile)), warnings: diagnostics.filter((d) => d.severity === 'warning') };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Compile C and convert it into RIOT femto-container image bytes. */
export async function buildFromC(input: CInput, opts: CompileOptions = {}): Promise<Uint8Array> {
  const { object } = await compileC(input, opts);
  return buildImage(loadElf(object).image);
}
