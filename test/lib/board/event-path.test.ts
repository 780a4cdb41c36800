/**
 * The steady sensor event path reuses what it can: counted, never timed. A board that
 * samples the same container again and again must not remap the context region, make new run
 * options or a new VM result per event, and must build the 'sample' event only for a listener.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { sensorContext } from '../../../lib/board/hooks';
import type { RunOptions, RunResult } from '../../../vm/vm';
import { image, vboard } from './util';

const EVENTS = 200;

describe('board: the steady sensor event path', () => {
  it('reuses the context region, the run options and the VM result on every event', () => {
    const { board } = vboard('nrf52840dk', { slice: { ms: 5 } });
    board.install({ id: 'c', hook: 'sensor', image: image('ldxw %r0, [%r1+8]\nexit') });
    const vm = board.vmOf('c');
    const run = vm.run.bind(vm);
    const options = new Set<RunOptions>();
    const results = new Set<RunResult>();
    vm.run = (o?: RunOptions): RunResult => {
      if (o) options.add(o);
      const r = run(o);
      results.add(r);
      return r;
    };
    board.sampleSensor('NRF_TEMP');
    const layout = vm.memory.layoutVersion;
    for (let i = 0; i < EVENTS; i++) {
      board.setSensor('NRF_TEMP', 20 + i / 100);
      const r = board.sampleSensor('NRF_TEMP');
      // The context bytes reached the container although the buffer they came from is reused.
      assert.equal(Number(r.reports[0].r0 & 0xffffn), 2000 + i);
    }
    assert.equal(vm.memory.layoutVersion, layout, 'the context region was remapped');
    assert.equal(options.size, 1);
    assert.equal(results.size, 1);
  });

  it('a listener firing a hook from a result gets its own context bytes, not the reused ones', () => {
    const { board } = vboard('nrf52840dk');
    board.install({ id: 'c1', hook: 'sensor', image: image('ldxw %r0, [%r1+8]\nexit') });
    board.install({ id: 'c2', hook: 'sensor', image: image('ldxw %r0, [%r1+8]\nexit') });
    board.setSensor('NRF_TEMP', 10);
    const seen: string[] = [];
    let nested = false;
    board.on('result', (r: { container: string; r0: bigint }) => {
      seen.push(`${r.container}:${Number(r.r0 & 0xffffn)}`);
      if (nested) return;
      nested = true;
      board.setSensor('NRF_TEMP', 30);
      board.sampleSensor('NRF_TEMP');
    });
    board.sampleSensor('NRF_TEMP');
    // Newest first; the nested firing runs both before the outer one reaches c1 with its 10 °C.
    assert.deepEqual(seen, ['c2:1000', 'c2:3000', 'c1:3000', 'c1:1000']);
  });

  it('builds the sample event only when someone listens', () => {
    const { board } = vboard('nrf52840dk');
    let built = 0;
    const emit = board.emit.bind(board);
    board.emit = (ev: string | symbol, ...args: unknown[]): boolean => {
      if (ev === 'sample') built++;
      return emit(ev, ...args);
    };
    for (let i = 0; i < EVENTS; i++) board.sampleSensor('NRF_TEMP');
    assert.equal(built, 0);
    const values: number[][] = [];
    board.on('sample', (s: { values: number[] }) => values.push(s.values));
    board.setSensor('NRF_TEMP', 21.5);
    board.sampleSensor('NRF_TEMP');
    assert.equal(built, 1);
    assert.deepEqual(values, [[21.5]]);
  });

  it("a container's result taker gets each report straight from the run, before 'result', and without any board listener", () => {
    const { board } = vboard('nrf52840dk');
    board.install({ id: 'c', hook: 'sensor', image: image('ldxw %r0, [%r1+8]\nexit') });
    board.install({ id: 'd', hook: 'sensor', image: image('mov %r0, 7\nexit') });
    const order: string[] = [];
    board.takeResults('c', (r) => order.push(`taker:${r.container}`));
    let emitted = 0;
    const emit = board.emit.bind(board);
    board.emit = (ev: string | symbol, ...args: unknown[]): boolean => {
      if (ev === 'result') emitted++;
      return emit(ev, ...args);
    };
    for (let i = 0; i < EVENTS; i++) board.sampleSensor('NRF_TEMP');
    assert.equal(order.length, EVENTS, "only c's reports reach c's taker");
    assert.equal(emitted, 0, "no 'result' event is built while nobody listens to the board");
    assert.equal(board.reportsMade, 2 * EVENTS);
    board.on('result', (r: { container: string }) => order.push(`event:${r.container}`));
    order.length = 0;
    board.sampleSensor('NRF_TEMP');
    // Newest first: d, then c (its taker, then the board's listeners).
    assert.deepEqual(order, ['event:d', 'taker:c', 'event:c']);
  });

  it('the taker and the last run survive a new image and a move to another hook; undefined stops it', () => {
    const { board } = vboard('nrf52840dk');
    board.install({ id: 'c', hook: 'sensor', image: image('mov %r0, 1\nexit') });
    const got: bigint[] = [];
    board.takeResults('c', (r) => got.push(r.r0));
    assert.equal(board.lastRun('c'), undefined);
    board.sampleSensor('NRF_TEMP');
    assert.deepEqual(board.lastRun('c'), { r0: 1n, insns: 2, estimatedUs: board.lastRun('c')!.estimatedUs });
    board.replaceImage('c', image('mov %r0, 2\nmov %r0, 2\nexit'));
    assert.equal(board.lastRun('c')?.r0, 1n, 'the last run is shown until the new image runs');
    board.sampleSensor('NRF_TEMP');
    board.attach('c', 'timer');
    board.fireTimer();
    assert.deepEqual(got, [1n, 2n, 2n]);
    assert.equal(board.lastRun('c')?.insns, 3);
    board.takeResults('c', undefined);
    board.fireTimer();
    assert.equal(got.length, 3);
    board.remove('c');
    assert.equal(board.lastRun('c'), undefined);
  });

  it('keeps the last sample of each sensor on its device and counts samples, with nobody listening', () => {
    const { board } = vboard('nrf52840dk');
    board.setSensor('NRF_TEMP', 23.5);
    const before = board.samples;
    board.sampleSensor('NRF_TEMP');
    board.sampleSensor('NRF_TEMP');
    assert.equal(board.samples, before + 2);
    const dev = board.devices().find((d) => d.name === 'NRF_TEMP')!;
    assert.deepEqual(dev.lastSample?.val.slice(0, 1), [2350]);
  });

  it("the board's own timers (unkept) reuse one hook result and each container's report: nothing per event to keep", () => {
    const { board } = vboard('nrf52840dk');
    board.install({ id: 'c', hook: 'sensor', image: image('ldxw %r0, [%r1+8]\nexit') });
    const seen = new Set<unknown>();
    const byClass = new Set<unknown>();
    board.takeResults('c', (r) => {
      seen.add(r);
      byClass.add(r.byClass);
    });
    const results = new Set<unknown>();
    for (let i = 0; i < EVENTS; i++) {
      board.setSensor('NRF_TEMP', 20 + i / 100);
      results.add(board.sampleSensor('NRF_TEMP', true));
      assert.equal(board.lastRun('c')?.r0, BigInt(2000 + i), 'each reused report carries its own run');
    }
    assert.equal(results.size, 1, 'one hook result');
    assert.equal(seen.size, 1, 'one report');
    assert.equal(byClass.size, 1, 'one byClass');
    // A caller that keeps the result gets fresh reports, and so does everyone while the board has a 'result' listener.
    const kept = [board.sampleSensor('NRF_TEMP'), board.sampleSensor('NRF_TEMP')];
    assert.notEqual(kept[0].reports[0], kept[1].reports[0]);
    const listened: unknown[] = [];
    board.on('result', (r) => listened.push(r));
    board.sampleSensor('NRF_TEMP', true);
    board.sampleSensor('NRF_TEMP', true);
    assert.notEqual(listened[0], listened[1]);
  });

  it('a steady sensor event on the board allocates no objects: example 02\'s threshold container, random-walk sensor (new-space bytes, counted)', () => {
    // In a process of its own: here, thousands of earlier tests have made V8's call sites polymorphic.
    const r = spawnSync(process.execPath, [path.join(__dirname, 'alloc-probe.js')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const perEvent = JSON.parse(r.stdout) as number[];
    assert.equal(perEvent.length, 3);
    // A report is ~200 bytes, a hook result ~150, a sample's phydat ~100: none of them may be
    // made per event. What remains is V8 boxing a number now and then (16 bytes each).
    for (const n of perEvent) assert.ok(n < 100, `${perEvent.map((x) => x.toFixed(1)).join(', ')} bytes per event`);
  });

  it('a reused context buffer is rewritten whole', () => {
    const b = new Uint8Array(16).fill(0xaa);
    const fresh = sensorContext(7, 0x82, { val: [-3, 4, 5], unit: 2, scale: -2 });
    assert.deepEqual(sensorContext(7, 0x82, { val: [-3, 4, 5], unit: 2, scale: -2 }, b), fresh);
  });
});
