/**
 * Where tests find the repository root and the peer-shared folder (`../shared` beside the clone),
 * whether they run from `test/` sources or from the compiled `dist/test/`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

function findRoot(start: string): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`package.json not found above ${start}`);
    dir = up;
  }
  return dir;
}

export const ROOT = findRoot(__dirname);
export const SHARED = process.env.FEMTO_SHARED_DIR ?? path.resolve(ROOT, '..', 'shared');
export const CONFORMANCE_DIR = path.join(SHARED, 'conformance');
export const BENCH_DIR = path.join(SHARED, 'bench');
