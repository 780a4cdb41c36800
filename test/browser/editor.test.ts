/**
 * The editor as a person uses it, in a real browser: Debian's chromium (/usr/bin/chromium, apt
 * package `chromium`, installed by .ci/run) driven by playwright-core, launched as NODE-RED.md
 * says. Node-RED 4.1 runs from node_modules with a temporary user folder and the settings `npm start`
 * writes (lib/start.ts: `nodesDir` → the package root, loaded as the module through its package.json
 * `node-red` section), on the loopback and a free port.
 *
 * One walk through: the palette shows the package's nodes → Import ▸ Examples ▸ "01 - Hello" →
 * Deploy → the container shows a green status, and after the inject button a result → the "femto"
 * sidebar tab lists the board, its container, its last result and estimated MCU time → the
 * container's edit dialog: a bad program in its code editor, Verify → the verifier's error with the
 * pc → screenshot → a remote board and a faulting container deployed over the admin API: the
 * sidebar marks the remote board (address, last poll) and shows the container's last fault. The
 * screenshot is kept (its path is printed) as a CI artifact; the server is stopped by its pid.
 *
 * Skipped (one line) when /usr/bin/chromium is missing outside CI; under CI it must run.
 * Needs a build (`npm run build`: tsc and the editor-asset copy into dist/nodes).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { nodeRedEntry, settingsFile } from '../../lib/start';
import { ROOT } from '../util/paths';
import { CHROMIUM, chromiumPath, need } from '../util/needs';
import { freePort, startNodeRed, waitFor, type NodeRedServer } from '../util/node-red-server';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const MODULE = '@femto-containers/node-red-femto';
const EXAMPLE = '01 - Hello';
const NODE_TYPES = ['femto-container', 'femto-sensor', 'femto-store', 'femto-deploy'];
/** Falls off the end of the program: the verifier refuses it (no exit) with the pc. */
const BAD_PROGRAM = ['# bad: jumps past the last instruction', 'mov %r0, 1', 'ja +4', 'exit'].join('\n');

/** Close the editor's notifications (a click closes one) so screenshots show what is under them. */
async function dismissNotifications(page: Page): Promise<void> {
  const open = page.locator('#red-ui-notifications .red-ui-notification');
  for (let i = await open.count(); i > 0; i--) await open.first().click({ timeout: 1000 }).catch(() => undefined);
  await open.first().waitFor({ state: 'detached', timeout: 2000 }).catch(() => undefined);
}

describe('editor in a real browser (chromium)', function () {
  this.timeout(90000);

  let nodeRed: NodeRedServer | undefined;
  let userDir = '';
  let browserDir = '';
  let artifacts = '';
  let base = '';
  let context: BrowserContext | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  before(async function () {
    need(this, CHROMIUM);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    assert.ok(pkg['node-red'], 'package.json has no "node-red" section: Node-RED would not load the package');
    for (const file of Object.values(pkg['node-red'].nodes as Record<string, string>)) {
      const html = path.join(ROOT, file.replace(/\.js$/, '.html'));
      assert.ok(fs.existsSync(path.join(ROOT, file)) && fs.existsSync(html), `${file} or its .html is missing: run \`npm run build\``);
    }

    artifacts = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-browser-artifacts-'));
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-browser-nr-'));
    browserDir = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-browser-chromium-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}/`;
    // The settings `npm start` writes (lib/start.ts), in a temporary user folder, bound to the
    // loopback on a free port and without the palette catalogue (not reachable offline).
    fs.writeFileSync(path.join(userDir, 'start-settings.js'), settingsFile(ROOT, userDir));
    fs.writeFileSync(path.join(userDir, 'settings.js'), [
      "const base = require('./start-settings.js');",
      'module.exports = Object.assign({}, base, {',
      `    uiHost: '127.0.0.1', uiPort: ${port},`,
      "    editorTheme: Object.assign({}, base.editorTheme, { tours: false, palette: { catalogues: [] } }),",
      '    telemetry: { enabled: false }',
      '});',
      '',
    ].join('\n'));
    nodeRed = await startNodeRed({ entry: nodeRedEntry(ROOT), userDir, settings: path.join(userDir, 'settings.js'), port, readyMs: 20000 });

    // playwright-core is loaded here, so a machine without it still runs the other test files.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { chromium } = require('playwright-core') as typeof import('playwright-core');
    context = await chromium.launchPersistentContext(browserDir, {
      executablePath: chromiumPath(), args: CHROMIUM_ARGS, viewport: { width: 1400, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(10000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  afterEach(async function () {
    if (page && artifacts && this.currentTest?.state === 'failed') {
      const name = `failed-${this.currentTest.title.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`;
      await page.screenshot({ path: path.join(artifacts, name) }).catch(() => undefined);
    }
  });

  after(async function () {
    this.timeout(20000);
    await context?.close().catch(() => undefined);
    await nodeRed?.stop();
    for (const d of [userDir, browserDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
    if (artifacts) {
      // eslint-disable-next-line no-console
      console.log(`      browser artifacts (screenshots) in ${artifacts}`);
    }
  });

  it('Node-RED loaded the package: its node sets, the femto sidebar plugin and the examples', async () => {
    const nodes = (await (await fetch(`${base}nodes`, { headers: { Accept: 'application/json' } })).json()) as { module: string; types: string[]; err?: string; enabled: boolean }[];
    const ours = nodes.filter((n) => n.module === MODULE);
    assert.deepEqual(ours.filter((n) => n.err).map((n) => `${n.types}: ${n.err}`), []);
    const types = ours.flatMap((n) => n.types);
    for (const t of ['femto-board', ...NODE_TYPES]) assert.ok(types.includes(t), `${t} not registered (have ${types.join(', ')})\n${nodeRed?.log()}`);
    const plugins = (await (await fetch(`${base}plugins`, { headers: { Accept: 'application/json' } })).json()) as { module: string; plugins: { id: string }[]; err?: string }[];
    const sidebar = plugins.find((p) => p.module === MODULE && p.plugins.some((x) => x.id === 'femto-sidebar'));
    assert.ok(sidebar, `femto-sidebar plugin not loaded: ${JSON.stringify(plugins)}`);
    assert.equal(sidebar.err, undefined);
    const examples = (await (await fetch(`${base}library/examples/flows/${MODULE}`)).json()) as ({ fn: string } | string)[];
    assert.ok(examples.some((e) => typeof e === 'object' && e.fn === EXAMPLE), JSON.stringify(examples));
  });

  it('shows the palette nodes in the "femto containers" category', async () => {
    await page.goto(base);
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="femto-container"]', { timeout: 30000 });
    for (const t of NODE_TYPES) {
      await page.waitForSelector(`#red-ui-palette-container-femto_containers .red-ui-palette-node[data-palette-type="${t}"]`, { state: 'attached' });
    }
    // The femto sidebar tab is there from the start.
    await page.waitForSelector('#red-ui-tab-femto-link-button', { state: 'attached' });
  });

  it('imports an example from the menu and deploys it: green status, then a result', async () => {
    await page.click('#red-ui-header-button-sidemenu');
    await page.click('#menu-item-import');
    await page.click('a[href="#red-ui-clipboard-dialog-import-tab-examples"]');
    const pane = page.locator('#red-ui-clipboard-dialog-import-tab-examples');
    await pane.locator('.red-ui-treeList-label', { hasText: MODULE }).first().click();
    await pane.locator('.red-ui-treeList-label', { hasText: EXAMPLE }).first().click();
    await page.click('#red-ui-clipboard-dialog-ok:not(.ui-state-disabled)');
    // Imported nodes follow the pointer until a click drops them on the workspace.
    const ws = await page.locator('#red-ui-workspace-chart').boundingBox();
    assert.ok(ws);
    await page.mouse.move(ws.x + 200, ws.y + 150);
    await page.mouse.move(ws.x + 220, ws.y + 160);
    await page.mouse.click(ws.x + 220, ws.y + 160);
    const containerId = await waitFor('the imported femto-container', 5000, () =>
      page.evaluate(() => {
        let id: string | undefined;
        (globalThis as any).RED.nodes.eachNode((n: any) => { if (n.type === 'femto-container') id = n.id; });
        return id;
      }));

    await page.click('#red-ui-header-button-deploy');
    // A deploy that needs confirmation (unused config, unknown nodes) would show a dialog: it must not.
    await page.locator('.red-ui-notification-success', { hasText: 'Successfully deployed' }).waitFor({ timeout: 10000 });
    assert.equal(await page.locator('#red-ui-notifications .red-ui-notification-error').count(), 0);

    const node = page.locator(`g.red-ui-flow-node-group[id="${containerId}"]`);
    await node.locator('.red-ui-flow-node-status-dot-green').waitFor({ state: 'attached', timeout: 10000 });
    const idle = await node.locator('.red-ui-flow-node-status-label').textContent();
    assert.match(idle ?? '', /flow · \d+ instr/, `status after deploy: ${idle}`);

    // Press the inject node's button: the container runs (41 + 1) and shows it.
    const inject = await page.evaluate(() => {
      let id: string | undefined;
      (globalThis as any).RED.nodes.eachNode((n: any) => { if (n.type === 'inject' && n.name === '41') id = n.id; });
      return id;
    });
    assert.ok(inject, 'the example\'s inject node');
    await page.locator(`g.red-ui-flow-node-group[id="${inject}"] .red-ui-flow-node-button`).click();
    await waitFor('the container to show its result', 8000, async () => {
      const t = await node.locator('.red-ui-flow-node-status-label').textContent();
      return t && /^42 · \d+ instr · ≈/.test(t) ? t : undefined;
    });
    assert.equal(await node.locator('.red-ui-flow-node-status-dot-green').count(), 1);
  });

  it('shows the board, its container and the live result in the femto sidebar tab', async () => {
    // Unpinned tabs sit behind the menu: ☰ ▸ View ▸ femto containers.
    await page.click('#red-ui-header-button-sidemenu');
    await page.hover('#menu-item-view-menu');
    await page.click('#menu-item-view-menu-femto');
    const sb = page.locator('.femto-sb');
    await sb.waitFor({ state: 'visible' });
    const board = sb.locator('.femto-sb-board', { hasText: 'hello board' });
    await board.waitFor({ timeout: 8000 });
    assert.match((await board.locator('.femto-sb-board-profile').textContent()) ?? '', /nrf52840dk/);
    const container = board.locator('.femto-sb-container', { hasText: 'increment' });
    await container.waitFor();
    await waitFor('the last result in the sidebar', 8000, async () => {
      const t = await container.locator('.femto-sb-result').textContent();
      return t && /r0 = 42/.test(t) ? t : undefined;
    });
    assert.match((await container.locator('.femto-sb-mcu').textContent()) ?? '', /≈ .*(µs|ms).*estimated/);
    assert.match((await container.locator('.femto-sb-faults').textContent()) ?? '', /^0 total/);
    assert.equal(await container.locator('.femto-sb-badge').getAttribute('data-state'), 'idle');

    // It follows the runtime: the next run is pushed over comms (femto/state), no refresh needed.
    await page.waitForTimeout(600);
    const before = Number(await sb.getAttribute('data-updated'));
    await page.evaluate(() => {
      let id: string | undefined;
      (globalThis as any).RED.nodes.eachNode((n: any) => { if (n.type === 'inject' && n.name === '41') id = n.id; });
      return fetch(`inject/${id}`, { method: 'POST' });
    });
    await waitFor('a pushed update', 5000, async () => {
      const t = Number(await sb.getAttribute('data-updated'));
      return t > before && (await sb.getAttribute('data-source')) === 'comms' ? t : undefined;
    });
    assert.match((await page.locator('.femto-sb-stamp').textContent()) ?? '', /^updated \d\d:\d\d:\d\d$/);
    await dismissNotifications(page);
    await page.screenshot({ path: path.join(artifacts, 'sidebar.png') });
  });

  it('verifies a bad program from the container\'s edit dialog and shows the error', async () => {
    const containerId = await page.evaluate(() => {
      let id: string | undefined;
      (globalThis as any).RED.nodes.eachNode((n: any) => { if (n.type === 'femto-container') id = n.id; });
      return id;
    });
    await page.locator(`g.red-ui-flow-node-group[id="${containerId}"] .red-ui-flow-node`).dblclick();
    await page.waitForSelector('#node-input-source-editor', { state: 'visible' });
    assert.equal(await page.locator('#node-input-language').inputValue(), 'asm');
    // Replace the program the way a person does: click into the code editor, select all, type.
    await page.locator('#node-input-source-editor').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(BAD_PROGRAM);
    await page.click('#femto-verify');
    const result = page.locator('#femto-verify-result.femto-bad');
    await result.waitFor({ timeout: 15000 });
    const text = (await result.textContent()) ?? '';
    assert.match(text, /pc 1/, `verify result: ${text}`);
    assert.match(text, /jump|ja|out of|bounds|range/i, `verify result: ${text}`);
    await page.locator('#femto-verify-listing').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#femto-verify-listing .femto-bad-line').count(), 1);

    await dismissNotifications(page);
    await page.locator('#femto-verify-listing').scrollIntoViewIfNeeded();
    const shot = path.join(artifacts, 'editor-verify.png');
    await page.screenshot({ path: shot });
    // eslint-disable-next-line no-console
    console.log(`      screenshot: ${shot}`);
    await page.click('#node-dialog-cancel');
    assert.deepEqual(pageErrors, [], 'uncaught errors in the editor page');
  });

  it('marks a remote board in the femto sidebar (address, last poll) and shows a container\'s last fault', async () => {
    // Deployed over the admin API: a remote board where nothing answers, and a container that
    // faults on its first (injected) message.
    const flows = [
      { id: 'sbtab', type: 'tab', label: 'sidebar' },
      { id: 'sbremote', type: 'femto-board', name: 'far board', mode: 'remote', address: 'coap://127.0.0.1:9', slot: 0, timeoutMs: 1000, pollMs: 0 },
      { id: 'sbrc', type: 'femto-container', z: 'sbtab', name: 'on the device', board: 'sbremote', language: 'asm', source: '', hook: 'flow', x: 300, y: 60, wires: [[]] },
      { id: 'sbboard', type: 'femto-board', name: 'near board', profile: 'nrf52840dk', storeCapacity: 16, timerPeriodMs: 0 },
      { id: 'sbinject', type: 'inject', z: 'sbtab', name: 'zero', props: [{ p: 'payload' }], once: true, onceDelay: 0.1, payload: '0', payloadType: 'num', x: 100, y: 120, wires: [['sbfault']] },
      { id: 'sbfault', type: 'femto-container', z: 'sbtab', name: 'writes 0x10', board: 'sbboard', language: 'asm', source: 'mov %r4, 0x10\nstw [%r4], 42\nmov %r0, 0\nexit', hook: 'flow', x: 300, y: 120, wires: [[]] },
    ];
    const r = await fetch(`${base}flows`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: JSON.stringify(flows) });
    assert.equal(r.status, 204, await r.text());
    const sb = page.locator('.femto-sb');
    const remote = sb.locator('.femto-sb-board[data-remote="true"]', { hasText: 'far board' });
    await remote.waitFor({ state: 'attached', timeout: 8000 });
    assert.equal(await remote.locator('.femto-sb-badge.femto-sb-remote').textContent(), 'remote');
    assert.equal(await remote.locator('.femto-sb-address').textContent(), 'coap://127.0.0.1:9');
    await waitFor('the remote board\'s poll', 8000, async () => {
      const t = await remote.locator('.femto-sb-poll').textContent();
      return t && /^failed at \d\d:\d\d:\d\d: device not answering: nothing listens at coap:\/\/127\.0\.0\.1:9/.test(t) ? t : undefined;
    });
    assert.equal(await remote.locator('.femto-sb-stores').count(), 0);
    const faulty = sb.locator('.femto-sb-board', { hasText: 'near board' }).locator('.femto-sb-container', { hasText: 'writes 0x10' });
    const lastFault = await waitFor('the last fault in the sidebar', 8000, async () => {
      const t = await faulty.locator('.femto-sb-last-fault').textContent().catch(() => null);
      return t || undefined;
    });
    assert.match(lastFault, /^fault \u22122: write 0x10\b.* at pc 1$/);
    await dismissNotifications(page);
    await page.screenshot({ path: path.join(artifacts, 'sidebar-remote.png') });
    assert.deepEqual(pageErrors, [], 'uncaught errors in the editor page');
  });
});
