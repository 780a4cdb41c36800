/**
 * Bytes allocated per steady sensor event on an emulated board, measured in a process of its own
 * (event-path.test.ts spawns it): in the test runner's process thousands of earlier tests have
 * made V8's type feedback polymorphic, which measures the test suite rather than a board.
 *
 * Example 02's threshold container (SAUL find and write, a local-store fetch) on a random-walk
 * sensor below its threshold, fired the way the board's own timers fire it (unkept), on three
 * boards in turn. Prints a JSON array: new-space bytes per event for each board, the best of 20
 * batches of 1,000 events (a batch a scavenge cut short does not count).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { randomWalk } from '../../../lib/board/sources';
import { ROOT } from '../../util/paths';
import { vboard } from './util';

export function bytesPerEvent(boards = 3): number[] {
  const ex = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', '02 - Sensor threshold alarm.json'), 'utf8')) as { type: string; image?: string }[];
  const threshold = Buffer.from(ex.find((n) => n.type === 'femto-container' && n.image)!.image!, 'base64');
  const newSpace = (): number => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;
  const perEvent: number[] = [];
  for (let b = 0; b < boards; b++) {
    const { board } = vboard('nrf52840dk', { slice: { ms: 5 } });
    board.install({ id: 'c', hook: 'sensor', image: threshold });
    board.takeResults('c', () => undefined);
    const dev = board.devices().find((d) => d.name === 'NRF_TEMP')!;
    dev.source = randomWalk({ start: 22, step: 0.05, min: 21, max: 23, seed: 7 + b }); // below 25 °C: steady
    for (let i = 0; i < 20_000; i++) board.sampleDevice(dev, true);
    let best = Infinity;
    for (let k = 0; k < 20; k++) {
      const a = newSpace();
      for (let i = 0; i < 1000; i++) board.sampleDevice(dev, true);
      const z = newSpace();
      if (z >= a) best = Math.min(best, (z - a) / 1000);
    }
    if (board.lastRun('c')?.r0 !== 0n) throw new Error('the threshold container did not stay below its threshold');
    perEvent.push(best);
  }
  return perEvent;
}

if (require.main === module) process.stdout.write(JSON.stringify(bytesPerEvent()));
