/**
 * Ed25519 (EdDSA, RFC 8032) for signed deployment: `@noble/ed25519` v3 with its synchronous API,
 * SHA-512 from node:crypto (noble leaves the synchronous hash to the host). Kept in one module so
 * the hash is configured exactly once, whichever deploy module is loaded first.
 *
 * Verification uses RFC 8032's strict rules (`zip215: false`): non-canonical encodings of points
 * and scalars are refused, as the device-side libraries RIOT uses (c25519 / monocypher through
 * libcose) refuse them; a signature accepted here is one a real board accepts.
 *
 * noble v3 is an ES module; `require` loads it on Node ≥ 20.19 / 22.12. On an older Node (the
 * package allows 18.5+) the same operations run on node:crypto's Ed25519 (OpenSSL) instead:
 * Ed25519 signatures are deterministic, so both produce the very same bytes (tested).
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';

export const SECRET_KEY_BYTES = 32;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

interface Ed25519 {
  name: string;
  randomSecretKey(): Uint8Array;
  publicKeyOf(secretKey: Uint8Array): Uint8Array;
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** node:crypto (OpenSSL) Ed25519 on raw 32-byte keys. */
export const nodeEd25519: Ed25519 = {
  name: 'node:crypto',
  randomSecretKey: () => new Uint8Array(randomBytes(SECRET_KEY_BYTES)),
  publicKeyOf: (sk) => {
    const priv = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, sk]), format: 'der', type: 'pkcs8' });
    return new Uint8Array(createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length));
  },
  sign: (msg, sk) => new Uint8Array(cryptoSign(null, msg, createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, sk]), format: 'der', type: 'pkcs8' }))),
  verify: (sig, msg, pk) => cryptoVerify(null, msg, createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pk]), format: 'der', type: 'spki' }), sig),
};

function loadNoble(): Ed25519 | undefined {
  let ed: typeof import('@noble/ed25519');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ed = require('@noble/ed25519') as typeof import('@noble/ed25519');
  } catch {
    return undefined; // an ES module this Node cannot require: fall back to node:crypto
  }
  ed.hashes.sha512 = ((m: Uint8Array): Uint8Array => new Uint8Array(createHash('sha512').update(m).digest())) as typeof ed.hashes.sha512;
  return {
    name: '@noble/ed25519',
    randomSecretKey: () => ed.utils.randomSecretKey(),
    publicKeyOf: (sk) => ed.getPublicKey(sk),
    sign: (msg, sk) => ed.sign(msg, sk),
    verify: (sig, msg, pk) => ed.verify(sig, msg, pk, { zip215: false }),
  };
}

/** The implementation in use. */
export const impl: Ed25519 = loadNoble() ?? nodeEd25519;

/** A fresh 32-byte secret key (seed) from the system's CSPRNG. */
export function randomSecretKey(): Uint8Array {
  return impl.randomSecretKey();
}

export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  return impl.publicKeyOf(secretKey);
}

export function signBytes(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return impl.sign(message, secretKey);
}

/** True only for a valid signature; malformed keys or signatures are simply "not valid". */
export function verifyBytes(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES) return false;
  try {
    return impl.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}
