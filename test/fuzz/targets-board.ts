/**
 * Fuzz target for the board's helpers (lib/board/helpers.ts, printf.ts, coap.ts) with hostile
 * pointers, lengths and formats: generated containers call RIOT's helpers with arguments aimed at
 * every region edge, the read-only canary, gaps, addresses above 4 GiB, lengths around every size,
 * printf formats that are long, unterminated or ask for more arguments than given, and (on the
 * CoAP hook) a packet struct scribbled over before the CoAP helpers read it. They run on a Board
 * (VirtualClock, deterministic) through its hooks, next to a healthy container.
 *
 * Properties: the board never throws but BoardError/VerifyError/FormatError where documented
 * (install, payload size); every slice is shadow-checked (guardVm: read-only regions, canary and
 * gaps unchanged); no VM exception surfaces as an "internal error" fault; runs keep to their
 * budget; stores keep to their capacity; the healthy container's memory is untouched and its
 * results stay right.
 */
import { Board, BoardError, VirtualClock, type RunReport } from '../../lib/board/board';
import { HELPER } from '../../lib/board/helpers';
import { CONTRACTS, type HookName } from '../../lib/board/hooks';
import { FormatError, VerifyError } from '../../vm/errors';
import { BASE } from '../../vm/memory';
import type { Insn } from '../../vm/program';
import type { RiotImage } from '../../vm/image';
import { encodeProgram } from '../../vm/program';
import { Finding, type Counters, type Target } from './engine';
import { checkShadow, guardVm, snapshot } from './shadow';
import type { Rng } from './rng';

const bump = (c: Counters, k: string, n = 1): void => { c[k] = (c[k] ?? 0) + n; };
const errName = (e: unknown): string => (e instanceof Error ? `${e.constructor.name}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}` : String(e));

const I = (opcode: number, dst = 0, src = 0, offset = 0, imm = 0, imm2 = 0): Insn => ({ opcode, dst, src, offset, imm, imm2 });
const lddw = (d: number, v: bigint): Insn => I(0x18, d, 0, 0, Number(BigInt.asIntN(32, v)), Number(BigInt.asIntN(32, v >> 32n)));
const movImm = (d: number, v: number): Insn => I(0xb7, d, 0, 0, v | 0);
const movReg = (d: number, s: number): Insn => I(0xbf, d, s);
const addImm = (d: number, v: number): Insn => I(0x07, d, 0, 0, v | 0);
const call = (id: number): Insn => I(0x85, 0, 0, 0, id);
const EXIT = I(0x95);

const CANARY = BASE.extra; // mapped first on the hostile Vm
const EXTRA1 = BASE.extra + 0x0100_0000; // flow_payload, or coap_pkt
const EXTRA2 = BASE.extra + 0x0200_0000; // coap_buf

const LENGTHS = [0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 23, 24, 63, 64, 84, 85, 255, 256, 511, 512, 513, 1024, 4096, 65535, 65536, 65537,
  0x7fffffff, 0x80000000, 0xffffffff];
const BIG_LENGTHS = [1n << 32n, (1n << 32n) + 8n, 1n << 63n, (1n << 64n) - 1n, (1n << 64n) - 8n];

const FORMAT_PIECES = [
  'x', 'temp=', '\n', ' ', '%d', '%i', '%u', '%x', '%X', '%o', '%c', '%s', '%p', '%%', '%', '%n', '%q', '%ld', '%lld', '%llx', '%hhd', '%hu',
  '%zu', '%jd', '%td', '%5d', '%-8x', '%08x', '%+d', '% d', '%#x', '%#o', '%.3s', '%.0s', '%*d', '%-*d', '%.*s', '%*.*s', '%0*x',
  '%999999999999d', '%.99999s', '%4294967296d', '%64d', '%65s', '%l', '%hh', '%.', '%*', 'A'.repeat(70), 'B'.repeat(600),
];

function hostileFormat(rng: Rng): string {
  const n = rng.range(1, 8);
  let s = '';
  for (let i = 0; i < n; i++) s += rng.pick(FORMAT_PIECES);
  if (rng.bool(0.1)) s = s.repeat(rng.range(2, 40));
  return s.slice(0, rng.bool(0.9) ? 1100 : 4000);
}

type Hook = 'flow' | 'coap' | 'timer' | 'sched';

interface HelperInput {
  profile: 'native' | 'nrf52840dk';
  hook: Hook;
  text: Uint8Array;
  data: Uint8Array;
  rodata: Uint8Array;
  budget: number;
  payload: Uint8Array;
  method: string;
  canary: Uint8Array;
  advances: number[];
  /** Number of printf calls (bounds the console). */
  printfs: number;
  calls: string[];
  /** Also run on a second board with the hostile container compiled, and compare. */
  differential: boolean;
}

interface Gen {
  rng: Rng;
  hook: Hook;
  rodataLen: number;
  dataLen: number;
  formats: number[];
  stackStrings: number[];
}

/** Instructions that put a hostile-or-plausible value of kind `k` into register d. */
function arg(g: Gen, d: number, k: 'ptr' | 'wptr' | 'fmt' | 'int' | 'len' | 'ctx' | 'handle'): Insn[] {
  const { rng } = g;
  const ptrChoices: [number, () => Insn[]][] = [
    [3, () => [movReg(d, 10), addImm(d, -rng.pick([8, 16, 24, 64, 128, 256, 504, 508, 511, 512, 513, 0, 4, -8]))]],
    [2, () => [I(0xb8, d, 0, 0, rng.pick([0, 1, 4, 7, 8, g.dataLen - 1, g.dataLen, g.dataLen - 4, g.dataLen + 8, -1]))]],
    [2, () => [I(0xd8, d, 0, 0, rng.pick([0, ...g.formats, g.rodataLen - 1, g.rodataLen, g.rodataLen - 8, -1]))]],
    [2, () => [lddw(d, BigInt(CANARY + rng.pick([0, 1, 4, 8, 12, 15, 16, 17, -1])))]],
    [2, () => [lddw(d, BigInt(rng.pick([EXTRA1, EXTRA2]) + rng.pick([0, 4, 8, 12, 14, 16, 80, 83, 84, 85, 500, 511, 512, 513, -1, 0x10000])))]],
    [1, () => [movReg(d, 6), ...(rng.bool() ? [addImm(d, rng.pick([1, 4, 8, 15, 16, 17, 23, 24, 25, -1]))] : [])]],
    [1, () => [lddw(d, rng.pick([0n, 1n, 0xffffn, 0x10000n, BigInt(BASE.rodata) - 1n, BigInt(BASE.stack + 512), 0xffffffffn, 1n << 32n,
      (1n << 32n) + BigInt(BASE.stack + 500), 1n << 63n, (1n << 64n) - 1n, BigInt(BASE.context + 16), BigInt(BASE.extra + 0x0300_0000)]))]],
    [1, () => (g.hook === 'coap' || g.hook === 'flow' ? [movReg(d, rng.pick([7, 8]))] : [movImm(d, 0)])],
  ];
  switch (k) {
    case 'ptr':
    case 'wptr':
      return rng.weighted(ptrChoices)();
    case 'fmt':
      if (rng.bool(0.6) && g.formats.length) return [I(0xd8, d, 0, 0, rng.pick(g.formats))];
      if (rng.bool(0.5) && g.stackStrings.length) return [movReg(d, 10), addImm(d, -rng.pick(g.stackStrings))];
      return rng.weighted(ptrChoices)();
    case 'ctx':
      return rng.bool(0.8) ? [movReg(d, 6)] : rng.weighted(ptrChoices)();
    case 'len':
      return rng.bool(0.85) ? [lddw(d, BigInt(rng.pick(LENGTHS)))] : [lddw(d, rng.pick(BIG_LENGTHS))];
    case 'handle':
      return rng.bool(0.5) ? [movReg(d, 0)] : [lddw(d, rng.pick([0n, 1n, 2n, 3n, 9n, 0xffffffffn, 1n << 32n, BigInt(rng.u32())]))];
    default:
      return rng.bool(0.7) ? [movImm(d, rng.pick([0, 1, -1, 2, 12, 16, 17, 0x7fff, -0x8000, 0xffff, 0x80, 0x82, 0x81, 0x45, 0x42, 0x20, 10, -10, 16, -9, 17]))]
        : [lddw(d, rng.u64())];
  }
}

const SCHED_HELPERS = [...CONTRACTS.sched.helpers];

interface Spec { id: number; args: ('ptr' | 'wptr' | 'fmt' | 'int' | 'len' | 'ctx' | 'handle')[]; name: string }
const SPECS: Spec[] = [
  { id: HELPER.printf, name: 'printf', args: ['fmt', 'int', 'ptr', 'int', 'ptr'] },
  { id: HELPER.memcpy, name: 'memcpy', args: ['wptr', 'ptr', 'len'] },
  { id: HELPER.store_local, name: 'store_local', args: ['int', 'int'] },
  { id: HELPER.store_global, name: 'store_global', args: ['int', 'int'] },
  { id: HELPER.fetch_local, name: 'fetch_local', args: ['int', 'wptr'] },
  { id: HELPER.fetch_global, name: 'fetch_global', args: ['int', 'wptr'] },
  { id: HELPER.now_ms, name: 'now_ms', args: [] },
  { id: HELPER.saul_reg_find_nth, name: 'find_nth', args: ['int'] },
  { id: HELPER.saul_reg_find_type, name: 'find_type', args: ['int'] },
  { id: HELPER.saul_reg_read, name: 'saul_read', args: ['handle', 'wptr'] },
  { id: HELPER.saul_reg_write, name: 'saul_write', args: ['handle', 'ptr'] },
  { id: HELPER.gcoap_resp_init, name: 'resp_init', args: ['ctx', 'int'] },
  { id: HELPER.coap_opt_finish, name: 'opt_finish', args: ['ctx', 'int'] },
  { id: HELPER.coap_add_format, name: 'add_format', args: ['ctx', 'int'] },
  { id: HELPER.coap_get_pdu, name: 'get_pdu', args: ['ctx'] },
  { id: HELPER.fmt_s16_dfp, name: 'fmt_s16_dfp', args: ['wptr', 'int', 'int'] },
  { id: HELPER.fmt_u32_dec, name: 'fmt_u32_dec', args: ['wptr', 'int'] },
  { id: HELPER.ztimer_now, name: 'ztimer_now', args: [] },
  { id: HELPER.ztimer_periodic_wakeup, name: 'periodic_wakeup', args: ['wptr', 'int'] },
];

function generate(rng: Rng): HelperInput {
  const profile = rng.bool(0.7) ? 'native' as const : 'nrf52840dk' as const;
  const hook = rng.weighted<Hook>([[4, 'flow'], [4, 'coap'], [2, 'timer'], [1, 'sched']]);
  // .rodata: format strings, NUL-terminated but for the last now and then (no padding after it
  // when its end falls on 8 bytes: an unterminated string running into the region's end).
  const fmts: string[] = Array.from({ length: rng.range(1, 4) }, () => hostileFormat(rng));
  const ro: number[] = [];
  const formats: number[] = [];
  fmts.forEach((f, i) => {
    formats.push(ro.length);
    for (const ch of f) ro.push(ch.charCodeAt(0) & 0xff);
    if (i < fmts.length - 1 || rng.bool(0.7)) ro.push(0);
  });
  if (!rng.bool(0.7)) while (ro.length % 8) ro.push(0x41);
  const rodata = Uint8Array.from(ro.slice(0, profile === 'nrf52840dk' ? 900 : 2500));
  const data = rng.bytes(rng.pick([0, 3, 8, 13, 32]));
  const g: Gen = { rng, hook, rodataLen: rodata.length, dataLen: data.length, formats: formats.filter((o) => o < rodata.length), stackStrings: [] };
  const insns: Insn[] = [movReg(6, 1)];
  if (hook === 'coap') insns.push(I(0x79, 7, 6, 0), I(0x79, 8, 6, 8));
  if (hook === 'flow') insns.push(I(0x79, 7, 6, 0), I(0x61, 8, 6, 8));
  // A format string on the stack, 4 bytes at a time.
  if (rng.bool(0.4)) {
    const s = hostileFormat(rng).slice(0, 120);
    const bytes = [...s].map((c) => c.charCodeAt(0) & 0xff);
    if (rng.bool(0.8)) bytes.push(0);
    while (bytes.length % 4) bytes.push(rng.bool() ? 0 : 0x25);
    const top = rng.pick([bytes.length, 256, 512]);
    for (let i = 0; i < bytes.length && i < top; i += 4) {
      insns.push(I(0x62, 10, 0, -top + i, bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24)));
    }
    g.stackStrings.push(top);
  }
  // Scribble over the packet struct before the CoAP helpers read it.
  if (hook === 'coap' && rng.bool(0.5)) {
    const n = rng.range(1, 4);
    for (let i = 0; i < n; i++) {
      const field = rng.pick([0, 4, 8, 12, 14, 16, 18, 76, 80]);
      const v = rng.pick([0, 1, 0xffff, 0xffffffff, CANARY, CANARY + 8, BASE.rodata, EXTRA2 + 510, EXTRA2 + 512, EXTRA1, BASE.stack, 16, 17, 0x7fffffff]);
      insns.push(field === 12 || field === 14 || field === 18 ? I(0x6a, 7, 0, field, v & 0xffff) : I(0x62, 7, 0, field, v | 0));
    }
  }
  const allowed = hook === 'sched' ? SPECS.filter((s) => SCHED_HELPERS.includes(s.id))
    : hook === 'coap' ? SPECS.filter((s) => s.id !== HELPER.ztimer_periodic_wakeup)
      : SPECS.filter((s) => CONTRACTS[hook as HookName].helpers.has(s.id));
  const nCalls = rng.range(1, 6);
  const names: string[] = [];
  let printfs = 0;
  for (let c = 0; c < nCalls; c++) {
    const s = hook === 'coap' && rng.bool(0.4) ? rng.pick(allowed.filter((x) => x.id >= 0x40 && x.id <= 0x43)) ?? rng.pick(allowed) : rng.pick(allowed);
    if (s.id === HELPER.printf) printfs++;
    names.push(s.name);
    // Set args from the last to the first: a 'handle' arg reads r0 (the previous result).
    s.args.forEach((k, i) => insns.push(...arg(g, i + 1, k)));
    insns.push(call(s.id));
    if (rng.bool(0.2)) insns.push(movReg(9, 0));
  }
  if (rng.bool(0.5)) insns.push(rng.bool(0.5) ? movImm(0, rng.pick([0, 1, -1, 4, 5, 12, 100, 511, 512, 513, 600])) : movReg(0, 9));
  insns.push(EXIT);
  return {
    profile, hook, text: encodeProgram(insns), data, rodata, budget: rng.pick([100, 1000, 10_000]),
    payload: rng.bytes(rng.weighted([[6, rng.int(40)], [2, rng.int(500)], [1, rng.pick([511, 512, 1000, 65536, 65537])]])),
    method: rng.pick(['POST', 'GET', 'PUT', 'DELETE', 'FETCH']),
    canary: rng.bytes(16),
    advances: Array.from({ length: rng.int(3) }, () => rng.pick([0, 500, 1000, 2_000_000])),
    printfs,
    calls: names,
    differential: rng.bool(0.5),
  };
}

function runOnBoard(input: HelperInput, counters: Counters, compile: boolean): RunReport[] | undefined {
    const clock = new VirtualClock();
    const board = new Board({ profile: input.profile, clock, seed: 7 });
    const findings: Finding[] = [];
    const healthyId = 'healthy';
    board.install({ id: healthyId, image: { flags: 0, data: new Uint8Array(8), rodata: new Uint8Array(0), text: HEALTHY, functions: [] }, hook: 'sched' });
    const image: RiotImage = { flags: 0, data: input.data, rodata: input.rodata, text: input.text, functions: [] };
    try {
      board.install({ id: 'hostile', image, hook: input.hook, budget: input.budget, quarantineAfter: 0 });
    } catch (e) {
      if (e instanceof VerifyError || e instanceof BoardError || e instanceof FormatError) {
        bump(counters, `install-refused:${e instanceof VerifyError ? e.rule : e.constructor.name}`);
        return undefined;
      }
      throw new Finding('untyped-error', `install threw ${errName(e)}`);
    }
    if (!compile) bump(counters, `installed-${input.hook}`);
    const vm = board.vmOf('hostile');
    vm.mapRegion('canary', input.canary, false);
    if (compile && !vm.compileNow()) throw new Finding('invariant', `the compiled tier refused a verified container: ${vm.tier.reason}`);
    const unguard = guardVm(vm, 'hostile', (f) => findings.push(f));
    const healthyVm = board.vmOf(healthyId);
    const reports: RunReport[] = [];
    board.on('result', (r: RunReport) => reports.push(r));
    const healthyBefore = snapshot(healthyVm.memory, false);
    const hostileRuns = (): number => reports.filter((r) => r.container === 'hostile').length;
    try {
      try {
        if (input.hook === 'flow') board.runFlow('hostile', input.payload);
        else if (input.hook === 'coap') {
          const res = board.coapRequest(input.method, '/x', input.payload);
          if (!/^\d\.\d\d$/.test(res.codeText)) findings.push(new Finding('invariant', `CoAP response code text ${res.codeText}`));
        } else if (input.hook === 'timer') board.fireTimer();
        else board.schedTick();
        for (const us of input.advances) clock.advance(us);
      } catch (e) {
        if (e instanceof BoardError && e.code === 'payload') { if (!compile) bump(counters, 'payload-refused'); return undefined; }
        throw new Finding('untyped-error', `board threw ${errName(e)}`);
      }
      if (findings.length) throw findings[0];
      // Nothing the hostile container did may reach the healthy one's memory.
      // (On the sched hook the healthy container ran in the same tick: its .data moved on.)
      if (input.hook !== 'sched') checkShadow(healthyVm.memory, healthyBefore, 'healthy container after the hostile runs', () => false);
      for (const r of reports.filter((x) => x.container === 'hostile')) {
        if (r.insns > input.budget) throw new Finding('budget', `hostile slice ran ${r.insns} instructions, budget ${input.budget}`);
        if (r.fault) {
          if (!compile) bump(counters, `fault${r.fault.code}`);
          if (/internal error/.test(r.fault.message)) throw new Finding('untyped-error', `the VM threw out of a run: ${r.fault.message}`);
          if (![-2, -4, -5, -8, -9].includes(r.fault.code)) throw new Finding('soundness', `hostile container faulted ${r.fault.code}: ${r.fault.message}`);
        } else if (!compile) bump(counters, r.status);
        const cap = 512 * Math.max(1, input.printfs) + 64;
        for (const line of r.console) if (line.length > cap) throw new Finding('invariant', `console line of ${line.length} chars from ${input.printfs} printf calls`);
      }
      if (hostileRuns() === 0 && input.hook !== 'sched' && !compile) bump(counters, 'not-run');
      for (const s of [board.store('global'), board.store('local', 'hostile'), board.store('local', healthyId)]) {
        if (s.size > s.capacity) throw new Finding('invariant', `store ${s.scope}/${s.owner} holds ${s.size} > capacity ${s.capacity}`);
      }
      // The healthy container still counts right: one more run, one more.
      const before = reports.filter((r) => r.container === healthyId).length;
      board.schedTick();
      const mine = reports.filter((r) => r.container === healthyId);
      if (mine.length !== before + 1) throw new Finding('invariant', `healthy container ran ${mine.length - before} times on one tick`);
      const last = mine[mine.length - 1];
      if (last.status !== 'exit' || last.r0 !== BigInt(mine.length)) {
        throw new Finding('invariant', `healthy container returned ${last.status} ${last.r0} on its run ${mine.length}${last.fault ? `: ${last.fault.message}` : ''}`);
      }
      if (compile && vm.tier.current !== 'compiled') throw new Finding('invariant', 'the hostile container left the compiled tier');
      return reports.filter((r) => r.container === 'hostile');
    } finally {
      unguard();
      board.stop();
      board.removeAllListeners();
    }
  }

const HEALTHY = encodeProgram([I(0xb8, 1, 0, 0, 0), I(0x79, 0, 1, 0), addImm(0, 1), I(0x7b, 1, 0, 0), EXIT]);

export const helpersTarget: Target<HelperInput> = {
  name: 'helpers',
  description: 'board helpers (printf, memcpy, stores, SAUL, CoAP, fmt, ztimer) with hostile pointers, lengths and formats, on flow/coap/timer/sched hooks of a Board, next to a healthy container',
  allowed: ['VerifyError / BoardError / FormatError from install', 'BoardError(payload) from runFlow/coapRequest'],
  generate,
  run(input, counters) {
    const ref = runOnBoard(input, counters, false);
    if (!ref || !input.differential || input.profile !== 'native') return;
    // The same container on the compiled tier (helpers called from WebAssembly) must report the same.
    const got = runOnBoard(input, counters, true);
    if (!got) throw new Finding('tier-mismatch', 'the compiled board refused what the interpreted one ran');
    const view = (r: RunReport): unknown => ({
      status: r.status, r0: r.r0.toString(16), insns: r.insns, totalInsns: r.totalInsns, slice: r.slice, console: r.console,
      storeWrites: r.storeWrites, fault: r.fault ? { code: r.fault.code, pc: r.fault.pc, message: r.fault.message } : null, byClass: r.byClass,
    });
    const a = JSON.stringify(ref.map(view));
    const b = JSON.stringify(got.map(view));
    if (a !== b) throw new Finding('tier-mismatch', `board reports differ between interpreter and compiled tier\ninterp:   ${a.slice(0, 1500)}\ncompiled: ${b.slice(0, 1500)}`);
    bump(counters, 'differential');
  },
};
