/**
 * The CoAP server (lib/deploy/coap-endpoint.ts) and the device on loopback: a
 * flood of Block1 fragments leaves the held state within its caps (counted through
 * `held()`, not RSS), Block1 to a resource that takes no body is refused, an upload is reassembled
 * for one that does, a large /femto/status comes block-wise to our client and to the `coap`
 * package's client (with or without Block2, Observe too), duplicates run once, and a late answer
 * goes as a separate response. Loopback only.
 */
import { strict as assert } from 'node:assert';
import * as dgram from 'node:dgram';
import * as coap from 'coap';
import { encodeCoap, parseCoap, type CoapOption, type ParsedCoap } from '../../../lib/coap/message';
import { blockOption, coapRequest, fetchBlockwise, FORMAT, OPT, readUint } from '../../../lib/deploy/coap-client';
import { listenCoap, reply, type CoapListener } from '../../../lib/deploy/coap-server';
import { DEFAULT_UPLOAD_LIMITS } from '../../../lib/deploy/coap-blockwise';
import { fitLines, type RemoteDevice } from '../../../lib/device/remote-device';
import { RemoteBoard } from '../../../lib/deploy/remote';
import { truncationMarker } from '../../../lib/board/console';
import { assemble } from '../../../vm/assembler';
import { buildImage } from '../../../vm/image';
import { startDevice } from './util';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const path = (p: string): CoapOption[] => p.split('/').filter(Boolean).map((s) => ({ num: OPT.URI_PATH, value: enc(s) }));
const optValue = (m: ParsedCoap, num: number): number | undefined => {
  const o = m.options.find((x) => x.num === num);
  return o ? readUint(o.value) : undefined;
};
const codeOf = (m: ParsedCoap): string => `${m.code >> 5}.${String(m.code & 31).padStart(2, '0')}`;

/** A raw CoAP peer on loopback: send messages, collect answers by token. */
class Peer {
  private readonly sock = dgram.createSocket('udp4');
  private readonly waiting = new Map<string, (m: ParsedCoap) => void>();
  readonly all: ParsedCoap[] = [];
  private mid = 1;
  private tok = 1;

  async open(): Promise<this> {
    this.sock.on('message', (b) => {
      let m: ParsedCoap;
      try {
        m = parseCoap(new Uint8Array(b));
      } catch {
        return;
      }
      this.all.push(m);
      const k = Buffer.from(m.token).toString('hex');
      if (m.code !== 0) this.waiting.get(k)?.(m);
    });
    await new Promise<void>((r) => this.sock.bind(0, '127.0.0.1', () => r()));
    return this;
  }

  send(port: number, m: { type?: number; code?: number; mid?: number; token?: Uint8Array; options: CoapOption[]; payload?: Uint8Array }): { mid: number; token: Uint8Array } {
    const mid = m.mid ?? (this.mid = (this.mid + 1) & 0xffff);
    const token = m.token ?? Uint8Array.of(0xa0, (this.tok >> 8) & 0xff, this.tok++ & 0xff);
    this.sock.send(encodeCoap({ type: m.type ?? 0, code: m.code ?? 1, messageId: mid, token, options: m.options, payload: m.payload ?? new Uint8Array(0) }), port, '127.0.0.1');
    return { mid, token };
  }

  /** Send and wait for the answer carrying the same token. */
  ask(port: number, m: Parameters<Peer['send']>[1], ms = 3000): Promise<ParsedCoap> {
    return new Promise((resolve, reject) => {
      const { token } = this.send(port, m);
      const k = Buffer.from(token).toString('hex');
      const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      this.waiting.set(k, (a) => {
        clearTimeout(t);
        this.waiting.delete(k);
        resolve(a);
      });
    });
  }

  close(): void {
    this.sock.close();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A container that prints `lines` lines of 60 characters and returns 7 (riot-2022: 200 branches). */
function chattyImage(lines: number): Uint8Array {
  const text = assemble(`
    mov %r6, 0
  next:
    jge %r6, ${lines}, done
    lddwr %r1, 0
    mov %r2, %r6
    call 1
    add %r6, 1
    ja next
  done:
    mov %r0, 7
    exit`);
  return buildImage({ text, rodata: enc('line %04d ' + 'x'.repeat(50) + '\n\0') });
}

describe('deploy/coap-server: bounded block-wise state', function () {
  this.timeout(30_000);
  let dev: RemoteDevice;
  let peer: Peer;
  before(async () => {
    dev = await startDevice();
    peer = await new Peer().open();
  });
  after(async () => {
    peer.close();
    await dev.close();
  });

  it('Block1 to a resource that takes no body: 4.13 with Size1 0, nothing held', async () => {
    for (const [method, p] of [[1, '/femto/status'], [1, '/riot/board'], [2, '/femto/status'], [2, '/nowhere'], [1, '/bpf/exec/0']] as const) {
      const a = await peer.ask(dev.port, { code: method, options: [...path(p), blockOption(0, true, 1024, OPT.BLOCK1)], payload: new Uint8Array(1024) });
      assert.equal(codeOf(a), '4.13', `${method} ${p}`);
      assert.equal(optValue(a, OPT.SIZE1), 0);
    }
    assert.deepEqual([dev.held()!.uploads, dev.held()!.uploadBytes], [0, 0]);
  });

  it('an upload to a resource that takes one is reassembled (a trigger URL in 32 B blocks)', async () => {
    const url = 'coap://127.0.0.1:1/' + 'm'.repeat(70); // nothing listens there: the update fails at fetch
    const body = enc(url);
    let last: ParsedCoap | undefined;
    for (let num = 0; num * 32 < body.length; num++) {
      const more = (num + 1) * 32 < body.length;
      last = await peer.ask(dev.port, { code: 2, options: [...path('/suit/trigger'), blockOption(num, more, 32, OPT.BLOCK1)], payload: body.subarray(num * 32, (num + 1) * 32) });
      assert.equal(codeOf(last), more ? '2.31' : '2.01');
    }
    assert.equal(optValue(last!, OPT.BLOCK1), 2 * 16 + 1, 'the final answer echoes the last block');
    await sleep(10);
    await dev.idle();
    assert.equal((dev.status().update as { url: string }).url, url);
    // Longer than a trigger URL may be: refused at the block that shows it.
    const tooLong = await peer.ask(dev.port, { code: 2, options: [...path('/suit/trigger'), blockOption(4, true, 32, OPT.BLOCK1)], payload: new Uint8Array(32) });
    assert.equal(codeOf(tooLong), '4.13');
    assert.equal(optValue(tooLong, OPT.SIZE1), 127);
  });
  it('a flood of fragments (3,000 datagrams) leaves at most the caps held, then 5.03 with Max-Age', async () => {
    const codes = new Map<string, number>();
    const count = (m: ParsedCoap): void => void codes.set(codeOf(m), (codes.get(codeOf(m)) ?? 0) + 1);
    let maxAge: number | undefined;
    let peak = 0;
    let peakBytes = 0;
    // First blocks of uploads that never finish, each to another slot path (the device takes
    // 512 B there), and 60 KB fragments to resources that take none. In waves, the large ones one
    // at a time, so that loopback UDP buffers keep up.
    for (let wave = 0; wave < 30; wave++) {
      for (let k = 0; k < 5; k++) {
        count(await peer.ask(dev.port, { code: 2, options: [...path('/femto/status'), blockOption(wave * 5 + k, true, 1024, OPT.BLOCK1)], payload: new Uint8Array(60_000) }));
      }
      const answers: Promise<ParsedCoap>[] = [];
      for (let k = 0; k < 95; k++) {
        answers.push(peer.ask(dev.port, { code: 2, options: [...path(`/bpf/exec/${wave * 95 + k}`), blockOption(0, true, 256, OPT.BLOCK1)], payload: new Uint8Array(256) }));
      }
      for (const a of await Promise.all(answers)) {
        count(a);
        if (codeOf(a) === '5.03') maxAge = optValue(a, OPT.MAX_AGE);
      }
      const h = dev.held()!;
      peak = Math.max(peak, h.uploads);
      peakBytes = Math.max(peakBytes, h.uploadBytes);
    }
    assert.ok(peak <= DEFAULT_UPLOAD_LIMITS.maxEntries, `${peak} transfers held`);
    assert.ok(peakBytes <= DEFAULT_UPLOAD_LIMITS.maxBytes, `${peakBytes} B held`);
    assert.equal(codes.get('4.13'), 150, JSON.stringify([...codes]));
    // 16 transfers fit; the rest wait for the oldest to age out (30 s; on a slow machine a few may).
    assert.ok((codes.get('2.31') ?? 0) >= DEFAULT_UPLOAD_LIMITS.maxEntries, JSON.stringify([...codes]));
    assert.ok((codes.get('5.03') ?? 0) >= 2500, JSON.stringify([...codes]));
    assert.equal((codes.get('2.31') ?? 0) + (codes.get('5.03') ?? 0), 2850);
    assert.ok(maxAge !== undefined && maxAge >= 1 && maxAge <= 30, `Max-Age ${maxAge}`);
    const h = dev.held()!;
    assert.ok(h.exchangeBytes <= 1536 * 1024 && h.snapshotBytes === 0, JSON.stringify(h));
    // The device still answers.
    const r = await coapRequest(`${dev.url}/riot/board`);
    assert.equal(Buffer.from(r.payload).toString(), 'nrf52840dk');
  });

});

describe('deploy/coap-server: a large status goes block-wise', function () {
  this.timeout(30_000);
  let dev: RemoteDevice;
  let peer: Peer;
  let status: string;
  before(async () => {
    dev = await startDevice();
    peer = await new Peer().open();
    // Two slots whose last runs printed a lot: a status of several kilobytes.
    for (const slot of [0, 1]) dev.board.install({ id: `slot${slot}`, name: `.ram.${slot}`, image: chattyImage(100), hook: 'coap', path: `/bpf/exec/${slot}` });
    for (const slot of [0, 1]) await coapRequest(`${dev.url}/bpf/exec/${slot}`, { method: 'POST' });
    status = JSON.stringify(dev.status());
  });
  after(async () => {
    peer.close();
    await dev.close();
  });

  it('without Block2: block 0 of 1024 B with Block2, Size2 and ETag (no more 5.00)', async () => {
    assert.ok(status.length > 1152 * 2, `status of ${status.length} B`);
    const a = await peer.ask(dev.port, { options: path('/femto/status') });
    assert.equal(codeOf(a), '2.05');
    assert.equal(a.payload.length, 1024);
    assert.equal(optValue(a, OPT.BLOCK2), 8 + 6, 'block 0, more, 1024 B');
    assert.ok(optValue(a, OPT.SIZE2)! > 2304);
    assert.ok(a.options.some((o) => o.num === OPT.ETAG));
    // Observe made the `coap` package throw "Max packet size" (5.00): now one answer, no Observe.
    const o = await peer.ask(dev.port, { options: [{ num: OPT.OBSERVE, value: new Uint8Array(0) }, ...path('/femto/status')] });
    assert.equal(codeOf(o), '2.05');
    assert.equal(optValue(o, OPT.OBSERVE), undefined);
    assert.equal(o.payload.length, 1024);
  });

  it('our client reads it whole, at the block size it asks, as one snapshot', async () => {
    for (const blockSize of [64, 1024]) {
      const body = await fetchBlockwise(`${dev.url}/femto/status`, { blockSize, sameToken: true });
      const s = JSON.parse(Buffer.from(body).toString()) as { slots: { lastRun: { console: string[] } }[] };
      assert.equal(s.slots[0].lastRun.console.at(-1), truncationMarker(92 * 61, 92), 'the board kept 64 lines, the status 8: 92 lines of 61 B left out');
    }
    const cbor = await fetchBlockwise(`${dev.url}/femto/status`, { blockSize: 256, accept: FORMAT.CBOR });
    assert.ok(cbor.length > 1024);
    assert.equal(dev.held()!.snapshots >= 1, true, 'same-token reads were served from a snapshot');
  });

  it('the `coap` package\'s client reads it whole, with and without asking for blocks', async () => {
    const get = (opts: Record<string, unknown>): Promise<{ code: string; payload: Buffer }> => new Promise((resolve, reject) => {
      const req = coap.request({ hostname: '127.0.0.1', port: dev.port, pathname: '/femto/status', ...opts });
      req.on('response', (res: coap.IncomingMessage) => resolve({ code: res.code, payload: res.payload }));
      req.on('error', reject);
      req.end();
    });
    for (const opts of [{}, { options: { Block2: Buffer.of(0x02) } }]) {
      const r = await get(opts);
      assert.equal(r.code, '2.05');
      const s = JSON.parse(r.payload.toString()) as { device: { board: string }; slots: unknown[] };
      assert.equal(s.device.board, 'nrf52840dk');
      assert.equal(s.slots.length, 2);
    }
  });

  it('the exec JSON reply fits one message: its console is cut with a marker', async () => {
    const run = await new RemoteBoard(dev.url).exec(0);
    assert.equal(run.r0, 7);
    const lines = run.console!;
    assert.match(lines.at(-1)!, /^… truncated \(\d+ bytes \/ \d+ lines dropped\)$/);
    assert.ok(lines.length > 5 && lines.length < 20, `${lines.length} lines`);
    assert.deepEqual(fitLines(['a', 'b', truncationMarker(10, 2)], 4), ['a', truncationMarker(12, 3)], 'markers merge');
    assert.deepEqual(fitLines(['a', 'b'], 100), ['a', 'b']);
  });
});

describe('deploy/coap-server: exchanges', function () {
  this.timeout(20_000);
  let listener: CoapListener;
  let peer: Peer;
  let runs = 0;
  before(async () => {
    listener = await listenCoap((req, res) => {
      runs++;
      if (req.url === '/late') return void setTimeout(() => reply(res, '2.05', 'late answer'), 400);
      if (req.url === '/throw') throw new Error('handler bug');
      reply(res, '2.05', `run ${runs}`);
    }, { piggybackMs: 50 });
    peer = await new Peer().open();
  });
  after(async () => {
    peer.close();
    await listener.close();
  });

  it('a duplicate request runs once and gets the same answer', async () => {
    const before = runs;
    const token = Uint8Array.of(1, 2, 3);
    const a = await peer.ask(listener.port, { mid: 4242, token, options: path('/x') });
    const b = await peer.ask(listener.port, { mid: 4242, token, options: path('/x') });
    assert.equal(runs, before + 1);
    assert.deepEqual(Buffer.from(a.payload), Buffer.from(b.payload));
    assert.equal(a.messageId, 4242);
  });

  it('a late answer: an empty ACK first, then a separate response our client takes', async () => {
    const r = await coapRequest(`coap://127.0.0.1:${listener.port}/late`, { ackTimeoutMs: 100 });
    assert.equal(Buffer.from(r.payload).toString(), 'late answer');
  });

  it('a handler that throws answers 5.00 without a stack; a ping gets a reset', async () => {
    const a = await peer.ask(listener.port, { options: path('/throw') });
    assert.equal(codeOf(a), '5.00');
    assert.equal(Buffer.from(a.payload).toString(), 'internal error: handler bug');
    const n = peer.all.length;
    peer.send(listener.port, { code: 0, token: new Uint8Array(0), options: [] });
    for (let i = 0; i < 100 && peer.all.length === n; i++) await sleep(10);
    assert.equal(peer.all.at(-1)?.type, 3);
  });

  it('an abandoned upload ages out on the server clock', async () => {
    let now = 0;
    const l = await listenCoap(() => undefined, { maxUpload: () => 1000, now: () => now });
    try {
      const a = await peer.ask(l.port, { code: 2, options: [...path('/up'), blockOption(0, true, 64, OPT.BLOCK1)], payload: new Uint8Array(64) });
      assert.equal(codeOf(a), '2.31');
      assert.deepEqual([l.held().uploads, l.held().uploadBytes], [1, 64]);
      now += DEFAULT_UPLOAD_LIMITS.maxAgeMs;
      const b = await peer.ask(l.port, { code: 2, options: [...path('/up'), blockOption(1, true, 64, OPT.BLOCK1)], payload: new Uint8Array(64) });
      assert.equal(codeOf(b), '4.08');
      assert.deepEqual([l.held().uploads, l.held().uploadBytes], [0, 0]);
    } finally {
      await l.close();
    }
  });
});
