/**
 * Deployment under faults: real `femto device` processes (dist/lib/cli/main.js) with
 * --state folders, updated by deploy() through lossy, duplicating, reordering UDP proxies on
 * loopback (test/hardening/lossy-proxy.ts) — one between host and device (trigger, status polls),
 * one between device and the host's file server (manifest and image blocks) — and devices killed
 * with SIGKILL in the middle of a transfer.
 *
 * Properties:
 *  - every deployment ends, within its deadline plus a little, either installed or with a clear
 *    reason (kind + message; a refusal names the failed check);
 *  - no half-installed image ever runs: /bpf/exec (asked directly, around the proxies, every few
 *    ms during the update) answers only the previous image's or the new image's result, and once
 *    the new one answered, never the previous one again; after every deployment the running image
 *    is the one the device reports in its slot;
 *  - a device killed mid-transfer, restarted on its --state folder, runs the previous image, its
 *    state file loads without a warning and holds exactly the previous image; a retry succeeds.
 *
 * Figures (success rate and time per loss setting) are printed at the end of the first suite.
 */
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { coapCall, FORMAT } from '../../lib/deploy/coap-client';
import { CoapFileServer } from '../../lib/deploy/coap-server';
import { deploy, readStatus, type DeployOutcome } from '../../lib/deploy/deploy';
import { generateKeyPair, publicKeyPem } from '../../lib/deploy/keys';
import { loadState, STATE_FILE } from '../../lib/device/state';
import { imageReturning, spawnDevice, tmpDir, type DeviceProcess } from '../lib/deploy/util';
import { LossyProxy, seededRandom, type FaultRates } from './lossy-proxy';
import { note } from '../util/note';

const kp = generateKeyPair();
const KEY_FILE = path.join(tmpDir('key'), 'trusted.pub');
fs.writeFileSync(KEY_FILE, publicKeyPem(kp.publicKey));
/** Host-side deadline of one deployment. */
const DEPLOY_TIMEOUT_MS = 20_000;
/** Slack allowed beyond the deadline for the outcome to come back. */
const SLACK_MS = 2_500;
/** Images with some rodata so the image takes several 64 B blocks (RIOT's block size). */
const RODATA = 200;

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** The host's file server, announcing the proxy's address in manifests and triggers. */
class ProxiedFileServer extends CoapFileServer {
  proxyPort = 0;
  override url(p: string): string {
    const u = super.url(p);
    return this.proxyPort ? u.replace(`:${this.port}/`, `:${this.proxyPort}/`) : u;
  }
}

interface Rig {
  name: string;
  dev: DeviceProcess;
  stateDir: string;
  /** coap://127.0.0.1:PORT of the device itself (around the proxies). */
  direct: string;
  /** The device through the host ↔ device proxy. */
  via: string;
  toDevice: LossyProxy;
  toFiles: LossyProxy;
  files: ProxiedFileServer;
  close(): Promise<void>;
}

const children: DeviceProcess[] = [];
after(() => {
  for (const d of children) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
});

async function startDev(stateDir: string): Promise<DeviceProcess> {
  const d = await spawnDevice(['--state', stateDir, '--key', KEY_FILE]);
  children.push(d);
  return d;
}

async function rig(name: string, seed: number, rates: FaultRates): Promise<Rig> {
  const stateDir = tmpDir(`faults-${name.replace(/[^a-z0-9]+/gi, '-')}`);
  const dev = await startDev(stateDir);
  const devPort = Number(new URL(dev.url.replace('coap:', 'http:')).port);
  const files = new ProxiedFileServer({ host: '127.0.0.1', port: 0 });
  await files.listen();
  const toDevice = await LossyProxy.start({ target: { host: '127.0.0.1', port: devPort }, seed, ...rates });
  const toFiles = await LossyProxy.start({ target: { host: '127.0.0.1', port: files.port }, seed: seed + 1000, ...rates });
  files.proxyPort = toFiles.port;
  return {
    name, dev, stateDir, direct: dev.url, via: toDevice.url, toDevice, toFiles, files,
    close: async () => {
      await dev.stop();
      await toDevice.close();
      await toFiles.close();
      await files.close();
    },
  };
}

/** r0 of slot 0, asked directly (no proxy); undefined when the slot is empty. */
async function run(url: string): Promise<number | undefined> {
  const r = await coapCall(`${url}/bpf/exec/0`, { method: 'POST', accept: FORMAT.JSON, timeoutMs: 2000, ackTimeoutMs: 200 }).catch((e: Error) => {
    if (/4\.04/.test(e.message)) return undefined;
    throw e;
  });
  if (!r) return undefined;
  const j = JSON.parse(Buffer.from(r.payload).toString('utf8')) as { status: string; r0: number };
  assert.equal(j.status, 'exit', `slot 0 ran to its exit: ${JSON.stringify(j)}`);
  return j.r0;
}

interface DeviceView {
  seq: number;
  slotSeq: number | null;
  digest: string | null;
  update: { state: string; url: string; check?: string; message?: string } | null;
}

async function view(url: string): Promise<DeviceView> {
  const s = (await readStatus(url, { timeoutMs: 2000, ackTimeoutMs: 200 }))!;
  const slot = (s.slots as { seq: number | null; digest: string | null }[])[0];
  return { seq: s.seq as number, slotSeq: slot.seq, digest: slot.digest, update: s.update as DeviceView['update'] };
}

/** Wait until the device has no update in progress (its own fetch deadline bounds this). */
async function settled(url: string, ms = 40_000): Promise<DeviceView> {
  const t0 = Date.now();
  for (;;) {
    const v = await view(url);
    if (!v.update || v.update.state === 'installed' || v.update.state === 'failed') return v;
    if (Date.now() - t0 > ms) throw new Error(`device ${url} still busy after ${ms} ms: ${JSON.stringify(v.update)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Ask /bpf/exec every few ms until stopped; every answer is recorded in order. */
function watchRuns(url: string): { stop(): Promise<(number | undefined)[]> } {
  const seen: (number | undefined)[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      try {
        seen.push(await run(url));
      } catch {
        /* a device being killed does not answer */
      }
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  return {
    stop: async () => {
      on = false;
      await loop;
      return seen;
    },
  };
}

/** Only `before` then `after` (each possibly absent), in that order: never a third image, never back. */
function assertMonotone(seen: (number | undefined)[], before: number | undefined, next: number, what: string): void {
  let switched = false;
  for (const v of seen) {
    if (v === next) switched = true;
    else {
      assert.equal(v, before, `${what}: /bpf/exec answered ${v}; only ${before} (previous) or ${next} (new) may run: ${seen.join(',')}`);
      assert.ok(!switched, `${what}: the previous image ran again after the new one: ${seen.join(',')}`);
    }
  }
}

interface Attempt {
  setting: string;
  ok: boolean;
  ms: number;
  kind?: string;
  check?: string;
  message?: string;
}

const attempts: Attempt[] = [];

/**
 * One deployment of the image returning `value` through the rig's proxies, with the running-image
 * watch; checks the outcome's shape and the device afterwards. Returns the outcome.
 */
async function deployOnce(r: Rig, value: number, previous: number | undefined, images: Map<string, number>): Promise<DeployOutcome> {
  const image = imageReturning(value, RODATA);
  images.set(sha(image), value);
  const watch = watchRuns(r.direct);
  const t0 = Date.now();
  const [o] = await deploy({ image, key: kp, targets: [r.via], slot: 0, server: r.files, timeoutMs: DEPLOY_TIMEOUT_MS });
  const took = Date.now() - t0;
  const dv = await settled(r.direct);
  const seen = await watch.stop();
  attempts.push({ setting: r.name, ok: o.ok, ms: took, kind: o.error?.kind, check: o.error?.check, message: o.error?.message });
  assert.ok(took <= DEPLOY_TIMEOUT_MS + SLACK_MS, `${r.name}: the outcome took ${took} ms (deadline ${DEPLOY_TIMEOUT_MS} ms)`);
  if (!o.ok) {
    assert.ok(o.error && o.error.message.length > 10, `${r.name}: a failure carries a reason: ${JSON.stringify(o.error)}`);
    assert.ok(['timeout', 'rejected'].includes(o.error.kind), `${r.name}: under loss a deployment fails by timeout or a refused fetch, not ${o.error.kind}: ${o.error.message}`);
    if (o.error.kind === 'rejected') assert.equal(o.error.check, 'fetch', `${r.name}: the only refusal loss can cause is a failed fetch: ${o.error.message}`);
  }
  assertMonotone(seen, previous, value, r.name);
  // The running image is the one in the slot, whatever the host learnt.
  const running = await run(r.direct);
  assert.equal(running, dv.digest ? images.get(dv.digest) : undefined, `${r.name}: runs the image its slot records`);
  if (o.ok) assert.equal(running, value, `${r.name}: installed and running`);
  return o;
}

function summary(setting: string): string {
  const a = attempts.filter((x) => x.setting === setting);
  const ok = a.filter((x) => x.ok);
  const ms = ok.map((x) => x.ms).sort((p, q) => p - q);
  const med = ms.length ? ms[Math.floor(ms.length / 2)] : NaN;
  const reasons = a.filter((x) => !x.ok).map((x) => `${x.kind}${x.check ? `/${x.check}` : ''}`);
  if (process.env.FEMTO_VERBOSE) for (const x of a.filter((y) => !y.ok)) console.log(`        ${setting}: ${x.kind}/${x.check}: ${x.message}`); // eslint-disable-line no-console
  return `${setting.padEnd(26)} ${ok.length}/${a.length} installed (${a.length ? Math.round((100 * ok.length) / a.length) : 0}%), ` +
    `time median ${med} ms, max ${ms.length ? ms[ms.length - 1] : NaN} ms${reasons.length ? `; failures: ${reasons.join(', ')}` : ''}`;
}

describe('hardening: deployment through a lossy, duplicating, reordering link', function () {
  this.timeout(120_000);
  // rounds: distinct images deployed in sequence; retries: further attempts of a round that failed;
  // minRounds: rounds that must end installed (loss makes the rest a matter of chance).
  const settings: { name: string; rates: FaultRates; rounds: number; retries: number; minRounds: number }[] = [
    { name: 'dup 25% + reorder 25%', rates: { duplicate: 0.25, reorder: 0.25, jitterMs: 10 }, rounds: 3, retries: 0, minRounds: 3 },
    { name: 'loss 10% + dup/reorder 5%', rates: { drop: 0.1, duplicate: 0.05, reorder: 0.05, jitterMs: 10 }, rounds: 3, retries: 2, minRounds: 2 },
    { name: 'loss 20% + dup/reorder 5%', rates: { drop: 0.2, duplicate: 0.05, reorder: 0.05, jitterMs: 10 }, rounds: 3, retries: 1, minRounds: 1 },
    { name: 'loss 30% + dup/reorder 5%', rates: { drop: 0.3, duplicate: 0.05, reorder: 0.05, jitterMs: 10 }, rounds: 2, retries: 1, minRounds: 0 },
  ];

  after(() => {
    note('      deploy figures (64 B blocks, device fetch: 500 ms first retransmission, 5 s per block):\n' +
      settings.map((s) => '        ' + summary(s.name)).join('\n'));
  });

  it('each deployment installs or fails with a clear reason in bounded time; only whole images run; retries get through', async () => {
    // All settings side by side (one device process and two proxies each), rounds in sequence.
    await Promise.all(settings.map(async (s, k) => {
      const r = await rig(s.name, 7 + k * 31, s.rates);
      try {
        const images = new Map<string, number>();
        let running: number | undefined;
        let installed = 0;
        for (let round = 0; round < s.rounds; round++) {
          const value = 100 * (k + 1) + round;
          let o = await deployOnce(r, value, running, images);
          running = await run(r.direct);
          for (let retry = 0; !o.ok && retry < s.retries; retry++) {
            o = await deployOnce(r, value, running, images);
            running = await run(r.direct);
          }
          if (o.ok) installed++;
        }
        assert.ok(installed >= s.minRounds, `${s.name}: ${installed}/${s.rounds} rounds installed (with up to ${s.retries} retries)`);
        const st = loadState(r.stateDir);
        assert.deepEqual(st.warnings, []);
        const v = await view(r.direct);
        assert.equal(st.state.slots.get(0)?.digest ?? null, v.digest, 'the state file holds the running image');
        // Duplicates and reorderings really happened on the wire.
        assert.ok(r.toFiles.stats.up.duplicated + r.toFiles.stats.down.duplicated > 0 || !s.rates.duplicate);
        assert.ok(r.toFiles.stats.up.reordered + r.toFiles.stats.down.reordered > 0 || !s.rates.reorder);
      } finally {
        await r.close();
      }
    }));
  });

  it('a link that stops mid-transfer: the device refuses the update ("fetch"), keeps its image, and a retry succeeds', async () => {
    const r = await rig('stall', 99, {});
    try {
      const images = new Map<string, number>();
      assert.equal((await deployOnce(r, 1, undefined, images)).ok, true);
      // Device ↔ file server stops after a few image blocks.
      let stalled = false;
      const onProgress = (b: { path: string; block: number }): void => {
        if (!stalled && b.path.endsWith('/image') && b.block >= 3) {
          stalled = true;
          r.toFiles.stop();
        }
      };
      r.files.on('block', onProgress);
      const o = await deployOnce(r, 2, 1, images);
      r.files.off('block', onProgress);
      assert.equal(o.ok, false);
      assert.deepEqual([o.error!.kind, o.error!.check], ['rejected', 'fetch']);
      assert.match(o.error!.message, /image: .*block \d+ not answered .*transfer stalled/);
      assert.equal(await run(r.direct), 1, 'the previous image keeps running');
      r.toFiles.resume();
      assert.equal((await deployOnce(r, 2, 1, images)).ok, true, 'the retry succeeds');
      assert.equal(await run(r.direct), 2);

      // Host ↔ device stops mid-transfer: the host cannot learn the outcome: a timeout naming the
      // last state it saw; the device finishes on its own; the next deployment goes through.
      const host = await deploy({
        image: imageReturning(3, RODATA), key: kp, targets: [r.via], slot: 0, server: r.files, timeoutMs: 4000,
        onProgress: (p) => {
          if (p.phase === 'fetching' && p.block === 2) r.toDevice.stop();
        },
      });
      images.set(sha(imageReturning(3, RODATA)), 3);
      assert.equal(host[0].ok, false);
      assert.equal(host[0].error!.kind, 'timeout');
      assert.match(host[0].error!.message, /no outcome from .* within 4000 ms \(last state: fetching-image|never reported/);
      const dv = await settled(r.direct);
      assert.equal(await run(r.direct), images.get(dv.digest!));
      r.toDevice.resume();
      assert.equal((await deployOnce(r, 4, await run(r.direct), images)).ok, true);
    } finally {
      await r.close();
    }
  });
});

describe('hardening: deployment deadline', function () {
  this.timeout(30_000);

  // Regression test (fails until deploy() retries its probe): deploy() asks the board who it is
  // (GET /femto/status, the whole document: ~4 KiB, several 1 KiB blocks) in a single attempt of
  // `timing.timeoutMs` (3 s by default) and gives up with 'timeout' when that attempt fails,
  // although its deadline (`timeoutMs`, here 20 s) has most of its time left and the GET is
  // idempotent. Under 30% loss most failed deployments fail this way, before anything was sent
  // (see the figures in the report). Here the board is unreachable for exactly the first attempt.
  it('a board that misses the first probe exchange is still updated within the deadline', async () => {
    const r = await rig('probe', 5, {});
    try {
      r.toDevice.dropNext(4, 'up'); // every transmission of the first exchange (0, ~0.6 s, ~1.9 s)
      const t0 = Date.now();
      const [o] = await deploy({ image: imageReturning(7, RODATA), key: kp, targets: [r.via], slot: 0, server: r.files, timeoutMs: 20_000 });
      assert.equal(o.ok, true, `after ${Date.now() - t0} ms: ${o.error?.kind}: ${o.error?.message}`);
    } finally {
      await r.close();
    }
  });
});

describe('hardening: device killed mid-transfer (SIGKILL at a random block)', function () {
  this.timeout(90_000);

  it('never runs a half-installed image; restarted on its --state folder it runs the previous one; a retry succeeds', async () => {
    const stateDir = tmpDir('killed');
    const rand = seededRandom(2024);
    let dev = await startDev(stateDir);
    const images = new Map<string, number>();
    const first = imageReturning(10, RODATA);
    images.set(sha(first), 10);
    assert.equal((await deploy({ image: first, key: kp, targets: [dev.url], slot: 0 }))[0].ok, true);
    let previous = 10;
    const blocks = Math.ceil(first.length / 64);
    const rounds: string[] = [];
    for (let round = 0; round < 7; round++) {
      const value = 20 + round;
      const image = imageReturning(value, RODATA);
      images.set(sha(image), value);
      // Rounds 0-2: at a random image block before the last. Rounds 3-4: 0-15 ms after the last
      // block was served (the device receives it, verifies, installs). Rounds 5-6: the moment the
      // device starts writing its state file (its temporary file appears).
      const kind = round < 3 ? 'block' : round < 5 ? 'last' : 'write';
      const last = kind !== 'block';
      const killAt = last ? blocks : 1 + Math.floor(rand() * (blocks - 1));
      const killDelay = kind === 'last' ? Math.floor(rand() * 15) : 0;
      const watch = watchRuns(dev.url);
      const victim = dev;
      const kill = (): void => {
        if (victim.child.exitCode === null && victim.child.signalCode === null) victim.child.kill('SIGKILL');
      };
      const fsWatch = kind === 'write' ? fs.watch(stateDir, (_ev, f) => {
        if (f && String(f).endsWith('.tmp')) kill();
      }) : undefined;
      const t0 = Date.now();
      const [o] = await deploy({
        image, key: kp, targets: [dev.url], slot: 0, timeoutMs: 10_000,
        onProgress: (p) => {
          // Synchronously, while the file server is still answering block killAt: the device cannot
          // have asked for the next one yet.
          if (kind !== 'write' && p.phase === 'fetching' && p.block === killAt) {
            if (killDelay) setTimeout(kill, killDelay);
            else kill();
          }
        },
      });
      fsWatch?.close();
      if (kind === 'write') kill(); // had the write gone unnoticed, kill it now (the round still checks the state)
      const took = Date.now() - t0;
      const seen = await watch.stop();
      await new Promise<void>((res) => (victim.child.exitCode !== null || victim.child.signalCode !== null ? res() : victim.child.once('exit', () => res())));
      assert.equal(victim.child.signalCode, 'SIGKILL');
      assertMonotone(seen, previous, value, `round ${round}`);
      // Clean, prompt failure (unless the kill came after the install was confirmed).
      if (!o.ok) {
        assert.ok(['down', 'timeout'].includes(o.error!.kind), JSON.stringify(o.error));
        assert.ok(o.error!.message.length > 10);
      }
      assert.ok(took < 10_000 + SLACK_MS, `outcome after ${took} ms`);

      // State folder: intact, exactly one image, no stray files.
      const files = fs.readdirSync(stateDir);
      assert.deepEqual(files.filter((f) => f !== STATE_FILE && !f.endsWith('.tmp')), [], `state folder: ${files.join(', ')}`);
      const strays = files.filter((f) => f.endsWith('.tmp'));
      const st = loadState(stateDir);
      assert.deepEqual(st.warnings, [], 'the state file loads without a warning');
      const slot = st.state.slots.get(0)!;
      assert.ok(images.has(slot.digest));
      const persisted = images.get(slot.digest)!;
      if (!last) assert.equal(persisted, previous, `round ${round}: killed at block ${killAt}/${blocks}: the previous image is the one kept`);
      else assert.ok(persisted === previous || persisted === value);
      assert.equal(st.state.seq, slot.seq, 'the anti-rollback counter matches the stored image');
      JSON.parse(fs.readFileSync(path.join(stateDir, STATE_FILE), 'utf8'));

      // Restart on the same folder: the kept image runs.
      dev = await startDev(stateDir);
      assert.equal(await run(dev.url), persisted, `round ${round}: after the restart the kept image runs`);
      // Retry (or, if the kill came after the install, the next update) succeeds.
      const [retry] = await deploy({ image, key: kp, targets: [dev.url], slot: 0, timeoutMs: 10_000 });
      assert.equal(retry.ok, true, `round ${round}: retry: ${JSON.stringify(retry.error)}`);
      assert.equal(await run(dev.url), value);
      const at = kind === 'write' ? 'at the state write' : `block ${killAt}/${blocks}${kind === 'last' ? ` +${killDelay} ms` : ''}`;
      const ranNew = seen.includes(value) ? ' (/bpf/exec had already answered with the new one)' : '';
      rounds.push(`${at}: ${o.ok ? 'installed before the kill' : o.error!.kind} in ${took} ms, restart ran ${persisted === previous ? `the previous image${ranNew}` : 'the new image'}` +
        `${strays.length ? `, stray temporary file ${strays.join(', ')} left` : ''}`);
      previous = value;
    }
    await dev.stop();
    note('      kills:\n' + rounds.map((r) => '        ' + r).join('\n'));
  });
});
