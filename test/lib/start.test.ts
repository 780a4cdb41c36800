/**
 * `npm start`'s settings: Node-RED listens on loopback unless HOST says otherwise (the editor has no
 * login and its admin API compiles C on the server). Checked on the settings text and on a real
 * Node-RED started with them, by reading the kernel's table of listening sockets.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_HOST, USER_SETTINGS, hostSetting, isLoopback, nodeRedEntry, settingsFile } from '../../lib/start';
import { ROOT } from '../util/paths';
import { freePort } from '../util/net';

/** Local addresses (hex, as /proc/net/tcp* writes them) of sockets listening on `port`. */
function listeningAddresses(port: number): string[] {
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(file)) continue;
    for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] !== '0A') continue; // 0A = LISTEN
      const [addr, p] = f[1].split(':');
      if (parseInt(p, 16) === port) found.push(addr);
    }
  }
  return found;
}


describe('npm start settings', () => {
  it('listen on 127.0.0.1 unless HOST is given', () => {
    assert.equal(hostSetting(undefined), DEFAULT_HOST);
    assert.equal(hostSetting(''), DEFAULT_HOST);
    assert.equal(hostSetting('0.0.0.0'), '0.0.0.0');
    assert.equal(hostSetting('::1'), '::1');
    assert.equal(hostSetting('my-pi.local'), 'my-pi.local');
    assert.equal(hostSetting("x'; require('child_process')"), null, 'anything else is refused, not pasted into settings.js');
    assert.match(settingsFile(ROOT, '/tmp/u'), /uiHost: "127\.0\.0\.1"/);
    assert.match(settingsFile(ROOT, '/tmp/u', '0.0.0.0'), /uiHost: "0\.0\.0\.0"/);
    assert.ok(isLoopback('127.0.0.1') && isLoopback('localhost') && isLoopback('::1'));
    assert.ok(!isLoopback('0.0.0.0') && !isLoopback('192.0.2.1'));
  });

  it('merge the user\'s own settings.user.js over the generated ones (adminAuth survives restarts)', () => {
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-start-'));
    try {
      const file = path.join(userDir, 'settings.js');
      fs.writeFileSync(file, settingsFile(ROOT, userDir));
      const plain = require(file) as Record<string, unknown>;
      assert.equal(plain.adminAuth, undefined);
      assert.equal(plain.uiHost, '127.0.0.1');
      delete require.cache[require.resolve(file)];
      fs.writeFileSync(path.join(userDir, USER_SETTINGS), "module.exports = { adminAuth: { type: 'credentials', users: [] }, uiHost: '::1' };\n");
      const merged = require(file) as Record<string, unknown>;
      assert.deepEqual(merged.adminAuth, { type: 'credentials', users: [] });
      assert.equal(merged.uiHost, '::1');
      assert.equal(merged.flowFile, 'flows.json', 'generated settings stay');
    } finally {
      fs.rmSync(userDir, { recursive: true, force: true });
    }
  });

  it('make a real Node-RED listen on loopback only', async function () {
    if (!fs.existsSync('/proc/net/tcp')) this.skip(); // Linux only: the kernel's socket table
    this.timeout(60_000);
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-start-'));
    const settings = path.join(userDir, 'settings.js');
    fs.writeFileSync(settings, settingsFile(ROOT, userDir));
    const port = await freePort();
    const child = spawn(process.execPath, [nodeRedEntry(ROOT), '--userDir', userDir, '--settings', settings, '--port', String(port)],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    try {
      const deadline = Date.now() + 45_000;
      while (listeningAddresses(port).length === 0) {
        if (child.exitCode !== null) assert.fail(`Node-RED exited: ${out.slice(-2000)}`);
        if (Date.now() > deadline) assert.fail(`Node-RED did not listen on ${port}: ${out.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      // 0100007F is 127.0.0.1 in /proc/net/tcp's little-endian hex; 00000000 would be 0.0.0.0.
      assert.deepEqual(listeningAddresses(port), ['0100007F']);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      fs.rmSync(userDir, { recursive: true, force: true });
    }
  });
});
