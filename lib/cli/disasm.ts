/**
 * `femto disasm FILE [--bytes] [--asm]`: a listing of any program file. Images (and ELF objects
 * and C, through the same image) first show their sections and exported functions, and the
 * listing marks where each function starts. `--asm` prints plain assembly with labels instead,
 * which `femto asm` turns back into the identical bytecode. An ELF object built with -g (and C,
 * compiled with -g) has its C lines interleaved as `objdump -S` does, with their text when the
 * source file is readable where it was compiled or next to the object.
 */
import { Program } from '../../vm/program';
import { disassemble, disassembleListing } from '../../vm/disassembler';
import { interleaveSource } from '../../vm/source-map';
import { loadProgramFile, type LoadedProgram } from '../program-input';
import { compileOptionSpec, compileOptionsFrom, flag, parseCommand, parseFormat, requireFile, str } from './args';
import { describeKind } from './asm';
import { sourceLines } from './source-text';
import { EXIT_OK, hex64, type Io } from './io';


export async function disasmCommand(argv: string[], io: Io): Promise<number> {
  const p = parseCommand('disasm', argv, {
    bytes: { type: 'boolean' },
    asm: { type: 'boolean' },
    format: { type: 'string' },
    ...compileOptionSpec,
  }, 1);
  const file = requireFile('disasm', p);
  const prog = await loadProgramFile(file, { format: parseFormat('disasm', str(p, 'format')), compile: compileOptionsFrom('disasm', p) });
  for (const w of prog.warnings) io.err(`warning: ${w}`);
  const program = new Program(prog.text);
  if (flag(p, 'asm')) {
    for (const l of header(prog, program)) io.out(`# ${l}`);
    io.out(disassemble(program, { labels: true }).join('\n'));
    return EXIT_OK;
  }
  for (const l of header(prog, program)) io.out(l);
  io.out('');
  const starts = new Map<number, string[]>();
  for (const f of prog.functions) {
    const pc = f.offset / 8;
    starts.set(pc, [...(starts.get(pc) ?? []), `<${f.name}>:`]);
  }
  for (const [label, pc] of Object.entries(prog.labels ?? {})) starts.set(pc, [...(starts.get(pc) ?? []), `${label}:`]);
  const listing: string[] = [];
  for (const line of disassembleListing(program, { bytes: flag(p, 'bytes') })) {
    const m = /^\s*(\d+):/.exec(line);
    const names = m ? starts.get(Number(m[1])) : undefined;
    if (names) listing.push(...names);
    listing.push(line);
  }
  // Assembly is its own source: only compiled programs get their lines interleaved.
  const compiled = prog.kind === 'elf' || prog.kind === 'c';
  for (const line of compiled ? interleaveSource(listing, prog.sourceMap, sourceLines(prog.sourceMap, file)) : listing) io.out(line);
  return EXIT_OK;
}

function header(prog: LoadedProgram, program: Program): string[] {
  const n = program.length;
  const lines = [`${prog.file}: ${describeKind(prog.kind)}, ${n} instruction slot${n === 1 ? '' : 's'}`];
  if (prog.image) {
    lines.push(`  .data    ${prog.data.length} bytes`);
    lines.push(`  .rodata  ${prog.rodata.length} bytes${rodataStrings(prog.rodata)}`);
    lines.push(`  .text    ${prog.text.length} bytes`);
    if (prog.functions.length === 0) lines.push('  functions: none exported (runs from pc 0)');
    else lines.push(`  functions: ${prog.functions.map((f) => `${f.name} @ pc ${f.offset / 8}`).join(', ')}`);
  }
  if (prog.kind === 'data') {
    lines.push(`  mem: ${prog.mem?.length ?? 0} bytes${prog.expected !== undefined ? `, expected r0 = ${hex64(prog.expected)}` : ''}`);
  }
  return lines;
}

/** Printable NUL-terminated strings of rodata, shown as a hint (first few). */
function rodataStrings(ro: Uint8Array): string {
  const out: string[] = [];
  let cur = '';
  let printable = true;
  for (const b of ro) {
    if (b === 0) {
      if (printable && cur.length >= 2) out.push(JSON.stringify(cur));
      if (out.length >= 6) break;
      cur = '';
      printable = true;
    } else if (b >= 0x20 && b < 0x7f) cur += String.fromCharCode(b);
    else printable = false;
  }
  return out.length ? `: ${out.join(' ')}` : '';
}
