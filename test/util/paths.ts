/**
 * Where tests find the repository root and the test data kept in the repository (`test/data/`),
 * whether they run from `test/` sources or from the compiled `dist/test/`. Nothing outside the
 * clone is read.
 */
import * as path from 'node:path';
import { packageRoot } from '../../lib/package-root';


export const ROOT = packageRoot(__dirname);
export const DATA_DIR = path.join(ROOT, 'test', 'data');
export const CONFORMANCE_DIR = path.join(DATA_DIR, 'conformance');
export const BENCH_DIR = path.join(DATA_DIR, 'bench');
