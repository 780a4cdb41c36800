/**
 * The steady sensor event path reuses what it can: counted, never timed. A board that
 * samples the same container again and again must not remap the context region, make new run
 * options or a new VM result per event, and must build the 'sample' event only for a listener.
 */
import { strict as assert } from 'node:assert';
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

  it('a reused context buffer is rewritten whole', () => {
    const b = new Uint8Array(16).fill(0xaa);
    const fresh = sensorContext(7, 0x82, { val: [-3, 4, 5], unit: 2, scale: -2 });
    assert.deepEqual(sensorContext(7, 0x82, { val: [-3, 4, 5], unit: 2, scale: -2 }, b), fresh);
  });
});
