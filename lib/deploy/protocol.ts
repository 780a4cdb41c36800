/**
 * What host and device agree on over CoAP, kept apart from the device so the host side (deploy,
 * the Node-RED node) does not load a board to know it: resource paths, RIOT's limits, the update
 * record the device's status resource reports, and RIOT's number format of /bpf/exec results.
 */
import type { ManifestCheck } from './manifest';

export const PATHS = {
  trigger: '/suit/trigger',
  exec: (slot: number): string => `/bpf/exec/${slot}`,
  board: '/riot/board',
  version: '/suit/version',
  /** Ours (not RIOT's): JSON, or CBOR with Accept: application/cbor. */
  status: '/femto/status',
  core: '/.well-known/core',
} as const;

/** RIOT's SUIT_MANIFEST_BUFSIZE: a manifest must fit. */
export const MANIFEST_MAX_BYTES = 640;
/** RIOT's SUIT_URL_MAX: a trigger URL must be shorter. */
export const URL_MAX = 128;
/** RIOT's CONFIG_SUIT_COAP_BLOCKSIZE default (COAP_BLOCKSIZE_64). */
export const DEFAULT_BLOCK_SIZE = 64;

/** Why an update failed: a manifest check, or a later step. */
export type UpdateCheck = ManifestCheck | 'fetch' | 'image' | 'verifier' | 'install' | 'storage';
export type UpdateState = 'fetching-manifest' | 'verifying-manifest' | 'fetching-image' | 'verifying' | 'installed' | 'failed';

/** One update as the device reports it (status resource, field `update`). */
export interface UpdateRecord {
  id: number;
  url: string;
  state: UpdateState;
  seq?: number;
  slot?: number;
  location?: string;
  size?: number;
  received?: number;
  /** Blocks of the image: received so far and in total. */
  block?: number;
  blocks?: number;
  check?: UpdateCheck;
  message?: string;
  startedAt: string;
  endedAt?: string;
}

/** RIOT's fmt_s32_dfp: a signed integer printed with a decimal point −fpDigits places from the right. */
export function fmtS32Dfp(value: number, fpDigits: number): string {
  if (fpDigits >= 0) return String(value) + '0'.repeat(fpDigits);
  const neg = value < 0;
  const digits = String(Math.abs(value)).padStart(-fpDigits + 1, '0');
  const cut = digits.length + fpDigits;
  return `${neg ? '-' : ''}${digits.slice(0, cut)}.${digits.slice(cut)}`;
}

/** Back from RIOT's text to the integer (e.g. "22.25" → 2225 with two digits). */
export function parseS32Dfp(text: string, fpDigits: number): number | undefined {
  const m = /^\s*(-?)(\d+)(?:\.(\d+))?\s*$/.exec(text);
  if (!m) return undefined;
  const frac = (m[3] ?? '').padEnd(-fpDigits, '0');
  if (frac.length !== -fpDigits) return undefined;
  const v = Number(m[2] + frac);
  return m[1] ? -v : v;
}
