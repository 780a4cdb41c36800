/**
 * `femto plugin [MEM]`: the bpf_conformance suite's plugin protocol, so the suite's own runner
 * can test this VM (`bpf_conformance_runner --plugin_path femto --plugin_options plugin …`).
 *
 * The program arrives on stdin as one line of hex (bytes separated by white space or not); MEM,
 * when present, is the memory as hex bytes (the runner writes each byte followed by two spaces;
 * it may also arrive split over several arguments, which are joined). r1 = a writable copy of
 * the memory, r2 = its length, helper 5 = identity (the suite's environment), rfc9669 profile.
 *
 * Success: r0 in hex on stdout (bare digits, as the reference uBPF plugin prints it) and exit 0.
 * Rejection or fault: the error on stderr, exit 1. Unreadable input: exit 2.
 */
import { FormatError, VerifyError } from '../../vm/errors';
import { Vm, DEFAULT_BUDGET } from '../../vm/vm';
import { conformanceHelpers } from '../conformance-env';
import { parseHexBytes } from '../program-input';
import { parseCommand, parseCount, parseProfile, str, UsageError } from './args';
import { EXIT_BAD_INPUT, EXIT_OK, EXIT_REJECTED, type Io } from './io';


export async function pluginCommand(argv: string[], io: Io): Promise<number> {
  const p = parseCommand('plugin', argv, {
    profile: { type: 'string' },
    budget: { type: 'string' },
  }, Infinity);
  const profile = parseProfile('plugin', str(p, 'profile'));
  const budget = parseCount('plugin', '--budget', str(p, 'budget')) ?? DEFAULT_BUDGET;
  let mem: Uint8Array;
  try {
    mem = parseHexBytes(p.positionals.join(' '));
  } catch (e) {
    if (e instanceof FormatError) throw new UsageError(`femto plugin: memory argument: ${e.reason}`);
    throw e;
  }
  const input = await io.readStdin();
  const line = input.split(/\r?\n/).find((l) => l.trim() !== '');
  if (line === undefined) {
    io.err('femto plugin: no program on stdin (expected one line of hex bytes)');
    return EXIT_BAD_INPUT;
  }
  let text: Uint8Array;
  try {
    text = parseHexBytes(line);
  } catch (e) {
    if (e instanceof FormatError) {
      io.err(`femto plugin: program on stdin: ${e.reason}`);
      return EXIT_BAD_INPUT;
    }
    throw e;
  }
  let vm: Vm;
  try {
    vm = new Vm({ text, profile, budget, helpers: conformanceHelpers() });
  } catch (e) {
    if (e instanceof VerifyError) {
      io.err(e.message);
      return EXIT_REJECTED;
    }
    throw e;
  }
  const res = vm.run(mem.length ? { context: mem, contextWritable: true, lengthInR2: true } : {});
  if (res.status !== 'exit') {
    io.err(res.fault?.message ?? `run ended with status ${res.status}`);
    return EXIT_REJECTED;
  }
  io.out(res.r0.toString(16));
  return EXIT_OK;
}
