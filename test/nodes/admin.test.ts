/**
 * The admin endpoints the editor uses: POST femto/verify (assembly, C through the sandbox, images;
 * errors with rule, code, pc and source line; a disassembly listing) and GET femto/state (with each
 * container's last fault), plus the throttled comms publication of the same state.
 */
import * as assert from 'node:assert/strict';
import { ALL_NODES, INCREMENT_ASM, asmContainer, boardNode, flow, getNode, helper, nextMessage, until } from './util';
import { fromAsm } from '../../lib/node-support/program';
import { registry } from '../../lib/node-support/registry';
import { CLANG, itNeeds } from '../util/needs';


/** Payload byte 0 = 0: write to 0x10 (fault −2 at pc 6); otherwise r0 = 1. */
const FAULTY_ASM = 'ldxdw %r2, [%r1]\nldxb %r3, [%r2]\njeq %r3, 0, +2\nmov %r0, 1\nexit\nmov %r4, 0x10\nstw [%r4], 42\nmov %r0, 0\nexit';

describe('admin endpoints', function () {
  this.timeout(15000);
  beforeEach(async () => {
    await helper.load(ALL_NODES, flow(
      boardNode('b1'),
      asmContainer('c1', INCREMENT_ASM, { tenant: 'alice' }),
      asmContainer('c2', 'ja +5\nexit'),
      asmContainer('c3', FAULTY_ASM, { wires: [['out']] }),
      { id: 'out', type: 'helper' },
    ));
  });
  afterEach(async () => {
    await helper.unload();
  });

  const verify = (body: Record<string, unknown>) => helper.request().post('/femto/verify').send(body).expect(200).then((r: { body: any }) => r.body);

  it('verify accepts a good assembly program and lists it', async () => {
    const r = await verify({ source: INCREMENT_ASM, language: 'asm', board: 'nrf52840dk', hook: 'flow' });
    assert.equal(r.ok, true);
    assert.equal(r.profile, 'riot-2022');
    assert.equal(r.insns, 4);
    assert.deepEqual(r.listing, ['   0: ldxdw %r2, [%r1]', '   1: ldxdw %r0, [%r2]', '   2: add %r0, 1', '   3: exit']);
    assert.equal(r.rule, null);
    assert.match(r.message, /accepted for riot-2022 on the flow hook: 4 instructions/);
  });

  it('verify points a rejection at the pc and the source line', async () => {
    const r = await verify({ source: '# comment\nmov %r0, 0\n\nja +7\nexit', language: 'asm', profile: 'rfc9669' });
    assert.equal(r.ok, false);
    assert.equal(r.rule, 'jump-target');
    assert.equal(r.code, -3);
    assert.equal(r.pc, 1);
    assert.equal(r.line, 4);
    assert.equal(r.instruction, 'ja +7 # -> 9');
    assert.equal(r.listing.length, 3);
    assert.equal(r.profile, 'rfc9669');
  });

  it('verify reports assembly syntax errors with line and column', async () => {
    const r = await verify({ source: 'mov %r0, 1\nfrobnicate %r1\nexit', language: 'asm' });
    assert.equal(r.ok, false);
    assert.equal(r.rule, 'syntax');
    assert.equal(r.line, 2);
    assert.equal(r.column, 1);
    assert.deepEqual(r.listing, []);
  });

  it('verify checks helpers against the hook contract and the grants', async () => {
    const prog = 'mov %r1, 0\ncall 0x40\nexit';
    const onFlow = await verify({ source: prog, hook: 'flow', board: 'native' });
    assert.equal(onFlow.ok, false);
    assert.equal(onFlow.rule, 'helper');
    assert.equal(onFlow.code, -4);
    assert.match(onFlow.message, /granted on the flow hook/);
    const onCoap = await verify({ source: prog, hook: 'coap', board: 'native' });
    assert.equal(onCoap.ok, true, onCoap.message);
    assert.deepEqual(onCoap.helpersUsed, ['gcoap_resp_init']);
    const notGranted = await verify({ source: 'call 0x1\nexit', hook: 'flow', helpers: 'store_local' });
    assert.equal(notGranted.ok, false);
    assert.equal(notGranted.code, -4);
    const typo = await verify({ source: 'exit', helpers: ['prinf'] });
    assert.equal(typo.rule, 'helpers');
  });

  it('verify checks the profile: ALU32 is refused on riot-2022, fine on rfc9669', async () => {
    const r = await verify({ source: 'mov32 %r0, 1\nexit', board: 'nrf52840dk' });
    assert.equal(r.ok, false);
    assert.equal(r.rule, 'profile');
    assert.equal(r.code, -1);
    assert.equal(r.line, 1);
    assert.equal((await verify({ source: 'mov32 %r0, 1\nexit', board: 'native' })).ok, true);
  });

  it('verify takes an uploaded image (base64) and refuses garbage', async () => {
    const img = Buffer.from(fromAsm(INCREMENT_ASM).image).toString('base64');
    const r = await verify({ language: 'image', image: img });
    assert.equal(r.ok, true);
    assert.equal(r.imageBytes, fromAsm(INCREMENT_ASM).image.length);
    const bad = await verify({ language: 'image', image: Buffer.from('rBPFxxxx').toString('base64') });
    assert.equal(bad.ok, false);
    assert.equal(bad.rule, 'format');
    const empty = await verify({ language: 'image', image: '' });
    assert.equal(empty.rule, 'empty');
  });

  itNeeds(CLANG, 'verify compiles C in the sandbox: compile errors carry the line, refusals too', async () => {
    const ok = await verify({ language: 'c', source: '#include "femto.h"\nint f(void *c) { return 7; }\n' });
    assert.equal(ok.ok, true, ok.message);
    assert.ok(ok.listing.length >= 2);
    const err = await verify({ language: 'c', source: '#include "femto.h"\nint f(void *c) {\n  return nope;\n}\n' });
    assert.equal(err.ok, false);
    assert.equal(err.rule, 'compile');
    assert.equal(err.line, 3);
    assert.match(err.message, /container\.c:3:\d+: error: use of undeclared identifier 'nope'/);
    assert.doesNotMatch(err.message, /\/tmp\/|femto-cc-/);
    const refused = await verify({ language: 'c', source: 'int x;\n#include </etc/passwd>\n' });
    assert.equal(refused.rule, 'sandbox');
    assert.equal(refused.line, 2);
    assert.match(refused.message, /only include "femto\.h"/);
  });

  it('state lists boards, containers, stores and devices', async () => {
    const c1 = getNode('c1');
    const p = nextMessage(getNode('out'));
    c1.receive({ payload: 1 });
    await p;
    registry.get('b1')!.board.tenantStore('alice').put(7, 9);
    const res = await helper.request().get('/femto/state').expect(200);
    const s = res.body;
    assert.equal(s.boards.length, 1);
    const b = s.boards[0];
    assert.equal(b.id, 'b1');
    assert.equal(b.name, 'board-b1');
    assert.equal(b.profile, 'nrf52840dk');
    const byId = Object.fromEntries(b.containers.map((c: any) => [c.id, c]));
    assert.deepEqual(byId.c1, {
      id: 'c1', nodeId: 'c1', name: 'c1', hook: 'flow', tenant: 'alice', state: 'idle',
      lastResult: byId.c1.lastResult, lastFault: null, faults: 0, consecutiveFaults: 0, quarantined: false, tier: 'interp',
    });
    assert.equal(byId.c1.lastResult.r0, 2);
    assert.equal(byId.c1.lastResult.insns, 4);
    assert.ok(byId.c1.lastResult.estimatedUs > 0);
    assert.equal(byId.c2.state, 'rejected');
    assert.deepEqual(b.stores.global, {});
    assert.deepEqual(b.stores.tenants.alice, { 7: 9 });
    assert.ok(b.devices.some((d: any) => d.name === 'LED 1' && d.kind === 'actuator'));
    assert.ok(b.devices.some((d: any) => d.name === 'NRF_TEMP' && d.kind === 'sensor' && d.unit === '°C'));
  });

  it('state gives each container its last fault (code, reason, pc, source line), kept after a good run', async () => {
    const c3 = getNode('c3');
    c3.receive({ payload: 0 });
    await until(() => registry.state().boards[0].containers.some((c) => c.id === 'c3' && c.lastFault), 2000, 'the fault');
    const before = Date.now();
    let c = (await helper.request().get('/femto/state').expect(200)).body.boards[0].containers.find((x: any) => x.id === 'c3');
    assert.deepEqual([c.lastFault.code, c.lastFault.pc, c.lastFault.instruction], [-2, 6, 'stw [%r4], 42']);
    // The assembly's line 7 is pc 6: the sidebar says "at c3.s:7" rather than "at pc 6".
    assert.deepEqual(c.lastFault.source, { file: 'c3.s', line: 7 });
    assert.match(c.lastFault.reason, /^write 0x10\b/);
    assert.ok(Math.abs(Date.parse(c.lastFault.at) - before) < 5000, c.lastFault.at);
    assert.deepEqual([c.faults, c.consecutiveFaults], [1, 1]);
    // A good run resets the streak; the last fault stays for the sidebar to show.
    const ok = nextMessage(getNode('out'));
    c3.receive({ payload: 1 });
    await ok;
    c = (await helper.request().get('/femto/state').expect(200)).body.boards[0].containers.find((x: any) => x.id === 'c3');
    assert.deepEqual([c.faults, c.consecutiveFaults, c.lastFault.code, c.lastFault.pc], [1, 0, -2, 6]);
  });

  it('publishes the state on the comms topic femto/state, throttled', async () => {
    const published: any[] = [];
    registry.setPublisher((s) => published.push(s));
    const c1 = getNode('c1');
    for (let i = 0; i < 20; i++) c1.receive({ payload: i });
    await until(() => published.length >= 1, 2000, 'a publication');
    const t0 = Date.now();
    await until(() => published.some((s) => s.boards[0]?.containers.find((c: any) => c.id === 'c1')?.lastResult?.r0 === 20), 2000, 'the last result');
    assert.ok(published.length <= 2 + (Date.now() - t0) / 250, `throttled: ${published.length} publications`);
  });
});
