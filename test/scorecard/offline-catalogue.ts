/**
 * Preload for `node-red-dev validate` (`node -r dist/test/scorecard/offline-catalogue.js …`) that
 * answers the tool's network requests offline, so the scorecard runs here, in CI and without a
 * network, and always gives the same answer.
 *
 * What node-red-dev 0.1.6 fetches (read from its source, src/libs/*.js):
 *  - P08 (similar package names) and N01 (node types unique): GET
 *    https://catalogue.nodered.org/catalogue.json with axios. That host is not reachable here; it
 *    is answered with an EMPTY catalogue `{ modules: [] }`: no published module is known to share
 *    a name or a node type. (P08 cannot fail in 0.1.6 whatever the catalogue says: it compares an
 *    array with a string. Node-RED itself refuses a duplicate type at load, which the browser test
 *    exercises with the core nodes.)
 *  - P06 (compatible with the current Node-RED) and P07 (engines.node against Node-RED's): GET
 *    https://registry.npmjs.org/node-red with axios (dist-tags and each version's engines).
 *  - D02 (no known-bad package in the tree): npm-remote-ls walks the first production dependency's
 *    tree on the npm registry with `request`, one GET per package.
 *  - D03 (dependencies at their latest version): npm-check asks the registry (package-json/got)
 *    for each production dependency's versions and dist-tags.
 *  The npm registry questions are answered from the package's own package-lock.json: a package's
 *  versions are the versions locked for it, `latest` the highest of them, with the dependencies and
 *  engines the lockfile records. So offline, P06/P07 check against the Node-RED the project is
 *  tested with, D02 walks the locked tree, and D03 checks that package.json admits the locked
 *  versions without a major bump — "latest" means latest in the lockfile. Set
 *  FEMTO_SCORECARD_ONLINE=1 to let registry requests through to the real registry (the catalogue
 *  is still answered offline, since it cannot be reached).
 *
 * Every request is intercepted at http(s).request/get (axios, request and got all end there) and
 * sent to a stub server on a Unix socket in a temporary folder (no TCP port is opened); any other
 * host gets a 404. Each request is appended as a JSON line to FEMTO_SCORECARD_LOG when set, so the
 * test can show exactly what was asked and how it was answered.
 *
 * Environment: FEMTO_SCORECARD_PACKAGE (package root; default: the -p/--path argument, else the
 * current folder), FEMTO_SCORECARD_LOG, FEMTO_SCORECARD_ONLINE.
 */
import * as fs from 'node:fs';
import http = require('node:http');
import https = require('node:https');
import * as os from 'node:os';
import * as path from 'node:path';

export const CATALOGUE_HOST = 'catalogue.nodered.org';
export const EMPTY_CATALOGUE = { name: 'Node-RED Community catalogue (offline, empty)', updated_at: '1970-01-01T00:00:00.000Z', modules: [] as unknown[] };

interface LockEntry {
  version?: string;
  license?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  engines?: Record<string, string>;
  link?: boolean;
}

export interface Packument {
  name: string;
  'dist-tags': { latest: string };
  versions: Record<string, { name: string; version: string; license?: string; dependencies: Record<string, string>; optionalDependencies: Record<string, string>; engines?: Record<string, string> }>;
  time: Record<string, string>;
}

/** Numeric semver comparison (pre-releases sort before their release); enough for lockfile versions. */
function compareVersions(a: string, b: string): number {
  const parse = (v: string): [number[], string] => {
    const [core, pre = ''] = v.split('+')[0].split(/-(.*)/s);
    return [core.split('.').map((x) => Number(x) || 0), pre];
  };
  const [ca, pa] = parse(a);
  const [cb, pb] = parse(b);
  for (let i = 0; i < 3; i++) if ((ca[i] ?? 0) !== (cb[i] ?? 0)) return (ca[i] ?? 0) - (cb[i] ?? 0);
  if (pa === pb) return 0;
  if (!pa) return 1;
  if (!pb) return -1;
  return pa < pb ? -1 : 1;
}

/** Registry metadata for `name` from a package-lock.json (v2/v3), or undefined when it is not locked. */
export function packumentFromLock(lock: { packages?: Record<string, LockEntry> }, name: string): Packument | undefined {
  const versions: Packument['versions'] = {};
  for (const [key, e] of Object.entries(lock.packages ?? {})) {
    if (!key.endsWith(`node_modules/${name}`) || !e.version || e.link) continue;
    const rest = key.slice(0, key.length - `node_modules/${name}`.length);
    if (rest !== '' && !rest.endsWith('/')) continue;
    versions[e.version] = {
      name,
      version: e.version,
      license: e.license,
      dependencies: e.dependencies ?? {},
      optionalDependencies: e.optionalDependencies ?? {},
      ...(e.engines ? { engines: e.engines } : {}),
    };
  }
  const all = Object.keys(versions).sort(compareVersions);
  if (all.length === 0) return undefined;
  const time: Record<string, string> = { created: '1970-01-01T00:00:00.000Z', modified: '1970-01-01T00:00:00.000Z' };
  for (const v of all) time[v] = '1970-01-01T00:00:00.000Z';
  return { name, 'dist-tags': { latest: all[all.length - 1] }, versions, time };
}

function packageRootFromArgs(): string {
  if (process.env.FEMTO_SCORECARD_PACKAGE) return path.resolve(process.env.FEMTO_SCORECARD_PACKAGE);
  const argv = process.argv;
  for (let i = 0; i < argv.length; i++) {
    if ((argv[i] === '-p' || argv[i] === '--path') && argv[i + 1]) return path.resolve(argv[i + 1]);
    const m = /^--path=(.+)$/.exec(argv[i]);
    if (m) return path.resolve(m[1]);
  }
  return process.cwd();
}

function install(): void {
  const root = packageRootFromArgs();
  const lockFile = path.join(root, 'package-lock.json');
  const lock = fs.existsSync(lockFile) ? JSON.parse(fs.readFileSync(lockFile, 'utf8')) : {};
  const online = process.env.FEMTO_SCORECARD_ONLINE === '1';
  const logFile = process.env.FEMTO_SCORECARD_LOG;
  const log = (entry: Record<string, unknown>): void => {
    if (logFile) fs.appendFileSync(logFile, JSON.stringify(entry) + '\n');
  };

  const origHttpRequest = http.request;
  const sockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-scorecard-'));
  const socketPath = path.join(sockDir, 'stub.sock');
  const cleanup = (): void => {
    try {
      fs.rmSync(sockDir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  };
  process.on('exit', cleanup);

  const server = http.createServer((req, res) => {
    const original = String(req.headers['x-femto-original-url'] ?? '');
    let url: URL | undefined;
    try {
      url = new URL(original);
    } catch {
      url = undefined;
    }
    const send = (status: number, body: unknown, answer: string): void => {
      log({ method: req.method, url: original, status, answer });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url && url.hostname === CATALOGUE_HOST && url.pathname === '/catalogue.json') {
      send(200, EMPTY_CATALOGUE, 'empty catalogue');
      return;
    }
    if (url && url.hostname.startsWith('registry.') && req.method === 'GET') {
      const name = decodeURIComponent(url.pathname.replace(/^\/+/, ''));
      const p = packumentFromLock(lock, name);
      if (p) send(200, p, `package-lock.json: ${name} ${Object.keys(p.versions).join(', ')}`);
      else send(404, { error: 'Not found' }, `not in package-lock.json: ${name}`);
      return;
    }
    send(404, { error: 'offline' }, 'refused (offline)');
  });
  server.listen(socketPath);
  server.unref();

  const toUrl = (input: unknown, options: unknown, defaultProtocol: string): URL | undefined => {
    try {
      if (typeof input === 'string') return new URL(input);
      if (input instanceof URL) return new URL(input.href);
      const o = (input ?? options ?? {}) as { protocol?: string; hostname?: string; host?: string; port?: number | string; path?: string; socketPath?: string };
      if (o.socketPath) return undefined;
      const host = o.hostname ?? o.host ?? 'localhost';
      const port = o.port ? `:${o.port}` : '';
      return new URL(`${o.protocol ?? defaultProtocol}//${host}${port}${o.path ?? '/'}`);
    } catch {
      return undefined;
    }
  };
  const isLoopback = (h: string): boolean => h === 'localhost' || h === '::1' || h === '[::1]' || /^127\./.test(h);
  const shouldStub = (u: URL): boolean => {
    if (isLoopback(u.hostname)) return false;
    if (u.hostname === CATALOGUE_HOST) return true;
    return !online;
  };

  function patch(mod: typeof http | typeof https, protocol: string): void {
    const orig = mod.request;
    const request = function (this: unknown, ...args: unknown[]): http.ClientRequest {
      const [input, maybeOptions, maybeCb] = args;
      const url = toUrl(input, typeof maybeOptions === 'object' ? maybeOptions : undefined, protocol);
      if (!url || !shouldStub(url)) return (orig as (...a: unknown[]) => http.ClientRequest).apply(this, args);
      const opts = (typeof input === 'object' && !(input instanceof URL) ? input : typeof maybeOptions === 'object' ? maybeOptions : {}) as http.RequestOptions;
      const extra = (typeof input === 'string' || input instanceof URL) && typeof maybeOptions === 'object' ? (maybeOptions as http.RequestOptions) : {};
      const cb = [maybeOptions, maybeCb].find((a) => typeof a === 'function') as ((res: http.IncomingMessage) => void) | undefined;
      const headers: http.OutgoingHttpHeaders = { ...(opts.headers as http.OutgoingHttpHeaders), ...(extra.headers as http.OutgoingHttpHeaders), 'x-femto-original-url': url.href };
      delete headers.host;
      delete headers.Host;
      return origHttpRequest({ socketPath, method: extra.method ?? opts.method ?? 'GET', path: url.pathname + url.search, headers, agent: false }, cb);
    };
    (mod as { request: unknown }).request = request;
    (mod as { get: unknown }).get = function (this: unknown, ...args: unknown[]): http.ClientRequest {
      const req = request.apply(this, args);
      req.end();
      return req;
    };
  }
  patch(http, 'http:');
  patch(https, 'https:');
}

// Installed only when preloaded (`node -r`; Node names the preloading parent "internal/preload"),
// never when a test imports the helpers above.
// eslint-disable-next-line @typescript-eslint/no-deprecated
if ((module as { parent?: { id?: string } | null }).parent?.id === 'internal/preload') install();
export { install };
