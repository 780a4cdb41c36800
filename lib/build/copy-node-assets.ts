/**
 * Build step after `tsc`: put the Node-RED editor files beside the compiled node files, where
 * Node-RED looks for them (NODE-RED.md): every `.html` under `nodes/` (nodes and plugins) and every
 * file of a `locales/` folder (`.json`, `.html`) → the same place under `dist/nodes/`, and the top-level `icons/` → `dist/nodes/icons/`. Stale copies of files
 * that no longer exist in the sources are removed, so dist/ mirrors the sources exactly.
 *
 * Run as `node dist/lib/build/copy-node-assets.js` (package.json `build`: tsc, then this).
 * Copies files only; it never reads or imports the nodes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../package-root';


function listFiles(dir: string, filter: (f: string) => boolean): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((f) => fs.statSync(path.join(dir, f)).isFile() && filter(f))
    .sort();
}

/** Mirror `from` (files passing `filter`) into `to`; returns the relative paths copied. */
function mirror(from: string, to: string, filter: (f: string) => boolean, removeStale: boolean): string[] {
  const files = listFiles(from, filter);
  if (removeStale) {
    const wanted = new Set(files);
    for (const f of listFiles(to, filter)) if (!wanted.has(f)) fs.rmSync(path.join(to, f));
  }
  for (const f of files) {
    const dst = path.join(to, f);
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.copyFileSync(path.join(from, f), dst);
  }
  return files;
}

export function copyNodeAssets(root = packageRoot(__dirname)): string[] {
  const src = path.join(root, 'nodes');
  const out = path.join(root, 'dist', 'nodes');
  const copied: string[] = [];
  // Every editor file under nodes/ (node and plugin .html), and every locale file (.json/.html).
  const asset = (f: string): boolean => f.endsWith('.html') || (/\.json$/.test(f) && f.split(path.sep).includes('locales'));
  copied.push(...mirror(src, out, asset, true).map((f) => `nodes/${f.split(path.sep).join('/')}`));
  copied.push(...mirror(path.join(root, 'icons'), path.join(out, 'icons'), (f) => /\.(svg|png)$/.test(f), true).map((f) => `icons/${f}`));
  return copied;
}

if (require.main === module) {
  const files = copyNodeAssets();
  process.stdout.write(`copy-node-assets: ${files.length} files into dist/nodes\n`);
}
