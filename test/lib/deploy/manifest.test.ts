/**
 * SUIT manifests (lib/deploy/manifest.ts): the draft-09 structure RIOT 2022 parses, checked
 * field by field at the CBOR level, and every verification failure naming its check.
 */
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { decode, encode, Tag } from '../../../lib/deploy/cbor';
import { decodeSign1, signSign1 } from '../../../lib/deploy/cose';
import { classIdFor, vendorIdFor } from '../../../lib/deploy/ids';
import { generateKeyPair } from '../../../lib/deploy/keys';
import {
  buildManifest, createEnvelope, manifestDigest, ManifestError, parseEnvelope, signManifest, verifyEnvelope, verifyImage,
  type ManifestCheck, type ManifestSpec, type VerifyPolicy,
} from '../../../lib/deploy/manifest';
import { imageReturning } from './util';

const kp = generateKeyPair();
const image = imageReturning(7);
const spec: ManifestSpec = { seq: 5, slot: 1, vendorId: vendorIdFor(), classId: classIdFor('nrf52840dk'), image, uri: 'coap://127.0.0.1:5683/img.bin' };
const policy: VerifyPolicy = { trustedKeys: [kp.publicKey], vendorId: vendorIdFor(), classId: classIdFor('nrf52840dk'), currentSeq: 4, slotCount: 2, slotSize: 2048 };

const sha = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());
const u8 = (s: string | Uint8Array): Uint8Array => new Uint8Array(typeof s === 'string' ? Buffer.from(s) : s);
const check = (c: ManifestCheck, re?: RegExp) => (e: unknown): boolean => e instanceof ManifestError && e.check === c && (!re || re.test(e.message));

describe('deploy: SUIT manifest (draft-09, as RIOT parses it)', function () {
  this.timeout(10_000);

  it('lays the envelope out as RIOT and suit-tool do', () => {
    const env = createEnvelope(spec, kp.secretKey);
    const top = decode(env) as Map<number, Uint8Array>;
    assert.ok(top instanceof Map, 'an untagged map');
    assert.deepEqual([...top.keys()], [2, 3], 'authentication wrapper first, then the manifest');
    const auth = decode(top.get(2)!) as Uint8Array[];
    assert.equal(auth.length, 1);
    const cose = decodeSign1(auth[0]);
    // The COSE payload is the SUIT_Digest [2, sha256] of the manifest bstr *item* (head + bytes).
    const manifestItem = encode(top.get(3)!);
    assert.deepEqual(Buffer.from(cose.payload!), Buffer.concat([Buffer.from([0x82, 0x02, 0x58, 0x20]), Buffer.from(sha(manifestItem))]));
    assert.deepEqual(cose.payload, manifestDigest(top.get(3)!));
    const m = decode(top.get(3)!) as Map<number, unknown>;
    assert.deepEqual([...m.keys()], [1, 2, 3, 9, 10], 'no run section (RIOT 2022 refuses key 12)');
    assert.equal(m.get(1), 1);
    assert.equal(m.get(2), 5);
    const common = decode(m.get(3) as Uint8Array) as Map<number, unknown>;
    assert.deepEqual(common.get(2), [[u8('ram'), u8('1')]], 'component [h"ram", h"1"] = ".ram.1"');
    const shared = decode(common.get(4) as Uint8Array) as unknown[];
    assert.equal(shared[0], 20, 'override-parameters');
    const params = shared[1] as Map<number, unknown>;
    assert.deepEqual([...params.keys()], [1, 2, 3, 14]);
    assert.deepEqual(params.get(1), u8(vendorIdFor()));
    assert.deepEqual(params.get(2), u8(classIdFor('nrf52840dk')));
    assert.deepEqual(decode(params.get(3) as Uint8Array), [2, sha(image)]);
    assert.equal(params.get(14), image.length);
    assert.deepEqual(shared.slice(2), [1, 15, 2, 15], 'vendor and class conditions');
    const install = decode(m.get(9) as Uint8Array) as unknown[];
    assert.equal(install[0], 19);
    assert.equal((install[1] as Map<number, unknown>).get(21), spec.uri);
    assert.deepEqual(install.slice(2), [21, 2, 3, 15], 'fetch, then image match');
    assert.deepEqual(decode(m.get(10) as Uint8Array), [3, 15]);
    // The common section of suit-tool's example encodes byte for byte like ours (same head sizes).
    assert.equal(Buffer.from(m.get(3) as Uint8Array).subarray(0, 4).toString('hex'), 'a2028182');
    assert.ok(env.length < 640, `fits RIOT's 640 B manifest buffer (${env.length} B)`);
  });

  it('parses back to the same fields and verifies', () => {
    const env = createEnvelope(spec, kp.secretKey);
    const p = parseEnvelope(env).manifest;
    assert.equal(p.location, '.ram.1');
    assert.equal(p.slot, 1);
    assert.equal(p.uri, spec.uri);
    assert.equal(p.size, image.length);
    const v = verifyEnvelope(env, policy);
    assert.equal(v.seq, 5);
    assert.equal(v.keyIndex, 0);
    assert.doesNotThrow(() => verifyImage(v, image));
    // A tagged envelope (tag 107, later drafts) and several signatures are accepted too.
    const other = generateKeyPair();
    const two = signManifest(buildManifest(spec), [other.secretKey, kp.secretKey]);
    assert.equal(verifyEnvelope(two, policy).keyIndex, 0);
    const tagged = encode(new Tag(decode(env), 107));
    assert.equal(verifyEnvelope(tagged, policy).seq, 5);
  });

  it('names the failed check: signature', () => {
    const env = createEnvelope(spec, generateKeyPair().secretKey);
    assert.throws(() => verifyEnvelope(env, policy), check('signature', /trusted key/));
    assert.throws(() => verifyEnvelope(createEnvelope(spec, kp.secretKey), { ...policy, trustedKeys: [] }), check('signature'));
    const unsigned = encode(new Map([[3, buildManifest(spec)]]));
    assert.throws(() => verifyEnvelope(unsigned, policy), check('signature', /unsigned/));
  });

  it('names the failed check: a manifest changed after signing', () => {
    const env = createEnvelope(spec, kp.secretKey);
    const top = decode(env) as Map<number, Uint8Array>;
    const evil = buildManifest({ ...spec, uri: 'coap://10.6.6.6/evil.bin' });
    const tampered = encode(new Map<number, unknown>([[2, top.get(2)!], [3, evil]]));
    assert.throws(() => verifyEnvelope(tampered, policy), check('signature', /changed after signing/));
    // Flipping one byte of the manifest's body (the sequence number) is caught the same way.
    const i = Buffer.from(env).indexOf(Buffer.from([0x02, 0x05]), Buffer.from(env).indexOf(Buffer.from([0xa5, 0x01, 0x01])));
    const flipped = env.slice();
    flipped[i + 1] = 0x09;
    assert.throws(() => verifyEnvelope(flipped, policy), check('signature', /changed after signing/));
  });

  it('names the failed check: sequence (replay, rollback)', () => {
    const env = createEnvelope(spec, kp.secretKey);
    assert.throws(() => verifyEnvelope(env, { ...policy, currentSeq: 5 }), check('sequence', /replayed/));
    assert.throws(() => verifyEnvelope(env, { ...policy, currentSeq: 9 }), check('sequence', /rollback/));
  });

  it('names the failed check: vendor, class, slot, size', () => {
    assert.throws(() => verifyEnvelope(createEnvelope({ ...spec, vendorId: vendorIdFor('example.com') }, kp.secretKey), policy), check('vendor'));
    assert.throws(() => verifyEnvelope(createEnvelope({ ...spec, classId: classIdFor('native') }, kp.secretKey), policy), check('class', /bcc90984/));
    assert.throws(() => verifyEnvelope(createEnvelope({ ...spec, slot: 2 }, kp.secretKey), policy), check('slot', /\.ram\.2/));
    assert.throws(() => verifyEnvelope(createEnvelope({ ...spec, component: ['flash', '0'] }, kp.secretKey), policy), check('slot', /\.flash\.0/));
    assert.throws(() => verifyEnvelope(createEnvelope({ ...spec, image: new Uint8Array(3000) }, kp.secretKey), policy), check('size', /3000 B does not fit the 2048 B slot/));
  });

  it('names the failed check: the image (size, digest)', () => {
    const v = verifyEnvelope(createEnvelope(spec, kp.secretKey), policy);
    const bad = image.slice();
    bad[bad.length - 1] ^= 1;
    assert.throws(() => verifyImage(v, bad), check('digest', /does not match/));
    assert.throws(() => verifyImage(v, image.subarray(0, 10)), check('size'));
  });

  it('names the failed check: format (what RIOT would not parse either)', () => {
    assert.throws(() => verifyEnvelope(Uint8Array.of(1, 2, 3), policy), check('format'));
    assert.throws(() => verifyEnvelope(encode(new Map([[2, encode([])], [3, buildManifest(spec)]])), policy), check('signature', /no signature/));
    assert.throws(() => verifyEnvelope(encode(new Map([[2, encode([Uint8Array.of(1)])], [3, buildManifest(spec)]])), policy), check('format'));
    const withRun = (() => {
      const m = decode(buildManifest(spec)) as Map<number, unknown>;
      m.set(12, encode([23, 2]));
      return encode(m);
    })();
    assert.throws(() => verifyEnvelope(signManifest(withRun, kp.secretKey), policy), check('format', /key 12/));
    const v2 = (() => {
      const m = decode(buildManifest(spec)) as Map<number, unknown>;
      m.set(1, 2);
      return encode(m);
    })();
    assert.throws(() => verifyEnvelope(signManifest(v2, kp.secretKey), policy), check('format', /version 2/));
    assert.throws(() => buildManifest({ ...spec, seq: -1 }), RangeError);
    assert.throws(() => buildManifest({ ...spec, uri: 'http://x/y' }), RangeError);
    // A COSE_Sign1 over something else than the digest is a signature failure, not a crash.
    const top = decode(createEnvelope(spec, kp.secretKey)) as Map<number, Uint8Array>;
    const odd = encode(new Map<number, unknown>([[2, encode([signSign1(Uint8Array.of(1), kp.secretKey)])], [3, top.get(3)!]]));
    assert.throws(() => verifyEnvelope(odd, policy), check('signature', /changed after signing/));
  });
});
