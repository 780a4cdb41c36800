/**
 * `femto build FILE [-o OUT] [--no-return]`: make a RIOT femto-container image from C (through clang), an eBPF
 * ELF object, assembly or bytecode. The result is checked by the verifier (the profile and grants
 * as for `femto verify`); a rejection is reported as a warning, the image is still written, since
 * the build itself succeeded and the report says exactly what a board would refuse.
 */
import { Program } from '../../vm/program';
import { verify } from '../../vm/verifier';
import { FLAG_NO_RETURN, buildImage, parseImage } from '../../vm/image';
import { functionNameFor, loadProgramFile, toImageBytes } from '../program-input';
import { compileOptionSpec, compileOptionsFrom, defaultGrants, flag, parseCommand, parseFormat, parseHelperList, parseProfile, requireFile, str } from './args';
import { defaultOutput, EXIT_OK, writeOutput, type Io } from './io';


export async function buildCommand(argv: string[], io: Io): Promise<number> {
  const p = parseCommand('build', argv, {
    output: { type: 'string', short: 'o' },
    name: { type: 'string' },
    profile: { type: 'string' },
    helpers: { type: 'string' },
    format: { type: 'string' },
    'no-return': { type: 'boolean' },
    ...compileOptionSpec,
  }, 1);
  const file = requireFile('build', p);
  const profile = parseProfile('build', str(p, 'profile'));
  const compile = compileOptionsFrom('build', p);
  const format = parseFormat('build', str(p, 'format'));
  const out = str(p, 'output') ?? defaultOutput('build', file);
  const prog = await loadProgramFile(file, { format, compile });
  for (const w of prog.warnings) io.err(`warning: ${w}`);
  // --no-return: RIOT's "no return" configuration in the header (a container that never exits:
  // no final-exit check and no taken-branch budget in riot-2022, as on RIOT).
  const noReturn = flag(p, 'no-return');
  const built = toImageBytes(prog, str(p, 'name') ?? functionNameFor(file));
  const bytes = noReturn ? buildImage({ ...parseImage(built), flags: FLAG_NO_RETURN }) : built;
  const img = parseImage(bytes);
  writeOutput(io, out, bytes);

  const say = out === '-' ? io.err : io.out;
  const n = img.text.length / 8;
  const fns = img.functions.map((f) => f.name).join(', ') || 'none';
  say(`wrote ${out}: ${bytes.length} bytes (text ${n} slots, data ${img.data.length} B, rodata ${img.rodata.length} B), functions: ${fns}`);
  const grants = parseHelperList('build', str(p, 'helpers'), defaultGrants(prog.kind));
  const r = verify(new Program(img.text), { profile, helpers: grants, noReturn });
  for (const w of r.warnings) io.err(`warning: ${w}`);
  if (!r.ok) io.err(`warning: the verifier (${profile}) rejects this image: ${r.error.message}`);
  return EXIT_OK;
}
