/**
 * Source lines in the `femto` CLI, run as a child process in a temporary folder:
 * `femto run --json`'s fault has `"source":{"file","line"}` for programs that carry line
 * information (an ELF object built with -g, C, assembly) and none otherwise; `femto disasm`
 * interleaves the C lines (objdump -S), with their text when the source is readable;
 * `femto verify` names the line of a rejection.
 */
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../util/paths';
import { CLANG, itNeeds } from '../util/needs';

const MAIN = path.join(ROOT, 'dist', 'lib', 'cli', 'main.js');
const INCLUDE = path.join(ROOT, 'lib', 'include');

/** Line 9 writes outside the context (r1 + 4096). */
const OOB_C = `#include "femto.h"

/* Writes past the end of its context. */
int oob(uint32_t *ctx)
{
    uint32_t v = ctx[0];
    if (v == 7)
        return 1;
    ctx[1024] = v;
    return 0;
}
`;

let tmp = '';
function femto(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: tmp, timeout: 60_000, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const json = (s: string): Record<string, any> => JSON.parse(s.trim()) as Record<string, any>;
function clang(src: string, out: string, flags: string[]): void {
  execFileSync('clang', ['-target', 'bpf', '-O2', '-nostdinc', `-I${INCLUDE}`, ...flags, '-c', src, '-o', out], { cwd: tmp, stdio: 'pipe' });
}

describe('femto CLI: source lines', function () {
  this.timeout(60_000);
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-cli-src-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  itNeeds(CLANG, 'run --json: an ELF object built with -g gives the fault "source": {"file":"oob.c","line":9}; without -g none', () => {
    fs.writeFileSync(path.join(tmp, 'oob.c'), OOB_C);
    clang('oob.c', 'oob.o', ['-g']);
    clang('oob.c', 'plain.o', []);
    const mem = ['--mem', '01000000'];
    const g = femto(['run', 'oob.o', ...mem, '--json']);
    assert.equal(g.code, 1, g.stderr);
    const f = json(g.stdout).fault;
    assert.equal(f.code, -2);
    assert.deepEqual(f.source, { file: 'oob.c', line: 9 });
    const plain = json(femto(['run', 'plain.o', ...mem, '--json']).stdout).fault;
    assert.equal(plain.code, -2);
    assert.equal(plain.pc, f.pc, 'the same code');
    assert.equal('source' in plain, false);
    // Text output names the line too.
    assert.match(femto(['run', 'oob.o', ...mem]).stdout, /^at oob\.c:9$/m);
    // C given to the CLI directly: the file as given.
    assert.deepEqual(json(femto(['run', 'oob.c', ...mem, '--json']).stdout).fault.source, { file: 'oob.c', line: 9 });
    // A run that does not fault has no fault and so no source.
    assert.equal(json(femto(['run', 'oob.o', '--mem', '07000000', '--json']).stdout).fault, null);
  });

  it('run --json: an assembly program names its own line', () => {
    fs.writeFileSync(path.join(tmp, 'w.s'), '# writes to 0x10\nmov %r2, 0x10\n\nstw [%r2], 42\nexit\n');
    const f = json(femto(['run', 'w.s', '--json']).stdout).fault;
    assert.equal(f.pc, 1);
    assert.deepEqual(f.source, { file: 'w.s', line: 4 });
  });

  itNeeds(CLANG, 'disasm of a -g object interleaves the C lines with their text; without the source file, the location alone', () => {
    fs.writeFileSync(path.join(tmp, 'oob.c'), OOB_C);
    clang('oob.c', 'oob.o', ['-g']);
    const out = femto(['disasm', 'oob.o']).stdout.split('\n');
    const at = out.findIndex((l) => l === '; oob.c:9  ctx[1024] = v;');
    assert.ok(at > 0, out.join('\n'));
    assert.match(out[at + 1], /^\s*\d+: /);
    assert.ok(out.indexOf('<oob>:') < out.findIndex((l) => l.startsWith('; oob.c:')), 'the function label comes first');
    // Moved elsewhere: found next to the object.
    fs.mkdirSync(path.join(tmp, 'moved'), { recursive: true });
    fs.copyFileSync(path.join(tmp, 'oob.o'), path.join(tmp, 'moved', 'oob.o'));
    fs.renameSync(path.join(tmp, 'oob.c'), path.join(tmp, 'moved', 'oob.c'));
    assert.ok(femto(['disasm', 'moved/oob.o']).stdout.split('\n').includes('; oob.c:9  ctx[1024] = v;'));
    fs.rmSync(path.join(tmp, 'moved', 'oob.c'));
    const bare = femto(['disasm', 'moved/oob.o']).stdout.split('\n');
    assert.ok(bare.includes('; oob.c:9'), bare.join('\n'));
    // Assembly is not interleaved with itself.
    fs.writeFileSync(path.join(tmp, 'w.s'), 'mov %r0, 1\nexit\n');
    assert.ok(!femto(['disasm', 'w.s']).stdout.split('\n').some((l) => l.startsWith(';')));
  });

  it('verify --profile riot-2022 warns about a loop that can outrun the branch budget, naming its line', () => {
    fs.writeFileSync(path.join(tmp, 'sum.s'), 'mov %r0, 0\nmov %r1, 300\nloop:\nadd %r0, %r1\nsub %r1, 1\njne %r1, 0, loop\nexit\n');
    const riot = femto(['verify', 'sum.s', '--profile', 'riot-2022']);
    assert.equal(riot.code, 0);
    assert.match(riot.stdout, /^warning: riot-2022 allows 200 taken branches per run and the loop at sum\.s:6 \(pc 4\) may need more .*rfc9669/m);
    assert.doesNotMatch(femto(['verify', 'sum.s', '--profile', 'rfc9669']).stdout, /taken branches/);
  });

  itNeeds(CLANG, 'verify names the C line of a rejection (JSON "source", text with the line)', () => {
    fs.writeFileSync(path.join(tmp, 'say.c'), '#include "femto.h"\nint say(void *ctx)\n{\n    bpf_printf("hi\\n");\n    return 0;\n}\n');
    clang('say.c', 'say.o', ['-g']);
    const j = femto(['verify', 'say.o', '--helpers', 'none', '--json']);
    assert.equal(j.code, 1);
    const o = json(j.stdout);
    assert.equal(o.code, -4);
    assert.deepEqual(o.source, { file: 'say.c', line: 4 });
    assert.match(femto(['verify', 'say.o', '--helpers', 'none']).stdout, /^at say\.c:4: {2}bpf_printf\("hi\\n"\);$/m);
  });
});
