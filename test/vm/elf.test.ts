/**
 * ELF object loader (vm/elf.ts): the test/c programs compiled with clang (skipped when clang is
 * not on PATH; CI installs it), their merged sections and applied relocations; objects it must
 * refuse with a message naming the relocation; truncated and garbage input (FormatError only).
 * Run checks of the programs through the Vm live at the end when vm/vm.ts exists.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { FormatError } from '../../vm/errors';
import { EM_BPF, ElfLoad, isElf, loadElf, elfToImage } from '../../vm/elf';
import { buildImage, parseImage } from '../../vm/image';
import { OP } from '../../vm/opcodes';
import { BENCH_DIR, ROOT } from '../util/paths';
import { CLANG, need } from '../util/needs';
import { Vm } from '../../vm/vm';

const C_DIR = path.join(ROOT, 'test', 'c');

let tmp = '';
function compile(file: string): Uint8Array {
  const out = path.join(tmp, path.basename(file).replace(/\.c$/, '') + '.o');
  execFileSync('clang', ['-target', 'bpf', '-O2', '-nostdinc', '-fno-common', '-c', file, '-o', out], { stdio: 'pipe' });
  return new Uint8Array(fs.readFileSync(out));
}
function compileSource(name: string, source: string): Uint8Array {
  const file = path.join(tmp, name + '.c');
  fs.writeFileSync(file, source);
  return compile(file);
}

const i32 = (b: Uint8Array, o: number): number => new DataView(b.buffer, b.byteOffset).getInt32(o, true);
const u64le = (b: Uint8Array, o: number): bigint => new DataView(b.buffer, b.byteOffset).getBigUint64(o, true);

/** Section header lookup in a raw object (to craft broken variants of real objects). */
function sectionByName(obj: Uint8Array, name: string): { offset: number; size: number; header: number } {
  const dv = new DataView(obj.buffer, obj.byteOffset);
  const shoff = Number(dv.getBigUint64(40, true));
  const shnum = dv.getUint16(60, true);
  const shstr = shoff + dv.getUint16(62, true) * 64;
  const strOff = Number(dv.getBigUint64(shstr + 24, true));
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * 64;
    let s = '';
    for (let k = strOff + dv.getUint32(h, true); obj[k] !== 0; k++) s += String.fromCharCode(obj[k]);
    if (s === name) return { offset: Number(dv.getBigUint64(h + 24, true)), size: Number(dv.getBigUint64(h + 32, true)), header: h };
  }
  throw new Error(`no section ${name}`);
}

function expectElfError(fn: () => unknown, message?: RegExp): FormatError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    assert.equal(e.format, 'elf');
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail('expected a FormatError');
}

function onlyFormatErrors(bytes: Uint8Array): void {
  try {
    const l = loadElf(bytes);
    assert.ok(l.image.text.length > 0 && l.image.text.length % 8 === 0);
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
  }
}

/** Slots (pc) of every program-local call with its target slot. */
function localCalls(text: Uint8Array): { pc: number; target: number }[] {
  const out: { pc: number; target: number }[] = [];
  for (let pc = 0; pc * 8 < text.length; pc++) {
    const op = text[pc * 8];
    if (op === OP.CALL && text[pc * 8 + 1] >> 4 === 1) out.push({ pc, target: pc + i32(text, pc * 8 + 4) + 1 });
    if (op === OP.LDDW || op === OP.LDDWD || op === OP.LDDWR) pc++;
  }
  return out;
}

const INCREMENT_IMAGE_HEX =
  '72425046000000000000000000000000100000001800000001000000' +
  '696e6372656d656e7400000000000000' +
  '791000000000000007000000010000009500000000000000' +
  '000000000000';

describe('vm/elf: eBPF object loader', function () {
  const objects: Record<string, Uint8Array> = {};
  const loads: Record<string, ElfLoad> = {};

  before(function () {
    if (!CLANG.present()) return; // the [clang] tests below skip (or fail under CI)
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-elf-test-'));
    for (const name of ['increment', 'mul_add', 'fletcher32', 'globals', 'local_call']) {
      objects[name] = compile(path.join(C_DIR, name + '.c'));
      loads[name] = loadElf(objects[name]);
    }
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });
  beforeEach(function () {
    if (this.currentTest?.title.startsWith('[clang]')) need(this, CLANG);
  });

  describe('compiled test programs', () => {
    it('[clang] isElf recognises the objects', () => {
      assert.equal(isElf(objects.increment), true);
      assert.equal(isElf(Uint8Array.from([0x72, 0x42, 0x50, 0x46])), false);
      assert.equal(objects.increment[18] | (objects.increment[19] << 8), EM_BPF);
    });

    it('[clang] increment.c becomes the 74-byte increment image, byte for byte (ARCHITECTURE.md § Image format)', () => {
      const bytes = buildImage(elfToImage(objects.increment));
      assert.equal(bytes.length, 74);
      assert.equal(Buffer.from(bytes).toString('hex'), INCREMENT_IMAGE_HEX);
    });

    it('[clang] mul_add and fletcher32: plain text, no relocations, exported entry at 0', () => {
      for (const name of ['mul_add', 'fletcher32']) {
        const l = loads[name];
        assert.equal(l.relocations.length, 0);
        assert.equal(l.image.data.length, 0);
        assert.equal(l.image.rodata.length, 0);
        assert.deepEqual(l.image.functions, [{ name, flags: 0, offset: 0 }]);
        assert.equal(l.image.text[l.image.text.length - 8], OP.EXIT);
      }
    });

    it('[clang] globals.c: .data, .bss, .rodata.cst*, .rodata.str1.1 merged at their alignment', () => {
      const l = loads.globals;
      const sec = (n: string) => l.sections.find((s) => s.name === n);
      assert.equal(sec('.data')?.region, 'data');
      assert.equal(sec('.data')?.base, 0); // .data first
      assert.equal(sec('.bss')?.region, 'data');
      assert.equal(sec('.rodata.str1.1')?.region, 'rodata');
      for (const s of l.sections) if (s.name !== '.rodata.str1.1') assert.equal(s.base % 8, 0, s.name);
      const rodataSecs = l.sections.filter((s) => s.region === 'rodata');
      assert.ok(rodataSecs.length >= 2, 'string literal and const table in separate rodata sections');
      const bss = sec('.bss')!;
      assert.ok(bss.base >= sec('.data')!.base + sec('.data')!.size, 'bss after the initialised data');
      assert.equal(l.image.data.length, bss.base + bss.size);
      assert.ok(l.image.data.subarray(bss.base).every((b) => b === 0), 'bss zero-filled');

      const sym = (n: string) => {
        const s = l.symbols.find((x) => x.name === n);
        assert.ok(s, `symbol ${n}`);
        return s;
      };
      // initial values at the symbols' merged offsets
      assert.equal(sym('total').region, 'data');
      assert.equal(u64le(l.image.data, sym('total').offset), 100n);
      assert.equal(u64le(l.image.data, sym('second').offset), 2n);
      assert.equal(u64le(l.image.data, sym('first').offset), 1n);
      assert.equal(sym('calls').region, 'data');
      assert.equal(u64le(l.image.data, sym('calls').offset), 0n);
      assert.equal(sym('steps').region, 'rodata');
      assert.deepEqual([0, 1, 2, 3].map((i) => u64le(l.image.rodata, sym('steps').offset + 8 * i)), [1n, 2n, 3n, 5n]);
      const str = sec('.rodata.str1.1')!;
      assert.equal(Buffer.from(l.image.rodata.subarray(str.base, str.base + 14)).toString('latin1'), 'Hello, world!\0');
    });

    it('[clang] globals.c: relocated wide loads became 0xB8 (data) / 0xD8 (rodata) with merged offsets', () => {
      const l = loads.globals;
      const text = l.image.text;
      assert.equal(l.relocations.length, 6);
      for (const r of l.relocations) {
        assert.equal(r.typeName, 'R_BPF_64_64');
        assert.equal(text[r.textOffset], r.target === 'data' ? OP.LDDWD : OP.LDDWR, `${r.symbol} at ${r.textOffset}`);
        assert.equal(i32(text, r.textOffset + 4), r.value);
        assert.equal(i32(text, r.textOffset + 12), 0);
      }
      const off = (n: string) => l.symbols.find((x) => x.name === n)!.offset;
      const dataTargets = l.relocations.filter((r) => r.target === 'data').map((r) => r.value).sort((a, b) => a - b);
      assert.deepEqual(dataTargets, [off('first'), off('total'), off('second'), off('calls')].sort((a, b) => a - b));
      const rodataTargets = l.relocations.filter((r) => r.target === 'rodata').map((r) => r.value).sort((a, b) => a - b);
      const strBase = l.sections.find((s) => s.name === '.rodata.str1.1')!.base;
      assert.deepEqual(rodataTargets, [off('steps'), strBase].sort((a, b) => a - b));
      // relocated against the symbol `first` and against section .data with an addend
      assert.ok(l.relocations.some((r) => r.symbol === 'first'));
      assert.ok(l.relocations.some((r) => r.symbol === '.data' && r.value === off('second') && r.value > 0));
      // no unrelocated 0x18 is left in this program
      for (let pc = 0; pc * 8 < text.length; pc++) assert.notEqual(text[pc * 8], OP.LDDW);
    });

    it('[clang] local_call.c: calls keep src=1 and point at the callee in the merged text', () => {
      const l = loads.local_call;
      const fn = (n: string) => l.symbols.find((s) => s.name === n && s.kind === 'func')!.offset / 8;
      const sec = l.sections.find((s) => s.name === '.text.twice');
      assert.ok(sec && sec.base > 0, '.text.twice placed after .text');
      assert.equal(l.sections[0].name, '.text');
      const calls = localCalls(l.image.text);
      assert.equal(calls.length, 3);
      assert.deepEqual(
        calls.map((c) => c.target).sort((a, b) => a - b),
        [fn('square_plus'), fn('square_plus'), fn('twice')].sort((a, b) => a - b),
      );
      // the cross-section calls went through R_BPF_64_32 relocations
      assert.deepEqual(l.relocations.map((r) => r.typeName), ['R_BPF_64_32', 'R_BPF_64_32']);
      const twiceCall = calls.find((c) => c.target === fn('twice'))!;
      assert.equal(i32(l.image.text, twiceCall.pc * 8 + 4), fn('twice') - twiceCall.pc - 1);
      // only the global function is exported; static ones are not
      assert.deepEqual(l.image.functions, [{ name: 'local_call', flags: 0, offset: 0 }]);
    });

    it('[clang] every program builds into an image that parses back', () => {
      for (const [name, l] of Object.entries(loads)) {
        const img = parseImage(buildImage(l.image));
        assert.equal(Buffer.from(img.text).toString('hex'), Buffer.from(l.image.text).toString('hex'), name);
        assert.equal(img.functions[0].name, name);
      }
    });
  });

  describe('compiled programs run in the Vm', () => {
    const vmFor = (name: string) =>
      new Vm({ image: parseImage(buildImage(loads[name].image)), profile: 'rfc9669', budget: 1_000_000, helpers: new Map() });
    const u64s = (...v: bigint[]): Uint8Array => {
      const b = new Uint8Array(8 * v.length);
      v.forEach((x, i) => new DataView(b.buffer).setBigUint64(8 * i, x, true));
      return b;
    };

    it('[clang] increment: 5 → 6', () => {
      const res = vmFor('increment').run({ context: u64s(5n) });
      assert.equal(res.status, 'exit', res.fault?.message);
      assert.equal(res.r0, 6n);
    });

    it('[clang] mul_add: a * b + c, wrapping at 64 bits', () => {
      const vm = vmFor('mul_add');
      assert.equal(vm.run({ context: u64s(7n, 6n, 5n) }).r0, 47n);
      const a = 0xfedcba9876543210n;
      const b = 0x0123456789abcdefn;
      const c = 0xffffffffffffffffn;
      assert.equal(vm.run({ context: u64s(a, b, c) }).r0, (a * b + c) & 0xffffffffffffffffn);
    });

    it('[clang] fletcher32 over mem360 = 0xa4b6d43f (buffer mapped as a region)', () => {
      const hexText = fs.readFileSync(path.join(BENCH_DIR, 'mem360.hex'), 'utf8');
      const mem = Uint8Array.from(Buffer.from(hexText.replace(/[^0-9a-fA-F]/g, ''), 'hex'));
      assert.equal(mem.length, 360);
      const vm = vmFor('fletcher32');
      const region = vm.mapRegion('input', mem, false);
      const ctx = new Uint8Array(16);
      const dv = new DataView(ctx.buffer);
      dv.setBigUint64(0, BigInt(region.base), true);
      dv.setUint32(8, mem.length / 2, true);
      const res = vm.run({ context: ctx });
      assert.equal(res.status, 'exit', res.fault?.message);
      assert.equal(res.r0, 0xa4b6d43fn);
    });

    it('[clang] globals: .data persists across runs, .bss starts at 0, rodata strings and tables read', () => {
      const vm = vmFor('globals');
      const r1 = vm.run({ context: u64s(0n) });
      assert.equal(r1.status, 'exit', r1.fault?.message);
      assert.equal(r1.r0, 0x0001_0003_0000_6548n);
      const r2 = vm.run({ context: u64s(1n) });
      assert.equal(r2.r0, 0x0002_0004_0000_6765n);
    });

    it('[clang] local_call: 4 → 57 through calls into .text and .text.twice', () => {
      const res = vmFor('local_call').run({ context: u64s(4n) });
      assert.equal(res.status, 'exit', res.fault?.message);
      assert.equal(res.r0, 57n);
    });
  });

  describe('refused objects name the relocation', () => {
    it('[clang] call to an undefined external function', () => {
      const obj = compileSource('ext_call', 'extern long foo(long);\nlong f(long a) { return foo(a); }\n');
      const e = expectElfError(() => loadElf(obj), /R_BPF_64_32 at \.text\+0x0 against symbol "foo".*undefined external/);
      assert.equal(e.where.field, '.text');
      assert.equal(e.where.offset, 0);
    });

    it('[clang] load of an undefined external variable', () => {
      const obj = compileSource('ext_var', 'extern long xvar;\nlong f(void) { return xvar; }\n');
      expectElfError(() => loadElf(obj), /R_BPF_64_64 at \.text\+0x0 against symbol "xvar".*undefined/);
    });

    it('[clang] address of a function', () => {
      const obj = compileSource('fptr', 'long g(void) { return 1; }\nlong f(void) { return (long)&g; }\n');
      expectElfError(() => loadElf(obj), /R_BPF_64_64 at \.text\+0x\w+ against symbol "g".*address of code/);
    });

    it('[clang] pointer stored in initialised data (R_BPF_64_ABS64 in .data)', () => {
      const obj = compileSource('dptr', 'const char *p = "hi";\nlong f(void) { return p[0]; }\n');
      const e = expectElfError(() => loadElf(obj), /R_BPF_64_ABS64 at \.data\+0x0 against section \.rodata\.str1\.1/);
      assert.equal(e.where.field, '.data');
    });

    it('[clang] BPF maps', () => {
      const obj = compileSource('maps', 'struct { int a; } m __attribute__((section("maps")));\nlong f(void) { return m.a; }\n');
      expectElfError(() => loadElf(obj), /maps/);
    });

    it('[clang] handcrafted: unknown relocation type', () => {
      const obj = objects.globals.slice();
      const rel = sectionByName(obj, '.rel.text');
      obj[rel.offset + 8] = 99; // r_info low word = type
      expectElfError(() => loadElf(obj), /unknown relocation type 99 at \.text\+0x\w+ against section \.rodata\.cst32/);
    });

    it('[clang] handcrafted: R_BPF_64_ABS32 in code', () => {
      const obj = objects.globals.slice();
      const rel = sectionByName(obj, '.rel.text');
      obj[rel.offset + 8] = 3;
      expectElfError(() => loadElf(obj), /R_BPF_64_ABS32 at \.text\+0x\w+.*unsupported relocation type in code/);
    });

    it('[clang] handcrafted: R_BPF_64_64 on an instruction that is not a wide load', () => {
      const obj = objects.globals.slice();
      const rel = sectionByName(obj, '.rel.text');
      obj[rel.offset] = 0; // r_offset 0: the first instruction, a ldxdw
      expectElfError(() => loadElf(obj), /R_BPF_64_64 at \.text\+0x0 .*opcode 0x79, not a wide load/);
    });

    it('[clang] handcrafted: R_BPF_64_32 on a wide load', () => {
      const obj = objects.globals.slice();
      const rel = sectionByName(obj, '.rel.text');
      obj[rel.offset + 8] = 10;
      expectElfError(() => loadElf(obj), /R_BPF_64_32 .*not a program-local call/);
    });

    it('[clang] handcrafted: relocation symbol index out of range', () => {
      const obj = objects.globals.slice();
      const rel = sectionByName(obj, '.rel.text');
      obj[rel.offset + 12] = 200;
      expectElfError(() => loadElf(obj), /symbol index 200/);
    });
  });

  describe('malformed input: FormatError only', () => {
    it('wrong magic, class, endianness, machine, type', () => {
      expectElfError(() => loadElf(new Uint8Array(0)), /truncated/);
      expectElfError(() => loadElf(new Uint8Array(64)), /not an ELF/);
      const hdr = new Uint8Array(64);
      hdr.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
      expectElfError(() => loadElf(hdr), /ELFCLASS64/);
      hdr[4] = 2;
      hdr[5] = 2;
      expectElfError(() => loadElf(hdr), /little-endian/);
      hdr[5] = 1;
      hdr[18] = 62; // EM_X86_64
      expectElfError(() => loadElf(hdr), /EM_BPF/);
      hdr[18] = EM_BPF;
      hdr[16] = 2; // ET_EXEC
      expectElfError(() => loadElf(hdr), /relocatable/);
      hdr[16] = 1;
      expectElfError(() => loadElf(hdr), /no section headers/);
    });

    it('[clang] every truncation of a real object', () => {
      const obj = objects.globals;
      for (let n = 0; n < obj.length; n++) onlyFormatErrors(obj.subarray(0, n));
      // the section headers sit at the end: any truncation loses them
      for (let n = 0; n < obj.length; n++) assert.throws(() => loadElf(obj.slice(0, n)), FormatError);
    });

    it('[clang] random byte changes in real objects', () => {
      for (const name of ['globals', 'local_call']) {
        const obj = objects[name];
        fc.assert(
          fc.property(
            fc.array(fc.tuple(fc.nat({ max: obj.length - 1 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
            (flips) => {
              const b = obj.slice();
              for (const [i, x] of flips) b[i] ^= x;
              onlyFormatErrors(b);
            },
          ),
          { numRuns: 3000 },
        );
      }
    });

    it('[clang] random values in section headers', () => {
      const obj = objects.globals;
      const shoff = Number(new DataView(obj.buffer, obj.byteOffset).getBigUint64(40, true));
      fc.assert(
        fc.property(fc.nat({ max: 9 }), fc.nat({ max: 15 }), fc.nat({ max: 0xffffffff }), (sec, word, v) => {
          const b = obj.slice();
          new DataView(b.buffer).setUint32(shoff + sec * 64 + word * 4, v, true);
          onlyFormatErrors(b);
        }),
        { numRuns: 3000 },
      );
    });

    it('random bytes, with and without an ELF header', () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), onlyFormatErrors), { numRuns: 2000 });
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 60, maxLength: 400 }), (tail) => {
          const b = new Uint8Array(4 + tail.length);
          b.set([0x7f, 0x45, 0x4c, 0x46]);
          b.set(tail, 4);
          b[4] = 2;
          b[5] = 1;
          b[6] = 1;
          b[16] = 1;
          b[17] = 0;
          b[18] = EM_BPF;
          b[19] = 0;
          onlyFormatErrors(b);
        }),
        { numRuns: 3000 },
      );
    });
  });
});
