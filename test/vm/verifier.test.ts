/**
 * Verifier tests (ARCHITECTURE.md § Verifier): every rule with its RIOT code, rule name and pc; the
 * differences between the rfc9669 and riot-2022 profiles; RIOT compatibility warnings; rejection
 * messages that quote the disassembled instruction; the Vm constructor throwing VerifyError; and
 * linear cost.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { verify, type Profile, type VerifyOptions } from '../../vm/verifier';
import { Program, encodeProgram, type Insn } from '../../vm/program';
import { FaultCode, VerifyError } from '../../vm/errors';
import { disassembleInsn } from '../../vm/disassembler';
import { assemble } from '../../vm/assembler';
import { Vm } from '../../vm/vm';

const I = (opcode: number, dst = 0, src = 0, offset = 0, imm = 0, imm2 = 0): Insn => ({ opcode, dst, src, offset, imm, imm2 });
const EXIT = I(0x95);
const MOV0 = I(0xb7, 0, 0, 0, 0);

type Text = Insn[] | Uint8Array | string;
const bytesOf = (t: Text): Uint8Array => typeof t === 'string' ? assemble(t) : t instanceof Uint8Array ? t : encodeProgram(t);

function accepts(t: Text, opts: VerifyOptions = {}): ReturnType<typeof verify> {
  const r = verify(new Program(bytesOf(t)), opts);
  if (!r.ok) assert.fail(`expected acceptance, got: ${r.error.message}`);
  return r;
}

/** Expect a rejection with code, rule and pc; the message and `insn` quote the instruction. */
function rejects(t: Text, code: number, rule: string, pc: number, opts: VerifyOptions = {}): VerifyError {
  const p = new Program(bytesOf(t));
  const r = verify(p, opts);
  if (r.ok) assert.fail(`expected rejection (${rule}, ${code}) at pc ${pc}, but the program was accepted`);
  const e = r.error;
  assert.ok(e instanceof VerifyError);
  assert.equal(e.kind, 'verify');
  assert.deepEqual({ code: e.code, rule: e.rule, pc: e.pc }, { code, rule, pc }, e.message);
  if (pc < p.length) {
    const text = disassembleInsn(p.insn(pc), pc);
    assert.equal(e.insn, text);
    assert.ok(e.message.includes(text), `message "${e.message}" should quote "${text}"`);
  }
  assert.ok(e.message.includes(`pc ${pc}`), e.message);
  assert.ok(e.message.includes(rule), e.message);
  return e;
}

const both: Profile[] = ['rfc9669', 'riot-2022'];

describe('verifier: RIOT rules', () => {
  describe('length (−5)', () => {
    it('rejects an empty program at pc 0', () => {
      for (const profile of both) rejects(new Uint8Array(0), FaultCode.ILLEGAL_LEN, 'length', 0, { profile });
    });
    it('rejects a length that is not a multiple of 8 (pc = whole slots)', () => {
      for (const extra of [1, 4, 7]) {
        const t = new Uint8Array(16 + extra);
        t.set(encodeProgram([MOV0, EXIT]));
        const e = rejects(t, FaultCode.ILLEGAL_LEN, 'length', 2);
        assert.match(e.message, new RegExp(`${16 + extra} bytes`));
      }
      rejects(new Uint8Array(5), FaultCode.ILLEGAL_LEN, 'length', 0);
    });
    it('rejects more slots than maxSlots', () => {
      rejects([MOV0, MOV0, MOV0, EXIT], FaultCode.ILLEGAL_LEN, 'length', 0, { maxSlots: 3 });
      accepts([MOV0, MOV0, EXIT], { maxSlots: 3 });
    });
  });

  describe('registers (−6)', () => {
    it('rejects a destination register above 10', () => {
      for (const d of [11, 12, 15]) rejects([MOV0, I(0xb7, d, 0, 0, 1), EXIT], FaultCode.ILLEGAL_REGISTER, 'register', 1);
    });
    it('rejects a source register above 10', () => {
      rejects([MOV0, MOV0, I(0xbf, 0, 11), EXIT], FaultCode.ILLEGAL_REGISTER, 'register', 2);
      rejects([I(0x61, 0, 15, 0), EXIT], FaultCode.ILLEGAL_REGISTER, 'register', 0);
    });
    it('rejects every kind of write to r10', () => {
      const writers: Insn[] = [
        I(0xb7, 10, 0, 0, 1), // mov r10, 1
        I(0xbf, 10, 1), // mov r10, r1
        I(0x07, 10, 0, 0, 8), // add r10, 8
        I(0x04, 10, 0, 0, 8), // add32 r10, 8
        I(0x87, 10), // neg r10
        I(0xdc, 10, 0, 0, 16), // be16 r10
        I(0x79, 10, 1, 0), // ldxdw r10, [r1]
        I(0x81, 10, 1, 0), // ldxsw r10, [r1]
        I(0xdb, 1, 10, 0, 0x01), // lock fetch add [r1], r10
        I(0xdb, 1, 10, 0, 0xe1), // lock xchg [r1], r10
      ];
      for (const w of writers) rejects([MOV0, w, EXIT], FaultCode.ILLEGAL_REGISTER, 'r10-write', 1);
      rejects([I(0x18, 10, 0, 0, 1), EXIT], FaultCode.ILLEGAL_REGISTER, 'r10-write', 0);
    });
    it('allows reading r10 and storing through it', () => {
      accepts([I(0xbf, 1, 10), I(0x7b, 10, 1, -8), I(0x79, 0, 10, -8), I(0x72, 10, 0, -1, 5), EXIT]);
      accepts([I(0xdb, 10, 1, -8, 0x00), I(0xdb, 1, 10, 0, 0xf1), EXIT]); // non-fetch atomic, cmpxchg (writes r0)
    });
  });

  describe('jump targets (−3)', () => {
    it('rejects forward and backward jumps out of the program', () => {
      rejects([MOV0, I(0x05, 0, 0, 2), EXIT], FaultCode.ILLEGAL_JUMP, 'jump-target', 1);
      rejects([MOV0, I(0x15, 0, 0, -3, 0), EXIT], FaultCode.ILLEGAL_JUMP, 'jump-target', 1);
      rejects([MOV0, I(0x1d, 0, 1, 5), EXIT], FaultCode.ILLEGAL_JUMP, 'jump-target', 1);
      rejects([MOV0, I(0x06, 0, 0, 0, 9), EXIT], FaultCode.ILLEGAL_JUMP, 'jump-target', 1); // ja32
      rejects([MOV0, I(0x16, 0, 0, -100, 0), EXIT], FaultCode.ILLEGAL_JUMP, 'jump-target', 1); // jeq32
      accepts([MOV0, I(0x05, 0, 0, 0), EXIT]);
      accepts([MOV0, I(0x15, 0, 0, -2, 1), EXIT]);
    });
    it('rejects a jump into the second half of a wide load', () => {
      rejects([I(0x05, 0, 0, 1), I(0x18, 0, 0, 0, 1, 2), EXIT], FaultCode.ILLEGAL_JUMP, 'jump-target', 0);
      rejects([I(0x18, 0, 0, 0, 1, 2), I(0x55, 0, 0, -2, 0), EXIT], FaultCode.ILLEGAL_JUMP, 'jump-target', 2);
      accepts([I(0x05, 0, 0, 0), I(0x18, 0, 0, 0, 1, 2), EXIT]);
    });
  });

  describe('helpers (−4)', () => {
    it('rejects a helper id outside the granted set', () => {
      const e = rejects([I(0x85, 0, 0, 0, 7), EXIT], FaultCode.ILLEGAL_CALL, 'helper', 0, { helpers: new Set([1, 2]) });
      assert.match(e.message, /helper 7/);
      rejects([MOV0, I(0x85, 0, 0, 0, -1), EXIT], FaultCode.ILLEGAL_CALL, 'helper', 1, { helpers: new Set([1]) });
    });
    it('accepts granted helpers and reports them; any id without a helper set', () => {
      const r = accepts([I(0x85, 0, 0, 0, 2), I(0x85, 0, 0, 0, 1), I(0x85, 0, 0, 0, 2), EXIT], { helpers: new Set([1, 2]) });
      assert.deepEqual(r.helpersUsed, [1, 2]);
      accepts([I(0x85, 0, 0, 0, 0x7777), EXIT]);
    });
    it('Vm: a helper the container has no function for, or is not granted, is rejected at construction', () => {
      const text = encodeProgram([I(0x85, 0, 0, 0, 2), EXIT]);
      assert.throws(() => new Vm({ text, helpers: new Map([[1, () => 0]]) }),
        (e: unknown) => e instanceof VerifyError && e.code === -4 && e.rule === 'helper' && e.pc === 0);
      assert.throws(() => new Vm({ text, helpers: new Map([[1, () => 0], [2, () => 0]]), grants: new Set([1]) }),
        (e: unknown) => e instanceof VerifyError && e.code === -4);
      assert.doesNotThrow(() => new Vm({ text, helpers: new Map([[2, () => 0]]) }));
    });
  });

  describe('no return (−7)', () => {
    it('rejects a program whose last instruction is neither exit nor a backward ja', () => {
      rejects([MOV0], FaultCode.NO_RETURN, 'no-return', 0);
      rejects([MOV0, MOV0, I(0x07, 0, 0, 0, 1)], FaultCode.NO_RETURN, 'no-return', 2);
      rejects([MOV0, I(0x15, 0, 0, -2, 0)], FaultCode.NO_RETURN, 'no-return', 1); // conditional backward
      rejects([MOV0, I(0x85, 0, 0, 0, 1)], FaultCode.NO_RETURN, 'no-return', 1);
      rejects([MOV0, I(0x18, 0, 0, 0, 1, 2)], FaultCode.NO_RETURN, 'no-return', 2); // ends in a wide load's 2nd half
    });
    it('accepts exit, ja backwards and ja32 backwards as the last instruction (rfc9669)', () => {
      for (const profile of both) accepts([MOV0, EXIT], { profile });
      accepts([MOV0, I(0x05, 0, 0, -2)]);
      accepts([MOV0, I(0x06, 0, 0, 0, -2)]);
    });
    it('riot-2022, as RIOT: the last slot must be exit, so a final backward ja is −7 (a never-ending program)', () => {
      const hex = 'b700000001000000 0700000001000000 0500feff00000000';
      const text = Uint8Array.from(Buffer.from(hex.replace(/ /g, ''), 'hex'));
      const e = rejects(text, FaultCode.NO_RETURN, 'no-return', 2, { profile: 'riot-2022' });
      assert.match(e.message, /no return/);
      accepts(text, { profile: 'rfc9669' });
      rejects([MOV0, I(0x05, 0, 0, -2)], FaultCode.NO_RETURN, 'no-return', 1, { profile: 'riot-2022' });
    });
    it('riot-2022 with RIOT\'s "no return" flag: no last-instruction check at all, as RIOT', () => {
      const opts = { profile: 'riot-2022' as const, noReturn: true };
      accepts([MOV0, I(0x07, 0, 0, 0, 1), I(0x05, 0, 0, -2)], opts);
      accepts([MOV0, I(0x07, 0, 0, 0, 1)], opts); // may run off the end: a clean fault at run time
      accepts([MOV0, I(0x15, 0, 0, -2, 0)], opts);
      // Every other rule still holds.
      rejects([MOV0, I(0x05, 0, 0, 5)], FaultCode.ILLEGAL_JUMP, 'jump-target', 1, opts);
      // rfc9669 keeps its own rule whatever the flag says.
      rejects([MOV0, I(0x07, 0, 0, 0, 1)], FaultCode.NO_RETURN, 'no-return', 1, { noReturn: true });
    });
  });
});

describe('verifier: our additional rules', () => {
  describe('illegal instructions (−1)', () => {
    it('rejects unknown opcodes', () => {
      for (const op of [0x00, 0x01, 0x08, 0xe7, 0xf7, 0xe4, 0xdf, 0xe5, 0xf5, 0x8e, 0x96, 0x9d, 0x0d, 0xff, 0xe1, 0x99, 0xd3, 0xcb, 0x82, 0x9b]) {
        rejects([MOV0, I(op), EXIT], FaultCode.ILLEGAL_INSTRUCTION, 'opcode', 1);
      }
    });
    it('rejects the legacy packet opcodes as such', () => {
      for (const op of [0x20, 0x28, 0x30, 0x40, 0x48, 0x50]) {
        for (const profile of both) {
          const e = rejects([MOV0, I(op, 0, 1), EXIT], FaultCode.ILLEGAL_INSTRUCTION, 'legacy-packet', 1, { profile });
          assert.match(e.message, /legacy/);
        }
      }
    });
    it('rejects 0x8f (RIOT\'s mis-encoded NEG) with a message mentioning RIOT', () => {
      for (const profile of both) {
        const e = rejects([MOV0, I(0x8f), EXIT], FaultCode.ILLEGAL_INSTRUCTION, 'opcode', 1, { profile });
        assert.match(e.message, /RIOT/);
        assert.match(e.message, /0x87|NEG/);
      }
    });
    it('rejects unknown atomic operations, byte swap widths, division and mov offsets, call kinds', () => {
      rejects([I(0xdb, 1, 2, 0, 0x10), EXIT], FaultCode.ILLEGAL_INSTRUCTION, 'opcode', 0);
      rejects([I(0xdb, 1, 2, 0, 0xe0), EXIT], FaultCode.ILLEGAL_INSTRUCTION, 'opcode', 0); // xchg without fetch
      rejects([I(0xc3, 1, 2, 0, 0xf0), EXIT], FaultCode.ILLEGAL_INSTRUCTION, 'opcode', 0); // cmpxchg without fetch
      rejects([I(0xdc, 0, 0, 0, 8), EXIT], FaultCode.ILLEGAL_INSTRUCTION, 'opcode', 0);
      rejects([I(0xd7, 0, 0, 0, 48), EXIT], FaultCode.ILLEGAL_INSTRUCTION, 'opcode', 0);
      rejects([I(0x3f, 0, 1, 2), EXIT], FaultCode.ILLEGAL_INSTRUCTION, 'opcode', 0);
      rejects([I(0xbf, 0, 1, 4), EXIT], FaultCode.ILLEGAL_INSTRUCTION, 'opcode', 0);
      rejects([I(0xbc, 0, 1, 32), EXIT], FaultCode.ILLEGAL_INSTRUCTION, 'opcode', 0); // movsx32 has no 32
      rejects([I(0x85, 0, 2, 0, 1), EXIT], FaultCode.ILLEGAL_INSTRUCTION, 'call', 0); // BTF call
      rejects([I(0x85, 0, 3, 0, 1), EXIT], FaultCode.ILLEGAL_INSTRUCTION, 'call', 0);
      rejects([I(0xf9, 0, 1), EXIT], FaultCode.ILLEGAL_INSTRUCTION, 'opcode', 0); // ldx mode 0xe0
    });
  });

  describe('reserved fields (−1)', () => {
    const cases: [string, Insn][] = [
      ['exit with imm', I(0x95, 0, 0, 0, 1)],
      ['exit with dst', I(0x95, 1)],
      ['exit with offset', I(0x95, 0, 0, 1)],
      ['add imm with src', I(0x07, 0, 1, 0, 1)],
      ['add reg with imm', I(0x0f, 0, 1, 0, 1)],
      ['add with offset', I(0x07, 0, 0, 1, 1)],
      ['add32 with offset', I(0x04, 0, 0, 3, 1)],
      ['neg with imm', I(0x87, 0, 0, 0, 1)],
      ['neg with src', I(0x87, 0, 1)],
      ['mov imm with offset', I(0xb7, 0, 0, 8, 1)],
      ['ldxw with imm', I(0x61, 0, 1, 0, 1)],
      ['stw with src', I(0x62, 1, 2, 0, 1)],
      ['stxw with imm', I(0x63, 1, 2, 0, 1)],
      ['ja with imm', I(0x05, 0, 0, 0, 1)],
      ['ja with dst', I(0x05, 1, 0, 0)],
      ['ja32 with offset', I(0x06, 0, 0, 1, 0)],
      ['jeq imm with src', I(0x15, 0, 1, 0, 0)],
      ['jeq reg with imm', I(0x1d, 0, 1, 0, 3)],
      ['call with offset', I(0x85, 0, 0, 1, 1)],
      ['call with dst', I(0x85, 1, 0, 0, 1)],
      ['callx with imm', I(0x8d, 1, 0, 0, 1)],
      ['be16 with src', I(0xdc, 0, 1, 0, 16)],
      ['lddw with offset', I(0x18, 0, 0, 1, 1)],
    ];
    for (const [name, insn] of cases) {
      it(`rejects ${name}`, () => {
        const prog = insn.opcode === 0x18 ? [MOV0, insn, EXIT] : [MOV0, insn, EXIT];
        const e = rejects(prog, FaultCode.ILLEGAL_INSTRUCTION, 'reserved', 1);
        assert.match(e.message, /reserved field/);
      });
    }
  });

  describe('wide loads (−1)', () => {
    it('rejects a wide load without its second half', () => {
      for (const op of [0x18, 0xb8, 0xd8]) {
        const full = encodeProgram([MOV0, EXIT, I(op, 0, 0, 0, 1)]); // 4 slots
        rejects(full.subarray(0, 24), FaultCode.ILLEGAL_INSTRUCTION, 'wide-load', 2); // drop the 2nd half
      }
    });
    it('rejects a second half that is not opcode/registers/offset 0', () => {
      for (const half of [I(0x95), I(0, 1), I(0, 0, 1), I(0, 0, 0, 1), I(0x07, 0, 0, 0, 3)]) {
        const t = encodeProgram([I(0x18, 0, 0, 0, 1, 0), EXIT]);
        t.set(encodeProgram([half]), 8); // overwrite the second slot
        rejects(t, FaultCode.ILLEGAL_INSTRUCTION, 'wide-load', 0);
      }
    });
    it('rejects map/BTF pseudo loads (lddw with src ≠ 0) and src on 0xB8/0xD8', () => {
      for (const src of [1, 2, 5]) rejects([I(0x18, 0, src, 0, 1), EXIT], FaultCode.ILLEGAL_INSTRUCTION, 'wide-load', 0);
      rejects([I(0xb8, 0, 1, 0, 1), EXIT], FaultCode.ILLEGAL_INSTRUCTION, 'wide-load', 0);
      rejects([I(0xd8, 0, 1, 0, 1), EXIT], FaultCode.ILLEGAL_INSTRUCTION, 'wide-load', 0);
    });
    it('accepts well-formed wide loads in both profiles (the upper half may hold any imm)', () => {
      for (const profile of both) {
        for (const op of [0x18, 0xb8, 0xd8]) accepts([I(op, 3, 0, 0, 1, -1), EXIT], { profile });
      }
    });
  });

  describe('division by a zero immediate', () => {
    const divs: [string, Insn][] = [['div', I(0x37, 0, 0, 0, 0)], ['mod', I(0x97, 0, 0, 0, 0)]];
    for (const [name, insn] of divs) {
      it(`${name} by 0: −9 in riot-2022, accepted in rfc9669`, () => {
        rejects([MOV0, insn, EXIT], FaultCode.ILLEGAL_DIV, 'div-by-zero', 1, { profile: 'riot-2022' });
        accepts([MOV0, insn, EXIT], { profile: 'rfc9669' });
      });
    }
    it('32-bit and signed forms by 0 are accepted in rfc9669', () => {
      accepts([I(0x34, 0, 0, 0, 0), I(0x94, 0, 0, 0, 0), I(0x37, 0, 0, 1, 0), I(0x97, 0, 0, 1, 0), EXIT]);
    });
    it('division by a register is accepted in riot-2022 (it faults at run time)', () => {
      accepts([MOV0, I(0x3f, 0, 1), I(0x9f, 0, 1), EXIT], { profile: 'riot-2022' });
    });
  });

  describe('program-local calls', () => {
    it('rejects a local call target outside the program or inside a wide load (−3)', () => {
      rejects([MOV0, I(0x85, 0, 1, 0, 5), EXIT], FaultCode.ILLEGAL_JUMP, 'call-target', 1);
      rejects([MOV0, I(0x85, 0, 1, 0, -3), EXIT], FaultCode.ILLEGAL_JUMP, 'call-target', 1);
      rejects([I(0x85, 0, 1, 0, 2), EXIT, I(0x18, 0, 0, 0, 1), EXIT], FaultCode.ILLEGAL_JUMP, 'call-target', 0);
      accepts([I(0x85, 0, 1, 0, 1), EXIT, I(0x18, 0, 0, 0, 1), EXIT]);
    });

    /** main → f1 → … → f{depth}: function k at slot 2k calls the next one. */
    function chain(depth: number): Insn[] {
      const out: Insn[] = [];
      for (let k = 0; k < depth; k++) out.push(I(0x85, 0, 1, 0, 1), EXIT);
      out.push(MOV0, EXIT);
      return out;
    }
    it('rejects a static call chain deeper than the limit (−4, at the first call site)', () => {
      const r = accepts(chain(8));
      assert.equal(r.callDepth, 8);
      assert.equal(r.hasLocalCalls, true);
      const e = rejects(chain(9), FaultCode.ILLEGAL_CALL, 'call-depth', 0);
      assert.match(e.message, /9/);
      rejects(chain(3), FaultCode.ILLEGAL_CALL, 'call-depth', 0, { maxCallDepth: 2 });
      accepts(chain(2), { maxCallDepth: 2 });
    });
    it('accepts recursion (bounded at run time) and reports callDepth −1', () => {
      const r = accepts([I(0x85, 0, 1, 0, 1), EXIT, I(0x85, 0, 1, 0, -1), EXIT]);
      assert.equal(r.callDepth, -1);
    });
    it('a deep chain of 5,000 functions does not overflow the stack', () => {
      rejects(chain(5000), FaultCode.ILLEGAL_CALL, 'call-depth', 0);
      accepts(chain(5000), { maxCallDepth: 5000 });
    });
  });
});

describe('verifier: profiles', () => {
  /** What riot-2022 rejects (rule "profile", −1) and rfc9669 accepts, each placed at pc 1. */
  const rfcOnly: [string, Insn[]][] = [
    ['ALU32 add', [I(0x04, 0, 0, 0, 1)]],
    ['ALU32 mov reg', [I(0xbc, 0, 1)]],
    ['JMP32 jeq', [I(0x16, 0, 0, 0, 1)]],
    ['JMP32 jsgt reg', [I(0x6e, 0, 1, 0)]],
    ['ja32', [I(0x06, 0, 0, 0, 0)]],
    ['le16', [I(0xd4, 0, 0, 0, 16)]],
    ['be32', [I(0xdc, 0, 0, 0, 32)]],
    ['bswap64', [I(0xd7, 0, 0, 0, 64)]],
    ['atomic add64', [I(0xdb, 10, 1, -8, 0x00)]],
    ['atomic fetch or32', [I(0xc3, 10, 1, -8, 0x41)]],
    ['atomic xchg', [I(0xdb, 10, 1, -8, 0xe1)]],
    ['atomic cmpxchg32', [I(0xc3, 10, 1, -8, 0xf1)]],
    ['ldxsb', [I(0x91, 0, 10, -1)]],
    ['ldxsh', [I(0x89, 0, 10, -2)]],
    ['ldxsw', [I(0x81, 0, 10, -4)]],
    ['movsx8', [I(0xbf, 0, 1, 8)]],
    ['movsx32', [I(0xbf, 0, 1, 32)]],
    ['sdiv imm', [I(0x37, 0, 0, 1, 3)]],
    ['smod reg', [I(0x9f, 0, 1, 1)]],
    ['local call', [I(0x85, 0, 1, 0, 1), I(0x05, 0, 0, 1), EXIT]],
    ['callx', [I(0x8d, 1)]],
  ];
  for (const [name, body] of rfcOnly) {
    it(`${name}: rejected by riot-2022, accepted by rfc9669`, () => {
      const prog = [MOV0, ...body, EXIT];
      const e = rejects(prog, FaultCode.ILLEGAL_INSTRUCTION, 'profile', 1, { profile: 'riot-2022' });
      assert.match(e.message, /RIOT/);
      const r = accepts(prog, { profile: 'rfc9669' });
      if (name === 'callx') assert.equal(r.usesCallx, true);
      accepts(prog); // rfc9669 is the default
    });
  }

  it('riot-2022 accepts everything its VM implements', () => {
    const src = `
      mov %r0, 0
      lddw %r2, 0x1122334455667788
      lddwd %r3, 8
      lddwr %r4, 0
      add %r0, 1
      sub %r0, %r1
      mul %r0, 3
      div %r0, 7
      mod %r0, %r2
      or %r0, 1
      and %r0, %r2
      lsh %r0, 3
      rsh %r0, %r1
      arsh %r0, 2
      xor %r0, 5
      mov %r5, %r0
      neg %r0
      ldxb %r6, [%r10-1]
      ldxh %r6, [%r10-2]
      ldxw %r6, [%r10-4]
      ldxdw %r6, [%r10-8]
      stb [%r10-1], 1
      sth [%r10-2], 1
      stw [%r10-4], 1
      stdw [%r10-8], 1
      stxb [%r10-1], %r0
      stxh [%r10-2], %r0
      stxw [%r10-4], %r0
      stxdw [%r10-8], %r0
      jeq %r0, 1, +0
      jgt %r0, %r1, +0
      jge %r0, 1, +0
      jlt %r0, 1, +0
      jle %r0, %r1, +0
      jset %r0, 1, +0
      jne %r0, 1, +0
      jsgt %r0, 1, +0
      jsge %r0, %r1, +0
      jslt %r0, 1, +0
      jsle %r0, 1, +0
      ja +0
      call 1
      exit
    `;
    const r = accepts(src, { profile: 'riot-2022', helpers: new Set([1]) });
    assert.deepEqual(r.helpersUsed, [1]);
  });

  describe('RIOT compatibility warnings (never rejections)', () => {
    it('warns about NEG (RIOT\'s library VM expects 0x8f) in riot-2022 only', () => {
      const prog = [MOV0, I(0x87, 0), EXIT];
      const r = accepts(prog, { profile: 'riot-2022' });
      assert.equal(r.warnings.length, 1);
      assert.match(r.warnings[0], /pc 1/);
      assert.match(r.warnings[0], /0x8f|NEG/i);
      assert.deepEqual(accepts(prog).warnings, []);
    });
    it('warns about lddw with a negative low half in riot-2022 only', () => {
      const neg = [MOV0, I(0x18, 0, 0, 0, -5, 0), EXIT];
      const r = accepts(neg, { profile: 'riot-2022' });
      assert.equal(r.warnings.length, 1);
      assert.match(r.warnings[0], /pc 1/);
      assert.match(r.warnings[0], /lddw/);
      assert.deepEqual(accepts(neg).warnings, []);
      assert.deepEqual(accepts([I(0x18, 0, 0, 0, 0x7fffffff, -1), EXIT], { profile: 'riot-2022' }).warnings, []);
    });
  });
});

describe('verifier: robustness and cost', function () {
  this.timeout(30000);

  it('never throws on arbitrary bytes (only returns a verdict)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.constantFrom<Profile>('rfc9669', 'riot-2022'), (bytes, profile) => {
        const r = verify(new Program(bytes), { profile, helpers: new Set([1, 2]) });
        if (!r.ok) {
          assert.ok(r.error instanceof VerifyError);
          assert.ok([-1, -3, -4, -5, -6, -7, -9].includes(r.error.code), `code ${r.error.code}`);
        }
      }),
      { numRuns: 3000, seed: 0x9669 },
    );
  });

  /** A mixed program of about `n` slots: ALU, memory, forward branches, wide loads, helper calls. */
  function bigProgram(n: number): Uint8Array {
    const out: Insn[] = [];
    let slots = 0;
    let k = 0;
    while (slots < n - 3) {
      switch (k++ % 8) {
        case 0: out.push(I(0x07, 1, 0, 0, k)); slots++; break;
        case 1: out.push(I(0x18, 2, 0, 0, k, -k)); slots += 2; break;
        case 2: out.push(I(0x1d, 1, 2, 1)); slots++; break;
        case 3: out.push(I(0x7b, 10, 1, -8)); slots++; break;
        case 4: out.push(I(0x85, 0, 0, 0, 1)); slots++; break;
        case 5: out.push(I(0x79, 3, 10, -8)); slots++; break;
        case 6: out.push(I(0x15, 3, 0, -3, 7)); slots++; break;
        default: out.push(I(0xbf, 0, 3)); slots++; break;
      }
    }
    out.push(MOV0, MOV0, EXIT); // a trailing forward branch lands on these
    return encodeProgram(out);
  }
  /**
   * Cost per slot of verifying `large` relative to `small` (10× fewer slots), robust to a loaded
   * machine: each sample verifies `small` ten times and `large` once, so both windows take about
   * the same wall time and suffer the same preemption; the best of several interleaved samples is
   * kept, and the whole measurement is retried before failing. Linear ≈ 1, quadratic ≈ 10.
   */
  function perSlotRatio(small: Uint8Array, large: Uint8Array): { ratio: number; ts: number; tl: number } {
    const ps = new Program(small), pl = new Program(large);
    const opts = { helpers: new Set([1]) };
    for (const p of [ps, pl]) {
      const r = verify(p, opts);
      assert.ok(r.ok, r.ok ? '' : r.error.message);
    }
    const k = Math.round(pl.length / ps.length);
    let best = { ratio: Infinity, ts: 0, tl: 0 };
    for (let attempt = 0; attempt < 3 && best.ratio >= 4; attempt++) {
      let ts = Infinity, tl = Infinity;
      for (let rep = 0; rep < 9; rep++) {
        let t0 = process.hrtime.bigint();
        for (let j = 0; j < k; j++) verify(ps, opts);
        ts = Math.min(ts, Number(process.hrtime.bigint() - t0));
        t0 = process.hrtime.bigint();
        verify(pl, opts);
        tl = Math.min(tl, Number(process.hrtime.bigint() - t0));
      }
      if (tl / ts < best.ratio) best = { ratio: tl / ts, ts, tl };
    }
    if (process.env.FC_DEBUG) console.log(`per-slot cost ratio ${best.ratio.toFixed(2)} (${k} × small ${(best.ts / 1e6).toFixed(2)} ms, large ${(best.tl / 1e6).toFixed(2)} ms)`);
    return best;
  }

  it('is linear: 60,000 instructions cost about 10× 6,000 instructions (per-slot ratio < 4)', () => {
    const { ratio, ts, tl } = perSlotRatio(bigProgram(6000), bigProgram(60000));
    assert.ok(ratio < 4, `verify(60k) ${(tl / 1e6).toFixed(2)} ms vs 10 × verify(6k) ${(ts / 1e6).toFixed(2)} ms: ratio ${ratio.toFixed(2)}`);
  });

  it('is linear for call graphs too: 20,000 local call sites into one function', () => {
    function calls(n: number): Uint8Array {
      const out: Insn[] = [];
      for (let k = 0; k < n; k++) out.push(I(0x85, 0, 1, 0, n - k)); // all call slot n+1
      out.push(EXIT, MOV0, EXIT);
      return encodeProgram(out);
    }
    const { ratio, ts, tl } = perSlotRatio(calls(2000), calls(20000));
    assert.ok(ratio < 4, `verify(20k calls) ${(tl / 1e6).toFixed(2)} ms vs 10 × verify(2k) ${(ts / 1e6).toFixed(2)} ms: ratio ${ratio.toFixed(2)}`);
  });
});
