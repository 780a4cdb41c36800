/**
 * `femto verify FILE [--profile P] [--helpers LIST] [--json]`: the pre-flight check a board runs
 * before attaching a container. Exit 0 accepted, 1 rejected, 2 bad input.
 *
 * Grants: RIOT's helper ids unless --helpers narrows them; a conformance `.data` vector also gets
 * helper 5, the suite's identity helper (its environment). JSON: `{"ok":true,"warnings":[…]}` or
 * `{"ok":false,"code":-3,"pc":N,"rule":"…","message":"…","insn":"…","warnings":[…]}`, with
 * `"source":{"file","line"}` when the program carries line information; the text output then
 * shows that source line (`at oob.c:9:  *p = 1;`) when the file is readable.
 */
import { FLAG_NO_RETURN } from '../../vm/image';
import { Program } from '../../vm/program';
import { verify } from '../../vm/verifier';
import { sourceAt } from '../../vm/source-map';
import { branchBudgetWarnings } from '../../vm/branch-budget';
import { RIOT_BRANCH_BUDGET } from '../../vm/vm';
import { loadProgramFile } from '../program-input';
import { compileOptionSpec, compileOptionsFrom, defaultGrants, flag, helperLabel, parseCommand, parseFormat, parseHelperList, parseProfile, requireFile, str } from './args';
import { EXIT_OK, EXIT_REJECTED, type Io } from './io';
import { sourceLines } from './source-text';


export async function verifyCommand(argv: string[], io: Io): Promise<number> {
  const p = parseCommand('verify', argv, {
    profile: { type: 'string' },
    helpers: { type: 'string' },
    json: { type: 'boolean' },
    format: { type: 'string' },
    ...compileOptionSpec,
  }, 1);
  const file = requireFile('verify', p);
  const profile = parseProfile('verify', str(p, 'profile'));
  const format = parseFormat('verify', str(p, 'format'));
  const helpersArg = str(p, 'helpers');
  parseHelperList('verify', helpersArg); // usage errors before reading the file
  const compile = compileOptionsFrom('verify', p);
  const prog = await loadProgramFile(file, { format, compile });
  const grants = parseHelperList('verify', helpersArg, defaultGrants(prog.kind));
  const program = new Program(prog.text);
  // An image with RIOT's "no return" flag is verified as RIOT would run it (and has no branch budget).
  const noReturn = ((prog.image?.flags ?? 0) & FLAG_NO_RETURN) !== 0;
  const r = verify(program, { profile, helpers: grants, noReturn });
  if (profile === 'riot-2022' && !noReturn) {
    // Loops that may outrun RIOT's taken-branch budget, named by their source line.
    r.warnings.push(...branchBudgetWarnings(program, RIOT_BRANCH_BUDGET, (pc) => {
      const s = sourceAt(prog.sourceMap, pc);
      return s && `${s.file}:${s.line}`;
    }));
  }
  const json = flag(p, 'json');
  if (!json) for (const w of prog.warnings) io.err(`warning: ${w}`);
  if (r.ok) {
    if (json) io.out(JSON.stringify({ ok: true, warnings: r.warnings }));
    else {
      const used = r.helpersUsed.length ? r.helpersUsed.map(helperLabel).join(', ') : 'none';
      const extras = [
        r.hasLocalCalls ? `local calls (depth ${r.callDepth < 0 ? 'recursive' : r.callDepth})` : '',
        r.usesCallx ? 'callx' : '',
      ].filter(Boolean);
      io.out(`${file}: ok (${profile}): ${program.length} instruction slots, helpers used: ${used}${extras.length ? ', ' + extras.join(', ') : ''}`);
      for (const w of r.warnings) io.out(`warning: ${w}`);
    }
    return EXIT_OK;
  }
  const e = r.error;
  const source = sourceAt(prog.sourceMap, e.pc);
  if (json) {
    io.out(JSON.stringify({ ok: false, code: e.code, pc: e.pc, rule: e.rule, message: e.reason, insn: e.insn ?? null, ...(source ? { source } : {}), warnings: r.warnings }));
  } else {
    io.out(`${file}: ${e.message}`);
    if (source) {
      const text = sourceLines(prog.sourceMap, file)(source.file)?.[source.line - 1];
      io.out(`at ${source.file}:${source.line}${text !== undefined ? `:  ${text.trim()}` : ''}`);
    }
    for (const w of r.warnings) io.out(`warning: ${w}`);
  }
  return EXIT_REJECTED;
}
