/**
 * Run-time faults (ARCHITECTURE.md § Memory regions, § Budgets, suspension and time slicing, §
 * Verifier): every fault kind with its RIOT code and exact pc, the messages' address/size/access,
 * budgets (instructions and RIOT's taken branches), division by zero in riot-2022, local-call
 * depth, helper failures, suspend/resume, .data persistence and the zeroed stack, RIOT's 0xB8/0xD8
 * wide loads, and the VM boundary: nothing escapes vm.run as a throw and a Vm runs normally again
 * after a fault.
 *
 * Everything runs on each execution tier (interpreter, compiled, auto, auto with an eager tier-up
 * that switches tiers in the middle of runs); random programs are also run on the interpreter and
 * the compiled tier side by side and must give identical results.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { Vm, type HelperCall, type HelperDef, type HelperFn, type HelperTable, type RunResult, type VmOptions } from '../../vm/vm';
import type { Profile } from '../../vm/verifier';
import { assemble } from '../../vm/assembler';
import { encodeProgram, type Insn } from '../../vm/program';
import { FaultCode, VerifyError, VmFault } from '../../vm/errors';
import { BASE } from '../../vm/memory';
import { disassembleInsn } from '../../vm/disassembler';
import { FLAG_NO_RETURN, buildImage, parseImage } from '../../vm/image';

const I = (opcode: number, dst = 0, src = 0, offset = 0, imm = 0, imm2 = 0): Insn => ({ opcode, dst, src, offset, imm, imm2 });

/** Execution tiers every test runs on (the riot-2022 profile always stays on the interpreter). */
const TIERS: { name: string; opts: Pick<VmOptions, 'tier' | 'tierUp'> }[] = [
  { name: 'interp', opts: { tier: 'interp' } },
  { name: 'compiled', opts: { tier: 'compiled' } },
  { name: 'auto', opts: {} },
  { name: 'auto, eager tier-up', opts: { tier: 'auto', tierUp: { runs: 1, insns: 40 } } },
];
let tierOpts: Pick<VmOptions, 'tier' | 'tierUp'> = {};

function vmOf(src: string | Insn[], opts: Omit<VmOptions, 'text'> = {}): Vm {
  const text = typeof src === 'string' ? assemble(src) : encodeProgram(src);
  return new Vm({ text, ...tierOpts, ...opts });
}

/** Expect a fault with the code at pc; its insn is the disassembled instruction at pc. */
function faults(vm: Vm, res: RunResult, code: number, pc: number): VmFault {
  assert.equal(res.status, 'fault', `expected a fault, got ${res.status} r0=${res.r0}`);
  const f = res.fault!;
  assert.ok(f instanceof VmFault);
  assert.equal(f.kind, 'fault');
  assert.deepEqual({ code: f.code, pc: f.pc }, { code, pc }, f.message);
  if (pc < vm.program.length) assert.equal(f.insn, disassembleInsn(vm.program.insn(pc), pc));
  assert.ok(f.message.includes(`pc ${pc}`), f.message);
  assert.equal(f.toJSON().code, code);
  return f;
}

function exits(res: RunResult, r0: bigint): void {
  assert.equal(res.status, 'exit', res.fault?.message);
  assert.equal(res.r0, r0);
}

const hex = (n: number | bigint): string => '0x' + n.toString(16);

// ---------------------------------------------------------------------------------------------
// Random programs for the boundary fuzz and the tier comparison

// Random instructions from every group, register operands in r0–r10, offsets near regions.
const OPS = [
  0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x6f, 0x77, 0x7f,
  0x87, 0x97, 0x9f, 0xa7, 0xaf, 0xb7, 0xbf, 0xc7, 0xcf, 0xd7, 0x04, 0x0c, 0x34, 0x3c, 0x94, 0x9c,
  0xb4, 0xbc, 0xd4, 0xdc, 0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91, 0x62, 0x6a, 0x72, 0x7a, 0x63,
  0x6b, 0x73, 0x7b, 0xc3, 0xdb, 0x05, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x55, 0x65, 0x6d,
  0xa5, 0xad, 0xc5, 0xd5, 0x06, 0x16, 0x1e, 0x26, 0x56, 0x66, 0xde, 0x85, 0x8d, 0x18, 0xb8, 0xd8,
];
const ATOMIC_IMMS = [0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1];
const arbInsn = fc.record({
  op: fc.constantFrom(...OPS),
  dst: fc.integer({ min: 0, max: 10 }),
  src: fc.integer({ min: 0, max: 10 }),
  off: fc.oneof(fc.integer({ min: -8, max: 8 }), fc.constantFrom(-512, -513, 1, 8, 16, 32), fc.integer({ min: -32768, max: 32767 })),
  imm: fc.oneof(fc.integer({ min: -4, max: 64 }), fc.integer(), fc.constantFrom(1, 2, 3, 16, 32, 64, 99)),
  imm2: fc.integer(),
  aimm: fc.constantFrom(...ATOMIC_IMMS),
});
const fuzzHelpers: HelperTable = new Map<number, HelperFn | HelperDef>([
  [1, (c: HelperCall) => c.mem.readU32(c.u32(1))],
  [2, () => { throw new Error('helper error'); }],
  [3, (c: HelperCall) => c.suspend()],
  [16, (c: HelperCall) => { c.mem.writeU32(c.u32(2), c.u32(3)); return 0; }],
]);
/** Make most random instructions well-formed so that they pass the verifier and run. */
function normalize(r: { op: number; dst: number; src: number; off: number; imm: number; imm2: number; aimm: number },
  slot: number, n: number): Insn {
  const { op } = r;
  let { dst, src, off, imm } = r;
  const cls = op & 0x07, x = (op & 0x08) !== 0, code = op & 0xf0;
  const abs = Math.abs(imm);
  /** A relative offset to a slot in [0, n] (the program has n random slots and an exit). */
  const rel = (): number => (Math.abs(r.off) % (n + 1)) - slot - 1;
  switch (cls) {
    case 0x00: dst %= 10; src = 0; off = 0; break;
    case 0x01: dst %= 10; imm = 0; break;
    case 0x02: src = 0; break;
    case 0x03:
      if (op === 0xc3 || op === 0xdb) { imm = r.aimm; if (src === 10) src = 9; } else imm = 0;
      break;
    case 0x04: case 0x07:
      dst %= 10;
      if (code === 0xd0) { src = 0; off = 0; imm = [16, 32, 64][abs % 3]; }
      else if (code === 0x80) { src = 0; off = 0; imm = 0; }
      else {
        if (x) imm = 0; else src = 0;
        if (code === 0x30 || code === 0x90) off = Math.abs(off) & 1;
        else if (code === 0xb0 && x) off = cls === 0x07 ? [0, 8, 16, 32][Math.abs(off) % 4] : [0, 8, 16][Math.abs(off) % 3];
        else off = 0;
      }
      break;
    default: // jumps and calls
      if (op === 0x05) { dst = 0; src = 0; imm = 0; off = rel(); }
      else if (op === 0x06) { dst = 0; src = 0; off = 0; imm = rel(); }
      else if (op === 0x85) { dst = 0; off = 0; src = abs & 1; imm = src === 1 ? rel() : [1, 2, 3, 16][abs % 4]; }
      else if (op === 0x8d) { src = 0; off = 0; imm = 0; }
      else { if (x) imm = 0; else src = 0; off = rel(); }
  }
  return { opcode: op, dst, src, offset: off, imm, imm2: r.imm2 };
}

/** Random programs of 1–24 mostly well-formed instructions and an exit. */
const arbProgram: fc.Arbitrary<Insn[]> = fc.array(arbInsn, { minLength: 1, maxLength: 24 }).map((raw) => {
  const insns = raw.map((r, k) => normalize(r, k, raw.length));
  insns.push(I(0x95));
  return insns;
});

for (const tierCfg of TIERS) {
  describe(`[${tierCfg.name}]`, function () {
    before(() => { tierOpts = tierCfg.opts; });
    after(() => { tierOpts = {}; });
    describe('faults: illegal memory access (−2)', () => {
      const ctx = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
      const cases: [string, string, number, string, number, 'read' | 'write'][] = [
        // name, program, pc, address, size, access
        ['read below the context', 'mov %r0, 0\nldxw %r0, [%r1-4]\nexit', 1, hex(BASE.context - 4), 4, 'read'],
        ['read just below the context (1 byte)', 'ldxb %r0, [%r1-1]\nexit', 0, hex(BASE.context - 1), 1, 'read'],
        ['read right after the context', 'mov %r0, 0\nmov %r0, 1\nldxb %r0, [%r1+8]\nexit', 2, hex(BASE.context + 8), 1, 'read'],
        ['read straddling the end of the context', 'ldxdw %r0, [%r1+4]\nexit', 0, hex(BASE.context + 4), 8, 'read'],
        ['read through a null pointer', 'mov %r2, 0\nldxw %r0, [%r2]\nexit', 1, '0x0', 4, 'read'],
        ['read at a small address', 'mov %r2, 16\nldxh %r0, [%r2+0]\nexit', 1, '0x10', 2, 'read'],
        ['read with the upper 32 bits set', `lddw %r2, ${hex(0x1_0000_0000 + BASE.context)}\nldxw %r0, [%r2]\nexit`, 2, hex(0x1_0000_0000 + BASE.context), 4, 'read'],
        ['write with the upper 32 bits set', `lddw %r2, ${hex(0xffff_ffff_0000_0000n + BigInt(BASE.stack))}\nstxb [%r2], %r1\nexit`, 2, hex(0xffff_ffff_0000_0000n + BigInt(BASE.stack)), 1, 'write'],
        ['write to the read-only context', 'stw [%r1], 1\nexit', 0, hex(BASE.context), 4, 'write'],
        ['write below the stack', 'mov %r0, 0\nstxdw [%r10-520], %r0\nexit', 1, hex(BASE.stack - 8), 8, 'write'],
        ['write at the stack top', 'stb [%r10], 1\nexit', 0, hex(BASE.stack + 512), 1, 'write'],
        ['write straddling the stack top', 'stxdw [%r10-4], %r1\nexit', 0, hex(BASE.stack + 508), 8, 'write'],
        ['read of an unmapped (absent) context', 'ldxw %r0, [%r1]\nexit', 0, '0x0', 4, 'read'],
        ['atomic on the read-only context', 'mov %r2, 1\nlock add [%r1+0], %r2\nexit', 1, hex(BASE.context), 8, 'write'],
        ['atomic fetch straddling the context end', 'mov %r2, 1\nlock fetch add32 [%r1+6], %r2\nexit', 1, hex(BASE.context + 6), 4, 'write'],
      ];
      for (const [name, src, pc, address, size, access] of cases) {
        it(name, () => {
          const vm = vmOf(src);
          const res = name.includes('absent') ? vm.run() : vm.run({ context: ctx });
          const f = faults(vm, res, FaultCode.ILLEGAL_MEM, pc);
          // Straight-line programs: every instruction up to and including the faulting one counts.
          assert.equal(res.insns, [...vm.program.starts()].filter((p) => p <= pc).length, 'insns');
          assert.deepEqual({ address: f.detail.address, size: f.detail.size, access: f.detail.access }, { address, size, access });
          assert.ok(f.message.includes(address), f.message);
          assert.ok(f.message.includes(`${size} B`), f.message);
          assert.ok(f.message.includes(access), f.message);
          assert.deepEqual(f.toJSON().address, address);
        });
      }

      it('messages explain the cause: past the end, read-only, not mapped, above 4 GiB', () => {
        const m = (src: string, opts: Parameters<Vm['run']>[0] = { context: ctx }): string => vmOf(src).run(opts).fault!.message;
        assert.match(m('ldxdw %r0, [%r1+4]\nexit'), /past the end of context/);
        assert.match(m('stw [%r1], 1\nexit'), /context is read-only/);
        assert.match(m('mov %r2, 0\nldxw %r0, [%r2]\nexit'), /not mapped/);
        assert.match(m('lddw %r2, 0x140000000\nldxw %r0, [%r2]\nexit'), /4 GiB/);
      });

      it('writes to .rodata fault; reads of .rodata work', () => {
        const rodata = new TextEncoder().encode('hello\0\0\0');
        const ok = vmOf('lddwr %r2, 1\nldxb %r0, [%r2]\nexit', { rodata });
        exits(ok.run(), BigInt('e'.charCodeAt(0)));
        for (const st of ['stb [%r2], 1', 'stxw [%r2+4], %r2', 'lock xor32 [%r2], %r2']) {
          const vm = vmOf(`lddwr %r2, 0\nmov %r0, 0\n${st}\nexit`, { rodata });
          const f = faults(vm, vm.run(), FaultCode.ILLEGAL_MEM, 3);
          assert.equal(f.detail.access, 'write');
          assert.match(f.message, /rodata is read-only/);
        }
        // Nothing was written.
        assert.deepEqual(ok.memory.bytes('rodata'), rodata);
      });

      it('a writable context can be written; the fault-free run returns its bytes', () => {
        const vm = vmOf('stw [%r1+4], -1\nmov %r0, 0\nexit');
        const res = vm.run({ context: ctx, contextWritable: true });
        exits(res, 0n);
        assert.deepEqual(res.context, new Uint8Array([1, 2, 3, 4, 255, 255, 255, 255]));
      });

      it('a faulting store leaves memory unchanged (no partial write)', () => {
        const vm = vmOf('lddw %r2, -1\nstxdw [%r1+4], %r2\nexit');
        const c = ctx.slice();
        const res = vm.run({ context: c, contextWritable: true });
        faults(vm, res, FaultCode.ILLEGAL_MEM, 2);
        assert.deepEqual(vm.memory.bytes('context'), ctx);
      });
    });

    describe('faults: budgets (−8)', () => {
      it('instruction budget: exactly `budget` instructions run, the fault is at the next pc', () => {
        const vm = vmOf('mov %r0, 0\nloop:\nadd %r0, 1\nja loop', { budget: 100 });
        const res = vm.run();
        const f = faults(vm, res, FaultCode.OUT_OF_BUDGET, 2); // mov + 49 × (add, ja) + add = 100: next is the ja at pc 2
        assert.equal(res.insns, 100);
        assert.equal(res.totalInsns, 100);
        assert.equal(res.r0, 50n);
        assert.match(f.message, /budget of 100/);
      });

      it('a per-run budget overrides the instance budget; a program needing exactly the budget completes', () => {
        const vm = vmOf('mov %r0, 1\nadd %r0, 1\nadd %r0, 1\nexit');
        exits(vm.run({ budget: 4 }), 3n);
        const res = vm.run({ budget: 3 });
        faults(vm, res, FaultCode.OUT_OF_BUDGET, 3);
        assert.equal(res.insns, 3);
      });

      it('a budget of 0 runs no instruction: fault −8 at the entry pc, insns 0', () => {
        const vm = vmOf('mov %r0, 1\nadd %r0, 1\nadd %r0, 1\nexit');
        const tiny = vm.run({ budget: 0 });
        faults(vm, tiny, FaultCode.OUT_OF_BUDGET, 0);
        assert.equal(tiny.insns, 0);
        assert.equal(tiny.r0, 0n);
      });

      it('the default budget is 1,000,000 instructions', () => {
        const vm = vmOf('ja -1');
        const res = vm.run();
        faults(vm, res, FaultCode.OUT_OF_BUDGET, 0);
        assert.equal(res.insns, 1_000_000);
      });

      /** Count to n with a backward jne: n−1 taken branches. */
      const counter = (n: number): string => `mov %r0, 0\nloop:\nadd %r0, 1\njne %r0, ${n}, loop\nexit`;

      it('riot-2022: 200 taken branches are allowed, the 201st faults at the branch', () => {
        const ok = vmOf(counter(201), { profile: 'riot-2022' });
        exits(ok.run(), 201n); // 200 taken
        const vm = vmOf(counter(202), { profile: 'riot-2022' });
        const res = vm.run();
        const f = faults(vm, res, FaultCode.OUT_OF_BUDGET, 2);
        assert.match(f.message, /taken-branch budget of 200/);
        assert.equal(res.r0, 201n);
        // Unconditional ja counts too.
        const ja = vmOf('mov %r0, 0\nloop:\nadd %r0, 1\nja loop\nexit', { profile: 'riot-2022' });
        const rj = ja.run();
        faults(ja, rj, FaultCode.OUT_OF_BUDGET, 2);
        assert.equal(rj.r0, 201n);
      });

      it('riot-2022: the branch budget is fresh on every run and configurable', () => {
        const vm = vmOf(counter(201), { profile: 'riot-2022' });
        for (let k = 0; k < 3; k++) exits(vm.run(), 201n);
        const small = vmOf(counter(12), { profile: 'riot-2022', branchBudget: 10 });
        faults(small, small.run(), FaultCode.OUT_OF_BUDGET, 2);
      });

      it('riot-2022 with RIOT\'s "no return" flag (VmOptions or image header): no final exit needed, no branch budget', () => {
        const forever = 'mov %r0, 0\nloop:\nadd %r0, 1\nja loop';
        assert.throws(() => vmOf(forever, { profile: 'riot-2022' }), (e: unknown) => e instanceof VerifyError && e.code === FaultCode.NO_RETURN);
        const vm = vmOf(forever, { profile: 'riot-2022', noReturn: true, budget: 3001 });
        assert.equal(vm.noReturn, true);
        const res = vm.run();
        const f = faults(vm, res, FaultCode.OUT_OF_BUDGET, 1);
        assert.match(f.message, /instruction budget of 3001/); // not the 200 taken branches
        assert.equal(res.r0, 1500n);
        // An explicit branch budget is lifted too, as RIOT's flag short-circuits its check.
        exits(vmOf(counter(1000), { profile: 'riot-2022', noReturn: true, branchBudget: 10 }).run(), 1000n);
        // The image header's flag 0x0100 says the same.
        const img = parseImage(buildImage({ text: assemble(forever), flags: FLAG_NO_RETURN }));
        assert.equal(img.flags, FLAG_NO_RETURN);
        const fromImage = new Vm({ image: img, profile: 'riot-2022', budget: 3001, ...tierOpts });
        assert.equal(fromImage.noReturn, true);
        faults(fromImage, fromImage.run(), FaultCode.OUT_OF_BUDGET, 1);
        // Running off the end (nothing checks the last instruction then) is a clean −1 past the end.
        const off = vmOf('mov %r0, 7\nadd %r0, 1', { profile: 'riot-2022', noReturn: true });
        const ro = off.run();
        assert.equal(faults(off, ro, FaultCode.ILLEGAL_INSTRUCTION, 2).message.includes('past the end'), true);
        assert.equal(ro.r0, 8n);
        assert.equal(ro.insns, 3);
      });

      it('rfc9669 has no taken-branch limit', () => {
        exits(vmOf(counter(10_000)).run(), 10_000n);
      });
    });

    describe('faults: division by zero (−9, riot-2022 at run time)', () => {
      for (const op of ['div', 'mod']) {
        it(`${op} by a zero register faults in riot-2022 and follows RFC 9669 in rfc9669`, () => {
          const src = `lddw %r0, 0x123456789\nmov %r2, 0\n${op} %r0, %r2\nexit`;
          const riot = vmOf(src, { profile: 'riot-2022' });
          const f = faults(riot, riot.run(), FaultCode.ILLEGAL_DIV, 3);
          assert.match(f.message, /division by zero/);
          exits(vmOf(src).run(), op === 'div' ? 0n : 0x123456789n);
        });
      }
      it('division by a non-zero register runs in riot-2022', () => {
        exits(vmOf('mov %r0, 100\nmov %r2, 7\ndiv %r0, %r2\nexit', { profile: 'riot-2022' }).run(), 14n);
      });
      it('rfc9669: 32-bit and signed forms by zero (div → 0, mod → dividend, upper half zeroed)', () => {
        exits(vmOf('lddw %r0, 0xffffffff00000007\nmov %r2, 0\nmod32 %r0, %r2\nexit').run(), 7n);
        exits(vmOf('lddw %r0, 0xffffffff00000007\nmov %r2, 0\ndiv32 %r0, %r2\nexit').run(), 0n);
        exits(vmOf('lddw %r0, -7\nmov %r2, 0\nsmod %r0, %r2\nexit').run(), 0xffff_ffff_ffff_fff9n);
        exits(vmOf('lddw %r0, -7\nsdiv %r0, 0\nexit').run(), 0n);
      });
    });

    describe('faults: calls (−4)', () => {
      it('local-call recursion deeper than the bound faults at the call', () => {
        // 0: call f   1: exit   f=2: add r0,1   3: call f   4: exit
        const src = 'mov %r0, 0\ncall local f\nexit\nf:\nadd %r0, 1\ncall local f\nexit';
        const vm = vmOf(src);
        const res = vm.run();
        const f = faults(vm, res, FaultCode.ILLEGAL_CALL, 4);
        assert.equal(res.r0, 8n, 'eight nested calls ran (the default depth bound)');
        assert.match(f.message, /deeper than 8/);
        const vm3 = vmOf(src, { maxCallDepth: 3 });
        const r3 = vm3.run();
        faults(vm3, r3, FaultCode.ILLEGAL_CALL, 4);
        assert.equal(r3.r0, 3n);
      });

      it('local calls within the bound work, each with its own stack frame and r6–r9 preserved', () => {
        const src = `
          mov %r6, 5
          stdw [%r10-8], 11
          call local f
          ldxdw %r1, [%r10-8]
          add %r0, %r1
          add %r0, %r6
          exit
        f:
          mov %r6, 1000
          stdw [%r10-8], 22
          ldxdw %r0, [%r10-8]
          exit`;
        exits(vmOf(src).run(), 22n + 11n + 5n);
      });

      it('callx to a helper that is not available faults −4 at the callx', () => {
        const helpers: HelperTable = new Map([[1, () => 7]]);
        const vm = vmOf('mov %r0, 0\nmov %r2, 99\ncall %r2\nexit', { helpers });
        const f = faults(vm, vm.run(), FaultCode.ILLEGAL_CALL, 2);
        assert.match(f.message, /helper 99/);
        assert.match(f.message, /not available/);
        assert.equal(f.detail.helper, 99);
        // The same helper by register works; an id with upper bits set does not alias a helper.
        exits(vmOf('mov %r2, 1\ncall %r2\nexit', { helpers }).run(), 7n);
        const hi = vmOf('lddw %r2, 0x100000001\ncall %r2\nexit', { helpers });
        faults(hi, hi.run(), FaultCode.ILLEGAL_CALL, 2);
        const neg = vmOf('mov %r2, -1\ncall %r2\nexit', { helpers });
        faults(neg, neg.run(), FaultCode.ILLEGAL_CALL, 1);
      });

      it('callx cannot reach a helper that exists but is not granted to the container (−4)', () => {
        // Helper ids must be known *and granted* (ARCHITECTURE.md § Verifier). The verifier enforces
        // it for `call imm`; callx resolves its id at run time and must apply the same grant.
        const helpers: HelperTable = new Map([[1, () => 11], [2, () => 22]]);
        const grants = new Set([1]);
        assert.throws(() => vmOf('call 2\nexit', { helpers, grants }), (e: unknown) => e instanceof VerifyError && e.code === -4);
        exits(vmOf('mov %r2, 1\ncall %r2\nexit', { helpers, grants }).run(), 11n);
        const vm = vmOf('mov %r2, 2\ncall %r2\nexit', { helpers, grants });
        const res = vm.run();
        const f = faults(vm, res, FaultCode.ILLEGAL_CALL, 1);
        assert.equal(f.detail.helper, 2);
      });

      it('a helper that throws faults −4 with its message, at the call', () => {
        const helpers: HelperTable = new Map([[5, { name: 'boom', fn: () => { throw new Error('kaboom in helper'); } }]]);
        const vm = vmOf('mov %r0, 1\ncall 5\nexit', { helpers });
        const f = faults(vm, vm.run(), FaultCode.ILLEGAL_CALL, 1);
        assert.match(f.message, /kaboom in helper/);
        // Non-Error throws and non-number results too.
        const v2 = vmOf('call 5\nexit', { helpers: new Map([[5, () => { throw 'plain string'; }]]) });
        assert.match(faults(v2, v2.run(), FaultCode.ILLEGAL_CALL, 0).message, /plain string/);
        const v3 = vmOf('call 5\nexit', { helpers: new Map([[5, () => 'nope' as unknown as number]]) });
        faults(v3, v3.run(), FaultCode.ILLEGAL_CALL, 0);
        const v4 = vmOf('call 5\nexit', { helpers: new Map([[5, () => NaN]]) });
        faults(v4, v4.run(), FaultCode.ILLEGAL_CALL, 0);
      });

      it('a helper that touches memory out of bounds faults −2 at the call', () => {
        const read = (c: HelperCall): number => c.mem.readU32(c.u32(1));
        const write = (c: HelperCall): number => { c.mem.writeU32(c.u32(1), 0xdeadbeef); return 0; };
        const str = (c: HelperCall): number => c.mem.readCString(c.u32(1)).length;
        const helpers: HelperTable = new Map([[1, read], [2, write], [3, str]]);
        const ctx = new Uint8Array([104, 105, 0, 0]); // "hi\0\0"
        // In bounds: fine.
        exits(vmOf('call 1\nexit', { helpers }).run({ context: ctx }), 0x6968n);
        exits(vmOf('call 3\nexit', { helpers }).run({ context: ctx }), 2n);
        // Null, past the end, read-only, unterminated string.
        const cases: [string, number, string, 'read' | 'write'][] = [
          ['mov %r1, 0\ncall 1\nexit', 1, '0x00000000', 'read'],
          ['add %r1, 2\ncall 1\nexit', 1, hex(BASE.context + 2), 'read'],
          ['mov %r0, 0\ncall 2\nexit', 1, hex(BASE.context), 'write'],
          ['add %r1, 3\nstb [%r10-1], 65\nmov %r1, %r10\nsub %r1, 1\ncall 3\nexit', 4, hex(BASE.stack + 511), 'read'],
        ];
        for (const [src, pc, address, access] of cases) {
          const vm = vmOf(src, { helpers });
          const f = faults(vm, vm.run({ context: ctx }), FaultCode.ILLEGAL_MEM, pc);
          assert.equal(f.detail.access, access, f.message);
          assert.equal(f.detail.address?.replace(/^0x0*/, ''), address.replace(/^0x0*/, ''), f.message);
        }
        assert.deepEqual(ctx, new Uint8Array([104, 105, 0, 0]), 'the caller\'s context buffer is untouched');
      });

      it('helper results are zero-extended from 32 bits unless the helper returns 64 bits', () => {
        const helpers: HelperTable = new Map<number, HelperFn | HelperDef>([
          [1, () => -1],
          [2, { fn: () => -1, returns64: true }],
          [3, () => 0x1_2345_6789_abcdn],
        ]);
        exits(vmOf('call 1\nexit', { helpers }).run(), 0xffff_ffffn);
        exits(vmOf('call 2\nexit', { helpers }).run(), 0xffff_ffff_ffff_ffffn);
        exits(vmOf('call 3\nexit', { helpers }).run(), 0x1_2345_6789_abcdn);
      });
    });

    describe('suspend and resume', () => {
      it('a helper suspends; resume continues after the call with r0 set and registers, stack and pc preserved', () => {
        let calls = 0;
        const helpers: HelperTable = new Map([[0x61, (c: HelperCall) => { calls++; return c.suspend(); }]]);
        const vm = vmOf(`
          mov %r6, 40
          stdw [%r10-8], 2
          call 0x61
          ldxdw %r1, [%r10-8]
          add %r0, %r6
          add %r0, %r1
          exit`, { helpers });
        const r1 = vm.run();
        assert.equal(r1.status, 'suspended');
        assert.equal(r1.insns, 3);
        assert.equal(vm.suspended, true);
        assert.equal(calls, 1);
        const r2 = vm.resume(100);
        exits(r2, 142n);
        assert.equal(r2.insns, 4);
        assert.equal(r2.totalInsns, 7);
        assert.equal(vm.suspended, false);
        assert.throws(() => vm.resume(0), /not suspended/);
        // resume with a bigint sets all 64 bits.
        vm.run();
        exits(vm.resume(0x1_0000_0000n), 0x1_0000_0000n + 42n);
      });

      it('each slice gets a fresh budget (a periodic loop runs forever in slices)', () => {
        let wakeups = 0;
        const helpers: HelperTable = new Map([[0x61, (c: HelperCall) => { wakeups++; return c.suspend(); }]]);
        // 50 instructions of work between two wakeups; a budget of 60 per slice is enough, one of 60
        // for the whole run would not be.
        const work = Array.from({ length: 48 }, () => 'add %r6, 1').join('\n');
        const vm = vmOf(`mov %r6, 0\nloop:\n${work}\ncall 0x61\nja loop`, { helpers, budget: 60 });
        let res = vm.run();
        for (let k = 0; k < 20; k++) {
          assert.equal(res.status, 'suspended', res.fault?.message);
          res = vm.resume(0);
        }
        assert.equal(wakeups, 21);
        assert.equal(res.status, 'suspended');
        assert.ok(res.totalInsns > 60 * 10);
        // A slice that needs more than its budget still faults −8.
        const r = vm.resume(0, 10);
        faults(vm, r, FaultCode.OUT_OF_BUDGET, 10); // ja + 9 adds ran
        assert.equal(r.insns, 10);
      });

      it('run() after a suspension abandons it and starts afresh', () => {
        const helpers: HelperTable = new Map([[1, (c: HelperCall) => c.suspend()]]);
        const vm = vmOf('add %r6, 1\ncall 1\nmov %r0, %r6\nexit', { helpers });
        assert.equal(vm.run().status, 'suspended');
        assert.equal(vm.run().status, 'suspended');
        exits(vm.resume(0), 1n);
      });

      it('riot-2022: the taken-branch budget is fresh per slice', () => {
        const helpers: HelperTable = new Map([[0x61, (c: HelperCall) => c.suspend()]]);
        // 150 taken branches per slice: 300 in total would exceed 200 in a single slice.
        const vm = vmOf(`mov %r6, 0\nouter:\nmov %r7, 0\ninner:\nadd %r7, 1\njne %r7, 150, inner\ncall 0x61\nja outer\nexit`,
          { helpers, profile: 'riot-2022' });
        let res = vm.run();
        for (let k = 0; k < 3; k++) {
          assert.equal(res.status, 'suspended', res.fault?.message);
          res = vm.resume(0);
        }
      });
    });

    describe('memory across runs', () => {
      it('.data persists across runs of an instance; the stack is zeroed every run', () => {
        const vm = vmOf(`
          lddwd %r2, 8
          ldxdw %r0, [%r2]
          add %r0, 1
          stxdw [%r2], %r0
          ldxdw %r3, [%r10-8]
          jeq %r3, 0, +1
          mov %r0, -1
          stdw [%r10-8], 99
          exit`, { data: new Uint8Array(16) });
        for (let k = 1n; k <= 4n; k++) exits(vm.run(), k);
        // A second instance has its own .data.
        const other = vmOf('lddwd %r2, 8\nldxdw %r0, [%r2]\nexit', { data: new Uint8Array(16) });
        exits(other.run(), 0n);
      });

      it('.data starts from the image bytes', () => {
        const data = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 0x44, 0x33, 0x22, 0x11, 0, 0, 0, 0]);
        exits(vmOf('lddwd %r2, 8\nldxw %r0, [%r2]\nexit', { data }).run(), 0x11223344n);
      });

      it('0xB8 / 0xD8 give .data / .rodata addresses (imm_lo sign-extended + imm_hi << 32)', () => {
        const vm = vmOf('lddwd %r0, 16\nexit', { data: new Uint8Array(32), rodata: new Uint8Array(32) });
        const dataBase = BigInt(vm.memory.region('data')!.base);
        const rodataBase = BigInt(vm.memory.region('rodata')!.base);
        assert.equal(dataBase, BigInt(BASE.data));
        assert.equal(rodataBase, BigInt(BASE.rodata));
        exits(vm.run(), dataBase + 16n);
        const opts = { data: new Uint8Array(32), rodata: new Uint8Array(32) };
        exits(vmOf('lddwr %r0, 0\nexit', opts).run(), rodataBase);
        exits(vmOf('lddwr %r0, 24\nexit', opts).run(), rodataBase + 24n);
        exits(vmOf('lddwr %r0, -8\nexit', opts).run(), rodataBase - 8n);
        // Raw encodings: negative imm_lo is sign-extended; imm_hi adds multiples of 2^32.
        exits(vmOf([I(0xb8, 0, 0, 0, -16, 0), I(0x95)], opts).run(), BigInt.asUintN(64, dataBase - 16n));
        exits(vmOf([I(0xd8, 0, 0, 0, 4, 1), I(0x95)], opts).run(), rodataBase + 4n + (1n << 32n));
        exits(vmOf([I(0xb8, 0, 0, 0, -0x80000000, 0), I(0x95)], opts).run(), BigInt.asUintN(64, dataBase - 0x80000000n));
        exits(vmOf([I(0xb8, 0, 0, 0, 0, -1), I(0x95)], opts).run(), BigInt.asUintN(64, dataBase - (1n << 32n)));
        // A .rodata pointer with imm_hi set is not a valid address.
        const far = vmOf([I(0xd8, 2, 0, 0, 0, 1), I(0x71, 0, 2, 0), I(0x95)], opts);
        faults(far, far.run(), FaultCode.ILLEGAL_MEM, 2);
        // Reads through them see the sections.
        const rodata = new TextEncoder().encode('femto\0\0\0');
        exits(vmOf('lddwr %r1, 4\nldxb %r0, [%r1]\nexit', { rodata }).run(), BigInt('o'.charCodeAt(0)));
      });

      it('the context is replaced on every run (length and contents)', () => {
        const vm = vmOf('ldxb %r0, [%r1+2]\nexit');
        exits(vm.run({ context: new Uint8Array([1, 2, 3]) }), 3n);
        faults(vm, vm.run({ context: new Uint8Array([1, 2]) }), FaultCode.ILLEGAL_MEM, 0);
        exits(vm.run({ context: new Uint8Array([9, 9, 7, 9]) }), 7n);
        exits(vmOf('mov %r0, %r2\nexit').run({ context: new Uint8Array(5), lengthInR2: true }), 5n);
        exits(vmOf('mov %r0, %r1\nexit').run(), 0n);
      });
    });

    describe('the VM boundary', function () {
      this.timeout(30000);

      it('after a fault the same Vm runs again normally (memory, budget, division, helper faults)', () => {
        const helpers: HelperTable = new Map([[1, () => { throw new Error('no'); }], [2, () => 5]]);
        // ctx[0] selects: 1 → null read, 2 → endless loop, 3 → helper throws, 4 → local-call overflow, else r0 = 7.
        const vm = vmOf(`
          ldxb %r2, [%r1]
          jne %r2, 1, +2
          mov %r3, 0
          ldxw %r0, [%r3]
          jne %r2, 2, +1
          ja -1
          jne %r2, 3, +1
          call 1
          jne %r2, 4, +1
          call local rec
          mov %r0, 3
          call 2
          add %r0, 2
          exit
        rec:
          call local rec
          exit`, { helpers, budget: 5000 });
        const ok = (): void => exits(vm.run({ context: new Uint8Array([0]) }), 7n);
        ok();
        faults(vm, vm.run({ context: new Uint8Array([1]) }), FaultCode.ILLEGAL_MEM, 3);
        ok();
        faults(vm, vm.run({ context: new Uint8Array([2]) }), FaultCode.OUT_OF_BUDGET, 5);
        ok();
        faults(vm, vm.run({ context: new Uint8Array([3]) }), FaultCode.ILLEGAL_CALL, 7);
        ok();
        faults(vm, vm.run({ context: new Uint8Array([4]) }), FaultCode.ILLEGAL_CALL, 14);
        ok();
        ok();
      });

      it('riot-2022: runs again normally after a division fault', () => {
        const vm = vmOf('ldxb %r2, [%r1]\nmov %r0, 12\ndiv %r0, %r2\nexit', { profile: 'riot-2022' });
        exits(vm.run({ context: new Uint8Array([4]) }), 3n);
        faults(vm, vm.run({ context: new Uint8Array([0]) }), FaultCode.ILLEGAL_DIV, 2);
        exits(vm.run({ context: new Uint8Array([6]) }), 2n);
      });

      it('runs on the tier it was asked for (rfc9669 and riot-2022 programs compile)', function () {
        for (const profile of ['rfc9669', 'riot-2022'] as Profile[]) {
          const vm = vmOf('mov %r0, 1\nexit', { profile });
          exits(vm.run(), 1n);
          if (tierOpts.tier === 'compiled') assert.equal(vm.tier.current, 'compiled', vm.tier.reason);
          else if (tierOpts.tier === 'interp') assert.equal(vm.tier.current, 'interp');
          assert.equal(vm.tier.reason, undefined);
        }
      });

      it('an invalid program throws VerifyError from the constructor, never from run', () => {
        assert.throws(() => vmOf([I(0xb7, 0, 0, 0, 1)]), (e: unknown) => e instanceof VerifyError && e.code === -7);
        assert.throws(() => new Vm({ text: new Uint8Array(0) }), (e: unknown) => e instanceof VerifyError && e.code === -5);
        assert.throws(() => vmOf('mov %r0, 0\ndiv %r0, 0\nexit', { profile: 'riot-2022' }), (e: unknown) => e instanceof VerifyError && e.code === -9);
      });

      it('a fault never throws out of vm.run: random verified programs', () => {
        let ran = 0;
        const seen = new Set<string>();
        fc.assert(
          fc.property(arbProgram, fc.uint8Array({ minLength: 0, maxLength: 24 }),
            fc.constantFrom<Profile>('rfc9669', 'riot-2022'), fc.boolean(), (insns, ctx, profile, writable) => {
            let vm: Vm;
              try {
                vm = new Vm({ text: encodeProgram(insns), profile, helpers: fuzzHelpers, budget: 2000, ...tierOpts });
              } catch (e) {
                assert.ok(e instanceof VerifyError, String(e));
                return;
              }
              ran++;
              let res = vm.run({ context: ctx, contextWritable: writable });
              for (let k = 0; k < 3 && res.status === 'suspended'; k++) res = vm.resume(k);
              if (res.status === 'fault') {
                assert.ok(res.fault instanceof VmFault);
                assert.ok([-1, -2, -4, -8, -9].includes(res.fault.code), res.fault.message);
                seen.add(String(res.fault.code));
                assert.ok(res.fault.pc >= 0 && res.fault.pc < vm.program.length, res.fault.message);
              }
              // And again: the instance still works.
              const again = vm.run({ context: ctx });
              assert.ok(['exit', 'fault', 'suspended'].includes(again.status));
            }),
          { numRuns: tierOpts.tier === 'interp' ? 2000 : 1000, seed: 0x9669 },
        );
        assert.ok(ran > 300, `only ${ran} random programs passed the verifier`);
        for (const code of ['-2', '-4', '-8']) assert.ok(seen.has(code), `fault ${code} never seen (${[...seen]})`);
      });
    });
  });
}

describe('the interpreter and the compiled tier agree on random programs', function () {
  this.timeout(30000);
  it('same status, r0, instruction counts, fault code and pc, memory, across suspensions and reruns', () => {
    let compared = 0;
    const stats: Record<string, number> = {};
    fc.assert(
      fc.property(arbProgram, fc.uint8Array({ minLength: 0, maxLength: 24 }), fc.integer({ min: 1, max: 400 }), (insns, ctx, budget) => {
        const text = encodeProgram(insns);
        const make = (tier: 'interp' | 'compiled'): Vm | null => {
          try {
            return new Vm({ text, helpers: fuzzHelpers, budget, tier, data: new Uint8Array(16) });
          } catch (e) {
            assert.ok(e instanceof VerifyError, String(e));
            return null;
          }
        };
        const a = make('interp'), b = make('compiled');
        assert.equal(a === null, b === null);
        if (!a || !b) return;
        compared++;
        const summary = (vm: Vm, r: RunResult): unknown => ({
          status: r.status, r0: r.r0, insns: r.insns, total: r.totalInsns,
          fault: r.fault && { code: r.fault.code, pc: r.fault.pc, message: r.fault.message },
          context: r.context && [...r.context], data: [...vm.memory.bytes('data')],
        });
        for (let run = 0; run < 2; run++) {
          let ra = a.run({ context: ctx.slice(), contextWritable: true });
          let rb = b.run({ context: ctx.slice(), contextWritable: true });
          assert.deepEqual(summary(b, rb), summary(a, ra), `run ${run}`);
          const key = ra.fault ? `fault ${ra.fault.code}` : ra.status;
          stats[key] = (stats[key] ?? 0) + 1;
          for (let k = 0; k < 3 && ra.status === 'suspended'; k++) {
            ra = a.resume(k + 7);
            rb = b.resume(k + 7);
            assert.deepEqual(summary(b, rb), summary(a, ra), `run ${run}, resume ${k}`);
          }
        }
      }),
      { numRuns: 1500, seed: 0x9669 },
    );
    if (process.env.FC_DEBUG) console.log(`compared ${compared}`, stats);
    assert.ok(compared > 300, `only ${compared} programs compared`);
  });
});
