/**
 * The package as users get it: `npm pack` (its prepack script builds dist/), the tarball installed
 * into a fresh Node-RED user folder with the npm command Node-RED's Palette Manager runs
 * (@node-red/registry installer: `npm install --no-audit --no-update-notifier --no-fund --save
 * --save-prefix=~ --omit=dev --engine-strict -- <module>` in the user folder, which holds the
 * package.json Node-RED writes there), then Node-RED started on that folder — the Node-RED of
 * test/util/node-red.ts, so .ci/run checks Node-RED 4.1 on Node 20 and Node-RED 5 on Node 22 —
 * on 127.0.0.1 and a free port, with no credentials. Everything is checked over the admin HTTP
 * API, as the editor sees it: the five node types, the sidebar plugin, every example flow listed,
 * fetched and deployed with its containers on their boards, and a C container compiled with the
 * system's clang and run.
 *
 * Needs the npm registry for the package's dependencies (as a user's install does) and about a
 * minute: `npm run test:quick` leaves it out.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../util/paths';
import { NODE_RED_VERSION, nodeRedEntry } from '../util/node-red';
import { CLANG, itNeeds } from '../util/needs';
import { freePort, startNodeRed, waitFor, type NodeRedServer } from '../util/node-red-server';

type N = Record<string, any>;

const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as N;
const MODULE: string = PKG.name;
const NODE_TYPES = ['femto-board', 'femto-container', 'femto-sensor', 'femto-store', 'femto-deploy'];
/** The arguments Node-RED's Palette Manager gives `npm install` (@node-red/registry, installer.js). */
const PALETTE_NPM_ARGS = ['--no-audit', '--no-update-notifier', '--no-fund', '--save', '--save-prefix=~', '--omit=dev', '--engine-strict'];
/** The package.json Node-RED writes into a new user folder. */
const USER_DIR_PACKAGE = { name: 'node-red-project', description: 'A Node-RED Project', version: '0.0.1', private: true };

/**
 * npm run as a user runs it: with this process's node first on PATH (so --engine-strict checks the
 * Node under test) and without the npm_* variables of an enclosing `npm test`.
 */
function npm(args: string[], cwd: string, timeoutMs: number): string {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  env.PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`;
  const r = spawnSync('npm', args, { cwd, env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`npm ${args.join(' ')} (in ${cwd}) failed${r.error ? `: ${r.error.message}` : ` with exit ${r.status}`}\n${out}`);
  }
  return r.stdout;
}

function tarList(tgz: string): string[] {
  const r = spawnSync('tar', ['-tzf', tgz], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`tar -tzf ${tgz}: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
}

function settings(userDir: string, port: number): string {
  return `// Written by test/install/packed.test.ts: a user's Node-RED, on the loopback, no credentials.
module.exports = {
    uiHost: '127.0.0.1',
    uiPort: ${port},
    userDir: ${JSON.stringify(userDir)},
    flowFile: 'flows.json',
    credentialSecret: false,
    logging: { console: { level: 'info', metrics: false, audit: false } },
    editorTheme: { projects: { enabled: false }, tours: false, palette: { catalogues: [] } },
    diagnostics: { enabled: false },
    telemetry: { enabled: false },
    externalModules: { autoInstall: false }
};
`;
}

describe(`the packed package installed as users install it (Node-RED ${NODE_RED_VERSION}, Node ${process.versions.node})`, function () {
  this.timeout(60_000);
  let work = '';
  let tgz = '';
  let userDir = '';
  let red: NodeRedServer | undefined;

  const get = async (p: string): Promise<any> => {
    const r = await fetch(red!.base + p, { headers: { Accept: 'application/json' } });
    const text = await r.text();
    assert.equal(r.status, 200, `GET /${p}: ${r.status} ${text}`);
    return JSON.parse(text);
  };
  const post = async (p: string, body: unknown, headers: Record<string, string> = {}): Promise<any> => {
    const r = await fetch(red!.base + p, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers }, body: JSON.stringify(body) });
    const text = await r.text();
    assert.ok(r.ok, `POST /${p}: ${r.status} ${text}`);
    return (r.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text;
  };
  /** A full deployment of `nodes` (on one tab), as the editor's Deploy button sends it. */
  const deploy = (nodes: N[]): Promise<any> => post('flows', nodes, { 'Node-RED-Deployment-Type': 'full' });
  const femtoState = async (): Promise<{ boards: { id: string; remote?: boolean; containers: { nodeId: string; state: string; lastResult: { r0: number | string } | null }[] }[] }> => get('femto/state');

  before(async function () {
    this.timeout(600_000);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-packed-'));
    // prepack builds dist/ (tsc and the editor assets), so a fresh clone packs a complete package.
    npm(['pack', '--pack-destination', work], ROOT, 300_000);
    const packed = fs.readdirSync(work).filter((f) => f.endsWith('.tgz'));
    assert.equal(packed.length, 1, `npm pack wrote ${packed.join(', ') || 'no tarball'}`);
    tgz = path.join(work, packed[0]);

    userDir = path.join(work, 'node-red-user');
    fs.mkdirSync(userDir);
    fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify(USER_DIR_PACKAGE, null, 4));
    npm(['install', ...PALETTE_NPM_ARGS, '--', tgz], userDir, 300_000);

    const port = await freePort();
    const settingsPath = path.join(userDir, 'settings.js');
    fs.writeFileSync(settingsPath, settings(userDir, port));
    red = await startNodeRed({ entry: nodeRedEntry(), userDir, settings: settingsPath, port, readyMs: 60_000 });
  });

  after(async function () {
    this.timeout(30_000);
    await red?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('the tarball holds the built nodes, editor files, icons, examples and femto.h, and no tests or test data', () => {
    const files = tarList(tgz);
    for (const f of Object.values(PKG['node-red'].nodes as Record<string, string>)) {
      assert.ok(files.includes(f), `${f} in the tarball`);
      assert.ok(files.includes(f.replace(/\.js$/, '.html')), `${f.replace(/\.js$/, '.html')} in the tarball`);
    }
    for (const f of Object.values(PKG['node-red'].plugins as Record<string, string>)) assert.ok(files.includes(f), `${f} in the tarball`);
    assert.ok(files.some((f) => /^dist\/nodes\/icons\/.+\.svg$/.test(f)), 'icons beside the nodes');
    assert.ok(files.some((f) => /^dist\/nodes\/locales\/en-US\//.test(f)), 'help and messages (locales)');
    assert.ok(files.includes(PKG.bin.femto), 'the femto CLI');
    assert.ok(files.includes('lib/include/femto.h'), 'femto.h for C containers');
    const examples = fs.readdirSync(path.join(ROOT, 'examples')).filter((f) => f.endsWith('.json'));
    for (const e of examples) assert.ok(files.includes(`examples/${e}`), `examples/${e} in the tarball`);
    const unwanted = files.filter((f) => /^(test|dist\/test)\//.test(f) || f.endsWith('.data') || f.endsWith('.jsonl') || /(^|\/)\.ci\//.test(f) ||
      (f.endsWith('.ts') && !f.endsWith('.d.ts')));
    assert.deepEqual(unwanted, [], 'no tests, test data or TypeScript sources');
  });

  it('npm, run as the Palette Manager runs it, records the module in the user folder without dev dependencies', () => {
    const user = JSON.parse(fs.readFileSync(path.join(userDir, 'package.json'), 'utf8')) as N;
    assert.ok(user.dependencies?.[MODULE], `${MODULE} in the user folder's package.json: ${JSON.stringify(user.dependencies)}`);
    const installed = JSON.parse(fs.readFileSync(path.join(userDir, 'node_modules', ...MODULE.split('/'), 'package.json'), 'utf8')) as N;
    assert.equal(installed.version, PKG.version);
    for (const dev of ['mocha', 'typescript', 'node-red', 'playwright-core']) {
      assert.equal(fs.existsSync(path.join(userDir, 'node_modules', dev)), false, `dev dependency ${dev} installed`);
    }
  });

  it(`Node-RED registers the five node types from the user folder's module`, async () => {
    const sets = (await get('nodes')) as { module: string; types: string[]; enabled: boolean; version: string; err?: string }[];
    const ours = sets.filter((s) => s.module === MODULE);
    assert.deepEqual(ours.filter((s) => s.err).map((s) => `${s.types}: ${s.err}`), [], `load errors\n${red!.log()}`);
    assert.deepEqual(ours.flatMap((s) => s.types).sort(), [...NODE_TYPES].sort(), `node types\n${red!.log()}`);
    for (const s of ours) assert.ok(s.enabled, `${s.types} enabled`);
    // The module as the Palette Manager lists it: this version, from the user folder, a user module
    // (so the Palette Manager can update or remove it).
    const info = (await get(`nodes/${MODULE}`)) as { version: string; user: boolean; path: string };
    assert.equal(info.version, PKG.version);
    assert.equal(info.user, true, `a user module: ${JSON.stringify(info)}`);
    assert.equal(fs.realpathSync(info.path), fs.realpathSync(path.join(userDir, 'node_modules', ...MODULE.split('/'))));
    // The editor files of every node (what the palette loads).
    const r = await fetch(red!.base + 'nodes', { headers: { Accept: 'text/html' } });
    const html = await r.text();
    for (const t of NODE_TYPES) assert.ok(html.includes(`RED.nodes.registerType('${t}'`) || html.includes(`RED.nodes.registerType("${t}"`), `${t}'s editor code served`);
  });

  it('the femto sidebar plugin loads, with its editor code', async () => {
    const plugins = (await get('plugins')) as { module: string; plugins: { id: string; type: string }[]; err?: string }[];
    const sidebar = plugins.find((p) => p.module === MODULE && p.plugins.some((x) => x.id === 'femto-sidebar'));
    assert.ok(sidebar, `femto-sidebar plugin not loaded: ${JSON.stringify(plugins)}\n${red!.log()}`);
    assert.equal(sidebar.err, undefined);
    const r = await fetch(red!.base + 'plugins', { headers: { Accept: 'text/html' } });
    assert.match(await r.text(), /RED\.plugins\.registerPlugin\(['"]femto-sidebar['"]/);
  });

  it('every example flow is listed, and each deploys with its containers on their boards', async function () {
    this.timeout(180_000);
    const listed = (await get(`library/examples/flows/${MODULE}`)) as ({ fn: string } | string)[];
    const names = listed.flatMap((e) => (typeof e === 'object' ? [e.fn] : [])).sort();
    const files = fs.readdirSync(path.join(ROOT, 'examples')).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')).sort();
    assert.deepEqual(names, files, 'Import ▸ Examples lists every example');

    for (const name of names) {
      const nodes = (await get(`library/examples/flows/${MODULE}/${encodeURIComponent(name)}`)) as N[];
      const tab = { id: 'femtoinstalltab', type: 'tab', label: name };
      const logBefore = red!.log().length;
      await deploy([tab, ...nodes.map((n) => (n.type === 'femto-board' ? n : { ...n, z: tab.id }))]);
      const remote = new Set(nodes.filter((n) => n.type === 'femto-board' && n.mode === 'remote').map((n) => n.id));
      const local = nodes.filter((n) => n.type === 'femto-container' && !remote.has(n.board));
      // Every container on an emulated board is on it (not "no image", "verifying" or "rejected").
      const states = await waitFor(`${name}: containers attached`, 30_000, async () => {
        const all = (await femtoState()).boards.flatMap((b) => b.containers);
        const mine = local.map((n) => ({ name: n.name as string, state: all.find((c) => c.nodeId === n.id)?.state ?? 'missing' }));
        return mine.some((c) => c.state === 'verifying' || c.state === 'missing') ? undefined : mine;
      });
      assert.deepEqual(states.filter((c) => ['no image', 'rejected'].includes(c.state)), [], `${name}: containers not on their board`);
      const log = red!.log().slice(logBefore);
      assert.doesNotMatch(log, /missing types|Unknown type|\[error\].*(femto|Error loading)/i, `${name}: Node-RED's log after the deploy\n${log}`);
    }
  });

  itNeeds(CLANG, 'a C container compiles with the system clang (Verify and deploy) and runs on an inject', async function () {
    this.timeout(120_000);
    const source = '#include "femto.h"\n\n/* r0 = 3 * the payload\'s length + 1 */\nuint64_t f(femto_flow_ctx_t *ctx)\n{\n    return 3 * ctx->len + 1;\n}\n';
    const verdict = (await post('femto/verify', { source, language: 'c', hook: 'flow' })) as { ok: boolean; message?: string };
    assert.equal(verdict.ok, true, `Verify: ${JSON.stringify(verdict)}`);

    const tab = { id: 'femtoinstallc', type: 'tab', label: 'C container' };
    const board = { id: 'femtoinstallb', type: 'femto-board', name: 'install board', profile: 'nrf52840dk', storeCapacity: 16, globalScope: 'board', timerPeriodMs: 0 };
    const container = { id: 'femtoinstallk', z: tab.id, type: 'femto-container', name: 'c container', board: board.id, language: 'c', source, hook: 'flow', tenant: 'default', budget: 1000000, resultType: 'int64', input: 'payload', inputType: 'msg', x: 300, y: 100, wires: [[]] };
    const inject = { id: 'femtoinstalli', z: tab.id, type: 'inject', name: 'payload', props: [{ p: 'payload' }], payload: 'femto!', payloadType: 'str', repeat: '', once: false, x: 100, y: 100, wires: [[container.id]] };
    await deploy([tab, board, container, inject]);
    const mine = async () => (await femtoState()).boards.flatMap((b) => b.containers).find((c) => c.nodeId === container.id);
    const attached = await waitFor('the C container compiled and attached', 60_000, async () => {
      const c = await mine();
      return c && c.state !== 'verifying' ? c : undefined;
    });
    assert.notEqual(attached.state, 'rejected', `the C container: ${JSON.stringify(attached)}\n${red!.log()}`);
    assert.notEqual(attached.state, 'no image', `the C container: ${JSON.stringify(attached)}\n${red!.log()}`);

    // The editor's inject button.
    await post(`inject/${inject.id}`, {});
    const run = await waitFor('the container\'s result', 10_000, async () => (await mine())?.lastResult ?? undefined);
    assert.equal(Number(run.r0), 3 * 'femto!'.length + 1);
  });
});
