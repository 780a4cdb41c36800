/**
 * Deployment as a user runs it: `femto device` processes on loopback, the keygen / sign / deploy
 * commands (lib/cli/*), a restart of a device process with --state, and a fleet of 50 device
 * processes updated in parallel by one deploy() call, all reporting the new sequence number.
 * Device processes run the registered `femto device` command when lib/cli/main.ts has it, else
 * the stand-in test/lib/deploy/device-main.ts (see util.ts).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deployCommand } from '../../../lib/cli/deploy';
import { keygenCommand } from '../../../lib/cli/keygen';
import { signCommand } from '../../../lib/cli/sign';
import { deviceCommand } from '../../../lib/cli/device';
import { exitCodeFor, messageFor } from '../../../lib/cli/io';
import { deploy, readStatus } from '../../../lib/deploy/deploy';
import { readPrivateKey } from '../../../lib/deploy/keys';
import { parseEnvelope } from '../../../lib/deploy/manifest';
import type { RemoteDevice } from '../../../lib/device/remote-device';
import { captureIo, imageReturning, spawnDevice, tmpDir, type DeviceProcess } from './util';
import { note } from '../../util/note';

/** Run a CLI command function as main.ts would: errors become a message and an exit code. */
async function cli(fn: (argv: string[], io: ReturnType<typeof captureIo>) => Promise<number>, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  let code: number;
  try {
    code = await fn(argv, io);
  } catch (e) {
    io.err(messageFor(e));
    code = exitCodeFor(e);
  }
  return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
}

describe('deploy: femto keygen / sign / deploy / device', function () {
  this.timeout(30_000);
  let dir: string;
  let keyFile: string;
  let pubFile: string;
  let imageFile: string;

  before(async () => {
    dir = tmpDir('cli');
    const r = await cli(keygenCommand, ['-o', path.join(dir, 'fleet')]);
    assert.equal(r.code, 0, r.err);
    keyFile = path.join(dir, 'fleet.key');
    pubFile = path.join(dir, 'fleet.pub');
    assert.match(r.out, /fingerprint: [0-9a-f]{16}/);
    assert.match(r.out, /public_key\.h: \{ 0x/);
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    imageFile = path.join(dir, 'answer.bin');
    fs.writeFileSync(imageFile, imageReturning(4200));
  });

  it('keygen refuses to overwrite, and needs -o', async () => {
    const again = await cli(keygenCommand, ['-o', path.join(dir, 'fleet')]);
    assert.equal(again.code, 2);
    assert.match(again.err, /exists already/);
    assert.equal((await cli(keygenCommand, [])).code, 2);
  });

  it('sign writes a manifest RIOT can parse; bad input is exit 2 with one line', async () => {
    const out = path.join(dir, 'm.suit');
    const r = await cli(signCommand, [imageFile, '--seq', '3', '--slot', '1', '--key', keyFile, '-o', out, '--uri', 'coap://[2001:db8::1]/answer.bin']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /seq 3, \.ram\.1/);
    const m = parseEnvelope(new Uint8Array(fs.readFileSync(out))).manifest;
    assert.deepEqual([m.seq, m.location, m.uri, m.size], [3, '.ram.1', 'coap://[2001:db8::1]/answer.bin', fs.statSync(imageFile).size]);
    const j = await cli(signCommand, [imageFile, '--seq', '4', '--key', keyFile, '-o', path.join(dir, 'j.suit'), '--board', 'native', '--json']);
    assert.equal(JSON.parse(j.out).classId, 'bcc90984-fe7d-562b-b4c9-a24f26a3a9cd');
    // An assembly program is turned into an image first; --image-out writes the bytes signed.
    fs.writeFileSync(path.join(dir, 'p.s'), 'mov %r0, 5\nexit\n');
    const a = await cli(signCommand, [path.join(dir, 'p.s'), '--seq', '1', '--key', keyFile, '--image-out', path.join(dir, 'p.bin')]);
    assert.equal(a.code, 0, a.err);
    assert.equal(parseEnvelope(new Uint8Array(fs.readFileSync(path.join(dir, 'p.suit')))).manifest.size, fs.statSync(path.join(dir, 'p.bin')).size);
    for (const bad of [
      [imageFile, '--key', keyFile],
      [imageFile, '--seq', '1'],
      [imageFile, '--seq', '-1', '--key', keyFile],
      [imageFile, '--seq', '1', '--key', pubFile],
      [imageFile, '--seq', '1', '--key', path.join(dir, 'none.key')],
      [path.join(dir, 'none.bin'), '--seq', '1', '--key', keyFile],
      [imageFile, '--seq', '1', '--key', keyFile, '--board', 'x', '--class-id', '00'],
    ]) {
      const b = await cli(signCommand, bad);
      assert.equal(b.code, 2, `${bad.join(' ')}: ${b.err}`);
      assert.equal(b.err.split('\n').length, 1);
      assert.doesNotMatch(b.err, /internal error|at .*\.js/);
    }
  });

  it('deploy to device processes: exit 0 installed, 1 refused or down, 2 bad input', async () => {
    const d = await spawnDevice(['--key', pubFile, '--quiet']);
    try {
      const r = await cli(deployCommand, [imageFile, '--to', d.url, '--slot', '0', '--key', keyFile]);
      assert.equal(r.code, 0, r.out + r.err);
      assert.match(r.out, new RegExp(`^${d.url.replace(/[.]/g, '\\.')}: installed \\.ram\\.0 seq 1 in \\d+ ms$`));
      assert.match(r.err, /fetching block \d+\/\d+/);
      const replay = await cli(deployCommand, [imageFile, '--to', d.url, '--key', keyFile, '--seq', '1', '--json']);
      assert.equal(replay.code, 1);
      assert.equal(JSON.parse(replay.out)[0].error.check, 'sequence');
      const closed = await spawnDevice([]);
      await closed.stop();
      const down = await cli(deployCommand, [imageFile, '--to', closed.url, '--key', keyFile, '--quiet', '--timeout', '5']);
      assert.equal(down.code, 1);
      assert.match(down.out, /: down: .*device down/);
      assert.equal((await cli(deployCommand, [imageFile, '--key', keyFile])).code, 2);
      assert.equal((await cli(deployCommand, [imageFile, '--to', 'http://x', '--key', keyFile])).code, 2);
      assert.equal((await cli(deployCommand, [imageFile, '--to', 'coap://10.1.2.3:5683', '--key', keyFile])).code, 2, 'a remote board needs --host');
    } finally {
      await d.stop();
    }
  });

  it('a device process restarted with --state keeps its image and sequence number', async () => {
    const state = path.join(dir, 'state');
    let d: DeviceProcess = await spawnDevice(['--key', pubFile, '--state', state, '--profile', 'native']);
    try {
      const [o] = await deploy({ image: imageReturning(777), key: readPrivateKey(keyFile), targets: [d.url], slot: 3, seq: 41 });
      assert.equal(o.ok, true, JSON.stringify(o));
    } finally {
      assert.equal(await d.stop(), 0, 'SIGTERM stops the device cleanly (exit 0)');
    }
    d = await spawnDevice(['--state', state, '--profile', 'native']);
    try {
      assert.match(d.output.join('\n'), /restored \.ram\.3 \(seq 41/);
      const s = (await readStatus(d.url)) as { seq: number; slots: { installed: boolean; seq: number }[]; device: { board: string } };
      assert.equal(s.seq, 41);
      assert.equal(s.device.board, 'native');
      assert.deepEqual([s.slots[3].installed, s.slots[3].seq], [true, 41]);
    } finally {
      await d.stop();
    }
  });

  it('deviceCommand runs in-process too (signal to stop) and refuses a busy port', async () => {
    const ac = new AbortController();
    let dev: RemoteDevice | undefined;
    const io = captureIo();
    const running = deviceCommand(['--port', '0', '--key', pubFile], io, { signal: ac.signal, onReady: (d) => (dev = d) });
    while (!dev) await new Promise((r) => setTimeout(r, 5));
    const busy = await cli(deviceCommand, ['--port', String(dev.port)]);
    assert.equal(busy.code, 2);
    assert.match(busy.err, /port \d+ is in use/);
    assert.equal((await cli(deviceCommand, ['--profile', 'nope'])).code, 2);
    ac.abort();
    assert.equal(await running, 0);
    assert.match(io.stdout.find((l) => l.startsWith('femto device:')) ?? '', /^femto device: nrf52840dk listening on coap:\/\/127\.0\.0\.1:\d+ \(seq 0, 1 trusted key\)/);
  });
});

describe('deploy: a fleet of 50 device processes', function () {
  this.timeout(60_000);
  const N = 50;
  let devices: DeviceProcess[] = [];
  let dir: string;

  before(async () => {
    dir = tmpDir('fleet');
    const r = await cli(keygenCommand, ['-o', path.join(dir, 'k')]);
    assert.equal(r.code, 0);
    // Keep every process that did start, so after() stops them even when one fails to: a
    // process left running would keep mocha (and CI) waiting forever.
    const started = await Promise.allSettled(Array.from({ length: N }, () => spawnDevice(['--key', path.join(dir, 'k.pub'), '--quiet'], 40_000)));
    devices = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  });

  after(async () => {
    await Promise.all(devices.map((d) => d.stop()));
  });

  it('updates all 50 in parallel from one deploy() call; each reports the new sequence number', async () => {
    const key = readPrivateKey(path.join(dir, 'k.key'));
    const image = imageReturning(50, 2048 - 60); // about 2 KiB, 32 blocks of 64 B each
    assert.ok(image.length <= 2048 && image.length > 1900, `${image.length} B`);
    const phases = new Map<string, Set<string>>();
    const t0 = Date.now();
    const outcomes = await deploy({
      image, key, targets: devices.map((d) => d.url), slot: 0, seq: 100, timeoutMs: 40_000,
      onProgress: (p) => {
        if (!phases.has(p.target)) phases.set(p.target, new Set());
        phases.get(p.target)!.add(p.phase);
      },
    });
    const ms = Date.now() - t0;
    const failed = outcomes.filter((o) => !o.ok);
    assert.equal(failed.length, 0, JSON.stringify(failed.slice(0, 3)));
    assert.deepEqual(outcomes.map((o) => o.target), devices.map((d) => d.url), 'one outcome per target, in order');
    for (const [t, ph] of phases) assert.ok(ph.has('fetching') && ph.has('installed'), `${t}: ${[...ph].join(',')}`);
    const statuses = await Promise.all(devices.map((d) => readStatus(d.url)));
    for (const s of statuses) {
      const st = s as { seq: number; slots: { seq: number; installed: boolean }[] };
      assert.equal(st.seq, 100);
      assert.deepEqual([st.slots[0].installed, st.slots[0].seq], [true, 100]);
    }
    // And a second round with automatic sequence numbers: every board moves to 101.
    const again = await deploy({ image: imageReturning(51), key, targets: devices.map((d) => d.url), slot: 1, timeoutMs: 40_000 });
    assert.deepEqual([...new Set(again.map((o) => `${o.ok}:${o.seq}`))], ['true:101']);
    note(`      (50 boards: ${ms} ms for a ${image.length} B image)`);
  });
});
