/**
 * Keys typed or pasted into the editor (lib/node-support/key-text.ts): the forms accepted, and one
 * sentence for each refusal — including public keys no signature check could trust.
 */
import * as assert from 'node:assert/strict';
import { generateKeyPair, privateKeyPem, publicKeyPem } from '../../../lib/deploy/keys';
import { KeyTextError, parsePublicKey, parseSecretKey } from '../../../lib/node-support/key-text';

describe('node-support: key text', () => {
  const kp = generateKeyPair();
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

  it('reads a private key as PKCS#8 PEM or as the seed in hex or base64', () => {
    for (const text of [privateKeyPem(kp.secretKey), hex(kp.secretKey), Buffer.from(kp.secretKey).toString('base64')]) {
      assert.deepEqual(parseSecretKey(text).publicKey, kp.publicKey);
    }
    assert.throws(() => parseSecretKey(publicKeyPem(kp.publicKey)), (e: KeyTextError) => /needs the private key/.test(e.message));
  });

  it('reads a public key as SPKI PEM, hex or base64, or as the public half of a private key', () => {
    for (const text of [publicKeyPem(kp.publicKey), hex(kp.publicKey), Buffer.from(kp.publicKey).toString('base64'), privateKeyPem(kp.secretKey)]) {
      assert.deepEqual(parsePublicKey(text), kp.publicKey);
    }
  });

  it('refuses public keys anyone could sign for (small order, non-canonical) with one sentence', () => {
    const neutral = '01' + '00'.repeat(31);
    const nonCanonical = 'ee' + 'ff'.repeat(30) + '7f'; // y = p + 1
    for (const text of [neutral, nonCanonical]) {
      assert.throws(() => parsePublicKey(text), (e: KeyTextError) => e instanceof KeyTextError && /not usable: a point of small order/.test(e.message) && !/\n/.test(e.message));
    }
  });
});
