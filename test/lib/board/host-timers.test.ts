/**
 * The process's one timer wheel for every WallClock (lib/board/host-timers.ts): order, never
 * early, timers beyond the wheel's reach, periodic timers re-filed in place, cancelling from
 * inside a callback, and the TURN_MS bound that lets the event loop go between stretches of due
 * timers however many fall due together.
 */
import { strict as assert } from 'node:assert';
import { hostTimer, queued, schedule, TURN_MS, unschedule, type HostTimer } from '../../../lib/board/host-timers';
import { WallClock, every } from '../../../lib/board/clock';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Busy-wait `ms` (a callback that takes that long). */
function spin(ms: number): void {
  const t = performance.now();
  while (performance.now() - t < ms);
}

describe('board/host-timers', () => {
  afterEach(() => assert.equal(queued(), 0, 'every test leaves the heap empty'));

  it('runs timers by due time, equal due times in the order they were scheduled', async () => {
    const seen: string[] = [];
    const t0 = performance.now();
    for (const [name, at] of [['c', 30], ['a', 10], ['b', 10], ['d', 20], ['e', 10]] as const) schedule(hostTimer(t0 + at, () => seen.push(name)));
    await sleep(60);
    assert.deepEqual(seen, ['a', 'b', 'e', 'd', 'c']);
  });

  it('a periodic timer is one entry, re-queued in place (same object), drift-free, until cancelled', async () => {
    const at: number[] = [];
    const t = hostTimer(performance.now() + 5, () => at.push(t.dueMs), 10);
    schedule(t);
    await sleep(58);
    unschedule(t);
    assert.ok(at.length >= 3 && at.length <= 6, `${at.length} ticks in 58 ms at 10 ms`);
    // Each tick saw its successor's due time: exactly one period apart, whatever the lateness.
    for (let i = 1; i < at.length; i++) assert.equal(at[i] - at[i - 1], 10);
    assert.equal(t.slot, -1);
  });

  it('a callback may cancel itself or others, and schedule new timers', async () => {
    const seen: string[] = [];
    const t0 = performance.now();
    const other = hostTimer(t0 + 15, () => seen.push('other'));
    const self: HostTimer = hostTimer(t0 + 5, () => {
      seen.push('self');
      unschedule(self);
      unschedule(other);
      schedule(hostTimer(performance.now() + 1, () => seen.push('new')));
    }, 3);
    schedule(other);
    schedule(self);
    await sleep(40);
    assert.deepEqual(seen, ['self', 'new']);
  });

  it(`many due timers run in stretches of about ${TURN_MS} ms: the event loop gets I/O and other work between them`, async () => {
    // 40 timers of 1 ms each, all due now: in one go that would hold the loop 40 ms.
    const t0 = performance.now();
    let ran = 0;
    const between: number[] = [];
    for (let i = 0; i < 40; i++) schedule(hostTimer(t0, () => { spin(1); ran++; }));
    // setImmediate callbacks stand in for I/O: each one shows the loop was let go.
    const probe = (): void => {
      between.push(ran);
      if (ran < 40) setImmediate(probe);
    };
    setImmediate(probe);
    await sleep(100);
    assert.equal(ran, 40);
    const turns = new Set(between.filter((n) => n > 0 && n < 40)).size;
    assert.ok(turns >= 40 / (TURN_MS + 2) - 1, `the loop was let go ${turns} times while 40 ms of timers ran (${between.join(',')})`);
  });

  it('never runs a timer before its due time, also within the current millisecond', async () => {
    const late: number[] = [];
    for (let i = 0; i < 50; i++) {
      const due = performance.now() + 0.1 + (i % 10) * 0.37;
      schedule(hostTimer(due, () => late.push(performance.now() - due)));
    }
    await sleep(30);
    assert.equal(late.length, 50);
    assert.ok(late.every((d) => d >= 0), `ran early by ${Math.min(...late).toFixed(3)} ms`);
  });

  it('a timer beyond the wheel (over a second away) waits aside and still runs on time', async () => {
    const due = performance.now() + 1150;
    let ranAt = 0;
    const near: number[] = [];
    schedule(hostTimer(due, () => { ranAt = performance.now(); }));
    schedule(hostTimer(performance.now() + 5, () => near.push(1)));
    assert.equal(queued(), 2);
    await sleep(1250);
    assert.deepEqual(near, [1]);
    assert.ok(ranAt >= due && ranAt - due < 100, `ran ${(ranAt - due).toFixed(1)} ms after its due time`);
  });

  it('WallClock: every() and at() go on the wheel; cancelAll and pending cover them', async () => {
    const c = new WallClock();
    const ticks: number[] = [];
    const h = every(c, 5000, () => ticks.push(c.nowUs()), 2000);
    let once = 0;
    c.at(c.nowUs() + 3000, () => once++);
    assert.equal(c.pending(), 2);
    assert.equal(queued(), 2);
    await sleep(20);
    assert.equal(once, 1);
    assert.ok(ticks.length >= 2, `${ticks.length} ticks`);
    assert.ok(ticks[0] >= 2000, `first tick at ${ticks[0]} µs, not before 2000`);
    assert.equal(c.pending(), 1, 'the one-shot is gone once it fired');
    h.cancel();
    assert.equal(c.pending(), 0);
    c.at(c.nowUs() + 1000, () => once++);
    every(c, 1000, () => once++);
    c.cancelAll();
    assert.equal(c.pending(), 0);
    await sleep(10);
    assert.equal(once, 1);
  });
});
