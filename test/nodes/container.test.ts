/**
 * femto-container in a running Node-RED (node-red-node-test-helper): status transitions of
 * ARCHITECTURE.md § The Node-RED face, hot swap and rejection, faults reaching a Catch node,
 * isolation of two containers on one board, the budget stopping an infinite loop while the event
 * loop stays responsive, and the other hooks.
 */
import * as assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  ALL_NODES, INCREMENT_ASM, asmContainer, boardNode, collect, flow, getNode, helper, lastStatus, nextMessage,
  recordStatus, sleep, statuses, until,
} from './util';
import { fromAsm } from '../../lib/node-support/program';
import { registry } from '../../lib/node-support/registry';
import { CLANG, itNeeds } from '../util/needs';

const OOB_WRITE = 'mov %r2, 0x10\nstw [%r2], 42\nmov %r0, 0\nexit';
const DIV_ZERO = 'mov %r0, 10\nmov %r2, 0\ndiv %r0, %r2\nexit';
const LOOP = 'mov %r0, 0\nloop:\nadd %r0, 1\nja loop';
const DOUBLE = 'ldxdw %r2, [%r1]\nldxdw %r0, [%r2]\nlsh %r0, 1\nexit';


describe('femto-container node', function () {
  this.timeout(15000);
  afterEach(async () => {
    await helper.unload();
  });

  it('loads with a board and shows "<hook> · N instr" once attached', async () => {
    await helper.load(ALL_NODES, flow(boardNode(), asmContainer('c1', INCREMENT_ASM), { id: 'out', type: 'helper' }));
    const c = getNode('c1');
    assert.equal(c.type, 'femto-container');
    assert.deepEqual(lastStatus(c), { fill: 'green', shape: 'dot', text: 'flow · 4 instr' });
  });

  it('runs on a flow message: payload = r0, msg.femto, status "r0 · N instr · ≈X µs"', async () => {
    await helper.load(ALL_NODES, flow(boardNode(), asmContainer('c1', INCREMENT_ASM), { id: 'out', type: 'helper' }));
    const c = getNode('c1');
    const p = nextMessage(getNode('out'));
    c.receive({ payload: 41, topic: 'keep me' });
    const msg = await p;
    assert.equal(msg.payload, 42);
    assert.equal(msg.topic, 'keep me', 'the input message is reused');
    assert.equal(msg.femto.insns, 4);
    assert.equal(msg.femto.board, 'board-b1');
    assert.equal(msg.femto.status, 'exit');
    assert.equal(msg.femto.tier, 'interp');
    assert.ok(msg.femto.estimatedUs > 0);
    assert.ok(msg.femto.byClass.load_dw === 2);
    assert.deepEqual(msg.femto.console, []);
    assert.match(lastStatus(c)!.text!, /^42 · 4 instr · ≈\d+\.\d\d µs$/);
  });

  it('1,000 runs make a bounded number of status calls, and the status ends on the last run', async () => {
    await helper.load(ALL_NODES, flow(boardNode(), asmContainer('c1', INCREMENT_ASM), { id: 'out', type: 'helper' }));
    const c = getNode('c1');
    const seen = recordStatus(c);
    const got = collect(getNode('out'));
    const start = Date.now();
    for (let i = 1; i <= 1000; i++) c.receive({ payload: i });
    await until(() => got.length === 1000, 10000, 'a thousand answers');
    await until(() => lastStatus(c)?.text?.startsWith('1001 · ') === true, 3000, 'the last run\'s status');
    const elapsed = Date.now() - start;
    assert.deepEqual(got.map((m) => m.payload).slice(-2), [1000, 1001], 'every message is answered');
    // One status at once, then at most one per STATUS_INTERVAL_MS (250 ms) while runs go on.
    const n = statuses(seen).length;
    assert.ok(n >= 2 && n <= 2 + Math.ceil(elapsed / 250), `${n} status calls for 1,000 runs in ${elapsed} ms`);
    assert.match(lastStatus(c)!.text!, /^1001 · 4 instr · ≈\d+\.\d\d µs$/);
    assert.equal(lastStatus(c)!.fill, 'green');
  });

  it('a board-fired run with nothing wired sends no message; the sidebar state and the status still follow its runs', async () => {
    await helper.load(ALL_NODES, flow(
      boardNode('b1', { profile: 'native', timerPeriodMs: 20 }),
      asmContainer('t', 'ldxw %r0, [%r1+12]\nexit', { hook: 'timer', wires: [[]] }),
    ));
    const t = getNode('t');
    let sent = 0;
    t.send = () => { sent++; };
    await until(() => (registry.state().boards[0]?.containers[0]?.lastResult?.r0 as number) >= 3, 3000, 'three timer runs in the sidebar state');
    assert.equal(sent, 0, 'no message for an unwired output');
    await until(() => /^\d+ · 2 instr · ≈/.test(lastStatus(t)?.text ?? ''), 3000, 'a run status');
  });

  it('the input property: a message path or a flow variable instead of msg.payload', async () => {
    await helper.load(ALL_NODES, flow(
      boardNode('b1', { slots: 4 }),
      asmContainer('path', INCREMENT_ASM, { input: 'payload.reading["raw value"]', inputType: 'msg' }),
      asmContainer('ctx', INCREMENT_ASM, { input: 'seed', inputType: 'flow', wires: [['out2']] }),
      { id: 'out', type: 'helper' }, { id: 'out2', type: 'helper' },
    ));
    const p1 = nextMessage(getNode('out'));
    getNode('path').receive({ payload: { reading: { 'raw value': 41 } } });
    assert.equal((await p1).payload, 42);
    const ctx = getNode('ctx');
    ctx.context().flow.set('seed', 99);
    const p2 = nextMessage(getNode('out2'));
    ctx.receive({ payload: 1 });
    assert.equal((await p2).payload, 100);
  });

  it('payload is a string above 2^53, and r0 may be read as int32 or uint64', async () => {
    await helper.load(ALL_NODES, flow(
      boardNode('b1', { slots: 4 }),
      asmContainer('big', 'lddw %r0, 0x7fffffffffffffff\nexit'),
      asmContainer('neg', 'mov %r0, -1\nexit', { wires: [['out2']] }),
      asmContainer('int', 'lddw %r0, 0xffffffff\nexit', { resultType: 'int32', wires: [['out3']] }),
      asmContainer('uns', 'mov %r0, -1\nexit', { resultType: 'uint64', wires: [['out4']] }),
      { id: 'out', type: 'helper' }, { id: 'out2', type: 'helper' }, { id: 'out3', type: 'helper' }, { id: 'out4', type: 'helper' },
    ));
    const got = await Promise.all(['out', 'out2', 'out3', 'out4'].map((o, i) => {
      const p = nextMessage(getNode(o));
      getNode(['big', 'neg', 'int', 'uns'][i]).receive({ payload: 0 });
      return p;
    }));
    assert.equal(got[0].payload, '9223372036854775807');
    assert.equal(got[1].payload, -1);
    assert.equal(got[2].payload, -1);
    assert.equal(got[3].payload, '18446744073709551615');
  });

  it('status: no image (grey ring) for an empty program, then verifying → attached on msg.image', async () => {
    await helper.load(ALL_NODES, flow(boardNode(), asmContainer('c1', ''), { id: 'out', type: 'helper' }));
    const c = getNode('c1');
    assert.deepEqual(lastStatus(c), { fill: 'grey', shape: 'ring', text: 'no image' });
    const seen = recordStatus(c);
    c.receive({ image: Buffer.from(fromAsm(INCREMENT_ASM).image) });
    await until(() => statuses(seen).length >= 2, 2000, 'two statuses');
    assert.deepEqual(seen[0], { fill: 'yellow', shape: 'ring', text: 'verifying' });
    assert.deepEqual(seen[1], { fill: 'green', shape: 'dot', text: 'flow · 4 instr' });
    const p = nextMessage(getNode('out'));
    c.receive({ payload: 1 });
    assert.equal((await p).payload, 2);
  });

  it('a rejected program shows red dot "rejected: <rule> line N" (its source line)', async () => {
    await helper.load(ALL_NODES, flow(boardNode(), asmContainer('c1', 'mov %r0, 1\nja +5\nexit')));
    assert.deepEqual(lastStatus(getNode('c1')), { fill: 'red', shape: 'dot', text: 'rejected: jump-target line 2' });
    await helper.unload();
    await helper.load(ALL_NODES, flow(boardNode(), asmContainer('c2', 'mov %r0, 1\nbogus %r1\nexit')));
    assert.deepEqual(lastStatus(getNode('c2')), { fill: 'red', shape: 'dot', text: 'rejected: syntax line 2' });
  });

  it('a rejected container answers each input with its rejection, not "no program installed"', async () => {
    await helper.load(ALL_NODES, flow(
      boardNode(), asmContainer('c1', 'mov %r0, 1\nja +5\nexit'),
      { id: 'catch', type: 'catch', scope: ['c1'], uncaught: false, wires: [['caught']] }, { id: 'caught', type: 'helper' },
    ));
    for (let k = 0; k < 2; k++) {
      const p = nextMessage(getNode('caught'));
      getNode('c1').receive({ payload: k });
      const m = await p;
      assert.equal(m.femto.rejected, true);
      assert.equal(m.femto.rule, 'jump-target');
      assert.equal(m.femto.line, 2);
      assert.equal(m.femto.pc, 1);
      assert.match(m.error.message, /c1: program rejected \(.*jump target/);
      assert.doesNotMatch(m.error.message, /no program installed/);
    }
  });

  it('a helper that is not granted, or unknown, keeps the program off the board', async () => {
    await helper.load(ALL_NODES, flow(
      boardNode(),
      asmContainer('c1', 'mov %r1, 1\nmov %r2, 2\ncall 0x11\nexit', { helpers: 'store_local' }),
      asmContainer('c2', 'exit', { helpers: 'prinf' }),
    ));
    assert.deepEqual(lastStatus(getNode('c1')), { fill: 'red', shape: 'dot', text: 'rejected: helper line 3' });
    assert.deepEqual(lastStatus(getNode('c2')), { fill: 'red', shape: 'dot', text: 'rejected: helpers' });
    assert.equal(registry.get('b1')!.board.containers().length, 0);
  });

  it('hot swap: an accepted image replaces the program; a rejected one leaves the old one running', async () => {
    await helper.load(ALL_NODES, flow(
      boardNode(), asmContainer('c1', INCREMENT_ASM), { id: 'out', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] }, { id: 'caught', type: 'helper' },
    ));
    const c = getNode('c1');
    const out = getNode('out');
    const run = async (v: number): Promise<unknown> => {
      const p = nextMessage(out);
      c.receive({ payload: v });
      return (await p).payload;
    };
    assert.equal(await run(20), 21);
    c.receive({ image: Buffer.from(fromAsm(DOUBLE).image) });
    assert.equal(await run(21), 42);
    assert.deepEqual(lastStatus(c)?.fill, 'green');

    const caught = nextMessage(getNode('caught'));
    c.receive({ image: Buffer.from(fromAsm('ja +5\nexit').image) });
    const err = await caught;
    assert.equal(err.femto.rejected, true);
    assert.equal(err.femto.rule, 'jump-target');
    assert.equal(err.femto.pc, 0);
    assert.equal(err.femto.code, -3);
    assert.equal(err.femto.stillRunning, true);
    assert.match(err.error.message, /previous program keeps running/);
    assert.deepEqual(lastStatus(c), { fill: 'red', shape: 'dot', text: 'rejected: jump-target at pc 0' });
    assert.equal(await run(5), 10, 'the previous (doubling) program still runs');

    // Assembly text and garbage.
    c.receive({ image: { asm: INCREMENT_ASM } });
    assert.equal(await run(5), 6);
    const caught2 = nextMessage(getNode('caught'));
    c.receive({ image: Buffer.from([1, 2, 3]) });
    assert.equal((await caught2).femto.rule, 'bytecode');
    assert.equal(await run(6), 7);
  });

  it('faults reach a Catch node with msg.femto (code, pc, instruction, counters); the flow keeps running', async () => {
    await helper.load(ALL_NODES, flow(
      boardNode(), asmContainer('bad', OOB_WRITE, { wires: [['out']] }), { id: 'out', type: 'helper' },
      { id: 'catch', type: 'catch', scope: ['bad'], uncaught: false, wires: [['caught']] }, { id: 'caught', type: 'helper' },
    ));
    const bad = getNode('bad');
    const outs = collect(getNode('out'));
    const p = nextMessage(getNode('caught'));
    bad.receive({ payload: 1 });
    const m = await p;
    assert.equal(m.femto.code, -2);
    assert.equal(m.femto.pc, 1);
    assert.match(m.femto.instruction, /^stw \[%r2\], 42/);
    assert.deepEqual(m.femto.faults, { consecutive: 1, total: 1 });
    assert.equal(m.femto.status, 'fault');
    assert.match(m.error.message, /fault -2/);
    assert.equal(m.error.source.id, 'bad');
    // The assembly's own line: "stw [%r2], 42" is line 2 of the source.
    assert.deepEqual(m.femto.fault.source, { file: 'bad.s', line: 2 });
    assert.match(m.error.message, /\(bad\.s:2\)$/);
    assert.deepEqual(lastStatus(bad), { fill: 'red', shape: 'ring', text: 'fault: write out of bounds (line 2)' });
    const p2 = nextMessage(getNode('caught'));
    bad.receive({ payload: 1 });
    assert.deepEqual((await p2).femto.faults, { consecutive: 2, total: 2 });
    assert.deepEqual(lastStatus(bad), { fill: 'red', shape: 'ring', text: 'fault: write out of bounds (line 2)' });
    const p3 = nextMessage(getNode('caught'));
    bad.receive({ payload: 1 });
    assert.equal((await p3).femto.quarantined, true);
    assert.deepEqual(lastStatus(bad), { fill: 'red', shape: 'ring', text: 'quarantined' });
    // Quarantined: messages are refused (to the Catch node), not run.
    const p4 = nextMessage(getNode('caught'));
    bad.receive({ payload: 1 });
    const q = await p4;
    assert.equal(q.femto.quarantined, true);
    assert.match(q.error.message, /quarantined/);
    assert.equal(outs.length, 0, 'a faulted run sends nothing on the output');
    // msg.reset lifts the quarantine.
    bad.receive({ reset: true });
    await until(() => lastStatus(bad)?.fill === 'green', 1000, 'reset status');
    assert.equal(lastStatus(bad)?.text, 'flow · 4 instr');
  });

  it('division by zero is fault −9 under riot-2022 and returns 0 under rfc9669', async () => {
    await helper.load(ALL_NODES, flow(
      boardNode(), asmContainer('riot', DIV_ZERO), asmContainer('rfc', DIV_ZERO, { profile: 'rfc9669', wires: [['out']] }),
      { id: 'out', type: 'helper' },
      { id: 'catch', type: 'catch', scope: ['riot'], uncaught: false, wires: [['caught']] }, { id: 'caught', type: 'helper' },
    ));
    const p = nextMessage(getNode('caught'));
    getNode('riot').receive({ payload: 1 });
    assert.equal((await p).femto.code, -9);
    assert.equal(lastStatus(getNode('riot'))?.text, 'fault: division by zero (line 3)');
    const q = nextMessage(getNode('out'));
    getNode('rfc').receive({ payload: 1 });
    assert.equal((await q).payload, 0);
  });

  it('two containers on one board are isolated: stores per tenant, a faulting neighbour changes nothing', async () => {
    const counter = [
      'stw [%r10-8], 0', 'mov %r1, 1', 'mov %r2, %r10', 'add %r2, -8', 'call 0x12',
      'ldxw %r2, [%r10-8]', 'add %r2, 1', 'stxw [%r10-8], %r2', 'mov %r1, 1', 'call 0x10', 'ldxw %r0, [%r10-8]', 'exit',
    ].join('\n');
    const tenantCounter = counter.replace('call 0x12', 'call 0x13').replace('call 0x10', 'call 0x11');
    await helper.load(ALL_NODES, flow(
      boardNode('b1', { globalScope: 'tenant', slots: 4 }),
      asmContainer('a', tenantCounter, { tenant: 'alice', wires: [['outA']] }),
      asmContainer('b', tenantCounter, { tenant: 'bob', wires: [['outB']] }),
      asmContainer('l', counter, { tenant: 'bob', wires: [['outL']] }),
      asmContainer('bad', OOB_WRITE, { tenant: 'bob' }),
      { id: 'outA', type: 'helper' }, { id: 'outB', type: 'helper' }, { id: 'outL', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] }, { id: 'caught', type: 'helper' },
    ));
    const a = collect(getNode('outA'));
    const b = collect(getNode('outB'));
    const l = collect(getNode('outL'));
    const faults = collect(getNode('caught'));
    for (let i = 0; i < 3; i++) getNode('a').receive({ payload: i });
    getNode('bad').receive({ payload: 0 });
    getNode('b').receive({ payload: 0 });
    getNode('l').receive({ payload: 0 });
    getNode('l').receive({ payload: 0 });
    await until(() => a.length === 3 && b.length === 1 && l.length === 2 && faults.length === 1, 2000, 'all runs');
    assert.deepEqual(a.map((m) => m.payload), [1, 2, 3]);
    assert.deepEqual(b.map((m) => m.payload), [1], "bob's tenant store is not alice's");
    assert.deepEqual(l.map((m) => m.payload), [1, 2], 'a local store belongs to one container');
    const e = registry.get('b1')!;
    assert.deepEqual(e.board.tenantStore('alice').toJSON(), { 1: 3 });
    assert.deepEqual(e.board.tenantStore('bob').toJSON(), { 1: 1 });
    assert.deepEqual(e.board.store('global').toJSON(), {});
    assert.deepEqual(lastStatus(getNode('a'))?.fill, 'green');
  });

  it('an infinite loop is stopped by its budget while the runtime keeps answering', async () => {
    await helper.load(ALL_NODES, flow(
      boardNode('b1', { profile: 'native' }),
      asmContainer('loop', LOOP, { budget: 1000000, quarantineAfter: 0 }),
      asmContainer('ok', INCREMENT_ASM, { wires: [['out']] }),
      { id: 'out', type: 'helper' },
      { id: 'catch', type: 'catch', scope: ['loop'], uncaught: false, wires: [['caught']] }, { id: 'caught', type: 'helper' },
    ));
    const faults = collect(getNode('caught'));
    const oks = collect(getNode('out'));
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const t0 = Date.now();
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    for (let i = 0; i < 10; i++) {
      getNode('loop').receive({ payload: i });
      getNode('ok').receive({ payload: i });
      await sleep(20);
    }
    await until(() => faults.length === 10 && oks.length === 10, 5000, 'ten faults and ten answers');
    clearInterval(ticker);
    h.disable();
    const maxMs = h.max / 1e6;
    assert.ok(faults.every((m) => m.femto.code === -8 && m.femto.insns === 1000000), 'each run stopped by the budget');
    assert.deepEqual(oks.map((m) => m.payload), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.ok(maxMs < 250, `event loop blocked for ${maxMs.toFixed(1)} ms`);
    assert.ok(ticks >= (Date.now() - t0) / 5 / 4, `timers kept firing (${ticks})`);
    // Statuses are throttled (at most one per 250 ms per node, the last one always shown): the
    // last fault's may still be waiting for its turn when the tenth fault reaches the Catch node.
    await until(() => /^fault/.test(lastStatus(getNode('loop'))?.text ?? ''), 1000, 'the last status shown');
    assert.match(lastStatus(getNode('loop'))!.text!, /^fault: out of budget: 1,000,000 instructions \(line [34]\)$/);
    // The runtime still answers an admin request.
    const res = await helper.request().get('/femto/state').expect(200);
    assert.equal(res.body.boards.length, 1);
  });

  it('timer, sensor, button and sched hooks: an input fires the hook and the node answers with its run', async () => {
    await helper.load(ALL_NODES, flow(
      boardNode('b1', { profile: 'native' }),
      asmContainer('t', 'ldxw %r0, [%r1+12]\nexit', { hook: 'timer', wires: [['outT']] }),
      asmContainer('s', 'ldxh %r0, [%r1+8]\nexit', { hook: 'sensor', device: 'sim temperature', wires: [['outS']] }),
      asmContainer('k', 'ldxb %r0, [%r1+4]\nexit', { hook: 'sched', wires: [['outK']] }),
      { id: 'outT', type: 'helper' }, { id: 'outS', type: 'helper' }, { id: 'outK', type: 'helper' },
    ));
    const pt = nextMessage(getNode('outT'));
    getNode('t').receive({ payload: 'tick' });
    const mt = await pt;
    assert.equal(mt.payload, 1, 'first timer tick');
    assert.equal(mt.femto.hook, 'timer');
    const ps = nextMessage(getNode('outS'));
    getNode('s').receive({});
    const ms = await ps;
    assert.ok(typeof ms.payload === 'number' && ms.payload > 1700 && ms.payload < 2500, `centi-degrees ${ms.payload}`);
    const pk = nextMessage(getNode('outK'));
    getNode('k').receive({});
    assert.equal((await pk).femto.hook, 'sched');
  });

  it('board-fired runs send new messages (timer hook on the board clock)', async () => {
    await helper.load(ALL_NODES, flow(
      boardNode('b1', { profile: 'native', timerPeriodMs: 30 }),
      asmContainer('t', 'ldxw %r0, [%r1+12]\nexit', { hook: 'timer', wires: [['outT']] }),
      { id: 'outT', type: 'helper' },
    ));
    const got = collect(getNode('outT'));
    await until(() => got.length >= 3, 3000, 'three timer runs');
    assert.deepEqual(got.slice(0, 3).map((m) => m.payload), [1, 2, 3]);
    assert.equal(got[0].topic, 'timer');
  });

  it('a hot rfc9669 container moves to the compiled tier in the runtime, with the same results', async () => {
    // r0 = payload × 2000 by a loop with a branch (both loop forms of the compiled tier run).
    const loop = `ldxdw %r2, [%r1]
      ldxdw %r2, [%r2]
      mov %r0, 0
      mov %r3, 2000
      l: jgt %r3, 5000, +1
      add %r0, %r2
      sub %r3, 1
      jne %r3, 0, l
      exit`;
    await helper.load(ALL_NODES, flow(boardNode('b1', { profile: 'native' }), asmContainer('hot', loop, { profile: 'rfc9669' }), { id: 'out', type: 'helper' }));
    const c = getNode('hot');
    const got = collect(getNode('out'));
    for (let k = 1; k <= 60; k++) {
      c.receive({ payload: k });
      await until(() => got.length >= k, 3000, `run ${k}`);
    }
    assert.deepEqual(got.map((m) => m.payload), Array.from({ length: 60 }, (_, k) => (k + 1) * 2000));
    assert.equal(got[0].femto.tier, 'interp', 'starts on the interpreter');
    assert.equal(got[59].femto.tier, 'compiled', 'hot after 16 runs of 8,000 instructions');
    assert.ok(got.every((m) => m.femto.insns === 8005), 'same instruction count on both tiers');
  });

  itNeeds(CLANG, 'compiles C source in the sandbox (clang) and runs it', async () => {
    const src = '#include "femto.h"\nuint64_t f(femto_flow_ctx_t *ctx) { return ctx->len * 2; }\n';
    await helper.load(ALL_NODES, flow(boardNode(), asmContainer('c', src, { language: 'c' }), { id: 'out', type: 'helper' }));
    const c = getNode('c');
    await until(() => lastStatus(c)?.fill === 'green', 10000, 'compiled');
    const p = nextMessage(getNode('out'));
    c.receive({ payload: 'hello' });
    assert.equal((await p).payload, 10);
  });

  itNeeds(CLANG, 'a C include outside femto.h is refused with the line, before clang runs', async () => {
    const src = '#include "femto.h"\n#include "/etc/passwd"\nint f(void *c) { return 0; }\n';
    await helper.load(ALL_NODES, flow(boardNode(), asmContainer('c', src, { language: 'c' })));
    const c = getNode('c');
    await until(() => lastStatus(c)?.fill === 'red', 5000, 'refused');
    assert.deepEqual(lastStatus(c), { fill: 'red', shape: 'dot', text: 'rejected: sandbox line 2' });
  });

  it('close removes the container from its board and releases the board', async () => {
    await helper.load(ALL_NODES, flow(boardNode('b1', { timerPeriodMs: 10 }), asmContainer('c1', INCREMENT_ASM)));
    const board = registry.get('b1')!.board;
    assert.equal(board.containers().length, 1);
    await helper.unload();
    assert.equal(registry.get('b1'), undefined);
    assert.equal(board.containers().length, 0);
    assert.equal(board.started, false);
    assert.equal(board.clock.pending(), 0, 'no timer left');
    await helper.load(ALL_NODES, flow(boardNode()));
  });
});
