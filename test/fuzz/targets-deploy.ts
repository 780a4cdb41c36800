/**
 * Fuzz targets for deployment: SUIT manifests (lib/deploy/manifest.ts verifyEnvelope and
 * parseEnvelope) and CoAP messages to a RemoteDevice (lib/device/remote-device.ts) on loopback.
 *
 * manifest — inputs: valid signed envelopes mutated byte-wise; manifests mutated as CBOR trees
 * (keys dropped, values of the wrong type, commands and parameters changed, nested `bstr .cbor`
 * replaced by garbage) and then *validly signed* with the trusted key, so the parser behind the
 * signature check is reached; COSE_Sign1 blocks built by hand (other algorithms, critical
 * headers, detached payloads, several blocks, untrusted keys), signed with node:crypto.
 * Allowed: ManifestError only. An accepted envelope must (independently, with node:crypto) carry
 * a trusted signature over the digest of its manifest, and satisfy the policy.
 *
 * coap — a RemoteDevice with two installed slots; inputs: structure-aware CoAP datagrams (types,
 * codes, tokens, Uri-Path to every resource and to odd ones, Accept, Block2, unknown critical
 * options, long options, hostile payloads, trigger URLs) then byte mutations, raw datagrams, and
 * real updates from a file server with mutated-but-signed manifests. After each case a probe
 * (GET /riot/board from another socket) must be answered; every few cases /bpf/exec/0 must give
 * its slot's result. No uncaught exception, no request handler error escaping to the CoAP library
 * (a 5.00 the device did not log), updates end installed or failed with a named check.
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, createHash, type KeyObject } from 'node:crypto';
import * as dgram from 'node:dgram';
import { Tag } from 'cbor-x';
import { decode, encode } from '../../lib/deploy/cbor';
import { buildManifest, createEnvelope, MAX_SEQ, ManifestError, parseEnvelope, signManifest, verifyEnvelope, type ManifestSpec, type VerifyPolicy } from '../../lib/deploy/manifest';
import { keyPairFromSecret } from '../../lib/deploy/keys';
import { classIdFor, riotBoardName, vendorIdFor } from '../../lib/deploy/ids';
import { RemoteDevice } from '../../lib/device/remote-device';
import { CoapFileServer } from '../../lib/deploy/coap-server';
import type { UpdateRecord } from '../../lib/deploy/protocol';
import { encodeCoap, parseCoap, type CoapOption } from '../../lib/coap/message';
import { assemble } from '../../vm/assembler';
import { buildImage } from '../../vm/image';
import { Finding, type Counters, type Target } from './engine';
import { mutate } from './mutate';
import { Rng } from './rng';

const bump = (c: Counters, k: string, n = 1): void => { c[k] = (c[k] ?? 0) + n; };
const errName = (e: unknown): string => (e instanceof Error ? `${e.constructor.name}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}` : String(e));
const u8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
const eq = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

// ---- keys (deterministic) ---------------------------------------------------------------------------

const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

interface Key { secret: Uint8Array; pub: Uint8Array; priv: KeyObject; pubObj: KeyObject }

function keyFrom(label: string): Key {
  const secret = new Rng('femto-fuzz-key', label).bytes(32);
  const pair = keyPairFromSecret(secret);
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secret]), format: 'der', type: 'pkcs8' });
  const pubObj = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pair.publicKey]), format: 'der', type: 'spki' });
  return { secret, pub: pair.publicKey, priv, pubObj };
}

let keys: { trusted: Key; other: Key } | undefined;
function getKeys(): { trusted: Key; other: Key } {
  keys ??= { trusted: keyFrom('trusted'), other: keyFrom('untrusted') };
  return keys;
}

const BOARD = 'nrf52840dk';
const VENDOR = vendorIdFor();
const CLASS = classIdFor(riotBoardName(BOARD), VENDOR);

// ---- CBOR trees ----------------------------------------------------------------------------------------

/** A `bstr .cbor` node: encoded into a byte string when the tree is serialised. */
class Wrapped {
  constructor(public inner: unknown) {}
}

function serialise(v: unknown): unknown {
  if (v instanceof Wrapped) return encode(serialise(v.inner));
  if (v instanceof Map) return new Map([...v.entries()].map(([k, x]) => [k, serialise(x)]));
  if (Array.isArray(v)) return v.map(serialise);
  if (v instanceof Tag) return new Tag(serialise(v.value), v.tag);
  return v;
}

function manifestTree(spec: ManifestSpec & { slot: number }): Map<unknown, unknown> {
  const digest = createHash('sha256').update(spec.image).digest();
  return new Map<unknown, unknown>([
    [1, 1],
    [2, spec.seq],
    [3, new Wrapped(new Map<unknown, unknown>([
      [2, [[u8('ram'), u8(String(spec.slot))]]],
      [4, new Wrapped([20, new Map<unknown, unknown>([[1, spec.vendorId], [2, spec.classId], [3, new Wrapped([2, new Uint8Array(digest)])], [14, spec.image.length]]), 1, 15, 2, 15])],
    ]))],
    [9, new Wrapped([19, new Map([[21, spec.uri]]), 21, 2, 3, 15])],
    [10, new Wrapped([3, 15])],
  ]);
}

function randomValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 2 ? 12 : 16)) {
    case 0: return rng.pick([0, 1, -1, 2, 3, 12, 14, 15, 19, 20, 21, 107, 0x7fffffff, 0x80000000, 0xffffffff, -0x80000001, 2 ** 53 - 1, -(2 ** 53)]);
    case 1: return rng.pick([2n ** 64n - 1n, -(2n ** 64n), 2n ** 63n, 2n ** 100n]);
    case 2: return rng.pick([1.5, -0, NaN, Infinity, 1e300]);
    case 3: return rng.pick(['', 'coap://127.0.0.1:1/x', 'ram', '0', 'x'.repeat(rng.len(300)), '\u0000', '\u{1F600}']);
    case 4: return rng.bytes(rng.len(48));
    case 5: return rng.pick([u8('ram'), u8('0'), u8('1'), u8('99999'), u8('-1'), new Uint8Array(16), VENDOR, CLASS]);
    case 6: return null;
    case 7: return undefined;
    case 8: return rng.bool();
    case 9: return new Tag(rng.int(3) ? randomValue(rng, depth + 1) : 0, rng.pick([0, 1, 2, 18, 24, 107, 55799]));
    case 10: return rng.int(40);
    case 11: return rng.pick([-8, -7, -16, 2, 1]);
    case 12: return Array.from({ length: rng.len(6) }, () => randomValue(rng, depth + 1));
    case 13: return new Map(Array.from({ length: rng.len(4) }, () => [rng.bool(0.8) ? rng.int(25) - 2 : randomValue(rng, depth + 1), randomValue(rng, depth + 1)]));
    case 14: return new Wrapped(randomValue(rng, depth + 1));
    default: return rng.pick([[20, new Map()], [1, 15, 2, 15], [21, 2], [3, 15], [12, 0], [12, 1], [19, new Map([[21, 'coap://x/y']])]]);
  }
}

interface Slot { get(): unknown; set(v: unknown): void; del(): void; dup(): void; rekey?(k: unknown): void }

function slots(root: unknown): Slot[] {
  const out: Slot[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof Wrapped) return walk(v.inner);
    if (v instanceof Map) {
      for (const k of [...v.keys()]) {
        out.push({
          get: () => v.get(k), set: (x) => v.set(k, x), del: () => v.delete(k),
          dup: () => v.set(typeof k === 'number' ? k + 100 : `${String(k)}!`, v.get(k)),
          rekey: (nk) => { const x = v.get(k); v.delete(k); v.set(nk, x); },
        });
        walk(v.get(k));
      }
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const idx = i;
        out.push({ get: () => v[idx], set: (x) => { v[idx] = x; }, del: () => v.splice(idx, 1), dup: () => v.splice(idx, 0, v[idx]) });
        walk(v[i]);
      }
    } else if (v instanceof Tag) walk(v.value);
  };
  walk(root);
  return out;
}

function mutateTree(root: Map<unknown, unknown>, rng: Rng): void {
  const all = slots(root);
  if (!all.length) return;
  const s = rng.pick(all);
  switch (rng.int(8)) {
    case 0: s.del(); break;
    case 1: s.dup(); break;
    case 2: case 3: s.set(randomValue(rng)); break;
    case 4: {
      const v = s.get();
      if (typeof v === 'number') s.set(rng.pick([v + 1, v - 1, -v, v * 2 ** 31, v + 0.5, MAX_SEQ, MAX_SEQ + 1, 0, -1]));
      else if (v instanceof Uint8Array) s.set(rng.bool() ? v.subarray(0, rng.int(v.length + 1)) : new Uint8Array([...v, ...rng.bytes(rng.range(1, 4))]));
      else if (typeof v === 'string') s.set(v.slice(0, rng.int(v.length + 1)) + rng.pick(['', '/', '%zz', ':1', '\u0000']));
      else s.set(randomValue(rng));
      break;
    }
    case 5: if (s.rekey) s.rekey(rng.bool(0.7) ? rng.int(25) - 2 : randomValue(rng)); else s.del(); break;
    case 6: { // unwrap / wrap a bstr .cbor
      const v = s.get();
      s.set(v instanceof Wrapped ? v.inner : new Wrapped(v));
      break;
    }
    default: { // garbage where CBOR is expected
      const v = s.get();
      s.set(v instanceof Wrapped ? rng.bytes(rng.len(20)) : new Wrapped(rng.bytes(rng.len(8))));
    }
  }
}

// ---- COSE by hand (node:crypto) --------------------------------------------------------------------------

function sigStructure(prot: Uint8Array, payload: Uint8Array): Uint8Array {
  return encode(['Signature1', prot, new Uint8Array(0), payload]);
}

function handSign1(rng: Rng, payload: Uint8Array, key: Key): Uint8Array {
  const prot = rng.weighted<Uint8Array>([
    [6, encode(new Map([[1, -8]]))],
    [1, encode(new Map([[1, -7]]))],
    [1, encode(new Map<unknown, unknown>([[1, -8], [2, [99]]]))],
    [1, new Uint8Array(0)],
    [1, encode(new Map([[1, '-8']]))],
    [1, encode(new Map([[1, -8], [1, -8]]))],
    [1, rng.bytes(rng.len(8))],
  ]);
  const unprot = rng.weighted<unknown>([[6, new Map()], [1, new Map([[1, -8]])], [1, new Map([[4, rng.bytes(8)]])], [1, []]]);
  const sig = new Uint8Array(nodeSign(null, sigStructure(prot, payload), key.priv));
  const detached = rng.bool(0.1);
  const body = [prot, unprot, detached ? null : payload, rng.bool(0.1) ? sig.subarray(0, rng.int(64)) : sig];
  if (rng.bool(0.1)) body.push(rng.int(5));
  return encode(rng.bool(0.85) ? new Tag(body, 18) : body);
}

function manifestDigestOf(manifest: Uint8Array): Uint8Array {
  return encode([2, new Uint8Array(createHash('sha256').update(encode(manifest)).digest())]);
}

// ---- manifest target --------------------------------------------------------------------------------

interface ManifestInput { envelope: Uint8Array; currentSeq: number; how: string }

function randomSpec(rng: Rng, uri: string): ManifestSpec & { slot: number } {
  return {
    seq: rng.pick([1, 2, 5, 100, MAX_SEQ, rng.int(1000)]),
    slot: rng.weighted([[6, 0], [3, 1], [1, 2]]),
    vendorId: rng.bool(0.95) ? VENDOR : rng.bytes(16),
    classId: rng.bool(0.95) ? CLASS : rng.bytes(16),
    image: rng.bytes(rng.pick([1, 16, 100, 2048, 2049])),
    uri,
  };
}

export function generateEnvelope(rng: Rng, uri: string): { envelope: Uint8Array; how: string } {
  const { trusted, other } = getKeys();
  const spec = randomSpec(rng, uri);
  const k = rng.int(10);
  if (k < 3) { // byte mutations of a valid signed envelope
    const env = createEnvelope(spec, trusted.secret);
    return { envelope: mutate(env, rng, { max: 3, maxLen: 2000 }), how: 'bytes' };
  }
  if (k < 8) { // tree mutations, validly signed
    const tree = manifestTree(spec);
    const n = rng.range(1, 3);
    for (let i = 0; i < n; i++) mutateTree(tree, rng);
    let manifest: Uint8Array;
    try {
      manifest = encode(serialise(tree));
    } catch {
      manifest = buildManifest(spec);
    }
    const signers = rng.weighted<Uint8Array[]>([[8, [trusted.secret]], [1, [other.secret, trusted.secret]], [1, [other.secret]]]);
    return { envelope: signManifest(manifest, signers), how: 'tree' };
  }
  // Hand-made COSE blocks around a good manifest.
  const manifest = buildManifest(spec);
  const payload = rng.bool(0.9) ? manifestDigestOf(manifest) : rng.bytes(rng.len(40));
  const blocks = Array.from({ length: rng.weighted([[6, 1], [2, 2], [1, 0], [1, 3]]) }, () => handSign1(rng, payload, rng.bool(0.8) ? trusted : other));
  const env = new Map<unknown, unknown>([[2, encode(blocks)], [3, manifest]]);
  if (rng.bool(0.1)) env.set(rng.pick([1, 4, 12, 'x']), rng.bytes(4));
  if (rng.bool(0.1)) env.delete(rng.pick([2, 3]));
  return { envelope: encode(rng.bool(0.1) ? new Tag(env, 107) : env), how: 'cose' };
}

function policy(currentSeq: number): VerifyPolicy {
  return { trustedKeys: [getKeys().trusted.pub], vendorId: VENDOR, classId: CLASS, currentSeq, slotCount: 2, slotSize: 2048 };
}

/** Independent check of an accepted envelope: a trusted signature over its manifest's digest. */
function oracleSigned(envelope: Uint8Array): string | null {
  let top = decode(envelope) as unknown;
  if (top instanceof Tag && top.tag === 107) top = top.value;
  if (!(top instanceof Map)) return 'envelope is not a map';
  const manifest = top.get(3);
  const auth = top.get(2);
  if (!(manifest instanceof Uint8Array) || !(auth instanceof Uint8Array)) return 'no manifest or auth bytes';
  const want = createHash('sha256').update(encode(manifest)).digest();
  const blocks = decode(auth);
  if (!Array.isArray(blocks)) return 'auth is not an array';
  for (const b of blocks) {
    if (!(b instanceof Uint8Array)) continue;
    let s = decode(b) as unknown;
    if (s instanceof Tag) s = s.value;
    if (!Array.isArray(s) || s.length !== 4) continue;
    const [prot, , payload, sig] = s as [unknown, unknown, unknown, unknown];
    if (!(prot instanceof Uint8Array) || !(payload instanceof Uint8Array) || !(sig instanceof Uint8Array)) continue;
    if (!nodeVerify(null, sigStructure(prot, payload), getKeys().trusted.pubObj, sig)) continue;
    const d = decode(payload);
    if (Array.isArray(d) && d[1] instanceof Uint8Array && eq(d[1], want)) return null;
  }
  return 'no block carries a trusted signature over the manifest digest';
}

export const manifestTarget: Target<ManifestInput> = {
  name: 'manifest',
  description: 'lib/deploy/manifest.ts verifyEnvelope/parseEnvelope on mutated signed envelopes, mutated-then-signed manifest trees and hand-made COSE blocks; accepted ones re-verified with node:crypto',
  allowed: ['ManifestError'],
  generate(rng) {
    const { envelope, how } = generateEnvelope(rng, rng.pick(['coap://127.0.0.1:5683/img', 'coap://[::1]/a/b', 'coap://h/x?y']));
    return { envelope, currentSeq: rng.pick([0, 0, 1, 4, 99, MAX_SEQ]), how };
  },
  run(input, counters) {
    for (const fn of ['parse', 'verify'] as const) {
      try {
        if (fn === 'parse') parseEnvelope(input.envelope);
        else {
          const m = verifyEnvelope(input.envelope, policy(input.currentSeq));
          bump(counters, `accepted-${input.how}`);
          const why = oracleSigned(input.envelope);
          if (why) throw new Finding('invariant', `verifyEnvelope accepted an envelope node:crypto does not: ${why}`);
          if (!(m.seq > input.currentSeq) || m.slot < 0 || m.slot >= 2 || m.size <= 0 || m.size > 2048 || !eq(m.vendorId, VENDOR) || !eq(m.classId, CLASS) || m.digest.length !== 32) {
            throw new Finding('invariant', `accepted manifest breaks the policy: ${JSON.stringify({ seq: m.seq, slot: m.slot, size: m.size })}`);
          }
          if (typeof m.uri !== 'string') throw new Finding('invariant', 'accepted manifest without a URI');
        }
      } catch (e) {
        if (e instanceof Finding) throw e;
        if (e instanceof ManifestError) {
          bump(counters, `${fn}:${e.check}`);
          continue;
        }
        throw new Finding('untyped-error', `${fn}Envelope threw ${errName(e)}`);
      }
    }
  },
};

// ---- CoAP to a device on loopback -----------------------------------------------------------------------

const IMAGE_42 = buildImage({ text: assemble('mov %r0, 4200\nexit') });
const IMAGE_SUM = buildImage({
  text: assemble(`
    mov %r6, %r1
    ldxdw %r7, [%r6+0]
    ldxw %r8, [%r7+8]
    ldxh %r9, [%r7+12]
    mov %r0, 0
  loop:
    jeq %r9, 0, done
    ldxb %r1, [%r8+0]
    add %r0, %r1
    add %r8, 1
    sub %r9, 1
    ja loop
  done:
    exit`),
});
const IMAGES = [IMAGE_42, IMAGE_SUM];
const digestHex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const PATHS: string[][] = [
  ['suit', 'trigger'], ['bpf', 'exec', '0'], ['bpf', 'exec', '1'], ['bpf', 'exec', '2'], ['bpf', 'exec', '99999999999999999999'],
  ['bpf', 'exec', '-1'], ['riot', 'board'], ['suit', 'version'], ['femto', 'status'], ['.well-known', 'core'], [], ['bpf', 'exec'],
  ['%zz'], ['a%2Fb'], ['%E0%A4%A'], ['..', 'suit', 'trigger'], ['x'.repeat(300)], ['\u00ff\u00fe'], ['bpf', 'exec', '0', 'x'],
];
const TRIGGER_URLS = ['coap://127.0.0.1:1/m', 'coap://[::1]:1/m', 'coap://127.0.0.1:0/x', 'coap://', 'coap://127.0.0.1:99999/x',
  'coap://localhost:1/m', 'http://127.0.0.1/x', '', ' ', '\u0000\u0000', 'coap://127.0.0.1:1/' + 'a'.repeat(120), 'coap://127.0.0.1:1/%zz'];

interface CoapInput {
  datagrams: Uint8Array[];
  /** A real update through the file server: spec seed and sequence offset. */
  update?: { seed: number; seqDelta: number; image: number; slot: number; mutateTree: boolean };
  probeExec: boolean;
  how: string;
}

function coapDatagram(rng: Rng): Uint8Array {
  const path = rng.bool(0.9) ? rng.pick(PATHS) : Array.from({ length: rng.int(4) }, () => Buffer.from(rng.bytes(rng.len(20))).toString('latin1'));
  const options: CoapOption[] = path.map((seg) => ({ num: 11, value: new Uint8Array(Buffer.from(seg, 'latin1')) }));
  const nOpt = rng.weighted([[5, 0], [3, 1], [2, 3]]);
  for (let i = 0; i < nOpt; i++) {
    const num = rng.pick([15, 17, 17, 23, 23, 27, 12, 6, 28, 60, 9, 1, 2049, 65001, 65535, 3, 5, 8, 35, 39, 258, 284]);
    const value = num === 17 || num === 12 ? Uint8Array.from(rng.pick([[50], [60], [0], [42], [0xff, 0xff], []])) :
      num === 15 ? u8(rng.pick(['only=update', 'only=', '&&', '%zz', 'x'.repeat(200)])) : rng.bytes(rng.weighted([[6, rng.int(5)], [1, rng.range(13, 300)], [1, rng.range(269, 1100)]]));
    options.push({ num, value });
  }
  const isTrigger = path[0] === 'suit';
  const payload = isTrigger && rng.bool(0.7) ? u8(rng.pick(TRIGGER_URLS)) : rng.bytes(rng.weighted([[6, rng.int(30)], [2, rng.int(600)], [1, rng.range(1000, 1400)]]));
  const msg = encodeCoap({
    type: rng.weighted([[5, 0], [3, 1], [1, 2], [1, 3]]),
    code: rng.weighted([[8, rng.pick([1, 2, 3, 4])], [1, 0], [1, rng.int(256)]]),
    messageId: rng.int(0x10000),
    token: rng.bytes(rng.weighted([[6, rng.int(9)], [1, 0]])),
    options,
    payload,
  });
  if (rng.bool(0.3)) return mutate(msg, rng, { max: 3, maxLen: 1400 });
  return msg;
}

interface DeviceEnv {
  dev: RemoteDevice;
  files: CoapFileServer;
  hostile: dgram.Socket;
  probe: dgram.Socket;
  hostileReplies: Buffer[];
  probeReplies: Map<string, Buffer>;
  mid: number;
  version: number;
}

let env: DeviceEnv | undefined;
/** Lines the device logged for requests its handler failed on ("coap: …"). */
let coapLogLines = 0;
/** Exceptions that escaped RemoteDevice.handle (recorded by the wrapper installed in setup). */
const handlerEscapes: string[] = [];

async function bindSocket(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  s.on('error', () => undefined);
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

async function waitFor<T>(get: () => T | undefined, ms: number): Promise<T | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) return undefined;
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function request(e: DeviceEnv, code: number, path: string[], payload: Uint8Array = new Uint8Array(0), ms = 4000): Promise<ReturnType<typeof parseCoap> | undefined> {
  e.mid = (e.mid + 1) & 0xffff;
  const token = Uint8Array.of(0xf0, e.mid >> 8, e.mid & 0xff, e.version & 0xff);
  const key = Buffer.from(token).toString('hex');
  const bytes = encodeCoap({ type: 0, code, messageId: e.mid, token, options: path.map((s) => ({ num: 11, value: u8(s) })), payload });
  e.probe.send(bytes, e.dev.port, '127.0.0.1');
  const got = await waitFor(() => e.probeReplies.get(key), ms);
  e.probeReplies.delete(key);
  return got ? parseCoap(new Uint8Array(got)) : undefined;
}

async function update(e: DeviceEnv, envelope: Uint8Array, image: Uint8Array): Promise<UpdateRecord | undefined> {
  e.files.put('m', envelope);
  e.files.put('img', image);
  await e.dev.idle();
  const r = await request(e, 2, ['suit', 'trigger'], u8(e.files.url('m')));
  if (!r) return undefined;
  if (r.code !== 65) return { id: -1, url: '', state: 'failed', message: `trigger answered ${r.code >> 5}.${r.code & 31}`, startedAt: '' } as UpdateRecord;
  await new Promise((res) => setImmediate(res));
  await e.dev.idle();
  return e.dev.status().update as UpdateRecord;
}

const EXPECTED_EXEC = new Map<string, (payload: Uint8Array) => string>([
  [digestHex(IMAGE_42), () => '42.00'],
]);

export const coapTarget: Target<CoapInput> = {
  name: 'coap',
  description: 'CoAP datagrams (structure-aware, mutated, raw) and signed-but-mutated updates to a RemoteDevice on loopback; liveness probe after each case',
  allowed: ['CoAP error responses (4.xx/5.03); 5.00 only with a device log line'],
  async setup() {
    const { trusted } = getKeys();
    const files = new CoapFileServer();
    await files.listen();
    const logLines: string[] = [];
    const dev = await RemoteDevice.start({
      port: 0, profile: BOARD, trustedKeys: [trusted.pub], fetchTiming: { ackTimeoutMs: 100, timeoutMs: 600 }, fetchTimeoutMs: 3000,
      log: (l) => { if (l.startsWith('coap: ')) { coapLogLines++; if (process.env.FEMTO_FUZZ_DEBUG) console.log('device log:', l); } if (logLines.length < 1000) logLines.push(l); },
    });
    // Record any exception that escapes the device's request handler (the CoAP library would
    // answer it with a 5.00 of its own and leave the exchange's ACK timer running).
    const inst = dev as unknown as { handle(req: unknown, res: unknown): void };
    const handle = inst.handle.bind(dev);
    inst.handle = (req, res) => {
      try {
        handle(req, res);
      } catch (err) {
        handlerEscapes.push(errName(err));
        throw err;
      }
    };
    const hostile = await bindSocket();
    const probe = await bindSocket();
    const e: DeviceEnv = { dev, files, hostile, probe, hostileReplies: [], probeReplies: new Map(), mid: 0, version: 0 };
    hostile.on('message', (m) => { if (e.hostileReplies.length < 64) e.hostileReplies.push(m); });
    probe.on('message', (m) => {
      if (m.length >= 4 && (m[0] & 0x0f) === 4) e.probeReplies.set(m.subarray(4, 8).toString('hex'), m);
      // Acknowledge a separate (CON) response so the device does not retransmit it.
      if (m.length >= 4 && (m[0] >> 4 & 3) === 0) probe.send(Buffer.from([0x60, 0, m[2], m[3]]), dev.port, '127.0.0.1');
    });
    env = e;
    // Install the two slots the way a host would: signed updates from the file server.
    for (const [slot, img] of IMAGES.entries()) {
      const url = files.url('img');
      const r = await update(e, createEnvelope({ seq: slot + 1, slot, vendorId: VENDOR, classId: CLASS, image: img, uri: url }, trusted.secret), img);
      if (r?.state !== 'installed') throw new Error(`setup: installing slot ${slot} failed: ${JSON.stringify(r)}`);
    }
  },
  async teardown() {
    if (!env) return;
    const e = env;
    env = undefined;
    // Let the CoAP library's per-exchange timers (200 ms piggyback ACKs) run out while the
    // device's socket is still open.
    await new Promise((res) => setTimeout(res, 400));
    e.hostile.close();
    e.probe.close();
    await e.dev.close();
    await e.files.close();
  },
  generate(rng) {
    const k = rng.int(20);
    if (k === 0) {
      return { datagrams: [], update: { seed: rng.u32(), seqDelta: rng.pick([1, 1, 1, 0, -1, 2]), image: rng.int(IMAGES.length), slot: rng.pick([0, 1, 1, 2]), mutateTree: rng.bool(0.7) }, probeExec: true, how: 'update' };
    }
    if (k < 3) return { datagrams: [rng.bytes(rng.len(64))], probeExec: rng.bool(0.2), how: 'raw' };
    return { datagrams: Array.from({ length: rng.weighted([[6, 1], [2, 2], [1, 4]]) }, () => coapDatagram(rng)), probeExec: rng.bool(0.15), how: 'coap' };
  },
  async run(input, counters) {
    const e = env;
    if (!e) throw new Error('coap target used without setup');
    e.hostileReplies.length = 0;
    const logBefore = coapLogLines;
    for (const d of input.datagrams) e.hostile.send(d, e.dev.port, '127.0.0.1');
    if (input.update) {
      const { trusted } = getKeys();
      const u = input.update;
      const rng = new Rng(u.seed);
      const image = IMAGES[u.image];
      // (Once a mutated manifest installed sequence number 2^31−1 no update can follow: RIOT's rule.)
      const spec = { seq: Math.max(0, Math.min(MAX_SEQ, e.dev.seq + u.seqDelta)), slot: u.slot, vendorId: VENDOR, classId: CLASS, image, uri: e.files.url('img') };
      let envelope: Uint8Array;
      if (u.mutateTree) {
        const tree = manifestTree(spec);
        mutateTree(tree, rng);
        let manifest: Uint8Array;
        try { manifest = encode(serialise(tree)); } catch { manifest = buildManifest(spec); }
        envelope = signManifest(manifest, trusted.secret);
      } else envelope = createEnvelope(spec, trusted.secret);
      const seqBefore = e.dev.seq;
      const rec = await update(e, envelope, image);
      if (!rec) throw new Finding('unresponsive', 'the device did not answer a trigger');
      bump(counters, `update-${rec.state}${rec.check ? ':' + rec.check : ''}`);
      if (rec.state !== 'installed' && rec.state !== 'failed') throw new Finding('invariant', `update ended in state ${rec.state}`);
      if (rec.state === 'failed' && e.dev.seq !== seqBefore) throw new Finding('invariant', `a failed update moved the sequence number ${seqBefore} -> ${e.dev.seq}`);
      if (rec.state === 'installed') {
        try {
          verifyEnvelope(envelope, policy(seqBefore));
        } catch (err) {
          throw new Finding('invariant', `the device installed an update verifyEnvelope refuses: ${errName(err)}`);
        }
      }
    }
    // Liveness: a probe from another socket must be answered, and correctly.
    const r = await request(e, 1, ['riot', 'board']);
    if (!r) throw new Finding('unresponsive', 'no answer to GET /riot/board after the case');
    if (r.code !== 69 || Buffer.from(r.payload).toString() !== riotBoardName(BOARD)) {
      throw new Finding('invariant', `GET /riot/board answered ${r.code >> 5}.${r.code & 31} ${Buffer.from(r.payload).toString()}`);
    }
    if (input.probeExec) {
      const st = e.dev.status() as { slots: { digest: string | null }[] };
      const x = await request(e, 2, ['bpf', 'exec', '0']);
      if (!x) throw new Finding('unresponsive', 'no answer to POST /bpf/exec/0');
      const want = st.slots[0].digest ? EXPECTED_EXEC.get(st.slots[0].digest)?.(new Uint8Array(0)) : undefined;
      if (x.code !== 68 || (want !== undefined && Buffer.from(x.payload).toString() !== want)) {
        throw new Finding('invariant', `POST /bpf/exec/0 answered ${x.code >> 5}.${x.code & 31} "${Buffer.from(x.payload).toString()}", expected 2.04 "${want}"`);
      }
    }
    if (handlerEscapes.length) {
      const first = handlerEscapes[0];
      handlerEscapes.length = 0;
      throw new Finding('untyped-error', `an exception escaped RemoteDevice's request handler (the CoAP library answers it with 5.00 and leaves the exchange's ACK timer running): ${first}`);
    }
    for (const m of e.hostileReplies) {
      try {
        const p = parseCoap(new Uint8Array(m));
        bump(counters, `reply-${p.code >> 5}.${String(p.code & 31).padStart(2, '0')}`);
      } catch {
        bump(counters, 'reply-unparsed');
      }
    }
    if (coapLogLines !== logBefore) bump(counters, 'device-5.00');
    bump(counters, input.how);
  },
};

