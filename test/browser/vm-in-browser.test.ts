/**
 * vm/ must run in the editor's browser page as it does in Node: this serves the compiled vm/
 * modules over loopback HTTP to Debian's headless Chromium, loads them with a tiny CommonJS
 * loader (no bundler involved, so nothing but vm/ itself is tested), and runs the conformance
 * vectors there on the interpreter and on the compiled tier (compiled asynchronously, as a
 * browser's main thread requires), comparing with the expected results.
 *
 * Skipped (one line) when Chromium is missing outside CI; under CI (.ci/run installs it) it must run.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { ROOT } from '../util/paths';
import { loadAssembled } from '../util/vectors';
import { CHROMIUM, CHROMIUM_ARGS, chromiumPath, need } from '../util/needs';

const PAGE = `<!doctype html><meta charset="utf-8"><title>femto vm</title><script>
// Minimal CommonJS loader for dist/vm: synchronous fetch of each module, wrapped and evaluated.
const cache = {};
function load(file) {
  if (cache[file]) return cache[file].exports;
  const xhr = new XMLHttpRequest();
  xhr.open('GET', '/vm/' + file, false);
  xhr.send();
  if (xhr.status !== 200) throw new Error('cannot load ' + file);
  const module = { exports: {} };
  cache[file] = module;
  const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/') + 1) : '';
  const req = (spec) => {
    if (!spec.startsWith('./')) throw new Error('vm/ required a non-local module: ' + spec);
    return load(dir + spec.slice(2) + '.js');
  };
  new Function('exports', 'require', 'module', xhr.responseText + '\\n//# sourceURL=vm/' + file)(module.exports, req, module);
  return module.exports;
}
window.femto = load('index.js');
</script>`;

describe('vm/ in a real browser (Chromium)', function () {
  this.timeout(120_000);
  let server: http.Server;
  let base = '';
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let context: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let page: any;
  let userDir = '';

  before(async function () {
    need(this, CHROMIUM);
    const vmDir = path.join(ROOT, 'dist', 'vm');
    server = http.createServer((req, res) => {
      const url = decodeURIComponent((req.url ?? '/').split('?')[0]);
      if (url === '/') { res.writeHead(200, { 'content-type': 'text/html' }); res.end(PAGE); return; }
      const file = path.normalize(path.join(vmDir, url.replace(/^\/vm\//, '')));
      if (!url.startsWith('/vm/') || !file.startsWith(vmDir) || !fs.existsSync(file)) { res.writeHead(404); res.end(); return; }
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(fs.readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-chromium-'));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { chromium } = require('playwright-core') as typeof import('playwright-core');
    context = await chromium.launchPersistentContext(userDir, { executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
    page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e: Error) => errors.push(e.message));
    await page.goto(base);
    await page.waitForFunction(() => (globalThis as unknown as { femto?: unknown }).femto !== undefined, undefined, { timeout: 20_000 })
      .catch(() => { throw new Error(`vm/ did not load in the page: ${errors.join('; ')}`); });
  });

  after(async () => {
    await context?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('runs all 313 conformance vectors on the interpreter and the compiled tier', async () => {
    const vectors = loadAssembled().map((v) => ({ name: v.name, program: v.program, mem: v.mem, result: v.result }));
    const outcome = await page.evaluate(async (vs: typeof vectors) => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const f = (globalThis as any).femto;
      const hex = (h: string): Uint8Array => new Uint8Array((h.match(/../g) ?? []).map((b) => parseInt(b, 16)));
      const helpers = new Map([[5, { name: 'identity', returns64: true, fn: (c: { u64(n: number): bigint }) => c.u64(1) }]]);
      const bad: string[] = [];
      let compiled = 0;
      for (const v of vs) {
        const want = BigInt.asUintN(64, BigInt(v.result.startsWith('0x') ? v.result : parseInt(v.result, 10)));
        for (const tier of ['interp', 'compiled']) {
          const vm = new f.Vm({ text: hex(v.program), helpers, tier: 'interp' });
          if (tier === 'compiled') {
            if (await vm.compileAsync()) compiled++;
            else bad.push(`${v.name}: not compiled: ${vm.tier.reason}`);
          }
          const mem = hex(v.mem);
          const r = vm.run(mem.length ? { context: mem, contextWritable: true, lengthInR2: true } : {});
          if (r.status !== 'exit' || r.r0 !== want) bad.push(`${v.name} (${tier}): ${r.status} 0x${r.r0.toString(16)} ${r.fault ? r.fault.message : ''}`);
        }
      }
      return { bad, compiled, userAgent: (globalThis as any).navigator.userAgent as string };
    }, vectors);
    assert.deepEqual(outcome.bad, []);
    assert.equal(outcome.compiled, vectors.length);
    assert.match(outcome.userAgent, /Chrome/);
  });

  it('isolates memory and bounds budgets in the page too', async () => {
    const r = await page.evaluate(() => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const f = (globalThis as any).femto;
      const oob = new f.Vm({ text: f.assemble('mov %r1, 0x1000\nstxdw [%r1], %r1\nexit') }).run();
      const loop = new f.Vm({ text: f.assemble('ja -1\nexit'), budget: 5000 }).run();
      return { oob: [oob.status, oob.fault.code, oob.fault.pc], loop: [loop.status, loop.fault.code, loop.insns] };
    });
    assert.deepEqual(r.oob, ['fault', -2, 1]);
    assert.deepEqual(r.loop, ['fault', -8, 5000]);
  });
});
