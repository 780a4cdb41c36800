/**
 * Compiler front: C source → eBPF object (clang) → RIOT femto-container image (vm/elf + vm/image).
 *
 * clang runs as `clang -target bpf -O2 -nostdinc -I<repo>/lib/include -c src.c -o out.o` through
 * child_process.spawn with an argument vector (never a shell, so no file name or option can be
 * interpreted as shell syntax), in a private temporary folder that is always removed, under a
 * timeout (the process is killed when it expires) and with a cap on the diagnostics kept.
 * `-nostdinc`: a container has no libc; `femto.h` and the small headers beside it in `lib/include/`
 * are the only headers.
 * clang starts with a clean environment (clangEnvironment) and waits for its turn in the
 * process-wide compile queue (lib/compile-queue). runClang and startClang are also the process
 * layer of the sandbox's guarded compile (lib/node-support/compile-guard).
 *
 * Failures are typed: clang missing → ClangNotFoundError (says how to install it); compile errors
 * → CompileError carrying clang's diagnostics (file:line:col, paths shown as the user's file
 * name, not the temporary copy); object problems → the FormatError('elf') of vm/elf.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { packageRoot } from './package-root';
import { FormatError } from '../vm/errors';
import { loadElf } from '../vm/elf';
import { buildImage } from '../vm/image';
import { withCompileSlot } from './compile-queue';

export interface CompileOptions {
  /** Extra include directories (-I); `<repo>/lib/include` is always added when it exists. */
  includeDirs?: string[];
  /**
   * Keep clang's line table (`-g`, default true): faults and listings then name the C line. It
   * changes no instruction of the image (the loader ignores debug sections).
   */
  debug?: boolean;
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
  /**
   * How long to wait for a turn in the compile queue. Default: no limit — the tools compile their
   * own files, as many at once as they choose; requests to the server go through the sandbox,
   * whose compiles give up after the queue's 15 s.
   */
  queueWaitMs?: number;
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

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr as they came, capped at maxOutput bytes (a note says how much was dropped). */
  output: string;
  timedOut: boolean;
  /** `watchLine` asked to stop clang. */
  stopped: boolean;
}

export interface RunOptions {
  timeoutMs: number;
  maxOutput: number;
  /**
   * Called with every complete line clang writes to stderr, also those beyond maxOutput; return
   * true to kill clang at once (the compile guard stops clang the moment it enters a file it
   * must not read).
   */
  watchLine?: (line: string) => boolean;
}

/**
 * The environment clang runs with: only what finding programs and temporary files needs. Not the
 * server's own: CPATH, C_INCLUDE_PATH and friends add include folders even with -nostdinc,
 * CCC_OVERRIDE_OPTIONS edits clang's command line, CC_PRINT_HEADERS / CC_LOG_DIAGNOSTICS make it
 * write files elsewhere.
 */
export function clangEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { LC_ALL: 'C' };
  for (const k of ['PATH', 'TMPDIR', 'TMP', 'TEMP', 'SystemRoot', 'SYSTEMROOT', 'windir', 'PATHEXT', 'COMSPEC']) {
    if (env[k] !== undefined) out[k] = env[k];
  }
  return out;
}

let liveClangs = 0;
let peakClangs = 0;

/** clang processes running now, and the most at once since the last reset (tests of the queue). */
export function clangProcessCount(): { live: number; peak: number } {
  return { live: liveClangs, peak: peakClangs };
}
export function resetClangProcessPeak(): void {
  peakClangs = liveClangs;
}

/** Run clang (no shell, own process group, clean environment) under a timeout and an output cap. */
export function runClang(cmd: string, args: string[], cwd: string, opts: RunOptions): Promise<RunResult> {
  const { timeoutMs, maxOutput, watchLine } = opts;
  // POSIX: clang's driver may run `clang -cc1` as a child; its own process group lets the timeout
  // kill both (killing the driver alone would leave cc1 running and holding the output pipes).
  const group = process.platform !== 'win32';
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, { cwd, shell: false, detached: group, env: clangEnvironment(), stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    } catch (e) {
      reject(e);
      return;
    }
    liveClangs++;
    peakClangs = Math.max(peakClangs, liveClangs);
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
    let timedOut = false;
    let stopped = false;
    let done = false;
    const kill = () => {
      try {
        if (group && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    // Lines of stderr for watchLine, however long the output runs. A line longer than 64 KiB is
    // passed on cut there (with a trailing "…", so a watcher reading file names sees no real
    // name and can only refuse) and the rest of it skipped.
    let partial = '';
    let skipping = false;
    const decoder = new StringDecoder('utf8');
    const see = (line: string): boolean => {
      if (!watchLine!(line)) return false;
      stopped = true;
      kill();
      return true;
    };
    const watch = (b: Buffer) => {
      if (!watchLine || stopped) return;
      const parts = (partial + decoder.write(b)).split('\n');
      partial = parts.pop() ?? '';
      for (const [i, line] of parts.entries()) {
        if (i === 0 && skipping) {
          skipping = false;
          continue;
        }
        if (see(line.replace(/\r$/, ''))) return;
      }
      if (partial.length > 65_536 && !skipping) {
        if (see(partial.slice(0, 65_536) + '…')) return;
        partial = '';
        skipping = true;
      } else if (skipping) partial = '';
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', (b: Buffer) => {
      collect(b);
      watch(b);
    });
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (done) return;
      done = true;
      liveClangs--;
      clearTimeout(timer);
      if (partial && !skipping && watchLine && !stopped && watchLine(partial + decoder.end())) stopped = true;
      let output = Buffer.concat(chunks).toString('utf8');
      if (dropped > 0) output += `\n… (${dropped} more bytes of compiler output dropped)`;
      resolve({ code, signal, output, timedOut, stopped });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    child.on('error', (err) => {
      if (done) return;
      done = true;
      liveClangs--;
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      // After a kill, do not wait for stray grandchildren to close the pipes.
      if (timedOut || stopped) {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish(code, signal);
      }
    });
    child.on('close', finish);
  });
}

/** Start clang, turning "cannot start" into ClangNotFoundError or a FormatError naming the binary. */
export async function startClang(clang: string, args: string[], cwd: string, opts: RunOptions): Promise<RunResult> {
  try {
    return await runClang(clang, args, cwd, opts);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT' || err.code === 'EACCES') throw new ClangNotFoundError(clang, err.code);
    throw new FormatError('c', `could not run ${clang}: ${err.message}`, { field: 'clang' });
  }
}

/**
 * The CompileError for a clang run that failed (timed out, killed, or a non-zero exit), or
 * undefined when it succeeded. `output` is clang's text with the user's file names put back.
 */
export function compileErrorOf(res: RunResult, output: string, timeoutMs: number): CompileError | undefined {
  const diagnostics = parseDiagnostics(output);
  if (res.timedOut) {
    return new CompileError(`clang did not finish within ${timeoutMs} ms and was stopped`, diagnostics, output, { field: 'timeout' });
  }
  if (res.code === 0) return undefined;
  const first = diagnostics.find((d) => d.severity === 'error' || d.severity === 'fatal error');
  const summary = diagnostics.filter((d) => d.severity !== 'note').map((d) => `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}`);
  return new CompileError(
    `compilation failed${res.signal ? ` (clang killed by ${res.signal})` : ` (exit code ${res.code})`}:\n` +
      (summary.length ? summary.join('\n') : output.trim()),
    diagnostics,
    output,
    first ? { line: first.line, column: first.column } : {},
  );
}

/** The clang binary to use: the option, else $FEMTO_CLANG, else clang on PATH. */
export function clangBinary(clang?: string): string {
  return clang ?? process.env.FEMTO_CLANG ?? 'clang';
}

/**
 * Compile C to an eBPF ELF object with clang, for the tools (the CLI, `femto build`, the tests):
 * the caller's own files and flags. Source from a flow goes through lib/node-support/sandbox
 * instead. Waits for its turn in the process-wide compile queue (lib/compile-queue).
 */
export async function compileC(input: CInput, opts: CompileOptions = {}): Promise<{ object: Uint8Array; warnings: Diagnostic[]; compiledAs: string }> {
  const clang = clangBinary(opts.clang);
  const optimize = normaliseOptimize(opts.optimize);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxOutput = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const src = resolveInput(input);
  const includes = [...(opts.includeDirs ?? [])];
  const def = defaultIncludeDir();
  if (def && !includes.includes(def)) includes.push(def);
  for (const d of includes) {
    if (typeof d !== 'string' || d === '' || /[\0\r\n]/.test(d)) throw new FormatError('c', `include folder ${JSON.stringify(d)} is not a folder name`, { field: 'includeDirs' });
  }
  const defines = Object.entries(opts.defines ?? {}).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new FormatError('c', `invalid macro name "${k}"`, { field: 'defines' });
    // A line break would end the definition and start a directive of its own in clang's
    // predefines (an #include the source never wrote).
    if (v !== true && /[\0-\x1f\x7f]/.test(String(v))) throw new FormatError('c', `the value of macro ${k} contains a control character (line break, NUL, …)`, { field: 'defines' });
    return v === true ? `-D${k}` : `-D${k}=${v}`;
  });

  return withCompileSlot(async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-cc-'));
    try {
      let srcFile = src.file;
      if (srcFile === undefined) {
        srcFile = path.join(tmp, 'container.c');
        fs.writeFileSync(srcFile, src.text ?? '');
      }
      const outFile = path.join(tmp, 'out.o');
      const args = [
        '-target', 'bpf', optimize, ...(opts.debug === false ? [] : ['-g']), '-nostdinc', '-ffreestanding', '-fno-common', '-fno-color-diagnostics',
        // No reproducer files left in the system temp folder when the back end crashes, and no
        // source excerpts in messages.
        '-fno-crash-diagnostics', '-fno-caret-diagnostics',
        ...includes.map((d) => `-I${path.resolve(d)}`),
        ...defines,
        '-c', srcFile, '-o', outFile,
      ];
      const res = await startClang(clang, args, tmp, { timeoutMs, maxOutput });
      // Show the user's file name, not the temporary copy.
      const output = src.text !== undefined ? res.output.split(srcFile).join(src.display) : res.output;
      const failed = compileErrorOf(res, output, timeoutMs);
      if (failed) throw failed;
      const diagnostics = parseDiagnostics(output);
      if (!fs.existsSync(outFile)) throw new CompileError('clang reported success but wrote no object file', diagnostics, output);
      // compiledAs: the name clang recorded for the source (its line table names it so).
      return { object: new Uint8Array(fs.readFileSync(outFile)), warnings: diagnostics.filter((d) => d.severity === 'warning'), compiledAs: srcFile };
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }, { waitMs: opts.queueWaitMs ?? Infinity });
}

/** Compile C and convert it into RIOT femto-container image bytes. */
export async function buildFromC(input: CInput, opts: CompileOptions = {}): Promise<Uint8Array> {
  const { object } = await compileC(input, opts);
  return buildImage(loadElf(object).image);
}
