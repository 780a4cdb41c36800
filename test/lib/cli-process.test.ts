/**
 * The `femto` process around the commands: what a command loads at
 * start-up — counted, not timed, so a busy machine cannot decide it (test/bench/startup.ts gives
 * the times) — and how output to a reader that went away, or to a full disk, ends the process.
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../util/paths';

const MAIN = path.join(ROOT, 'dist', 'lib', 'cli', 'main.js');

/**
 * Runs main() in a fresh process, one argument list after the other, and prints for each what it
 * loaded beyond what the earlier ones had: files (require.cache) and Node's built-in modules.
 */
const PROBE = `
const [main, ...lists] = process.argv.slice(2);
const io = { out() {}, outBytes() {}, err() {}, readStdin: async () => '' };
(async () => {
  const out = [];
  let files = new Set(Object.keys(require.cache));
  let builtins = new Set(process.moduleLoadList);
  const { main: run } = require(main);
  for (const args of lists.map((l) => JSON.parse(l))) {
    const code = await run(args, io);
    const nowFiles = Object.keys(require.cache);
    const nowBuiltins = process.moduleLoadList;
    out.push({
      args, code,
      files: nowFiles.filter((f) => !files.has(f)),
      builtins: nowBuiltins.filter((m) => !builtins.has(m) && /^NativeModule [a-z_]+$/.test(m)).map((m) => 'node:' + m.slice(13)),
    });
    files = new Set(nowFiles);
    builtins = new Set(nowBuiltins);
  }
  process.stdout.write(JSON.stringify(out));
})();
`;

interface Loaded { args: string[]; code: number; files: string[]; builtins: string[] }

let tmp = '';

function probe(...lists: string[][]): Loaded[] {
  const file = path.join(tmp, 'probe.js');
  fs.writeFileSync(file, PROBE);
  const r = spawnSync(process.execPath, [file, MAIN, ...lists.map((l) => JSON.stringify(l))], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as Loaded[]).map((l) => ({ ...l, files: l.files.map((f) => path.relative(ROOT, f).split(path.sep).join('/')) }));
}

/** What no simple command may load; `femto run` needs the VM and its compiled tier, nothing else here. */
const HEAVY: { name: string; re: RegExp; run?: true }[] = [
  { name: 'CoAP (the coap package or our endpoint)', re: /node_modules\/coap\/|^dist\/lib\/deploy\/coap-endpoint\.js$/ },
  { name: 'CBOR (cbor-x)', re: /node_modules\/cbor-x\// },
  { name: '@node-red/util', re: /node_modules\/@node-red\// },
  { name: 'node:crypto', re: /^node:crypto$/ },
  { name: 'node:child_process', re: /^node:child_process$/ },
  { name: 'node:dgram', re: /^node:dgram$/ },
  { name: 'the compiler (lib/compiler)', re: /^dist\/lib\/compiler\.js$/ },
  { name: 'the board (lib/board/board)', re: /^dist\/lib\/board\/board\.js$/ },
  { name: 'deployment (lib/deploy)', re: /^dist\/lib\/deploy\// },
  { name: 'the VM (vm/vm)', re: /^dist\/vm\/vm\.js$/, run: true },
  { name: 'the wasm compiler (vm/wasm-compiler)', re: /^dist\/vm\/wasm-compiler\.js$/, run: true },
];

function heavyIn(l: Loaded, allowRun = false): string[] {
  const all = [...l.files, ...l.builtins];
  return HEAVY.filter((h) => !(allowRun && h.run) && all.some((m) => h.re.test(m))).map((h) => `femto ${l.args.join(' ')} loads ${h.name}`);
}

describe('the femto process (lib/cli/main.ts, io.ts)', function () {
  this.timeout(120_000);

  before(function () {
    if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run tsc first`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-cli-process-'));
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('start-up: each command loads only what it uses', () => {
    it('--version and --help load the dispatcher and its error types, nothing from node_modules', () => {
      const [version, help] = probe(['--version'], ['--help']);
      assert.equal(version.code, 0);
      assert.equal(help.code, 0);
      assert.deepEqual(heavyIn(version), []);
      assert.deepEqual(help.files, [], 'femto --help needs nothing beyond what --version loaded');
      assert.deepEqual(version.files.filter((f) => f.includes('node_modules/')), []);
      // main, io, package-root, vm/errors, program-kinds today; room for a few more small ones.
      assert.ok(version.files.length <= 8, `femto --version loads ${version.files.length} files: ${version.files.join(', ')}`);
    });

    it('COMMAND --help and help COMMAND load none of the heavy modules, for every command', () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const commands = Object.keys((require(MAIN) as { COMMANDS: Record<string, unknown> }).COMMANDS);
      assert.ok(commands.length >= 11, commands.join(', '));
      const loaded = probe(...commands.map((c) => [c, '--help']), ...commands.map((c) => ['help', c]));
      for (const l of loaded) assert.equal(l.code, 0, `femto ${l.args.join(' ')}`);
      assert.deepEqual(loaded.flatMap((l) => heavyIn(l)), []);
      assert.deepEqual(loaded.flatMap((l) => l.files.filter((f) => f.includes('node_modules/'))), []);
    });

    it('femto run on a small program loads the VM, but no compiler, board, CoAP, CBOR or crypto', () => {
      const s = path.join(tmp, 'tiny.s');
      fs.writeFileSync(s, 'mov %r0, 42\nexit\n');
      const [run] = probe(['run', s]);
      assert.equal(run.code, 0);
      assert.deepEqual(heavyIn(run, true), []);
      assert.ok(run.files.includes('dist/vm/vm.js'), 'the probe sees what run loads');
    });

    it('the probe would see a heavy module: keygen loads node:crypto, device loads CoAP', () => {
      const [keygen] = probe(['keygen', '-o', path.join(tmp, 'k'), '--force']);
      assert.equal(keygen.code, 0);
      assert.ok(heavyIn(keygen).some((m) => /node:crypto/.test(m)), JSON.stringify(keygen.builtins));
      const [device] = probe(['device', '--port', 'x']); // bad input: loaded, then refused
      assert.equal(device.code, 2);
      assert.ok(heavyIn(device).some((m) => /CoAP/.test(m)), JSON.stringify(device.files));
    });
  });

  describe('output to a reader that went away', () => {
    /** Runs femto with stdout piped; reads `keep` bytes, then closes the pipe. */
    function readThenClose(args: string[], keep: number): Promise<{ code: number | null; signal: string | null; stderr: string; got: string }> {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [MAIN, ...args], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
        let got = '';
        let stderr = '';
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
        child.stdout.on('data', (c: Buffer) => {
          got += c.toString('utf8');
          if (got.length >= keep) child.stdout.destroy();
        });
        child.on('error', reject);
        child.on('close', (code, signal) => resolve({ code, signal, stderr, got }));
      });
    }

    function bigProgram(): string {
      const f = path.join(tmp, 'big.s');
      if (!fs.existsSync(f)) fs.writeFileSync(f, Array.from({ length: 20_000 }, (_, i) => `mov %r0, ${i}`).join('\n') + '\nexit\n');
      return f;
    }

    it('femto disasm … | head: exits 141 (as SIGPIPE would), quietly, no stack trace', async () => {
      const r = await readThenClose(['disasm', bigProgram()], 100);
      assert.match(r.got, /big\.s: assembly, 20001 instruction slots/);
      assert.equal(r.stderr, '', 'nothing on stderr');
      assert.equal(r.signal, null);
      assert.equal(r.code, 141);
    });

    it('femto sim printing many runs | head: the same for a command that prints run by run', async () => {
      const s = path.join(tmp, 'tick.s');
      fs.writeFileSync(s, 'mov %r0, 42\nexit\n');
      const r = await readThenClose(['sim', s, '--hook', 'timer', '--virtual-clock', '--events', '20000', '--json'], 200);
      assert.match(r.got, /"type":"event"/);
      assert.equal(r.stderr, '');
      assert.equal(r.code, 141);
    });

    it('a reader that reads everything: exit 0, the whole output', async () => {
      const r = await readThenClose(['disasm', bigProgram()], Infinity);
      assert.equal(r.code, 0);
      assert.match(r.got, /^20000: exit$/m);
    });

    it('another write error is reported, not swallowed: stdout on a full disk (/dev/full) exits 2 with one line', function () {
      if (!fs.existsSync('/dev/full')) this.skip();
      const fd = fs.openSync('/dev/full', 'w');
      try {
        const r = spawnSync(process.execPath, [MAIN, 'disasm', bigProgram()], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
        assert.equal(r.status, 2);
        assert.match(r.stderr, /^femto: cannot write to stdout: ENOSPC/);
        assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
        assert.doesNotMatch(r.stderr, /^\s+at /m);
      } finally {
        fs.closeSync(fd);
      }
    });
  });
});
