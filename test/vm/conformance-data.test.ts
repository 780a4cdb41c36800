/**
 * `.data` test-vector parser tests: every file of the suite agrees with assembled.jsonl (memory,
 * result, raw words), malformed files are FormatError('data') at the right line, and seeded
 * garbage never raises anything else.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dataFileProgram, parseDataFile } from '../../vm/conformance-data';
import { FormatError } from '../../vm/errors';
import { CONFORMANCE_DIR } from '../util/paths';
import { hexBytes, loadAssembled } from '../util/vectors';
import { prng } from '../../lib/board/sources';

const vectors = loadAssembled();

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const read = (name: string): string => fs.readFileSync(path.join(CONFORMANCE_DIR, name), 'utf8');

/** Seeded: the fuzz cases are the same on every run. */
const rng = prng;

function dataError(text: string): FormatError {
  try {
    parseDataFile(text);
  } catch (e) {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
    assert.equal(e.format, 'data');
    return e;
  }
  assert.fail('expected a FormatError');
}

describe('conformance-data: the suite', () => {
  for (const v of vectors) {
    it(v.name, () => {
      const d = parseDataFile(read(v.name));
      assert.ok(d.asm !== undefined && d.asm.trim() !== '');
      assert.equal(hex(d.mem), v.mem);
      assert.equal(d.result, BigInt.asUintN(64, BigInt(v.result)));
      assert.equal(hex(dataFileProgram(d)), v.program);
      assert.equal(d.error, undefined);
    });
  }

  it('lddw.data: -- raw words are little-endian slots', () => {
    const d = parseDataFile(read('lddw.data'));
    assert.ok(d.raw !== undefined);
    assert.equal(hex(d.raw), '1800000088776655' + '0000000044332211' + '9500000000000000');
  });

  it('asmLine points at the first assembly line in the file', () => {
    const d = parseDataFile(read('lddw.data'));
    const lines = read('lddw.data').split('\n');
    assert.equal(lines[(d.asmLine ?? 0) - 1], 'lddw %r0, 0x1122334455667788');
  });
});

describe('conformance-data: format', () => {
  it('sections, comments, multi-line memory, decimal and negative results', () => {
    const d = parseDataFile([
      '# header comment', '', '-- asm', 'mov %r0, 1 # keep me', 'exit',
      '-- mem', '00 01 # c', 'ff', '-- result', '-1', '-- error', 'bad thing', '-- c', '#include <x.h>',
      '-- no register offset', 'call instruction',
    ].join('\n'));
    assert.equal(d.asm, 'mov %r0, 1 # keep me\nexit');
    assert.equal(d.asmLine, 4);
    assert.equal(hex(d.mem), '0001ff');
    assert.equal(d.result, 0xffffffffffffffffn);
    assert.equal(d.error, 'bad thing');
  });

  it('a file without sections parses to empty memory', () => {
    const d = parseDataFile('# only a comment\n');
    assert.equal(d.asm, undefined);
    assert.equal(d.mem.length, 0);
    assert.equal(d.result, undefined);
  });

  it('64-bit results without precision loss', () => {
    assert.equal(parseDataFile('-- result\n18446744073709551615').result, 2n ** 64n - 1n);
    assert.equal(parseDataFile('-- result\n0xFFFFFFFFFFFFFFFF').result, 2n ** 64n - 1n);
  });

  it('dataFileProgram prefers -- raw and needs one of the two', () => {
    assert.equal(hex(dataFileProgram(parseDataFile('-- asm\nexit\n-- raw\n0x00000000000000b7\n0x95'))),
      'b700000000000000' + '9500000000000000');
    assert.throws(() => dataFileProgram(parseDataFile('-- result\n1')), FormatError);
  });

  const bad: [string, RegExp, number][] = [
    ['-- asm\nexit\n-- bogus\n', /unknown section '-- bogus'/, 3],
    ['-- asm\nexit\n-- asm\nexit', /appears twice/, 3],
    ['mov %r0, 1\n-- asm\nexit', /text before the first section/, 1],
    ['-- mem\n00 01\n0g', /bad memory byte '0g'/, 3],
    ['-- mem\n001', /bad memory byte '001'/, 2],
    ['-- result\n0x1 0x2', /more than one value/, 2],
    ['-- result\n1\n2', /more than one value/, 3],
    ['-- result\n# nothing', /empty '-- result'/, 1],
    ['-- result\nabc', /bad result 'abc'/, 2],
    ['-- result\n0x10000000000000000', /out of 64-bit range/, 2],
    ['-- raw\n0x95 0x95', /one instruction word per line/, 2],
    ['-- raw\n0x95\nzz', /bad instruction word 'zz'/, 3],
  ];
  for (const [text, re, line] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      const e = dataError(text);
      assert.match(e.reason, re);
      assert.equal(e.where.line, line, e.message);
    });
  }

  it('non-string input', () => {
    for (const x of [undefined, null, 1, {}]) dataError(x as unknown as string);
  });
});

describe('conformance-data: garbage in, only FormatError out', () => {
  const check = (text: string): void => {
    try {
      const d = parseDataFile(text);
      if (d.asm !== undefined || d.raw !== undefined) dataFileProgram(d);
    } catch (e) {
      if (!(e instanceof FormatError)) assert.fail(`non-FormatError ${String(e)} for ${JSON.stringify(text)}`);
    }
  };

  it('random strings (300, seeded)', () => {
    const r = rng(2024);
    const pieces = ['-- asm\n', '-- mem\n', '-- result\n', '-- raw\n', '-- error\n', '-- c\n', '-- x\n', '#', '\n',
      '0x', 'ff', '0', '12', '-', ' ', 'mov %r0, 1', 'exit', 'zz', '\r\n', '18446744073709551616', '\u0000'];
    for (let n = 0; n < 300; n++) {
      let s = '';
      const k = Math.floor(r() * 20);
      for (let i = 0; i < k; i++) s += pieces[Math.floor(r() * pieces.length)];
      check(s);
    }
  });

  it('mutated suite files (313, seeded)', () => {
    const r = rng(77);
    for (const v of vectors) {
      const chars = [...read(v.name)];
      for (let m = 0; m < 4; m++) {
        const at = Math.floor(r() * (chars.length + 1));
        const op = r();
        if (op < 0.4) chars.splice(at, 1);
        else if (op < 0.8) chars.splice(at, 0, '-#0xg \n'[Math.floor(r() * 7)]);
        else chars.length = at;
      }
      check(chars.join(''));
    }
  });
});
