/**
 * The compiled modules the editor's Try panel runs in the page: lib/try/try-run.js and everything
 * it requires, found by following the `require("./…")` calls tsc emits. Served as one JSON object
 * by the admin endpoint GET femto/try/modules, so the page loads our own compiled code with a
 * tiny CommonJS loader (no bundler, no copy of code we did not write) and only these files can
 * be fetched. A module that requires anything but a relative path (a `node:` module, a package)
 * cannot run in a browser: collecting refuses it, and a test keeps the closure clean.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const TRY_ENTRY = 'lib/try/try-run.js';

export interface TryModules {
  entry: string;
  /** Path relative to the compiled root (dist/) → source text. */
  files: Record<string, string>;
}

const REQUIRE = /\brequire\("([^"]+)"\)/g;

/** Collect the closure of `entry` under `root` (the compiled dist/ folder). */
export function collectTryModules(root: string, entry = TRY_ENTRY): TryModules {
  const files: Record<string, string> = {};
  const todo = [entry];
  while (todo.length) {
    const rel = todo.pop()!;
    if (Object.hasOwn(files, rel)) continue;
    const text = fs.readFileSync(path.join(root, rel), 'utf8');
    files[rel] = text;
    for (const m of text.matchAll(REQUIRE)) {
      const spec = m[1];
      if (!spec.startsWith('./') && !spec.startsWith('../')) {
        throw new Error(`${rel} requires "${spec}", which does not run in the editor's page`);
      }
      const next = path.posix.normalize(path.posix.join(path.posix.dirname(rel), spec)) + '.js';
      if (next.startsWith('..')) throw new Error(`${rel} requires "${spec}", outside the compiled package`);
      todo.push(next);
    }
  }
  return { entry, files };
}

let cached: TryModules | undefined;

/** The closure from the installed package's dist/, read once. */
export function tryModules(root: string): TryModules {
  cached ??= collectTryModules(root);
  return cached;
}
