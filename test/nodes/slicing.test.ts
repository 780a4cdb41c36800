/**
 * Sliced runs in a running Node-RED (node-red-node-test-helper): while a container
 * spins in an endless loop with a budget of 1e10 — minutes of work, which used to hold the event
 * loop for all of it — the admin API, Verify and another container answer within bounds that
 * prove slicing (generous for a busy 2-core box: without slicing each would wait tens of
 * seconds). The spinning node shows "running… N instr", messages to it wait in order and get
 * their done() only when their own runs end, and closing the flow cancels it cleanly.
 *
 * The helper's admin app has only the nodes' own routes, so GET /flows is a stand-in route on the
 * same app answering the runtime's flows (the work Node-RED's handler does); `npm run bench --
 * --only slicing` measures the real GET /flows of a real Node-RED.
 */
import * as assert from 'node:assert/strict';
import { ALL_NODES, INCREMENT_ASM, asmContainer, boardNode, flow, getNode, helper, lastStatus, nextMessage, until } from './util';
import { registry } from '../../lib/node-support/registry';

const LOOP = 'mov %r0, 0\nloop:\nadd %r0, 1\nja loop';
const BOUND_MS = 500;

/** Milliseconds an async action takes. */
async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

describe('femto-container node: sliced runs', function () {
  this.timeout(60_000);
  afterEach(async () => {
    await helper.unload();
  });

  it('an endless loop with budget 1e10 leaves the admin API, Verify and another container responsive', async () => {
    await helper.load(ALL_NODES, flow(
      boardNode('b1', { profile: 'native' }),
      asmContainer('spin', LOOP, { budget: 1e10, profile: 'rfc9669', quarantineAfter: 0, wires: [['spun']] }),
      asmContainer('ok', INCREMENT_ASM, { wires: [['out']] }),
      { id: 'out', type: 'helper' }, { id: 'spun', type: 'helper' },
      { id: 'cmpl', type: 'complete', scope: ['spin'], uncaught: false, wires: [['completed']] }, { id: 'completed', type: 'helper' },
    ));
    const app = (helper as { _httpAdmin: { get(p: string, h: (q: unknown, s: { json(v: unknown): void }) => void): void } })._httpAdmin;
    const nodes = (helper as { _redNodes: { getFlows(): unknown } })._redNodes;
    app.get('/flows', (_q, s) => s.json(nodes.getFlows()));
    const board = registry.get('b1')!.board;

    const spin = getNode('spin');
    const spun: unknown[] = [];
    const completed: unknown[] = [];
    getNode('spun').on('input', (m: unknown) => spun.push(m));
    getNode('completed').on('input', (m: unknown) => completed.push(m));
    // Two messages: the first runs, the second waits behind it (neither is done until its run ends).
    for (const k of [1, 2]) spin.receive({ payload: k });
    await until(() => board.container('spin').state === 'running', 5000, 'the spinning run');
    assert.equal(board.container('spin').queued, 1);

    const lat: Record<string, number[]> = { flows: [], state: [], verify: [], budget: [], container: [] };
    for (let i = 0; i < 8; i++) {
      lat.flows.push(await timed(() => helper.request().get('/flows').expect(200)));
      lat.state.push(await timed(async () => {
        const r = await helper.request().get('/femto/state').expect(200);
        const c = r.body.boards[0].containers.find((x: { id: string }) => x.id === 'spin');
        assert.equal(c.state, 'running');
        assert.equal(c.run.budget, 1e10);
      }));
      lat.verify.push(await timed(async () => {
        const r = await helper.request().post('/femto/verify').send({ language: 'asm', source: INCREMENT_ASM, board: 'native' }).expect(200);
        assert.equal(r.body.ok, true);
      }));
      lat.budget.push(await timed(() => helper.request().get('/femto/budget').query({ board: 'native', budget: '10000000000' }).expect(200)));
      lat.container.push(await timed(async () => {
        const p = nextMessage(getNode('out'), 10_000);
        getNode('ok').receive({ payload: i });
        assert.equal((await p).payload, i + 1);
      }));
    }
    const info = board.container('spin');
    assert.equal(info.state, 'running', 'the loop ran all along');
    assert.ok(info.run!.turns > 8 && info.run!.insns > 0, JSON.stringify(info.run));
    assert.deepEqual(spun, [], 'no answer before the run ends');
    assert.deepEqual(completed, [], 'no done() before the run ends');
    await until(() => /^running… [\d,]+ instr/.test(lastStatus(spin)?.text ?? ''), 3000, 'the running status');
    assert.equal(lastStatus(spin)?.fill, 'blue');
    // The edit dialog's budget advice for this very budget (native board: 0.005 µs per instruction).
    const advice = await helper.request().get('/femto/budget').query({ board: 'native', budget: '10000000000' }).expect(200);
    assert.match(advice.body.warning, /takes ≈50 s on host \(native\) \(estimated\), more than 10 s/);
    const bad = await helper.request().get('/femto/budget').query({ board: 'native', budget: '1e3.5' }).expect(200);
    assert.deepEqual(bad.body, { ok: false, message: 'the budget must be a whole number of instructions ≥ 0 (got NaN)' });
    const worst = Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, Math.max(...v)]));
    for (const [k, ms] of Object.entries(worst)) assert.ok(ms < BOUND_MS, `${k}: ${ms.toFixed(1)} ms while the loop spins (all: ${JSON.stringify(worst)})`);
  });

  it('messages to a busy container are answered in order, each done() when its own run ends', async () => {
    // 3e6 instructions each (interpreted: many 5 ms slices), r0 = the payload.
    const SLOW = 'ldxdw %r2, [%r1]\nldxdw %r6, [%r2]\nmov %r7, 1000000\nl: sub %r7, 1\njne %r7, 0, l\nmov %r0, %r6\nexit';
    await helper.load(ALL_NODES, flow(
      boardNode('b1', { profile: 'nrf52840dk' }),
      asmContainer('slow', SLOW, { budget: 1e8, profile: 'rfc9669', wires: [['out']] }),
      { id: 'out', type: 'helper' },
      { id: 'cmpl', type: 'complete', scope: ['slow'], uncaught: false, wires: [['completed']] }, { id: 'completed', type: 'helper' },
    ));
    const log: string[] = [];
    getNode('out').on('input', (m: { payload: number }) => log.push(`out ${m.payload}`));
    getNode('completed').on('input', (m: { payload: number }) => log.push(`done ${m.payload}`));
    const slow = getNode('slow');
    for (let k = 1; k <= 4; k++) slow.receive({ payload: k });
    assert.equal(registry.get('b1')!.board.container('slow').state, 'running');
    await until(() => log.length === 8, 30_000, 'four answers and four done() calls');
    // Node-RED's Complete node sees the message as sent (payload = r0 = the input).
    assert.deepEqual(log, ['out 1', 'done 1', 'out 2', 'done 2', 'out 3', 'done 3', 'out 4', 'done 4']);
    assert.equal(registry.get('b1')!.board.container('slow').state, 'idle');
  });

  it('a hook container (timer) answers each input with its own run, in order, however many turns it takes', async () => {
    // r0 = the timer tick after 2e8 passes: every run is sliced.
    const SLOW_TICK = 'ldxw %r6, [%r1+12]\nlddw %r7, 200000000\nl: sub %r7, 1\njne %r7, 0, l\nmov %r0, %r6\nexit';
    await helper.load(ALL_NODES, flow(
      boardNode('b1', { profile: 'native' }),
      asmContainer('t', SLOW_TICK, { hook: 'timer', budget: 1e9, wires: [['out']] }),
      { id: 'out', type: 'helper' },
    ));
    const got: { tag: number; payload: number }[] = [];
    const turns: number[] = [];
    getNode('out').on('input', (m: { tag: number; payload: number; femto: { turns: number } }) => {
      got.push({ tag: m.tag, payload: m.payload });
      turns.push(m.femto.turns);
    });
    const t = getNode('t');
    for (let k = 1; k <= 3; k++) t.receive({ tag: k });
    await until(() => got.length === 3, 30_000, 'three answers');
    assert.deepEqual(got, [{ tag: 1, payload: 1 }, { tag: 2, payload: 2 }, { tag: 3, payload: 3 }]);
    assert.ok(turns.every((n) => n > 1), `turns per run: ${turns.join(', ')}`);
  });
});
