/**
 * Ed25519 (EdDSA, RFC 8032) for signed deployment, on node:crypto (OpenSSL) with raw 32-byte keys:
 * one implementation whatever the Node version. Raw keys become KeyObjects through the fixed DER
 * prefixes of PKCS#8 (private) and SubjectPublicKeyInfo (public) for OID 1.3.101.112.
 *
 * Verification is RFC 8032's strict variant, as the device-side libraries RIOT uses (c25519 /
 * monocypher through libcose) apply it. OpenSSL already refuses S ≥ L and a non-canonical R (it
 * compares R with the canonical encoding of [S]B − [k]A). It accepts public keys that are a
 * non-canonical encoding (y ≥ p, or "−0") or a point of small order — with the neutral element as
 * the key, the signature (R = neutral, S = 0) verifies for every message. Such keys are refused
 * here before OpenSSL sees them (test/lib/deploy/ed25519.test.ts shows both behaviours).
 */
import { createPrivateKey, createPublicKey, randomBytes, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';

export const SECRET_KEY_BYTES = 32;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function privateKeyObject(secretKey: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' });
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
}

/** The field prime p = 2^255 − 19. */
const P = (1n << 255n) - 19n;

/**
 * y-coordinates of the eight points of small order (orders 1, 2, 4 and 8): 1 (neutral), p − 1,
 * 0, and the pair y8, p − y8 of the order-8 points.
 */
const Y8 = 0x7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7n;
const SMALL_ORDER_Y = new Set<bigint>([1n, P - 1n, 0n, Y8, P - Y8]);

/**
 * True when a public key is a canonical encoding of a point that is not of small order, judged from
 * the bytes alone (whether it is on the curve at all is OpenSSL's to decide).
 */
export function isAcceptablePublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES) return false;
  let y = 0n;
  for (let i = PUBLIC_KEY_BYTES - 1; i >= 0; i--) y = (y << 8n) | BigInt(publicKey[i]!);
  const xNegative = (y >> 255n) === 1n;
  y &= (1n << 255n) - 1n;
  if (y >= P) return false; // non-canonical y
  if (xNegative && (y === 1n || y === P - 1n)) return false; // x = 0 written as "−0"
  return !SMALL_ORDER_Y.has(y);
}

/** A fresh 32-byte secret key (seed) from the system's CSPRNG. */
export function randomSecretKey(): Uint8Array {
  return new Uint8Array(randomBytes(SECRET_KEY_BYTES));
}

export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  const spki = createPublicKey(privateKeyObject(secretKey)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(SPKI_PREFIX.length));
}

export function signBytes(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return new Uint8Array(cryptoSign(null, message, privateKeyObject(secretKey)));
}

/** True only for a valid signature; malformed keys or signatures are simply "not valid". */
export function verifyBytes(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES || !isAcceptablePublicKey(publicKey)) return false;
  try {
    return cryptoVerify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false; // not a point on the curve
  }
}
