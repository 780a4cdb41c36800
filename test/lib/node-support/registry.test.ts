/**
 * The registry behind the editor's sidebar (lib/node-support/registry.ts) listens to no run and no
 * sample: a snapshot reads each container's last run and each sensor's last sample from the board,
 * faults are recorded from the board's 'fault' event, and a poll publishes again while boards
 * sample or run, and stops publishing when they go quiet.
 */
import { strict as assert } from 'node:assert';
import { BoardRegistry, type FemtoState } from '../../../lib/node-support/registry';
import { image, vboard } from '../board/util';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('node-support/registry: the sidebar state without per-run listeners', () => {
  let reg: BoardRegistry;
  afterEach(() => {
    reg.setPublisher(undefined);
    reg.flush();
  });

  it('shows the last run and the last sample, and publishes again only while boards are active', async () => {
    reg = new BoardRegistry();
    const { board } = vboard('nrf52840dk');
    board.install({ id: 'n1', hook: 'sensor', image: image('ldxw %r0, [%r1+8]\nexit') });
    reg.add('b', 'board b', board);
    reg.setContainer('b', 'n1', { nodeId: 'n1', name: 'reader', hook: 'sensor', tenant: 'default', resultType: 'int32' });
    assert.equal(board.listenerCount('result'), 0, 'no listener per run');
    assert.equal(board.listenerCount('sample'), 0, 'no listener per sample');
    const published: FemtoState[] = [];
    reg.setPublisher((s) => published.push(s));
    board.setSensor('NRF_TEMP', 21.25);
    board.sampleSensor('NRF_TEMP');
    await sleep(700);
    const last = published[published.length - 1];
    const b = last.boards.find((x) => x.id === 'b')!;
    assert.deepEqual(b.containers[0].lastResult, { r0: 2125, insns: 2, estimatedUs: b.containers[0].lastResult!.estimatedUs });
    assert.deepEqual(b.devices.find((d) => d.name === 'NRF_TEMP')?.values, [21.25]);
    // Quiet: no more publications.
    const n = published.length;
    await sleep(700);
    assert.equal(published.length, n, 'a quiet board is not published again');
    // Active again: published again without any event having fired.
    board.setSensor('NRF_TEMP', 30);
    board.sampleSensor('NRF_TEMP');
    await sleep(700);
    assert.ok(published.length > n);
    assert.equal(published[published.length - 1].boards[0].containers[0].lastResult?.r0, 3000);
  });

  it("records a container's last fault from the board's 'fault' event, kept after good runs", () => {
    reg = new BoardRegistry();
    const { board } = vboard('nrf52840dk');
    board.install({ id: 'n2', hook: 'sensor', image: image('ldxw %r0, [%r1+8]\njeq %r0, 0, +2\nmov %r0, 0\nexit\nldxw %r0, [%r0]\nexit') });
    reg.add('b', 'board b', board);
    reg.setContainer('b', 'n2', { nodeId: 'n2', name: 'reader', hook: 'sensor', tenant: 'default' });
    board.setSensor('NRF_TEMP', 0);
    board.sampleSensor('NRF_TEMP');
    board.setSensor('NRF_TEMP', 20);
    board.sampleSensor('NRF_TEMP');
    const c = reg.state().boards[0].containers[0];
    assert.equal(c.lastFault?.code, -2);
    assert.equal(c.lastFault?.pc, 4);
    assert.equal(c.faults, 1);
    assert.equal(c.lastResult?.r0, 0);
  });
});

describe('node-support/registry: publishing the state of many boards', () => {
  it('builds the snapshot a few boards per turn of the event loop, then publishes it whole', async () => {
    const reg = new BoardRegistry();
    const n = 600;
    for (let i = 0; i < n; i++) {
      const { board } = vboard('nrf52840dk');
      board.install({ id: `c${i}`, hook: 'sensor', image: image('mov %r0, 1\nexit') });
      reg.add(`b${i}`, `board ${i}`, board);
      reg.setContainer(`b${i}`, `c${i}`, { nodeId: `c${i}`, name: `c${i}`, hook: 'sensor', tenant: 'default' });
    }
    const t0 = performance.now();
    reg.state();
    const wholeMs = performance.now() - t0;
    let published: FemtoState | undefined;
    let turns = 0;
    reg.setPublisher((s) => {
      published = s;
    });
    let stop = false;
    const probe = (): void => {
      turns++;
      if (!published && !stop) setImmediate(probe);
    };
    setImmediate(probe);
    try {
      await until(() => published !== undefined, 5000);
    } finally {
      stop = true;
    }
    reg.setPublisher(undefined);
    reg.flush();
    assert.equal(published!.boards.length, n);
    assert.deepEqual(published!.boards.map((b) => b.id).slice(0, 3), ['b0', 'b1', 'b2']);
    // Other work ran between the pieces: about one turn per 4 ms of building.
    assert.ok(turns >= Math.min(3, Math.floor(wholeMs / 8)), `${turns} turns for a ${wholeMs.toFixed(1)} ms snapshot`);
  });
});

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(5);
  }
}
