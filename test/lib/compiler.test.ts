/**
 * Compiler front (lib/compiler.ts): clang missing → ClangNotFoundError saying how to install it;
 * compile errors → CompileError with clang's file:line:col diagnostics; timeout and output cap
 * (with a fake clang script); C → image end to end (needs clang on PATH, skipped otherwise).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildFromC, ClangNotFoundError, compileC, CompileError, parseDiagnostics } from '../../lib/compiler';
import { FormatError } from '../../vm/errors';
import { isElf, loadElf } from '../../vm/elf';
import { parseImage } from '../../vm/image';
import { ROOT } from '../util/paths';
import { CLANG, need } from '../util/needs';

const C_DIR = path.join(ROOT, 'test', 'c');

async function rejects<T extends Error>(p: Promise<unknown>, cls: new (...a: never[]) => T): Promise<T> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    return e;
  }
  assert.fail(`expected ${cls.name}`);
}

describe('lib/compiler: C → eBPF object → RIOT image', function () {
  this.timeout(60_000);
  let tmp = '';
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-cc-test-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  beforeEach(function () {
    if (this.currentTest?.title.startsWith('[clang]')) need(this, CLANG);
  });

  describe('clang missing', () => {
    it('a clang name not on PATH → ClangNotFoundError with install advice', async () => {
      const e = await rejects(compileC('int f(void){return 0;}\n', { clang: 'femto-no-such-clang-binary' }), ClangNotFoundError);
      assert.ok(e instanceof FormatError);
      assert.equal(e.format, 'c');
      assert.match(e.message, /femto-no-such-clang-binary/);
      assert.match(e.message, /apt-get install clang/);
    });

    it('a PATH without clang → ClangNotFoundError', async () => {
      const saved = process.env.PATH;
      const savedClang = process.env.FEMTO_CLANG;
      delete process.env.FEMTO_CLANG;
      process.env.PATH = tmp; // an empty folder
      try {
        const e = await rejects(compileC('int f(void){return 0;}\n'), ClangNotFoundError);
        assert.match(e.message, /"clang" not found/);
      } finally {
        process.env.PATH = saved;
        if (savedClang !== undefined) process.env.FEMTO_CLANG = savedClang;
      }
    });

    it('a wrong clang path → ClangNotFoundError', async () => {
      await rejects(compileC('int f(void){return 0;}\n', { clang: path.join(tmp, 'no', 'clang') }), ClangNotFoundError);
    });
  });

  describe('process control (fake clang)', () => {
    const script = (name: string, body: string): string => {
      const p = path.join(tmp, name);
      fs.writeFileSync(p, `#!/bin/sh\nPATH=/usr/bin:/bin\n${body}\n`, { mode: 0o755 });
      return p;
    };

    it('is stopped after timeoutMs', async function () {
      if (process.platform === 'win32') this.skip();
      const slow = script('slow-clang', 'sleep 10');
      const t0 = Date.now();
      const e = await rejects(compileC('int f(void){return 0;}\n', { clang: slow, timeoutMs: 300 }), CompileError);
      assert.match(e.message, /did not finish within 300 ms/);
      assert.ok(Date.now() - t0 < 5000);
    });

    it('keeps at most maxOutputBytes of output', async function () {
      if (process.platform === 'win32') this.skip();
      const noisy = script('noisy-clang', 'head -c 1000000 /dev/zero | tr "\\0" x >&2; exit 1');
      const e = await rejects(compileC('int f(void){return 0;}\n', { clang: noisy, maxOutputBytes: 1000 }), CompileError);
      assert.ok(e.output.length < 1200, `output kept: ${e.output.length}`);
      assert.match(e.output, /999000 more bytes of compiler output dropped/);
    });

    it('passes arguments without a shell (a file name with shell syntax stays a file name)', async function () {
      need(this, CLANG);
      const odd = path.join(tmp, 'a b;$(touch pwned)`x`.c');
      fs.writeFileSync(odd, 'unsigned long long f(void){return 7;}\n');
      const { object } = await compileC({ path: odd });
      assert.ok(isElf(object));
      assert.equal(fs.existsSync(path.join(tmp, 'pwned')), false);
    });

    it('rejects an unknown optimisation level', async () => {
      const e = await rejects(compileC('int f(void){return 0;}\n', { optimize: 'O9' }), FormatError);
      assert.equal(e.where.field, 'optimize');
    });
  });

  describe('diagnostics', () => {
    it('parseDiagnostics reads file:line:col: severity: message', () => {
      const d = parseDiagnostics("x.c:3:12: error: use of undeclared identifier 'y'\nx.c:1:1: warning: w\n  3 | int z = y;\n");
      assert.deepEqual(d, [
        { file: 'x.c', line: 3, column: 12, severity: 'error', message: "use of undeclared identifier 'y'" },
        { file: 'x.c', line: 1, column: 1, severity: 'warning', message: 'w' },
      ]);
    });

    it('[clang] a compile error → CompileError with line and column, in the user\'s file name', async () => {
      const src = 'typedef unsigned long long u64;\n\nu64 f(u64 *ctx)\n{\n    return *ctx + undeclared_thing;\n}\n';
      const e = await rejects(compileC({ source: src, fileName: 'my_container.c' }), CompileError);
      assert.equal(e.format, 'c');
      assert.equal(e.where.line, 5);
      assert.ok((e.where.column ?? 0) > 0);
      assert.match(e.message, /my_container\.c:5:\d+: error: use of undeclared identifier 'undeclared_thing'/);
      assert.doesNotMatch(e.message, /femto-cc-/); // no temporary path leaks
      assert.equal(e.diagnostics[0].line, 5);
      assert.equal(e.diagnostics[0].file, 'my_container.c');
    });

    it('[clang] -nostdinc: libc headers are not available', async () => {
      const e = await rejects(compileC('#include <stdio.h>\nint f(void){return 0;}\n'), CompileError);
      assert.match(e.message, /container\.c:1:\d+: fatal error: 'stdio\.h' file not found/);
      assert.equal(e.where.line, 1);
    });

    it('[clang] errors in a source file on disk name that file', async () => {
      const file = path.join(tmp, 'broken.c');
      fs.writeFileSync(file, 'int f(void)\n{\n  return 1\n}\n');
      const e = await rejects(compileC(file), CompileError);
      assert.ok(e.diagnostics.some((d) => d.file.endsWith('broken.c') && d.line === 3 && d.severity === 'error'));
    });
  });

  describe('end to end', () => {
    it('[clang] increment.c → the 74-byte image of ARCHITECTURE.md § Image format', async () => {
      const bytes = await buildFromC(path.join(C_DIR, 'increment.c'));
      assert.equal(bytes.length, 74);
      const img = parseImage(bytes);
      assert.deepEqual(img.functions.map((f) => f.name), ['increment']);
    });

    it('[clang] source text, include dirs, defines and optimisation options', async () => {
      const inc = path.join(tmp, 'inc');
      fs.mkdirSync(inc, { recursive: true });
      fs.writeFileSync(path.join(inc, 'mine.h'), 'typedef unsigned long long u64;\n');
      const src = '#include "mine.h"\n#include <mine.h>\nu64 f(u64 *c) { return *c + STEP; }\n';
      const { object } = await compileC(src, { includeDirs: [inc], defines: { STEP: 3 }, optimize: 'Os' });
      const l = loadElf(object);
      assert.deepEqual(l.image.functions.map((f) => f.name), ['f']);
      // r0 += 3 somewhere in the text
      const t = l.image.text;
      let found = false;
      for (let i = 0; i < t.length; i += 8) if (t[i] === 0x07 && t[i + 4] === 3) found = true;
      assert.ok(found);
    });

    it('[clang] every test/c program builds', async () => {
      for (const f of fs.readdirSync(C_DIR).filter((n) => n.endsWith('.c'))) {
        const img = parseImage(await buildFromC({ path: path.join(C_DIR, f) }));
        assert.equal(img.functions[0].name, f.replace(/\.c$/, ''));
      }
    });

    it('[clang] an object the loader refuses surfaces as FormatError("elf")', async () => {
      const e = await rejects(buildFromC('extern long foo(long);\nlong f(long a) { return foo(a); }\n'), FormatError);
      assert.equal(e.format, 'elf');
      assert.match(e.message, /R_BPF_64_32 .*"foo"/);
    });
  });
});
