/**
 * The DWARF line-program reader (vm/dwarf-line) and the source maps built from it (vm/source-map,
 * through vm/elf), on real clang output: DWARF 5 (clang 14's default) and DWARF 4, programs of
 * several functions in several code sections, a header with an inlined function. The oracle is
 * llvm-objdump's own line table (`-d -l`); the image must not change with -g. Malformed line
 * tables cost the map, never the object.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { DwarfError, readLineTables } from '../../vm/dwarf-line';
import { loadElf, type ElfLoad } from '../../vm/elf';
import { FormatError } from '../../vm/errors';
import { buildImage } from '../../vm/image';
import { MAX_FILE_NAME, interleaveSource, sourceMapFromDwarf, sourceMapFromLines, type SourceMap } from '../../vm/source-map';
import { ROOT } from '../util/paths';
import { CLANG, itNeeds } from '../util/needs';

const C_DIR = path.join(ROOT, 'test', 'c');
const INCLUDE = path.join(ROOT, 'lib', 'include');
const CONTAINERS = path.join(ROOT, 'lib', 'containers');

/** A header with an inlined function, so that rows name two files. */
const HEADER = `static inline unsigned long scale(unsigned long v)
{
    volatile unsigned long r = v * 3; /* volatile: the inlined lines stay apart */
    return r + 7;
}
`;
const WITH_HEADER = `#include "scale.h"
unsigned long with_header(unsigned long *ctx)
{
    unsigned long v = *ctx;
    if (v > 100)
        return scale(v) + 1;
    return scale(v + 2);
}
`;

let tmp = '';
const compiled = new Map<string, string>();
/** clang -target bpf -O2 with `flags`, once per source and flags. */
function compile(src: string, flags: string[]): string {
  const key = `${src}\0${flags.join(' ')}`;
  if (!compiled.has(key)) compiled.set(key, compileNow(src, flags));
  return compiled.get(key)!;
}
function compileNow(src: string, flags: string[]): string {
  const out = path.join(tmp, `${compiled.size}-${path.basename(src, '.c')}.o`); // test/c and lib/containers share names
  execFileSync('clang', ['-target', 'bpf', '-O2', '-nostdinc', '-fno-common', `-I${INCLUDE}`, ...flags, '-c', src, '-o', out], { stdio: 'pipe', cwd: tmp });
  return out;
}
const load = (obj: string): ElfLoad => loadElf(new Uint8Array(fs.readFileSync(obj)));

/**
 * llvm-objdump's view: per slot of the merged text, "file:line" (base name), carried forward
 * from the last annotation as objdump prints it only when it changes; line 0 keeps the line
 * before, as the source map does.
 */
function objdumpLines(obj: string, l: ElfLoad): (string | null)[] {
  const out = execFileSync('llvm-objdump', ['-d', '-l', '--no-show-raw-insn', obj], { encoding: 'utf8' });
  const slots: (string | null)[] = new Array(l.image.text.length / 8).fill(null);
  let base = 0;
  let cur: string | null = null;
  let prevSlot = -1;
  for (const line of out.split('\n')) {
    const sec = /^Disassembly of section (\S+):/.exec(line);
    if (sec) {
      base = l.sections.find((s) => s.name === sec[1])!.base / 8;
      cur = null;
      prevSlot = -1;
      continue;
    }
    const loc = /^; (.+):(\d+)(?: \(discriminator \d+\))?$/.exec(line);
    if (loc) {
      if (Number(loc[2]) > 0) cur = `${path.basename(loc[1])}:${loc[2]}`;
      continue;
    }
    const insn = /^\s+(\d+):\s/.exec(line);
    if (insn) {
      const slot = base + Number(insn[1]);
      for (let k = prevSlot + 1; prevSlot >= 0 && k < slot; k++) slots[k] = slots[prevSlot]; // a wide load's second slot
      slots[slot] = cur;
      prevSlot = slot;
    }
  }
  if (prevSlot >= 0) for (let k = prevSlot + 1; k < slots.length; k++) slots[k] = slots[prevSlot];
  return slots;
}

const mapped = (m: SourceMap | undefined): (string | null)[] => (m?.slots ?? []).map((s) => (s ? `${path.basename(s.file)}:${s.line}` : null));

describe('vm/dwarf-line and vm/source-map: C lines of every pc', () => {
  let sources: string[] = [];
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-dwarf-'));
    fs.writeFileSync(path.join(tmp, 'scale.h'), HEADER);
    fs.writeFileSync(path.join(tmp, 'with_header.c'), WITH_HEADER);
    sources = [
      ...fs.readdirSync(C_DIR).filter((f) => f.endsWith('.c')).map((f) => path.join(C_DIR, f)),
      ...fs.readdirSync(CONTAINERS).filter((f) => f.endsWith('.c')).map((f) => path.join(CONTAINERS, f)),
      path.join(tmp, 'with_header.c'),
    ];
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
    compiled.clear();
  });

  itNeeds(CLANG, 'every slot of every program maps to the line llvm-objdump names, with DWARF 5 and DWARF 4', () => {
    for (const src of sources) {
      for (const flags of [['-g'], ['-gdwarf-4']]) {
        const obj = compile(src, flags);
        const l = load(obj);
        assert.equal(l.sourceMapError, undefined, `${src} ${flags}: ${l.sourceMapError}`);
        const mine = mapped(l.sourceMap);
        assert.equal(mine.length, l.image.text.length / 8);
        assert.deepEqual(mine, objdumpLines(obj, l), `${path.basename(src)} ${flags.join(' ')}`);
        assert.ok(mine.some((x) => x !== null), 'some slot has a line');
      }
    }
  });

  itNeeds(CLANG, 'DWARF 4 and 5 give the same map; versions are read from the table', () => {
    const src = path.join(C_DIR, 'local_call.c');
    const v5 = load(compile(src, ['-g']));
    const v4 = load(compile(src, ['-gdwarf-4']));
    assert.deepEqual(mapped(v5.sourceMap), mapped(v4.sourceMap));
    const versionOf = (obj: string): number => {
      const b = new Uint8Array(fs.readFileSync(obj));
      const line = execFileSync('llvm-readelf', ['-S', '-W', obj], { encoding: 'utf8' }).split('\n').find((x) => /\.debug_line\s/.test(x))!;
      const off = parseInt(/PROGBITS\s+\S+\s+(\S+)/.exec(line)![1], 16);
      return b[off + 4] | (b[off + 5] << 8);
    };
    assert.equal(versionOf(compile(src, ['-g'])), 5);
    assert.equal(versionOf(compile(src, ['-gdwarf-4'])), 4);
  });

  itNeeds(CLANG, 'several code sections: .text.twice rows land at its base in the merged text', () => {
    const l = load(compile(path.join(C_DIR, 'local_call.c'), ['-g']));
    const twice = l.sections.find((s) => s.name === '.text.twice')!;
    assert.ok(twice.base > 0);
    const src = fs.readFileSync(path.join(C_DIR, 'local_call.c'), 'utf8').split('\n');
    const first = l.sourceMap!.slots[twice.base / 8]!;
    // The first slot of `twice` is its opening: the line after the signature (or the signature itself).
    assert.match(src.slice(first.line - 2, first.line).join('\n'), /twice\(/);
  });

  itNeeds(CLANG, 'a header: its inlined lines name the header, the rest the source; paths say where each file was', () => {
    const l = load(compile(path.join(tmp, 'with_header.c'), ['-g']));
    const files = new Set(l.sourceMap!.slots.filter(Boolean).map((s) => path.basename(s!.file)));
    assert.deepEqual([...files].sort(), ['scale.h', 'with_header.c']);
    const headerLines = l.sourceMap!.slots.filter((s) => s && s.file.endsWith('scale.h')).map((s) => s!.line);
    for (const n of headerLines) assert.ok(n >= 1 && n <= 5, `header line ${n}`);
    for (const [f, p] of Object.entries(l.sourceMap!.paths)) assert.equal(fs.realpathSync(p), fs.realpathSync(path.join(tmp, path.basename(f))));
  });

  itNeeds(CLANG, '-g (DWARF 5 or 4) does not change the image (test/c, lib/containers, the header program)', () => {
    for (const src of sources) {
      const plain = buildImage(load(compile(src, [])).image);
      assert.deepEqual(buildImage(load(compile(src, ['-g'])).image), plain, path.basename(src));
      assert.deepEqual(buildImage(load(compile(src, ['-gdwarf-4'])).image), plain, path.basename(src));
    }
  });

  itNeeds(CLANG, 'a damaged line table costs the map, never the object', () => {
    const obj = new Uint8Array(fs.readFileSync(compile(path.join(C_DIR, 'local_call.c'), ['-g'])));
    const line = execFileSync('llvm-readelf', ['-S', '-W', '-'], { input: obj, encoding: 'utf8' }).split('\n').find((x) => /\.debug_line\s/.test(x))!;
    const [off, size] = /PROGBITS\s+\S+\s+(\S+)\s+(\S+)/.exec(line)!.slice(1).map((h) => parseInt(h, 16));
    const good = buildImage(loadElf(obj).image);
    fc.assert(fc.property(fc.integer({ min: 0, max: size - 1 }), fc.integer({ min: 0, max: 255 }), (at, v) => {
      const bad = Uint8Array.from(obj);
      bad[off + at] = v;
      let l: ElfLoad;
      try {
        l = loadElf(bad);
      } catch (e) {
        assert.ok(e instanceof FormatError, String(e));
        return;
      }
      assert.deepEqual(buildImage(l.image), good);
      if (l.sourceMap) assert.equal(l.sourceMap.slots.length, good.length > 0 ? l.image.text.length / 8 : 0);
    }), { numRuns: 300 });
  });

  it('reads a hand-made DWARF 4 line program: set_address, special opcodes, advance_line, end_sequence', () => {
    // Header: version 4, min_inst 8, line_base -5, line_range 14, opcode_base 13; one file "a.c".
    const std = [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1];
    const header = [8, 1, 1, 0xfb, 14, 13, ...std, 0, ...Buffer.from('a.c'), 0, 0, 0, 0, 0];
    const program = [
      0, 9, 2, 16, 0, 0, 0, 0, 0, 0, 0, // set_address 16 (slot 2)
      3, 4, // advance_line +4 → line 5
      1, // copy: slot 2 → line 5
      13 + 5 + 14 * 1, // special: address += 1*8, line += 0 → slot 3, line 5
      13 + 7 + 14 * 1, // special: slot 4, line 7
      2, 2, // advance_pc 2 → slot 6
      0, 1, 1, // end_sequence
    ];
    const body = [4, 0, ...u32(header.length), ...header, ...program];
    const unit = Uint8Array.from([...u32(body.length), ...body]);
    const [t] = readLineTables({ debugLine: unit });
    assert.equal(t.version, 4);
    assert.equal(t.files[1]?.name, 'a.c');
    assert.deepEqual(t.rows.map((r) => [r.address, r.line, r.end]), [[16, 5, false], [24, 5, false], [32, 7, false], [48, 7, true]]);
  });

  it('a hostile table that maps the whole text again in every sequence loses the map, in bounded work', () => {
    const std = [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1];
    const header = [8, 1, 1, 0xfb, 14, 13, ...std, 0, ...Buffer.from('a.c'), 0, 0, 0, 0, 0];
    // 5,000 sequences, each: set_address 0, copy, advance_pc 4,096 slots, copy, end_sequence.
    const seq = [0, 9, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0x80, 0x20, 1, 0, 1, 1];
    const program = Array.from({ length: 5000 }, () => seq).flat();
    const body = [4, 0, ...u32(header.length), ...header, ...program];
    const unit = Uint8Array.from([...u32(body.length), ...body]);
    assert.equal(readLineTables({ debugLine: unit })[0].rows.length, 15000);
    // 5,000 × 4,096 slot writes would be 20 M; the map is dropped after a few times the text.
    assert.throws(() => sourceMapFromDwarf({ debugLine: unit }, 4096), (e: unknown) => e instanceof DwarfError && /many times over/.test((e as Error).message));
    // One such sequence is an ordinary table.
    const one = Uint8Array.from([...u32(6 + header.length + seq.length), 4, 0, ...u32(header.length), ...header, ...seq]);
    assert.equal(sourceMapFromDwarf({ debugLine: one }, 4096).slots.filter((x) => x?.line === 1).length, 4096);
  });

  it('a file name of 4,000 characters in the line table is kept as its last 127 characters after "…"', () => {
    const std = [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1];
    const long = 'd/'.repeat(1_995) + 'end.c'; // the reader refuses strings over 4,096 bytes
    const header = [8, 1, 1, 0xfb, 14, 13, ...std, 0, ...Buffer.from(long), 0, 0, 0, 0, 0];
    const seq = [0, 9, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 4, 1, 0, 1, 1];
    const unit = Uint8Array.from([...u32(6 + header.length + seq.length), 4, 0, ...u32(header.length), ...header, ...seq]);
    const map = sourceMapFromDwarf({ debugLine: unit }, 4);
    const names = new Set(map.slots.map((x) => x?.file));
    assert.equal(names.size, 1);
    const [name] = [...names] as string[];
    assert.equal(name.length, MAX_FILE_NAME);
    assert.ok(name.startsWith('…') && name.endsWith('d/d/end.c'), name);
  });

  it('assembly lines and DWARF maps interleave the same way (objdump -S style)', () => {
    const map = sourceMapFromLines('prog.s', [2, 2, 4]);
    const listing = ['   0: mov r0, 1', '   1: add r0, 2', '   2: exit'];
    const text = ['; comment', 'mov r0, 1 ; two', '', 'exit'];
    assert.deepEqual(interleaveSource(listing, map, () => text), ['; prog.s:2  mov r0, 1 ; two', '   0: mov r0, 1', '   1: add r0, 2', '; prog.s:4  exit', '   2: exit']);
    assert.deepEqual(interleaveSource(listing, map, () => undefined)[0], '; prog.s:2');
  });
});

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
}
