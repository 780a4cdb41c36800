/**
 * The process-wide compile queue: at most `concurrency` compiles hold a clang
 * at any moment, whoever asks — the editor's Verify, the nodes' deploy-time compiles, the CLI.
 * The others wait in FIFO order; one that has waited `waitMs` without getting its turn fails with
 * CompilerBusyError ("compiler busy: N compiles ahead, try again") instead of piling up clangs
 * that each hold up to 512 MiB and a core.
 *
 * Default concurrency: 1 on a machine with 2 cores or fewer (Node-RED's event loop needs the other
 * one), else 2; FEMTO_COMPILE_CONCURRENCY overrides it, and so does configureCompileQueue.
 */
import * as os from 'node:os';
import { FormatError } from '../vm/errors';

export const DEFAULT_QUEUE_WAIT_MS = 15_000;

/** A compile gave up waiting for its turn. */
export class CompilerBusyError extends FormatError {
  constructor(readonly ahead: number, readonly waitedMs: number) {
    super('c', `compiler busy: ${ahead} compile${ahead === 1 ? '' : 's'} ahead, try again (waited ${Math.round(waitedMs / 1000)} s for a turn)`, { field: 'queue' });
    this.name = 'CompilerBusyError';
  }
}

function defaultConcurrency(): number {
  const env = Number(process.env.FEMTO_COMPILE_CONCURRENCY);
  if (Number.isInteger(env) && env >= 1) return env;
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return cores <= 2 ? 1 : 2;
}

interface Waiter {
  grant: () => void;
}

let concurrency = defaultConcurrency();
let defaultWaitMs = DEFAULT_QUEUE_WAIT_MS;
let running = 0;
let peak = 0;
const waiting: Waiter[] = [];

/** Change the limits (tests, settings). Waiters already queued see the new concurrency at once. */
export function configureCompileQueue(o: { concurrency?: number; waitMs?: number }): void {
  if (o.concurrency !== undefined) {
    if (!Number.isInteger(o.concurrency) || o.concurrency < 1) throw new RangeError(`compile concurrency must be a whole number ≥ 1, not ${o.concurrency}`);
    concurrency = o.concurrency;
  }
  if (o.waitMs !== undefined) {
    if (!(o.waitMs >= 0)) throw new RangeError(`compile queue wait must be ≥ 0 ms, not ${o.waitMs}`);
    defaultWaitMs = o.waitMs;
  }
  pump();
}

/** What the queue holds now, and the most compiles that ever ran at once since the last reset. */
export function compileQueueState(): { concurrency: number; waitMs: number; running: number; waiting: number; peakRunning: number } {
  return { concurrency, waitMs: defaultWaitMs, running, waiting: waiting.length, peakRunning: peak };
}

/** Start counting peakRunning afresh (tests). */
export function resetCompileQueuePeak(): void {
  peak = running;
}

function pump(): void {
  while (running < concurrency && waiting.length > 0) {
    const w = waiting.shift()!;
    running++;
    peak = Math.max(peak, running);
    w.grant();
  }
}

function release(): void {
  running--;
  pump();
}

/**
 * Run `task` when a slot is free (FIFO), holding the slot until it settles. Waiting longer than
 * `waitMs` (default 15 s, or configureCompileQueue's) rejects with CompilerBusyError.
 */
export async function withCompileSlot<T>(task: () => Promise<T>, opts: { waitMs?: number } = {}): Promise<T> {
  const waitMs = opts.waitMs ?? defaultWaitMs;
  if (running < concurrency && waiting.length === 0) {
    running++;
    peak = Math.max(peak, running);
  } else {
    await new Promise<void>((resolve, reject) => {
      const since = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const w: Waiter = {
        grant: () => {
          if (timer) clearTimeout(timer);
          resolve();
        },
      };
      waiting.push(w);
      if (Number.isFinite(waitMs)) {
        timer = setTimeout(() => {
          const i = waiting.indexOf(w);
          if (i < 0) return; // granted meanwhile
          waiting.splice(i, 1);
          reject(new CompilerBusyError(running + i, Date.now() - since));
        }, waitMs);
        timer.unref?.();
      }
    });
  }
  try {
    return await task();
  } finally {
    release();
  }
}
