import { strict as assert } from 'node:assert';
import { Board, BoardError, type RunReport } from '../../../lib/board/board';
import { WallClock } from '../../../lib/board/clock';
import { VerifyError } from '../../../vm/errors';
import { assemble } from '../../../vm/assembler';
import { parseImage } from '../../../vm/image';
import { dec, enc, image, vboard } from './util';

const COUNTER = `
  mov %r1, 1
  mov %r2, %r10
  add %r2, -8
  call 0x13
  ldxw %r2, [%r10-8]
  add %r2, 1
  mov %r1, 1
  call 0x11
  mov %r0, 0
  exit`;

describe('board/board: installing', () => {
  it('accepts RIOT image bytes, a parsed image, raw bytecode and assembly text', () => {
    const { board } = vboard();
    const bytes = image('mov %r0, 7\nexit');
    const ids = [
      board.install({ hook: 'timer', image: bytes }).id,
      board.install({ hook: 'timer', image: parseImage(bytes) }).id,
      board.install({ hook: 'timer', image: assemble('mov %r0, 7\nexit') }).id,
      board.install({ hook: 'timer', image: 'mov %r0, 7\nexit' }).id,
    ];
    assert.deepEqual(ids, ['c1', 'c2', 'c3', 'c4']);
    assert.ok(board.fireTimer().reports.every((r) => r.r0 === 7n && r.status === 'exit'));
    assert.equal(board.container('c1').imageBytes, bytes.length);
  });

  it('an image must fit a slot, a slot must be free, and RAM must suffice', () => {
    const { board } = vboard('nrf52840dk');
    const big = 'mov %r0, 0\n'.repeat(300) + 'exit'; // 2408 B of text
    assert.throws(() => board.install({ hook: 'timer', image: big }), (e: unknown) => e instanceof BoardError && e.code === 'slot');
    board.install({ hook: 'timer', image: 'mov %r0, 0\nexit' });
    board.install({ hook: 'timer', image: 'mov %r0, 0\nexit' });
    assert.throws(() => board.install({ hook: 'timer', image: 'mov %r0, 0\nexit' }), /no free container slot/);
    const small = vboard('gd32vf103', { slots: { count: 20, size: 2048 } }).board; // 4 KiB for instances
    for (let i = 0; i < 6; i++) small.install({ hook: 'timer', image: 'mov %r0, 0\nexit' }); // 6 × 624 B
    assert.throws(() => small.install({ hook: 'timer', image: 'mov %r0, 0\nexit' }), (e: unknown) => e instanceof BoardError && e.code === 'ram');
    assert.equal(small.containers().reduce((s, c) => s + c.ramBytes, 0), 6 * 624);
    assert.throws(() => board.install({ id: 'c1', hook: 'timer', image: 'exit' }), BoardError);
    assert.throws(() => vboard().board.install({ hook: 'nope' as 'timer', image: 'exit' }), /unknown hook/);
    assert.throws(() => vboard().board.install({ hook: 'timer', image: 'exit', entry: 'main' }), /no exported function/);
  });

  it('MCU boards verify with the riot-2022 profile (RIOT-only opcodes), native with rfc9669', () => {
    const alu32 = 'mov32 %r0, 1\nexit';
    assert.throws(() => vboard('nrf52840dk').board.install({ hook: 'timer', image: alu32 }), VerifyError);
    assert.equal(vboard('native').board.install({ hook: 'timer', image: alu32 }).profile, 'rfc9669');
  });

  it('replaceImage verifies again; a rejected image leaves the old one running', () => {
    const { board } = vboard();
    const { id } = board.install({ hook: 'sched', image: 'mov %r0, 1\nexit' });
    assert.throws(() => board.replaceImage(id, 'mov %r1, 0\ncall 1\nexit'), VerifyError); // printf not granted on sched
    assert.throws(() => board.replaceImage(id, new Uint8Array([1, 2, 3])), Error);
    assert.equal(board.schedTick().reports[0].r0, 1n);
    board.replaceImage(id, 'mov %r0, 2\nexit');
    assert.equal(board.schedTick().reports[0].r0, 2n);
  });

  it('detach, attach and remove', () => {
    const { board } = vboard();
    const { id } = board.install({ hook: 'timer', image: 'mov %r0, 3\nexit' });
    board.detach(id);
    assert.equal(board.container(id).state, 'detached');
    assert.equal(board.fireTimer().reports.length, 0);
    board.attach(id, 'sched');
    assert.equal(board.schedTick().reports[0].r0, 3n);
    board.remove(id);
    assert.equal(board.containers().length, 0);
    assert.throws(() => board.container(id), BoardError);
  });
});

describe('board/board: faults and quarantine', () => {
  it('faults are reports (with code, pc, insn, counters), never throws; quarantine after N, reset', () => {
    const { board } = vboard();
    const faults: RunReport[] = [];
    const quarantined: unknown[] = [];
    board.on('fault', (r: RunReport) => faults.push(r));
    board.on('quarantine', (q) => quarantined.push(q));
    const { id } = board.install({ hook: 'timer', quarantineAfter: 2, image: 'mov %r0, 0\nstxw [%r0+16], %r0\nexit' });
    const r1 = board.fireTimer().reports[0];
    assert.equal(r1.status, 'fault');
    assert.deepEqual([r1.fault!.code, r1.fault!.pc, r1.fault!.insn], [-2, 1, 'stxw [%r0+16], %r0']);
    assert.match(String(r1.fault!.message), /write 0x10/);
    assert.deepEqual(r1.faults, { consecutive: 1, total: 1 });
    assert.equal(r1.quarantined, false);
    const r2 = board.fireTimer().reports[0];
    assert.equal(r2.quarantined, true);
    assert.deepEqual(quarantined, [{ container: id, faults: { consecutive: 2, total: 2 } }]);
    const r3 = board.fireTimer();
    assert.equal(r3.reports.length, 0);
    assert.deepEqual(r3.skipped, [{ container: id, reason: 'quarantined' }]);
    assert.equal(board.container(id).state, 'quarantined');
    board.resetContainer(id);
    assert.equal(board.fireTimer().reports.length, 1);
    assert.equal(faults.length, 3);
  });

  it('budget exhaustion is fault −8; a clean exit resets the consecutive count', () => {
    const { board } = vboard();
    const { id } = board.install({ hook: 'flow', budget: 1000, image: 'ldxdw %r2, [%r1]\nldxb %r0, [%r2]\nloop:\njeq %r0, 0, loop\nexit' });
    const bad = board.runFlow(id, Uint8Array.of(0));
    assert.equal(bad.fault?.code, -8);
    assert.equal(bad.insns, 1000);
    const good = board.runFlow(id, Uint8Array.of(1));
    assert.equal(good.status, 'exit');
    assert.deepEqual(good.faults, { consecutive: 0, total: 1 });
  });
});

describe('board/board: tenants and isolation', () => {
  it("a container never reaches another container's memory", () => {
    const { board } = vboard();
    // A keeps a secret in its .data (persisting across runs); B looks at the same addresses.
    const a = board.install({ hook: 'flow', image: image('lddwd %r1, 0\nlddw %r2, 0x5ec7e7\nstxw [%r1], %r2\nmov %r0, 0\nexit', { data: new Uint8Array(8) }) });
    const b = board.install({ hook: 'flow', image: image('lddwd %r1, 0\nldxw %r0, [%r1]\nexit', { data: new Uint8Array(8) }) });
    board.runFlow(a.id, new Uint8Array(0));
    assert.equal(board.runFlow(b.id, new Uint8Array(0)).r0, 0n); // its own .data, not A's
    // B cannot address A's regions at all: everything outside its own regions faults
    const probe = board.install({ hook: 'flow', image: 'lddw %r1, 0x20000000\nldxw %r0, [%r1]\nexit' }); // no .data of its own
    assert.equal(board.runFlow(probe.id, new Uint8Array(0)).fault?.code, -2);
    // stacks are zeroed per run, so nothing passes through them either
    const s1 = board.install({ hook: 'flow', image: 'stw [%r10-4], 77\nmov %r0, 0\nexit' });
    const s2 = board.install({ hook: 'flow', image: 'ldxw %r0, [%r10-4]\nexit' });
    board.runFlow(s1.id, new Uint8Array(0));
    assert.equal(board.runFlow(s2.id, new Uint8Array(0)).r0, 0n);
    assert.equal(board.vmOf(a.id).memory.bytes('data')[0], 0xe7);
  });

  it("a container never reaches another container's local store", () => {
    const { board } = vboard();
    const a = board.install({ hook: 'flow', image: 'mov %r1, 1\nmov %r2, 111\ncall 0x10\nexit' });
    const b = board.install({ hook: 'flow', image: 'mov %r1, 1\nmov %r2, %r10\nadd %r2, -4\ncall 0x12\nldxw %r0, [%r10-4]\nexit' });
    board.runFlow(a.id, new Uint8Array(0));
    assert.equal(board.runFlow(b.id, new Uint8Array(0)).r0, 0n);
    assert.equal(board.store('local', a.id).get(1), 111);
    assert.equal(board.store('local', b.id).size, 0);
  });

  it("with tenant scope, a container never reaches another tenant's store", () => {
    const { board } = vboard('native', { globalScope: 'tenant' });
    const put = 'mov %r1, 1\nmov %r2, 5\ncall 0x11\nexit';
    const get = 'mov %r1, 1\nmov %r2, %r10\nadd %r2, -4\ncall 0x13\nldxw %r0, [%r10-4]\nexit';
    const a = board.install({ hook: 'flow', tenant: 'alice', image: put });
    const b = board.install({ hook: 'flow', tenant: 'bob', image: get });
    const a2 = board.install({ hook: 'flow', tenant: 'alice', image: get });
    const shared = board.install({ hook: 'flow', tenant: 'bob', globalScope: 'board', image: get });
    board.runFlow(a.id, new Uint8Array(0));
    assert.equal(board.runFlow(b.id, new Uint8Array(0)).r0, 0n); // bob: nothing
    assert.equal(board.runFlow(a2.id, new Uint8Array(0)).r0, 5n); // alice's other container: shared
    assert.equal(board.runFlow(shared.id, new Uint8Array(0)).r0, 0n); // board-global store untouched
    assert.deepEqual(board.store('tenant', 'alice').toJSON(), { 1: 5 });
    assert.equal(board.store('tenant', 'bob').size, 0);
    assert.equal(board.store('global').size, 0);
    assert.deepEqual(board.tenants(), ['alice', 'bob']);
  });
});

describe('board/board: hooks end to end', () => {
  it('CoAP: a container formats a real response in the PDU buffer', () => {
    const { board } = vboard('nrf52840dk');
    board.install({
      hook: 'coap', path: '/temp',
      image: image(`
        mov %r6, %r1
        mov %r2, 69
        call 0x40
        mov %r1, %r6
        mov %r2, 0
        call 0x42
        mov %r1, %r6
        mov %r2, 1
        call 0x41
        mov %r7, %r0
        mov %r1, %r6
        call 0x43
        mov %r1, %r0
        lddwr %r2, 0
        mov %r3, 4
        call 2
        mov %r0, %r7
        add %r0, 4
        exit`, { rodata: '21.5' }),
    });
    const res = board.coapRequest('GET', 'temp');
    assert.equal(res.codeText, '2.05');
    assert.equal(res.type, 2); // CON answered by ACK
    assert.equal(res.contentFormat, 0);
    assert.equal(dec(res.payload), '21.5');
    assert.deepEqual([...res.pdu.subarray(0, 2)], [0x62, 69]); // ver 1, ACK, TKL 2; code 2.05
    assert.deepEqual([...res.pdu.subarray(6, 8)], [0xc0, 0xff]); // Content-Format: 0 (empty uint), marker
    assert.equal(res.pdu.length, 12);
    assert.equal(board.coapRequest('GET', '/other').codeText, '4.04');
  });

  it('CoAP: the request packet struct and PDU are laid out as RIOT\'s coap_pkt_t', () => {
    const { board } = vboard();
    // return payload_len << 32 | options_len << 16 | first option number
    board.install({
      hook: 'coap',
      image: `
        ldxdw %r2, [%r1]
        ldxh %r0, [%r2+12]
        lsh %r0, 16
        ldxh %r3, [%r2+14]
        or %r0, %r3
        lsh %r0, 16
        ldxh %r3, [%r2+16]
        or %r0, %r3
        ldxw %r4, [%r2+8]
        ldxb %r4, [%r4]
        lsh %r4, 48
        or %r0, %r4
        ldxdw %r5, [%r1+16]
        exit`,
    });
    const res = board.coapRequest('POST', '/a/b', 'xyz');
    assert.equal(res.codeText, '5.00'); // the container answered nothing usable
    const vm = board.vmOf('c1');
    const pkt = vm.memory.bytes('coap_pkt');
    const buf = vm.memory.bytes('coap_buf');
    const dv = new DataView(pkt.buffer, pkt.byteOffset, pkt.byteLength);
    const base = vm.memory.region('coap_buf')!.base;
    assert.equal(dv.getUint32(0, true), base);
    assert.equal(dv.getUint32(4, true), base + 4);
    assert.equal(dv.getUint16(12, true), 3);
    assert.equal(dv.getUint16(14, true), 2);
    assert.deepEqual([dv.getUint16(16, true), dv.getUint16(18, true), dv.getUint16(20, true), dv.getUint16(22, true)], [11, 6, 11, 8]);
    assert.equal(dec(buf.subarray(dv.getUint32(8, true) - base, dv.getUint32(8, true) - base + 3)), 'xyz');
    assert.equal(buf[1], 2); // POST
  });

  it('CoAP: hostile packet pointers fault −2; the client gets 5.00', () => {
    const { board } = vboard();
    board.install({ hook: 'coap', image: 'ldxdw %r2, [%r1]\nstw [%r2+8], 16\nsth [%r2+12], 10\nmov %r2, 1\ncall 0x41\nexit' });
    const faults: RunReport[] = [];
    board.on('fault', (r: RunReport) => faults.push(r));
    assert.equal(board.coapRequest('GET', '/x').codeText, '5.00');
    assert.equal(faults[0].fault?.code, -2);
  });

  it('flow: payload is a read-only copy; writes to it fault', () => {
    const { board } = vboard();
    const sum = board.install({ hook: 'flow', image: `
      ldxdw %r2, [%r1]
      ldxw %r3, [%r1+8]
      mov %r0, 0
      loop:
      jeq %r3, 0, done
      ldxb %r4, [%r2]
      add %r0, %r4
      add %r2, 1
      sub %r3, 1
      ja loop
      done:
      exit` });
    assert.equal(board.runFlow(sum.id, Uint8Array.of(1, 2, 3, 250)).r0, 256n);
    assert.equal(board.runFlow(sum.id, new Uint8Array(0)).r0, 0n);
    const w = board.install({ hook: 'flow', image: 'ldxdw %r2, [%r1]\nstb [%r2], 1\nexit' });
    assert.equal(board.runFlow(w.id, enc('hi')).fault?.code, -2);
    assert.throws(() => board.runFlow(board.install({ hook: 'timer', image: 'exit' }).id, enc('x')), /not on the flow hook/);
  });

  it('sched: the modelled scheduler switches threads; a switch counter in the global store', () => {
    const { board } = vboard();
    board.install({ hook: 'sched', image: COUNTER });
    const ctx = board.install({ hook: 'sched', image: 'ldxdw %r0, [%r1]\nlsh %r0, 8\nldxdw %r2, [%r1+8]\nor %r0, %r2\nexit' });
    const seen: bigint[] = [];
    for (let i = 0; i < 10; i++) seen.push(board.schedTick().reports.find((r) => r.container === ctx.id)!.r0);
    assert.equal(board.store('global').get(1), 10);
    assert.deepEqual(seen.slice(0, 4), [0x0102n, 0x0203n, 0x0301n, 0x0102n]);
  });

  it('start(): sensor sampling per device period, the timer hook, scheduler ticks; stop() releases all', () => {
    const { board, clock } = vboard('nrf52840dk', { schedTickMs: 10 });
    board.install({ hook: 'sensor', image: 'ldxh %r0, [%r1+8]\nexit' });
    board.install({ hook: 'timer', image: 'ldxw %r0, [%r1+12]\nexit' });
    board.setSensor('NRF_TEMP', 20);
    const results: RunReport[] = [];
    board.on('result', (r: RunReport) => results.push(r));
    board.start();
    clock.advance(3_000_000);
    assert.deepEqual(results.filter((r) => r.hook === 'sensor').map((r) => r.r0), [2000n, 2000n, 2000n]);
    assert.deepEqual(results.filter((r) => r.hook === 'timer').map((r) => r.r0), [1n, 2n, 3n]);
    board.addDevice({ name: 'hum', type: 0x83, unit: 27, source: { kind: 'sequence', values: [40, 41] }, periodMs: 500 });
    clock.advance(1_000_000);
    assert.equal(results.filter((r) => r.hook === 'sensor').length, 3 + 1 + 2);
    board.stop();
    assert.equal(clock.pending(), 0);
    clock.advance(10_000_000);
    assert.equal(results.length, 3 + 3 + 1 + 1 + 2);
  });

  it('events: console lines, store and actuator changes, emitted after the run and before its result', () => {
    const { board } = vboard('nrf52840dk');
    const log: string[] = [];
    board.on('console', (e: { line: string }) => log.push(`console:${e.line}`));
    board.on('store', (e: { key: number; value: number }) => log.push(`store:${e.key}=${e.value}`));
    board.on('actuator', (e: { name: string; value: number[] }) => {
      log.push(`actuator:${e.name}=${e.value[0]}`);
      board.sampleSensor(); // a listener firing another hook must not re-enter the VM
    });
    board.on('result', (r: RunReport) => log.push(`result:${r.hook}`));
    board.install({ hook: 'button', image: image(`
      lddwr %r1, 0
      call 1
      mov %r1, 3
      mov %r2, 4
      call 0x11
      mov %r1, 0
      call 0x30
      mov %r1, %r0
      sth [%r10-8], 1
      mov %r2, %r10
      add %r2, -8
      call 0x33
      lddwr %r1, 8
      call 1
      exit`, { rodata: 'a\nb\0\0\0\0\0partial\0' }) });
    board.install({ hook: 'sensor', image: 'mov %r0, 0\nexit' });
    const r = board.pressButton().reports[0];
    assert.deepEqual(r.console, ['a', 'bpartial']);
    assert.deepEqual(log, ['console:a', 'store:3=4', 'actuator:LED 1=1', 'result:sensor', 'console:bpartial', 'result:button']);
    assert.ok(r.estimatedUs > 0 && r.estimateLabel.includes('estimated') && r.byClass.ja >= 4);
  });
});

describe('board/board: long-running containers', () => {
  const LOOP = `
    call 0x60
    stxw [%r10-4], %r0
    loop:
    mov %r1, 1
    mov %r2, %r10
    add %r2, -8
    call 0x13
    ldxw %r2, [%r10-8]
    add %r2, 1
    mov %r1, 1
    call 0x11
    mov %r1, %r10
    add %r1, -4
    mov %r2, 1000000
    call 0x61
    ja loop
    exit`; // never reached: riot-2022, as RIOT, refuses a last instruction other than exit

  it('a while(1) loop with periodic wakeup runs for virtual hours, bounded work per slice', () => {
    const { board, clock } = vboard('nrf52840dk');
    const { id } = board.install({ hook: 'timer', image: LOOP });
    const slices: RunReport[] = [];
    board.on('result', (r: RunReport) => slices.push(r));
    const first = board.fireTimer().reports[0];
    assert.equal(first.status, 'suspended');
    assert.equal(board.container(id).state, 'suspended');
    assert.equal(board.fireTimer().reports.length, 0); // busy in its loop: the hook skips it
    clock.advance(3 * 3600 * 1_000_000);
    assert.equal(board.store('global').get(1), 3 * 3600 + 1);
    assert.equal(slices.length, 1 + 3 * 3600);
    assert.ok(slices.every((s) => s.status === 'suspended' && s.insns <= 14 && s.fault === undefined));
    assert.equal(slices.at(-1)!.slice, 3 * 3600 + 1);
    assert.equal(slices.at(-1)!.atUs, 3 * 3600 * 1_000_000);
    assert.equal(board.vmOf(id).memory.readU32(0x30000000 + 512 - 4), (3 * 3600 + 1) * 1_000_000 >>> 0); // *last = next target
    board.stop();
    assert.equal(clock.pending(), 0);
    assert.equal(board.container(id).state, 'idle');
  });

  it('a zero period cannot monopolise the host; a loop without wakeup ends at its budget', () => {
    const { board, clock } = vboard('native', { minWakeupUs: 1000 });
    board.install({ hook: 'timer', image: LOOP.replace('1000000', '0') });
    board.fireTimer();
    clock.advance(1_000_000);
    const n = board.store('global').get(1)!;
    assert.ok(n <= 2002, `ran ${n} iterations in 1 s`);
    const { board: b2 } = vboard();
    const r = b2.install({ hook: 'timer', budget: 5000, image: 'loop:\nja loop' });
    const rep = b2.fireTimer().reports[0];
    assert.equal(rep.fault?.code, -8);
    assert.equal(b2.container(r.id).state, 'idle');
  });

  it('riot-2022 boards enforce the 200 taken-branch budget per slice', () => {
    const { board } = vboard('nrf52840dk');
    board.install({ hook: 'timer', image: 'mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 500, loop\nexit' });
    const rep = board.fireTimer().reports[0];
    assert.equal(rep.fault?.code, -8);
    assert.match(String(rep.fault?.message), /taken-branch/);
  });
});

describe('board/board: misc API', () => {
  it('a detached install is verified again on attach; a rejected attach leaves it detached', () => {
    const { board } = vboard();
    const { id } = board.install({ image: image('lddwr %r1, 0\ncall 1\nmov %r0, 9\nexit', { rodata: 'hi\n\0' }) });
    assert.equal(board.container(id).state, 'detached');
    assert.throws(() => board.attach(id, 'sched'), VerifyError);
    assert.equal(board.container(id).hook, undefined);
    board.attach(id, 'timer');
    const r = board.fireTimer().reports[0];
    assert.deepEqual([r.r0, r.console], [9n, ['hi']]);
  });

  it('lib/board/index exports the whole API', async () => {
    const all = await import('../../../lib/board');
    for (const k of ['Board', 'VirtualClock', 'KvStore', 'SAUL', 'UNIT', 'CONTRACTS', 'estimate', 'formatPrintf', 'PROFILES', 'HELPER']) {
      assert.ok(k in all, k);
    }
  });

  it('devices: add simulated ones, set and read values, errors are BoardErrors', () => {
    const { board } = vboard('esp32-wroom-32');
    assert.deepEqual(board.devices().map((d) => d.name), ['BOOT']);
    board.addDevice({ name: 'acc', type: 0x85, unit: 9, scale: -3, source: { kind: 'constant', value: [0.01, -1, 0.5] } });
    assert.deepEqual(board.readDevice('acc').data.val, [10, -1000, 500]);
    board.setSensor('acc', [1, 2, 3]);
    assert.deepEqual(board.readDevice('acc').values, [1, 2, 3]);
    assert.throws(() => board.device('nope'), BoardError);
    assert.throws(() => board.setSensor('BOOT', 1), BoardError);
  });

  it('without a clock option a board keeps host time: a WallClock from 0 that follows performance.now()', () => {
    const clock = new Board({ profile: 'native' }).clock;
    assert.ok(clock instanceof WallClock);
    const t0 = clock.nowUs();
    assert.ok(t0 < 60e6, `a new board's clock starts near 0 µs, not ${t0}`);
    const until = performance.now() + 2;
    while (performance.now() < until) { /* let 2 ms of host time pass */ }
    assert.ok(clock.nowUs() - t0 >= 1_000, `2 ms later the clock moved ${clock.nowUs() - t0} µs`);
  });
});
