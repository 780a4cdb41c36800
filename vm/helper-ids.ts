/**
 * RIOT's femto-container helper numbers (ARCHITECTURE.md § Helpers): ids, names and argument shapes
 * only. The implementations belong to the host (lib/); the VM needs the ids to verify grants, print
 * calls by name and let tools check that an image only uses helpers a real board has.
 */

export interface HelperInfo {
  id: number;
  /** RIOT's container-side name without the `bpf_` prefix. */
  name: string;
  args: string;
  /** true when the result is a full 64-bit value (RIOT zero-extends 32-bit results otherwise). */
  returns64?: boolean;
}

export const RIOT_HELPERS: readonly HelperInfo[] = [
  { id: 0x01, name: 'printf', args: 'fmt, a, b, c, d' },
  { id: 0x02, name: 'memcpy', args: 'dst, src, n' },
  { id: 0x10, name: 'store_local', args: 'key, value' },
  { id: 0x11, name: 'store_global', args: 'key, value' },
  { id: 0x12, name: 'fetch_local', args: 'key, *value' },
  { id: 0x13, name: 'fetch_global', args: 'key, *value' },
  { id: 0x20, name: 'now_ms', args: '' },
  { id: 0x30, name: 'saul_reg_find_nth', args: 'n' },
  { id: 0x31, name: 'saul_reg_find_type', args: 'type' },
  { id: 0x32, name: 'saul_reg_read', args: 'dev, *phydat' },
  { id: 0x33, name: 'saul_reg_write', args: 'dev, *phydat' },
  { id: 0x40, name: 'gcoap_resp_init', args: '*coap, code' },
  { id: 0x41, name: 'coap_opt_finish', args: '*coap, flags' },
  { id: 0x42, name: 'coap_add_format', args: '*coap, format' },
  { id: 0x43, name: 'coap_get_pdu', args: '*coap' },
  { id: 0x50, name: 'fmt_s16_dfp', args: '*out, value, digits' },
  { id: 0x51, name: 'fmt_u32_dec', args: '*out, value' },
  { id: 0x60, name: 'ztimer_now', args: '' },
  { id: 0x61, name: 'ztimer_periodic_wakeup', args: '*last, period' },
];

const BY_ID = new Map(RIOT_HELPERS.map((h) => [h.id, h]));
const BY_NAME = new Map(RIOT_HELPERS.map((h) => [h.name, h]));

export function riotHelper(id: number): HelperInfo | undefined {
  return BY_ID.get(id);
}

/** Look a helper up by name, with or without RIOT's `bpf_` prefix. */
export function riotHelperByName(name: string): HelperInfo | undefined {
  return BY_NAME.get(name.replace(/^bpf_/, ''));
}

/** The ids of every RIOT helper: the default grant when no board narrows it. */
export const RIOT_HELPER_IDS: ReadonlySet<number> = new Set(RIOT_HELPERS.map((h) => h.id));
