import { strict as assert } from 'node:assert';
import { Board } from '../../../lib/board/board';
import { fmtDfp } from '../../../lib/board/helpers';
import { ENODEV, SAUL } from '../../../lib/board/saul';
import { image, vboard } from './util';

function runOn(board: Board, asm: string, rodata?: string, payload = new Uint8Array(0)) {
  const id = board.install({ image: image(asm, { rodata }), hook: 'flow' }).id;
  return board.runFlow(id, payload);
}
function run(asm: string, rodata?: string, profile = 'native') {
  const { board, clock } = vboard(profile);
  return { r: runOn(board, asm, rodata), board, clock };
}
const u32 = (n: number): bigint => BigInt(n >>> 0);

describe('board/helpers', () => {
  it('printf formats from container memory to the board console', () => {
    const { board } = vboard();
    const lines: string[] = [];
    board.on('console', (e: { line: string }) => lines.push(e.line));
    const r = runOn(board, `
      lddwr %r1, 0
      mov %r2, -3
      lddwr %r3, 16
      mov %r4, 255
      call 1
      exit`, 't=%d %s %04x!\n\0\0ok\0');
    assert.equal(r.status, 'exit');
    assert.deepEqual(r.console, ['t=-3 ok 00ff!']);
    assert.deepEqual(lines, ['t=-3 ok 00ff!']);
    assert.equal(r.r0, 14n);
  });

  it('printf with a hostile format pointer or %s pointer faults −2 and never throws', () => {
    for (const asm of [
      'lddw %r1, 0x7000\ncall 1\nexit', // unmapped format
      'lddw %r1, 0x1234567812345678\ncall 1\nexit', // above 4 GiB
      'lddwr %r1, 0\nlddw %r2, 0x40\ncall 1\nexit', // %s → unmapped
    ]) {
      const { r } = run(asm, '%s\0');
      assert.equal(r.status, 'fault', asm);
      assert.equal(r.fault!.code, -2, asm);
    }
    // a format without its NUL inside the region faults rather than reading past it
    const { r } = run('lddwr %r1, 0\ncall 1\nexit', 'abcdefgh');
    assert.equal(r.status, 'fault');
  });

  it('memcpy checks both ranges; hostile pointers and lengths fault −2', () => {
    const ok = run(`
      mov %r1, %r10
      add %r1, -16
      lddwr %r2, 0
      mov %r3, 6
      call 2
      mov %r1, %r10
      add %r1, -16
      call 1
      exit`, 'hello\n\0');
    assert.equal(ok.r.status, 'exit');
    assert.deepEqual(ok.r.console, ['hello']);
    const cases: [string, string][] = [
      ['dst read-only', 'lddwr %r1, 0\nlddwr %r2, 0\nmov %r3, 2\ncall 2\nexit'],
      ['dst null', 'mov %r1, 0\nlddwr %r2, 0\nmov %r3, 2\ncall 2\nexit'],
      ['src unmapped', 'mov %r1, %r10\nadd %r1, -8\nlddw %r2, 0x60000000\nmov %r3, 2\ncall 2\nexit'],
      ['n past the stack', 'mov %r1, %r10\nadd %r1, -8\nlddwr %r2, 0\nmov %r3, 9\ncall 2\nexit'],
      ['n huge', 'mov %r1, %r10\nadd %r1, -8\nlddwr %r2, 0\nlddw %r3, 0xffffffffffff\ncall 2\nexit'],
      ['n = 2^32 - 1', 'mov %r1, %r10\nadd %r1, -8\nlddwr %r2, 0\nmov32 %r3, -1\ncall 2\nexit'],
    ];
    for (const [what, asm] of cases) {
      const { r } = run(asm, 'ab\0');
      assert.equal(r.status, 'fault', what);
      assert.equal(r.fault!.code, -2, what);
    }
  });

  it('stores: local and global, absent fetch reads 0, hostile value pointer faults', () => {
    const { board } = vboard();
    const r = runOn(board, `
      mov %r1, 1
      mov %r2, 42
      call 0x10
      mov %r1, 7
      mov %r2, 9
      call 0x11
      mov %r1, 1
      mov %r2, %r10
      add %r2, -4
      call 0x12
      ldxw %r6, [%r10-4]
      mov %r1, 99
      mov %r2, %r10
      add %r2, -8
      stw [%r10-8], 5
      call 0x13
      ldxw %r0, [%r10-8]
      lsh %r0, 16
      add %r0, %r6
      exit`);
    assert.equal(r.status, 'exit');
    assert.equal(r.r0, 42n); // absent global key 99 read 0
    assert.deepEqual(board.store('global').toJSON(), { 7: 9 });
    assert.deepEqual(board.store('local', r.container).toJSON(), { 1: 42 });
    assert.deepEqual(r.storeWrites.map((w) => [w.scope, w.key, w.value]), [['local', 1, 42], ['global', 7, 9]]);
    for (const p of ['lddwr %r2, 0', 'mov %r2, 0', 'mov %r2, %r10']) {
      const { r: bad } = run(`mov %r1, 1\n${p}\ncall 0x12\nexit`, 'abcd');
      assert.equal(bad.fault?.code, -2, p);
    }
  });

  it('a full store returns −1 to the container', () => {
    const { board } = vboard('native', { storeCapacity: 2 });
    const r = runOn(board, `
      mov %r1, 1
      mov %r2, 1
      call 0x11
      mov %r1, 2
      call 0x11
      mov %r1, 3
      call 0x11
      exit`);
    assert.equal(r.status, 'exit');
    assert.equal(BigInt.asIntN(32, r.r0), -1n);
    assert.equal(board.store('global').size, 2);
  });

  it('now_ms and ztimer_now read the board clock (u32 views)', () => {
    const { board, clock } = vboard();
    clock.advance(1_234_567);
    const a = runOn(board, 'call 0x20\nexit');
    assert.equal(a.r0, 1234n);
    const b = runOn(board, 'call 0x60\nexit');
    assert.equal(b.r0, 1234567n);
    clock.advanceTo(2 ** 32 + 5);
    assert.equal(runOn(board, 'call 0x60\nexit').r0, 5n); // ztimer_now wraps like RIOT's u32
  });

  it('SAUL: find by type and index, read a phydat, write an actuator, forged handles', () => {
    const { board } = vboard('nrf52840dk', { slots: { count: 16, size: 2048 } });
    board.setSensor('NRF_TEMP', 23.5);
    const acts: unknown[] = [];
    board.on('actuator', (e) => acts.push(e));
    const read = runOn(board, `
      mov %r1, 0x82
      call 0x31
      mov %r1, %r0
      mov %r2, %r10
      add %r2, -8
      call 0x32
      mov %r6, %r0
      ldxh %r0, [%r10-8]
      ldxb %r7, [%r10-2]
      lsh %r7, 16
      or %r0, %r7
      lsh %r6, 24
      or %r0, %r6
      exit`);
    assert.equal(read.status, 'exit');
    assert.equal(read.r0, (1n << 24n) | (2n << 16n) | 2350n); // 1 dim, UNIT_TEMP_C, 2350 × 10^-2
    const write = runOn(board, `
      mov %r1, 0
      call 0x30
      mov %r1, %r0
      sth [%r10-8], 1
      mov %r2, %r10
      add %r2, -8
      call 0x33
      exit`);
    assert.equal(write.r0, 1n);
    assert.deepEqual(board.device('LED 1').actuator!.value, [1, 0, 0]);
    assert.equal(acts.length, 1);
    assert.deepEqual(acts[0], { device: 0, name: 'LED 1', type: SAUL.ACT_SWITCH, value: [1, 0, 0], previous: [0, 0, 0], container: write.container });
    const forged = runOn(board, 'lddw %r1, 0x0d000011\nmov %r2, %r10\nadd %r2, -8\ncall 0x32\nexit');
    assert.equal(forged.r0, u32(-ENODEV));
    const none = runOn(board, 'mov %r1, 0x83\ncall 0x31\nexit');
    assert.equal(none.r0, 0n);
    const nth = runOn(board, 'mov %r1, 99\ncall 0x30\nexit');
    assert.equal(nth.r0, 0n);
    const sensorWrite = runOn(board, 'mov %r1, 0x82\ncall 0x31\nmov %r1, %r0\nmov %r2, %r10\nadd %r2, -8\ncall 0x33\nexit');
    assert.equal(BigInt.asIntN(32, sensorWrite.r0) < 0n, true);
    const deref = runOn(board, 'mov %r1, 0x82\ncall 0x31\nldxw %r0, [%r0]\nexit');
    assert.equal(deref.fault?.code, -2); // a handle is not a pointer into anything
    const badPtr = runOn(board, 'mov %r1, 0x82\ncall 0x31\nmov %r1, %r0\nmov %r2, 16\ncall 0x32\nexit');
    assert.equal(badPtr.fault?.code, -2);
  });

  it('fmt_s16_dfp and fmt_u32_dec write without NUL and return the length', () => {
    assert.equal(fmtDfp(2137, -2), '21.37');
    assert.equal(fmtDfp(-5, -2), '-0.05');
    assert.equal(fmtDfp(-2137, -1), '-213.7');
    assert.equal(fmtDfp(12, 2), '1200');
    assert.equal(fmtDfp(1, -10), undefined);
    const { r } = run(`
      mov %r1, %r10
      add %r1, -32
      mov %r2, -2137
      mov %r3, -2
      call 0x50
      mov %r6, %r0
      mov %r1, %r10
      add %r1, -16
      mov32 %r2, -1
      call 0x51
      lsh %r6, 8
      or %r6, %r0
      lddwr %r1, 0
      mov %r2, %r10
      add %r2, -32
      mov %r3, %r10
      add %r3, -16
      call 1
      mov %r0, %r6
      exit`, '%s|%s\0');
    assert.equal(r.status, 'exit');
    assert.deepEqual(r.console, ['-21.37|4294967295']);
    assert.equal(r.r0, (6n << 8n) | 10n);
    assert.equal(run('mov %r1, 0\nmov %r2, 77\ncall 0x51\nexit').r.r0, 2n); // NULL: length only
    assert.equal(run('lddwr %r1, 0\nmov %r2, 77\ncall 0x51\nexit', 'xx').r.fault?.code, -2);
  });
});
