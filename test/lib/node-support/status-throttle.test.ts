/**
 * StatusThrottle (lib/node-support/status.ts): a node's run statuses are shown at most once per
 * interval, the last one always shows, a status that did not change is not sent again, and
 * statuses shown "now" are never overwritten by an older waiting one. Counts, not timings: the
 * bounds hold on a busy machine because a slow machine can only show fewer statuses.
 */
import * as assert from 'node:assert/strict';
import { StatusScheduler, StatusThrottle, type NodeStatus } from '../../../lib/node-support/status';

const text = (n: number): NodeStatus => ({ fill: 'green', shape: 'dot', text: `${n} · 4 instr` });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves once `cond` holds (polled), or rejects after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('StatusThrottle', function () {
  this.timeout(10000);

  it('1,000 runs in a burst show 2 statuses, and the last one is the last run\'s', async () => {
    const shown: NodeStatus[] = [];
    let rendered = 0;
    const th = new StatusThrottle<number>((s) => shown.push(s), (n) => (rendered++, text(n)), 40, new StatusScheduler(5));
    for (let i = 1; i <= 1000; i++) th.soon(i);
    assert.equal(shown.length, 1, 'the first run shows at once');
    assert.deepEqual(shown[0], text(1));
    await until(() => shown.length === 2, 3000, 'the waiting status');
    await sleep(100);
    assert.equal(shown.length, 2, 'nothing more once the burst is over');
    assert.deepEqual(shown[1], text(1000));
    assert.equal(rendered, 2, 'a status is built only when it is shown');
  });

  it('runs spread over time show at most one status per interval (plus the first)', async () => {
    const shown: NodeStatus[] = [];
    const interval = 50;
    const th = new StatusThrottle<number>((s) => shown.push(s), text, interval, new StatusScheduler(5));
    const start = Date.now();
    let i = 0;
    while (Date.now() - start < 400) {
      th.soon(++i);
      await sleep(2);
    }
    await until(() => shown.length > 0 && shown[shown.length - 1].text === text(i).text, 3000, 'the last status');
    const elapsed = Date.now() - start;
    assert.ok(i > 20, `enough runs to throttle (${i})`);
    assert.ok(shown.length <= Math.ceil(elapsed / interval) + 2, `${shown.length} statuses for ${i} runs in ${elapsed} ms`);
    assert.ok(shown.length < i, 'fewer statuses than runs');
  });

  it('does not send a status equal to the one on show', async () => {
    const shown: NodeStatus[] = [];
    const th = new StatusThrottle<number>((s) => shown.push(s), text, 10, new StatusScheduler(2));
    for (let k = 0; k < 20; k++) {
      th.soon(7);
      await sleep(12);
    }
    await sleep(40);
    assert.equal(shown.length, 1);
    th.now({ fill: 'green', shape: 'dot', text: '7 · 4 instr' });
    assert.equal(shown.length, 1, 'now() skips an unchanged status too');
    th.now({ fill: 'red', shape: 'ring', text: 'quarantined' });
    assert.equal(shown.length, 2);
  });

  it('a status shown now is not overwritten by an older waiting run status', async () => {
    const shown: NodeStatus[] = [];
    const th = new StatusThrottle<number>((s) => shown.push(s), text, 30, new StatusScheduler(5));
    th.soon(1);
    th.soon(2); // waits for the interval
    const q: NodeStatus = { fill: 'red', shape: 'ring', text: 'quarantined' };
    th.now(q);
    await sleep(100);
    assert.deepEqual(shown, [text(1), q]);
  });

  it('after close nothing waiting is shown', async () => {
    const shown: NodeStatus[] = [];
    const th = new StatusThrottle<number>((s) => shown.push(s), text, 30, new StatusScheduler(5));
    th.soon(1);
    th.soon(2);
    th.close();
    th.soon(3);
    await sleep(100);
    assert.deepEqual(shown, [text(1)]);
  });

  it('one scheduler serves many nodes: 300 nodes × 50 runs show at most 2 statuses each, each ending on its last run', async () => {
    const sched = new StatusScheduler(5);
    const shown: NodeStatus[][] = [];
    const ths = Array.from({ length: 300 }, (_, k) => {
      shown.push([]);
      return new StatusThrottle<number>((s) => shown[k].push(s), (n) => text(k * 1000 + n), 40, sched);
    });
    for (let r = 1; r <= 50; r++) for (const th of ths) th.soon(r);
    await until(() => shown.every((l) => l.length === 2), 3000, 'every node\'s last status');
    await sleep(60);
    for (let k = 0; k < ths.length; k++) {
      assert.equal(shown[k].length, 2, `node ${k}`);
      assert.deepEqual(shown[k][1], text(k * 1000 + 50), `node ${k} ends on its last run`);
    }
  });
});

describe('StatusThrottle under a process-wide budget', function () {
  this.timeout(10000);

  it('with more busy nodes than the budget allows, each node\'s interval stretches: 200 nodes at 1,000 statuses/s show at most ~1,000/s together', async () => {
    const sched = new StatusScheduler(5, 1000);
    let shown = 0;
    const ths = Array.from({ length: 200 }, () => new StatusThrottle<number>(() => shown++, (n) => text(n), 20, sched));
    const start = Date.now();
    let r = 0;
    while (Date.now() - start < 1500) {
      r++;
      for (const th of ths) th.soon(r);
      await sleep(10);
    }
    const elapsed = Date.now() - start;
    // Unthrottled by the budget it would be 200 × elapsed/20 (~15,000); the budget allows
    // ~1,000/s once the first window has counted the busy nodes (the first second: one each).
    assert.ok(shown <= 200 + (1000 * elapsed) / 1000 + 400, `${shown} statuses in ${elapsed} ms`);
    assert.ok(shown >= 200, 'every node showed its first run');
  });
});

describe('grouped', () => {
  it('writes integers as toLocaleString(\'en-US\') does', async () => {
    const { grouped } = await import('../../../lib/node-support/status');
    for (const n of [0, 7, 999, 1000, 12345, 999999, 1000000, 1234567890, Number.MAX_SAFE_INTEGER, 1.5, -1234]) {
      assert.equal(grouped(n), n.toLocaleString('en-US'), String(n));
    }
  });
});
