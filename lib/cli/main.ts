#!/usr/bin/env node
/**
 * `femto`: the command-line tool of the femto-container VM (package bin). One module per command
 * beside this file, their help texts in help.ts; this one dispatches, prints help and version, and
 * turns every error into one clear message and an exit code (see io.ts): never a stack trace,
 * unless FEMTO_DEBUG=1 and the error is a bug.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../package-root';
import { endQuietlyOnClosedPipe, exitCodeFor, messageFor, processIo, EXIT_OK, UsageError, type Io } from './io';

type CommandRun = (argv: string[], io: Io) => Promise<number>;

interface Command {
  summary: string;
  /** The command's code, loaded only to run it (its help is in help.ts). */
  load(): Promise<CommandRun>;
}

/*
 * Each command's module is required only when that command runs: between them they bring the VM
 * and its WebAssembly compiler, clang's driver, the board, CoAP, CBOR and node:crypto, and a
 * simple command (--version, --help, CMD --help) should start about as fast as node itself
 * (test/bench/startup.ts measures it; test/lib/cli.test.ts checks what stays unloaded).
 */
export const COMMANDS: Record<string, Command> = {
  run: { summary: 'verify and run a program, print r0 and the instruction count', load: async () => (await import('./run')).runCommand },
  verify: { summary: 'check a program as a board does before attaching it', load: async () => (await import('./verify')).verifyCommand },
  disasm: { summary: 'list the instructions of any program file', load: async () => (await import('./disasm')).disasmCommand },
  asm: { summary: 'assemble eBPF assembly into bytecode or a RIOT image', load: async () => (await import('./asm')).asmCommand },
  build: { summary: 'build a RIOT image from C, an ELF object or assembly', load: async () => (await import('./build')).buildCommand },
  plugin: { summary: 'the bpf_conformance plugin protocol (program hex on stdin)', load: async () => (await import('./plugin')).pluginCommand },
  sim: { summary: 'run a container on an emulated board: fire hook events, print each run', load: async () => (await import('./sim')).simCommand },
  device: { summary: 'run an emulated board reachable over CoAP (SUIT updates, /bpf/exec)', load: async () => (await import('./device')).deviceCommand },
  keygen: { summary: 'make an Ed25519 key pair for signing container updates', load: async () => (await import('./keygen')).keygenCommand },
  sign: { summary: 'write a signed SUIT manifest for a container image', load: async () => (await import('./sign')).signCommand },
  deploy: { summary: 'sign, serve and install an image on remote boards over CoAP', load: async () => (await import('./deploy')).deployCommand },
};

/** A command's help text (help.ts is loaded only for this). */
async function helpOf(command: string): Promise<string> {
  const { commandHelp } = await import('./help');
  const text = await commandHelp(command);
  if (text === undefined) throw new Error(`no help text for the command '${command}'`);
  return text;
}

export function version(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'usage: femto COMMAND [options] FILE',
    '',
    'Femto-containers: RFC 9669 eBPF programs for RIOT OS, verified and run in a sandboxed VM.',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`),
    '',
    'FILE may be a RIOT image ("rBPF"), an eBPF ELF object, C source (.c, needs clang), a',
    'bpf_conformance .data vector, assembly (.s), hex text or raw bytecode; --format forces one.',
    'Exit status: 0 ok, 1 rejected by the verifier or faulted, 2 bad input, 3 internal error.',
    '',
    '  femto COMMAND --help   help on a command',
    '  femto --version        the version',
  ].join('\n');
}

/** Run the CLI with arguments (without node and the script); resolves to the exit code. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  try {
    const [first, ...rest] = argv;
    if (first === undefined) {
      io.err(mainHelp());
      return 2;
    }
    if (first === '--help' || first === '-h' || first === 'help') {
      if (first === 'help' && rest[0] !== undefined) {
        if (!Object.prototype.hasOwnProperty.call(COMMANDS, rest[0])) {
          throw new UsageError(`femto help: unknown command '${rest[0]}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
        }
        io.out(await helpOf(rest[0]));
      } else io.out(mainHelp());
      return EXIT_OK;
    }
    if (first === '--version' || first === '-V' || first === '-v') {
      io.out(version());
      return EXIT_OK;
    }
    if (first.startsWith('-')) throw new UsageError(`femto: unknown option '${first}' (see femto --help)`);
    const cmd = Object.prototype.hasOwnProperty.call(COMMANDS, first) ? COMMANDS[first] : undefined;
    if (!cmd) throw new UsageError(`femto: unknown command '${first}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(await helpOf(first));
      return EXIT_OK;
    }
    const run = await cmd.load();
    return await run(rest, io);
  } catch (e) {
    io.err(messageFor(e));
    return exitCodeFor(e);
  }
}

if (require.main === module) {
  endQuietlyOnClosedPipe();
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`femto: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 3;
    },
  );
}
