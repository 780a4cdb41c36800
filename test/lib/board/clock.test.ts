import { strict as assert } from 'node:assert';
import { VirtualClock, WallClock, every } from '../../../lib/board/clock';

describe('board/clock', () => {
  it('virtual time moves only when advanced, firing due timers in time then scheduling order', () => {
    const c = new VirtualClock();
    const seen: string[] = [];
    c.at(300, () => seen.push(`c@${c.nowUs()}`));
    c.at(100, () => seen.push(`a@${c.nowUs()}`));
    c.at(100, () => seen.push(`b@${c.nowUs()}`));
    assert.equal(c.nowUs(), 0);
    assert.equal(c.advance(99), 0);
    assert.deepEqual(seen, []);
    assert.equal(c.advance(250), 3);
    assert.deepEqual(seen, ['a@100', 'b@100', 'c@300']);
    assert.equal(c.nowUs(), 349);
  });

  it('timers scheduled while firing fire within the same advance; cancel works', () => {
    const c = new VirtualClock();
    const ticks: number[] = [];
    const h = every(c, 1000, () => ticks.push(c.nowUs()));
    const x = c.at(2500, () => ticks.push(-1));
    x.cancel();
    c.advance(3500);
    assert.deepEqual(ticks, [1000, 2000, 3000]);
    h.cancel();
    c.advance(10_000);
    assert.equal(ticks.length, 3);
    assert.equal(c.pending(), 0);
  });

  it('a past due time fires on the next advance, never synchronously', () => {
    const c = new VirtualClock(5000);
    let fired = false;
    c.at(10, () => (fired = true));
    assert.equal(fired, false);
    c.flush();
    assert.equal(fired, true);
    assert.equal(c.nowUs(), 5000);
  });

  it('wall clock fires real timers and cancels them all', async () => {
    const c = new WallClock();
    const t0 = c.nowUs();
    await new Promise<void>((resolve) => c.at(t0 + 5000, resolve));
    assert.ok(c.nowUs() - t0 >= 1000); // setTimeout may round; it must not fire at once
    c.at(c.nowUs() + 1e9, () => assert.fail('must not fire'));
    assert.equal(c.pending(), 1);
    c.cancelAll();
    assert.equal(c.pending(), 0);
  });
});
