/**
 * Ed25519 keys as a person types or pastes them into the editor: a private key as PKCS#8 PEM (what
 * `femto keygen`, OpenSSL and RIOT's suit-tool write) or 64 hex digits / base64 of the 32-byte
 * seed; a public key as SubjectPublicKeyInfo PEM, 64 hex digits or base64 (a private key gives its
 * public half). Every refusal is one sentence naming what was expected.
 */
import { isAcceptablePublicKey, publicKeyOf } from '../deploy/ed25519';
import { keyPairFromSecret, WEAK_PUBLIC_KEY, type KeyPair } from '../deploy/keys';

const PKCS8_PREFIX = '302e020100300506032b657004220420';
const SPKI_PREFIX = '302a300506032b6570032100';

/** Thrown for key text that is not an Ed25519 key. */
export class KeyTextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyTextError';
  }
}

function keyBytes(text: string, what: string): { kind: 'secret' | 'public' | 'raw'; key: Uint8Array } {
  const t = text.trim();
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(t);
  if (m) {
    const der = Buffer.from(m[2].replace(/\s+/g, ''), 'base64').toString('hex');
    if (m[1] === 'PRIVATE KEY' && der.length === 96 && der.startsWith(PKCS8_PREFIX)) return { kind: 'secret', key: new Uint8Array(Buffer.from(der.slice(32), 'hex')) };
    if (m[1] === 'PUBLIC KEY' && der.length === 88 && der.startsWith(SPKI_PREFIX)) return { kind: 'public', key: new Uint8Array(Buffer.from(der.slice(24), 'hex')) };
    throw new KeyTextError(`the ${what} is a PEM "${m[1]}" block that is not an Ed25519 key`);
  }
  const hex = t.replace(/^0x/i, '').replace(/[\s:]/g, '');
  if (/^[0-9a-f]{64}$/i.test(hex)) return { kind: 'raw', key: new Uint8Array(Buffer.from(hex, 'hex')) };
  if (/^[A-Za-z0-9+/]{43}=$/.test(t)) return { kind: 'raw', key: new Uint8Array(Buffer.from(t, 'base64')) };
  throw new KeyTextError(t ? `the ${what} is not an Ed25519 key (PEM, 64 hex digits or base64 of 32 bytes)` : `no ${what}`);
}

/** A signing key from text (PKCS#8 PEM, or the 32-byte seed as hex/base64). */
export function parseSecretKey(text: string): KeyPair {
  const k = keyBytes(text, 'signing key');
  if (k.kind === 'public') throw new KeyTextError('the signing key is a public key: signing needs the private key (-----BEGIN PRIVATE KEY-----)');
  return keyPairFromSecret(k.key);
}

/** A public key from text (SPKI PEM, hex, base64; a private key gives its public half). */
export function parsePublicKey(text: string): Uint8Array {
  const k = keyBytes(text, 'public key');
  if (k.kind === 'secret') return publicKeyOf(k.key);
  if (!isAcceptablePublicKey(k.key)) throw new KeyTextError(`the public key is not usable: ${WEAK_PUBLIC_KEY}`);
  return k.key;
}
