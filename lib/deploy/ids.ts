/**
 * Vendor and class identifiers of SUIT manifests, as RIOT derives them.
 *
 * RIOT's `dist/tools/suit/gen_manifest.py` and its firmware (`sys/suit`, `suit_get_vendor_id()` /
 * `suit_get_class_id()`) use name-based UUIDs (RFC 4122 version 5, SHA-1):
 *   vendor id = uuid5(NAMESPACE_DNS, "riot-os.org")     = 547d0d74-6d3a-5a92-9662-4881afd9407b
 *   class id  = uuid5(vendor id, RIOT_BOARD)            e.g. "native" → bcc90984-fe7d-562b-…
 * A device accepts a manifest only when both match its own. Ids may also be given as raw 16 bytes
 * (hex, with or without dashes) for fleets that use their own scheme.
 *
 * Board names: the class id hashes RIOT's board name, which for our profiles is the profile name
 * except the Longan Nano, whose RIOT board is `sipeed-longan-nano` (the profile is named after its
 * MCU, gd32vf103).
 */
import { createHash } from 'node:crypto';

export const NAMESPACE_DNS = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
export const RIOT_VENDOR_DOMAIN = 'riot-os.org';

const RIOT_BOARD_BY_PROFILE: Readonly<Record<string, string>> = {
  nrf52840dk: 'nrf52840dk',
  'esp32-wroom-32': 'esp32-wroom-32',
  gd32vf103: 'sipeed-longan-nano',
  native: 'native',
};

/** RIOT's board name (RIOT_BOARD) for one of our board profiles; unknown names pass through. */
export function riotBoardName(profile: string): string {
  return Object.hasOwn(RIOT_BOARD_BY_PROFILE, profile) ? RIOT_BOARD_BY_PROFILE[profile] : profile;
}

/** 16 bytes from "xxxxxxxx-xxxx-…" or 32 hex digits; throws RangeError otherwise. */
export function parseUuid(text: string): Uint8Array {
  const hex = text.trim().replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new RangeError(`"${text}" is not a UUID (32 hex digits, dashes optional)`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function formatUuid(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex');
  if (b.length !== 16) return h;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** RFC 4122 §4.3 name-based UUID, version 5 (SHA-1). */
export function uuid5(namespace: Uint8Array | string, name: string): Uint8Array {
  const ns = typeof namespace === 'string' ? parseUuid(namespace) : namespace;
  const h = createHash('sha1').update(ns).update(Buffer.from(name, 'utf8')).digest();
  const out = new Uint8Array(h.subarray(0, 16));
  out[6] = (out[6] & 0x0f) | 0x50;
  out[8] = (out[8] & 0x3f) | 0x80;
  return out;
}

export function vendorIdFor(domain = RIOT_VENDOR_DOMAIN): Uint8Array {
  return uuid5(NAMESPACE_DNS, domain);
}

export function classIdFor(board: string, vendorId: Uint8Array = vendorIdFor()): Uint8Array {
  return uuid5(vendorId, board);
}

/**
 * An id from user text: a UUID / 32 hex digits as is, otherwise a name to derive from
 * (a vendor domain, or a board name for a class id).
 */
export function idFromText(text: string, kind: 'vendor' | 'class', vendorId?: Uint8Array): Uint8Array {
  if (/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(text.trim())) return parseUuid(text);
  return kind === 'vendor' ? vendorIdFor(text) : classIdFor(text, vendorId);
}
