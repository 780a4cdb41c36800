/**
 * Launch pads (ARCHITECTURE.md § Hooks and contexts): the board events a container can attach
 * to, the context each one hands the container in r1 (byte-exact, little-endian), each hook's
 * contract (which helpers and regions it may grant) and the policies for several containers on
 * one hook.
 *
 * | hook   | context (r1)                                                        | size | access |
 * |--------|---------------------------------------------------------------------|------|--------|
 * | sensor | { u32 device index; u8 saul type; u8 pad[3]; phydat_t sample }      | 16 B | read   |
 * | button | same layout, type 0x81, val[0] = 1 pressed / 0 released             | 16 B | read   |
 * | timer  | { u64 now_us; u32 period_ms; u32 tick }                             | 16 B | read   |
 * | coap   | bpf_coap_ctx_t { u64 pkt; u64 buf; u64 buf_len } + regions          | 24 B | read   |
 * |        | "coap_pkt" (84 B coap_pkt_t, RW) and "coap_buf" (the PDU, RW)       |      |        |
 * | sched  | { u64 previous; u64 next } (thread ids, RIOT's sched hook)         | 16 B | read   |
 * | flow   | { u64 data; u32 len; u32 pad } → region "flow_payload" (read-only)  | 16 B | read   |
 *
 * Contracts (what a hook may grant; a container gets the intersection with what it requests, and
 * the verifier rejects any call outside it before the container is attached):
 *  - sensor, button, timer, flow: everything except the CoAP helpers (no request to answer).
 *  - coap: everything except ztimer_periodic_wakeup (a request must be answered in one run).
 *  - sched: runs inside the scheduler on every switch, so only cheap, non-blocking helpers:
 *    stores, now_ms, ztimer_now, memcpy. No printf (console I/O in the scheduler), no SAUL (driver
 *    I/O), no wake-up.
 *
 * Policies for several containers on one hook (newest first):
 *  - continue: run all;
 *  - abort-on-negative: stop after the first container whose result is negative;
 *  - abort-on-positive: stop after the first positive r0;
 *  - single: run only the newest container.
 * A fault is neither negative nor positive: it never stops the others (fault isolation).
 * The result is read as a 32-bit signed int, as RIOT's C hooks read it on a 32-bit MCU: clang's
 * BPF target returns an `int` in the low half of r0 and leaves the upper half zero, so `return -1`
 * is 0x00000000ffffffff and must count as −1.
 */
import { ALL_HELPER_IDS, HELPER } from './helpers';
import { clampI16, SAUL, type Phydat } from './saul';

export const HOOKS = ['sensor', 'button', 'timer', 'coap', 'sched', 'flow'] as const;
export type HookName = (typeof HOOKS)[number];

export const POLICIES = ['continue', 'abort-on-negative', 'abort-on-positive', 'single'] as const;
export type HookPolicy = (typeof POLICIES)[number];

export function isHook(s: unknown): s is HookName {
  return typeof s === 'string' && (HOOKS as readonly string[]).includes(s);
}

export interface HookContract {
  hook: HookName;
  title: string;
  contextSize: number;
  helpers: ReadonlySet<number>;
  /** Extra regions mapped for the run (besides stack, data, rodata and the context). */
  regions: readonly { name: string; writable: boolean }[];
  /** Default policy when several containers share the hook. */
  defaultPolicy: HookPolicy;
}

const COAP_IDS = [HELPER.gcoap_resp_init, HELPER.coap_opt_finish, HELPER.coap_add_format, HELPER.coap_get_pdu] as number[];
const without = (ids: number[]): Set<number> => new Set(ALL_HELPER_IDS.filter((i) => !ids.includes(i)));

export const CONTRACTS: Readonly<Record<HookName, HookContract>> = {
  sensor: { hook: 'sensor', title: 'sensor sample', contextSize: 16, helpers: without(COAP_IDS), regions: [], defaultPolicy: 'continue' },
  button: { hook: 'button', title: 'button', contextSize: 16, helpers: without(COAP_IDS), regions: [], defaultPolicy: 'continue' },
  timer: { hook: 'timer', title: 'timer', contextSize: 16, helpers: without(COAP_IDS), regions: [], defaultPolicy: 'continue' },
  coap: {
    hook: 'coap', title: 'CoAP request', contextSize: 24, helpers: without([HELPER.ztimer_periodic_wakeup]),
    regions: [{ name: 'coap_pkt', writable: true }, { name: 'coap_buf', writable: true }], defaultPolicy: 'abort-on-positive',
  },
  sched: {
    hook: 'sched', title: 'thread switch', contextSize: 16,
    helpers: new Set([HELPER.store_local, HELPER.store_global, HELPER.fetch_local, HELPER.fetch_global, HELPER.now_ms, HELPER.ztimer_now, HELPER.memcpy]),
    regions: [], defaultPolicy: 'continue',
  },
  flow: { hook: 'flow', title: 'flow message', contextSize: 16, helpers: without(COAP_IDS), regions: [{ name: 'flow_payload', writable: false }], defaultPolicy: 'continue' },
};

/**
 * sensor / button context: { u32 index; u8 type; u8 pad[3]; phydat_t sample }, written into `b`
 * when given (a reused buffer: every byte is rewritten) or into new bytes.
 */
export function sensorContext(index: number, type: number, sample: Phydat, b = new Uint8Array(16)): Uint8Array {
  const i = index >>> 0;
  b[0] = i; b[1] = i >>> 8; b[2] = i >>> 16; b[3] = i >>> 24;
  b[4] = type & 0xff;
  b[5] = 0; b[6] = 0; b[7] = 0;
  for (let k = 0; k < 3; k++) {
    const v = clampI16(sample.val[k] ?? 0);
    b[8 + 2 * k] = v; b[9 + 2 * k] = v >> 8;
  }
  b[14] = sample.unit & 0xff;
  b[15] = Math.max(-128, Math.min(127, Math.trunc(sample.scale)));
  return b;
}

export function buttonContext(index: number, pressed: boolean): Uint8Array {
  return sensorContext(index, SAUL.SENSE_BTN, { val: [pressed ? 1 : 0, 0, 0], unit: 25 /* UNIT_BOOL */, scale: 0 });
}

/** timer context: { u64 now_us; u32 period_ms; u32 tick }. */
export function timerContext(nowUs: number, periodMs: number, tick: number): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, BigInt(Math.max(0, Math.floor(nowUs))), true);
  dv.setUint32(8, periodMs >>> 0, true);
  dv.setUint32(12, tick >>> 0, true);
  return b;
}

/** coap context: bpf_coap_ctx_t { u64 pkt; u64 buf; u64 buf_len }. */
export function coapContext(pktAddr: number, bufAddr: number, bufLen: number): Uint8Array {
  const b = new Uint8Array(24);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, BigInt(pktAddr >>> 0), true);
  dv.setBigUint64(8, BigInt(bufAddr >>> 0), true);
  dv.setBigUint64(16, BigInt(bufLen >>> 0), true);
  return b;
}

/** sched context: { u64 previous; u64 next }. */
export function schedContext(previous: number, next: number): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, BigInt(previous >>> 0), true);
  dv.setBigUint64(8, BigInt(next >>> 0), true);
  return b;
}

/** flow context: { u64 data; u32 len; u32 pad }. */
export function flowContext(dataAddr: number, len: number): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, BigInt(dataAddr >>> 0), true);
  dv.setUint32(8, len >>> 0, true);
  return b;
}

/** Whether a policy stops the hook after a run that exited with `r0`. */
export function policyStops(policy: HookPolicy, r0: bigint, r0Signed32?: bigint): boolean {
  if (policy !== 'abort-on-negative' && policy !== 'abort-on-positive') return false;
  // The report's cached signed low half when given: no BigInt made per run.
  const v = r0Signed32 ?? BigInt.asIntN(32, r0);
  return policy === 'abort-on-negative' ? v < 0n : v > 0n;
}
