/**
 * `femto asm FILE [-o OUT] [--image] [--name NAME]`: assemble to raw bytecode (8 bytes per
 * instruction), or with --image to a RIOT image with one exported function (named --name, else
 * the file's stem when it is a C identifier, else `main`). Accepts assembly, a conformance `.data`
 * vector (its program) or hex text. Default output: the input's name with `.bin`; `-o -` writes
 * the bytes to stdout.
 */
import { functionNameFor, loadProgramFile, toImageBytes } from '../program-input';
import { flag, parseCommand, parseFormat, requireFile, str, UsageError } from './args';
import { defaultOutput, EXIT_OK, writeOutput, type Io } from './io';


export async function asmCommand(argv: string[], io: Io): Promise<number> {
  const p = parseCommand('asm', argv, {
    output: { type: 'string', short: 'o' },
    image: { type: 'boolean' },
    name: { type: 'string' },
    format: { type: 'string' },
  }, 1);
  const file = requireFile('asm', p);
  const format = parseFormat('asm', str(p, 'format'));
  if (format !== undefined && !['asm', 'data', 'hex'].includes(format)) {
    throw new UsageError(`femto asm: --format ${format} is not assembly (asm, data or hex)`);
  }
  const prog = await loadProgramFile(file, { format });
  if (!['asm', 'data', 'hex'].includes(prog.kind)) {
    throw new UsageError(`femto asm: ${file} is ${describeKind(prog.kind)}, not assembly (femto disasm shows its code)`);
  }
  const image = flag(p, 'image');
  const name = str(p, 'name') ?? functionNameFor(file);
  const bytes = image ? toImageBytes(prog, name) : prog.text;
  const out = str(p, 'output') ?? defaultOutput('asm', file);
  writeOutput(io, out, bytes);
  if (out !== '-') {
    const n = prog.text.length / 8;
    io.out(`wrote ${out}: ${image ? `RIOT image (${bytes.length} bytes, function ${name})` : `${bytes.length} bytes of bytecode`}, ${n} instruction slot${n === 1 ? '' : 's'}`);
  }
  return EXIT_OK;
}

export function describeKind(kind: string): string {
  switch (kind) {
    case 'image': return 'a RIOT image';
    case 'elf': return 'an ELF object';
    case 'c': return 'C source';
    case 'data': return 'a conformance vector';
    case 'asm': return 'assembly';
    case 'hex': return 'hex bytecode';
    default: return 'raw bytecode';
  }
}
