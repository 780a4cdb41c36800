/**
 * Seed corpus for mutation: ELF objects of the C test containers (compiled with clang when it is
 * on PATH, else the committed objects in test/fuzz/corpus/), RIOT images built from them and from
 * generated programs, assembly texts (the conformance vectors' `-- asm` sections from test/data, and
 * disassembled generated programs). Built once per process, deterministically.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadElf } from '../../vm/elf';
import { buildImage } from '../../vm/image';
import { disassemble } from '../../vm/disassembler';
import { Program } from '../../vm/program';
import { parseDataFile } from '../../vm/conformance-data';
import { arbProgram, type GenProgram } from '../util/program-gen';
import { CONFORMANCE_DIR, ROOT } from '../util/paths';
import { Rng, hashString, sampleArb } from './rng';

export const CORPUS_DIR = path.join(ROOT, 'test', 'fuzz', 'corpus');
const C_SOURCES = [path.join(ROOT, 'test', 'c'), CORPUS_DIR];

export interface Corpus {
  /** Where the ELF objects came from. */
  elfSource: 'clang' | 'fixtures';
  elf: { name: string; bytes: Uint8Array }[];
  images: { name: string; bytes: Uint8Array }[];
  asm: { name: string; text: string }[];
  programs: GenProgram[];
}

let cached: Corpus | undefined;

function haveClang(): boolean {
  return process.env.FEMTO_FUZZ_NO_CLANG === undefined && spawnSync('clang', ['--version'], { stdio: 'ignore' }).status === 0;
}

function cSources(): string[] {
  const out: string[] = [];
  for (const dir of C_SOURCES) {
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('.c')) out.push(path.join(dir, f));
  }
  return out;
}

/** Compile the C seeds with clang into a cache folder keyed by their contents. */
function compileSeeds(): { name: string; bytes: Uint8Array }[] | undefined {
  const files = cSources();
  const key = hashString(files.map((f) => fs.readFileSync(f, 'utf8')).join('\0')).toString(16);
  const dir = path.join(os.tmpdir(), `femto-fuzz-elf-${key}`);
  fs.mkdirSync(dir, { recursive: true });
  const out: { name: string; bytes: Uint8Array }[] = [];
  for (const f of files) {
    const name = path.basename(f, '.c');
    const obj = path.join(dir, name + '.o');
    if (!fs.existsSync(obj)) {
      const r = spawnSync('clang', ['-target', 'bpf', '-O2', '-nostdinc', '-fno-common', '-c', f, '-o', obj + '.tmp'], { stdio: 'pipe' });
      if (r.status !== 0) continue;
      fs.renameSync(obj + '.tmp', obj);
    }
    out.push({ name: name + '.o', bytes: new Uint8Array(fs.readFileSync(obj)) });
  }
  return out.length ? out : undefined;
}

function fixtures(): { name: string; bytes: Uint8Array }[] {
  if (!fs.existsSync(CORPUS_DIR)) return [];
  return fs.readdirSync(CORPUS_DIR).sort().filter((f) => f.endsWith('.o'))
    .map((f) => ({ name: f, bytes: new Uint8Array(fs.readFileSync(path.join(CORPUS_DIR, f))) }));
}

function conformanceAsm(): { name: string; text: string }[] {
  const out: { name: string; text: string }[] = [];
  for (const f of fs.readdirSync(CONFORMANCE_DIR).sort()) {
    if (!f.endsWith('.data')) continue;
    try {
      const d = parseDataFile(fs.readFileSync(path.join(CONFORMANCE_DIR, f), 'utf8'));
      if (d.asm) out.push({ name: f, text: d.asm });
    } catch {
      /* a vector the parser refuses is not a seed */
    }
  }
  return out;
}

export function corpus(): Corpus {
  if (cached) return cached;
  const compiled = haveClang() ? compileSeeds() : undefined;
  const elf = compiled ?? fixtures();
  const rng = new Rng('femto-fuzz-corpus');
  const programs: GenProgram[] = [];
  const arb = arbProgram();
  for (let i = 0; i < 24; i++) programs.push(sampleArb(arb, rng));
  const images: { name: string; bytes: Uint8Array }[] = [];
  for (const o of elf) {
    try {
      images.push({ name: o.name.replace(/\.o$/, '.bin'), bytes: buildImage(loadElf(o.bytes).image) });
    } catch {
      /* skip */
    }
  }
  programs.forEach((g, i) => {
    images.push({
      name: `gen${i}.bin`,
      bytes: buildImage({
        text: g.text, data: g.data, rodata: g.rodata,
        functions: g.functions.map((slot, k) => ({ name: k === 0 ? 'main' : `f${k}_${'x'.repeat(k)}`, offset: slot * 8, flags: k })),
      }),
    });
  });
  const asm = conformanceAsm();
  programs.forEach((g, i) => asm.push({ name: `gen${i}.s`, text: disassemble(new Program(g.text), { labels: i % 2 === 0 }).join('\n') }));
  cached = { elfSource: compiled ? 'clang' : 'fixtures', elf, images, asm, programs };
  return cached;
}
