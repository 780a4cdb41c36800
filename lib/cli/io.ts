/**
 * What a command talks to (so commands can be driven without a process), the exit codes, output
 * files, and how an error becomes one clear message.
 *
 * Exit codes of every command: 0 success; 1 the program was rejected by the verifier or faulted
 * (or, for `run --check`, returned something else than its vector expects); 2 bad input: usage,
 * unreadable or malformed files, compile errors; 3 an internal error (a bug: please report it;
 * FEMTO_DEBUG=1 prints its stack); 141 the reader of the output went away (see EXIT_PIPE_CLOSED).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FemtoError, FormatError, VerifyError, VmFault } from '../../vm/errors';
import type { CompileError } from '../compiler';
import { ProgramFileError } from '../program-kinds';

export const EXIT_OK = 0;
export const EXIT_REJECTED = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_INTERNAL = 3;

/**
 * The reader of our output went away (`femto disasm big.bin | head`): 141, the status a shell
 * reports for a command that SIGPIPE ended (128 + 13), as `cat` or `grep` get in the same place.
 * Not 0: the output was cut short, and a script with `set -o pipefail` learns that from every other
 * tool in a pipe, so it should from this one too. Nothing is printed: the reader chose to stop.
 */
export const EXIT_PIPE_CLOSED = 141;

/** Wrong use of the command line: exit code 2, one line on stderr. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface Io {
  /** One line (or several) of text on stdout; a newline is added. */
  out(text: string): void;
  /** Bytes on stdout, as they are. */
  outBytes(bytes: Uint8Array): void;
  /** One line on stderr; a newline is added. */
  err(text: string): void;
  /** All of stdin as text. */
  readStdin(): Promise<string>;
}

export function processIo(): Io {
  return {
    out: (t) => void process.stdout.write(t + '\n'),
    outBytes: (b) => void process.stdout.write(b),
    err: (t) => void process.stderr.write(t + '\n'),
    readStdin: () =>
      new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        process.stdin.on('data', (c: Buffer) => chunks.push(c));
        process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        process.stdin.on('error', reject);
      }),
  };
}

/**
 * A closed pipe on stdout or stderr ends the process at once and quietly, with EXIT_PIPE_CLOSED:
 * Node ignores SIGPIPE, so the write's EPIPE would otherwise surface as an uncaught error with a
 * stack trace. Any other write error (a full disk behind `> file`…) is not swallowed: one line on
 * stderr when it still works, and exit 2, as for an output file that cannot be written.
 */
export function endQuietlyOnClosedPipe(): void {
  for (const [stream, name] of [[process.stdout, 'stdout'], [process.stderr, 'stderr']] as const) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(EXIT_PIPE_CLOSED);
      try {
        fs.writeSync(2, `femto: cannot write to ${name}: ${e.message}\n`);
      } catch {
        // stderr is gone as well: the exit status is all that is left to say it.
      }
      process.exit(EXIT_BAD_INPUT);
    });
  }
}

/** Write an output file (or stdout for "-"); failures are ProgramFileErrors (exit 2). */
export function writeOutput(io: Io, file: string, bytes: Uint8Array): void {
  if (file === '-') {
    io.outBytes(bytes);
    return;
  }
  try {
    fs.writeFileSync(file, bytes);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why: Record<string, string> = {
      ENOENT: 'cannot write: the folder does not exist',
      EACCES: 'cannot write: permission denied',
      EISDIR: 'cannot write: is a directory',
    };
    throw new ProgramFileError(file, err.code ?? 'EIO', why[err.code ?? ''] ?? `cannot write (${err.message})`);
  }
}

/** `dir/x.s` → `dir/x.bin`; refuses to pick the input itself. */
export function defaultOutput(command: string, input: string, ext = '.bin'): string {
  const out = path.join(path.dirname(input), path.basename(input).replace(/\.[^.]*$/, '') + ext);
  if (path.resolve(out) === path.resolve(input)) {
    throw new UsageError(`femto ${command}: the default output ${out} would overwrite the input; give -o OUT`);
  }
  return out;
}

/** The exit code an error stands for. */
export function exitCodeFor(e: unknown): number {
  if (e instanceof UsageError || e instanceof ProgramFileError || e instanceof FormatError) return EXIT_BAD_INPUT;
  if (e instanceof VerifyError || e instanceof VmFault) return EXIT_REJECTED;
  return EXIT_INTERNAL;
}

/** The message for an error: never a stack, unless FEMTO_DEBUG asks for one on a bug. */
export function messageFor(e: unknown): string {
  if (e instanceof UsageError) return e.message;
  // clang's diagnostics already say file:line:col; the reason lists them.
  if (isCompileError(e)) return `femto: ${e.reason}`;
  if (e instanceof ProgramFileError || e instanceof FemtoError) return `femto: ${e.message}`;
  const err = e instanceof Error ? e : new Error(String(e));
  if (process.env.FEMTO_DEBUG) return `femto: internal error: ${err.stack ?? err.message}`;
  return `femto: internal error: ${err.message.split('\n')[0]} (a bug; FEMTO_DEBUG=1 shows where)`;
}

/**
 * A CompileError, recognised without loading the compiler for every other error: only C input
 * loads it, and only its errors (and the sandbox's) are FormatErrors of format 'c'.
 */
function isCompileError(e: unknown): e is CompileError {
  if (!(e instanceof FormatError) || e.format !== 'c') return false;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { CompileError: C } = require('../compiler') as typeof import('../compiler');
  return e instanceof C;
}

/** Unsigned 64-bit value as 0x hex. */
export function hex64(v: bigint): string {
  return '0x' + BigInt.asUintN(64, v).toString(16);
}
