/**
 * `femto verify FILE [--profile P] [--helpers LIST] [--json]`: the pre-flight check a board runs
 * before attaching a container. Exit 0 accepted, 1 rejected, 2 bad input.
 *
 * Grants: RIOT's helper ids unless --helpers narrows them; a conformance `.data` vector also gets
 * helper 5, the suite's identity helper (its environment). JSON: `{"ok":true,"warnings":[…]}` or
 * `{"ok":false,"code":-3,"pc":N,"rule":"…","message":"…","insn":"…","warnings":[…]}`.
 */
import { FLAG_NO_RETURN } from '../../vm/image';
import { Program } from '../../vm/program';
import { verify } from '../../vm/verifier';
import { loadProgramFile } from '../program-input';
import { compileOptionSpec, compileOptionsFrom, defaultGrants, flag, helperLabel, parseCommand, parseFormat, parseHelperList, parseProfile, requireFile, str } from './args';
import { EXIT_OK, EXIT_REJECTED, type Io } from './io';


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
  // An image with RIOT's "no return" flag is verified as RIOT would run it.
  const r = verify(program, { profile, helpers: grants, noReturn: ((prog.image?.flags ?? 0) & FLAG_NO_RETURN) !== 0 });
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
  if (json) {
    io.out(JSON.stringify({ ok: false, code: e.code, pc: e.pc, rule: e.rule, message: e.reason, insn: e.insn ?? null, warnings: r.warnings }));
  } else {
    io.out(`${file}: ${e.message}`);
    for (const w of r.warnings) io.out(`warning: ${w}`);
  }
  return EXIT_REJECTED;
}
