/**
 * Boards that slice runs: a long run goes on in later turns of the event loop and ends
 * with the report an unsliced board gives (instructions, classes, estimate, console, store
 * writes, fault); while it runs the container says so and how far, its hook skips it, flow
 * messages queue behind it in order (bounded, the overflow named), and removing, replacing or
 * stopping cancels it cleanly. On a VirtualClock with instruction slices it is all deterministic;
 * on the wall clock with 5 ms slices timers and other containers get their turns meanwhile.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { Board, BoardError, WallClock, type RunReport } from '../../../lib/board/board';
import { DEFAULT_SLICE_MS } from '../../../vm/vm';
import { image, vboard } from './util';

/** Spins until a budget stops it (the exit is never reached; riot-2022, as RIOT, wants one last). */
const SPIN = 'mov %r0, 0\nl: add %r0, 1\nja l\nexit';
/** A flow container: prints "x<i>" per pass and a newline every 4th, stores i → i, n passes. */
const chatty = (n: number): Uint8Array => image(`
  mov %r6, 0
  loop:
  lddwr %r1, 0
  mov %r2, %r6
  call 1
  mov %r1, %r6
  mov %r2, %r6
  call 0x10
  mov %r3, %r6
  and %r3, 3
  jne %r3, 3, skip
  lddwr %r1, 4
  call 1
  skip:
  add %r6, 1
  jlt %r6, ${n}, loop
  mov %r0, %r6
  exit`, { rodata: 'x%d\0\n\0' });

/** What must not differ between a sliced and an unsliced run (time and turns may). */
function essence(r: RunReport): Record<string, unknown> {
  return {
    status: r.status, r0: r.r0, insns: r.insns, totalInsns: r.totalInsns, slice: r.slice, byClass: r.byClass,
    estimatedUs: r.estimatedUs, console: r.console, storeWrites: r.storeWrites.map((w) => ({ ...w })), fault: r.fault, faults: r.faults,
  };
}

/** Events a board emits, as comparable records (payloads without times). */
function record(board: Board): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const ev of ['console', 'store', 'result', 'fault', 'quarantine', 'cancelled', 'dropped']) {
    board.on(ev, (p: Record<string, unknown>) => out.push([ev, ev === 'result' || ev === 'fault' ? essence(p as unknown as RunReport) : { ...p, atUs: undefined }]));
  }
  return out;
}

describe('board: sliced runs', () => {
  it('a long run goes on over turns and ends with the unsliced report; meanwhile it is "running" and how far', async () => {
    const plain = vboard().board;
    const { board, clock } = vboard('native', { slice: { insns: 1000 } });
    for (const b of [plain, board]) b.install({ id: 'f', hook: 'flow', budget: 100_000, image: SPIN });
    const want = plain.runFlow('f', new Uint8Array(0));
    const results: RunReport[] = [];
    const progress: number[] = [];
    board.on('result', (r: RunReport) => results.push(r));
    board.on('progress', (p: { insns: number }) => progress.push(p.insns));
    const done = board.flow('f', new Uint8Array(0));
    assert.equal(results.length, 0, 'no result after the first slice');
    const info = board.container('f');
    assert.equal(info.state, 'running');
    assert.deepEqual(info.run, { insns: 1000, budget: 100_000, turns: 1 });
    clock.flush(); // every later turn, at the same virtual time
    const got = await done;
    assert.equal(got.fault?.message, 'instruction budget of 100000 exhausted');
    assert.deepEqual(essence(got), essence(want));
    assert.equal(got.turns, 100);
    assert.deepEqual(results, [got]);
    assert.deepEqual(progress, Array.from({ length: 99 }, (_, k) => (k + 1) * 1000));
    assert.equal(board.container('f').state, 'idle');
    assert.equal(clock.pending(), 0);
  });

  it('console and store events and the final report are those of the unsliced run, whatever the slices and console caps', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 20 }), (n, insns, maxBytes, maxLines) => {
      // One console cap for the whole run: a run cut into turns truncates exactly where the unsliced one does.
      const plain = vboard('native', { console: { maxBytes, maxLines } });
      const sliced = vboard('native', { slice: { insns }, console: { maxBytes, maxLines } });
      const events = [plain, sliced].map(({ board }) => {
        board.install({ id: 'c', hook: 'flow', image: chatty(n) });
        return record(board);
      });
      plain.board.runFlow('c', new Uint8Array(0));
      void sliced.board.flow('c', new Uint8Array(0));
      sliced.clock.flush();
      assert.deepEqual(events[1], events[0]);
      assert.deepEqual(sliced.board.store('local', 'c').entries(), plain.board.store('local', 'c').entries());
    }), { numRuns: 40, seed: 0x5b0a });
  });

  it('flow messages to a busy container wait in order; a full queue drops the newest and says so', async () => {
    const { board, clock } = vboard('native', { slice: { insns: 500 }, queueLimit: 2 });
    // r0 = first payload byte, after a loop of 100 × payload byte passes.
    board.install({ id: 'q', hook: 'flow', image: `
      ldxdw %r2, [%r1]
      ldxb %r6, [%r2]
      mov %r7, %r6
      mul %r7, 100
      l: sub %r7, 1
      jne %r7, 0, l
      mov %r0, %r6
      exit` });
    const order: number[] = [];
    const msgs = [9, 1, 2, 3].map((v) => board.flow('q', Uint8Array.of(v)).then((r) => { order.push(Number(r.r0)); return r; }));
    const dropped = await msgs[3].then(() => undefined, (e: unknown) => e);
    assert.ok(dropped instanceof BoardError && dropped.code === 'busy', String(dropped));
    assert.match((dropped as Error).message, /container "q" is busy \(a run in flight and 2 messages waiting, the most allowed\): this message of 1 B was dropped/);
    assert.deepEqual({ queued: board.container('q').queued, dropped: board.container('q').dropped }, { queued: 2, dropped: 1 });
    // A hook firing skips it while it is busy (its timer, its flow hook).
    assert.deepEqual(board.fireFlow(Uint8Array.of(1)).skipped, [{ container: 'q', reason: 'running' }]);
    clock.flush();
    await Promise.all(msgs.slice(0, 3));
    assert.deepEqual(order, [9, 1, 2]);
    assert.equal(board.container('q').queued, 0);
  });

  it('messages waiting behind the run that quarantines a container are refused as quarantined, not run', async () => {
    const { board, clock } = vboard('native', { slice: { insns: 500 } });
    // An endless loop with a budget of 2,000: each run faults −8 after four slices; one fault quarantines.
    board.install({ id: 'spin', hook: 'flow', budget: 2000, quarantineAfter: 1, image: 'mov %r0, 0\nl: add %r0, 1\nja l\nexit' });
    const ran: string[] = [];
    board.on('result', (r: RunReport) => ran.push(r.status));
    const msgs = [1, 2, 3].map((v) => board.flow('spin', Uint8Array.of(v)).then((r) => r.status, (e: unknown) => e));
    clock.flush();
    const [first, ...rest] = await Promise.all(msgs);
    assert.equal(first, 'fault');
    for (const e of rest) {
      assert.ok(e instanceof BoardError && e.code === 'quarantined', String(e));
      assert.match((e as Error).message, /container "spin" was quarantined while this message waited/);
    }
    assert.deepEqual(ran, ['fault'], 'only the first message ran');
    assert.equal(board.container('spin').state, 'quarantined');
    assert.equal(board.container('spin').queued, 0);
  });

  it('removing, replacing or stopping cancels the run in flight and the queued messages; no result follows', async () => {
    for (const how of ['remove', 'replace', 'stop', 'detach'] as const) {
      const { board, clock } = vboard('native', { slice: { insns: 100 } });
      board.install({ id: 's', hook: 'flow', budget: 1e6, image: SPIN });
      const events = record(board);
      const first = board.flow('s', new Uint8Array(0));
      const second = board.flow('s', new Uint8Array(0));
      if (how === 'remove') board.remove('s');
      else if (how === 'replace') board.replaceImage('s', 'mov %r0, 5\nexit');
      else if (how === 'detach') board.detach('s');
      else board.stop();
      const errors = await Promise.all([first, second].map((p) => p.then(() => 'settled', (e: Error) => e.message)));
      assert.equal(errors.length, 2);
      for (const e of errors) assert.match(e, /container "s" did not run this message: (it was removed|its image was replaced|the board stopped|it was detached)/, how);
      clock.flush();
      assert.deepEqual(events.filter(([ev]) => ev !== 'cancelled'), [], how);
      assert.equal(events.filter(([ev]) => ev === 'cancelled').length, 1, how);
      assert.equal(clock.pending(), 0, how);
      if (how === 'replace') assert.equal((await board.flow('s', new Uint8Array(0))).r0, 5n);
    }
  });

  it('a CoAP request waits for a preempted container and gets its answer', async () => {
    const { board, clock } = vboard('native', { slice: { insns: 50 } });
    // Spins 200 passes, then answers 2.05 with no payload (the PDU is the request's header).
    board.install({ id: 'c', hook: 'coap', image: `
      ldxdw %r6, [%r1+8]
      mov %r7, 200
      l: sub %r7, 1
      jne %r7, 0, l
      mov %r2, 0x45
      stxb [%r6+1], %r2
      mov %r2, 0x60
      stxb [%r6], %r2
      mov %r0, 4
      exit` });
    const pending = board.coapRequestAsync('GET', '/x');
    clock.flush();
    const { response, result } = await pending;
    assert.equal(response.codeText, '2.05');
    assert.equal(result.reports.length, 1);
    assert.equal(result.reports[0].status, 'exit');
    assert.ok(result.reports[0].turns > 5);
    // The synchronous form runs to its end in the call.
    assert.equal(board.coapRequest('GET', '/x').codeText, '2.05');
  });

  it('riot-2022 on an MCU board: the taken-branch budget holds across turns', () => {
    const { board, clock } = vboard('nrf52840dk', { slice: { insns: 7 } });
    const ids: string[] = [];
    board.on('fault', (r: RunReport) => ids.push(`${r.container}: ${r.fault?.message} after ${r.insns}`));
    board.install({ id: 't', hook: 'timer', image: SPIN, budget: 1e9 });
    assert.equal(board.fireTimer().reports[0].status, 'preempted');
    clock.flush();
    assert.deepEqual(ids, ['t: taken-branch budget of 200 exhausted after 403']);
  });

  it('on the wall clock, 5 ms slices leave the event loop to timers and other work', async function () {
    this.timeout(20_000);
    const board = new Board({ profile: 'native', clock: new WallClock(), slice: { ms: DEFAULT_SLICE_MS } });
    board.install({ id: 'spin', hook: 'flow', budget: 1e10, image: SPIN });
    board.install({ id: 'ok', hook: 'flow', image: 'mov %r0, 42\nexit' });
    const spinning = board.flow('spin', new Uint8Array(0)).then(() => 'ended', (e: Error) => e.message);
    // Timers set while it spins fire, each within a generous bound (without slicing: minutes).
    const lags: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, 5));
      lags.push(performance.now() - t0 - 5);
      assert.equal((await board.flow('ok', new Uint8Array(0))).r0, 42n);
    }
    const info = board.container('spin');
    assert.equal(info.state, 'running');
    assert.ok(info.run!.insns > 0 && info.run!.turns > 1, JSON.stringify(info.run));
    board.remove('spin');
    assert.match(await spinning, /it was removed/);
    assert.ok(Math.max(...lags) < 500, `timer lags ${lags.map((l) => l.toFixed(1)).join(', ')} ms`);
    board.stop();
  });

  it('on the wall clock, spinning containers on several boards share about one slice per event-loop iteration', async function () {
    this.timeout(20_000);
    const boards = [0, 1].map(() => new Board({ profile: 'native', clock: new WallClock(), slice: { ms: DEFAULT_SLICE_MS } }));
    let slices = 0;
    const runs: Promise<unknown>[] = [];
    for (const b of boards) {
      b.on('progress', () => slices++);
      for (const id of ['a', 'b']) {
        b.install({ id, hook: 'flow', budget: 1e10, image: SPIN });
        runs.push(b.flow(id, new Uint8Array(0)).catch(() => undefined));
      }
    }
    // A setImmediate chain ticks once per iteration of the event loop: count the slices between ticks.
    const perIteration: number[] = [];
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        perIteration.push(slices);
        slices = 0;
        if (perIteration.length < 60) setImmediate(tick);
        else resolve();
      };
      setImmediate(tick);
    });
    for (const b of boards) b.stop();
    await Promise.all(runs);
    const later = perIteration.slice(1); // the first count has the four first slices, run in flow()
    const total = later.reduce((a, b) => a + b, 0);
    assert.ok(total >= 20, `only ${total} slices in 59 iterations`);
    assert.ok(Math.max(...later) <= 2, `slices per iteration: ${later.join(' ')} (four runs waiting)`);
  });
});
