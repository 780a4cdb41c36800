/**
 * Bounded block-wise state, without a network: the BoundedStore's caps on
 * entries, bytes and age (fake clock), Block1 reassembly and its refusals (4.13 + Size1, 4.08,
 * 5.03 + Max-Age, 4.00), and how a response body is cut into Block2 blocks.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { BoundedStore } from '../../../lib/deploy/bounded-store';
import { blockOfBody, DEFAULT_UPLOAD_LIMITS, etag, MAX_BLOCK, readBlock, Snapshots, Uploads, type UploadStep } from '../../../lib/deploy/coap-blockwise';
import { blockOption, OPT, readUint } from '../../../lib/deploy/coap-client';
import type { CoapOption } from '../../../lib/coap/message';

/** A clock the test moves. */
function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

const bytes = (n: number, fill = 0x61): Uint8Array => new Uint8Array(n).fill(fill);
const optValue = (opts: readonly CoapOption[], num: number): number | undefined => {
  const o = opts.find((x) => x.num === num);
  return o ? readUint(o.value) : undefined;
};
const block = (num: number, more: boolean, size: number) => ({ num, more, size });
const code = (s: UploadStep): string => (s.kind === 'refuse' ? s.code : s.kind);

describe('deploy/bounded-store', () => {
  it('caps entries: refuses, or evicts the oldest', () => {
    const s = new BoundedStore<number>({ maxEntries: 3, maxBytes: 1000, maxAgeMs: 1000 }, fakeClock().now);
    for (const k of ['a', 'b', 'c']) assert.equal(s.set(k, 1, 10, 'refuse'), true);
    assert.equal(s.set('d', 1, 10, 'refuse'), false);
    assert.equal(s.get('d'), undefined);
    assert.equal(s.set('d', 1, 10, 'evict'), true);
    assert.equal(s.get('a'), undefined, 'the oldest went');
    assert.deepEqual([s.size, s.bytes], [3, 30]);
    assert.equal(s.set('b', 2, 10, 'refuse'), true, 'replacing an entry needs no extra room');
    assert.equal(s.get('b'), 2);
  });

  it('caps bytes, including growth, and never holds an entry larger than the cap', () => {
    const s = new BoundedStore<string>({ maxEntries: 100, maxBytes: 100, maxAgeMs: 1000 }, fakeClock().now);
    assert.equal(s.set('big', 'x', 101, 'evict'), false);
    assert.equal(s.set('a', 'x', 60, 'refuse'), true);
    assert.equal(s.set('b', 'x', 50, 'refuse'), false);
    assert.equal(s.grow('a', 40), true);
    assert.equal(s.grow('a', 1), false);
    assert.equal(s.bytes, 100);
    assert.equal(s.set('b', 'x', 50, 'evict'), true);
    assert.deepEqual([s.size, s.bytes], [1, 50]);
    s.delete('b');
    assert.deepEqual([s.size, s.bytes], [0, 0]);
  });

  it('ages entries from their creation: expired ones are gone on lookup, on sweep, and make room', () => {
    const clock = fakeClock();
    const s = new BoundedStore<number>({ maxEntries: 2, maxBytes: 100, maxAgeMs: 1000 }, clock.now);
    s.set('a', 1, 10, 'refuse');
    clock.advance(600);
    s.set('b', 2, 10, 'refuse');
    assert.equal(s.msUntilRoom(), 400);
    assert.equal(s.set('c', 3, 10, 'refuse'), false);
    clock.advance(400);
    assert.equal(s.get('a'), undefined);
    assert.equal(s.set('c', 3, 10, 'refuse'), true, 'an expired entry made room');
    clock.advance(600);
    assert.equal(s.sweep(), 1);
    assert.deepEqual([s.size, s.bytes, s.get('c')], [1, 10, 3]);
    assert.throws(() => new BoundedStore({ maxEntries: -1, maxBytes: 1, maxAgeMs: 1 }), /maxEntries must be a non-negative number/);
  });

  it('never exceeds its caps, whatever the operations (property)', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('set' as const), key: fc.nat(9), bytes: fc.nat(60), evict: fc.boolean() }),
      fc.record({ k: fc.constant('grow' as const), key: fc.nat(9), bytes: fc.nat(60) }),
      fc.record({ k: fc.constant('del' as const), key: fc.nat(9) }),
      fc.record({ k: fc.constant('tick' as const), ms: fc.nat(700) }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const clock = fakeClock();
      const s = new BoundedStore<number>({ maxEntries: 4, maxBytes: 100, maxAgeMs: 1000 }, clock.now);
      for (const o of ops) {
        if (o.k === 'set') s.set(String(o.key), 0, o.bytes, o.evict ? 'evict' : 'refuse');
        else if (o.k === 'grow') s.grow(String(o.key), o.bytes);
        else if (o.k === 'del') s.delete(String(o.key));
        else clock.advance(o.ms);
        assert.ok(s.size <= 4 && s.bytes <= 100 && s.bytes >= 0, `size ${s.size}, bytes ${s.bytes}`);
      }
      s.sweep();
      clock.advance(1000);
      s.sweep();
      assert.deepEqual([s.size, s.bytes], [0, 0], 'everything ages out');
    }), { numRuns: 300 });
  });
});

describe('deploy/coap-blockwise: uploads (Block1)', () => {
  it('reassembles a body in order and echoes each block', () => {
    const u = new Uploads();
    const body = Uint8Array.from({ length: 150 }, (_, i) => i);
    const s0 = u.step('k', block(0, true, 64), body.subarray(0, 64), 500);
    assert.equal(s0.kind, 'continue');
    assert.equal(optValue(s0.kind === 'continue' ? s0.options : [], OPT.BLOCK1), 0 * 16 + 8 + 2);
    assert.equal(code(u.step('k', block(1, true, 64), body.subarray(64, 128), 500)), 'continue');
    assert.equal(code(u.step('k', block(1, true, 64), body.subarray(64, 128), 500)), 'continue', 'a retransmitted block is acknowledged again');
    assert.deepEqual([u.count, u.bytes], [1, 128]);
    const last = u.step('k', block(2, false, 64), body.subarray(128), 500);
    assert.equal(last.kind, 'complete');
    assert.deepEqual(last.kind === 'complete' && [...last.body], [...body]);
    assert.deepEqual([u.count, u.bytes], [0, 0]);
    const one = u.step('k', block(0, false, 64), bytes(10), 500);
    assert.equal(one.kind, 'complete', 'a one-block body keeps no state');
    assert.equal(u.count, 0);
  });

  it('a resource that takes no body: 4.13 with Size1 0 at the first block, nothing kept', () => {
    const u = new Uploads();
    for (let n = 0; n < 100; n++) {
      const s = u.step(`k${n}`, block(n % 3, true, 1024), bytes(1024), 0);
      assert.equal(code(s), '4.13');
      assert.equal(s.kind === 'refuse' && optValue(s.options, OPT.SIZE1), 0);
    }
    assert.deepEqual([u.count, u.bytes], [0, 0]);
  });

  it('a body beyond what the resource takes: 4.13 with Size1 = its limit, as soon as it shows', () => {
    const u = new Uploads();
    assert.equal(code(u.step('k', block(0, true, 64), bytes(64), 100)), 'continue');
    const s = u.step('k', block(1, true, 64), bytes(64), 100);
    assert.equal(code(s), '4.13');
    assert.equal(s.kind === 'refuse' && optValue(s.options, OPT.SIZE1), 100);
    assert.equal(u.count, 0, 'the transfer is dropped');
    assert.equal(code(u.step('j', block(0, true, 64), bytes(64), 100, 5000)), '4.13', 'Size1 announcing too much');
    assert.equal(code(u.step('j', block(0, true, 64), bytes(64), 1 << 20)), 'continue');
    assert.equal(code(u.step('j', block(DEFAULT_UPLOAD_LIMITS.maxTransferBytes / 64, true, 64), bytes(64), 1 << 20)), '4.13', 'capped by maxTransferBytes whatever the resource says');
  });

  it('later blocks without a transfer, out of order, or of the wrong size are refused', () => {
    const u = new Uploads();
    assert.equal(code(u.step('k', block(3, true, 64), bytes(64), 500)), '4.08');
    u.step('k', block(0, true, 64), bytes(64), 500);
    assert.equal(code(u.step('k', block(2, true, 64), bytes(64), 500)), '4.08');
    assert.equal(u.count, 0);
    assert.equal(code(u.step('k', block(0, true, 64), bytes(10), 500)), '4.00');
  });

  it('caps transfers and bytes: new ones get 5.03 with Max-Age until the oldest expires', () => {
    const clock = fakeClock();
    const u = new Uploads({ maxEntries: 4, maxBytes: 1000, maxAgeMs: 30_000 }, clock.now);
    for (let n = 0; n < 4; n++) {
      assert.equal(code(u.step(`k${n}`, block(0, true, 64), bytes(64), 500)), 'continue');
      clock.advance(1000);
    }
    const busy = u.step('k4', block(0, true, 64), bytes(64), 500);
    assert.equal(code(busy), '5.03');
    assert.equal(busy.kind === 'refuse' && optValue(busy.options, OPT.MAX_AGE), 26, 'the oldest expires in 26 s');
    assert.equal(code(u.step('k0', block(1, true, 64), bytes(64), 500)), 'continue', 'transfers under way go on');
    clock.advance(26_000);
    assert.equal(code(u.step('k4', block(0, true, 64), bytes(64), 500)), 'continue', 'room again once the oldest aged out');
    assert.equal(code(u.step('k0', block(2, true, 64), bytes(64), 500)), '4.08', 'the aged-out transfer must start again');
    // Bytes: 1000 in all.
    const v = new Uploads({ maxEntries: 100, maxBytes: 1000, maxAgeMs: 30_000 }, clock.now);
    let refused = 0;
    for (let n = 0; n < 40; n++) if (code(v.step(`k${n}`, block(0, true, 64), bytes(64), 500)) === '5.03') refused++;
    assert.equal(v.count, 15);
    assert.ok(v.bytes <= 1000);
    assert.equal(refused, 25);
    assert.equal(code(v.step('k0', block(1, true, 64), bytes(64), 500)), '5.03', 'growing past the byte cap drops the transfer');
    assert.equal(v.count, 14);
  });

  it('age with a fake clock: sweeping frees what a peer abandoned', () => {
    const clock = fakeClock();
    const u = new Uploads({}, clock.now);
    for (let n = 0; n < 10; n++) u.step(`k${n}`, block(0, true, 256), bytes(256), 500);
    assert.deepEqual([u.count, u.bytes], [10, 2560]);
    clock.advance(DEFAULT_UPLOAD_LIMITS.maxAgeMs - 1);
    assert.equal(u.sweep(), 0);
    clock.advance(1);
    assert.equal(u.sweep(), 10);
    assert.deepEqual([u.count, u.bytes], [0, 0]);
  });

  it('block option values: malformed ones are told apart', () => {
    assert.deepEqual(readBlock(blockOption(5, true, 256).value), { num: 5, more: true, size: 256 });
    assert.deepEqual(readBlock(new Uint8Array(0)), { num: 0, more: false, size: 16 });
    assert.match(String(readBlock(Uint8Array.of(7))), /reserved size exponent 7/);
    assert.match(String(readBlock(new Uint8Array(4))), /at most 3/);
  });
});

describe('deploy/coap-blockwise: responses (Block2)', () => {
  const body = Uint8Array.from({ length: 2500 }, (_, i) => i & 0xff);

  it('a body that fits goes whole; a larger one in blocks of 1024, or of the size asked', () => {
    const small = blockOfBody(body.subarray(0, MAX_BLOCK), undefined);
    assert.ok(!('code' in small));
    assert.deepEqual([small.payload.length, small.options.length], [MAX_BLOCK, 0]);
    const first = blockOfBody(body, undefined);
    assert.ok(!('code' in first));
    assert.equal(first.payload.length, 1024);
    assert.equal(optValue(first.options, OPT.BLOCK2), 0 * 16 + 8 + 6);
    assert.equal(optValue(first.options, OPT.SIZE2), 2500);
    const asked = blockOfBody(body, { num: 39, more: false, size: 64 });
    assert.ok(!('code' in asked));
    assert.deepEqual([...asked.payload], [...body.subarray(39 * 64)]);
    assert.equal(optValue(asked.options, OPT.BLOCK2), 39 * 16 + 2, 'the last block: M = 0');
    const past = blockOfBody(body, { num: 40, more: false, size: 64 });
    assert.ok('code' in past && past.code === '4.02');
  });

  it('ETags tell bodies apart; snapshots are bounded and the oldest go first', () => {
    assert.notDeepEqual(etag(body), etag(body.subarray(1)));
    const s = new Snapshots({ maxEntries: 2, maxBytes: 10_000, maxAgeMs: 1000 });
    for (const k of ['a', 'b', 'c']) s.put(k, { code: '2.05', options: [], body });
    assert.deepEqual([s.count, s.bytes, s.get('a')], [2, 5000, undefined]);
    s.put('huge', { code: '2.05', options: [], body: new Uint8Array(20_000) });
    assert.equal(s.get('huge'), undefined, 'a body larger than the store is not kept');
  });
});
