/**
 * Over-the-network deployment end to end on loopback: the CoAP transport (block-wise, progress,
 * limits, down vs. not answering), a remote device (lib/device/remote-device.ts) updated through its
 * /suit/trigger endpoint by `deploy()` or by hand-made (tampered) manifests, and its state across
 * restarts. Every refusal must name its check and leave the previous image installed and running.
 */
import * as assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { coapCall, coapRequest, CoapError, fetchBlockwise, FORMAT } from '../../../lib/deploy/coap-client';
import { CoapFileServer, listenCoap, reply, type BlockEvent } from '../../../lib/deploy/coap-server';
import { RemoteBoard } from '../../../lib/deploy/remote';
import { deploy, readStatus, type DeployProgress } from '../../../lib/deploy/deploy';
import { classIdFor, vendorIdFor } from '../../../lib/deploy/ids';
import { generateKeyPair } from '../../../lib/deploy/keys';
import { createEnvelope, parseEnvelope, type ManifestSpec } from '../../../lib/deploy/manifest';
import { fmtS32Dfp, parseS32Dfp } from '../../../lib/deploy/protocol';
import { STATE_FILE } from '../../../lib/device/state';
import type { RemoteDevice } from '../../../lib/device/remote-device';
import { assemble } from '../../../vm/assembler';
import { buildImage } from '../../../vm/image';
import { imageReturning, push, startDevice, tmpDir } from './util';

const kp = generateKeyPair();
const FAST = { ackTimeoutMs: 100, timeoutMs: 600 };

async function exec(dev: RemoteDevice, slot = 0): Promise<string> {
  const r = await coapCall(`${dev.url}/bpf/exec/${slot}`, { method: 'POST' });
  assert.equal(r.code, '2.04');
  return Buffer.from(r.payload).toString('utf8');
}

function spec(dev: RemoteDevice, image: Uint8Array, seq: number, uri: string, slot = 0): ManifestSpec {
  return { seq, slot, vendorId: dev.vendorId, classId: dev.classId, image, uri };
}

describe('deploy: CoAP transport', function () {
  this.timeout(10_000);
  let server: CoapFileServer;
  before(async () => {
    server = new CoapFileServer();
    await server.listen();
  });
  after(() => server.close());

  it('fetches block-wise (64 B blocks as RIOT), reporting each block on both sides', async () => {
    const body = new Uint8Array(2000).map((_, i) => (i * 7) & 0xff);
    server.put('f', body);
    const served: BlockEvent[] = [];
    const onBlock = (e: BlockEvent): void => void served.push(e);
    server.on('block', onBlock);
    const seen: number[] = [];
    const got = await fetchBlockwise(server.url('f'), { blockSize: 64, onBlock: (p) => seen.push(p.num) });
    server.off('block', onBlock);
    assert.deepEqual(Buffer.from(got), Buffer.from(body));
    assert.equal(seen.length, 32);
    assert.deepEqual(served.map((e) => e.block), Array.from({ length: 32 }, (_, i) => i + 1));
    assert.ok(served.every((e) => e.blocks === 32 && e.blockSize === 64));
    const big = await fetchBlockwise(server.url('f'), { blockSize: 1024 });
    assert.equal(big.length, 2000);
  });

  it('stops at maxBytes while blocks arrive, and reports error codes with the server\'s text', async () => {
    server.put('big', new Uint8Array(4096));
    await assert.rejects(fetchBlockwise(server.url('big'), { blockSize: 64, maxBytes: 1000 }), (e: CoapError) => e.kind === 'too-large');
    await assert.rejects(coapCall(server.url('none')), (e: CoapError) => e.kind === 'response' && e.code === '4.04' && /no file \/none/.test(e.message));
  });

  it('tells a device that is down (port closed) from one that does not answer (timeout)', async () => {
    const closed = new CoapFileServer();
    await closed.listen();
    const port = closed.port;
    await closed.close();
    const t0 = Date.now();
    await assert.rejects(coapCall(`coap://127.0.0.1:${port}/x`, FAST), (e: CoapError) => e.kind === 'down' && /device down/.test(e.message));
    assert.ok(Date.now() - t0 < 500, 'down is detected at once (ICMP port unreachable)');
    const mute = dgram.createSocket('udp4');
    await new Promise<void>((r) => mute.bind(0, '127.0.0.1', () => r()));
    try {
      const t1 = Date.now();
      await assert.rejects(coapCall(`coap://127.0.0.1:${mute.address().port}/x`, FAST), (e: CoapError) => e.kind === 'timeout' && /not answering/.test(e.message));
      assert.ok(Date.now() - t1 >= 550);
    } finally {
      mute.close();
    }
  });

  it('RIOT number format of /bpf/exec results', () => {
    assert.equal(fmtS32Dfp(2225, -2), '22.25');
    assert.equal(fmtS32Dfp(-1, -2), '-0.01');
    assert.equal(fmtS32Dfp(5, -2), '0.05');
    assert.equal(fmtS32Dfp(-12345, -2), '-123.45');
    assert.equal(parseS32Dfp('-123.45', -2), -12345);
    assert.equal(parseS32Dfp('0.05', -2), 5);
  });
});

describe('deploy: remote device', function () {
  this.timeout(20_000);
  let dev: RemoteDevice;
  beforeEach(async () => {
    dev = await startDevice({ trustedKeys: [kp.publicKey] });
  });
  afterEach(() => dev.close());

  it('answers RIOT\'s endpoints: /riot/board, /suit/version, /.well-known/core, errors', async () => {
    assert.equal(Buffer.from((await coapCall(`${dev.url}/riot/board`)).payload).toString(), 'nrf52840dk');
    assert.equal(Buffer.from((await coapCall(`${dev.url}/suit/version`)).payload).toString(), 'NONE');
    assert.match(Buffer.from((await coapCall(`${dev.url}/.well-known/core`)).payload).toString(), /<\/bpf\/exec\/1>/);
    assert.equal((await coapRequest(`${dev.url}/bpf/exec/0`, { method: 'POST' })).code, '4.04', 'empty slot');
    assert.equal((await coapRequest(`${dev.url}/bpf/exec/7`, { method: 'POST' })).code, '4.04', 'no such slot');
    assert.equal((await coapRequest(`${dev.url}/suit/trigger`, { method: 'POST' })).code, '4.08', 'no URL (RIOT: 4.08)');
    assert.equal((await coapRequest(`${dev.url}/suit/trigger`, { method: 'POST', payload: 'coap://x/' + 'a'.repeat(130) })).code, '4.13', 'URL too long (RIOT: 4.13)');
    assert.equal((await coapRequest(`${dev.url}/nope`)).code, '4.04');
  });

  it('happy path: deploy() installs, progress is reported, /bpf/exec runs it (RIOT\'s "22.25")', async () => {
    const progress: DeployProgress[] = [];
    const image = imageReturning(2225);
    const [o] = await deploy({ image, key: kp, targets: [dev.url], slot: 0, timing: FAST, onProgress: (p) => progress.push(p) });
    assert.equal(o.ok, true, JSON.stringify(o));
    assert.equal(o.seq, 1, 'current seq + 1');
    assert.equal(o.state, 'installed');
    const phases = progress.map((p) => p.phase);
    for (const ph of ['probing', 'triggered', 'fetching', 'verifying', 'installed'] as const) assert.ok(phases.includes(ph), `phase ${ph} in ${phases.join(',')}`);
    const blocks = progress.filter((p) => p.phase === 'fetching');
    assert.equal(blocks.at(-1)!.message, `fetching block ${Math.ceil(image.length / 64)}/${Math.ceil(image.length / 64)}`);
    assert.equal(progress.at(-1)!.message, 'installed seq 1');
    assert.equal(await exec(dev), '22.25');
    const j = await coapCall(`${dev.url}/bpf/exec/0`, { method: 'POST', accept: FORMAT.JSON });
    const run = JSON.parse(Buffer.from(j.payload).toString()) as { r0: number; status: string; insns: number };
    assert.deepEqual([run.r0, run.status, run.insns], [2225, 'exit', 2]);
    const st = (await readStatus(dev.url)) as { seq: number; slots: { installed: boolean; seq: number; runs: number }[]; counters: { installed: number } };
    assert.equal(st.seq, 1);
    assert.equal(st.slots[0].installed, true);
    assert.equal(st.slots[0].seq, 1);
    assert.equal(st.slots[0].runs, 2);
    assert.equal(st.counters.installed, 1);
    // A second deploy to the other slot needs (and gets) the next number: one counter per device.
    const [o2] = await deploy({ image: imageReturning(-1), key: kp, targets: [dev.url], slot: 1, timing: FAST });
    assert.equal(o2.ok, true);
    assert.equal(o2.seq, 2);
    assert.equal(await exec(dev, 1), '-0.01');
    assert.equal(await exec(dev, 0), '22.25');
  });

  it('tampered image: the digest check refuses it, the previous image keeps running', async () => {
    await deploy({ image: imageReturning(1), key: kp, targets: [dev.url], slot: 0, timing: FAST });
    const fsrv = new CoapFileServer();
    await fsrv.listen();
    try {
      const good = imageReturning(2);
      const evil = imageReturning(3);
      const env = createEnvelope(spec(dev, good, 2, fsrv.url('img')), kp.secretKey);
      const u = await push(dev, env, evil, fsrv);
      assert.equal(u.state, 'failed');
      assert.equal(u.check, 'digest');
      assert.equal(await exec(dev), '0.01');
      assert.equal(dev.seq, 1, 'the sequence number is not consumed by a refused update');
      // The same manifest with the right image installs.
      const ok = await push(dev, env, good, fsrv);
      assert.equal(ok.state, 'installed');
      assert.equal(await exec(dev), '0.02');
    } finally {
      await fsrv.close();
    }
  });

  it('tampered manifest: the signature check refuses it', async () => {
    const fsrv = new CoapFileServer();
    await fsrv.listen();
    try {
      const image = imageReturning(9);
      const env = createEnvelope(spec(dev, image, 1, fsrv.url('img')), kp.secretKey);
      const tampered = env.slice();
      const at = Buffer.from(tampered).indexOf(Buffer.from('img'));
      tampered[at] = 'x'.charCodeAt(0); // the image URI now points elsewhere
      const u = await push(dev, tampered, image, fsrv);
      assert.equal(u.check, 'signature');
      assert.match(u.message!, /changed after signing/);
      assert.equal((await coapRequest(`${dev.url}/bpf/exec/0`, { method: 'POST' })).code, '4.04', 'nothing installed');
    } finally {
      await fsrv.close();
    }
  });

  it('wrong key: refused with "signature"; deploy() reports it as rejected', async () => {
    const [o] = await deploy({ image: imageReturning(1), key: generateKeyPair(), targets: [dev.url], slot: 0, timing: FAST });
    assert.equal(o.ok, false);
    assert.deepEqual([o.error!.kind, o.error!.check], ['rejected', 'signature']);
    assert.match(o.error!.message, /does not verify with the trusted key/);
  });

  it('replayed or lower sequence number: refused with "sequence"', async () => {
    const [a] = await deploy({ image: imageReturning(1), key: kp, targets: [dev.url], slot: 0, seq: 10, timing: FAST });
    assert.equal(a.ok, true);
    const [replay] = await deploy({ image: imageReturning(2), key: kp, targets: [dev.url], slot: 0, seq: 10, timing: FAST });
    assert.deepEqual([replay.error!.kind, replay.error!.check], ['rejected', 'sequence']);
    assert.match(replay.error!.message, /replayed/);
    const [lower] = await deploy({ image: imageReturning(3), key: kp, targets: [dev.url], slot: 1, seq: 4, timing: FAST });
    assert.equal(lower.error!.check, 'sequence');
    assert.match(lower.error!.message, /rollback/);
    assert.equal(await exec(dev), '0.01');
  });

  it('truncated transfer: a server that ends early, and one that stops answering', async () => {
    await deploy({ image: imageReturning(1), key: kp, targets: [dev.url], slot: 0, timing: FAST });
    const fsrv = new CoapFileServer();
    await fsrv.listen();
    try {
      const image = imageReturning(5, 512);
      const env = createEnvelope(spec(dev, image, 2, fsrv.url('img')), kp.secretKey);
      const early = await push(dev, env, image.subarray(0, 300), fsrv);
      assert.equal(early.check, 'fetch');
      assert.match(early.message!, /ended after 300 of \d+ B \(truncated\)/);
      const stalled = await push(dev, env, (req) => ((req.block?.num ?? 0) >= 3 ? null : image), fsrv);
      assert.equal(stalled.check, 'fetch');
      assert.match(stalled.message!, /block 3 not answered .* after 192 B/);
      assert.equal(await exec(dev), '0.01', 'the old image still runs');
      const longer = new Uint8Array(image.length + 64);
      longer.set(image);
      const tooMuch = await push(dev, env, longer, fsrv);
      assert.equal(tooMuch.check, 'size', 'a byte beyond the manifest\'s size is refused');
    } finally {
      await fsrv.close();
    }
  });

  it('device down or not answering: deploy() fails in bounded time with a clear error', async () => {
    const gone = await startDevice({ trustedKeys: [kp.publicKey] });
    const goneUrl = gone.url;
    await gone.close();
    const mute = dgram.createSocket('udp4');
    await new Promise<void>((r) => mute.bind(0, '127.0.0.1', () => r()));
    try {
      const t0 = Date.now();
      const [down, silent, ok] = await deploy({
        image: imageReturning(1), key: kp, slot: 0, timing: FAST, timeoutMs: 3000,
        targets: [goneUrl, `coap://127.0.0.1:${mute.address().port}`, dev.url],
      });
      assert.deepEqual(down.error?.kind, 'down');
      assert.match(down.error!.message, /device down/);
      assert.equal(silent.error?.kind, 'timeout');
      assert.match(silent.error!.message, /not answering/);
      assert.equal(ok.ok, true, 'the other boards are updated regardless');
      assert.ok(Date.now() - t0 < 3500, 'bounded by the 3 s deadline (the probe is retried until then)');
    } finally {
      mute.close();
    }
  });

  it('oversized image: refused with "size" before anything is fetched', async () => {
    const [o] = await deploy({ image: imageReturning(1, 2100), key: kp, targets: [dev.url], slot: 0, timing: FAST });
    assert.deepEqual([o.error!.kind, o.error!.check], ['rejected', 'size']);
    assert.match(o.error!.message, /does not fit the 2048 B slot \.ram\.0/);
    assert.equal(dev.status().slots && (dev.status().update as { block?: number }).block, undefined, 'no image block was fetched');
  });

  it('image the device\'s verifier rejects: refused with "verifier", old image stays', async () => {
    await deploy({ image: imageReturning(1), key: kp, targets: [dev.url], slot: 0, timing: FAST });
    // ALU32 is not in RIOT 2022's instruction set (riot-2022 profile of the nRF52840 board).
    const alu32 = buildImage({ text: assemble('mov32 %r0, 1\nexit') });
    const [o] = await deploy({ image: alu32, key: kp, targets: [dev.url], slot: 0, timing: FAST });
    assert.deepEqual([o.error!.kind, o.error!.check], ['rejected', 'verifier']);
    const badJump = buildImage({ text: assemble('ja +5\nexit') });
    const [o2] = await deploy({ image: badJump, key: kp, targets: [dev.url], slot: 0, timing: FAST });
    assert.equal(o2.error!.check, 'verifier');
    assert.match(o2.error!.message, /jump/);
    const badHeader = imageReturning(1).slice();
    badHeader[20] = 0xff; // text_len no longer fits the file
    const [o3] = await deploy({ image: badHeader, key: kp, targets: [dev.url], slot: 0, timing: FAST });
    assert.equal(o3.error?.check, 'image', JSON.stringify(o3.error));
    assert.equal(await exec(dev), '0.01');
    const st = dev.status() as { counters: { failedBy: Record<string, number> } };
    assert.equal(st.counters.failedBy.verifier, 2);
  });

  it('refuses while busy (5.03) and reports vendor/class mismatches', async () => {
    const fsrv = new CoapFileServer();
    await fsrv.listen();
    try {
      const image = imageReturning(4, 256);
      fsrv.put('slow', (req) => ((req.block?.num ?? 0) >= 1 ? null : image));
      const env = createEnvelope(spec(dev, image, 1, fsrv.url('slow')), kp.secretKey);
      fsrv.put('m', env);
      assert.equal((await coapRequest(`${dev.url}/suit/trigger`, { method: 'POST', payload: fsrv.url('m') })).code, '2.01');
      assert.equal((await coapRequest(`${dev.url}/suit/trigger`, { method: 'POST', payload: fsrv.url('m') })).code, '5.03');
      await dev.idle();
      assert.equal((dev.status().update as { check: string }).check, 'fetch');
      const vendor = await push(dev, createEnvelope({ ...spec(dev, image, 1, fsrv.url('img')), vendorId: vendorIdFor('example.com') }, kp.secretKey), image, fsrv);
      assert.equal(vendor.check, 'vendor');
      const cls = await push(dev, createEnvelope({ ...spec(dev, image, 1, fsrv.url('img')), classId: classIdFor('native') }, kp.secretKey), image, fsrv);
      assert.equal(cls.check, 'class');
    } finally {
      await fsrv.close();
    }
  });
});

describe('deploy: RemoteBoard client', function () {
  this.timeout(10_000);

  it('runs slots on our devices (JSON run report) and on RIOT boards (text result)', async () => {
    const dev = await startDevice({ trustedKeys: [kp.publicKey] });
    try {
      const rb = new RemoteBoard(dev.url + '/ignored/path', FAST);
      assert.equal(rb.url, dev.url);
      assert.equal(await rb.board(), 'nrf52840dk');
      const o = await rb.deploy({ image: imageReturning(-7), key: kp, slot: 0 });
      assert.equal(o.ok, true);
      const run = await rb.exec(0);
      assert.deepEqual([run.status, run.r0, run.insns], ['exit', -7, 2]);
      assert.equal(((await rb.status()) as { seq: number }).seq, 1);
      await assert.rejects(rb.exec(1), (e: CoapError) => e.kind === 'response' && e.code === '4.04' && /empty/.test(e.message));
    } finally {
      await dev.close();
    }
    // A RIOT board: text only, no status resource.
    const riot = await listenCoap((req, res) => {
      if (req.url === '/bpf/exec/0') return reply(res, '2.04', '-12.34', 'text/plain');
      if (req.url === '/riot/board') return reply(res, '2.05', 'nrf52840dk', 'text/plain');
      if (req.url === '/suit/trigger') {
        // Like RIOT: 2.01, then fetch the manifest and the image it names (no status to report).
        void (async () => {
          const env = await fetchBlockwise(Buffer.from(req.payload).toString());
          await fetchBlockwise(parseEnvelope(env).manifest.uri);
        })();
        return reply(res, '2.01');
      }
      return reply(res, '4.04');
    });
    try {
      const rb = new RemoteBoard(`coap://127.0.0.1:${riot.port}`, FAST);
      assert.deepEqual(await rb.exec(0), { slot: 0, status: 'unknown', r0: -1234, riotText: '-12.34' });
      assert.equal(await rb.status(), undefined);
      // deploy() to a board without status: it fetches, but the install cannot be confirmed.
      const [o] = await deploy({ image: imageReturning(1), key: kp, targets: [rb.url], slot: 0, timing: FAST, timeoutMs: 3000 });
      assert.equal(o.error?.kind, 'unconfirmed', JSON.stringify(o.error));
      assert.match(o.error!.message, /fetched the image but has no status resource/);
      assert.ok(o.seq! > 1_600_000_000, 'no status: the sequence number is the Unix time, as RIOT\'s build system does');
    } finally {
      await riot.close();
    }
  });
});

describe('deploy: device state across restarts', function () {
  this.timeout(20_000);

  it('--state keeps installed images, sequence numbers and the trusted key; writes atomically', async () => {
    const dir = tmpDir('state');
    let dev = await startDevice({ trustedKeys: [kp.publicKey], stateDir: dir });
    try {
      const [o] = await deploy({ image: imageReturning(4242), key: kp, targets: [dev.url], slot: 1, seq: 7, timing: FAST });
      assert.equal(o.ok, true);
      assert.deepEqual(fs.readdirSync(dir), [STATE_FILE], 'no temporary file left behind');
    } finally {
      await dev.close();
    }
    dev = await startDevice({ stateDir: dir }); // no key given: the remembered one is used
    try {
      assert.equal(dev.seq, 7);
      assert.equal(await exec(dev, 1), '42.42');
      const st = dev.status() as { slots: { seq: number | null }[] };
      assert.equal(st.slots[1].seq, 7);
      const [replay] = await deploy({ image: imageReturning(1), key: kp, targets: [dev.url], slot: 0, seq: 7, timing: FAST });
      assert.equal(replay.error?.check, 'sequence', 'the anti-rollback counter survived the restart');
      const [next] = await deploy({ image: imageReturning(1), key: kp, targets: [dev.url], slot: 0, timing: FAST });
      assert.equal(next.seq, 8);
    } finally {
      await dev.close();
    }
    // A corrupted slot is dropped with a warning, never installed.
    const file = path.join(dir, STATE_FILE);
    const j = JSON.parse(fs.readFileSync(file, 'utf8'));
    j.slots['1'].image = Buffer.from(imageReturning(666)).toString('base64');
    fs.writeFileSync(file, JSON.stringify(j));
    const lines: string[] = [];
    dev = await startDevice({ stateDir: dir, log: (l) => lines.push(l) });
    try {
      assert.equal((await coapRequest(`${dev.url}/bpf/exec/1`, { method: 'POST' })).code, '4.04');
      assert.equal(await exec(dev, 0), '0.01');
      assert.ok(lines.some((l) => /slot 1: stored image does not match/.test(l)), lines.join('\n'));
    } finally {
      await dev.close();
    }
  });
});
