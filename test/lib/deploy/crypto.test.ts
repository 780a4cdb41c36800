/**
 * Signatures and keys of deployment: COSE_Sign1 with EdDSA (lib/deploy/cose.ts), key files
 * (lib/deploy/keys.ts) and RIOT's vendor/class UUIDs (lib/deploy/ids.ts). Interoperability is
 * checked against node:crypto's own Ed25519 and PEM handling (OpenSSL underneath): a key file we
 * write is one OpenSSL reads, a signature we make is one OpenSSL verifies, and back.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decode, encode, Tag } from '../../../lib/deploy/cbor';
import { COSE_ALG_EDDSA, CoseError, decodeSign1, sigStructure, signSign1, verifySign1 } from '../../../lib/deploy/cose';
import { classIdFor, formatUuid, idFromText, riotBoardName, uuid5, vendorIdFor } from '../../../lib/deploy/ids';
import { fingerprint, generateKeyPair, KeyFileError, readPrivateKey, readPublicKey, writeKeyPair } from '../../../lib/deploy/keys';
import { tmpDir } from './util';

describe('deploy: COSE_Sign1 (EdDSA)', function () {
  this.timeout(10_000);
  const kp = generateKeyPair();
  const payload = encode([2, new Uint8Array(32).fill(1)]);

  it('signs as SUIT uses it: tag 18, protected {1: -8}, empty unprotected, embedded payload', () => {
    const bytes = signSign1(payload, kp.secretKey);
    const t = decode(bytes) as Tag;
    assert.ok(t instanceof Tag);
    assert.equal(t.tag, 18);
    const [prot, unprot, pl, sig] = t.value as [Uint8Array, Map<number, unknown>, Uint8Array, Uint8Array];
    assert.deepEqual([...prot], [0xa1, 0x01, 0x27]); // {1: -8}
    assert.equal(unprot.size, 0);
    assert.deepEqual(Buffer.from(pl), Buffer.from(payload));
    assert.equal(sig.length, 64);
    assert.equal(verifySign1(bytes, kp.publicKey).keyIndex, 0);
  });

  it('signs the Sig_structure ["Signature1", protected, h"", payload] (checked with OpenSSL)', () => {
    const bytes = signSign1(payload, kp.secretKey);
    const m = decodeSign1(bytes);
    const tbs = sigStructure(m.protectedBytes, payload);
    assert.deepEqual(decode(tbs), ['Signature1', new Uint8Array(m.protectedBytes), new Uint8Array(0), new Uint8Array(payload)]);
    const pub = crypto.createPublicKey(fs.readFileSync(writePair(kp).pubFile));
    assert.ok(crypto.verify(null, tbs, pub, m.signature));
  });

  it('verifies a COSE_Sign1 whose signature OpenSSL made', () => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
    const raw = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(12));
    const prot = encode(new Map([[1, COSE_ALG_EDDSA]]));
    const sig = crypto.sign(null, sigStructure(prot, payload), privateKey);
    const msg = encode(new Tag([prot, new Map(), payload, new Uint8Array(sig)], 18));
    assert.deepEqual(Buffer.from(verifySign1(msg, raw).payload), Buffer.from(payload));
  });

  it('detached payloads: nil in the message, supplied by the verifier', () => {
    const bytes = signSign1(payload, kp.secretKey, { detached: true });
    assert.equal(decodeSign1(bytes).payload, null);
    assert.equal(verifySign1(bytes, kp.publicKey, { detachedPayload: payload }).keyIndex, 0);
    assert.throws(() => verifySign1(bytes, kp.publicKey), (e: CoseError) => e.reason === 'format');
    assert.throws(() => verifySign1(bytes, kp.publicKey, { detachedPayload: encode([2, new Uint8Array(32)]) }), (e: CoseError) => e.reason === 'signature');
  });

  it('external AAD is part of what is signed', () => {
    const aad = Uint8Array.of(1, 2, 3);
    const bytes = signSign1(payload, kp.secretKey, { externalAad: aad });
    assert.doesNotThrow(() => verifySign1(bytes, kp.publicKey, { externalAad: aad }));
    assert.throws(() => verifySign1(bytes, kp.publicKey), (e: CoseError) => e.reason === 'signature');
  });

  it('refuses a wrong key, a changed payload, a changed protected header, other algorithms', () => {
    const bytes = signSign1(payload, kp.secretKey);
    const other = generateKeyPair();
    assert.throws(() => verifySign1(bytes, other.publicKey), (e: CoseError) => e.reason === 'signature' && /trusted key/.test(e.message));
    assert.equal(verifySign1(bytes, [other.publicKey, kp.publicKey]).keyIndex, 1);
    const m = decodeSign1(bytes);
    const changed = encode(new Tag([m.protectedBytes, new Map(), encode([2, new Uint8Array(32)]), m.signature], 18));
    assert.throws(() => verifySign1(changed, kp.publicKey), (e: CoseError) => e.reason === 'signature');
    const es256 = encode(new Tag([encode(new Map([[1, -7]])), new Map(), payload, m.signature], 18));
    assert.throws(() => verifySign1(es256, kp.publicKey), (e: CoseError) => e.reason === 'algorithm' && /-7/.test(e.message));
    const unprotAlg = encode(new Tag([new Uint8Array(0), new Map([[1, -8]]), payload, m.signature], 18));
    assert.throws(() => verifySign1(unprotAlg, kp.publicKey), (e: CoseError) => e.reason === 'algorithm' && /protected/.test(e.message));
    assert.throws(() => verifySign1(Uint8Array.of(0x82, 1, 2), kp.publicKey), (e: CoseError) => e.reason === 'format');
    assert.throws(() => verifySign1(bytes.subarray(0, 20), kp.publicKey), (e: CoseError) => e.reason === 'format');
    assert.throws(() => verifySign1(bytes, []), (e: CoseError) => e.reason === 'signature');
  });
});

function writePair(kp: ReturnType<typeof generateKeyPair>): { keyFile: string; pubFile: string } {
  return writeKeyPair(path.join(tmpDir('keys'), 'k'), kp);
}

describe('deploy: key files', function () {
  this.timeout(10_000);

  it('writes NAME.key (PKCS#8 PEM, mode 0600) and NAME.pub (SPKI PEM) that OpenSSL reads', () => {
    const kp = generateKeyPair();
    const { keyFile, pubFile } = writePair(kp);
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    assert.match(fs.readFileSync(keyFile, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=]+\n-----END PRIVATE KEY-----\n$/);
    const priv = crypto.createPrivateKey(fs.readFileSync(keyFile));
    const pub = crypto.createPublicKey(fs.readFileSync(pubFile));
    assert.equal(priv.asymmetricKeyType, 'ed25519');
    assert.deepEqual(pub.export({ format: 'der', type: 'spki' }).subarray(12), Buffer.from(kp.publicKey));
    // OpenSSL's signature with our private key verifies with our public key bytes, and back.
    const sig = crypto.sign(null, Buffer.from('hello'), priv);
    assert.ok(crypto.verify(null, Buffer.from('hello'), crypto.createPublicKey(fs.readFileSync(pubFile)), sig));
    const back = readPrivateKey(keyFile);
    assert.deepEqual(back.secretKey, kp.secretKey);
    assert.deepEqual(readPublicKey(pubFile), kp.publicKey);
    assert.deepEqual(readPublicKey(keyFile), kp.publicKey, 'a private key file yields its public half');
  });

  it('reads keys OpenSSL wrote, raw 32-byte files and 64 hex digits', () => {
    const dir = tmpDir('keys2');
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
    fs.writeFileSync(path.join(dir, 'o.key'), privateKey.export({ format: 'pem', type: 'pkcs8' }));
    fs.writeFileSync(path.join(dir, 'o.pub'), publicKey.export({ format: 'pem', type: 'spki' }));
    const kp = readPrivateKey(path.join(dir, 'o.key'));
    assert.deepEqual(Buffer.from(readPublicKey(path.join(dir, 'o.pub'))), Buffer.from(kp.publicKey));
    fs.writeFileSync(path.join(dir, 'raw.pub'), kp.publicKey);
    fs.writeFileSync(path.join(dir, 'hex.pub'), Buffer.from(kp.publicKey).toString('hex') + '\n');
    assert.deepEqual(readPublicKey(path.join(dir, 'raw.pub')), kp.publicKey);
    assert.deepEqual(readPublicKey(path.join(dir, 'hex.pub')), kp.publicKey);
    assert.equal(fingerprint(kp.publicKey).length, 16);
  });

  it('refuses to overwrite keys, and names the file in every error', () => {
    const kp = generateKeyPair();
    const { keyFile } = writePair(kp);
    const base = keyFile.replace(/\.key$/, '');
    assert.throws(() => writeKeyPair(base, kp), (e: KeyFileError) => e.file === keyFile && /exists/.test(e.message));
    assert.doesNotThrow(() => writeKeyPair(base, generateKeyPair(), { force: true }));
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    assert.throws(() => readPrivateKey(base + '.pub'), (e: KeyFileError) => /public key/.test(e.reason));
    assert.throws(() => readPrivateKey(base + '.nope'), (e: KeyFileError) => /no such key file/.test(e.reason));
    const dir = tmpDir('keys3');
    const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' });
    fs.writeFileSync(path.join(dir, 'rsa.key'), rsa);
    assert.throws(() => readPrivateKey(path.join(dir, 'rsa.key')), (e: KeyFileError) => /Ed25519/.test(e.reason));
    fs.writeFileSync(path.join(dir, 'neutral.pub'), '01' + '00'.repeat(31));
    assert.throws(() => readPublicKey(path.join(dir, 'neutral.pub')), (e: KeyFileError) => /small order/.test(e.reason) && e.file.endsWith('neutral.pub'));
    fs.writeFileSync(path.join(dir, 'junk'), 'hello');
    assert.throws(() => readPublicKey(path.join(dir, 'junk')), (e: KeyFileError) => /not a key file/.test(e.reason));
  });
});

describe('deploy: RIOT vendor and class ids', () => {
  it('derives the UUIDs RIOT prints (uuid5 of riot-os.org, then of the board name)', () => {
    assert.equal(formatUuid(vendorIdFor()), '547d0d74-6d3a-5a92-9662-4881afd9407b');
    assert.equal(formatUuid(classIdFor('native')), 'bcc90984-fe7d-562b-b4c9-a24f26a3a9cd');
    // RFC 4122 appendix B style check on a well-known value: uuid5(DNS, "python.org").
    assert.equal(formatUuid(uuid5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'python.org')), '886313e1-3b8a-5372-9b90-0c9aee199e5d');
  });

  it('maps profiles to RIOT board names and reads ids from text', () => {
    assert.equal(riotBoardName('gd32vf103'), 'sipeed-longan-nano');
    assert.equal(riotBoardName('nrf52840dk'), 'nrf52840dk');
    assert.deepEqual(idFromText('547d0d746d3a5a9296624881afd9407b', 'vendor'), vendorIdFor());
    assert.deepEqual(idFromText('native', 'class'), classIdFor('native'));
  });
});
