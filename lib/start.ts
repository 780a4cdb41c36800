/**
 * `npm start` (after `npm run build`): Node-RED 4.1 with this package's nodes, in a local user
 * folder `.node-red/` at the package root (ignored by git), at http://127.0.0.1:1880 (env PORT
 * and HOST override). It listens on loopback only unless HOST says otherwise: the editor has no
 * login by default, and its admin API compiles C with the server's clang, so exposing it to a
 * network is a decision the user makes explicitly (with adminAuth set; see the README).
 *
 * - `.node-red/settings.js` is (re)written on every start: `nodesDir` points at the package root,
 *   which Node-RED loads as the module @femto-containers/node-red-femto (its package.json
 *   `node-red` section), so the palette, help, icons and Import ▸ Examples are the package's own.
 * - `.node-red/flows.json` is created only when it does not exist (a fresh clone): it holds
 *   example 02 (sensor threshold alarm) on a tab, deployed at start. Later edits are kept.
 * - Node-RED runs as a child process (its own `red.js`, no shell) with the console inherited;
 *   SIGINT/SIGTERM to this process are passed on, and this process exits with Node-RED's code,
 *   so stopping this pid stops the server.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { isIP } from 'node:net';
import * as path from 'node:path';
import { packageRoot } from './package-root';

export const DEFAULT_PORT = 1880;
export const DEFAULT_HOST = '127.0.0.1';
/** The user's own settings in the user folder, merged over the generated ones (kept across starts). */
export const USER_SETTINGS = 'settings.user.js';
export const START_EXAMPLE = '02 - Sensor threshold alarm.json';


/** Node-RED's entry script, from this package's dependencies. */
export function nodeRedEntry(root: string): string {
  const local = path.join(root, 'node_modules', 'node-red', 'red.js');
  if (fs.existsSync(local)) return local;
  return require.resolve('node-red/red.js', { paths: [root] });
}

export function settingsFile(root: string, userDir: string, host: string = DEFAULT_HOST): string {
  return `// Written by \`npm start\` (lib/start.ts) on every start: put your own settings (adminAuth,
// https, …) in ${USER_SETTINGS} beside this file; they are merged over these.
module.exports = {
    // Loopback unless HOST is set: there is no login unless ${USER_SETTINGS} sets adminAuth.
    uiHost: ${JSON.stringify(host)},
    userDir: ${JSON.stringify(userDir)},
    flowFile: 'flows.json',
    flowFilePretty: true,
    // This package (a Node-RED module through its package.json "node-red" section).
    nodesDir: [${JSON.stringify(root)}],
    credentialSecret: false,
    logging: { console: { level: 'info', metrics: false, audit: false } },
    editorTheme: { projects: { enabled: false }, tours: false },
    diagnostics: { enabled: false },
    telemetry: { enabled: false },
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
    ...(require('fs').existsSync(require('path').join(__dirname, ${JSON.stringify(USER_SETTINGS)}))
        ? require(require('path').join(__dirname, ${JSON.stringify(USER_SETTINGS)})) : {})
};
`;
}

/** Example 02 as a deployable flow: a tab and its nodes (config nodes stay global). */
export function startFlow(root: string): Record<string, unknown>[] {
  const nodes = JSON.parse(fs.readFileSync(path.join(root, 'examples', START_EXAMPLE), 'utf8')) as Record<string, unknown>[];
  const tab = { id: 'femto0000000tab1', type: 'tab', label: 'Sensor threshold alarm', disabled: false, info: '' };
  return [tab, ...nodes.map((n) => (n.type === 'femto-board' ? n : { ...n, z: tab.id }))];
}

/** The address to listen on: HOST when it looks like an address or host name, loopback when unset; null when malformed. */
export function hostSetting(env: string | undefined): string | null {
  if (env === undefined || env.trim() === '') return DEFAULT_HOST;
  const h = env.trim();
  return isIP(h) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(h) ? h : null;
}

/** True for addresses only this machine reaches. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** Create `.node-red/` (settings always, flows only when absent); returns the paths. */
export function prepareUserDir(root: string, host: string = DEFAULT_HOST): { userDir: string; settings: string; flows: string; fresh: boolean } {
  const userDir = path.join(root, '.node-red');
  fs.mkdirSync(userDir, { recursive: true });
  const settings = path.join(userDir, 'settings.js');
  fs.writeFileSync(settings, settingsFile(root, userDir, host));
  const flows = path.join(userDir, 'flows.json');
  const fresh = !fs.existsSync(flows);
  if (fresh) fs.writeFileSync(flows, JSON.stringify(startFlow(root), null, 4) + '\n');
  return { userDir, settings, flows, fresh };
}

function main(): void {
  const root = packageRoot(__dirname);
  const port = Number(process.env.PORT ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    process.stderr.write(`npm start: PORT=${process.env.PORT} is not a TCP port\n`);
    process.exit(2);
  }
  const host = hostSetting(process.env.HOST);
  if (host === null) {
    process.stderr.write(`npm start: HOST=${process.env.HOST} is not an IP address or host name\n`);
    process.exit(2);
  }
  if (!fs.existsSync(path.join(root, 'dist', 'nodes', 'femto-container.js'))) {
    process.stderr.write('npm start: dist/nodes is missing: run `npm run build` first\n');
    process.exit(2);
  }
  const { userDir, settings, fresh } = prepareUserDir(root, host);
  const shown = host.includes(':') ? `[${host}]` : host;
  process.stdout.write(
    `femto: Node-RED user folder ${path.relative(root, userDir) || '.'}${fresh ? ' (new, with example 02 deployed)' : ''}\n` +
    `femto: starting Node-RED at http://${shown}:${port}/` +
    (isLoopback(host) ? ' (loopback only; HOST=… to listen elsewhere)\n'
      : `\nfemto: WARNING: reachable from other machines; without adminAuth in .node-red/${USER_SETTINGS} anyone there can edit flows and run the C compiler\n`),
  );
  const args = [nodeRedEntry(root), '--userDir', userDir, '--settings', settings, '--port', String(port), 'flows.json'];
  const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', shell: false });
  const forward = (sig: NodeJS.Signals) => () => {
    if (child.exitCode === null) child.kill(sig);
  };
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
}

if (require.main === module) main();
