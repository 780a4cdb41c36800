/**
 * lib/try: the editor's Try panel run, in Node (the browser test runs the same modules in the
 * page). The hook contexts are the board's, the helpers are the board's (printf to the console,
 * stores, SAUL reads of the sample value), the result is msg.payload's value, and the modules the
 * admin endpoint serves to the page need nothing but each other.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FaultCode } from '../../../vm/errors';
import { fromAsm } from '../../../lib/node-support/program';
import { collectTryModules, TRY_ENTRY } from '../../../lib/node-support/try-modules';
import { TRY_MAX_INSNS, tryRun } from '../../../lib/try/try-run';
import { getProfile } from '../../../lib/board/profiles';
import { Board } from '../../../lib/board/board';
import { ROOT } from '../../util/paths';

const img = (src: string): Uint8Array => fromAsm(src).image;
const INCREMENT = 'ldxdw %r2, [%r1]\nldxdw %r0, [%r2]\nadd %r0, 1\nexit';

describe('lib/try: a Try run in the edit dialog', () => {
  it('runs at most TRY_MAX_INSNS in the page, whatever the container\'s budget, and says so', () => {
    // An endless loop with a budget a board would spend minutes on: the page has no time slicing.
    const o = tryRun({ image: img('mov %r0, 0\nl: add %r0, 1\nja l\nexit'), profile: 'rfc9669', budget: 1e10, payload: 0 });
    assert.equal(o.status, 'fault');
    assert.equal(o.fault?.code, FaultCode.OUT_OF_BUDGET);
    assert.equal(o.insns, TRY_MAX_INSNS);
    assert.equal(o.cappedAt, TRY_MAX_INSNS);
    assert.match(o.fault?.message ?? '', /Try stopped after 10,000,000 instructions, the most it runs in the page; on the board this container's budget of 10,000,000,000 applies/);
    // Within the cap the container's own budget rules, and its own fault says so.
    const small = tryRun({ image: img('mov %r0, 0\nl: add %r0, 1\nja l\nexit'), profile: 'rfc9669', budget: 5000, payload: 0 });
    assert.equal(small.insns, 5000);
    assert.equal(small.cappedAt, undefined);
    assert.match(small.fault?.message ?? '', /instruction budget of 5000/);
  });

  it('bounds the console as a board does: a printf flood without newlines gives capped lines and one marker', () => {
    // printf("%64d%64d") forever, never a newline (the flood that was once quadratic on the board).
    const flood = ['mov %r1, %r10', 'add %r1, -32', 'stdw [%r1], 0', 'stdw [%r1+8], 0', 'stdw [%r1+16], 0', 'stdw [%r1+24], 0',
      'lddw %r6, 0x6434362564343625', 'stxdw [%r1], %r6', 'loop:', 'mov %r1, %r10', 'add %r1, -32', 'mov %r2, 1', 'mov %r3, 2',
      'call 1', 'ja loop', 'exit'].join('\n');
    const o = tryRun({ image: img(flood), profile: 'rfc9669', budget: 2_000_000, payload: 0 });
    assert.equal(o.fault?.code, FaultCode.OUT_OF_BUDGET);
    assert.ok(o.console.length <= 65, `${o.console.length} lines`);
    const kept = o.console.slice(0, -1).join('\n').length;
    assert.ok(kept <= 4096, `${kept} characters kept`);
    assert.match(o.console[o.console.length - 1], /truncated/);
  });

  it('flow hook: the payload as the board passes it, r0 as msg.payload, a trace of every step', () => {
    const o = tryRun({ image: img(INCREMENT), hook: 'flow', payload: 41 });
    assert.equal(o.status, 'exit');
    assert.equal(o.payload, 42);
    assert.equal(o.insns, 4);
    assert.deepEqual(o.trace.steps.map((s) => s.pc), [0, 1, 2, 3]);
    assert.match(o.input, /^payload 8 B: 29 00 00 00 00 00 00 00$/);
    const names = o.regions.map((r) => r.name);
    for (const n of ['stack', 'context', 'flow_payload']) assert.ok(names.includes(n), names.join(','));
    assert.equal(o.regions.find((r) => r.name === 'flow_payload')?.writable, false);
  });

  it('gives the same result as the board for the same program and payload', async () => {
    const board = new Board({ profile: 'nrf52840dk' });
    board.install({ id: 'c', image: img(INCREMENT), hook: 'flow' });
    const r = await board.flow('c', Uint8Array.of(200, 1, 0, 0, 0, 0, 0, 0));
    const o = tryRun({ image: img(INCREMENT), payload: 456 });
    assert.equal(BigInt(o.payload), r.r0);
    assert.equal(o.insns, r.insns);
    board.stop();
  });

  it('a fault: its code, message and pc, and the trace ends on the faulting instruction', () => {
    const o = tryRun({ image: img('mov %r4, 0x10\nstw [%r4], 42\nmov %r0, 0\nexit'), payload: 0 });
    assert.equal(o.status, 'fault');
    assert.equal(o.fault?.code, FaultCode.ILLEGAL_MEM);
    assert.equal(o.fault?.pc, 1);
    assert.match(o.fault?.message ?? '', /write 0x10/);
    assert.equal(o.trace.steps[o.trace.steps.length - 1].pc, 1);
  });

  it('printf goes to the console lines, the stores to the store view', () => {
    const src = [
      'mov %r2, 0x000a6968', 'stxw [%r10-8], %r2', 'mov %r1, %r10', 'add %r1, -8', 'call 1',
      'mov %r1, 7', 'mov %r2, 99', 'call 0x10', 'mov %r0, 0', 'exit',
    ].join('\n');
    const o = tryRun({ image: img(src), payload: null });
    assert.equal(o.status, 'exit');
    assert.deepEqual(o.console, ['hi']);
    assert.deepEqual(o.stores.local, [[7, 99]]);
  });

  it('sensor hook: the board\'s sensor reads the sample value, in the context and through saul_reg_read', () => {
    const dev = getProfile('nrf52840dk').devices().find((d) => d.name === 'NRF_TEMP')!;
    // r0 = the context's val[0] (int16 at offset 8) + the value saul_reg_read gives for the same device.
    const src = [
      'ldxh %r6, [%r1+8]', 'lsh %r6, 48', 'arsh %r6, 48',
      'mov %r1, 0x82', 'call 0x31', // saul_reg_find_type(SAUL_SENSE_TEMP)
      'mov %r1, %r0', 'mov %r2, %r10', 'add %r2, -8', 'call 0x32',
      'ldxh %r0, [%r10-8]', 'lsh %r0, 48', 'arsh %r0, 48', 'add %r0, %r6', 'exit',
    ].join('\n');
    const o = tryRun({ image: img(src), hook: 'sensor', board: 'nrf52840dk', sample: 21.5 });
    assert.equal(o.status, 'exit', JSON.stringify(o.fault));
    const raw = Math.round(21.5 / 10 ** (dev.scale ?? 0));
    assert.equal(o.payload, 2 * raw);
    assert.match(o.input, /NRF_TEMP.*reads 21\.5/);
  });

  it('sensor hook on a simulated device of the femto-board node (06\'s room temperature on an ESP32)', () => {
    const src = 'ldxh %r0, [%r1+8]\nlsh %r0, 48\narsh %r0, 48\nexit';
    const o = tryRun({ image: img(src), hook: 'sensor', board: 'esp32-wroom-32', device: 'room temperature', devices: [{ name: 'room temperature', kind: 'temperature' }], sample: 19.75 });
    assert.equal(o.payload, 1975);
    assert.match(o.input, /"room temperature" \(.*\) reads 19\.75/);
    // The board's own devices come first, as on the board: index 1 on the ESP32 (after BOOT).
    const index = tryRun({ image: img('ldxw %r0, [%r1]\nexit'), hook: 'sensor', board: 'esp32-wroom-32', devices: [{ name: 'room temperature', kind: 'temperature' }], sample: 1 });
    assert.equal(index.payload, 1);
  });

  it('an unknown device is a plain error', () => {
    assert.throws(() => tryRun({ image: img('mov %r0, 0\nexit'), hook: 'sensor', device: 'nope' }), /has no device "nope"/);
  });

  it('the modules served to the page: the entry and everything it requires, no node: module', () => {
    const m = collectTryModules(path.join(ROOT, 'dist'));
    assert.equal(m.entry, TRY_ENTRY);
    for (const f of [TRY_ENTRY, 'vm/tracer.js', 'vm/vm.js', 'lib/board/helpers.js', 'lib/node-support/payload-bytes.js']) assert.ok(m.files[f], f);
    assert.equal(Object.keys(m.files).some((f) => f.startsWith('nodes/') || f.includes('test/')), false);
    for (const [f, text] of Object.entries(m.files)) assert.doesNotMatch(text, /require\("(node:|[^.])/, f);
    assert.ok(fs.existsSync(path.join(ROOT, 'dist', TRY_ENTRY)));
  });

  it('refuses a closure that reaches a module the page cannot load', () => {
    const dir = fs.mkdtempSync(path.join(ROOT, 'dist', 'try-test-'));
    try {
      fs.writeFileSync(path.join(dir, 'a.js'), 'require("./b");');
      fs.writeFileSync(path.join(dir, 'b.js'), 'require("node:fs");');
      assert.throws(() => collectTryModules(dir, 'a.js'), /b\.js requires "node:fs", which does not run in the editor's page/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
