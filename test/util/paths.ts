/**
 * Where tests find the repository root and the peer-shared folder (`../shared` beside the clone),
 * whether they run from `test/` sources or from the compiled `dist/test/`.
 */
import * as path from 'node:path';
import { packageRoot } from '../../lib/package-root';


export const ROOT = packageRoot(__dirname);
export const SHARED = process.env.FEMTO_SHARED_DIR ?? path.resolve(ROOT, '..', 'shared');
export const CONFORMANCE_DIR = path.join(SHARED, 'conformance');
export const BENCH_DIR = path.join(SHARED, 'bench');
