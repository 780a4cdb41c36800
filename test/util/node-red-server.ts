/**
 * A real Node-RED as a child process, for the tests that drive it over HTTP like a user's editor
 * does (the browser test, the packed-install test): bound to 127.0.0.1 on a free port, its log
 * kept for failure messages, stopped by its pid.
 */
import { spawn } from 'node:child_process';
import { freePort } from './net';

export { freePort };

/** Poll `fn` until it gives a value (errors count as "not yet"), or fail after `ms`. */
export async function waitFor<T>(what: string, ms: number, fn: () => Promise<T | undefined>): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface NodeRedServer {
  /** http://127.0.0.1:PORT/ (admin API and editor). */
  base: string;
  /** Everything Node-RED printed so far. */
  log(): string;
  /** SIGINT by pid, SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Start `node <entry> --userDir … --settings … --port …` (entry: Node-RED's red.js) with this
 * process's node, and wait until its admin API answers. The settings must bind uiHost 127.0.0.1.
 */
export async function startNodeRed(opts: { entry: string; userDir: string; settings: string; port: number; readyMs?: number; env?: NodeJS.ProcessEnv }): Promise<NodeRedServer> {
  let log = '';
  const child = spawn(process.execPath, [opts.entry, '--userDir', opts.userDir, '--settings', opts.settings, '--port', String(opts.port)], {
    cwd: opts.userDir, stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env,
  });
  child.stdout?.on('data', (d: Buffer) => { log += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { log += d.toString(); });
  const base = `http://127.0.0.1:${opts.port}/`;
  const server: NodeRedServer = {
    base,
    log: () => log,
    async stop(graceMs = 8000) {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(child.pid, 'SIGINT');
      const t = setTimeout(() => child.pid && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
  try {
    const ready = await waitFor('Node-RED to answer', opts.readyMs ?? 30000, async () => {
      if (child.exitCode !== null) return 'exited';
      const r = await fetch(`${base}settings`);
      return r.ok ? 'up' : undefined;
    });
    if (ready === 'exited') throw new Error(`Node-RED exited (${child.exitCode})`);
  } catch (e) {
    await server.stop();
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n--- Node-RED's log ---\n${log}`);
  }
  return server;
}
