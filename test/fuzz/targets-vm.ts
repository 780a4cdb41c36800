/**
 * Fuzz targets for the VM core: the verifier (with a soundness run of everything it accepts) and
 * the interpreter against the compiled tier (differential), both with the shadow-memory check of
 * every slice (shadow.ts) and a read-only canary region and a writable scratch region mapped
 * where programs can reach them.
 *
 * Allowed errors: none. verify() never throws; a Vm built from a verified program never throws
 * from its constructor, run or resume (faults are results).
 *
 * Soundness: a program the verifier accepts can, at run time, only fault with −2 (memory), −4
 * (helper, call depth), −8 (budget) or −9 (division, riot-2022). An illegal instruction, jump or
 * register at run time means the verifier let something through.
 */
import { VerifyError } from '../../vm/errors';
import { BASE, PERM_WRITE } from '../../vm/memory';
import { encodeProgram, Program, type Insn } from '../../vm/program';
import { verify, type Profile } from '../../vm/verifier';
import { isWide } from '../../vm/opcodes';
import { Vm, type RunResult, type VmOptions } from '../../vm/vm';
import type { RiotImage } from '../../vm/image';
import { arbProgram, arbRiotProgram, HELPER_IDS, H_MISSING, WALK_HEAVY, makeHelpers, type GenConfig, type GenProgram } from '../util/program-gen';
import { Finding, type Counters, type Target } from './engine';
import { checkRunResult } from './targets-formats';
import { checkShadow, fillGaps, premapContext, snapshot } from './shadow';
import { sampleArb, type Rng } from './rng';
import { corpus } from './corpus';
import { observe } from '../util/observe';

const bump = (c: Counters, k: string, n = 1): void => { c[k] = (c[k] ?? 0) + n; };
const errName = (e: unknown): string => (e instanceof Error ? `${e.constructor.name}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}` : String(e));

/** Extra regions mapped on every fuzzed Vm: canary (read-only, first: 0x50000000) and scratch (RW). */
export const CANARY_BASE = BASE.extra;
export const SCRATCH_BASE = BASE.extra + 0x0100_0000;

const KNOWN_OPS = [
  0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x44, 0x4c, 0x54, 0x5c, 0x64, 0x6c, 0x74, 0x7c, 0x84, 0x94, 0x9c, 0xa4, 0xac, 0xb4, 0xbc, 0xc4, 0xcc, 0xd4, 0xdc,
  0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x6f, 0x77, 0x7f, 0x87, 0x8f, 0x97, 0x9f, 0xa7, 0xaf, 0xb7, 0xbf, 0xc7, 0xcf, 0xd7, 0xdf,
  0x05, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x4d, 0x55, 0x5d, 0x65, 0x6d, 0x75, 0x7d, 0x85, 0x8d, 0x95, 0xa5, 0xad, 0xb5, 0xbd, 0xc5, 0xcd, 0xd5, 0xdd,
  0x06, 0x16, 0x1e, 0x26, 0x2e, 0x36, 0x3e, 0x46, 0x4e, 0x56, 0x5e, 0x66, 0x6e, 0x76, 0x7e, 0xa6, 0xae, 0xb6, 0xbe, 0xc6, 0xce, 0xd6, 0xde, 0x86, 0x96, 0x8e,
  0x18, 0xb8, 0xd8, 0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91, 0x99, 0x62, 0x6a, 0x72, 0x7a, 0x63, 0x6b, 0x73, 0x7b, 0xc3, 0xdb, 0xc2, 0xda,
  0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0x00,
];
const EDGE_IMM = [0, 1, -1, 2, 7, 8, 16, 31, 32, 63, 64, 0x7fffffff, -0x80000000, 0xff, 0xffff, -8, -512, 512, 0x01, 0x40, 0x50, 0xa0, 0xe1, 0xf1];

/** Addresses worth aiming at: region edges, the canary, scratch, gaps between windows. */
function hostileAddress(rng: Rng, canarySize: number, scratchSize: number): bigint {
  const a = rng.pick([
    CANARY_BASE, CANARY_BASE + canarySize - 1, CANARY_BASE + canarySize, CANARY_BASE - 1, CANARY_BASE + canarySize - 4,
    SCRATCH_BASE, SCRATCH_BASE + scratchSize - 8, SCRATCH_BASE + scratchSize - 1, SCRATCH_BASE + scratchSize,
    BASE.stack + 504, BASE.stack + 512, BASE.data, BASE.rodata, BASE.context, BASE.context - 8,
    BASE.extra + 0x0200_0000, 0xfffffff8, 0x1_0000 - 8, 0,
  ]);
  return BigInt(a + rng.range(-8, 8)) + (rng.bool(0.05) ? 1n << 32n : 0n);
}

/** One structure-aware mutation of an instruction list. */
export function mutateInsns(insns: Insn[], rng: Rng, canarySize = 24, scratchSize = 32): Insn[] {
  const out = insns.map((i) => ({ ...i }));
  if (!out.length) return [{ opcode: 0x95, dst: 0, src: 0, offset: 0, imm: 0, imm2: 0 }];
  const i = rng.int(out.length);
  const x = out[i];
  switch (rng.int(11)) {
    case 0: x.opcode = rng.bool(0.9) ? rng.pick(KNOWN_OPS) : rng.int(256); break;
    case 1: x.dst = rng.bool(0.9) ? rng.int(11) : rng.int(16); break;
    case 2: x.src = rng.bool(0.9) ? rng.int(11) : rng.int(16); break;
    case 3: x.offset = rng.bool(0.5) ? ((x.offset + rng.pick([1, -1, 2, -2, 8, -8])) << 16) >> 16 : rng.pick([0, 1, -1, 8, 16, 32, -512, 32767, -32768]); break;
    case 4: x.imm = rng.bool(0.5) ? rng.pick(EDGE_IMM) : rng.u32() | 0; break;
    case 5: { // aim a wide load at a hostile address
      const wides = out.map((w, k) => (w.opcode === 0x18 ? k : -1)).filter((k) => k >= 0);
      const w = wides.length ? out[rng.pick(wides)] : x;
      const v = hostileAddress(rng, canarySize, scratchSize);
      w.opcode = 0x18;
      w.imm = Number(BigInt.asIntN(32, v));
      w.imm2 = Number(BigInt.asIntN(32, v >> 32n));
      break;
    }
    case 6: { // nudge a jump
      const jumps = out.map((w, k) => ((w.opcode & 7) === 5 || (w.opcode & 7) === 6 ? k : -1)).filter((k) => k >= 0);
      if (!jumps.length) break;
      const j = out[rng.pick(jumps)];
      if (j.opcode === 0x06 || j.opcode === 0x85) j.imm += rng.pick([1, -1, 2, -2]);
      else j.offset = ((j.offset + rng.pick([1, -1, 2, -2, 3])) << 16) >> 16;
      break;
    }
    case 7: out.splice(i, 0, { ...out[rng.int(out.length)] }); break;
    case 8: if (out.length > 1) out.splice(i, 1); break;
    case 9: { const j = rng.int(out.length); [out[i], out[j]] = [out[j], out[i]]; break; }
    default: { // a fresh instruction
      out.splice(i, 0, { opcode: rng.pick(KNOWN_OPS), dst: rng.int(11), src: rng.int(11), offset: rng.pick([0, 0, 1, -1, 8, -8, -16]), imm: rng.pick(EDGE_IMM), imm2: rng.bool(0.2) ? rng.u32() | 0 : 0 });
    }
  }
  return out;
}

// ---- plans -------------------------------------------------------------------------------------

export interface Plan {
  ctx: { bytes: Uint8Array; writable: boolean } | null;
  /** Before the run, (re)map a host region as a hook does (a flow payload of a new size). */
  remap?: { name: string; bytes: Uint8Array; writable: boolean };
  budget: number;
  entry?: string;
  resumes: { r0: number | bigint; budget: number }[];
}

function arbBudget(rng: Rng): number {
  return rng.weighted<() => number>([[4, () => rng.int(41)], [3, () => rng.int(401)], [2, () => rng.range(400, 5000)], [1, () => 100_000]])();
}

function makePlans(rng: Rng, g: GenProgram, entries: string[]): Plan[] {
  const n = rng.range(1, 4);
  return Array.from({ length: n }, () => ({
    ctx: rng.weighted<Plan['ctx']>([
      [4, { bytes: rng.bytes(g.sizes.ctx), writable: rng.bool() }],
      [2, { bytes: rng.bytes(rng.int(73)), writable: rng.bool() }],
      [1, null],
    ]),
    budget: arbBudget(rng),
    entry: entries.length && rng.bool(0.3) ? rng.pick(entries) : undefined,
    remap: rng.bool(0.3) ? { name: rng.pick(['scratch', 'payload', 'payload2']), bytes: rng.bytes(rng.pick([0, 1, 7, 16, 40, 100])), writable: rng.bool() } : undefined,
    resumes: Array.from({ length: rng.int(5) }, () => ({ r0: rng.bool() ? rng.range(-3, 300) : rng.u64(), budget: arbBudget(rng) })),
  }));
}

// ---- observing ------------------------------------------------------------------------------------

/** Everything a host sees after a slice, including the fuzz regions. */
const observeAll = (vm: Vm, res: RunResult): Record<string, unknown> => observe(vm, res, ['scratch', 'canary', 'payload']);

const RUNTIME_FAULTS = new Set([-2, -4, -8, -9]);

/** Run the plans on a Vm, checking every slice; returns one observation per slice. */
export function execPlans(vm: Vm, plans: Plan[], label: string, gaps: boolean, counters?: Counters): Record<string, unknown>[] {
  const obs: Record<string, unknown>[] = [];
  const slice = (k: number, s: number, budget: number, start: () => RunResult): RunResult => {
    if (gaps) fillGaps(vm.memory);
    const before = snapshot(vm.memory, gaps);
    let res: RunResult;
    try {
      res = start();
    } catch (e) {
      throw new Finding('untyped-error', `${label}: run ${k} slice ${s} threw ${errName(e)}`);
    }
    const what = `${label} run ${k} slice ${s}`;
    checkShadow(vm.memory, before, what);
    checkRunResult(res, budget, what);
    if (res.fault && !RUNTIME_FAULTS.has(res.fault.code)) {
      throw new Finding('soundness', `${what}: a verified program faulted with ${res.fault.code} at run time: ${res.fault.message}`);
    }
    if (res.fault?.code === -9 && vm.profile !== 'riot-2022') throw new Finding('soundness', `${what}: division fault under ${vm.profile}`);
    if (counters) bump(counters, res.fault ? `fault${res.fault.code}` : res.status);
    obs.push({ run: k, slice: s, ...observeAll(vm, res) });
    return res;
  };
  plans.forEach((p, k) => {
    const runOpts = { budget: p.budget, entry: p.entry, ...(p.ctx ? { context: p.ctx.bytes.slice(), contextWritable: p.ctx.writable } : {}) };
    if (p.remap) vm.mapRegion(p.remap.name, p.remap.bytes, p.remap.writable);
    premapContext(vm, runOpts);
    let res = slice(k, 0, p.budget, () => vm.run(runOpts));
    for (let s = 0; s < p.resumes.length && res.status === 'suspended'; s++) {
      const r = p.resumes[s];
      res = slice(k, s + 1, r.budget, () => vm.resume(r.r0, r.budget));
    }
  });
  return obs;
}

export function compareObs(a: Record<string, unknown>[], b: Record<string, unknown>[], what: string): void {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = JSON.stringify(a[i]);
    const y = JSON.stringify(b[i]);
    if (x !== y) {
      const keys = Object.keys({ ...(a[i] ?? {}), ...(b[i] ?? {}) }).filter((k) => JSON.stringify(a[i]?.[k]) !== JSON.stringify(b[i]?.[k]));
      throw new Finding('tier-mismatch', `${what}: slice ${i} differs in ${keys.join(', ')}\ninterp:   ${keys.map((k) => `${k}=${JSON.stringify(b[i]?.[k])}`).join(' ')}\n` +
        `other:    ${keys.map((k) => `${k}=${JSON.stringify(a[i]?.[k])}`).join(' ')}`);
    }
  }
}

// ---- interp vs compiled ---------------------------------------------------------------------------

interface DiffInput {
  text: Uint8Array;
  data: Uint8Array;
  rodata: Uint8Array;
  maxCallDepth: number;
  ctxNominal: number;
  /** Entry slots exported as functions f<slot>. */
  entries: number[];
  canary: Uint8Array;
  scratch: number;
  plans: Plan[];
  other: 'compiled' | 'auto';
  /** Per-pc counting (as boards run containers, for the cost model). */
  count: boolean;
  tierUp: { runs: number; insns: number; minAvgInsns: number };
  how: string;
  /** riot-2022 programs too (taken-branch budget, division faults) run on both tiers. */
  profile: Profile;
}

function genConfig(rng: Rng): GenConfig {
  return rng.pick<GenConfig>([
    {},
    { weights: { suspend: 4, helper: 4, call: 3 } },
    { weights: { mem: 10, code: 3 } },
    { weights: { loop: 6, spin: 2, if: 4 } },
    { weights: { walk: 8, mem: 3, helper: 1 } },
    // Walks aimed at region ends and their copies 2^32 away: the compiled tier's address arithmetic.
    WALK_HEAVY,
    // Call-free loops with branches inside: the compiled tier's structured loop copies.
    { weights: { loop: 8, if: 6, skip: 2, mem: 6, walk: 2, helper: 0, suspend: 0, call: 0, rec: 0 } },
    { maxItems: 20 },
  ]);
}

function mutatedVerified(rng: Rng, g: GenProgram, canary: number, scratch: number, tries: number, profile: Profile): { insns: Insn[]; text: Uint8Array } | undefined {
  for (let t = 0; t < tries; t++) {
    let insns = g.insns;
    const k = rng.range(1, 3);
    for (let m = 0; m < k; m++) insns = mutateInsns(insns, rng, canary, scratch);
    const text = encodeProgram(insns);
    if (verify(new Program(text), { helpers: new Set(HELPER_IDS), maxCallDepth: g.sizes.maxCallDepth, profile }).ok) return { insns, text };
  }
  return undefined;
}

function imageOf(i: DiffInput): RiotImage {
  return { flags: 0, data: i.data, rodata: i.rodata, text: i.text, functions: i.entries.map((slot) => ({ name: `f${slot}`, flags: 0, offset: slot * 8 })) };
}

function buildVm(i: DiffInput, opts: Partial<VmOptions>): Vm {
  const vm = new Vm({ image: imageOf(i), helpers: makeHelpers(), maxCallDepth: i.maxCallDepth, countPerPc: i.count, profile: i.profile, ...opts });
  vm.mapRegion('canary', i.canary, false);
  vm.mapRegion('scratch', i.scratch, true);
  return vm;
}

export const interpTarget: Target<DiffInput> = {
  name: 'interp',
  description: 'interpreter vs compiled tier (and auto with random tier-up points) on generated and mutated verified programs: status, r0, insns, fault, every region after every slice; shadow memory; budgets; verifier soundness',
  allowed: [],
  generate(rng) {
    const profile: Profile = rng.bool(0.3) ? 'riot-2022' : 'rfc9669';
    const g = sampleArb(profile === 'riot-2022' ? arbRiotProgram(genConfig(rng)) : arbProgram(genConfig(rng)), rng);
    const canary = rng.bytes(rng.pick([1, 5, 13, 24, 37]));
    const scratch = rng.pick([3, 8, 21, 64]);
    let text = g.text;
    let how = profile === 'riot-2022' ? 'riot-generated' : 'generated';
    if (rng.bool(0.4)) {
      const m = mutatedVerified(rng, g, canary.length, scratch, 6, profile);
      if (m) { text = m.text; how = profile === 'riot-2022' ? 'riot-mutated' : 'mutated'; }
    }
    const starts = [...new Program(text).starts()];
    const entries = [...new Set([...(how.endsWith('generated') ? g.functions : []), ...Array.from({ length: rng.int(3) }, () => rng.pick(starts))])].filter((s) => s > 0);
    return {
      text, data: g.data, rodata: g.rodata, maxCallDepth: g.sizes.maxCallDepth, ctxNominal: g.sizes.ctx, entries, canary, scratch,
      plans: makePlans(rng, g, entries.map((s) => `f${s}`)),
      other: rng.bool(0.75) ? 'compiled' : 'auto',
      count: rng.bool(0.3),
      tierUp: { runs: rng.range(0, 3), insns: rng.pick([1, 7, 50, 300, 1e12]), minAvgInsns: 0 },
      how,
      profile,
    };
  },
  run(input, counters) {
    let ref: Vm, other: Vm;
    try {
      ref = buildVm(input, { tier: 'interp' });
      other = buildVm(input, input.other === 'compiled' ? { tier: 'compiled' } : { tier: 'auto', tierUp: input.tierUp });
    } catch (e) {
      throw new Finding('untyped-error', `new Vm of a verified program threw ${errName(e)}`);
    }
    if (input.other === 'compiled' && other.tier.current !== 'compiled') {
      throw new Finding('invariant', `compiled tier refused a verified program: ${other.tier.reason}`);
    }
    const a = execPlans(ref, input.plans, 'interp', true, counters);
    const b = execPlans(other, input.plans, input.other, input.other === 'compiled');
    compareObs(b, a, `${input.other} vs interp (${input.how})`);
    bump(counters, input.how);
    if (other.tier.current === 'compiled') bump(counters, 'ran-compiled');
  },
};

// ---- verifier ----------------------------------------------------------------------------------------

interface VerifyInput {
  text: Uint8Array;
  profile: Profile;
  helpers: number[] | null;
  maxCallDepth: number;
  maxSlots?: number;
  data: Uint8Array;
  rodata: Uint8Array;
  ctx: Uint8Array;
  ctxWritable: boolean;
  budget: number;
  how: string;
}

const FAULT_CODES = new Set([-1, -2, -3, -4, -5, -6, -7, -8, -9]);

export const verifierTarget: Target<VerifyInput> = {
  name: 'verifier',
  description: 'vm/verifier.ts verify on mutated verified programs, random slots and random bytes, both profiles; accepted programs run on the interpreter (soundness, budget, shadow memory); riot-2022 ⊆ rfc9669',
  allowed: [],
  generate(rng) {
    const c = corpus();
    const profile: Profile = rng.bool(0.35) ? 'riot-2022' : 'rfc9669';
    const helpers = rng.weighted<number[] | null>([[6, HELPER_IDS], [1, null], [1, [1, 2, 3]], [1, []]]);
    const base = rng.bool(0.5) ? sampleArb(arbProgram(genConfig(rng)), rng) : rng.pick(c.programs);
    let text: Uint8Array;
    let how: string;
    const k = rng.int(10);
    if (k < 5) {
      let insns = base.insns;
      const n = rng.range(1, 4);
      for (let m = 0; m < n; m++) insns = mutateInsns(insns, rng);
      text = encodeProgram(insns);
      how = 'mutated';
    } else if (k < 7) {
      const n = rng.range(1, 30);
      const insns: Insn[] = [];
      for (let m = 0; m < n; m++) insns.push({ opcode: rng.pick(KNOWN_OPS), dst: rng.int(rng.bool(0.9) ? 11 : 16), src: rng.int(rng.bool(0.9) ? 11 : 16), offset: rng.pick([0, 0, 1, -1, 2, -2, 5]), imm: rng.pick(EDGE_IMM), imm2: 0 });
      if (rng.bool(0.7)) insns.push({ opcode: 0x95, dst: 0, src: 0, offset: 0, imm: 0, imm2: 0 });
      text = encodeProgram(insns);
      how = 'random-slots';
    } else if (k < 8) {
      text = rng.bytes(rng.len(200));
      how = 'random-bytes';
    } else {
      text = base.text;
      how = 'generated';
    }
    return {
      text, profile, helpers, maxCallDepth: rng.pick([0, 1, 2, 8, base.sizes.maxCallDepth]), maxSlots: rng.bool(0.1) ? rng.int(40) : undefined,
      data: base.data, rodata: base.rodata, ctx: rng.bytes(rng.pick([0, 8, 16, base.sizes.ctx])), ctxWritable: rng.bool(), budget: arbBudget(rng), how,
    };
  },
  run(input, counters) {
    const p = new Program(input.text);
    const opts = { profile: input.profile, helpers: input.helpers ? new Set(input.helpers) : undefined, maxCallDepth: input.maxCallDepth, maxSlots: input.maxSlots };
    let res;
    try {
      res = verify(p, opts);
    } catch (e) {
      throw new Finding('untyped-error', `verify threw ${errName(e)}`);
    }
    if (!res.ok) {
      const err = res.error;
      if (!(err instanceof VerifyError)) throw new Finding('invariant', 'rejection without a VerifyError');
      if (!FAULT_CODES.has(err.code)) throw new Finding('invariant', `rejection code ${err.code}`);
      if (!Number.isInteger(err.pc) || err.pc < 0 || err.pc > p.length) throw new Finding('invariant', `rejection pc ${err.pc} outside 0..${p.length}`);
      bump(counters, `rejected:${err.rule}`);
      return;
    }
    bump(counters, `accepted-${input.how}`);
    if (input.profile === 'riot-2022') {
      const rfc = verify(p, { ...opts, profile: 'rfc9669' });
      if (!rfc.ok) throw new Finding('invariant', `riot-2022 accepts a program rfc9669 rejects: ${rfc.error.message}`);
    }
    let vm: Vm;
    try {
      vm = new Vm({
        text: input.text, data: input.data, rodata: input.rodata, profile: input.profile, helpers: makeHelpers(),
        grants: new Set([...(input.helpers ?? [...HELPER_IDS, H_MISSING]), ...res.helpersUsed]), maxCallDepth: input.maxCallDepth, tier: 'interp',
      });
    } catch (e) {
      throw new Finding('invariant', `new Vm refused a program verify() accepted: ${errName(e)}`);
    }
    vm.mapRegion('canary', Uint8Array.of(1, 2, 3, 4, 5), false);
    vm.mapRegion('scratch', 16, true);
    const plan: Plan = { ctx: { bytes: input.ctx, writable: input.ctxWritable }, budget: input.budget, resumes: [{ r0: 1, budget: input.budget }, { r0: 2, budget: input.budget }] };
    execPlans(vm, [plan], `verified (${input.profile})`, true, counters);
    // The write permission of the canary must still hold after the runs.
    if ((vm.memory.region('canary')!.perm & PERM_WRITE) !== 0) throw new Finding('invariant', 'canary became writable');
  },
};
