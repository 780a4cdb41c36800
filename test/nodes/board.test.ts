/**
 * femto-board, femto-sensor and femto-store in a running Node-RED: the board is shared and
 * released, sensor samples, button presses and actuator changes reach the flow and input
 * messages drive them, and stores can be read, written, listed and watched from a flow. Sensor
 * nodes on a remote board say they need an emulated one, store nodes that it is read-only
 * (test/nodes/store-remote.test.ts reads one); with no board, "no board".
 */
import * as assert from 'node:assert/strict';
import { ALL_NODES, asmContainer, boardNode, collect, flow, getNode, helper, lastStatus, nextMessage, until } from './util';
import { registry } from '../../lib/node-support/registry';

/** A remote femto-board at an address where nothing answers (UDP port 9), polled only at start. */
function remoteBoard(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, type: 'femto-board', name: '', mode: 'remote', address: 'coap://127.0.0.1:9', slot: 0, timeoutMs: 500, pollMs: 0, ...extra };
}

const CATCHER = [{ id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] }, { id: 'caught', type: 'helper' }];

/** Store r0 = 5 under local key 1 and global key 2 (sensor hook friendly). */
const WRITER = 'mov %r1, 2\nmov %r2, 5\ncall 0x11\nmov %r0, 5\nexit';

describe('femto-board, femto-sensor, femto-store nodes', function () {
  this.timeout(10000);
  afterEach(async () => {
    await helper.unload();
  });

  it('femto-board creates one shared board per config node and reports bad settings', async () => {
    await helper.load(ALL_NODES, flow(boardNode('b1', { profile: 'gd32vf103' }), boardNode('b2', { profile: 'native', slots: 3 })));
    assert.equal(registry.get('b1')!.board.profile.name, 'gd32vf103');
    assert.equal(registry.get('b2')!.board.slots.count, 3);
    await until(() => registry.get('b1')!.board.started, 1000, 'board started');
    await helper.unload();
    await helper.load(ALL_NODES, flow(boardNode('bad', { profile: 'pdp11' }), asmContainer('c', 'exit', { board: 'bad' })));
    assert.equal(registry.get('bad'), undefined);
    assert.deepEqual(lastStatus(getNode('c')), { fill: 'red', shape: 'ring', text: 'board failed' });
  });

  it('femto-sensor: a value set from the flow is sampled, runs sensor-hook containers and comes out', async () => {
    await helper.load(ALL_NODES, flow(
      boardNode(),
      { id: 's', type: 'femto-sensor', board: 'b1', device: 'NRF_TEMP', sampleOnSet: true, wires: [['sOut']] },
      asmContainer('c', 'ldxh %r0, [%r1+8]\nexit', { hook: 'sensor', device: 'NRF_TEMP', wires: [['cOut']] }),
      { id: 'sOut', type: 'helper' }, { id: 'cOut', type: 'helper' },
    ));
    const samples = collect(getNode('sOut'));
    const runs = collect(getNode('cOut'));
    getNode('s').receive({ payload: 26.5 });
    await until(() => samples.length === 1 && runs.length === 1, 2000, 'sample and run');
    assert.equal(samples[0].payload, 26.5);
    assert.equal(samples[0].topic, 'NRF_TEMP');
    assert.equal(samples[0].femto.event, 'sample');
    assert.equal(samples[0].femto.unit, '°C');
    assert.equal(runs[0].payload, 2650, 'the container read the raw phydat (scale −2)');
    assert.equal(lastStatus(getNode('s'))?.text, 'NRF_TEMP: 26.5 °C');
    getNode('s').receive({ payload: 'sample' });
    await until(() => samples.length === 2, 2000, 'second sample');
    assert.equal(samples[1].payload, 26.5);
  });

  it('femto-sensor: buttons and actuators (an LED a container switches)', async () => {
    const ledOn = [
      'mov %r1, 0x44', 'call 0x31',              // saul_reg_find_type(SAUL_ACT_SWITCH)
      'mov %r1, %r0', 'stdw [%r10-8], 0', 'stb [%r10-8], 1',
      'mov %r2, %r10', 'add %r2, -8', 'call 0x33', // saul_reg_write(led, &phydat{1})
      'ldxb %r0, [%r1+8]', 'exit',
    ].join('\n');
    await helper.load(ALL_NODES, flow(
      boardNode(),
      { id: 'btn', type: 'femto-sensor', board: 'b1', device: 'Button 1', wires: [['bOut']] },
      { id: 'led', type: 'femto-sensor', board: 'b1', device: 'LED 1', wires: [['lOut']] },
      { id: 'all', type: 'femto-sensor', board: 'b1', device: '', wires: [['aOut']] },
      asmContainer('c', ledOn.replace('ldxb %r0, [%r1+8]', 'mov %r0, 1'), { hook: 'button', device: 'Button 1', wires: [['cOut']] }),
      { id: 'bOut', type: 'helper' }, { id: 'lOut', type: 'helper' }, { id: 'aOut', type: 'helper' }, { id: 'cOut', type: 'helper' },
    ));
    const presses = collect(getNode('bOut'));
    const leds = collect(getNode('lOut'));
    const everything = collect(getNode('aOut'));
    getNode('btn').receive({ payload: 'click' });
    await until(() => presses.length === 2 && leds.length === 1, 2000, 'press, release and LED');
    assert.deepEqual(presses.map((m) => m.payload), [true, false]);
    assert.equal(leds[0].payload, 1);
    assert.equal(leds[0].femto.event, 'actuator');
    assert.equal(leds[0].femto.container, 'c');
    assert.ok(everything.length >= 3);
    // An input to an actuator sets it.
    getNode('led').receive({ payload: 0 });
    await until(() => leds.length === 2, 2000, 'LED off');
    assert.equal(leds[1].payload, 0);
    // A device by topic when none is selected; unknown devices are errors.
    const err = new Promise<any>((resolve) => getNode('all').on('call:error', resolve));
    getNode('all').receive({ topic: 'nope', payload: 1 });
    assert.match(String((await err).args[0]), /no device "nope"/);
  });

  it('femto-store: set, get, list, delete, watch; a full store is an error', async () => {
    await helper.load(ALL_NODES, flow(
      boardNode('b1', { storeCapacity: 2 }),
      { id: 'set', type: 'femto-store', board: 'b1', scope: 'global', action: 'set', key: '', keyType: 'num', value: 'payload', valueType: 'msg', wires: [['out']] },
      { id: 'get', type: 'femto-store', board: 'b1', scope: 'global', action: 'get', key: '0x10', keyType: 'num', wires: [['out']] },
      { id: 'list', type: 'femto-store', board: 'b1', scope: 'global', action: 'list', watch: true, wires: [['watch']] },
      { id: 'del', type: 'femto-store', board: 'b1', scope: 'global', action: 'delete', key: 'k', keyType: 'msg', wires: [['out']] },
      { id: 'out', type: 'helper' }, { id: 'watch', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] }, { id: 'caught', type: 'helper' },
    ));
    const out = collect(getNode('out'));
    const watch = collect(getNode('watch'));
    getNode('set').receive({ topic: '16', payload: 7 });
    getNode('set').receive({ key: 2, payload: '9' });
    getNode('get').receive({});
    await until(() => out.length === 3 && watch.length === 2, 2000, 'set, set, get');
    assert.equal(out[2].payload, 7);
    assert.equal(out[2].femto.present, true);
    assert.deepEqual(watch.map((m) => [m.topic, m.payload, m.femto.by]), [['16', 7, 'flow'], ['2', 9, 'flow']]);
    const full = nextMessage(getNode('caught'));
    getNode('set').receive({ key: 3, payload: 1 });
    assert.match((await full).error.message, /store is full \(2 entries\)/);
    getNode('list').receive({});
    await until(() => watch.length === 3, 2000, 'list');
    assert.deepEqual(watch[2].payload, { 2: 9, 16: 7 });
    getNode('del').receive({ k: 16 });
    await until(() => watch.length === 4, 2000, 'delete seen by the watcher');
    assert.equal(watch[3].payload, null);
    getNode('get').receive({});
    await until(() => out.length === 5, 2000, 'get after delete');
    assert.equal(out[4].payload, null);
    assert.equal(out[4].femto.present, false);
  });

  it('femto-store sees what containers write (global, tenant and local scopes)', async () => {
    await helper.load(ALL_NODES, flow(
      boardNode(),
      asmContainer('c', WRITER.replace('call 0x11', 'call 0x11\nmov %r1, 1\nmov %r2, 6\ncall 0x10'), { tenant: 't1', wires: [['cOut']] }),
      { id: 'g', type: 'femto-store', board: 'b1', scope: 'global', action: 'list', watch: true, wires: [['gOut']] },
      { id: 'l', type: 'femto-store', board: 'b1', scope: 'local', owner: 'c', action: 'list', wires: [['lOut']] },
      { id: 'cOut', type: 'helper' }, { id: 'gOut', type: 'helper' }, { id: 'lOut', type: 'helper' },
    ));
    const g = collect(getNode('gOut'));
    const run = nextMessage(getNode('cOut'));
    getNode('c').receive({ payload: 0 });
    const m = await run;
    assert.deepEqual(m.femto.storeWrites.map((w: any) => [w.scope, w.key, w.value]), [['global', 2, 5], ['local', 1, 6]]);
    await until(() => g.length === 1, 2000, 'watched');
    assert.deepEqual([g[0].topic, g[0].payload, g[0].femto.by], ['2', 5, 'c']);
    const l = nextMessage(getNode('lOut'));
    getNode('l').receive({});
    assert.deepEqual((await l).payload, { 1: 6 });
  });

  it('femto-sensor on a remote board: "remote board: not emulated"; femto-store: "remote: read-only"; input refused naming the board', async () => {
    await helper.load(ALL_NODES, flow(
      remoteBoard('rb', { name: 'remote-rb' }), remoteBoard('rbAddr'),
      { id: 's', type: 'femto-sensor', board: 'rb', device: 'NRF_TEMP', wires: [['out']] },
      { id: 'st', type: 'femto-store', board: 'rb', scope: 'global', action: 'set', key: '1', keyType: 'num', watch: true, wires: [['out']] },
      { id: 'sAddr', type: 'femto-sensor', board: 'rbAddr', wires: [['out']] },
      { id: 'out', type: 'helper' }, ...CATCHER,
    ));
    const notEmulated = { fill: 'grey', shape: 'ring', text: 'remote board: not emulated' };
    const readOnly = { fill: 'grey', shape: 'ring', text: 'remote: read-only' };
    for (const id of ['s', 'sAddr']) assert.deepEqual(lastStatus(getNode(id)), notEmulated, id);
    assert.deepEqual(lastStatus(getNode('st')), readOnly);
    const out = collect(getNode('out'));
    const caught = collect(getNode('caught'));
    getNode('s').receive({ payload: 26.5 });
    getNode('st').receive({ payload: 7 });
    getNode('sAddr').receive({ payload: 'sample' });
    await until(() => caught.length === 3, 2000, 'three errors');
    // Node-RED reports err.toString(): one line, no stack in the text.
    const bySource = Object.fromEntries(caught.map((m) => [m.error.source.id, String(m.error.message).replace(/^Error: /, '')]));
    assert.deepEqual(bySource, {
      s: 'femto-sensor works on emulated boards only: remote-rb (coap://127.0.0.1:9) is a remote board, and a flow cannot reach its devices',
      st: 'cannot set on the remote board remote-rb: the device protocol offers no resource for writing stores, so its stores are read-only (get and list work)',
      // Unnamed: the board's name is its address, said once.
      sAddr: 'femto-sensor works on emulated boards only: coap://127.0.0.1:9 is a remote board, and a flow cannot reach its devices',
    });
    assert.deepEqual(out, []);
    // The remote board itself is unharmed: its link polled the (absent) device.
    await until(() => registry.state().boards.some((b) => b.id === 'rb' && (b.device as { reachable?: unknown }).reachable === false), 3000, 'the poll');
    assert.deepEqual(lastStatus(getNode('s')), notEmulated, 's after the poll');
    assert.deepEqual(lastStatus(getNode('st')), readOnly, 'st after the poll');
  });

  it('femto-sensor and femto-store with no board or a failed one still say "no board"', async () => {
    await helper.load(ALL_NODES, flow(
      remoteBoard('bad', { address: 'http://x' }),
      { id: 's', type: 'femto-sensor', board: 'nope', wires: [[]] },
      { id: 'st', type: 'femto-store', board: 'bad', wires: [[]] },
      ...CATCHER,
    ));
    for (const id of ['s', 'st']) assert.deepEqual(lastStatus(getNode(id)), { fill: 'red', shape: 'ring', text: 'no board' }, id);
    const caught = collect(getNode('caught'));
    getNode('s').receive({ payload: 1 });
    getNode('st').receive({ payload: 1 });
    await until(() => caught.length === 2, 2000, 'two errors');
    for (const m of caught) assert.equal(m.error.message, 'Error: no femto-board configured (or it failed to start)');
  });
});
