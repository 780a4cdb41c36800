/**
 * A Translator (vm/compiled-tier) backed by one worker thread shared by every VM of the process,
 * so that the first tier-up of a large program does not stall Node-RED for the 15–25 ms a cold
 * translation takes on the event loop. Started on first use, unref'd (it never keeps the process
 * alive), restarted if it dies; a failed or lost request rejects and the VM stays interpreted.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Translator } from '../../vm/compiled-tier';
import type { CompiledModule } from '../../vm/wasm-compiler';
import type { TranslateRequest } from './worker';

interface Pending { resolve(m: CompiledModule): void; reject(e: Error): void }

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<number, Pending>();

function start(): Worker {
  const w = new Worker(path.join(__dirname, 'worker.js'));
  w.on('message', (msg: { id: number; mod?: CompiledModule; error?: string }) => {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.mod) p.resolve(msg.mod);
    else p.reject(new Error(msg.error ?? 'the compile worker gave no module'));
  });
  const fail = (why: string): void => {
    if (worker === w) worker = undefined;
    for (const p of pending.values()) p.reject(new Error(`the compile worker ${why}`));
    pending.clear();
  };
  w.on('error', (e) => fail(`failed: ${e.message}`));
  w.on('exit', (code) => fail(`exited (${code})`));
  w.unref(); // after the listeners: adding a 'message' listener refs the worker again
  return w;
}

/** Translate on the shared worker thread. */
export const workerTranslator: Translator = (text, opts) => new Promise<CompiledModule>((resolve, reject) => {
  worker ??= start();
  const id = nextId++;
  pending.set(id, { resolve, reject });
  const req: TranslateRequest = { id, text: text.slice(), opts };
  worker.postMessage(req);
});

/** Stop the worker (tests; the process does not need it, the worker is unref'd). */
export async function stopTranslator(): Promise<void> {
  const w = worker;
  worker = undefined;
  if (w) await w.terminate();
}
