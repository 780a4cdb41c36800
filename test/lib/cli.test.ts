/**
 * The `femto` command line (lib/cli/*), driven as a user drives it: `node dist/lib/cli/main.js …`
 * in a child process, in a temporary folder. Every command and exit code, the --json shapes,
 * detection of each input kind (lib/program-input.ts), bad input (one clear line, exit 2, no
 * stack), the bpf_conformance plugin protocol over the conformance vectors, and `femto build` from C
 * when clang is installed.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BENCH_DIR, CONFORMANCE_DIR, ROOT } from '../util/paths';
import { CLANG, need } from '../util/needs';
import { expectedResult, hexBytes, loadAssembled } from '../util/vectors';

const MAIN = path.join(ROOT, 'dist', 'lib', 'cli', 'main.js');

/** The 74-byte "increment" image of ARCHITECTURE.md § Image format. */
const INCREMENT_IMAGE =
  '72425046' + '00000000' + '00000000' + '00000000' + '10000000' + '18000000' + '01000000' + // header
  '696e6372656d656e7400000000000000' + // rodata: "increment", padded to 16
  '7910000000000000' + '0700000001000000' + '9500000000000000' + // text
  '000000000000'; // function table

interface Res {
  code: number | null;
  stdout: string;
  stderr: string;
  out: Buffer;
}

let tmp = '';

function femto(args: string[], input?: string): Res {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: tmp, input, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), out: r.stdout };
}

function write(name: string, content: string | Uint8Array): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, content);
  return f;
}

/** Exit 2, exactly one line on stderr that matches `re`, nothing that looks like a stack. */
function badInput(r: Res, re: RegExp): void {
  assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], re);
  noStack(r);
}

function noStack(r: Res): void {
  assert.doesNotMatch(r.stderr, /^\s+at /m, `stack trace on stderr:\n${r.stderr}`);
  assert.doesNotMatch(r.stdout, /^\s+at /m);
  assert.doesNotMatch(r.stderr, /internal error/);
}

function json(r: Res): Record<string, unknown> {
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `one JSON line, got:\n${r.stdout}`);
  return JSON.parse(lines[0]) as Record<string, unknown>;
}

const INCREMENT_S = 'ldxdw %r0, [%r1]\nadd %r0, 1\nexit\n';
const LE8 = (n: number) => Buffer.from(new BigUint64Array([BigInt(n)]).buffer).toString('hex');

describe('femto CLI (lib/cli)', function () {
  this.timeout(120_000);

  before(function () {
    if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run tsc first`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-cli-test-'));
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('help, version, usage errors', () => {
    it('--help lists the commands, exit 0', () => {
      const r = femto(['--help']);
      assert.equal(r.code, 0);
      for (const c of ['run', 'verify', 'disasm', 'asm', 'build', 'plugin']) assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
    });

    it('COMMAND --help and help COMMAND print the command usage, exit 0', () => {
      for (const c of ['run', 'verify', 'disasm', 'asm', 'build', 'plugin']) {
        const r = femto([c, '--help']);
        assert.equal(r.code, 0, c);
        assert.match(r.stdout, new RegExp(`^usage: femto ${c}`), c);
      }
      const h = femto(['help', 'run']);
      assert.equal(h.code, 0);
      assert.match(h.stdout, /--mem-file/);
    });

    it('--version prints the package version', () => {
      const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
      const r = femto(['--version']);
      assert.equal(r.code, 0);
      assert.equal(r.stdout.trim(), pkg.version);
    });

    it('no arguments: usage on stderr, exit 2', () => {
      const r = femto([]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /usage: femto/);
    });

    it('unknown command, unknown option, missing value, missing FILE, missing file: one line, exit 2', () => {
      write('inc.s', INCREMENT_S);
      badInput(femto(['frobnicate']), /unknown command 'frobnicate'/);
      badInput(femto(['--frob']), /unknown option '--frob'/);
      badInput(femto(['run', 'inc.s', '--frob']), /femto run: unknown option '--frob'/);
      badInput(femto(['verify', 'inc.s', '-x']), /unknown option '-x'/);
      badInput(femto(['run', 'inc.s', '--budget']), /option '--budget' needs a value/);
      badInput(femto(['run', 'inc.s', '--json=yes']), /option '--json' takes no value/);
      badInput(femto(['run']), /femto run: missing FILE/);
      badInput(femto(['verify', 'a.s', 'b.s']), /unexpected argument 'b.s'/);
      badInput(femto(['run', 'no-such-file.bin']), /no-such-file\.bin: no such file/);
      badInput(femto(['disasm', '.']), /is a directory/);
    });

    it('bad option values: exit 2 with the allowed values', () => {
      badInput(femto(['run', 'inc.s', '--profile', 'linux']), /unknown profile 'linux' \(one of rfc9669, riot-2022\)/);
      badInput(femto(['run', 'inc.s', '--budget', 'lots']), /--budget 'lots' is not an integer/);
      badInput(femto(['run', 'inc.s', '--budget', '0']), /--budget '0'/);
      badInput(femto(['run', 'inc.s', '--mem', 'zz']), /--mem: 'zz' is not hex bytes/);
      badInput(femto(['run', 'inc.s', '--format', 'pdf']), /unknown format 'pdf'/);
      badInput(femto(['verify', 'inc.s', '--helpers', 'teleport']), /unknown helper 'teleport'/);
      badInput(femto(['run', 'inc.s', '--mem', '00', '--mem-file', 'x']), /--mem or --mem-file, not both/);
    });

    it('--tier: interp, compiled and auto give the same result; unknown tiers are bad input', () => {
      write('inc.s', INCREMENT_S);
      // "tier" is the tier the run actually used; "tierReason" says why when it is not the one asked for.
      const AUTO_COLD = { tier: 'interp', tierReason: 'auto: the run ended before the program was hot enough to compile' };
      for (const [tier, used] of [['interp', { tier: 'interp' }], ['compiled', { tier: 'compiled' }], ['auto', AUTO_COLD]] as const) {
        for (const profile of ['rfc9669', 'riot-2022']) {
          const r = femto(['run', 'inc.s', '--mem', LE8(1), '--tier', tier, '--profile', profile, '--json']);
          assert.equal(r.code, 0, r.stderr);
          assert.deepEqual(JSON.parse(r.stdout), { r0: '0x2', insns: 3, fault: null, ...used }, `${tier} ${profile}`);
        }
      }
      const c = femto(['run', 'inc.s', '--mem', LE8(1), '--tier', 'compiled']);
      assert.match(c.stdout, /tier: compiled \(compiled in [0-9.]+ ms\)/);
      // riot-2022 (taken-branch budget, division faults) runs compiled too.
      const riot = femto(['run', 'inc.s', '--mem', LE8(1), '--tier', 'compiled', '--profile', 'riot-2022']);
      assert.match(riot.stdout, /tier: compiled \(compiled in/);
      badInput(femto(['run', 'inc.s', '--tier', 'jit']), /unknown tier 'jit'/);
    });
  });

  describe('asm', () => {
    it('assembles to raw bytecode (default output FILE.bin)', () => {
      write('inc.s', INCREMENT_S);
      const r = femto(['asm', 'inc.s']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /wrote .*inc\.bin: 24 bytes of bytecode, 3 instruction slots/);
      assert.equal(fs.readFileSync(path.join(tmp, 'inc.bin')).toString('hex'), '791000000000000007000000010000009500000000000000');
    });

    it('--image writes the RIOT image (ARCHITECTURE.md § Image format), its function named after the file', () => {
      write('increment.s', INCREMENT_S);
      const r = femto(['asm', 'increment.s', '--image', '-o', 'increment.rbf']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(fs.readFileSync(path.join(tmp, 'increment.rbf')).toString('hex'), INCREMENT_IMAGE);
    });

    it('--image names the function main when the file name is no identifier; --name overrides', () => {
      write('my-prog.s', INCREMENT_S);
      assert.equal(femto(['asm', 'my-prog.s', '--image', '-o', 'a.rbf']).code, 0);
      assert.match(femto(['disasm', 'a.rbf']).stdout, /functions: main @ pc 0/);
      assert.equal(femto(['asm', 'my-prog.s', '--image', '--name', 'tick', '-o', 'b.rbf']).code, 0);
      assert.match(femto(['disasm', 'b.rbf']).stdout, /<tick>:/);
    });

    it('-o - writes the bytes to stdout', () => {
      write('inc.s', INCREMENT_S);
      const r = femto(['asm', 'inc.s', '-o', '-']);
      assert.equal(r.code, 0);
      assert.equal(r.out.toString('hex'), '791000000000000007000000010000009500000000000000');
    });

    it('a .data vector assembles to its program', () => {
      const v = loadAssembled().find((x) => x.name === 'add.data')!;
      const r = femto(['asm', path.join(CONFORMANCE_DIR, 'add.data'), '-o', '-']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.out.toString('hex'), v.program);
    });

    it('bad assembly: exit 2, file name and line number in one line', () => {
      write('bad.s', 'mov %r0, 1\n\nfrob %r1, 2\nexit\n');
      badInput(femto(['asm', 'bad.s']), /bad\.s: asm: line 3:1: unknown mnemonic 'frob'/);
      assert.ok(!fs.existsSync(path.join(tmp, 'bad.bin')));
    });

    it('an image is not assembly: exit 2', () => {
      write('img.rbf', Buffer.from(INCREMENT_IMAGE, 'hex'));
      badInput(femto(['asm', 'img.rbf', '-o', 'x.bin']), /img\.rbf is a RIOT image, not assembly/);
    });

    it('refuses to overwrite its input by default; an unwritable output is exit 2', () => {
      write('prog.bin', 'mov %r0, 1\nexit\n');
      badInput(femto(['asm', 'prog.bin']), /would overwrite the input; give -o OUT/);
      badInput(femto(['asm', 'prog.bin', '-o', 'no/such/dir/x.bin']), /cannot write: the folder does not exist/);
    });
  });

  describe('disasm', () => {
    it('an image: sections, exported functions and a numbered listing', () => {
      write('inc.rbf', Buffer.from(INCREMENT_IMAGE, 'hex'));
      const r = femto(['disasm', 'inc.rbf']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /inc\.rbf: a RIOT image, 3 instruction slots/);
      assert.match(r.stdout, /\.data +0 bytes/);
      assert.match(r.stdout, /\.rodata +16 bytes: "increment"/);
      assert.match(r.stdout, /\.text +24 bytes/);
      assert.match(r.stdout, /functions: increment @ pc 0/);
      assert.match(r.stdout, /<increment>:\n +0: ldxdw %r0, \[%r1\]\n +1: add %r0, 1\n +2: exit/);
    });

    it('--bytes shows the instruction bytes; jumps show their target', () => {
      write('loop.s', 'mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 10, loop\nexit\n');
      const r = femto(['disasm', 'loop.s', '--bytes']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /0: b7 00 00 00 00 00 00 00 +mov %r0, 0/);
      assert.match(r.stdout, /loop:\n +1: /);
      assert.match(r.stdout, /2: .*jlt %r0, 10, -2 # -> 1/);
    });

    it('--asm output re-assembles to the identical bytes', () => {
      const src = path.join(CONFORMANCE_DIR, 'call_local.data');
      const a = femto(['disasm', src, '--asm']);
      assert.equal(a.code, 0, a.stderr);
      write('round.s', a.stdout);
      const orig = femto(['asm', src, '-o', '-']).out;
      const again = femto(['asm', 'round.s', '-o', '-']);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(again.out, orig);
    });

    it('a .data vector shows its memory size and expected result', () => {
      const r = femto(['disasm', path.join(CONFORMANCE_DIR, 'ldxb.data')]);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /a conformance vector/);
      assert.match(r.stdout, /mem: \d+ bytes, expected r0 = 0x11/);
    });
  });

  describe('input kinds (lib/program-input)', () => {
    const kinds: [string, string | Uint8Array, RegExp][] = [];
    before(() => {
      kinds.push(
        ['img.anything', Buffer.from(INCREMENT_IMAGE, 'hex'), /a RIOT image/],
        ['vec.data', fs.readFileSync(path.join(CONFORMANCE_DIR, 'add.data')), /a conformance vector/],
        ['vector.txt', fs.readFileSync(path.join(CONFORMANCE_DIR, 'add.data')), /a conformance vector/],
        ['prog.s', INCREMENT_S, /: assembly/],
        ['prog.asm', INCREMENT_S, /: assembly/],
        ['prog', INCREMENT_S, /: assembly/],
        ['prog.hex', '79 10 00 00 00 00 00 00\n95 00 00 00 00 00 00 00\n', /: hex bytecode/],
        ['plugin-form', '79100000000000009500000000000000\n', /: hex bytecode/],
        ['prog.bin', Buffer.from('79100000000000009500000000000000', 'hex'), /: raw bytecode/],
      );
    });

    it('detects image, .data, assembly, hex and raw bytecode by content and name', () => {
      for (const [name, content, re] of kinds) {
        write(name, content);
        const r = femto(['disasm', name]);
        assert.equal(r.code, 0, `${name}: ${r.stderr}`);
        assert.match(r.stdout.split('\n')[0], re, name);
      }
    });

    it('detects an ELF object', function () {
      need(this, CLANG);
      write('inc.c', 'unsigned long long increment(unsigned long long *c) { return *c + 1; }\n');
      assert.equal(spawnSync('clang', ['-target', 'bpf', '-O2', '-c', 'inc.c', '-o', 'inc.o'], { cwd: tmp }).status, 0);
      const r = femto(['disasm', 'inc.o']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /inc\.o: an ELF object/);
      assert.match(r.stdout, /functions: increment @ pc 0/);
    });

    it('--format forces a kind; a wrong forced kind is a clear format error', () => {
      write('text.bin', INCREMENT_S);
      const r = femto(['disasm', 'text.bin', '--format', 'asm']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /assembly/);
      badInput(femto(['disasm', 'text.bin', '--format', 'image']), /text\.bin: image: field magic/);
      write('raw.dat', Buffer.from('95000000000000000000', 'hex'));
      badInput(femto(['disasm', 'raw.dat', '--format', 'raw']), /raw\.dat: bytecode: 10 bytes is not a whole number of 8-byte instructions/);
    });

    it('garbage, truncated image, bad .data: exit 2 with one line naming the file', () => {
      const garbage = Buffer.alloc(100);
      for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 37 + 11) & 0xff;
      write('garbage.bin', garbage);
      badInput(femto(['run', 'garbage.bin']), /garbage\.bin: bytecode: 100 bytes is not a whole number/);
      write('trunc.rbf', Buffer.from(INCREMENT_IMAGE, 'hex').subarray(0, 60));
      badInput(femto(['run', 'trunc.rbf']), /trunc\.rbf: image: field .*(truncated|exceeds)/);
      write('short.rbf', Buffer.from('72425046', 'hex'));
      badInput(femto(['verify', 'short.rbf']), /short\.rbf: image: .*truncated/);
      write('broken.data', '-- asm\nmov %r0, 1\nexit\n-- result\nbanana\n');
      badInput(femto(['run', 'broken.data']), /broken\.data: data: line 5: bad result 'banana'/);
      write('asmerr.data', '# comment\n-- asm\nmov %r0, 1\nmove %r0, 2\nexit\n');
      badInput(femto(['run', 'asmerr.data']), /asmerr\.data: asm: line 4:1: unknown mnemonic 'move'/);
      write('empty.s', '# nothing\n');
      badInput(femto(['run', 'empty.s']), /empty\.s: asm: no instructions/);
    });
  });

  describe('verify', () => {
    it('accepted: exit 0, text and {"ok":true}', () => {
      write('inc.s', INCREMENT_S);
      const t = femto(['verify', 'inc.s']);
      assert.equal(t.code, 0);
      assert.match(t.stdout, /inc\.s: ok \(rfc9669\): 3 instruction slots, helpers used: none/);
      const j = femto(['verify', 'inc.s', '--json']);
      assert.equal(j.code, 0);
      assert.deepEqual(json(j), { ok: true, warnings: [] });
    });

    it('rejected: exit 1, the rule, code and pc; JSON shape', () => {
      write('jump.s', 'mov %r0, 0\nja +5\nexit\n');
      const t = femto(['verify', 'jump.s']);
      assert.equal(t.code, 1);
      assert.match(t.stdout, /rejected \(.*, -3\) at pc 1/);
      const j = femto(['verify', 'jump.s', '--json']);
      assert.equal(j.code, 1);
      const o = json(j);
      assert.equal(o.ok, false);
      assert.equal(o.code, -3);
      assert.equal(o.pc, 1);
      assert.equal(typeof o.rule, 'string');
      assert.equal(typeof o.message, 'string');
      noStack(j);
    });

    it('no return (−7), illegal register (−6), unknown opcode (−1)', () => {
      write('noexit.s', 'mov %r0, 0\n');
      assert.equal(json(femto(['verify', 'noexit.s', '--json'])).code, -7);
      write('r10.s', 'mov %r10, 0\nexit\n');
      assert.equal(json(femto(['verify', 'r10.s', '--json'])).code, -6);
      write('op.s', '.insn 0xff\nexit\n');
      assert.equal(json(femto(['verify', 'op.s', '--json'])).code, -1);
    });

    it('grants: RIOT helpers by default, --helpers narrows (ids or names), -4 otherwise', () => {
      write('printf.s', 'call 1\nexit\n');
      write('store.s', 'call 0x10\nexit\n');
      write('h5.s', 'call 5\nexit\n');
      assert.equal(femto(['verify', 'printf.s']).code, 0);
      assert.match(femto(['verify', 'printf.s']).stdout, /helpers used: printf \(0x1\)/);
      assert.equal(femto(['verify', 'store.s', '--helpers', '1,2,0x10']).code, 0);
      assert.equal(femto(['verify', 'printf.s', '--helpers', 'printf']).code, 0);
      const narrowed = femto(['verify', 'printf.s', '--helpers', '2,0x10', '--json']);
      assert.equal(narrowed.code, 1);
      assert.equal(json(narrowed).code, -4);
      assert.equal(json(femto(['verify', 'printf.s', '--helpers', 'none', '--json'])).code, -4);
      assert.equal(json(femto(['verify', 'h5.s', '--json'])).code, -4, 'helper 5 is no RIOT helper');
    });

    it('a conformance vector gets its helper 5; all vectors verify under rfc9669', function () {
      assert.equal(femto(['verify', path.join(CONFORMANCE_DIR, 'callx.data')]).code, 0);
      assert.equal(femto(['verify', path.join(CONFORMANCE_DIR, 'call_unwind_fail.data')]).code, 0);
    });

    it('--profile riot-2022 rejects what RIOT 2022 cannot run, and prints compatibility warnings', () => {
      write('alu32.s', 'mov32 %r0, 1\nexit\n');
      assert.equal(femto(['verify', 'alu32.s']).code, 0);
      const r = femto(['verify', 'alu32.s', '--profile', 'riot-2022', '--json']);
      assert.equal(r.code, 1);
      assert.equal(json(r).ok, false);
      write('div0.s', 'mov %r0, 1\ndiv %r0, 0\nexit\n');
      assert.equal(json(femto(['verify', 'div0.s', '--profile', 'riot-2022', '--json'])).code, -9);
      write('neg.s', 'mov %r0, 1\nneg %r0\nexit\n');
      const w = femto(['verify', 'neg.s', '--profile', 'riot-2022']);
      assert.equal(w.code, 0);
      assert.match(w.stdout, /^warning: .*NEG/m);
      const wj = json(femto(['verify', 'neg.s', '--profile', 'riot-2022', '--json']));
      assert.equal(wj.ok, true);
      assert.equal((wj.warnings as string[]).length, 1);
    });

    it('bad input: exit 2', () => {
      badInput(femto(['verify', 'missing.rbf']), /missing\.rbf: no such file/);
    });
  });

  describe('run', () => {
    it('prints r0 in hex and the instruction count, exit 0', () => {
      write('inc.s', INCREMENT_S);
      const r = femto(['run', 'inc.s', '--mem', LE8(41)]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^r0 = 0x2a \(42\)$/m);
      assert.match(r.stdout, /^instructions: 3$/m);
    });

    it('--json: {"r0":"0x…","insns":N,"fault":null,"tier":…}', () => {
      write('inc.s', INCREMENT_S);
      const r = femto(['run', 'inc.s', '--mem', LE8(0xfe), '--json']);
      assert.equal(r.code, 0);
      assert.deepEqual(json(r), { r0: '0xff', insns: 3, fault: null, tier: 'interp', tierReason: 'auto: the run ended before the program was hot enough to compile' });
    });

    it('a fault: exit 1, code, pc and message (text and JSON)', () => {
      write('inc.s', INCREMENT_S); // no memory: r1 = 0, the load faults
      const t = femto(['run', 'inc.s']);
      assert.equal(t.code, 1);
      assert.match(t.stdout, /fault -2 \(illegal memory access\) at pc 0/);
      const j = femto(['run', 'inc.s', '--json']);
      assert.equal(j.code, 1);
      const o = json(j);
      const f = o.fault as Record<string, unknown>;
      assert.equal(f.code, -2);
      assert.equal(f.pc, 0);
      assert.match(String(f.message), /read 0x0 \(8 B\)/);
      assert.equal(typeof o.r0, 'string');
      assert.equal(typeof o.insns, 'number');
      noStack(j);
    });

    it('--budget: exhaustion is fault −8', function () {
      const f = path.join(BENCH_DIR, 'sum-loop-1000.data');
      assert.equal(femto(['run', f]).code, 0);
      const j = femto(['run', f, '--budget', '100', '--json']);
      assert.equal(j.code, 1);
      assert.equal((json(j).fault as { code: number }).code, -8);
      assert.equal(json(j).insns, 100);
    });

    it('--profile riot-2022: division by zero faults −9; the taken-branch budget applies', () => {
      write('divreg.s', 'mov %r0, 1\nmov %r1, 0\ndiv %r0, %r1\nexit\n');
      const ok = femto(['run', 'divreg.s', '--json']);
      assert.equal(ok.code, 0);
      assert.equal(json(ok).r0, '0x0');
      const riot = femto(['run', 'divreg.s', '--profile', 'riot-2022', '--json']);
      assert.equal(riot.code, 1);
      assert.equal((json(riot).fault as { code: number }).code, -9);
      write('loop.s', 'mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 1000, loop\nexit\n');
      assert.equal(json(femto(['run', 'loop.s', '--json'])).r0, '0x3e8');
      assert.equal((json(femto(['run', 'loop.s', '--profile', 'riot-2022', '--json'])).fault as { code: number }).code, -8);
    });

    it('a verifier rejection: exit 1, JSON with r0 null and the rule', () => {
      write('jump.s', 'ja +5\nexit\n');
      const t = femto(['run', 'jump.s']);
      assert.equal(t.code, 1);
      assert.match(t.stdout, /rejected/);
      const o = json(femto(['run', 'jump.s', '--json']));
      assert.equal(o.r0, null);
      const f = o.fault as Record<string, unknown>;
      assert.equal(f.stage, 'verify');
      assert.equal(f.code, -3);
      assert.equal(typeof f.rule, 'string');
    });

    it('a .data vector: its own mem (writable, length in r2) and its expected result', function () {
      const { tier, ...j } = json(femto(['run', path.join(CONFORMANCE_DIR, 'ldxb.data'), '--json']));
      assert.deepEqual(j, { r0: '0x11', insns: 2, fault: null, expected: '0x11', match: true, tierReason: 'auto: the run ended before the program was hot enough to compile' });
      assert.equal(tier, 'interp');
      const t = femto(['run', path.join(CONFORMANCE_DIR, 'ldxb.data')]);
      assert.match(t.stdout, /expected r0 = 0x11: ok/);
      // --mem replaces the vector's memory; --check turns the mismatch into exit 1.
      const other = femto(['run', path.join(CONFORMANCE_DIR, 'ldxb.data'), '--mem', 'aa bb 22 cc dd', '--json']);
      assert.equal(other.code, 0);
      assert.equal(json(other).r0, '0x22');
      assert.equal(json(other).match, false);
      assert.equal(femto(['run', path.join(CONFORMANCE_DIR, 'ldxb.data'), '--mem', 'aabb22ccdd', '--check']).code, 1);
      // the length in r2, a writable context
      write('len.s', 'mov %r0, %r2\nstb [%r1], 7\nldxb %r3, [%r1]\nadd %r0, %r3\nexit\n');
      assert.equal(json(femto(['run', 'len.s', '--mem', '00 00 00', '--json'])).r0, '0xa');
    });

    it('the benchmark vector computes Fletcher-32', function () {
      for (const tier of ['interp', 'compiled']) {
        const o = json(femto(['run', path.join(BENCH_DIR, 'fletcher32-360.data'), '--tier', tier, '--json']));
        assert.deepEqual(o, { r0: '0xa4b6d43f', insns: 1114, fault: null, expected: '0xa4b6d43f', match: true, tier });
      }
    });

    it('--mem-file: raw bytes, or hex text for .hex', function () {
      write('inc.s', INCREMENT_S);
      write('mem.bin', Buffer.from(LE8(9), 'hex'));
      assert.equal(json(femto(['run', 'inc.s', '--mem-file', 'mem.bin', '--json'])).r0, '0xa');
      write('mem.hex', '09 00 00 00\n00 00 00 00\n');
      assert.equal(json(femto(['run', 'inc.s', '--mem-file', 'mem.hex', '--json'])).r0, '0xa');
      write('bad.hex', 'xy\n');
      badInput(femto(['run', 'inc.s', '--mem-file', 'bad.hex']), /bad\.hex: 'xy' is not hex bytes/);
      badInput(femto(['run', 'inc.s', '--mem-file', 'none.bin']), /none\.bin: no such file/);
    });

    it('--entry: an exported function, a label, an index; unknown names list what exists', () => {
      const src = 'mov %r0, 1\nexit\nsecond:\nmov %r0, 2\nexit\n';
      write('two.s', src);
      assert.equal(json(femto(['run', 'two.s', '--json'])).r0, '0x1');
      assert.equal(json(femto(['run', 'two.s', '--entry', 'second', '--json'])).r0, '0x2');
      assert.equal(json(femto(['run', 'two.s', '--entry', '2', '--json'])).r0, '0x2');
      badInput(femto(['run', 'two.s', '--entry', 'third']), /--entry 'third' is not an exported function or label .*available: second/);
      badInput(femto(['run', 'two.s', '--entry', '99']), /past the end/);
      write('inc.rbf', Buffer.from(INCREMENT_IMAGE, 'hex'));
      assert.equal(json(femto(['run', 'inc.rbf', '--entry', 'increment', '--mem', LE8(1), '--json'])).r0, '0x2');
      badInput(femto(['run', 'inc.rbf', '--entry', 'main']), /available: increment/);
    });

    it('helpers: 5 is the identity (also through callx); a RIOT helper not yet available faults −4', () => {
      write('id.s', 'lddw %r1, 0x123456789\ncall 5\nexit\n');
      assert.equal(json(femto(['run', 'id.s', '--json'])).r0, '0x123456789');
      write('callx.s', 'mov %r1, 77\nmov %r2, 5\ncall %r2\nexit\n');
      assert.equal(json(femto(['run', 'callx.s', '--json'])).r0, '0x4d');
      write('printf.s', 'mov %r1, 0\ncall 1\nexit\n');
      const r = femto(['run', 'printf.s', '--json']);
      assert.equal(r.code, 1);
      const f = json(r).fault as Record<string, unknown>;
      assert.equal(f.code, -4);
      assert.match(String(f.message), /printf .*not available/);
      const narrowed = json(femto(['run', 'id.s', '--helpers', '1', '--json']));
      assert.equal((narrowed.fault as { code: number }).code, -4);
      assert.equal(narrowed.r0, null);
    });
  });

  describe('build', () => {
    it('--no-return: RIOT\'s "no return" flag in the header; riot-2022 then accepts a container that never exits', () => {
      write('forever.s', 'mov %r0, 0\nl: add %r0, 1\nja l');
      const plain = femto(['build', 'forever.s', '-o', 'plain.bin', '--profile', 'riot-2022']);
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(plain.stderr, /rejects this image: .*no-return/);
      assert.equal(json(femto(['verify', 'plain.bin', '--profile', 'riot-2022', '--json'])).code, -7);
      const r = femto(['build', 'forever.s', '-o', 'forever.bin', '--profile', 'riot-2022', '--no-return']);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /rejects/);
      assert.equal(fs.readFileSync(path.join(tmp, 'forever.bin')).readUInt32LE(8), 0x100, 'header flags');
      assert.equal(json(femto(['verify', 'forever.bin', '--profile', 'riot-2022', '--json'])).ok, true);
      // It runs until the instruction budget, not RIOT's 200 taken branches.
      const o = json(femto(['run', 'forever.bin', '--profile', 'riot-2022', '--budget', '1001', '--json']));
      assert.equal((o.fault as { code: number }).code, -8);
      assert.match((o.fault as { message: string }).message, /instruction budget of 1001/);
      assert.equal(o.r0, '0x1f4');
    });

    it('[clang] C source → the RIOT image of ARCHITECTURE.md § Image format', function () {
      need(this, CLANG);
      write('increment.c', 'typedef unsigned long long u64;\nu64 increment(void *ctx) { return *(u64 *)ctx + 1; }\n');
      const r = femto(['build', 'increment.c', '-o', 'increment.bin']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /wrote increment\.bin: 74 bytes .*functions: increment/);
      assert.equal(fs.readFileSync(path.join(tmp, 'increment.bin')).toString('hex'), INCREMENT_IMAGE);
      const run = femto(['run', 'increment.bin', '--mem', LE8(5), '--json']);
      assert.equal(json(run).r0, '0x6');
      // C is also accepted directly by run, with clang options
      write('k.c', 'typedef unsigned long long u64;\nu64 k(void *ctx) { return K; }\n');
      assert.equal(json(femto(['run', 'k.c', '-D', 'K=33', '-O', '1', '--json'])).r0, '0x21');
    });

    it('[clang] an ELF object (.o) → image, default output FILE.bin', function () {
      need(this, CLANG);
      fs.copyFileSync(path.join(ROOT, 'test', 'c', 'globals.c'), path.join(tmp, 'globals.c'));
      assert.equal(spawnSync('clang', ['-target', 'bpf', '-O2', '-c', 'globals.c', '-o', 'globals.o'], { cwd: tmp }).status, 0);
      const r = femto(['build', 'globals.o']);
      assert.equal(r.code, 0, r.stderr);
      const img = fs.readFileSync(path.join(tmp, 'globals.bin'));
      assert.equal(img.subarray(0, 4).toString('latin1'), 'rBPF');
      const d = femto(['disasm', 'globals.bin']);
      assert.match(d.stdout, /functions: globals @ pc 0/);
      assert.match(d.stdout, /lddw[dr] /);
    });

    it('[clang] a compile error: exit 2, clang\'s diagnostic with line and column, no stack', function () {
      need(this, CLANG);
      write('err.c', 'int f(void) {\n  return undefined_thing;\n}\n');
      const r = femto(['build', 'err.c']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /err\.c:2:10: error: use of undeclared identifier 'undefined_thing'/);
      noStack(r);
    });

    it('assembly → image; a build the verifier rejects still writes, with a warning', () => {
      write('tick.s', INCREMENT_S);
      const r = femto(['build', 'tick.s', '-o', 'tick.rbf']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(femto(['disasm', 'tick.rbf']).stdout, /functions: tick @ pc 0/);
      write('alu32.s', 'mov32 %r0, 1\nexit\n');
      const w = femto(['build', 'alu32.s', '--profile', 'riot-2022', '-o', 'alu32.rbf']);
      assert.equal(w.code, 0);
      assert.match(w.stderr, /warning: the verifier \(riot-2022\) rejects this image/);
      badInput(femto(['build', 'tick.s', '-O', '9']), /-O '9' is not one of/);
    });
  });

  describe('plugin (bpf_conformance protocol)', () => {
    /** The runner's form of memory: each byte as hex followed by two spaces. */
    const memArg = (hex: string) => (hex.match(/../g) ?? []).map((b) => b + '  ').join('');

    it('runs conformance vectors from assembled.jsonl: r0 in hex on stdout, exit 0', function () {
      const all = loadAssembled();
      // A spread over every group (≈40 spawns; FEMTO_CLI_ALL_VECTORS=1 runs all of them), always
      // including the two that call helper 5.
      const pick = process.env.FEMTO_CLI_ALL_VECTORS
        ? all
        : all.filter((v, i) => /^(callx|call_unwind_fail)\.data$/.test(v.name) || i % 11 === 0 || (v.mem !== '' && i % 4 === 0));
      assert.ok(pick.length >= 20, `only ${pick.length} vectors`);
      for (const v of pick) {
        const args = ['plugin', ...(v.mem ? [memArg(v.mem)] : [])];
        const r = femto(args, v.program + '\n');
        assert.equal(r.code, 0, `${v.name}: ${r.stderr}`);
        assert.equal(BigInt('0x' + r.stdout.trim()), expectedResult(v.result), v.name);
      }
    });

    it('memory split over several arguments, or given without spaces, is the same memory', function () {
      const v = loadAssembled().find((x) => x.name === 'ldxw.data')!;
      const split = femto(['plugin', ...(v.mem.match(/../g) ?? [])], v.program);
      const plain = femto(['plugin', v.mem], v.program);
      assert.equal(split.code, 0);
      assert.equal(BigInt('0x' + split.stdout.trim()), expectedResult(v.result));
      assert.equal(plain.stdout, split.stdout);
      assert.deepEqual(hexBytes(v.mem).length > 0, true);
    });

    it('a rejected program or a fault: an error on stderr and exit 1', () => {
      const reject = femto(['plugin'], '0500000000000000\n'); // ja +0 past the end
      assert.equal(reject.code, 1);
      assert.match(reject.stderr, /rejected/);
      assert.equal(reject.stdout, '');
      const fault = femto(['plugin'], '7910000000000000' + '9500000000000000\n'); // load from r1 = 0
      assert.equal(fault.code, 1);
      assert.match(fault.stderr, /fault -2/);
      noStack(fault);
    });

    it('unreadable input: exit 2 with one line', () => {
      badInput(femto(['plugin'], 'not hex\n'), /program on stdin: 'not' is not hex bytes/);
      badInput(femto(['plugin'], ''), /no program on stdin/);
      badInput(femto(['plugin', 'abc'], '9500000000000000\n'), /memory argument: 'abc' has an odd number/);
    });
  });
});
