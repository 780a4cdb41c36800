/**
 * Unwind and debug sections in ELF objects: objects from RIOT's own build
 * pipeline (host-target IR, then `llc -march=bpf -mcpu=v2`) carry an allocated `.eh_frame` with
 * R_BPF_64_ABS64 relocations, objects built with `clang -target bpf -g` carry `.debug_*`, `.BTF*`
 * and `.llvm_addrsig`. Each test/c program is built both ways and must give exactly the image
 * that the same object stripped of those sections (llvm-objcopy) gives; a relocation in a
 * section the image keeps is still refused.
 */
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FormatError } from '../../vm/errors';
import { isMetadataSection, loadElf } from '../../vm/elf';
import { buildImage } from '../../vm/image';
import { ROOT } from '../util/paths';
import { CLANG, itNeeds } from '../util/needs';

const C_DIR = path.join(ROOT, 'test', 'c');
const SOURCES = fs.readdirSync(C_DIR).filter((f) => f.endsWith('.c')).sort();

let tmp = '';
const run = (cmd: string, args: string[]): void => {
  execFileSync(cmd, args, { stdio: 'pipe' });
};
const read = (f: string): Uint8Array => new Uint8Array(fs.readFileSync(f));
const image = (obj: Uint8Array): Uint8Array => buildImage(loadElf(obj).image);
const sectionNames = (obj: Uint8Array): string[] => {
  const out = spawnSync('llvm-readelf', ['-S', '-W', '-'], { input: obj });
  return [...out.stdout.toString().matchAll(/\]\s+(\S+)\s+[A-Z_]+\s/g)].map((m) => m[1]);
};

/** `clang -target bpf -O2 [-g]` of a test/c file. */
function bpfObject(src: string, debug: boolean): string {
  const out = path.join(tmp, `${path.basename(src, '.c')}${debug ? '.g' : ''}.o`);
  run('clang', ['-target', 'bpf', '-O2', '-nostdinc', '-fno-common', ...(debug ? ['-g'] : []), '-c', path.join(C_DIR, src), '-o', out]);
  return out;
}

/** RIOT's pipeline: host-target IR (clang -emit-llvm), then llc -march=bpf -mcpu=v2. */
function llcObject(src: string, debug: boolean): string {
  const stem = path.join(tmp, `${path.basename(src, '.c')}${debug ? '.g' : ''}.llc`);
  run('clang', ['-O2', '-nostdinc', '-fno-common', ...(debug ? ['-g'] : []), '-emit-llvm', '-c', path.join(C_DIR, src), '-o', `${stem}.bc`]);
  run('llc', ['-march=bpf', '-mcpu=v2', '-filetype=obj', `${stem}.bc`, '-o', `${stem}.o`]);
  return `${stem}.o`;
}

/** The object with the metadata sections removed by llvm-objcopy. */
function stripped(obj: string, sections: string[]): Uint8Array {
  const out = obj.replace(/\.o$/, '.stripped.o');
  run('llvm-objcopy', ['--strip-debug', ...sections.flatMap((s) => ['--remove-section', s]), obj, out]);
  return read(out);
}

describe('vm/elf: unwind and debug sections are not part of the image', () => {
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-elfmeta-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('isMetadataSection names unwind, debug and BTF sections, and no section that holds code or data', () => {
    for (const s of ['.eh_frame', '.eh_frame_hdr', '.debug_line', '.debug_info', '.debug_line_str', '.BTF', '.BTF.ext', '.llvm_addrsig', '.comment', '.note.GNU-stack']) {
      assert.ok(isMetadataSection(s), s);
    }
    for (const s of ['.text', '.text.twice', '.data', '.bss', '.rodata', '.rodata.str1.1', '.rodata.cst8', 'debug', '.eh_frameX', '.data.debug_x']) {
      assert.ok(!isMetadataSection(s), s);
    }
  });

  for (const src of SOURCES) {
    itNeeds(CLANG, `${src}: RIOT's pipeline (IR + llc -mcpu=v2) carries .eh_frame and builds the image of the stripped object`, () => {
      const obj = llcObject(src, false);
      const bytes = read(obj);
      assert.ok(sectionNames(bytes).includes('.eh_frame'), 'llc wrote an .eh_frame (else this test shows nothing)');
      const strip = stripped(obj, ['.eh_frame', '.rel.eh_frame']);
      assert.ok(!sectionNames(strip).includes('.eh_frame'));
      assert.deepEqual(image(bytes), image(strip));
      assert.ok(!loadElf(bytes).sections.some((s) => s.name === '.eh_frame'));
    });

    itNeeds(CLANG, `${src}: clang -target bpf -g builds the image of the stripped object, and the image of a build without -g`, () => {
      const obj = bpfObject(src, true);
      const bytes = read(obj);
      const names = sectionNames(bytes);
      assert.ok(names.includes('.debug_line') && names.includes('.BTF'), `debug sections present: ${names.join(' ')}`);
      const strip = stripped(obj, ['.BTF', '.BTF.ext', '.rel.BTF.ext', '.llvm_addrsig']);
      assert.ok(!sectionNames(strip).some((n) => isMetadataSection(n)), `stripped: ${sectionNames(strip).join(' ')}`);
      assert.deepEqual(image(bytes), image(strip));
      assert.deepEqual(image(bytes), image(read(bpfObject(src, false))));
    });

    itNeeds(CLANG, `${src}: RIOT's pipeline with -g (debug info and .eh_frame) builds the image of the same pipeline without -g`, () => {
      assert.deepEqual(image(read(llcObject(src, true))), image(read(llcObject(src, false))));
    });
  }

  itNeeds(CLANG, 'a relocation in a section the image keeps is still refused: .eh_frame renamed to .rodata.e', () => {
    const bytes = read(llcObject('local_call.c', false));
    // Rename the section in the section-name string table (same length, so nothing moves).
    const renamed = Uint8Array.from(bytes);
    const at = Buffer.from(renamed).indexOf('.eh_frame\0');
    assert.ok(at > 0);
    renamed.set(Buffer.from('.rodata.e'), at);
    assert.throws(() => loadElf(renamed), (e: unknown) => e instanceof FormatError && e.format === 'elf' && /R_BPF_64_ABS64 at \.rodata\.e\+0x[0-9a-f]+ against section \.text/.test(e.message));
  });
});
