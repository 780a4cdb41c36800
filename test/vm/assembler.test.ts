/**
 * Assembler tests: byte-exact against the bpf_conformance suite's own assembler output
 * (assembled.jsonl), the syntax we add (RIOT wide loads, raw slots), error reasons and positions,
 * and seeded garbage input that may only ever raise FormatError.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assemble, assembleWithLines } from '../../vm/assembler';
import { parseDataFile } from '../../vm/conformance-data';
import { FormatError } from '../../vm/errors';
import { CONFORMANCE_DIR } from '../util/paths';
import { hexBytes, loadAssembled } from '../util/vectors';
import { prng } from '../../lib/board/sources';

const vectors = loadAssembled();

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = hexBytes;

/** Seeded: the fuzz cases are the same on every run. */
const rng = prng;

/** Assert that `fn` throws a FormatError('asm') and return it. */
function asmError(fn: () => unknown): FormatError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
    assert.equal(e.format, 'asm');
    return e;
  }
  assert.fail('expected a FormatError');
}

describe('assembler: conformance suite, byte-exact', () => {
  it('has all 313 vectors', () => {
    assert.equal(vectors.length, 313);
  });
  for (const v of vectors) {
    it(v.name, () => {
      const data = parseDataFile(fs.readFileSync(path.join(CONFORMANCE_DIR, v.name), 'utf8'));
      assert.ok(data.asm !== undefined, 'no -- asm section');
      assert.equal(hex(assemble(data.asm)), v.program);
      if (data.raw !== undefined) assert.equal(hex(data.raw), v.program, '-- raw differs from program');
    });
  }
});

describe('assembler: syntax', () => {
  const cases: [string, string][] = [
    ['mov %r0, 1', 'b700000001000000'],
    ['mov32 %r0, -1', 'b4000000ffffffff'],
    ['mov32 %r0, 0xffffffff', 'b4000000ffffffff'],
    ['add32 %r0, %r1', '0c10000000000000'],
    ['sdiv %r1, 3', '3701010003000000'],
    ['smod32 %r1, %r2', '9c21010000000000'],
    ['neg %r3', '8703000000000000'],
    ['neg32 %r3', '8403000000000000'],
    ['be16 %r0', 'dc00000010000000'],
    ['le32 %r0', 'd400000020000000'],
    ['bswap64 %r0', 'd700000040000000'],
    ['swap16 %r0', 'd700000010000000'],
    ['movsx832 %r0, %r1', 'bc10080000000000'],
    ['movsx3264 %r0, %r1', 'bf10200000000000'],
    ['ldxw %r2, [%r1+4]', '6112040000000000'],
    ['ldxw %r2, [ %r1 + 0x10 ]', '6112100000000000'],
    ['ldxsb %r0, [%r10-1]', '91a0ffff00000000'],
    ['ldxdw %r0, [%r1]', '7910000000000000'],
    ['stxdw [%r10-8], %r1', '7b1af8ff00000000'],
    ['stw [%r1+2], 5', '6201020005000000'],
    ['lock fetch add32 [%r10-4], %r1', 'c31afcff01000000'],
    ['lock cmpxchg [%r10-8], %r1', 'db1af8fff1000000'],
    ['lock xchg32 [%r1], %r2', 'c3210000e1000000'],
    ['ja +3', '0500030000000000'],
    ['ja -1', '0500ffff00000000'],
    ['ja32 +70000', '0600000070110100'],
    ['jeq %r1, 5, +2', '1501020005000000'],
    ['jsle32 %r1, %r2, -3', 'de21fdff00000000'],
    ['call 5', '8500000005000000'],
    ['call local +2', '8510000002000000'],
    ['call %r2', '8d02000000000000'],
    ['exit', '9500000000000000'],
    ['EXIT', '9500000000000000'],
    ['lddw %r0, 0x1122334455667788', '18000000887766550000000044332211'],
    ['lddw %r1, 18446744073709551615', '18010000ffffffff00000000ffffffff'],
    ['lddw %r1, -2', '18010000feffffff00000000ffffffff'],
    ['lddw %r1, 9223372036854775807', '18010000ffffffff00000000ffffff7f'],
    ['lddwd %r1, 0x10', 'b801000010000000' + '0000000000000000'],
    ['lddwr %r2, 0', 'd802000000000000' + '0000000000000000'],
    // RIOT: sign-extended low half + (high << 32): 0x80000000 needs lo = -2^31, hi = 1.
    ['lddwr %r2, 0x80000000', 'd802000000000080' + '0000000001000000'],
    ['lddwd %r2, -8', 'b8020000f8ffffff' + '0000000000000000'],
    ['.insn 0x8f dst=1 src=2 off=-1 imm=7', '8f21ffff07000000'],
    ['.insn 0x18 imm=5', '1800000005000000'],
    ['.insn 0x00, dst=0, imm=0xffffffff', '00000000ffffffff'],
    ['.quad 0x0000000000000095', '9500000000000000'],
    ['.quad 0x5566778800000018', '1800000088776655'],
  ];
  for (const [src, want] of cases) {
    it(src, () => assert.equal(hex(assemble(src)), want));
  }

  it('labels: alone, before an instruction, forward and backward, call local', () => {
    const src = [
      'start: mov %r0, 0   # trailing comment',
      '# whole-line comment',
      'loop:',
      '  add %r0, 1',
      '  jlt %r0, 3, loop',
      '  call local fn',
      '  ja end',
      'fn: lddw %r2, 1',
      '  exit',
      'end: exit',
    ].join('\n');
    const r = assembleWithLines(src);
    assert.deepEqual(r.labels, { start: 0, loop: 1, fn: 5, end: 8 });
    // jlt at slot 2 jumps to slot 1: offset -2.
    assert.equal(hex(r.text.subarray(16, 24)), 'a500feff03000000');
    // call local at slot 3 to slot 5: +1; ja at slot 4 to slot 8: +3.
    assert.equal(hex(r.text.subarray(24, 32)), '8510000001000000');
    assert.equal(hex(r.text.subarray(32, 40)), '0500030000000000');
    // Both slots of the wide load point at its line.
    assert.deepEqual(r.lines, [1, 4, 5, 6, 7, 8, 8, 9, 10]);
  });

  it("an undefined label 'exit' is the first exit instruction (suite convention)", () => {
    assert.equal(hex(assemble('ja exit\nexit\nmov %r0, 1\nja exit\nexit')),
      '0500000000000000' + '9500000000000000' + 'b700000001000000' + '0500fdff00000000' + '9500000000000000');
  });

  it("a defined label 'exit' wins over the convention", () => {
    assert.equal(hex(assemble('ja exit\nexit\nexit: exit')), '0500010000000000' + '95'.padEnd(16, '0') + '95'.padEnd(16, '0'));
  });

  it('accepts empty and comment-only input as an empty program', () => {
    assert.equal(assemble('').length, 0);
    assert.equal(assemble('# nothing\n\n   \n').length, 0);
  });

  it('accepts CRLF line ends', () => {
    assert.equal(hex(assemble('mov %r0, 1\r\nexit\r\n')), 'b700000001000000' + '9500000000000000');
  });
});

describe('assembler: errors name the token and its position', () => {
  const cases: [string, RegExp, number, number][] = [
    ['mvo %r0, 1', /unknown mnemonic 'mvo'/, 1, 1],
    ['mov %r11, 1', /bad register '%r11'/, 1, 5],
    ['mov %rx, 1', /bad register '%rx'/, 1, 5],
    ['mov %r0, 0x100000000', /immediate 0x100000000 out of 32-bit range/, 1, 10],
    ['mov %r0, -2147483649', /out of 32-bit range/, 1, 10],
    ['lddw %r0, 0x10000000000000000', /out of 64-bit range/, 1, 11],
    ['mov %r0, 12ab', /bad number '12ab'/, 1, 10],
    ['mov %r0 1', /expected ',' between operands, found '1'/, 1, 9],
    ['mov %r0, 1, 2', /unexpected ',' at the end of the instruction/, 1, 11],
    ['mov %r0,', /expected a register or an immediate, found end of line/, 1, 9],
    ['ldxw %r0, [%r1+70000]', /memory offset \+70000 out of 16-bit range/, 1, 15],
    ['ldxw %r0, [%r1+4', /expected '\]' to close the memory operand, found end of line/, 1, 17],
    ['ja nowhere', /undefined label 'nowhere'/, 1, 4],
    ['a:\na: exit', /duplicate label 'a'/, 2, 1],
    ['ja +32768', /jump offset 32768 out of 16-bit range/, 1, 4],
    ['ja32 +2147483648', /out of 32-bit range/, 1, 6],
    ['mov %r0, 1 @', /unexpected character '@'/, 1, 12],
    ['lock fetch xchg [%r1], %r2', /always fetches/, 1, 12],
    ['lock sub [%r1], %r2', /unknown atomic operation 'sub'/, 1, 6],
    ['.insn 0x100', /opcode 0x100 out of range/, 1, 7],
    ['.insn 0x07 dst=16', /dst=16 out of range 0-15/, 1, 16],
    ['.insn 0x07 ,', /expected dst=, src=, off= or imm= after ','/, 1, 13],
    ['exit 1', /unexpected '1' at the end of the instruction/, 1, 6],
    ['.insn 0x07 foo=1', /expected dst=, src=, off= or imm=, found 'foo'/, 1, 12],
    ['constructor %r0, 1', /unknown mnemonic 'constructor'/, 1, 1],
    ['toString', /unknown mnemonic 'toString'/, 1, 1],
    [': exit', /expected a label name before ':'/, 1, 1],
    ['movsx3232 %r0, %r1', /unknown mnemonic 'movsx3232'/, 1, 1],
    ['ldxsdw %r0, [%r1]', /unknown mnemonic 'ldxsdw'/, 1, 1],
  ];
  for (const [src, re, line, column] of cases) {
    it(JSON.stringify(src), () => {
      const e = asmError(() => assemble(src));
      assert.match(e.reason, re);
      assert.equal(e.where.line, line, `line in ${e.message}`);
      assert.equal(e.where.column, column, `column in ${e.message}`);
    });
  }

  it('reports the right line in a longer program', () => {
    const src = ['# header', 'mov %r0, 0', '', 'add %r0, 1  # fine', 'sub %r0, %r12', 'exit'].join('\n');
    const e = asmError(() => assemble(src));
    assert.equal(e.where.line, 5);
    assert.equal(e.where.column, 10);
    assert.match(e.message, /^asm: line 5:10: bad register '%r12'/);
  });

  it('reports an undefined label at the line of the jump', () => {
    const e = asmError(() => assemble('mov %r0, 0\nexit\n\njne %r0, 1, fial\nfail: exit'));
    assert.equal(e.where.line, 4);
    assert.match(e.reason, /'fial'/);
  });

  it('rejects a label jump beyond 16 bits, at the jump', () => {
    const src = 'ja far\n' + 'mov %r0, 0\n'.repeat(40000) + 'far: exit';
    const e = asmError(() => assemble(src));
    assert.equal(e.where.line, 1);
    assert.match(e.reason, /jump offset 40000 to label 'far' out of 16-bit range/);
  });

  it('rejects an undefined exit label when there is no exit', () => {
    assert.match(asmError(() => assemble('ja exit')).reason, /undefined label 'exit'/);
  });
});

describe('assembler: garbage in, only FormatError out', () => {
  const check = (src: string): void => {
    try {
      assemble(src);
    } catch (e) {
      if (!(e instanceof FormatError)) {
        assert.fail(`non-FormatError ${String(e)} for input ${JSON.stringify(src)}`);
      }
    }
  };

  it('random character strings (300, seeded)', () => {
    const r = rng(0xfe770);
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789%[]+-,:#=. \t\nxXrR_$\u00e9\u0000\ud83d';
    for (let n = 0; n < 300; n++) {
      let s = '';
      const len = Math.floor(r() * 80);
      for (let i = 0; i < len; i++) s += alphabet[Math.floor(r() * alphabet.length)];
      check(s);
    }
  });

  it('random token soup (300, seeded)', () => {
    const r = rng(42);
    const toks = ['mov', 'lddw', 'lddwr', 'ja', 'jeq32', 'call', 'local', 'lock', 'fetch', 'cmpxchg', 'add32',
      'stxdw', 'ldxsb', '.insn', '.quad', 'exit', '%r1', '%r10', '%r11', '%', '[', ']', '+', '-', ',', ':',
      '=', 'dst', 'imm', 'off', '0x', '0xffffffffffffffffff', '-1', '99999999999999999999', 'lbl', 'lbl:',
      '#', '\n', 'constructor', '__proto__', '__proto__:', 'hasOwnProperty'];
    for (let n = 0; n < 300; n++) {
      const k = Math.floor(r() * 12);
      const parts: string[] = [];
      for (let i = 0; i < k; i++) parts.push(toks[Math.floor(r() * toks.length)]);
      check(parts.join(r() < 0.5 ? ' ' : ''));
    }
  });

  it('mutated conformance programs (313 × 2, seeded)', () => {
    const r = rng(7);
    for (const v of vectors) {
      const asm = parseDataFile(fs.readFileSync(path.join(CONFORMANCE_DIR, v.name), 'utf8')).asm ?? '';
      for (let k = 0; k < 2; k++) {
        const chars = [...asm];
        for (let m = 0; m < 3; m++) {
          const at = Math.floor(r() * (chars.length + 1));
          const op = r();
          if (op < 0.4) chars.splice(at, 1);
          else if (op < 0.8) chars.splice(at, 0, '%[]+-,:#0x9az \n'[Math.floor(r() * 15)]);
          else chars.length = at; // truncate
        }
        check(chars.join(''));
      }
    }
  });

  it('non-string input', () => {
    for (const bad of [undefined, null, 42, {}, Uint8Array.of(1)]) {
      asmError(() => assemble(bad as unknown as string));
    }
  });
});
