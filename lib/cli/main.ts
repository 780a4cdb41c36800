#!/usr/bin/env node
/**
 * `femto`: the command-line tool of the femto-container VM (package bin). One module per command
 * beside this file; this one dispatches, prints help and version, and turns every error into one
 * clear message and an exit code (see io.ts): never a stack trace, unless FEMTO_DEBUG=1 and the
 * error is a bug.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../compiler';
import { UsageError } from './args';
import { asmCommand, HELP as ASM_HELP } from './asm';
import { buildCommand, HELP as BUILD_HELP } from './build';
import { disasmCommand, HELP as DISASM_HELP } from './disasm';
import { exitCodeFor, messageFor, processIo, EXIT_OK, type Io } from './io';
import { pluginCommand, HELP as PLUGIN_HELP } from './plugin';
import { runCommand, HELP as RUN_HELP } from './run';
import { simCommand, HELP as SIM_HELP } from './sim';
import { deviceCommand, HELP as DEVICE_HELP } from './device';
import { keygenCommand, HELP as KEYGEN_HELP } from './keygen';
import { signCommand, HELP as SIGN_HELP } from './sign';
import { deployCommand, HELP as DEPLOY_HELP } from './deploy';
import { verifyCommand, HELP as VERIFY_HELP } from './verify';

interface Command {
  summary: string;
  help: string;
  run(argv: string[], io: Io): Promise<number>;
}

export const COMMANDS: Record<string, Command> = {
  run: { summary: 'verify and run a program, print r0 and the instruction count', help: RUN_HELP, run: runCommand },
  verify: { summary: 'check a program as a board does before attaching it', help: VERIFY_HELP, run: verifyCommand },
  disasm: { summary: 'list the instructions of any program file', help: DISASM_HELP, run: disasmCommand },
  asm: { summary: 'assemble eBPF assembly into bytecode or a RIOT image', help: ASM_HELP, run: asmCommand },
  build: { summary: 'build a RIOT image from C, an ELF object or assembly', help: BUILD_HELP, run: buildCommand },
  plugin: { summary: 'the bpf_conformance plugin protocol (program hex on stdin)', help: PLUGIN_HELP, run: pluginCommand },
  sim: { summary: 'run a container on an emulated board: fire hook events, print each run', help: SIM_HELP, run: simCommand },
  device: { summary: 'run an emulated board reachable over CoAP (SUIT updates, /bpf/exec)', help: DEVICE_HELP, run: deviceCommand },
  keygen: { summary: 'make an Ed25519 key pair for signing container updates', help: KEYGEN_HELP, run: keygenCommand },
  sign: { summary: 'write a signed SUIT manifest for a container image', help: SIGN_HELP, run: signCommand },
  deploy: { summary: 'sign, serve and install an image on remote boards over CoAP', help: DEPLOY_HELP, run: deployCommand },
};

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
        const c = COMMANDS[rest[0]];
        if (!c) throw new UsageError(`femto help: unknown command '${rest[0]}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
        io.out(c.help);
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
      io.out(cmd.help);
      return EXIT_OK;
    }
    return await cmd.run(rest, io);
  } catch (e) {
    io.err(messageFor(e));
    return exitCodeFor(e);
  }
}

if (require.main === module) {
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
