/**
 * The compiled tier's translator keeps its shape: opcodes are named through vm/opcodes.ts
 * (no bare `case 0x..:` label, no bare opcode compare), load/store sizes and the jump-target
 * formula come from opcodes.ts, and no translator file grows past 650 lines.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LOAD_SIZE, OP, STORE_SIZE, jumpTarget } from '../../vm/opcodes';
import { ROOT } from '../util/paths';

const FILES = ['wasm-compiler.ts', 'wasm-blocks.ts', 'wasm-module-emitter.ts', 'wasm-emit-loops.ts', 'wasm-state.ts', 'wasm-code.ts', 'wasm-loop-plans.ts', 'wasm-emit-insn.ts'];
const text = (f: string): string => fs.readFileSync(path.join(ROOT, 'vm', f), 'utf8');

describe('compiled tier translator: source shape', () => {
  for (const f of FILES) {
    it(`${f}: at most 650 lines, no bare opcode in a case label or an opcode compare`, () => {
      const src = text(f);
      assert.ok(src.split('\n').length <= 650, `${f} has ${src.split('\n').length} lines`);
      const code = src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      assert.deepEqual(code.match(/case\s+0x[0-9a-f]+\s*:/gi) ?? [], []);
      assert.deepEqual(code.match(/\b(op|opcode|code|base)\s*[!=]==\s*0x[0-9a-f]+/gi) ?? [], []);
      assert.doesNotMatch(code, /LOAD_SIZE\s*=\s*new|STORE_SIZE\s*=/, 'sizes come from opcodes.ts');
    });
  }

  it('opcodes.ts: load/store sizes and jump targets', () => {
    assert.deepEqual([OP.LDXB, OP.LDXH, OP.LDXW, OP.LDXDW, OP.LDXSB, OP.LDXSH, OP.LDXSW].map((o) => LOAD_SIZE[o]), [1, 2, 4, 8, 1, 2, 4]);
    assert.deepEqual([OP.STB, OP.STH, OP.STW, OP.STDW, OP.STXB, OP.STXH, OP.STXW, OP.STXDW].map((o) => STORE_SIZE[o]), [1, 2, 4, 8, 1, 2, 4, 8]);
    assert.equal([...LOAD_SIZE].filter((n) => n > 0).length, 7);
    assert.equal([...STORE_SIZE].filter((n) => n > 0).length, 8);
    assert.equal(STORE_SIZE[OP.ATOMIC_DW], 0);
    assert.equal(jumpTarget(OP.JA, 10, -3, 99), 8);
    assert.equal(jumpTarget(OP.JA32, 10, 99, -3), 8);
    assert.equal(jumpTarget(0x15, 10, 5, 0), 16);
    assert.equal(jumpTarget(OP.CALL, 10, 0, 4), 15);
  });
});
