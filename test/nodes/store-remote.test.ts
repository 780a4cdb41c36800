/**
 * femto-store on a remote femto-board in a running Node-RED (node-red-node-test-helper), against
 * lib/deploy's RemoteDevice on loopback (a `femto device` in-process): read-only. Covers: the
 * global store and the local store of the board's slot read after containers on the device wrote
 * them (installed with deploy(), run over CoAP by a femto-container node), in the emulated node's
 * message shape plus remote and url, from a fresh read of the device; writes and tenant stores
 * refused with one sentence; a device that is down or silent ("device not answering", the
 * address and the timeout), and the node recovering once the device is there.
 */
import * as assert from 'node:assert/strict';
import { deploy } from '../../lib/deploy/deploy';
import type { RemoteDevice } from '../../lib/device/remote-device';
import { generateKeyPair } from '../../lib/deploy/keys';
import { fromAsm } from '../../lib/node-support/program';
import { closedPort, silentPort, startDevice } from '../lib/deploy/util';
import { ALL_NODES, asmContainer, boardNode, collect, flow, getNode, helper, lastStatus, nextMessage, remoteBoard, sleep, until, type AnyNode } from './util';

type N = Record<string, any>;

const CATCHER = [{ id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] }, { id: 'caught', type: 'helper' }];

/** A container that stores `gv` under global key `g` and `lv` under its local key `l`. */
const writer = (g: number, gv: number, l: number, lv: number): Uint8Array =>
  fromAsm(`mov %r1, ${g}\nmov %r2, ${gv}\ncall 0x11\nmov %r1, ${l}\nmov %r2, ${lv}\ncall 0x10\nmov %r0, 0\nexit`).image;

/** A femto-store node on board `rb`, wired to `out`. */
const store = (id: string, extra: N = {}): N => ({ id, type: 'femto-store', board: 'rb', scope: 'global', action: 'get', key: '', keyType: 'num', wires: [['out']], ...extra });

/** Send `msg` to node `id` and wait for what arrives at helper `at`. */
async function exchange(id: string, msg: N = {}, at = 'out', ms = 5000): Promise<N> {
  const p = nextMessage(getNode(at), ms);
  getNode(id).receive(msg);
  return p;
}

/** What node.warn was called with on this node. */
function warnings(node: AnyNode): string[] {
  const spy = node.warn as unknown as { getCalls(): { thisValue: unknown; args: unknown[] }[] };
  return spy.getCalls().filter((c) => c.thisValue === node).map((c) => String(c.args[0]));
}

describe('femto-store on a remote board (read-only)', function () {
  this.timeout(30_000);
  const kp = generateKeyPair();
  const devices: RemoteDevice[] = [];
  afterEach(async () => {
    await helper.unload();
    while (devices.length) await devices.pop()!.close();
  });

  it('reads the global store and the local store of the board\'s slot after containers on the device wrote them', async () => {
    const d = await startDevice({ trustedKeys: [kp.publicKey] });
    devices.push(d);
    // .ram.0 writes global 3 = 30 and its local 1 = 60; .ram.1 writes global 2 = 5 and its local 1 = 6.
    for (const [slot, image] of [[0, writer(3, 30, 1, 60)], [1, writer(2, 5, 1, 6)]] as const) {
      const [o] = await deploy({ image, key: kp, targets: [d.url], slot });
      assert.equal(o.ok, true, o.error?.message);
    }
    assert.equal(d.exec(0)!.status, 'exit');
    await helper.load(ALL_NODES, flow(
      remoteBoard('rb', d, { slot: 1 }), boardNode('b1'),
      asmContainer('c', '', { board: 'rb', wires: [['cOut']] }),
      store('gGet', { key: '2' }), store('gList', { action: 'list' }),
      store('lGet', { scope: 'local', owner: 'ignored', key: '' }), store('lList', { scope: 'local', action: 'list' }),
      store('eGet', { board: 'b1', key: '2' }), store('eList', { board: 'b1', action: 'list' }),
      { id: 'out', type: 'helper' }, { id: 'cOut', type: 'helper' }, ...CATCHER,
    ));
    assert.deepEqual(lastStatus(getNode('gGet')), { fill: 'grey', shape: 'dot', text: 'remote: read-only · get · global' });
    assert.deepEqual(lastStatus(getNode('lList')), { fill: 'grey', shape: 'dot', text: 'remote: read-only · list · local .ram.1' });
    const caught = collect(getNode('caught'));

    // Before .ram.1 ran: only .ram.0's global write, and .ram.1's local store is empty.
    let m = await exchange('gGet');
    assert.deepEqual([m.payload, m.femto.present], [null, false]);
    m = await exchange('lList');
    assert.deepEqual(m.payload, {});

    // A femto-container node on the board runs .ram.1 over CoAP: it writes both stores.
    await exchange('c', { payload: 0 }, 'cOut');
    m = await exchange('gGet', { topic: 'ignored: the node has a key' });
    assert.equal(m.payload, 5);
    assert.deepEqual(m.femto, { scope: 'global', owner: 'remote-rb', board: 'remote-rb', key: 2, remote: true, url: d.url, present: true });
    m = await exchange('gList');
    assert.deepEqual(m.payload, { 2: 5, 3: 30 });
    assert.deepEqual([m.femto.size, m.femto.capacity, m.femto.remote, m.femto.url], [2, 16, true, d.url]);
    // The local store is the board's slot's (.ram.1), not .ram.0's.
    m = await exchange('lList');
    assert.deepEqual(m.payload, { 1: 6 });
    assert.deepEqual([m.femto.scope, m.femto.owner, m.femto.slot, m.femto.remote, m.femto.url], ['local', '.ram.1', 1, true, d.url]);
    m = await exchange('lGet', { key: 1 });
    assert.deepEqual([m.payload, m.femto.present, m.femto.key], [6, true, 1]);

    // The same message shape as on an emulated board, plus remote and url (and slot for a local store).
    const eGet = await exchange('eGet');
    const eList = await exchange('eList');
    const keys = (o: N, extra: string[] = []): string[] => Object.keys(o).filter((k) => !extra.includes(k)).sort();
    assert.deepEqual(keys((await exchange('gGet')).femto, ['remote', 'url']), keys(eGet.femto));
    assert.deepEqual(keys((await exchange('gList')).femto, ['remote', 'url']), keys(eList.femto));
    assert.deepEqual(keys((await exchange('lList')).femto, ['remote', 'url', 'slot']), keys(eList.femto));

    // Each read asks the device afresh: a change no run or poll told the link about is seen at once.
    d.board.store('global').put(2, 9, 'test');
    assert.equal((await exchange('gGet')).payload, 9);
    assert.deepEqual(caught, []);
    assert.deepEqual(lastStatus(getNode('gGet')), { fill: 'grey', shape: 'dot', text: 'remote: read-only · get · global' });
  });

  it('refuses writes and tenant stores with one sentence naming the board; the status says read-only', async () => {
    const d = await startDevice();
    devices.push(d);
    d.board.store('global').put(1, 11, 'test');
    await helper.load(ALL_NODES, flow(
      remoteBoard('rb', d),
      store('set', { action: 'set', key: '1', value: 'payload', valueType: 'msg' }), store('del', { action: 'delete', key: '1' }),
      store('clear', { action: 'clear', scope: 'local' }),
      store('tGet', { scope: 'tenant', owner: 'alice', key: '1' }), store('tList', { scope: 'tenant', action: 'list' }),
      store('watch', { action: 'list', watch: true }),
      { id: 'out', type: 'helper' }, ...CATCHER,
    ));
    const readOnly = { fill: 'grey', shape: 'ring', text: 'remote: read-only' };
    for (const id of ['set', 'del', 'clear', 'tGet', 'tList']) assert.deepEqual(lastStatus(getNode(id)), readOnly, id);
    const out = collect(getNode('out'));
    const write = (action: string): string =>
      `cannot ${action} on the remote board remote-rb: the device protocol offers no resource for writing stores, so its stores are read-only (get and list work)`;
    const tenant = 'the remote board remote-rb has no tenant stores a flow can reach: the device protocol offers no resource for them (only the global store and the local store of its slot can be read)';
    for (const [id, text] of [['set', write('set')], ['del', write('delete')], ['clear', write('clear')], ['tGet', tenant], ['tList', tenant]]) {
      const err = await exchange(id, { payload: 7 }, 'caught');
      assert.equal(err.error.source.id, id);
      // Node-RED reports err.toString(): one line, no stack in the text.
      assert.equal(err.error.message, `Error: ${text}`, id);
      assert.ok(!String(err.error.message).includes('\n'));
      assert.deepEqual(lastStatus(getNode(id)), readOnly, `${id} after the refusal`);
    }
    await sleep(50);
    assert.deepEqual(out, []);
    // The device's store is untouched.
    assert.deepEqual(d.board.store('global').toJSON(), { 1: 11 });
    // Watching is not available (the device pushes nothing): said once; list still works.
    const w = getNode('watch');
    assert.deepEqual(warnings(w), ['on the remote board remote-rb this node cannot send every change: the device sends none (it answers get and list when asked)']);
    assert.deepEqual((await exchange('watch')).payload, { 1: 11 });
  });

  it('an unreachable device: "device not answering" with the address and the timeout, then recovers when it is there', async () => {
    const port = await closedPort();
    const down = `coap://127.0.0.1:${port}`;
    const silent = await silentPort();
    const hung = `coap://127.0.0.1:${silent.port}`;
    try {
      await helper.load(ALL_NODES, flow(
        remoteBoard('rb', down, { timeoutMs: 500 }), remoteBoard('rbSilent', hung, { timeoutMs: 500 }),
        store('gGet', { key: '1' }), store('lList', { board: 'rbSilent', scope: 'local', action: 'list' }),
        { id: 'out', type: 'helper' }, ...CATCHER,
      ));
      let err = await exchange('gGet', {}, 'caught');
      assert.equal(err.error.message, `Error: device not answering: nothing listens at ${down} (port unreachable, before the 500 ms timeout), so its stores cannot be read`);
      assert.deepEqual([err.femto.remote, err.femto.url, err.femto.unreachable], [true, down, true]);
      assert.deepEqual(lastStatus(getNode('gGet')), { fill: 'red', shape: 'ring', text: 'device not answering' });

      const t0 = Date.now();
      err = await exchange('lList', {}, 'caught');
      const took = Date.now() - t0;
      assert.equal(err.error.message, `Error: device not answering: no reply from ${hung} within 500 ms, so its stores cannot be read`);
      assert.ok(took >= 400 && took < 3000, `answered after ${took} ms`);
      assert.deepEqual(lastStatus(getNode('lList')), { fill: 'red', shape: 'ring', text: 'device not answering' });

      // The device comes up at the address: the next read works and the status is read-only again.
      const d = await startDevice({ port });
      devices.push(d);
      d.board.store('global').put(1, 42, 'test');
      const m = await exchange('gGet');
      assert.deepEqual([m.payload, m.femto.url], [42, down]);
      await until(() => lastStatus(getNode('gGet'))?.fill === 'grey', 1000, 'status back');
      assert.deepEqual(lastStatus(getNode('gGet')), { fill: 'grey', shape: 'dot', text: 'remote: read-only · get · global' });
    } finally {
      await silent.close();
    }
  });
});
