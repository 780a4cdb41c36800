/**
 * Disassembler tests: the text of single instructions, listings, and the round trip
 * disassemble → assemble = identical bytes, for every conformance program and for seeded random
 * (mostly malformed) byte arrays.
 */
import * as assert from 'node:assert/strict';
import { assemble } from '../../vm/assembler';
import { disassemble, disassembleInsn, disassembleListing, jumpTarget } from '../../vm/disassembler';
import { Insn, Program } from '../../vm/program';
import { hexBytes, loadAssembled } from '../util/vectors';
import { prng } from '../../lib/board/sources';

const vectors = loadAssembled();

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = hexBytes;
const prog = (h: string): Program => new Program(bytes(h));

/** Seeded: the fuzz cases are the same on every run. */
const rng = prng;

/** Whole slots of a byte array: what the text round trip must reproduce. */
const wholeSlots = (b: Uint8Array): Uint8Array => b.subarray(0, Math.floor(b.length / 8) * 8);

function roundTrip(text: Uint8Array, labels: boolean): void {
  const lines = disassemble(new Program(text), { labels });
  let again: Uint8Array;
  try {
    again = assemble(lines.join('\n'));
  } catch (e) {
    assert.fail(`re-assembly failed for ${hex(text)}: ${String(e)}\n${lines.join('\n')}`);
  }
  assert.equal(hex(again), hex(wholeSlots(text)), lines.join('\n'));
}

describe('disassembler: single instructions', () => {
  const cases: [string, string][] = [
    ['b700000001000000', 'mov %r0, 1'],
    ['b4000000ffffffff', 'mov32 %r0, -1'],
    ['b701000000000080', 'mov %r1, -0x80000000'],
    ['b401000000000080', 'mov32 %r1, 0x80000000'],
    ['0c10000000000000', 'add32 %r0, %r1'],
    ['6f21000000000000', 'lsh %r1, %r2'],
    ['c701000003000000', 'arsh %r1, 3'],
    ['3701010003000000', 'sdiv %r1, 3'],
    ['9c21010000000000', 'smod32 %r1, %r2'],
    ['8703000000000000', 'neg %r3'],
    ['8403000000000000', 'neg32 %r3'],
    ['dc00000010000000', 'be16 %r0'],
    ['d400000020000000', 'le32 %r0'],
    ['d700000040000000', 'bswap64 %r0'],
    ['bc10080000000000', 'movsx832 %r0, %r1'],
    ['bf10200000000000', 'movsx3264 %r0, %r1'],
    ['6112040000000000', 'ldxw %r2, [%r1+4]'],
    ['7910000000000000', 'ldxdw %r0, [%r1]'],
    ['91a0ffff00000000', 'ldxsb %r0, [%r10-1]'],
    ['7b1af8ff00000000', 'stxdw [%r10-8], %r1'],
    ['6201020005000000', 'stw [%r1+2], 5'],
    ['c31afcff01000000', 'lock fetch add32 [%r10-4], %r1'],
    ['db1af8ff00000000', 'lock add [%r10-8], %r1'],
    ['db1af8fff1000000', 'lock cmpxchg [%r10-8], %r1'],
    ['c31af8ffe1000000', 'lock xchg32 [%r10-8], %r1'],
    ['0500030000000000', 'ja +3'],
    ['0500feff00000000', 'ja -2'],
    ['0600000002000000', 'ja32 +2'],
    ['1501020005000000', 'jeq %r1, 5, +2'],
    ['de21fdff00000000', 'jsle32 %r1, %r2, -3'],
    ['8500000005000000', 'call 5'],
    ['8510000002000000', 'call local +2'],
    ['8d02000000000000', 'call %r2'],
    ['9500000000000000', 'exit'],
    ['18000000887766550000000044332211', 'lddw %r0, 0x1122334455667788'],
    ['b801000010000000' + '0000000000000000', 'lddwd %r1, 0x10'],
    ['d802000000000000' + '0000000000000000', 'lddwr %r2, 0x0'],
    ['b8020000f8ffffff' + '0000000000000000', 'lddwd %r2, -0x8'],
    // Unknown, malformed or unrepresentable: raw form.
    ['8f00000000000000', '.insn 0x8f dst=0 src=0 off=0 imm=0'],
    ['b730000001000000', '.insn 0xb7 dst=0 src=3 off=0 imm=1'],
    ['b70b000001000000', '.insn 0xb7 dst=11 src=0 off=0 imm=1'],
    ['9500000001000000', '.insn 0x95 dst=0 src=0 off=0 imm=1'],
    ['2000000000000000', '.insn 0x20 dst=0 src=0 off=0 imm=0'],
    ['1810000001000000' + '0000000000000000', '.insn 0x18 dst=0 src=1 off=0 imm=1'],
    ['ff00000000000080', '.insn 0xff dst=0 src=0 off=0 imm=0x80000000'],
  ];
  for (const [h, want] of cases) {
    it(`${h} → ${want}`, () => assert.equal(disassembleInsn(prog(h).insn(0)), want));
  }

  it('with a pc, jumps show their absolute target', () => {
    assert.equal(disassembleInsn(prog('0500030000000000').insn(0), 4), 'ja +3 # -> 8');
    assert.equal(disassembleInsn(prog('8510000002000000').insn(0), 10), 'call local +2 # -> 13');
    assert.equal(disassembleInsn(prog('b700000001000000').insn(0), 4), 'mov %r0, 1');
    assert.equal(jumpTarget(prog('1501feff05000000').insn(0), 5), 4);
    assert.equal(jumpTarget(prog('9500000000000000').insn(0), 5), null);
  });

  it('never throws on arbitrary field values', () => {
    const r = rng(99);
    for (let n = 0; n < 2000; n++) {
      const insn: Insn = {
        opcode: Math.floor(r() * 256),
        dst: Math.floor(r() * 16),
        src: Math.floor(r() * 16),
        offset: Math.floor(r() * 65536) - 32768,
        imm: (Math.floor(r() * 2 ** 32) | 0),
        imm2: (Math.floor(r() * 2 ** 32) | 0),
      };
      const text = disassembleInsn(insn, n);
      assert.ok(typeof text === 'string' && text.length > 0);
    }
  });
});

describe('disassembler: listings', () => {
  it('the increment example (ARCHITECTURE.md § Image format)', () => {
    const p = prog('7910000000000000 0700000001000000 9500000000000000');
    assert.deepEqual(disassembleListing(p), ['   0: ldxdw %r0, [%r1]', '   1: add %r0, 1', '   2: exit']);
    assert.deepEqual(disassemble(p), ['ldxdw %r0, [%r1]', 'add %r0, 1', 'exit']);
  });

  it('shows jump targets, skips the second slot of wide loads, shows bytes on request', () => {
    const p = prog('18010000ffffffff0000000000000000 1501010005000000 0500fcff00000000 9500000000000000');
    assert.deepEqual(disassembleListing(p), [
      '   0: lddw %r1, 0xffffffff',
      '   2: jeq %r1, 5, +1 # -> 4',
      '   3: ja -4 # -> 0',
      '   4: exit',
    ]);
    const withBytes = disassembleListing(p, { bytes: true });
    assert.equal(withBytes[1], '   2: 15 01 01 00 05 00 00 00                          jeq %r1, 5, +1 # -> 4');
    assert.ok(withBytes[0].includes('18 01 00 00 ff ff ff ff 00 00 00 00 00 00 00 00  lddw'));
  });

  it('labels mode names jump targets', () => {
    const p = prog('18010000ffffffff0000000000000000 1501010005000000 0500fcff00000000 9500000000000000');
    assert.deepEqual(disassemble(p, { labels: true }), [
      'L0:', 'lddw %r1, 0xffffffff', 'jeq %r1, 5, L4', 'ja L0', 'L4:', 'exit',
    ]);
  });

  it('a jump into a wide load or outside the program keeps its numeric offset', () => {
    // ja +1 at slot 0 lands on slot 2, the second half of the lddw; ja +5 at slot 3 lands on 9.
    const p = prog('0500010000000000 18010000ffffffff0000000000000000 0500050000000000');
    assert.deepEqual(disassemble(p, { labels: true }), ['ja +1', 'lddw %r1, 0xffffffff', 'ja +5']);
  });

  it('a truncated or malformed wide load becomes raw slots', () => {
    assert.deepEqual(disassemble(prog('1801000001000000')), ['.insn 0x18 dst=1 src=0 off=0 imm=1']);
    assert.deepEqual(disassemble(prog('1801000001000000 9500000002000000')), [
      '.insn 0x18 dst=1 src=0 off=0 imm=1', '.insn 0x95 dst=0 src=0 off=0 imm=2',
    ]);
    const listing = disassembleListing(new Program(bytes('9500000000000000 0102')));
    assert.equal(listing.length, 2);
    assert.match(listing[1], /2 trailing bytes/);
  });

  it('empty program', () => {
    assert.deepEqual(disassemble(new Program(new Uint8Array(0))), []);
    assert.deepEqual(disassembleListing(new Program(new Uint8Array(0))), []);
  });
});

describe('disassembler: conformance programs round-trip (disassemble → assemble)', () => {
  for (const v of vectors) {
    it(v.name, () => {
      const text = bytes(v.program);
      roundTrip(text, false);
      roundTrip(text, true);
      const listing = disassembleListing(new Program(text));
      assert.ok(listing.length > 0);
      assert.ok(!listing.some((l) => l.includes('.insn')), `undecoded slot in ${v.name}:\n${listing.join('\n')}`);
    });
  }
});

describe('disassembler: random bytes, only valid text out', () => {
  const knownOpcodes = [0x07, 0x0f, 0x04, 0x0c, 0x18, 0xb8, 0xd8, 0x61, 0x79, 0x91, 0x62, 0x7b, 0xc3, 0xdb,
    0x05, 0x06, 0x15, 0x1e, 0x85, 0x8d, 0x95, 0x84, 0x87, 0xd4, 0xdc, 0xd7, 0xbf, 0xbc, 0x37, 0x3c];

  it('uniformly random byte arrays (300, seeded) re-assemble to the same bytes', () => {
    const r = rng(1234);
    for (let n = 0; n < 300; n++) {
      const b = new Uint8Array(Math.floor(r() * 120));
      for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256);
      roundTrip(b, n % 2 === 0);
      disassembleListing(new Program(b), { bytes: true });
    }
  });

  it('plausible instructions with random fields (300 programs, seeded) re-assemble to the same bytes', () => {
    const r = rng(5678);
    for (let n = 0; n < 300; n++) {
      const slots = 1 + Math.floor(r() * 16);
      const b = new Uint8Array(slots * 8);
      const dv = new DataView(b.buffer);
      for (let s = 0; s < slots; s++) {
        const o = s * 8;
        b[o] = r() < 0.1 ? 0 : knownOpcodes[Math.floor(r() * knownOpcodes.length)];
        // Mostly small, sometimes out-of-range registers; mostly zero unused fields.
        b[o + 1] = Math.floor(r() * 11) | (Math.floor(r() * 11) << 4) | (r() < 0.05 ? 0xbb : 0);
        const offs = [0, 0, 1, -1, 8, 16, 32, Math.floor(r() * 65536) - 32768, s === 0 ? 0 : -s];
        dv.setInt16(o + 2, offs[Math.floor(r() * offs.length)], true);
        const imms = [0, 0, 16, 32, 64, 1, 0xe1, 0xf1, 0x41, -1, 0x80000000, Math.floor(r() * 2 ** 32)];
        dv.setUint32(o + 4, imms[Math.floor(r() * imms.length)] >>> 0, true);
      }
      roundTrip(b, n % 2 === 1);
      for (const line of disassembleListing(new Program(b))) assert.equal(typeof line, 'string');
    }
  });
});
