/**
 * femto-deploy and remote femto-boards in a running Node-RED (node-red-node-test-helper), with
 * devices on loopback: lib/deploy's RemoteDevice in-process, and `femto device` processes for
 * example 08. Covers: a signed install on one board and on several in parallel with per-board
 * outcomes and progress statuses; failures reaching a Catch node with clear reasons (wrong key,
 * rollback, device down, a silent device, slot too small, the device's verifier); the image taken
 * from msg.filename and from a femto-container's output; container nodes on a remote board running
 * the slot over CoAP with the statuses of ARCHITECTURE.md § The Node-RED face; femto/state and the
 * key endpoints; example 08 with and without a device.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../util/paths';
import { coreNode } from '../util/node-red';
import { ALL_NODES, INCREMENT_ASM, asmContainer, boardNode, collect, flow, getNode, helper, lastStatus, nextMessage, recordStatus, remoteBoard, statuses, until, type AnyNode } from './util';
import { generateKeyPair, privateKeyPem, publicKeyPem, fingerprint, type KeyPair } from '../../lib/deploy/keys';
import type { RemoteDevice } from '../../lib/device/remote-device';
import { registry } from '../../lib/node-support/registry';
import { fromAsm } from '../../lib/node-support/program';
import { closedPort, imageReturning, silentPort, spawnDevice, startDevice, tmpDir, type DeviceProcess } from '../lib/deploy/util';

/* eslint-disable @typescript-eslint/no-require-imports */
const femtoDeploy = require(path.join(ROOT, 'dist', 'nodes', 'femto-deploy.js'));
const injectNode = coreNode('20-inject.js');
const commentNode = coreNode('90-comment.js');
/* eslint-enable @typescript-eslint/no-require-imports */
/** The package's nodes with femto-deploy (test/nodes/util.ts may list it already). */
const NODES = ALL_NODES.includes(femtoDeploy) ? ALL_NODES : [...ALL_NODES, femtoDeploy];

type N = Record<string, any>;

function deployNode(extra: N = {}): N {
  return { id: 'd', type: 'femto-deploy', name: 'deploy', board: 'rb', targets: [], slot: '', seq: '', timeout: 5, wires: [['out']], ...extra };
}

const catcher = (scope: string[] | null = null): N[] => [
  { id: 'catch', type: 'catch', scope, uncaught: false, wires: [['caught']] }, { id: 'caught', type: 'helper' },
];

const creds = (kp: KeyPair, id = 'd'): Record<string, { key: string }> => ({ [id]: { key: privateKeyPem(kp.secretKey) } });

const image = (value: number, rodata = 300): Buffer => Buffer.from(imageReturning(value, rodata));
const texts = (list: { text?: string }[]): string[] => list.map((s) => s.text ?? '');

describe('femto-deploy and remote femto-boards', function () {
  this.timeout(30_000);
  const kp = generateKeyPair();
  const other = generateKeyPair();
  const devices: RemoteDevice[] = [];
  const dev = async (trust: KeyPair[] = [kp]): Promise<RemoteDevice> => {
    const d = await startDevice({ trustedKeys: trust.map((k) => k.publicKey) });
    devices.push(d);
    return d;
  };

  afterEach(async () => {
    await helper.unload();
    while (devices.length) await devices.pop()!.close();
  });

  it('signs and installs on one board: progress statuses, the outcome, the device has it', async () => {
    const d = await dev();
    await helper.load(NODES, flow(remoteBoard('rb', d, { publicKey: publicKeyPem(kp.publicKey) }), deployNode(), { id: 'out', type: 'helper' }), creds(kp));
    const node = getNode('d');
    assert.match(lastStatus(node)!.text!, new RegExp(`^key ${fingerprint(kp.publicKey).slice(0, 8)} · 1 board$`));
    const rec = recordStatus(node);
    const out = nextMessage(getNode('out'), 10_000);
    node.receive({ payload: image(4200) });
    const msg = await out;
    assert.equal(msg.payload.length, 1);
    const o = msg.payload[0];
    assert.deepEqual([o.board, o.url, o.ok, o.slot, o.seq, o.reason, o.error], ['remote-rb', d.url, true, 0, 1, 'installed seq 1', null]);
    assert.equal(msg.femto.deploy.ok, true);
    assert.equal(msg.femto.deploy.source, 'msg.payload');
    assert.equal(msg.femto.deploy.image.bytes, image(4200).length);
    assert.equal(msg.femto.deploy.key, fingerprint(kp.publicKey));
    const seen = texts(statuses(rec));
    assert.equal(seen[0], 'connecting');
    assert.ok(seen.some((s) => /^fetching block \d+\/\d+$/.test(s)), `fetching status in ${seen.join(' | ')}`);
    assert.ok(seen.includes('verifying'), seen.join(' | '));
    assert.deepEqual(lastStatus(node), { fill: 'green', shape: 'dot', text: 'installed seq 1' });
    assert.equal(d.seq, 1);
    assert.equal(Number(d.exec(0)!.r0), 4200);
  });

  it('deploys to several boards in parallel (femto-boards and addresses) with one outcome each', async () => {
    const [a, b, c] = [await dev(), await dev(), await dev()];
    await helper.load(NODES, flow(
      remoteBoard('rb', a), remoteBoard('rb2', b, { slot: 1 }),
      deployNode({ targets: ['rb2', c.url] }), { id: 'out', type: 'helper' },
    ), creds(kp));
    const node = getNode('d');
    const rec = recordStatus(node);
    const out = nextMessage(getNode('out'), 15_000);
    node.receive({ image: image(7) });
    const msg = await out;
    assert.deepEqual(msg.payload.map((o: N) => [o.board, o.url, o.ok, o.slot, o.seq]), [
      ['remote-rb', a.url, true, 0, 1], ['remote-rb2', b.url, true, 1, 1], [c.url, c.url, true, 0, 1],
    ]);
    assert.equal(msg.femto.deploy.source, 'msg.image');
    assert.deepEqual(lastStatus(node), { fill: 'green', shape: 'dot', text: 'installed on 3 boards · seq 1' });
    assert.ok(texts(statuses(rec)).some((s) => /^\d\/3 done · /.test(s)), texts(statuses(rec)).join(' | '));
    assert.equal(Number(b.exec(1)!.r0), 7);
    // msg.targets overrides the node's boards.
    const again = nextMessage(getNode('out'), 10_000);
    node.receive({ image: image(8), targets: [c.url] });
    const m2 = await again;
    assert.deepEqual(m2.payload.map((o: N) => [o.url, o.seq]), [[c.url, 2]]);
  });

  it('a key the device does not trust: "bad signature" at the Catch node; a board trusting another key refuses first', async () => {
    const d = await dev([other]);
    await helper.load(NODES, flow(
      remoteBoard('rb', d), remoteBoard('rbKey', d, { publicKey: publicKeyPem(other.publicKey) }),
      deployNode({ board: '', targets: [d.url] }), { id: 'out', type: 'helper' }, ...catcher(['d']),
    ), creds(kp));
    const caught = nextMessage(getNode('caught'), 10_000);
    getNode('d').receive({ payload: image(1) });
    const err = await caught;
    assert.match(err.error.message, /^FemtoDeployError: deploy failed: coap:\/\/127\.0\.0\.1:\d+: bad signature \(the device does not trust the signing key\)/);
    assert.equal(err.femto.deploy.ok, false);
    assert.equal(err.femto.deploy.outcomes[0].error.check, 'signature');
    assert.match(lastStatus(getNode('d'))!.text!, /^failed: bad signature/);
    assert.equal(d.seq, 0, 'nothing installed');

    const caught2 = nextMessage(getNode('caught'), 10_000);
    getNode('d').receive({ payload: image(1), targets: ['rbKey'] });
    const err2 = await caught2;
    assert.match(err2.error.message, /remote-rbKey: the signing key is not the key this board trusts: the image is signed with key [0-9a-f]{16}, but remote-rbKey trusts [0-9a-f]{16}: nothing was sent/);
    assert.equal(err2.femto.deploy.outcomes[0].error.check, 'key');
    assert.equal(lastStatus(getNode('d'))!.text, 'failed: wrong key');
  });

  it('rollback: a sequence number not above the installed one is refused and the old image keeps running', async () => {
    const d = await dev();
    await helper.load(NODES, flow(remoteBoard('rb', d), deployNode(), { id: 'out', type: 'helper' }, ...catcher(['d'])), creds(kp));
    const out = nextMessage(getNode('out'), 10_000);
    getNode('d').receive({ payload: image(5), seq: 5 });
    assert.equal((await out).payload[0].seq, 5);
    const caught = nextMessage(getNode('caught'), 10_000);
    getNode('d').receive({ payload: image(3), seq: 3 });
    const err = await caught;
    assert.match(err.error.message, /remote-rb: rollback refused \(the sequence number is not above the installed one\): .*3/);
    assert.equal(err.femto.deploy.outcomes[0].error.check, 'sequence');
    assert.equal(lastStatus(getNode('d'))!.text, 'failed: rollback refused');
    assert.equal(Number(d.exec(0)!.r0), 5);
  });

  it('device down, device silent (timeout), slot too small, the device\'s verifier: each with its reason', async () => {
    const d = await dev();
    const down = `coap://127.0.0.1:${await closedPort()}`;
    const silent = await silentPort();
    try {
      await helper.load(NODES, flow(remoteBoard('rb', d), deployNode({ timeout: 1 }), { id: 'out', type: 'helper' }, ...catcher(['d'])), creds(kp));
      const node = getNode('d');
      const send = async (msg: N): Promise<N> => {
        const p = nextMessage(getNode('caught'), 10_000);
        node.receive(msg);
        return p;
      };
      let err = await send({ payload: image(1), targets: down });
      assert.match(err.error.message, /: device not answering: nothing answers on udp 127\.0\.0\.1:\d+ \(port unreachable/);
      assert.equal(err.femto.deploy.outcomes[0].error.kind, 'down');
      assert.equal(lastStatus(node)!.text, 'failed: device not answering');

      const t0 = Date.now();
      err = await send({ payload: image(1), targets: [`coap://127.0.0.1:${silent.port}`] });
      assert.match(err.error.message, /: timeout: device not answering: no answer from coap:\/\/127\.0\.0\.1:\d+ within 1000 ms/);
      assert.ok(Date.now() - t0 < 5000);

      err = await send({ payload: image(1, 3000) });
      assert.match(err.error.message, /remote-rb: the image does not fit the slot: /);
      assert.equal(lastStatus(node)!.text, 'failed: slot too small');

      err = await send({ payload: Buffer.from(fromAsm('ja +5\nexit').image) });
      assert.match(err.error.message, /remote-rb: rejected by the device's verifier: .*jump/);
      assert.equal(err.femto.deploy.outcomes[0].error.check, 'verifier');

      // Mixed: one board installs, one is down → the Catch node gets both outcomes.
      err = await send({ payload: image(9), targets: ['rb', down] });
      assert.match(err.error.message, /^FemtoDeployError: deploy failed on 1 of 2 boards: coap:\/\/127\.0\.0\.1:\d+: device not answering/);
      assert.deepEqual(err.femto.deploy.outcomes.map((o: N) => o.ok), [true, false]);
      assert.match(lastStatus(node)!.text!, /^1\/2 installed, 1 failed: device not answering/);

      // No image, an emulated board, no key.
      err = await send({ payload: 42 });
      assert.match(err.error.message, /image: no image: send a Buffer/);
    } finally {
      await silent.close();
    }
  });

  it('needs a key, refuses emulated boards, reads msg.filename and deploys a femto-container\'s program', async () => {
    const d = await dev();
    const file = path.join(tmpDir('node'), 'answer.s');
    fs.writeFileSync(file, 'mov %r0, 99\nexit\n');
    await helper.load(NODES, flow(
      boardNode('b1'), remoteBoard('rb', d),
      asmContainer('local', 'mov %r0, 11\nexit', { wires: [['d']] }),
      deployNode(), deployNode({ id: 'nokey', board: 'rb' }), deployNode({ id: 'emu', board: 'b1' }),
      { id: 'out', type: 'helper' }, ...catcher(['nokey', 'emu']),
    ), { ...creds(kp), ...creds(kp, 'emu') });
    assert.equal(lastStatus(getNode('nokey'))!.text, 'no key');
    let caught = nextMessage(getNode('caught'));
    getNode('nokey').receive({ payload: image(1) });
    assert.match((await caught).error.message, /no signing key/);
    caught = nextMessage(getNode('caught'));
    getNode('emu').receive({ payload: image(1) });
    assert.match((await caught).error.message, /board-b1 is an emulated board: femto-deploy installs on remote boards/);

    let out = nextMessage(getNode('out'), 10_000);
    getNode('d').receive({ filename: file });
    let msg = await out;
    assert.equal(msg.femto.deploy.source, 'msg.filename');
    assert.equal(Number(d.exec(0)!.r0), 99);

    // A container's output carries its node id: its program is what gets deployed.
    out = nextMessage(getNode('out'), 10_000);
    getNode('local').receive({ payload: 1 });
    msg = await out;
    assert.equal(msg.femto.deploy.source, 'container');
    assert.equal(msg.payload[0].seq, 2);
    assert.equal(Number(d.exec(0)!.r0), 11);
  });

  it('a container node on a remote board runs the slot over CoAP and shows results and faults', async () => {
    const d = await dev();
    await helper.load(NODES, flow(
      remoteBoard('rb', d), deployNode({ wires: [[]] }),
      asmContainer('c', '', { board: 'rb', wires: [['cOut']] }),
      { id: 'cOut', type: 'helper' }, ...catcher(['c']),
    ), creds(kp));
    const c = getNode('c');
    await until(() => lastStatus(c)?.text === 'no image', 3000, 'empty slot shown');
    assert.deepEqual(lastStatus(c), { fill: 'grey', shape: 'ring', text: 'no image' });
    let caught = nextMessage(getNode('caught'));
    c.receive({ payload: 'x' });
    let err = await caught;
    assert.match(err.error.message, /\.ram\.0 on remote-rb holds no image/);
    assert.equal(err.femto.noImage, true);

    // Deploy through the node: the container sees the new image.
    getNode('d').receive({ payload: image(42) });
    await until(() => /^exec · \.ram\.0 seq 1$/.test(lastStatus(c)?.text ?? ''), 5000, 'attached status');
    assert.equal(lastStatus(c)!.fill, 'green');
    const out = nextMessage(getNode('cOut'));
    c.receive({ payload: 'hello' });
    const msg = await out;
    assert.equal(msg.payload, 42);
    assert.equal(msg.femto.remote, true);
    assert.equal(msg.femto.url, d.url);
    assert.equal(msg.femto.status, 'exit');
    assert.ok(msg.femto.insns >= 2);
    assert.match(lastStatus(c)!.text!, /^42 · 2 instr · ≈.* µs$/);

    // femto/state lists the remote board.
    const state = registry.state();
    const rb = state.boards.find((b) => b.id === 'rb')!;
    assert.equal(rb.remote, true);
    assert.equal(rb.address, d.url);
    assert.equal(rb.running, true);
    assert.equal((rb.device as N).seq, 1);
    assert.deepEqual(rb.containers.map((x) => [x.nodeId, x.state, x.lastResult?.r0, x.lastFault]), [['c', 'idle', 42, null]]);
    // The last poll, as the sidebar shows it.
    assert.deepEqual([(rb.device as N).reachable, (rb.device as N).error], [true, null]);
    assert.match(String((rb.device as N).checkedAt), /^\d{4}-\d\d-\d\dT/);
    const viaHttp = await helper.request().get('/femto/state').expect(200);
    assert.ok(viaHttp.body.boards.some((b: N) => b.id === 'rb' && b.remote === true));

    // A faulting image: the fault reaches the Catch node and the status, in the words of
    // ARCHITECTURE.md § The Node-RED face.
    getNode('d').receive({ payload: Buffer.from(fromAsm('mov %r2, 0x10\nstw [%r2], 42\nmov %r0, 0\nexit').image) });
    await until(() => /seq 2$/.test(lastStatus(c)?.text ?? ''), 5000, 'second image');
    caught = nextMessage(getNode('caught'));
    c.receive({ payload: 1 });
    err = await caught;
    assert.equal(err.femto.code, -2);
    assert.equal(err.femto.pc, 1);
    assert.match(err.error.message, /fault -2 at pc 1 on the device: write 0x10/);
    assert.equal(lastStatus(c)!.text, 'fault: write out of bounds at pc 1');
    // femto/state carries that fault for the sidebar: code, reason, pc.
    const lf = registry.state().boards.find((b) => b.id === 'rb')!.containers[0].lastFault!;
    assert.deepEqual([lf.code, lf.pc], [-2, 1]);
    assert.match(lf.reason, /^write 0x10\b/);
  });

  it('a remote board whose device is not there: "device not answering", nothing crashes', async () => {
    const url = `coap://127.0.0.1:${await closedPort()}`;
    await helper.load(NODES, flow(
      remoteBoard('rb', url), asmContainer('c', INCREMENT_ASM, { board: 'rb', wires: [['cOut']] }),
      { id: 'cOut', type: 'helper' }, ...catcher(['c']),
    ));
    const c = getNode('c');
    await until(() => lastStatus(c)?.text === 'device not answering', 3000, 'status');
    assert.deepEqual(lastStatus(c), { fill: 'red', shape: 'ring', text: 'device not answering' });
    const caught = nextMessage(getNode('caught'));
    c.receive({ payload: 1 });
    const err = await caught;
    assert.match(err.error.message, /device not answering: nothing listens at coap:\/\/127\.0\.0\.1:\d+/);
    assert.equal(err.femto.unreachable, true);
    const rb = registry.state().boards.find((b) => b.id === 'rb')!;
    assert.equal(rb.running, false);
    assert.equal(rb.address, url);
    assert.equal((rb.device as N).reachable, false);
    assert.match(String((rb.device as N).checkedAt), /^\d{4}-\d\d-\d\dT/);
    assert.match(String((rb.device as N).error), /device not answering/);
  });

  it('bad remote settings are reported; the key endpoints give a new pair and a node\'s public key only', async () => {
    await helper.load(NODES, flow(
      remoteBoard('bad', 'http://x'), asmContainer('c', INCREMENT_ASM, { board: 'bad' }), deployNode({ board: '', targets: ['coap://127.0.0.1:9'] }),
    ), creds(kp));
    assert.deepEqual(lastStatus(getNode('c')), { fill: 'red', shape: 'ring', text: 'board failed' });
    const r = await helper.request().post('/femto/keygen').send({}).expect(200);
    assert.match(r.body.privateKey, /^-----BEGIN PRIVATE KEY-----/);
    assert.match(r.body.publicKey, /^-----BEGIN PUBLIC KEY-----/);
    assert.match(r.body.fingerprint, /^[0-9a-f]{16}$/);
    const k = await helper.request().get('/femto/deploy/d/key').expect(200);
    assert.deepEqual(Object.keys(k.body).sort(), ['fingerprint', 'publicKey', 'publicKeyHex']);
    assert.equal(k.body.fingerprint, fingerprint(kp.publicKey));
    assert.ok(!JSON.stringify(k.body).includes(Buffer.from(kp.secretKey).toString('hex')));
    await helper.request().get('/femto/deploy/nope/key').expect(404);
  });

  describe('example 08 - Deploy over CoAP', () => {
    const file = path.join(ROOT, 'examples', '08 - Deploy over CoAP.json');
    const byName = (nodes: N[], type: string, name: string): string => nodes.find((n) => (n.type === type || (type === 'debug' && n.type === 'helper')) && n.name === name)!.id;

    /** The example on a tab, debug nodes as helpers, the device address replaced. */
    function testable(address: string): N[] {
      const nodes: N[] = JSON.parse(fs.readFileSync(file, 'utf8'));
      return [{ id: 'f1', type: 'tab', label: 'example' }, ...nodes.map((n) => {
        if (n.type === 'femto-board') return { ...n, address };
        if (n.type === 'debug') return { id: n.id, type: 'helper', name: n.name, z: 'f1', wires: [] };
        return { ...n, z: 'f1' };
      })];
    }

    it('carries no key, starts with a comment explaining `npx femto device --port 5683`', () => {
      const nodes: N[] = JSON.parse(fs.readFileSync(file, 'utf8'));
      assert.equal(nodes[0].type, 'comment');
      assert.match(nodes[0].info, /npx femto device --port 5683/);
      assert.ok(!nodes.some((n) => n.type === 'tab' || n.credentials || /PRIVATE KEY/.test(JSON.stringify(n))));
      assert.equal(nodes.find((n) => n.type === 'femto-board')!.address, 'coap://127.0.0.1:5683');
    });

    it('with a `femto device` process: deploy v1, run it, deploy v2, replay refused', async function () {
      this.timeout(60_000);
      const dir = tmpDir('ex08');
      fs.writeFileSync(path.join(dir, 'demo.pub'), publicKeyPem(kp.publicKey));
      const proc: DeviceProcess = await spawnDevice(['--key', path.join(dir, 'demo.pub'), '--quiet']);
      try {
        const nodes = testable(proc.url);
        const deployId = byName(nodes, 'femto-deploy', 'sign & deploy');
        await helper.load([...NODES, injectNode, commentNode], nodes, creds(kp, deployId));
        const outcomes = collect(getNode(byName(nodes, 'debug', 'outcome per board')));
        const runs = collect(getNode(byName(nodes, 'debug', 'r0')));
        const errors = collect(getNode(byName(nodes, 'debug', 'error')));
        const container = getNode(byName(nodes, 'femto-container', 'on the device: .ram.0'));
        const press = (name: string): void => getNode(byName(nodes, 'inject', name)).receive({});
        press('deploy v1 (r0 = 4200)');
        await until(() => outcomes.length === 1, 15_000, 'v1 installed');
        assert.equal(outcomes[0].payload[0].seq, 1);
        press('run on the device');
        await until(() => runs.length === 1, 5000, 'run');
        assert.equal(runs[0].payload, 4200);
        assert.match(lastStatus(container)!.text!, /^4200 · 2 instr · ≈.* µs$/);
        press('deploy v2 (r0 = 2225)');
        await until(() => outcomes.length === 2, 15_000, 'v2 installed');
        assert.equal(outcomes[1].payload[0].seq, 2);
        press('replay v1 with seq 1');
        await until(() => errors.length === 1, 15_000, 'rollback refused');
        assert.match(errors[0].error.message, /rollback refused/);
        press('run on the device');
        await until(() => runs.length === 2, 5000, 'second run');
        assert.equal(runs[1].payload, 2225);
      } finally {
        await helper.unload();
        await proc.stop();
      }
    });

    it('without a device: it loads, the container says "device not answering", a deploy reaches the Catch node', async () => {
      const nodes = testable(`coap://127.0.0.1:${await closedPort()}`);
      const deployId = byName(nodes, 'femto-deploy', 'sign & deploy');
      await helper.load([...NODES, injectNode, commentNode], nodes, creds(kp, deployId));
      const container = getNode(byName(nodes, 'femto-container', 'on the device: .ram.0'));
      await until(() => lastStatus(container)?.text === 'device not answering', 8000, 'status');
      const errors = collect(getNode(byName(nodes, 'debug', 'error')));
      getNode(byName(nodes, 'inject', 'deploy v1 (r0 = 4200)')).receive({});
      getNode(byName(nodes, 'inject', 'run on the device')).receive({});
      await until(() => errors.length === 2, 10_000, 'two errors');
      for (const e of errors) assert.match(e.error.message, /device not answering/);
      // Without credentials too (as imported): the deploy node says it has no key.
      await helper.unload();
      await helper.load([...NODES, injectNode, commentNode], nodes);
      assert.equal(lastStatus(getNode(deployId) as AnyNode)!.text, 'no key');
    });
  });
});
