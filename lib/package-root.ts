/**
 * Where this package is installed: the nearest folder above the running file that holds a
 * package.json. The same answer from lib/ sources, the built dist/, and tests.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function packageRoot(start: string = __dirname): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`package.json not found above ${start}`);
    dir = up;
  }
  return dir;
}
