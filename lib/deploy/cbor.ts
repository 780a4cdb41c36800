/**
 * CBOR for deployment (manifests, COSE, the device's status resource), on the maintained `cbor-x`
 * library, configured once so every module encodes the same way:
 *
 * - Maps are JS `Map`s with integer keys (SUIT and COSE key everything by small integers); plain
 *   objects are only used for the JSON-like status resource, where string keys are wanted.
 * - No records, no typed-array tags: a `Uint8Array` is a plain byte string (major type 2), as
 *   nanocbor on the device expects.
 * - Minimal-length heads (`variableMapSize`): the bytes are signed and hashed, and RIOT's
 *   suit-tool emits canonical CBOR, so we do too (maps are built with keys in ascending order).
 * - Decoding is strict: the whole buffer must be one item (cbor-x rejects trailing bytes), and
 *   every failure becomes a `CborError` carrying a short reason, so callers can report "format".
 */
import { Decoder, Encoder, Tag } from 'cbor-x';

export { Tag };

export class CborError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CborError';
  }
}

const encoder = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false, variableMapSize: true });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: false });
const objectDecoder = new Decoder({ useRecords: false, mapsAsObjects: true });

/** Encode one value; byte strings come back as a fresh Uint8Array (not a pooled Buffer slice). */
export function encode(value: unknown): Uint8Array {
  return new Uint8Array(encoder.encode(value));
}

/** Decode exactly one CBOR item filling `bytes`; maps come back as `Map`s. */
export function decode(bytes: Uint8Array, what = 'CBOR'): unknown {
  try {
    return decoder.decode(bytes);
  } catch (e) {
    throw new CborError(`${what} is not well-formed CBOR (${(e as Error).message})`);
  }
}

/** Decode with maps as plain objects (string-keyed data such as the status resource). */
export function decodeObject(bytes: Uint8Array, what = 'CBOR'): unknown {
  try {
    return objectDecoder.decode(bytes);
  } catch (e) {
    throw new CborError(`${what} is not well-formed CBOR (${(e as Error).message})`);
  }
}

// ---- typed accessors: each throws CborError naming what was expected ---------------------------

export function asMap(v: unknown, what: string): Map<unknown, unknown> {
  if (!(v instanceof Map)) throw new CborError(`${what} must be a CBOR map`);
  return v;
}

export function asArray(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new CborError(`${what} must be a CBOR array`);
  return v;
}

export function asBytes(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new CborError(`${what} must be a byte string`);
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

export function asText(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new CborError(`${what} must be a text string`);
  return v;
}

/** An integer that fits a JS number exactly (SUIT values are 32-bit on the device). */
export function asInt(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  throw new CborError(`${what} must be an integer`);
}

export function asTag(v: unknown, tag: number, what: string): unknown {
  if (!(v instanceof Tag) || v.tag !== tag) throw new CborError(`${what} must carry CBOR tag ${tag}`);
  return v.value;
}

/** A byte string holding one CBOR item (`bstr .cbor T`): the decoded item. */
export function bstrCbor(v: unknown, what: string): unknown {
  return decode(asBytes(v, what), what);
}
