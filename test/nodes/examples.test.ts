/**
 * Every example flow (examples/*.json): the conventions (a comment node first, no tab node, only
 * this package's nodes and core nodes, every node type of the package somewhere), and each one
 * loaded into the runtime with its inject nodes triggered, producing its expected output (debug
 * nodes are swapped for test helper nodes with the same ids). The embedded prebuilt images must
 * match lib/containers/*.c when clang is there (regenerate: node dist/lib/build/make-examples.js).
 * What a maker meets first: the C examples open as C with their prebuilt image used (and said)
 * where clang is missing, the start flow (02) and 03 report changes rather than every run, and
 * 08's remote board, whose device is not started, does not warn.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../util/paths';
import { coreNode } from '../util/node-red';
import { ALL_NODES, collect, getNode, helper, lastStatus, sleep, until } from './util';
import { registry } from '../../lib/node-support/registry';
import { buildEmbeddedImages, EMBEDDED, exampleFlows } from '../../lib/build/make-examples';
import { buildProgram, PREBUILT_NOTE } from '../../lib/node-support/program';
import { CLANG, itNeeds } from '../util/needs';

const injectNode = coreNode('20-inject.js');
const commentNode = coreNode('90-comment.js');
const functionNode = coreNode('10-function.js', 'function');
const rbeNode = coreNode('rbe.js', 'function');
const CORE = [injectNode, commentNode, functionNode, rbeNode];

const EXAMPLES = path.join(ROOT, 'examples');
const OUR_TYPES = ['femto-board', 'femto-container', 'femto-sensor', 'femto-store', 'femto-deploy'];
const CORE_TYPES = ['comment', 'inject', 'debug', 'catch', 'status', 'complete', 'change', 'switch', 'function', 'rbe', 'link in', 'link out', 'junction'];

type N = Record<string, any>;

function files(): string[] {
  return fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.json')).sort();
}

function read(file: string): N[] {
  return JSON.parse(fs.readFileSync(path.join(EXAMPLES, file), 'utf8'));
}

/** The example as a deployable test flow: on a tab, debug → helper, no automatic injects. */
function testable(nodes: N[]): N[] {
  return [
    { id: 'f1', type: 'tab', label: 'example' },
    ...nodes.map((n) => {
      if (n.type === 'femto-board') return { ...n };
      const m: N = { ...n, z: 'f1' };
      if (n.type === 'debug') return { id: n.id, type: 'helper', z: 'f1', x: n.x, y: n.y, wires: [] };
      if (n.type === 'inject') Object.assign(m, { once: false, repeat: '' });
      return m;
    }),
  ];
}

function byName(nodes: N[], type: string, name: string): string {
  const n = nodes.find((x) => x.type === type && x.name === name);
  if (!n) throw new Error(`no ${type} "${name}"`);
  return n.id;
}


/** Wait until every container on an emulated board is attached (C compiles before it installs). */
async function attached(nodes: N[]): Promise<void> {
  const remote = new Set(nodes.filter((x) => x.type === 'femto-board' && x.mode === 'remote').map((x) => x.id));
  for (const n of nodes.filter((x) => x.type === 'femto-container' && !remote.has(x.board))) {
    await until(() => lastStatus(getNode(n.id))?.text !== 'verifying', 15000, `${n.name} compiled and verified`);
  }
}

describe('example flows', function () {
  this.timeout(20000);
  afterEach(async () => {
    await helper.unload();
  });

  it('are 01…08, each starting with a comment node, no tab node, only our nodes and core nodes', () => {
    const list = files();
    assert.deepEqual(list.map((f) => f.slice(0, 2)), ['01', '02', '03', '04', '05', '06', '07', '08']);
    const seen = new Set<string>();
    for (const f of list) {
      const nodes = read(f);
      assert.match(f, /^\d\d - [A-Z].*\.json$/);
      assert.equal(nodes[0].type, 'comment', `${f} starts with a comment`);
      assert.ok(nodes[0].info && nodes[0].info.length > 40, `${f}: the comment explains the example`);
      for (const n of nodes) {
        assert.notEqual(n.type, 'tab', `${f} has no tab node`);
        assert.ok(OUR_TYPES.includes(n.type) || CORE_TYPES.includes(n.type), `${f}: unexpected type ${n.type}`);
        seen.add(n.type);
        if (n.type !== 'femto-board' && n.type !== 'comment') assert.ok(Array.isArray(n.wires), `${f}: ${n.id} has wires`);
        assert.equal(n.z, undefined, `${f}: ${n.id} is not bound to a tab`);
      }
      // Config references resolve inside the file.
      for (const n of nodes.filter((x) => x.board !== undefined)) assert.ok(nodes.some((x) => x.id === n.board), `${f}: board of ${n.id}`);
    }
    for (const t of OUR_TYPES) assert.ok(seen.has(t), `some example uses ${t}`);
  });

  it('every example loads with no unknown types and every container attaches (green)', async () => {
    for (const f of files()) {
      const nodes = read(f);
      await helper.load([...ALL_NODES, ...CORE], testable(nodes));
      await attached(nodes);
      for (const n of nodes.filter((x) => x.type !== 'femto-board')) assert.ok(helper.getNode(n.id), `${f}: ${n.type} ${n.id} created`);
      // Containers on a remote board (08) run on a device process that is not started here.
      const remote = new Set(nodes.filter((x) => x.type === 'femto-board' && x.mode === 'remote').map((x) => x.id));
      for (const n of nodes.filter((x) => x.type === 'femto-container' && !remote.has(x.board))) {
        assert.equal(lastStatus(getNode(n.id))?.fill, 'green', `${f}: ${n.name} is attached (${JSON.stringify(lastStatus(getNode(n.id)))})`);
      }
      await helper.unload();
    }
  });

  it('01 Hello: 41 → 42', async () => {
    const nodes = read('01 - Hello.json');
    await helper.load([...ALL_NODES, ...CORE], testable(nodes));
    const out = collect(getNode(byName(nodes, 'debug', 'r0')));
    getNode(byName(nodes, 'inject', '41')).receive({});
    await until(() => out.length === 1, 2000, 'r0');
    assert.equal(out[0].payload, 42);
    assert.match(lastStatus(getNode(byName(nodes, 'femto-container', 'increment')))!.text!, /^42 · 4 instr · ≈.* µs$/);
  });

  it('02 Sensor threshold alarm: 26.5 °C lights LED 1, 21 °C switches it off', async () => {
    const nodes = read('02 - Sensor threshold alarm.json');
    await helper.load([...ALL_NODES, ...CORE], testable(nodes));
    const alarm = collect(getNode(byName(nodes, 'debug', 'alarm (1 = on)')));
    const led = collect(getNode(byName(nodes, 'debug', 'LED 1')));
    getNode(byName(nodes, 'inject', '26.5 °C')).receive({});
    await until(() => alarm.some((m) => m.payload === 1) && led.some((m) => m.payload === 1), 3000, 'alarm on');
    assert.ok(alarm.find((m) => m.payload === 1)!.femto.console.includes('alarm on: 2650'));
    getNode(byName(nodes, 'inject', '21 °C')).receive({});
    await until(() => led.length >= 2 && led[led.length - 1].payload === 0, 3000, 'LED off');
    assert.equal(alarm[alarm.length - 1].payload, 0);
  });

  it('02 (the start flow) reports the alarm when it changes, not on every sample', async () => {
    const nodes = read('02 - Sensor threshold alarm.json');
    await helper.load([...ALL_NODES, ...CORE], testable(nodes));
    const container = getNode(byName(nodes, 'femto-container', 'threshold alarm'));
    const runs: unknown[] = [];
    container.on('call:send', (c: unknown) => runs.push(c));
    const alarm = collect(getNode(byName(nodes, 'debug', 'alarm (1 = on)')));
    for (const t of ['26.5 °C', '26.5 °C', '26.5 °C', '21 °C', '21 °C']) {
      const before = runs.length;
      getNode(byName(nodes, 'inject', t)).receive({});
      await until(() => runs.length > before, 3000, `the sample of ${t}`);
    }
    assert.ok(runs.length >= 5, `${runs.length} runs`);
    assert.deepEqual(alarm.map((m) => m.payload), [1, 0]);
  });

  it('03 Fault isolation: the healthy container keeps answering; each faulty one is reported once per change of state, by name and cause', async () => {
    const nodes = read('03 - Fault isolation.json');
    await helper.load([...ALL_NODES, ...CORE], testable(nodes));
    const ok = collect(getNode(byName(nodes, 'debug', 'healthy r0')));
    const state = collect(getNode(byName(nodes, 'debug', 'state')));
    const tick = getNode(byName(nodes, 'inject', 'every 2 s'));
    for (let i = 0; i < 6; i++) {
      tick.receive({});
      await until(() => ok.length === i + 1, 3000, `round ${i + 1}`);
    }
    await sleep(100);
    assert.deepEqual(ok.map((m) => m.payload), [42, 42, 42, 42, 42, 42]);
    const lines = state.map((m) => m.payload as string).sort();
    assert.equal(lines.length, 6, lines.join('\n'));
    const causes: Record<string, RegExp> = { 'out-of-bounds write': /fault -2: write 0x10\b/, 'infinite loop': /fault -8: instruction budget/, 'division by zero': /fault -9: division by zero/ };
    for (const [name, cause] of Object.entries(causes)) {
      const mine = state.filter((m) => m.topic === name).map((m) => m.payload as string);
      assert.equal(mine.length, 2, `${name}: ${mine.join(' / ')}`);
      assert.match(mine[0], new RegExp(`^${name} faults: ${cause.source}`));
      assert.match(mine[1], new RegExp(`^${name} is quarantined after 3 faults in a row \\(${cause.source}.*\\); send msg.reset = true`));
    }
    assert.equal(lastStatus(getNode(byName(nodes, 'femto-container', 'out-of-bounds write')))?.text, 'quarantined');
    assert.equal(lastStatus(getNode(byName(nodes, 'femto-container', 'healthy: increment')))?.fill, 'green');
  });

  it('the C examples open as C: their source, with the image prebuilt from it used (and said) where clang is missing', async () => {
    const containers = files().flatMap((f) => read(f).filter((n) => n.type === 'femto-container' && n.language === 'c').map((n) => ({ f, n })));
    assert.equal(containers.length, EMBEDDED.length);
    for (const { f, n } of containers) {
      const name = EMBEDDED.find((e) => n.imageName.startsWith(`${e}.bin`));
      assert.ok(name, `${f}: ${n.imageName}`);
      assert.equal(n.source, fs.readFileSync(path.join(ROOT, 'lib', 'containers', `${name}.c`), 'utf8'), `${f}: the C source of ${name}`);
      const p = await buildProgram({ language: 'c', source: n.source, image: n.image }, { clang: '/nonexistent/clang' });
      assert.deepEqual(p?.warnings, [PREBUILT_NOTE]);
      assert.equal(Buffer.from(p!.image).toString('base64'), n.image);
    }
    // Without a prebuilt image, no clang is an error as before.
    await assert.rejects(buildProgram({ language: 'c', source: containers[0].n.source }, { clang: '/nonexistent/clang' }), /clang/);
  });

  it('a C example deployed where clang is missing: the prebuilt image runs and the node warns why', async () => {
    const nodes = read('05 - CoAP formatter.json');
    const saved = process.env.FEMTO_CLANG;
    process.env.FEMTO_CLANG = '/nonexistent/clang';
    try {
      await helper.load([...ALL_NODES, ...CORE], testable(nodes));
      const c = getNode(byName(nodes, 'femto-container', 'coap /temp'));
      await until(() => lastStatus(c)?.fill === 'green', 3000, 'attached');
      const out = collect(getNode(byName(nodes, 'debug', 'response')));
      getNode(byName(nodes, 'inject', 'GET /temp')).receive({});
      await until(() => out.length === 1, 2000, 'response');
      assert.equal(out[0].payload, '22.25');
      const warnings = helper.log().args.map((a: any[]) => a[0]).filter((e: any) => e.level === helper.log().WARN && e.id === c.id);
      assert.deepEqual(warnings.map((e: any) => e.msg), [PREBUILT_NOTE]);
    } finally {
      if (saved === undefined) delete process.env.FEMTO_CLANG;
      else process.env.FEMTO_CLANG = saved;
    }
  });

  it('08 with no device started: the remote board stays quiet (no warning), its container says so in its status', async () => {
    const nodes = read('08 - Deploy over CoAP.json');
    const flow = testable(nodes);
    // Nothing listens on this port.
    flow.find((n) => n.type === 'femto-board')!.address = 'coap://127.0.0.1:9';
    flow.find((n) => n.type === 'femto-board')!.timeoutMs = 300;
    await helper.load([...ALL_NODES, ...CORE], flow);
    const c = getNode(byName(nodes, 'femto-container', 'on the device: .ram.0'));
    await until(() => lastStatus(c)?.text === 'device not answering', 4000, 'the first status check');
    const board = byName(nodes, 'femto-board', 'local device');
    const entries = helper.log().args.map((a: any[]) => a[0]);
    assert.deepEqual(entries.filter((e: any) => e.level <= helper.log().WARN && e.type !== undefined).map((e: any) => `${e.type}: ${e.msg}`), []);
    assert.ok(entries.some((e: any) => e.id === board && /device not answering/.test(String(e.msg))), 'the board logs it (info)');
  });

  it('04 Two tenants: separate counters and stores', async () => {
    const nodes = read('04 - Two tenants.json');
    await helper.load([...ALL_NODES, ...CORE], testable(nodes));
    const a = collect(getNode(byName(nodes, 'debug', 'alice count')));
    const b = collect(getNode(byName(nodes, 'debug', 'bob count')));
    const stores = collect(getNode(byName(nodes, 'debug', 'store')));
    getNode(byName(nodes, 'inject', 'alice')).receive({});
    getNode(byName(nodes, 'inject', 'alice')).receive({});
    getNode(byName(nodes, 'inject', 'bob')).receive({});
    await until(() => a.length === 2 && b.length === 1 && stores.length === 3, 2000, 'counts and store changes');
    assert.deepEqual(a.map((m) => m.payload), [1, 2]);
    assert.deepEqual(b.map((m) => m.payload), [1]);
    assert.deepEqual(stores.map((m) => [m.femto.owner, m.topic, m.payload]), [['alice', '1', 1], ['alice', '1', 2], ['bob', '1', 1]]);
    stores.length = 0;
    getNode(byName(nodes, 'inject', 'list stores')).receive({});
    await until(() => stores.length === 2, 2000, 'lists');
    assert.deepEqual(stores.map((m) => m.payload).sort((x, y) => x[1] - y[1]), [{ 1: 1 }, { 1: 2 }]);
  });

  it('05 CoAP formatter: GET /temp answers 2.05 with the temperature', async () => {
    const nodes = read('05 - CoAP formatter.json');
    await helper.load([...ALL_NODES, ...CORE], testable(nodes));
    await attached(nodes);
    const out = collect(getNode(byName(nodes, 'debug', 'response')));
    getNode(byName(nodes, 'inject', 'GET /temp')).receive({});
    await until(() => out.length === 1, 2000, 'response');
    assert.equal(out[0].payload, '22.25');
    assert.equal(out[0].coap.code, '2.05');
    assert.equal(out[0].coap.contentFormat, 0);
    getNode(byName(nodes, 'inject', '30.5 °C')).receive({});
    await sleep(20);
    getNode(byName(nodes, 'inject', 'GET /temp')).receive({});
    await until(() => out.length === 2, 2000, 'second response');
    assert.equal(out[1].payload, '30.50');
  });

  it('06 Moving average: suspended slices report the average on the console and in the store', async () => {
    const nodes = read('06 - Moving average.json');
    const flow = testable(nodes);
    flow.find((n) => n.type === 'femto-board')!.timerPeriodMs = 50; // start it quickly
    await helper.load([...ALL_NODES, ...CORE], flow);
    const slices = collect(getNode(byName(nodes, 'debug', 'console')));
    const avg = collect(getNode(byName(nodes, 'debug', 'average, centi-°C')));
    await until(() => slices.length >= 2 && avg.length >= 2, 4000, 'two slices');
    assert.equal(slices[0].femto.status, 'suspended');
    assert.match(slices[0].femto.console[0], /^avg: \d+ \(1 samples\)$/);
    assert.match(slices[1].femto.console[0], /^avg: \d+ \(2 samples\)$/);
    assert.equal(slices[1].femto.slice, 2);
    assert.ok(avg[0].payload > 1700 && avg[0].payload < 2500, `average ${avg[0].payload}`);
    assert.equal(avg[0].topic, '256');
    const e = registry.entries()[0];
    assert.equal(e.board.container(byName(nodes, 'femto-container', 'moving average')).state, 'suspended');
  });

  it('07 Hot swap: double is swapped in, the bad image is rejected and the old program keeps running', async () => {
    const nodes = read('07 - Hot swap.json');
    await helper.load([...ALL_NODES, ...CORE], testable(nodes));
    const out = collect(getNode(byName(nodes, 'debug', 'r0')));
    const rej = collect(getNode(byName(nodes, 'debug', 'rejection')));
    const run = getNode(byName(nodes, 'inject', 'run 21'));
    run.receive({});
    await until(() => out.length === 1, 2000, 'first run');
    getNode(byName(nodes, 'inject', 'swap: double')).receive({});
    await sleep(20);
    run.receive({});
    await until(() => out.length === 2, 2000, 'second run');
    getNode(byName(nodes, 'inject', 'swap: bad image')).receive({});
    await until(() => rej.length === 1, 2000, 'rejection');
    run.receive({});
    await until(() => out.length === 3, 2000, 'third run');
    assert.deepEqual(out.map((m) => m.payload), [22, 42, 42]);
    assert.equal(rej[0].femto.rule, 'jump-target');
    assert.equal(rej[0].femto.pc, 0);
  });

  itNeeds(CLANG, 'embedded images match lib/containers/*.c (regenerate with make-examples)', async () => {
    const images = await buildEmbeddedImages(ROOT);
    const expected = exampleFlows(ROOT, images);
    for (const f of files()) {
      assert.deepEqual(read(f), JSON.parse(JSON.stringify(expected[f])), `${f} is what lib/build/make-examples.ts writes`);
    }
  });
});
