/**
 * Small modules with one job: no TypeScript source of vm/, lib/ or nodes/ grows past 650 lines.
 * The one exception is named with its reason, and the test fails when the exception is no longer
 * needed, so it cannot outlive it.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './util/paths';

const MAX_LINES = 650;

/**
 * vm/interpreter.ts is the run loop: one function with one flat switch, so that V8 compiles it to
 * one jump table with the registers in locals (ARCHITECTURE.md § The two tiers). Everything else
 * it needs (the Machine, the fault kinds, 64-bit helpers) lives in other modules.
 */
const EXCEPTIONS: Record<string, number> = { 'vm/interpreter.ts': 760 };

function lineCounts(): Map<string, number> {
  const out = new Map<string, number>();
  for (const dir of ['vm', 'lib', 'nodes']) {
    for (const f of fs.readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })) {
      if (!f.endsWith('.ts') || f.endsWith('.d.ts')) continue;
      const file = `${dir}/${f.split(path.sep).join('/')}`;
      out.set(file, fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n').length - 1);
    }
  }
  return out;
}

describe('source size', () => {
  const counts = lineCounts();

  it(`no source file is over ${MAX_LINES} lines`, () => {
    assert.ok(counts.size > 100, `only ${counts.size} sources found`);
    const over = [...counts].filter(([f, n]) => n > (EXCEPTIONS[f] ?? MAX_LINES)).map(([f, n]) => `${f}: ${n} lines`);
    assert.deepEqual(over, []);
  });

  it('each exception is still needed (remove it once its file fits)', () => {
    for (const f of Object.keys(EXCEPTIONS)) {
      const n = counts.get(f);
      assert.ok(n !== undefined, `${f} no longer exists`);
      assert.ok(n > MAX_LINES, `${f} has ${n} lines: drop its exception`);
    }
  });
});
