/**
 * The process-wide compile queue (lib/compile-queue): never more than the limit
 * at once (counted, not timed), FIFO, a slot freed whatever the task did, a clear "compiler busy"
 * error past the deadline — in the queue alone, through real sandboxed compiles (counting live
 * clang processes), and as the editor's Verify reports it.
 */
import * as assert from 'node:assert/strict';
import { clangProcessCount, resetClangProcessPeak } from '../../lib/compiler';
import { CompilerBusyError, compileQueueState, configureCompileQueue, resetCompileQueuePeak, withCompileSlot } from '../../lib/compile-queue';
import { verifyRequest } from '../../lib/node-support/program';
import { compileSandboxed } from '../../lib/node-support/sandbox';
import { CLANG, itNeeds } from '../util/needs';

/** A task that runs until released, recording when it started. */
function gate(log: string[], name: string): { task: () => Promise<string>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return {
    task: async () => {
      log.push(name);
      await opened;
      return name;
    },
    open: () => open(),
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('compile queue', function () {
  this.timeout(120_000);
  let saved: { concurrency: number; waitMs: number };
  before(() => {
    const s = compileQueueState();
    saved = { concurrency: s.concurrency, waitMs: s.waitMs };
  });
  afterEach(() => configureCompileQueue(saved));

  it('runs at most `concurrency` tasks at once, the others in FIFO order', async () => {
    configureCompileQueue({ concurrency: 2, waitMs: 60_000 });
    resetCompileQueuePeak();
    const log: string[] = [];
    const gates = ['a', 'b', 'c', 'd', 'e'].map((n) => gate(log, n));
    const results = gates.map((g) => withCompileSlot(g.task));
    await tick();
    assert.deepEqual(log, ['a', 'b']);
    assert.deepEqual([compileQueueState().running, compileQueueState().waiting], [2, 3]);
    gates[1].open();
    await tick();
    assert.deepEqual(log, ['a', 'b', 'c']);
    gates[0].open();
    gates[2].open();
    await tick();
    await tick();
    assert.deepEqual(log, ['a', 'b', 'c', 'd', 'e']);
    gates[3].open();
    gates[4].open();
    assert.deepEqual(await Promise.all(results), ['a', 'b', 'c', 'd', 'e']);
    assert.equal(compileQueueState().peakRunning, 2);
    assert.deepEqual([compileQueueState().running, compileQueueState().waiting], [0, 0]);
  });

  it('frees the slot when a task fails', async () => {
    configureCompileQueue({ concurrency: 1 });
    await assert.rejects(withCompileSlot(async () => {
      throw new Error('boom');
    }), /boom/);
    assert.equal(await withCompileSlot(async () => 'next'), 'next');
    assert.equal(compileQueueState().running, 0);
  });

  it('a task that waited past its deadline gets "compiler busy: N compiles ahead", and leaves the queue', async () => {
    configureCompileQueue({ concurrency: 1 });
    const log: string[] = [];
    const first = gate(log, 'first');
    const running = withCompileSlot(first.task);
    const patient = gate(log, 'patient');
    const behind = withCompileSlot(patient.task, { waitMs: 60_000 });
    const impatient = withCompileSlot(async () => 'never', { waitMs: 20 });
    await assert.rejects(impatient, (e: unknown) => {
      assert.ok(e instanceof CompilerBusyError, String(e));
      assert.match(e.message, /compiler busy: 2 compiles ahead, try again/);
      return true;
    });
    assert.equal(compileQueueState().waiting, 1, 'the impatient one left the queue');
    first.open();
    patient.open();
    assert.deepEqual([await running, await behind], ['first', 'patient']);
    assert.deepEqual(log, ['first', 'patient']);
  });

  it('Verify reports a busy compiler as rule "busy" with the message', async () => {
    configureCompileQueue({ concurrency: 1 });
    const hold = gate([], 'hold');
    const held = withCompileSlot(hold.task);
    const r = await verifyRequest({ language: 'c', source: 'int f(void *c) { return 0; }\n' }, undefined, { queueWaitMs: 10 });
    hold.open();
    await held;
    assert.equal(r.ok, false);
    assert.equal(r.rule, 'busy');
    assert.match(r.message, /compiler busy: 1 compile ahead, try again/);
  });

  itNeeds(CLANG, 'real compiles: N at once never run more clangs than the limit; one queued past its deadline is told so', async () => {
    const src = (k: number) => `#include "femto.h"\nint f(void *c) { return ${k}; }\n`;
    for (const limit of [1, 2]) {
      configureCompileQueue({ concurrency: limit, waitMs: 120_000 });
      resetClangProcessPeak();
      resetCompileQueuePeak();
      const images = await Promise.all([0, 1, 2, 3, 4].map((k) => compileSandboxed(src(k))));
      assert.equal(images.length, 5);
      assert.ok(clangProcessCount().peak <= limit, `${clangProcessCount().peak} clangs at once with a limit of ${limit}`);
      assert.ok(clangProcessCount().peak >= 1);
      assert.equal(compileQueueState().peakRunning, limit, 'the queue was full');
    }
    configureCompileQueue({ concurrency: 1 });
    const first = compileSandboxed(src(1));
    const late = compileSandboxed(src(2), { queueWaitMs: 1 });
    await assert.rejects(late, CompilerBusyError);
    assert.ok((await first).image.length > 0);
    assert.equal(clangProcessCount().live, 0);
  });
});
