/**
 * Line information through the editor's C compile: the guarded compile keeps
 * clang's line table, names the user's file as the node calls it and the shipped headers by their
 * own names, never a folder of the server, and -g changes no byte of the image.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compileC, defaultIncludeDir } from '../../../lib/compiler';
import { buildProgram, sourceFileName } from '../../../lib/node-support/program';
import { compileSandboxed, userFileNames } from '../../../lib/node-support/sandbox';
import { loadElf } from '../../../vm/elf';
import { buildImage } from '../../../vm/image';
import { ROOT } from '../../util/paths';
import { CLANG, itNeeds } from '../../util/needs';

const CONTAINERS = path.join(ROOT, 'lib', 'containers');

describe('source maps of the guarded C compile', function () {
  this.timeout(60_000);

  itNeeds(CLANG, 'every lib/containers program: the map names only the user\'s file, no server path; the image is the one without -g', async () => {
    for (const f of fs.readdirSync(CONTAINERS).filter((x) => x.endsWith('.c'))) {
      const src = fs.readFileSync(path.join(CONTAINERS, f), 'utf8');
      const r = await compileSandboxed(src, { fileName: f });
      assert.ok(r.sourceMap, f);
      const files = new Set(r.sourceMap.slots.filter(Boolean).map((s) => s!.file));
      assert.deepEqual([...files], [f], f);
      assert.deepEqual(r.sourceMap.paths, {});
      const text = JSON.stringify(r.sourceMap);
      assert.ok(!text.includes(os.tmpdir()) && !text.includes('femto-cc-') && !text.includes(ROOT), f);
      // Every line named is a line of the source.
      const lines = src.split('\n').length;
      assert.ok(r.sourceMap.slots.every((s) => s === null || (s.line >= 1 && s.line <= lines)), f);
      const { object } = await compileC({ source: src }, { debug: false });
      assert.deepEqual(r.image, buildImage(loadElf(object).image), `${f}: -g changed the image`);
    }
  });

  it('header files are named as in the header folder, other paths by their base name', () => {
    const inc = defaultIncludeDir()!;
    const map = { slots: [{ file: 'container.c', line: 3 }, { file: path.join(inc, 'femto.h'), line: 9 }, { file: path.join(inc, 'bpf', 'shared.h'), line: 2 }, { file: '/somewhere/else/x.h', line: 1 }, null], paths: { 'container.c': '/tmp/femto-cc-1/container.c' } };
    assert.deepEqual(userFileNames(map, inc, 'threshold.c'), {
      slots: [{ file: 'threshold.c', line: 3 }, { file: 'femto.h', line: 9 }, { file: 'bpf/shared.h', line: 2 }, { file: 'x.h', line: 1 }, null],
      paths: {},
    });
  });

  it('a node\'s source is called by its name and language', () => {
    assert.equal(sourceFileName('threshold', 'c'), 'threshold.c');
    assert.equal(sourceFileName('threshold.c', 'c'), 'threshold.c');
    assert.equal(sourceFileName('', 'c'), 'container.c');
    assert.equal(sourceFileName(undefined, 'asm'), 'program.s');
    assert.equal(sourceFileName('a/b\\c', 'asm'), 'a_b_c.s');
  });

  itNeeds(CLANG, 'buildProgram carries the map of a C program under the given file name', async () => {
    const p = await buildProgram({ language: 'c', source: '#include "femto.h"\nint f(void *c)\n{\n    return 7;\n}\n', fileName: 'seven.c' });
    assert.ok(p?.sourceMap);
    assert.ok(p.sourceMap.slots.some((s) => s?.file === 'seven.c' && s.line === 4));
  });
});
