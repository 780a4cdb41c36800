/**
 * Ed25519 signing keys and their files.
 *
 * Format (chosen for interoperability, documented in `femto keygen --help`):
 *   NAME.key  PKCS#8 PEM, "-----BEGIN PRIVATE KEY-----": the 32-byte seed in the fixed 48-byte
 *             DER of RFC 8410. It is what RIOT's suit-tool (`suit-tool sign -k`) and OpenSSL
 *             (`openssl genpkey -algorithm ed25519`) read and write, so keys move both ways.
 *             Written with mode 0600 (owner only), never over an existing file unless forced.
 *   NAME.pub  SubjectPublicKeyInfo PEM, "-----BEGIN PUBLIC KEY-----" (44-byte DER, RFC 8410).
 * Readers also accept a raw 32-byte binary file and 64 hex digits (what RIOT's `public_key.h`
 * holds), and a private key file where a public key is wanted (the public half is derived).
 *
 * Fingerprint: the first 8 bytes of SHA-256 over the raw public key, in hex — short enough for a
 * log line, enough to tell keys apart.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { isAcceptablePublicKey, PUBLIC_KEY_BYTES, publicKeyOf, randomSecretKey, SECRET_KEY_BYTES } from './ed25519';

export interface KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

/** A key file that cannot be read or used; `file` names it. */
export class KeyFileError extends Error {
  constructor(readonly file: string, readonly reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'KeyFileError';
  }
}

const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

export function generateKeyPair(): KeyPair {
  const secretKey = randomSecretKey();
  return { secretKey, publicKey: publicKeyOf(secretKey) };
}

export function keyPairFromSecret(secretKey: Uint8Array): KeyPair {
  if (secretKey.length !== SECRET_KEY_BYTES) throw new RangeError(`an Ed25519 secret key has ${SECRET_KEY_BYTES} bytes, not ${secretKey.length}`);
  return { secretKey, publicKey: publicKeyOf(secretKey) };
}

export function fingerprint(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest('hex').slice(0, 16);
}

function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export function privateKeyPem(secretKey: Uint8Array): string {
  return pem('PRIVATE KEY', concat(PKCS8_PREFIX, secretKey));
}

export function publicKeyPem(publicKey: Uint8Array): string {
  return pem('PUBLIC KEY', concat(SPKI_PREFIX, publicKey));
}

type Parsed = { kind: 'secret' | 'public'; key: Uint8Array };

function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  return b.length >= prefix.length && prefix.every((v, i) => b[i] === v);
}

/** Parse key file contents (PEM, 64 hex digits or 32 raw bytes). Raw forms are `ambiguous`. */
function parseKey(file: string, data: Uint8Array): Parsed | { kind: 'raw'; key: Uint8Array } {
  const text = Buffer.from(data).toString('latin1');
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(text);
  if (m) {
    const der = new Uint8Array(Buffer.from(m[2].replace(/\s+/g, ''), 'base64'));
    if (m[1] === 'PRIVATE KEY') {
      if (der.length === PKCS8_PREFIX.length + SECRET_KEY_BYTES && startsWith(der, PKCS8_PREFIX)) return { kind: 'secret', key: der.slice(PKCS8_PREFIX.length) };
      throw new KeyFileError(file, 'not an Ed25519 private key (expected PKCS#8 with OID 1.3.101.112; other algorithms and encrypted keys are not supported)');
    }
    if (m[1] === 'PUBLIC KEY') {
      if (der.length === SPKI_PREFIX.length + PUBLIC_KEY_BYTES && startsWith(der, SPKI_PREFIX)) return { kind: 'public', key: der.slice(SPKI_PREFIX.length) };
      throw new KeyFileError(file, 'not an Ed25519 public key (expected SubjectPublicKeyInfo with OID 1.3.101.112)');
    }
    throw new KeyFileError(file, `unsupported PEM block "${m[1]}" (expected PRIVATE KEY or PUBLIC KEY)`);
  }
  const hex = text.trim().replace(/^0x/i, '');
  if (/^[0-9a-f]{64}$/i.test(hex)) return { kind: 'raw', key: new Uint8Array(Buffer.from(hex, 'hex')) };
  if (data.length === 32) return { kind: 'raw', key: data.slice() };
  throw new KeyFileError(file, 'not a key file (expected PEM, 64 hex digits or 32 raw bytes)');
}

function readKeyFile(file: string): Uint8Array {
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why: Record<string, string> = { ENOENT: 'no such key file', EACCES: 'cannot read the key file: permission denied', EISDIR: 'is a directory, not a key file' };
    throw new KeyFileError(file, why[err.code ?? ''] ?? `cannot read the key file (${err.message})`);
  }
}

/** A signing key from a file: PKCS#8 PEM, or 32 raw bytes / 64 hex digits taken as the seed. */
export function readPrivateKey(file: string): KeyPair {
  const p = parseKey(file, readKeyFile(file));
  if (p.kind === 'public') throw new KeyFileError(file, 'is a public key; signing needs the private key (NAME.key)');
  return keyPairFromSecret(p.key);
}

/** A public key from a file: SPKI PEM, a private key (its public half), or raw/hex public key bytes. */
export function readPublicKey(file: string): Uint8Array {
  const p = parseKey(file, readKeyFile(file));
  if (p.kind === 'secret') return publicKeyOf(p.key);
  if (!isAcceptablePublicKey(p.key)) throw new KeyFileError(file, `not a usable Ed25519 public key (${WEAK_PUBLIC_KEY})`);
  return p.key;
}

/** Why a public key that parses is still refused (verifyBytes would never accept a signature by it). */
export const WEAK_PUBLIC_KEY = 'a point of small order or a non-canonical encoding, for which anyone can make signatures';

export interface WriteKeyOptions {
  /** Overwrite existing files. */
  force?: boolean;
}

/** Write NAME.key (0600) and NAME.pub; returns both paths. Refuses to overwrite unless forced. */
export function writeKeyPair(base: string, pair: KeyPair, opts: WriteKeyOptions = {}): { keyFile: string; pubFile: string } {
  const keyFile = `${base}.key`;
  const pubFile = `${base}.pub`;
  if (!opts.force) {
    for (const f of [keyFile, pubFile]) if (fs.existsSync(f)) throw new KeyFileError(f, 'exists already (refusing to overwrite a key; use --force)');
  }
  writeSecretFile(keyFile, privateKeyPem(pair.secretKey));
  fs.writeFileSync(pubFile, publicKeyPem(pair.publicKey), { mode: 0o644 });
  return { keyFile, pubFile };
}

/** Create a file readable by its owner only; the mode is set before any secret byte is written. */
function writeSecretFile(file: string, text: string): void {
  let fd: number;
  try {
    fs.rmSync(file, { force: true });
    fd = fs.openSync(file, 'wx', 0o600);
  } catch (e) {
    throw new KeyFileError(file, `cannot create the key file (${(e as Error).message})`);
  }
  try {
    fs.fchmodSync(fd, 0o600); // the umask can only remove bits, but be explicit
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
