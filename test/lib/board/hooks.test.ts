import { strict as assert } from 'node:assert';
import {
  CONTRACTS, buttonContext, coapContext, flowContext, policyStops, schedContext, sensorContext, timerContext,
} from '../../../lib/board/hooks';
import { HELPER } from '../../../lib/board/helpers';
import { VerifyError } from '../../../vm/errors';
import { image, vboard } from './util';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('board/hooks', () => {
  it('contexts are byte-exact little-endian layouts', () => {
    assert.equal(hex(sensorContext(3, 0x82, { val: [2137, -2, 7], unit: 2, scale: -2 })), '03000000' + '82000000' + '5908feff0700' + '02fe');
    assert.equal(hex(buttonContext(5, true)), '05000000' + '81000000' + '010000000000' + '1900');
    assert.equal(hex(buttonContext(5, false)).slice(16, 20), '0000');
    assert.equal(hex(timerContext(0x1_0000_0002, 1000, 7)), '0200000001000000' + 'e8030000' + '07000000');
    assert.equal(hex(coapContext(0x50000000, 0x51000000, 512)), '0000005000000000' + '0000005100000000' + '0002000000000000');
    assert.equal(hex(schedContext(1, 2)), '0100000000000000' + '0200000000000000');
    assert.equal(hex(flowContext(0x52000000, 5)), '0000005200000000' + '05000000' + '00000000');
    for (const c of Object.values(CONTRACTS)) assert.ok(c.contextSize === 16 || c.contextSize === 24);
  });

  it('a container reads its sensor context at r1', () => {
    const { board } = vboard('nrf52840dk');
    board.setSensor('NRF_TEMP', 21.37);
    board.install({
      hook: 'sensor',
      image: image(`
        ldxw %r0, [%r1]
        ldxb %r2, [%r1+4]
        lsh %r2, 8
        or %r0, %r2
        ldxh %r2, [%r1+8]
        lsh %r2, 16
        or %r0, %r2
        ldxb %r2, [%r1+14]
        lsh %r2, 32
        or %r0, %r2
        exit`),
    });
    const res = board.sampleSensor('NRF_TEMP');
    assert.equal(res.reports.length, 1);
    assert.equal(res.reports[0].r0, (2n << 32n) | (2137n << 16n) | (0x82n << 8n) | 8n); // device index 8
  });

  it('button hook: type 0x81, val[0] = 1 pressed / 0 released', () => {
    const { board } = vboard('nrf52840dk');
    board.install({ hook: 'button', image: image('ldxb %r0, [%r1+4]\nlsh %r0, 8\nldxh %r2, [%r1+8]\nor %r0, %r2\nldxw %r2, [%r1]\nlsh %r2, 16\nor %r0, %r2\nexit') });
    assert.equal(board.pressButton('Button 2').reports[0].r0, (5n << 16n) | 0x8101n);
    assert.equal(board.releaseButton('Button 2').reports[0].r0, (5n << 16n) | 0x8100n);
    assert.deepEqual(board.device('Button 2').actuator!.value, [0, 0, 0]);
  });

  it('the verifier rejects a helper the hook does not grant, before the container runs', () => {
    const { board } = vboard();
    // printf is not in the sched hook's contract
    assert.throws(() => board.install({ hook: 'sched', image: image('mov %r1, 0\ncall 1\nexit') }),
      (e: unknown) => e instanceof VerifyError && e.code === -4);
    // CoAP helpers only on the coap hook
    assert.throws(() => board.install({ hook: 'sensor', image: image('call 0x43\nexit') }), VerifyError);
    // the container's own request narrows the grant further
    assert.throws(() => board.install({ hook: 'timer', helpers: ['bpf_store_global'], image: image('call 0x20\nexit') }), VerifyError);
    assert.throws(() => board.install({ hook: 'timer', helpers: ['bpf_nope'], image: image('exit') }), /unknown helper/);
    assert.equal(board.containers().length, 0);
    const ok = board.install({ hook: 'timer', helpers: ['store_global', 0x20, 'bpf_printf'], image: image('call 0x20\nexit') });
    assert.deepEqual(ok.grants, ['printf', 'store_global', 'now_ms']);
    const sched = board.install({ hook: 'sched', helpers: ['printf', 'store_global'], image: image('mov %r0, 0\nexit') });
    assert.deepEqual(sched.grants, ['store_global']); // intersection with the contract
    assert.ok(CONTRACTS.coap.helpers.has(HELPER.gcoap_resp_init) && !CONTRACTS.coap.helpers.has(HELPER.ztimer_periodic_wakeup));
  });

  it('several containers per hook run newest first under the four policies', () => {
    const { board } = vboard();
    board.install({ id: 'A', hook: 'timer', image: image('mov %r0, 0\nexit') });
    board.install({ id: 'B', hook: 'timer', image: image('mov %r0, 5\nexit') });
    board.install({ id: 'F', hook: 'timer', image: image('ldxw %r0, [%r0]\nexit') }); // faults
    board.install({ id: 'C', hook: 'timer', image: image('mov %r0, -1\nexit') });
    const order = (): string[] => board.fireTimer().reports.map((r) => r.container);
    assert.deepEqual(order(), ['C', 'F', 'B', 'A']); // continue; a fault does not stop the others
    board.setPolicy('timer', 'abort-on-negative');
    assert.deepEqual(order(), ['C']);
    board.setPolicy('timer', 'abort-on-positive');
    assert.deepEqual(order(), ['C', 'F', 'B']);
    board.setPolicy('timer', 'single');
    assert.deepEqual(order(), ['C']);
    board.setPolicy('timer', 'continue');
    board.attach('A', 'timer'); // re-attaching makes A the newest
    assert.deepEqual(order(), ['A', 'C', 'F', 'B']);
    assert.equal(policyStops('abort-on-negative', 0xffffffffffffffffn), true);
    assert.equal(policyStops('abort-on-positive', 0n), false);
  });
});
