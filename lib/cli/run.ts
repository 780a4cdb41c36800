/**
 * `femto run FILE [--mem HEX | --mem-file F] [--budget N] [--profile P] [--entry NAME]
 * [--tier interp|compiled|auto] [--json]`: verify and run a program once.
 *
 * Memory: --mem / --mem-file, else a `.data` vector's own `-- mem`; it becomes the context, r1
 * points at a writable copy and r2 holds its length (the conformance suite's convention). No
 * memory: r1 = 0. Helpers: cliHelperTable() (helper 5 = identity; RIOT's ids are granted but fault
 * −4 when called, until the board work brings them). Entry: an exported function of an image, a
 * label of an assembly program, or an instruction index.
 *
 * Output: `r0 = 0x… (decimal)` and `instructions: N`, or the fault; a `.data` vector's expected
 * result is compared. Exit: 0 ran to exit, 1 rejected by the verifier or faulted (or, with
 * --check, a result other than the vector expects), 2 bad input. JSON: one object
 * `{"r0":"0x…","insns":N,"fault":null}`, or `"fault":{"code":…,"pc":…,"message":…}`; a verifier
 * rejection has `"r0":null` and a fault with `"stage":"verify"` and the `rule`; a vector adds
 * `"expected"` and `"match"`. When the program carries line information (assembly, C, an ELF
 * object built with -g) the fault (or rejection) also has `"source":{"file":"oob.c","line":9}`,
 * and the text output a line `at oob.c:9`.
 */
import * as path from 'node:path';
import { FaultCode, FormatError, VerifyError, VmFault } from '../../vm/errors';
import { Vm, DEFAULT_BUDGET, type Tier } from '../../vm/vm';
import { sourceAt } from '../../vm/source-map';
import { loadProgramFile, parseHexBytes, readInputFile, type LoadedProgram } from '../program-input';
import {
  compileOptionSpec, compileOptionsFrom, flag, parseCommand, parseCount, parseFormat, parseHelperList, parseProfile,
  requireFile, str, UsageError,
} from './args';
import { cliHelperTable } from './helpers';
import { EXIT_OK, EXIT_REJECTED, hex64, type Io } from './io';

export const TIERS = ['interp', 'compiled', 'auto'] as const;


export async function runCommand(argv: string[], io: Io): Promise<number> {
  const p = parseCommand('run', argv, {
    mem: { type: 'string' },
    'mem-file': { type: 'string' },
    budget: { type: 'string' },
    profile: { type: 'string' },
    entry: { type: 'string' },
    helpers: { type: 'string' },
    tier: { type: 'string' },
    json: { type: 'boolean' },
    check: { type: 'boolean' },
    format: { type: 'string' },
    ...compileOptionSpec,
  }, 1);
  const file = requireFile('run', p);
  const profile = parseProfile('run', str(p, 'profile'));
  const budget = parseCount('run', '--budget', str(p, 'budget')) ?? DEFAULT_BUDGET;
  const tier = str(p, 'tier') ?? 'auto';
  if (!(TIERS as readonly string[]).includes(tier)) throw new UsageError(`femto run: unknown tier '${tier}' (interp, compiled or auto)`);
  const memArg = str(p, 'mem');
  const memFile = str(p, 'mem-file');
  if (memArg !== undefined && memFile !== undefined) throw new UsageError('femto run: give --mem or --mem-file, not both');
  const table = cliHelperTable();
  const helpersArg = str(p, 'helpers');
  const grants = parseHelperList('run', helpersArg, new Set(table.keys()));
  const json = flag(p, 'json');

  let mem: Uint8Array | undefined;
  if (memArg !== undefined) mem = hexOption('--mem', memArg);
  else if (memFile !== undefined) mem = readMemFile(memFile);
  const prog = await loadProgramFile(file, { format: parseFormat('run', str(p, 'format')), compile: compileOptionsFrom('run', p) });
  if (!json) for (const w of prog.warnings) io.err(`warning: ${w}`);
  if (mem === undefined && prog.mem !== undefined && prog.mem.length > 0) mem = prog.mem;

  let vm: Vm;
  try {
    vm = new Vm({ image: prog.image, text: prog.text, data: prog.data, rodata: prog.rodata, profile, budget, helpers: table, grants, tier: tier as Tier });
  } catch (e) {
    if (!(e instanceof VerifyError)) throw e;
    const source = sourceAt(prog.sourceMap, e.pc);
    if (json) {
      io.out(JSON.stringify({ r0: null, insns: 0, fault: { stage: 'verify', code: e.code, pc: e.pc, rule: e.rule, message: e.reason, insn: e.insn ?? null, ...(source ? { source } : {}) } }));
    } else {
      io.out(`${file}: ${e.message}`);
      if (source) io.out(`at ${source.file}:${source.line}`);
    }
    return EXIT_REJECTED;
  }
  const entry = entrySlot(prog, str(p, 'entry'), vm.program.length);
  const res = vm.run({ context: mem, contextWritable: true, lengthInR2: true, entry });

  const expected = prog.expected;
  const match = expected === undefined ? undefined : res.status === 'exit' && res.r0 === expected;
  let fault: VmFault | undefined = res.fault;
  if (res.status === 'suspended') {
    // No CLI helper suspends yet; should one do so, a single run cannot resume it.
    fault = new VmFault(FaultCode.ILLEGAL_CALL, 'the program suspended (a helper paused it); femto run cannot resume runs', -1);
  }
  const source = fault ? sourceAt(prog.sourceMap, fault.pc) : undefined;
  if (json) {
    const o: Record<string, unknown> = { r0: hex64(res.r0), insns: res.insns, fault: fault ? { ...fault.toJSON(), ...(source ? { source } : {}) } : null, ...tierReport(vm, tier as Tier) };
    if (expected !== undefined) {
      o.expected = hex64(expected);
      o.match = match;
    }
    io.out(JSON.stringify(o));
  } else {
    if (fault) {
      io.out(fault.message);
      if (source) io.out(`at ${source.file}:${source.line}`);
    } else io.out(`r0 = ${hex64(res.r0)} (${BigInt.asIntN(64, res.r0)})`);
    io.out(`instructions: ${res.insns}`);
    if (expected !== undefined) io.out(`expected r0 = ${hex64(expected)}: ${match ? 'ok' : 'MISMATCH'}`);
    const t = vm.tier;
    if (tier !== 'interp') {
      io.out(`tier: ${t.current}${t.compileMs !== undefined ? ` (compiled in ${t.compileMs.toFixed(2)} ms)` : ''}${t.reason ? ` — interpreter because ${t.reason}` : ''}`);
    }
  }
  if (fault) return EXIT_REJECTED;
  if (flag(p, 'check') && match === false) return EXIT_REJECTED;
  return EXIT_OK;
}

/**
 * The tier the run ended on, and why when it is not the one asked for (`compiled` that stayed
 * interpreted, or `auto` kept on the interpreter for a reason the Vm records).
 */
function tierReport(vm: Vm, asked: Tier): { tier: 'interp' | 'compiled'; tierReason?: string } {
  const t = vm.tier;
  if (asked === 'compiled' && t.current !== 'compiled') return { tier: t.current, tierReason: t.reason ?? 'the program could not be compiled' };
  if (asked === 'auto' && t.current === 'interp') {
    return { tier: t.current, tierReason: t.reason ?? 'auto: the run ended before the program was hot enough to compile' };
  }
  return { tier: t.current };
}

function hexOption(option: string, text: string): Uint8Array {
  try {
    return parseHexBytes(text);
  } catch (e) {
    if (e instanceof FormatError) throw new UsageError(`femto run: ${option}: ${e.reason}`);
    throw e;
  }
}

function readMemFile(file: string): Uint8Array {
  const bytes = readInputFile(file);
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.hex' && ext !== '.txt') return bytes;
  try {
    return parseHexBytes(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError('hex', `${file}: ${e.reason} (a ${ext} memory file holds hex bytes)`);
    throw e;
  }
}

/** --entry: exported function, assembly label, or instruction index. */
function entrySlot(prog: LoadedProgram, entry: string | undefined, length: number): number {
  if (entry === undefined) return 0;
  const f = prog.functions.find((fn) => fn.name === entry);
  if (f) return f.offset / 8;
  const label = prog.labels?.[entry];
  if (label !== undefined && label < length) return label;
  if (/^\d+$/.test(entry)) {
    const n = Number(entry);
    if (n < length) return n;
    throw new UsageError(`femto run: --entry ${entry} is past the end of the program (${length} slots)`);
  }
  const names = [...prog.functions.map((fn) => fn.name), ...Object.keys(prog.labels ?? {})];
  throw new UsageError(`femto run: --entry '${entry}' is not an exported function${prog.labels ? ' or label' : ''} of ${prog.file} (${names.length ? 'available: ' + names.join(', ') : 'it has none'})`);
}
