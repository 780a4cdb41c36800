/**
 * Argument handling shared by the `femto` commands: node:util parseArgs with its errors turned
 * into one-line UsageErrors, and the value parsers (numbers, profiles, helper lists, hex).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PROFILES, type Profile } from '../../vm/verifier';
import { RIOT_HELPER_IDS, riotHelper, riotHelperByName } from '../../vm/helper-ids';
import { PROGRAM_KINDS, type ProgramKind } from '../program-kinds';
import type { CompileOptions } from '../compiler';
import { CONFORMANCE_HELPER_ID } from '../conformance-env';
import { UsageError } from './io';

export { UsageError };

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** parseArgs, strict, with messages in the command's words. */
export function parseCommand(command: string, argv: string[], options: OptionSpec, maxPositionals: number): Parsed {
  let r: Parsed;
  try {
    r = parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as Parsed;
  } catch (e) {
    const err = e as Error & { code?: string };
    const m = /'(-[^']*)'/.exec(err.message);
    const opt = m ? m[1].split(' ')[0] : '';
    const hint = `(see femto ${command} --help)`;
    switch (err.code) {
      case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
        throw new UsageError(`femto ${command}: unknown option '${opt}' ${hint}`);
      case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
        const what = /argument missing/.test(err.message)
          ? 'needs a value'
          : /ambiguous/.test(err.message)
            ? `needs a value (for a value starting with '-', write ${opt}=VALUE)`
            : 'takes no value';
        throw new UsageError(`femto ${command}: ${opt ? `option '${opt}'` : 'an option'} ${what} ${hint}`);
      }
      case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
        throw new UsageError(`femto ${command}: unexpected argument ${hint}`);
      default:
        throw new UsageError(`femto ${command}: ${err.message.split('\n')[0]} ${hint}`);
    }
  }
  if (r.positionals.length > maxPositionals) {
    throw new UsageError(`femto ${command}: unexpected argument '${r.positionals[maxPositionals]}' (see femto ${command} --help)`);
  }
  return r;
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function flag(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

export function list(p: Parsed, name: string): string[] {
  const v = p.values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

/** The one required FILE positional. */
export function requireFile(command: string, p: Parsed): string {
  const f = p.positionals[0];
  if (f === undefined || f === '') throw new UsageError(`femto ${command}: missing FILE (see femto ${command} --help)`);
  return f;
}

export function parseProfile(command: string, v: string | undefined): Profile {
  if (v === undefined) return 'rfc9669';
  if (!(PROFILES as readonly string[]).includes(v)) {
    throw new UsageError(`femto ${command}: unknown profile '${v}' (one of ${PROFILES.join(', ')})`);
  }
  return v as Profile;
}

export function parseFormat(command: string, v: string | undefined): ProgramKind | undefined {
  if (v === undefined) return undefined;
  if (!(PROGRAM_KINDS as readonly string[]).includes(v)) {
    throw new UsageError(`femto ${command}: unknown format '${v}' (one of ${PROGRAM_KINDS.join(', ')})`);
  }
  return v as ProgramKind;
}

/** A non-negative integer: decimal (with optional _ separators), 0x hex, or 1e6 notation. */
export function parseCount(command: string, option: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const t = v.replace(/_/g, '');
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+(\.\d+)?(e\d+)?$/i.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`femto ${command}: ${option} '${v}' is not an integer ≥ ${min}`);
  }
  return n;
}

/**
 * Helper grants: a comma-separated list of ids (decimal or 0x hex) or RIOT helper names (with or
 * without `bpf_`); `none` or an empty value grants nothing.
 */
export function parseHelperList(command: string, v: string | undefined, dflt: ReadonlySet<number> = RIOT_HELPER_IDS): Set<number> {
  if (v === undefined) return new Set(dflt);
  const out = new Set<number>();
  for (const raw of v.split(',')) {
    const t = raw.trim();
    if (t === '' || t === 'none') continue;
    let id: number;
    if (/^0x[0-9a-f]+$/i.test(t)) id = parseInt(t, 16);
    else if (/^\d+$/.test(t)) id = Number(t);
    else {
      const h = riotHelperByName(t);
      if (!h) throw new UsageError(`femto ${command}: unknown helper '${t}' in --helpers (ids like 1,0x10 or RIOT names like printf)`);
      id = h.id;
    }
    if (!Number.isSafeInteger(id) || id > 0x7fffffff) throw new UsageError(`femto ${command}: helper id '${t}' out of range`);
    out.add(id);
  }
  return out;
}

/** "printf (0x1)" or "0x5". */
export function helperLabel(id: number): string {
  const h = riotHelper(id);
  return h ? `${h.name} (0x${id.toString(16)})` : `0x${id.toString(16)}`;
}

/** The default grant for a kind of input. */
export function defaultGrants(kind: ProgramKind): ReadonlySet<number> {
  return kind === 'data' ? new Set([...RIOT_HELPER_IDS, CONFORMANCE_HELPER_ID]) : RIOT_HELPER_IDS;
}


/** clang options shared by the commands that accept C input. */
export const compileOptionSpec: OptionSpec = {
  O: { type: 'string', short: 'O' },
  include: { type: 'string', short: 'I', multiple: true },
  define: { type: 'string', short: 'D', multiple: true },
  clang: { type: 'string' },
};

export function compileOptionsFrom(command: string, p: Parsed): CompileOptions {
  const opts: CompileOptions = {};
  const o = str(p, 'O');
  if (o !== undefined) {
    if (!/^-?O?[0-3sz]$/.test(o)) throw new UsageError(`femto ${command}: -O '${o}' is not one of 0, 1, 2, 3, s, z`);
    opts.optimize = o.replace(/^-?O?/, 'O');
  }
  const inc = list(p, 'include');
  if (inc.length) opts.includeDirs = inc;
  const defs = list(p, 'define');
  if (defs.length) {
    opts.defines = {};
    for (const d of defs) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(d);
      if (!m) throw new UsageError(`femto ${command}: -D '${d}' is not NAME or NAME=VALUE`);
      opts.defines[m[1]] = m[2] === undefined ? true : m[2];
    }
  }
  const clang = str(p, 'clang');
  if (clang !== undefined) opts.clang = clang;
  return opts;
}

