/**
 * `femto sim` (lib/cli/sim.ts): the example containers on emulated boards through the command,
 * driven in-process with a capturing Io (and through the `femto` binary once `sim` is registered
 * in lib/cli/main.ts). Checks exact r0 values, console lines, stores, actuators, CoAP bytes, the
 * moving average over scripted samples, faults and quarantine, verifier rejections, input kinds
 * (C, RIOT image, ELF object, assembly) and usage errors with their exit codes.
 *
 * C inputs need clang with the BPF target (installed in CI); those tests are skipped without it.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { simCommand } from '../../lib/cli/sim';
import type { Io } from '../../lib/cli/io';
import { buildFromC, compileC } from '../../lib/compiler';
import { ROOT } from '../util/paths';
import { CLANG, need } from '../util/needs';

const EX = (n: string): string => path.join(ROOT, 'lib', 'containers', `${n}.c`);

interface Out {
  code: number;
  out: string[];
  err: string[];
}

async function sim(...args: string[]): Promise<Out> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    out: (t) => out.push(...t.split('\n')),
    outBytes: () => undefined,
    err: (t) => err.push(...t.split('\n')),
    readStdin: async () => '',
  };
  const code = await simCommand(args, io);
  return { code, out, err };
}

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const jsonLines = (o: Out): J[] => o.out.map((l) => JSON.parse(l) as J);
const runsOf = (o: Out): J[] => jsonLines(o).filter((j) => j.type === 'run');
const summaryOf = (o: Out): J => jsonLines(o).find((j) => j.type === 'summary')!;

describe('femto sim', function () {
  this.timeout(60_000);
  let tmp = '';
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-sim-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  beforeEach(function () {
    if (this.currentTest?.title.startsWith('[clang]')) need(this, CLANG);
  });
  const write = (name: string, content: string | Uint8Array): string => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, content);
    return f;
  };

  describe('examples through the command', () => {
    it('[clang] threshold on the sensor hook: r0, console, LED and local store (human output)', async () => {
      const r = await sim(EX('threshold'), '--board', 'nrf52840dk', '--hook', 'sensor', '--events', '4', '--value', '22,26.5,30,24', '--virtual-clock');
      assert.equal(r.code, 0, r.err.join('\n'));
      const text = r.out.join('\n');
      assert.match(r.out[0], /^threshold\.c on Nordic nRF52840 DK \(nrf52840dk\), sensor hook: \d+ B image, 624 B RAM, profile riot-2022/);
      assert.match(text, /\[event 1 · 0 ms\] sensor "NRF_TEMP" \(SENSE_TEMP\) = 22 °C\n {2}c1: r0 = 0 · \d+ insns · ≈[\d.]+ µs on Cortex-M4 @ 64 MHz \(estimated\)/);
      assert.match(text, /\[event 2 · 1000 ms\] sensor "NRF_TEMP" \(SENSE_TEMP\) = 26\.5 °C\n {2}c1: r0 = 1 · .*\n {4}\| alarm on: 2650/);
      assert.match(text, /\[event 4 · 3000 ms\].*\n.*r0 = 0 .*\n {4}\| alarm off: 2400/);
      assert.match(text, /summary: 4 events, 4 runs, 0 faults\n {2}local store: 1=0\n {2}actuators: LED 1=0, LED 2=0, LED 3=0, LED 4=0/);
    });

    it('[clang] --json: one object per line; exact r0 sequence, console, store writes, summary', async () => {
      const r = await sim(EX('threshold'), '--hook', 'sensor', '--events', '4', '--value', '22,26.5,30,24', '--virtual-clock', '--json');
      assert.equal(r.code, 0);
      const all = jsonLines(r);
      assert.deepEqual(all.map((j) => j.type), ['event', 'run', 'event', 'run', 'event', 'run', 'event', 'run', 'summary']);
      assert.deepEqual(all.filter((j) => j.type === 'event').map((j) => [j.event, j.atMs, j.values]), [[1, 0, [22]], [2, 1000, [26.5]], [3, 2000, [30]], [4, 3000, [24]]]);
      const runs = runsOf(r);
      assert.deepEqual(runs.map((j) => j.r0), [0, 1, 1, 0]);
      assert.deepEqual(runs.map((j) => j.console), [[], ['alarm on: 2650'], [], ['alarm off: 2400']]);
      assert.deepEqual(runs.map((j) => j.storeWrites), [[], [{ scope: 'local', key: 1, value: 1 }], [], [{ scope: 'local', key: 1, value: 0 }]]);
      for (const j of runs) {
        assert.equal(j.status, 'exit');
        assert.equal(j.estimated, true);
        assert.ok(j.estimatedUs > 0 && j.insns > 0);
        assert.equal(j.fault, null);
      }
      const s = summaryOf(r);
      assert.equal(s.runs, 4);
      assert.equal(s.faults, 0);
      assert.deepEqual(s.stores.local, { 1: 0 });
      assert.deepEqual(s.actuators['LED 1'], [0]);
      assert.deepEqual(s.actuatorChanges, [{ device: 'LED 1', value: [1, 0, 0], previous: [0, 0, 0] }, { device: 'LED 1', value: [0, 0, 0], previous: [1, 0, 0] }]);
    });

    it('[clang] moving_average on the timer hook: one slice per second, exact averages, skipped while suspended', async () => {
      const centi = [2000, 2200, 2400, 2600, 2800, 3000, 3200, 3400, 3600, 3800, 4000, 4200];
      const r = await sim(EX('moving_average'), '--hook', 'timer', '--events', String(centi.length), '--value', centi.map((c) => c / 100).join(','), '--virtual-clock', '--json');
      assert.equal(r.code, 0, r.err.join('\n'));
      const runs = runsOf(r);
      assert.deepEqual(runs.map((j) => j.console[0]), [
        'avg: 2000 (1 samples)', 'avg: 2100 (2 samples)', 'avg: 2200 (3 samples)', 'avg: 2300 (4 samples)', 'avg: 2400 (5 samples)',
        'avg: 2500 (6 samples)', 'avg: 2600 (7 samples)', 'avg: 2700 (8 samples)', 'avg: 2800 (9 samples)', 'avg: 2900 (10 samples)',
        'avg: 3100 (10 samples)', 'avg: 3300 (10 samples)',
      ]);
      assert.deepEqual(runs.map((j) => j.slice), centi.map((_, i) => i + 1));
      assert.deepEqual(runs.map((j) => j.atMs), centi.map((_, i) => i * 1000));
      assert.ok(runs.every((j) => j.status === 'suspended'));
      assert.equal(jsonLines(r).filter((j) => j.type === 'skipped' && j.reason === 'suspended').length, centi.length - 1);
      assert.deepEqual(summaryOf(r).stores.global, { 256: 3300 });
    });

    it('[clang] coap_formatter: the response bytes', async () => {
      const r = await sim(EX('coap_formatter'), '--hook', 'coap', '--path', '/temp', '--virtual-clock', '--json');
      assert.equal(r.code, 0);
      const coap = jsonLines(r).find((j) => j.type === 'coap')!;
      assert.equal(coap.code, '2.05');
      assert.equal(coap.contentFormat, 0);
      assert.equal(coap.payload, '22.25');
      assert.equal(coap.pduHex, '6245' + '0001' + '0001' + 'c0' + 'ff' + Buffer.from('22.25').toString('hex'));
      assert.equal(runsOf(r)[0].r0, 13);
      const human = await sim(EX('coap_formatter'), '--hook', 'coap', '--path', '/temp', '--virtual-clock', '--value=-5.5');
      assert.match(human.out.join('\n'), /response 2\.05 \(content format 0\): "-5\.50" · PDU 62450001000[01]c0ff2d352e3530/);
    });

    it('[clang] thread_counter on the sched hook: the global store counts switches per pid', async () => {
      const r = await sim(EX('thread_counter'), '--hook', 'sched', '--events', '7', '--virtual-clock', '--json');
      assert.equal(r.code, 0);
      assert.deepEqual(runsOf(r).map((j) => j.r0), [0, 0, 0, 0, 0, 0, 0]);
      assert.deepEqual(summaryOf(r).stores.global, { 1: 2, 2: 3, 3: 2 });
    });

    it('[clang] mul_add on the flow hook (--payload-hex) and temperature on a timer', async () => {
      const r = await sim(EX('mul_add'), '--hook', 'flow', '--payload-hex', '07000000 06000000 2a000000', '--virtual-clock', '--json');
      assert.equal(runsOf(r)[0].r0, 84);
      const neg = await sim(EX('mul_add'), '--hook', 'flow', '--payload-hex', 'fdffffff0500000001000000', '--virtual-clock', '--json');
      assert.equal(runsOf(neg)[0].r0, -14);
      const t = await sim(EX('temperature'), '--hook', 'timer', '--events', '2', '--value', '21.5,-3', '--virtual-clock', '--json');
      assert.deepEqual(runsOf(t).map((j) => [j.r0Int32, j.console]), [[2150, ['temp: 2150 centi-degC']], [-300, ['temp: -300 centi-degC']]]);
    });

    it('[clang] button hook: events alternate press and release', async () => {
      const src = write('btn.c', '#include "femto.h"\nint f(femto_button_ctx_t *ctx) { return ctx->sample.val[0]; }\n');
      const r = await sim(src, '--hook', 'button', '--device', 'Button 3', '--events', '3', '--virtual-clock', '--json');
      assert.equal(r.code, 0);
      assert.deepEqual(jsonLines(r).filter((j) => j.type === 'event').map((j) => [j.device, j.pressed]), [['Button 3', true], ['Button 3', false], ['Button 3', true]]);
      assert.deepEqual(runsOf(r).map((j) => j.r0), [1, 0, 1]);
    });
  });

  describe('inputs', () => {
    it('[clang] a RIOT image file and an ELF object behave like the C source', async () => {
      const img = write('threshold.bin', await buildFromC({ path: EX('threshold') }));
      const { object } = await compileC({ path: EX('threshold') });
      const elf = write('threshold.o', object);
      for (const f of [img, elf]) {
        const r = await sim(f, '--hook', 'sensor', '--value', '26', '--virtual-clock', '--json');
        assert.equal(r.code, 0, r.err.join('\n'));
        assert.equal(runsOf(r)[0].r0, 1);
        assert.deepEqual(runsOf(r)[0].console, ['alarm on: 2600']);
      }
    });

    it('assembly on the native board', async () => {
      const s = write('seven.s', 'mov %r0, 7\nexit\n');
      const r = await sim(s, '--board', 'native', '--hook', 'timer', '--events', '2', '--virtual-clock');
      assert.equal(r.code, 0, r.err.join('\n'));
      assert.match(r.out[0], /^seven\.s on RIOT native \(host process\) \(native\), timer hook: .*profile rfc9669/);
      assert.equal(r.out.filter((l) => /c1: r0 = 7 · 2 insns · ≈[\d.]+ µs on .*\(estimated\)/.test(l)).length, 2);
    });

    it('--msg and --input: the bytes the femto-container node makes of a message (Node-RED property paths)', async () => {
      const s = write('double.s', 'ldxdw %r2, [%r1]\nldxdw %r0, [%r2]\nlsh %r0, 1\nexit\n');
      const cases: [string[], number][] = [
        [['--msg', '{"payload":21}'], 42],
        [['--payload-hex', '1500000000000000'], 42], // the same bytes: a number is an int64
        [['--msg', '{"payload":{"n":[0,-4]}}', '--input', 'payload.n[1]'], -8],
        [['--msg', '{"payload":{"a b":5}}', '--input', 'payload["a b"]'], 10],
        [['--msg', '{"topic":"t","value":100}', '--input', 'msg.value'], 200],
      ];
      for (const [args, r0] of cases) {
        const r = await sim(s, '--hook', 'flow', '--virtual-clock', '--json', ...args);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.err.join('\n')}`);
        assert.equal(runsOf(r)[0].r0, r0, args.join(' '));
      }
      const len = write('len.s', 'ldxw %r0, [%r1+8]\nexit\n'); // the context's length field
      const lengths: [string[], number][] = [
        [['--msg', '{"payload":[1,2,3]}'], 12], // number arrays: int32 each
        [['--msg', '{"payload":{"a":1}}'], 7], // other objects: their JSON text
        [['--msg', '{"payload":{}}', '--input', 'payload.absent'], 0], // an absent property: no bytes
      ];
      for (const [args, n] of lengths) {
        const r = await sim(len, '--hook', 'flow', '--virtual-clock', '--json', ...args);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.err.join('\n')}`);
        assert.equal(runsOf(r)[0].r0, n, args.join(' '));
      }
    });

    it('the wall clock really waits --interval between events', async () => {
      const s = write('zero.s', 'mov %r0, 0\nexit\n');
      const t0 = Date.now();
      const r = await sim(s, '--hook', 'timer', '--events', '3', '--interval', '40', '--json');
      assert.equal(r.code, 0);
      assert.ok(Date.now() - t0 >= 75, `waited ${Date.now() - t0} ms`);
      assert.equal(runsOf(r).length, 3);
    });
  });

  describe('faults, rejections and usage', () => {
    it('a faulting container: exit 1, the fault on every run, quarantine after 3, then skipped', async () => {
      const s = write('oob.s', 'ldxdw %r0, [%r1+64]\nexit\n');
      const r = await sim(s, '--hook', 'timer', '--events', '4', '--virtual-clock');
      assert.equal(r.code, 1);
      const text = r.out.join('\n');
      assert.equal(r.out.filter((l) => /c1: fault -2: .* at pc 0/.test(l)).length, 3, text);
      assert.match(text, /quarantined/);
      assert.match(text, /c1: skipped \(quarantined\)/);
      assert.match(text, /summary: 4 events, 3 runs, 3 faults, container quarantined/);
      const j = await sim(s, '--hook', 'timer', '--virtual-clock', '--json');
      const run = runsOf(j)[0];
      assert.equal(run.status, 'fault');
      assert.equal(run.fault.code, -2);
      assert.equal(run.fault.pc, 0);
    });

    it('[clang] a helper outside the hook\'s contract is rejected before it runs (exit 1)', async () => {
      const r = await sim(EX('temperature'), '--hook', 'sched', '--virtual-clock');
      assert.equal(r.code, 1);
      assert.match(r.out.join('\n'), /rejected on the sched hook of nrf52840dk: .*helper.*0x31/);
      const j = await sim(EX('temperature'), '--hook', 'sched', '--virtual-clock', '--json');
      assert.equal(jsonLines(j)[0].type, 'rejected');
      assert.equal(jsonLines(j)[0].code, -4);
    });

    it('an image too large for the board\'s slot is rejected by the board (exit 1)', async () => {
      const big = write('big.s', 'mov %r0, 0\n'.repeat(300) + 'exit\n');
      const r = await sim(big, '--hook', 'timer', '--virtual-clock');
      assert.equal(r.code, 1);
      assert.match(r.out.join('\n'), /rejected by nrf52840dk: .*slot/);
    });

    it('usage errors: exit 2 with one line', async () => {
      const s = write('u.s', 'mov %r0, 0\nexit\n');
      const cases: [string[], RegExp][] = [
        [[s], /--hook is required/],
        [[s, '--hook', 'nope'], /unknown hook 'nope' \(one of sensor, button, timer, coap, sched, flow\)/],
        [[s, '--hook', 'timer', '--board', 'arduino'], /unknown board 'arduino'/],
        [[s, '--hook', 'sensor', '--value', 'warm'], /--value 'warm' is not a comma-separated list/],
        [[s, '--hook', 'timer', '--events', '-1'], /--events/],
        [[s, '--hook', 'flow', '--payload', 'a', '--payload-hex', '00'], /one of --payload, --payload-hex or --msg/],
        [[s, '--hook', 'flow', '--payload', 'a', '--msg', '{}'], /one of --payload, --payload-hex or --msg/],
        [[s, '--hook', 'flow', '--msg', '{payload:1}'], /--msg is not JSON/],
        [[s, '--hook', 'flow', '--msg', '[1]'], /--msg must be a JSON object/],
        [[s, '--hook', 'flow', '--input', 'payload.a'], /--input names a property of --msg; give --msg too/],
        [[s, '--hook', 'timer', '--msg', '{}'], /--msg is for the flow hook/],
        [[s, '--hook', 'flow', '--msg', '{}', '--input', 'payload['], /--input payload\[: Invalid property expression/],
        [[s, '--hook', 'sensor', '--device', 'no such'], /no SAUL device "no such"/],
        [[s, '--hook', 'timer', '--bogus'], /unknown option '--bogus'/],
        [[path.join(tmp, 'missing.c'), '--hook', 'timer'], /missing\.c: no such file/],
        [[s, '--hook', 'button', '--board', 'gd32vf103'], /gd32vf103 has no button/],
      ];
      for (const [args, re] of cases) {
        const r = await sim(...args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.err.join('\n')}`);
        assert.match(r.err.join('\n'), re);
        assert.ok(!/\n\s+at /.test(r.err.join('\n')), 'no stack trace');
      }
    });

    it('[clang] a compile error is bad input (exit 2) with clang\'s diagnostic', async () => {
      const bad = write('bad.c', '#include "femto.h"\nint f(void *ctx) { return nope; }\n');
      const r = await sim(bad, '--hook', 'timer');
      assert.equal(r.code, 2);
      assert.match(r.err.join('\n'), /bad\.c:2:\d+: error: use of undeclared identifier 'nope'/);
    });
  });

  describe('the femto binary', () => {
    const main = path.join(ROOT, 'dist', 'lib', 'cli', 'main.js');
    const registered = (): boolean => {
      try {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        return 'sim' in (require(main) as { COMMANDS: Record<string, unknown> }).COMMANDS;
      } catch {
        return false;
      }
    };

    it('`femto sim` runs the command once it is registered in lib/cli/main.ts', function () {
      if (!registered()) this.skip();
      const s = write('bin.s', 'mov %r0, 5\nexit\n');
      const r = spawnSync(process.execPath, [main, 'sim', s, '--hook', 'timer', '--virtual-clock', '--json'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as J);
      assert.equal(lines.find((j) => j.type === 'run')!.r0, 5);
      const help = spawnSync(process.execPath, [main, 'sim', '--help'], { encoding: 'utf8' });
      assert.match(help.stdout, /usage: femto sim FILE --board PROFILE --hook HOOK/);
    });
  });
});
