/**
 * COSE_Sign1 (RFC 9052 §4.2) with EdDSA over Ed25519 — the signature block of a SUIT manifest.
 *
 *   COSE_Sign1_Tagged = 18([ protected: bstr .cbor { 1: -8 },   ; alg = EdDSA
 *                            unprotected: { ?4: kid },
 *                            payload: bstr / nil,                ; nil = detached
 *                            signature: bstr(64) ])
 *   Sig_structure     = [ "Signature1", protected (the same bytes), external_aad, payload ]
 *
 * The signature covers the *encoded* Sig_structure; the protected header is signed as the exact
 * bytes carried in the message (never re-encoded), so a verifier compares what was signed.
 *
 * How SUIT (draft-ietf-suit-manifest-09, as RIOT's suit-tool and RIOT 2022 use it) fills it: the
 * payload is embedded, and is the SUIT_Digest of the manifest (`bstr .cbor [2, h'sha256']`); the
 * external AAD is empty; the alg sits in the protected header. Detached payloads (nil, the payload
 * supplied by the verifier) are supported for later drafts and other users.
 *
 * Errors: `CoseError` with `reason` 'format' (not a COSE_Sign1), 'algorithm' (not EdDSA, or an
 * unknown critical header) or 'signature' (no trusted key verifies it).
 */
import { asArray, asBytes, asMap, asTag, CborError, decode, encode, Tag } from './cbor';
import { signBytes, verifyBytes } from './ed25519';

export const COSE_TAG_SIGN1 = 18;
export const COSE_HEADER_ALG = 1;
export const COSE_HEADER_CRIT = 2;
export const COSE_HEADER_KID = 4;
export const COSE_ALG_EDDSA = -8;

export type CoseFailure = 'format' | 'algorithm' | 'signature';

export class CoseError extends Error {
  constructor(readonly reason: CoseFailure, message: string) {
    super(message);
    this.name = 'CoseError';
  }
}

export interface Sign1Options {
  /** Leave the payload out of the message (nil); the verifier must supply it. */
  detached?: boolean;
  externalAad?: Uint8Array;
  /** Key id, carried unprotected (a hint for picking the key, not trusted). */
  kid?: Uint8Array;
}

export interface DecodedSign1 {
  protectedBytes: Uint8Array;
  protectedHeader: Map<unknown, unknown>;
  unprotectedHeader: Map<unknown, unknown>;
  /** The embedded payload, or null when detached. */
  payload: Uint8Array | null;
  signature: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/** The bytes that are signed. */
export function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array, externalAad: Uint8Array = EMPTY): Uint8Array {
  return encode(['Signature1', protectedBytes, externalAad, payload]);
}

/** Sign `payload` with an Ed25519 secret key; returns the tagged COSE_Sign1 bytes. */
export function signSign1(payload: Uint8Array, secretKey: Uint8Array, opts: Sign1Options = {}): Uint8Array {
  const protectedBytes = encode(new Map([[COSE_HEADER_ALG, COSE_ALG_EDDSA]]));
  const signature = signBytes(sigStructure(protectedBytes, payload, opts.externalAad), secretKey);
  const unprotected = new Map<number, unknown>();
  if (opts.kid) unprotected.set(COSE_HEADER_KID, opts.kid);
  return encode(new Tag([protectedBytes, unprotected, opts.detached ? null : payload, signature], COSE_TAG_SIGN1));
}

/** Parse a COSE_Sign1 (tagged, or untagged as some encoders emit) without verifying it. */
export function decodeSign1(bytes: Uint8Array): DecodedSign1 {
  try {
    let item = decode(bytes, 'COSE_Sign1');
    if (item instanceof Tag) item = asTag(item, COSE_TAG_SIGN1, 'COSE_Sign1');
    const arr = asArray(item, 'COSE_Sign1');
    if (arr.length !== 4) throw new CborError(`COSE_Sign1 must have 4 elements, has ${arr.length}`);
    const protectedBytes = asBytes(arr[0], 'COSE_Sign1 protected header');
    const protectedHeader = protectedBytes.length === 0 ? new Map() : asMap(decode(protectedBytes, 'COSE_Sign1 protected header'), 'COSE_Sign1 protected header');
    const unprotectedHeader = asMap(arr[1], 'COSE_Sign1 unprotected header');
    const payload = arr[2] === null ? null : asBytes(arr[2], 'COSE_Sign1 payload');
    const signature = asBytes(arr[3], 'COSE_Sign1 signature');
    return { protectedBytes, protectedHeader, unprotectedHeader, payload, signature };
  } catch (e) {
    if (e instanceof CborError) throw new CoseError('format', e.message);
    throw e;
  }
}

export interface Sign1VerifyOptions {
  /** The payload when the message carries nil (detached). */
  detachedPayload?: Uint8Array;
  externalAad?: Uint8Array;
}

export interface VerifiedSign1 {
  payload: Uint8Array;
  /** Index of the trusted key that verified it. */
  keyIndex: number;
}

/**
 * Verify against one or several trusted public keys (RIOT tries each of its compiled-in keys in
 * turn). The algorithm must be EdDSA, in the protected header; critical headers are refused
 * (we understand none beyond alg/kid).
 */
export function verifySign1(bytes: Uint8Array, trustedKeys: Uint8Array | readonly Uint8Array[], opts: Sign1VerifyOptions = {}): VerifiedSign1 {
  const m = decodeSign1(bytes);
  const alg = m.protectedHeader.get(COSE_HEADER_ALG);
  if (alg === undefined) {
    throw new CoseError('algorithm', m.unprotectedHeader.has(COSE_HEADER_ALG) ? 'the algorithm must be in the protected header' : 'no algorithm in the protected header');
  }
  if (alg !== COSE_ALG_EDDSA) throw new CoseError('algorithm', `algorithm ${String(alg)} is not EdDSA (-8)`);
  if (m.protectedHeader.has(COSE_HEADER_CRIT)) throw new CoseError('algorithm', 'critical headers are not supported');
  let payload: Uint8Array;
  if (m.payload === null) {
    if (!opts.detachedPayload) throw new CoseError('format', 'the payload is detached and none was supplied');
    payload = opts.detachedPayload;
  } else {
    if (opts.detachedPayload) throw new CoseError('format', 'a detached payload was supplied but the message embeds one');
    payload = m.payload;
  }
  const keys = trustedKeys instanceof Uint8Array ? [trustedKeys] : trustedKeys;
  if (keys.length === 0) throw new CoseError('signature', 'no trusted key to verify the signature with');
  const toBeSigned = sigStructure(m.protectedBytes, payload, opts.externalAad);
  for (let i = 0; i < keys.length; i++) {
    if (verifyBytes(m.signature, toBeSigned, keys[i])) return { payload, keyIndex: i };
  }
  throw new CoseError('signature', keys.length === 1 ? 'the signature does not verify with the trusted key' : `the signature verifies with none of the ${keys.length} trusted keys`);
}
