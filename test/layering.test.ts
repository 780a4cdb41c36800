/**
 * The layering rules of ARCHITECTURE.md § Layers, checked on the sources: vm/ imports nothing from
 * lib/ or nodes/, no `node:` module, no Node-RED and no npm package (it also runs in the editor's
 * page); lib/ never imports nodes/ or Node-RED — save @node-red/util, Node-RED's standalone message
 * utilities (property paths, typed inputs), which lib/ uses where no node hands it RED.util.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './util/paths';

function sources(dir: string): string[] {
  const full = path.join(ROOT, dir);
  if (!fs.existsSync(full)) return [];
  return fs.readdirSync(full, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => path.join(dir, f));
}

function imports(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/(?:from\s+|require\(\s*|import\(\s*)['"]([^'"]+)['"]/g)) found.push(m[1]);
  return found;
}

describe('layering', () => {
  it('vm/ imports only vm/ (no node:, no packages, no lib/ or nodes/)', () => {
    const bad: string[] = [];
    for (const f of sources('vm')) {
      for (const spec of imports(f)) {
        const ok = spec.startsWith('./') && !path.normalize(path.join(path.dirname(f), spec)).startsWith('..') &&
          path.normalize(path.join(path.dirname(f), spec)).startsWith('vm');
        if (!ok) bad.push(`${f}: ${spec}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('vm/ uses no Node.js globals', () => {
    const bad: string[] = [];
    for (const f of sources('vm')) {
      const text = fs.readFileSync(path.join(ROOT, f), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      for (const g of ['process.', 'Buffer.', 'require(', '__dirname', 'setImmediate']) if (text.includes(g)) bad.push(`${f}: ${g}`);
    }
    assert.deepEqual(bad, []);
  });

  it('lib/ never imports nodes/ or Node-RED (but may use @node-red/util)', () => {
    const bad: string[] = [];
    for (const f of sources('lib')) {
      for (const spec of imports(f)) {
        const target = spec.startsWith('.') ? path.normalize(path.join(path.dirname(f), spec)) : spec;
        const nodeRedPackage = !spec.startsWith('.') && /node-red/.test(spec) && spec !== '@node-red/util';
        if (target.startsWith('nodes') || nodeRedPackage) bad.push(`${f}: ${spec}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  /** Imports of files under `from` that resolve into one of the folders `forbidden`. */
  function crossings(from: string, forbidden: string[]): string[] {
    const bad: string[] = [];
    for (const f of sources(from)) {
      for (const spec of imports(f)) {
        if (!spec.startsWith('.')) continue;
        const target = path.normalize(path.join(path.dirname(f), spec)).split(path.sep).join('/');
        if (forbidden.some((d) => target === d || target.startsWith(d + '/'))) bad.push(`${f}: ${spec}`);
      }
    }
    return bad;
  }

  it('lib/coap (the message codec) imports nothing else of lib/', () => {
    assert.ok(sources('lib/coap').length > 0);
    assert.deepEqual(crossings('lib/coap', ['lib/board', 'lib/deploy', 'lib/device', 'lib/node-support', 'lib/cli']), []);
  });

  it('lib/deploy (manifests, signatures, transport) does not import lib/board: the device that joins them is lib/device', () => {
    assert.ok(sources('lib/deploy').length > 0);
    assert.deepEqual(crossings('lib/deploy', ['lib/board', 'lib/device']), []);
  });

  it('lib/board does not import deployment or the device', () => {
    assert.deepEqual(crossings('lib/board', ['lib/deploy', 'lib/device']), []);
  });
});
