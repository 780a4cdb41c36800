/**
 * The board's implementations of RIOT's femto-container helpers (ARCHITECTURE.md § Helpers), with
 * RIOT's ids and semantics, built per container instance (each container gets its own table bound
 * to its own stores and console).
 *
 * Rule for every helper: every pointer a container passes is read or written through the VM's
 * checked Memory API (a bad one throws MemoryAccessError, which the VM turns into fault −2 at the
 * call); a pointer above 4 GiB is rejected the same way; sizes and counts are bounded before any
 * host allocation, so no argument can make the host allocate or loop without limit. Results are
 * RIOT's 32-bit values (the VM zero-extends them, as RIOT's `uint32_t` helpers do).
 *
 * Choices:
 *  - store_global/fetch_global (0x11/0x13) reach the board's global store, or the container's
 *    tenant store when the container (or board) is configured with `globalScope: 'tenant'`. This is
 *    how a tenant store is reached: RIOT containers stay source-compatible (they only know
 *    "global"), and the board decides whether "global" means the board or the tenant, which is
 *    the paper's proposal for multi-tenant devices. No extra helper ids are invented.
 *  - fetch_*: the value pointer is checked for writing before the store is consulted; returns 0.
 *  - memcpy: both ranges are checked entirely before a byte moves (copy is memmove-safe); n above
 *    64 KiB cannot lie in one region and faults; returns dst.
 *  - printf: see printf.ts. Output goes to the board console, split into lines by the board.
 *  - saul_reg_read/write: an unknown handle is −ENODEV (RIOT: NULL → −ENODEV); the phydat
 *    pointer is checked before the device is touched (so a bad pointer does not advance a
 *    simulated source); write to a sensor is −ENOTSUP.
 *  - fmt_s16_dfp/fmt_u32_dec: RIOT's fmt semantics (no NUL terminator written; out == NULL only
 *    returns the length); fp_digits outside −9…16 writes nothing and returns 0 (RIOT asserts).
 *  - ztimer_periodic_wakeup(*last, period): RIOT's algorithm (target = *last + period; if
 *    target − now ≤ period sleep until target and set *last = target, else *last = now and return
 *    at once). Sleeping suspends the run (no blocking); the board resumes it on its clock, no
 *    sooner than `minWakeupUs` after the call, so a zero or tiny period cannot monopolise the host.
 */
import { MemoryAccessError } from '../../vm/memory';
import type { HelperCall, HelperDef, HelperReturn } from '../../vm/vm';
import type { Clock } from './clock';
import { addFormat, getPdu, optFinish, respInit } from './coap';
import { formatPrintf, memoryStringReader, PRINTF_MAX_FORMAT } from './printf';
import { encodePhydat, ENODEV, PHYDAT_SIZE, phydatValues, type SaulRegistry } from './saul';
import type { KvStore } from './stores';

/** What the store helpers need of a store (the editor's Try panel passes plain in-page stores). */
export type StoreAccess = Pick<KvStore, 'put' | 'fetch'>;

export const HELPER = {
  printf: 0x01, memcpy: 0x02,
  store_local: 0x10, store_global: 0x11, fetch_local: 0x12, fetch_global: 0x13,
  now_ms: 0x20,
  saul_reg_find_nth: 0x30, saul_reg_find_type: 0x31, saul_reg_read: 0x32, saul_reg_write: 0x33,
  gcoap_resp_init: 0x40, coap_opt_finish: 0x41, coap_add_format: 0x42, coap_get_pdu: 0x43,
  fmt_s16_dfp: 0x50, fmt_u32_dec: 0x51,
  ztimer_now: 0x60, ztimer_periodic_wakeup: 0x61,
} as const;
export type HelperName = keyof typeof HELPER;
export const ALL_HELPER_IDS: readonly number[] = Object.values(HELPER);
export const HELPER_NAME_BY_ID: Readonly<Record<number, HelperName>> = Object.fromEntries(
  Object.entries(HELPER).map(([k, v]) => [v, k as HelperName]),
);

/** Resolve a helper given by id or name (with or without `bpf_`). */
export function helperId(ref: number | string): number | undefined {
  if (typeof ref === 'number') return HELPER_NAME_BY_ID[ref] !== undefined ? ref : undefined;
  const n = ref.replace(/^bpf_/, '');
  return Object.hasOwn(HELPER, n) ? HELPER[n as HelperName] : undefined;
}

/** Largest memcpy: no region is larger (the stack is 512 B, hook regions are small). */
export const MEMCPY_MAX = 65536;

export interface HelperEnv {
  clock: Clock;
  saul: SaulRegistry;
  local: StoreAccess;
  /** The board's global store, or the tenant's store (globalScope 'tenant'). */
  global: StoreAccess;
  /** Writer tag for store change events (the container id). */
  writer: string;
  print(text: string): void;
  /** Ask the board to resume this container's suspended run at board time `atUs`. */
  wakeupAt(atUs: number): void;
  minWakeupUs: number;
  /** Called after a SAUL write that changed an actuator (the board reports it in the run). */
  onSaulWrite?(deviceIndex: number): void;
}

/** A pointer argument: must fit in 32 bits (no region lies above 4 GiB). */
function ptr(call: HelperCall, n: number, size: number, access: 'read' | 'write'): number {
  // As a number (NaN from 2^53 up), not a BigInt: helpers run on every event.
  const v = call.num(n);
  if (!(v <= 0xffffffff)) throw new MemoryAccessError(call.u32(n), size, access, 'address above 4 GiB');
  return v;
}

function ascii(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

/** RIOT fmt_s32_dfp (fmt_s16_dfp is the same on an int16 value). Undefined for |fp| out of range. */
export function fmtDfp(val: number, fp: number): string | undefined {
  if (!Number.isInteger(fp) || fp <= -10 || fp > 16) return undefined;
  if (fp >= 0) return String(val) + '0'.repeat(fp);
  const e = 10 ** -fp;
  const whole = Math.trunc(val / e);
  const rest = Math.abs(val % e);
  return `${whole === 0 && val < 0 ? '-' : ''}${whole}.${String(rest).padStart(-fp, '0')}`;
}

export function buildHelpers(env: HelperEnv): Map<number, HelperDef> {
  /** saul_reg_write's values, read into one array per board (nothing allocated per write). */
  const writeVals: [number, number, number] = [0, 0, 0];
  const { clock, saul } = env;
  const nowUs32 = (): number => Math.floor(clock.nowUs()) >>> 0;
  const defs: [number, (c: HelperCall) => HelperReturn][] = [
    [HELPER.printf, (c) => {
      const fmt = c.mem.readCString(ptr(c, 1, 1, 'read'), PRINTF_MAX_FORMAT);
      const r = formatPrintf(fmt, [c.u64(2), c.u64(3), c.u64(4), c.u64(5)], memoryStringReader(c.mem));
      if (r.text.length) env.print(r.text);
      return r.text.length;
    }],
    [HELPER.memcpy, (c) => {
      const n64 = c.u64(3);
      const dst = ptr(c, 1, 1, 'write');
      const src = ptr(c, 2, 1, 'read');
      if (n64 > BigInt(MEMCPY_MAX)) throw new MemoryAccessError(src, MEMCPY_MAX, 'read', `memcpy of ${n64} bytes exceeds any region`);
      const n = Number(n64);
      c.mem.resolve(dst, n, 'write'); // both ranges checked before anything moves
      const bytes = c.mem.read(src, n);
      c.mem.write(dst, bytes);
      return dst;
    }],
    [HELPER.store_local, (c) => env.local.put(c.u32(1), c.u32(2), env.writer)],
    [HELPER.store_global, (c) => env.global.put(c.u32(1), c.u32(2), env.writer)],
    [HELPER.fetch_local, (c) => {
      const p = ptr(c, 2, 4, 'write');
      c.mem.resolve(p, 4, 'write');
      c.mem.writeU32(p, env.local.fetch(c.u32(1)));
      return 0;
    }],
    [HELPER.fetch_global, (c) => {
      const p = ptr(c, 2, 4, 'write');
      c.mem.resolve(p, 4, 'write');
      c.mem.writeU32(p, env.global.fetch(c.u32(1)));
      return 0;
    }],
    [HELPER.now_ms, () => Math.floor(clock.nowUs() / 1000) >>> 0],
    [HELPER.saul_reg_find_nth, (c) => saul.nth(c.i32(1))?.handle ?? 0],
    [HELPER.saul_reg_find_type, (c) => saul.findType(c.u32(1) & 0xff)?.handle ?? 0],
    [HELPER.saul_reg_read, (c) => {
      const dev = saul.byHandle(c.num(1) <= 0xffffffff ? c.u32(1) : 0);
      const p = ptr(c, 2, PHYDAT_SIZE, 'write');
      c.mem.resolve(p, PHYDAT_SIZE, 'write');
      if (!dev) return -ENODEV;
      const r = saul.read(dev, clock.nowUs());
      if (typeof r === 'number') return r;
      c.mem.write(p, encodePhydat(r.data));
      return r.dims;
    }],
    [HELPER.saul_reg_write, (c) => {
      const dev = saul.byHandle(c.num(1) <= 0xffffffff ? c.u32(1) : 0);
      const at = c.mem.resolve(ptr(c, 2, PHYDAT_SIZE, 'read'), PHYDAT_SIZE, 'read');
      if (!dev) return -ENODEV;
      // The phydat's values (unit and scale are the device's own) into one reused array.
      const r = saul.writeValues(dev, phydatValues(c.mem.dv, at, writeVals));
      if (r > 0) env.onSaulWrite?.(dev.index);
      return r;
    }],
    [HELPER.gcoap_resp_init, (c) => respInit(c.mem, ptr(c, 1, 24, 'read'), c.u32(2))],
    [HELPER.coap_opt_finish, (c) => optFinish(c.mem, ptr(c, 1, 24, 'read'), c.u32(2) & 0xffff)],
    [HELPER.coap_add_format, (c) => addFormat(c.mem, ptr(c, 1, 24, 'read'), c.u32(2))],
    [HELPER.coap_get_pdu, (c) => getPdu(c.mem, ptr(c, 1, 24, 'read'))],
    [HELPER.fmt_s16_dfp, (c) => {
      const s = fmtDfp((c.u32(2) << 16) >> 16, c.i32(3));
      if (s === undefined) return 0;
      const out = ptr(c, 1, s.length, 'write');
      if (out !== 0) c.mem.write(out, ascii(s));
      return s.length;
    }],
    [HELPER.fmt_u32_dec, (c) => {
      const s = String(c.u32(2));
      const out = ptr(c, 1, s.length, 'write');
      if (out !== 0) c.mem.write(out, ascii(s));
      return s.length;
    }],
    [HELPER.ztimer_now, () => nowUs32()],
    [HELPER.ztimer_periodic_wakeup, (c) => {
      const lastAddr = ptr(c, 1, 4, 'write');
      const period = c.u32(2);
      const last = c.mem.readU32(lastAddr);
      c.mem.resolve(lastAddr, 4, 'write');
      const now = nowUs32();
      const target = (last + period) >>> 0;
      const offset = (target - now) >>> 0;
      if (offset <= period) {
        c.mem.writeU32(lastAddr, target);
        env.wakeupAt(clock.nowUs() + Math.max(offset, env.minWakeupUs));
        return c.suspend();
      }
      c.mem.writeU32(lastAddr, now);
      return 0;
    }],
  ];
  const table = new Map<number, HelperDef>();
  for (const [id, fn] of defs) table.set(id, { name: HELPER_NAME_BY_ID[id], fn });
  return table;
}
