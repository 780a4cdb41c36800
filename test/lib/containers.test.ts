/**
 * Container authors' side: lib/include/femto.h and the example containers in
 * lib/containers/*.c, compiled with clang (-target bpf, the package's own front) and run on
 * emulated boards with a virtual clock, with exact expected results: r0, console lines, LED state,
 * store contents, CoAP response bytes, moving-average values over simulated samples.
 *
 * Also: femto.h compiles cleanly under -Wall -Wextra -Werror -pedantic; its helper numbers, SAUL
 * classes and phydat units equal the board's (lib/board); its context structs have the sizes of the
 * board's hook contexts and their fields sit where the board writes them (proved by running small
 * containers that read every field); containers written for RIOT (`#include
 * "bpf/bpfapi/helpers.h"`, `<stdint.h>`) compile unchanged.
 *
 * Needs clang with the BPF target (installed in CI); every test here is skipped without it.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildFromC, defaultIncludeDir } from '../../lib/compiler';
import { Board, VirtualClock, type RunReport, type ActuatorEvent } from '../../lib/board/board';
import { CONTRACTS, HOOKS } from '../../lib/board/hooks';
import { COAP_PKT_SIZE } from '../../lib/board/coap';
import { SAUL, SAUL_TYPE_NAMES, UNIT, UNIT_NAMES } from '../../lib/board/saul';
import { HELPER } from '../../lib/board/helpers';
import { constant, sequence } from '../../lib/board/sources';
import { RIOT_HELPERS } from '../../vm/helper-ids';
import { parseImage } from '../../vm/image';
import { Vm } from '../../vm/vm';
import { ROOT } from '../util/paths';
import { CLANG, need } from '../util/needs';

const EXAMPLES = path.join(ROOT, 'lib', 'containers');
const INCLUDE = path.join(ROOT, 'lib', 'include');

const REQUIRED = ['increment', 'mul_add', 'temperature', 'threshold', 'thread_counter', 'coap_formatter', 'moving_average'];

/** clang on a source text with the given flags; returns status and diagnostics. */
function clang(source: string, flags: string[]): { status: number | null; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-h-'));
  try {
    const file = path.join(dir, 'x.c');
    fs.writeFileSync(file, source);
    const r = spawnSync('clang', ['-target', 'bpf', '-O2', '-nostdinc', '-ffreestanding', `-I${INCLUDE}`, ...flags, '-c', file, '-o', path.join(dir, 'x.o')], { encoding: 'utf8' });
    return { status: r.status, output: (r.stdout ?? '') + (r.stderr ?? '') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const STRICT = ['-std=c11', '-Wall', '-Wextra', '-Werror', '-pedantic'];

function assertCompiles(source: string, flags = STRICT): void {
  const r = clang(source, flags);
  assert.equal(r.status, 0, r.output);
}

const u32le = (...v: number[]): Uint8Array => {
  const b = new Uint8Array(4 * v.length);
  v.forEach((x, i) => new DataView(b.buffer).setInt32(4 * i, x, true));
  return b;
};
const u64le = (v: bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
};
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A board with a virtual clock, and every report / actuator event it emits. */
function makeBoard(profile = 'nrf52840dk'): { board: Board; clock: VirtualClock; results: RunReport[]; actuators: ActuatorEvent[]; consoleLines: string[] } {
  const clock = new VirtualClock();
  const board = new Board({ profile, clock });
  const results: RunReport[] = [];
  const actuators: ActuatorEvent[] = [];
  const consoleLines: string[] = [];
  board.on('result', (r: RunReport) => results.push(r));
  board.on('actuator', (e: ActuatorEvent) => actuators.push(e));
  board.on('console', (e: { line: string }) => consoleLines.push(e.line));
  return { board, clock, results, actuators, consoleLines };
}

/**
 * r0 of a container whose entry returns `int` (as RIOT's examples do): clang's eBPF ABI leaves the
 * upper 32 bits of an `int` result unspecified (`return -1` is r0 = 0x00000000ffffffff), and RIOT,
 * on a 32-bit MCU, reads the result as a 32-bit `int`/`ssize_t`: so do we here.
 */
function exitOf(r: RunReport): bigint {
  assert.equal(r.status, 'exit', `expected an exit, got ${r.status}${r.fault ? `: ${JSON.stringify(r.fault)}` : ''}`);
  return BigInt.asIntN(32, r.r0);
}

/** r0 of a container whose entry returns a 64-bit value: all 64 bits are exact. */
function exit64(r: RunReport): bigint {
  assert.equal(r.status, 'exit', `expected an exit, got ${r.status}${r.fault ? `: ${JSON.stringify(r.fault)}` : ''}`);
  return BigInt.asIntN(64, r.r0);
}

describe('femto.h and the example containers (clang → image → emulated board)', function () {
  this.timeout(120_000);
  const images = new Map<string, Uint8Array>();

  before(async function () {
    need(this, CLANG);
    const files = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.c'));
    await Promise.all(files.map(async (f) => images.set(f.replace(/\.c$/, ''), await buildFromC({ path: path.join(EXAMPLES, f) }))));
  });

  const image = (name: string): Uint8Array => {
    const img = images.get(name);
    assert.ok(img, `example ${name}.c was not built`);
    return img;
  };

  describe('femto.h', () => {
    it('is the header on the compiler\'s include path', () => {
      assert.equal(defaultIncludeDir(), INCLUDE);
      assert.ok(fs.existsSync(path.join(INCLUDE, 'femto.h')));
    });

    it('compiles cleanly with -Wall -Wextra -Werror -pedantic (C11, C99, gnu17)', () => {
      const src = '#include "femto.h"\nint f(void *ctx) { (void)ctx; return 0; }\n';
      assertCompiles(src);
      assertCompiles(src, ['-std=c99', '-Wall', '-Wextra', '-Werror', '-pedantic']);
      assertCompiles(src, ['-std=gnu17', '-Wall', '-Wextra', '-Werror']);
    });

    it('every example compiles with -Wall -Wextra -Werror', () => {
      for (const f of fs.readdirSync(EXAMPLES).filter((x) => x.endsWith('.c'))) {
        const r = clang(fs.readFileSync(path.join(EXAMPLES, f), 'utf8'), ['-std=c11', '-Wall', '-Wextra', '-Werror']);
        assert.equal(r.status, 0, `${f}: ${r.output}`);
      }
    });

    it('refuses a non-BPF target with a clear error', () => {
      const r = spawnSync('clang', ['-nostdinc', `-I${INCLUDE}`, '-fsyntax-only', '-x', 'c', '-'], { input: '#include "femto.h"\n', encoding: 'utf8' });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /femto\.h is for eBPF containers/);
    });

    it('declares every RIOT helper with RIOT\'s number (the helper pointers hold the ids)', () => {
      // One function stores each helper's pointer value: clang folds RIOT's idiom to the constant.
      const names = RIOT_HELPERS.map((h) => h.name);
      const src = '#include "femto.h"\nvoid ids(uint64_t *out)\n{\n' +
        names.map((n, i) => `    out[${i}] = (uint64_t)(uintptr_t)bpf_${n};\n`).join('') + '}\n' +
        names.map((n) => `_Static_assert(BPF_FUNC_BPF_${n.toUpperCase()} == ${RIOT_HELPERS.find((h) => h.name === n)!.id}, "${n}");\n`).join('');
      assertCompiles(src);
      return buildFromC({ source: src }).then((bytes) => {
        const vm = new Vm({ image: parseImage(bytes) });
        const r = vm.run({ context: new Uint8Array(8 * names.length), contextWritable: true });
        assert.equal(r.status, 'exit');
        const dv = new DataView(r.context!.buffer, r.context!.byteOffset);
        const got = names.map((_, i) => Number(dv.getBigUint64(8 * i, true)));
        assert.deepEqual(got, RIOT_HELPERS.map((h) => h.id));
        // …and they are the board's numbers too.
        assert.deepEqual(Object.fromEntries(names.map((n, i) => [n, got[i]])), { ...HELPER });
      });
    });

    it('SAUL classes and phydat units have RIOT\'s values, equal to the board\'s tables', () => {
      const asserts = [
        ...Object.entries(SAUL_TYPE_NAMES).map(([n, v]) => `_Static_assert(${n} == ${v}, "${n}");`),
        ...Object.entries(UNIT_NAMES).map(([n, v]) => `_Static_assert(${n} == ${v}, "${n}");`),
        '_Static_assert(SAUL_SENSE_TEMP == 0x82 && SAUL_ACT_SWITCH == 0x44 && SAUL_ACT_LED_RGB == 0x41, "RIOT");',
        '_Static_assert(UNIT_TEMP_C == 2 && UNIT_BOOL == 25 && UNIT_G == UNIT_G_FORCE, "RIOT");',
      ];
      assert.ok(Object.keys(SAUL_TYPE_NAMES).length >= 35 && Object.keys(UNIT_NAMES).length >= 35);
      assertCompiles('#include "femto.h"\n' + asserts.join('\n') + '\n');
    });

    it('context structs have the sizes of the board\'s hook contexts (and phydat_t is 8 bytes)', () => {
      const struct: Record<string, string> = {
        sensor: 'femto_sensor_ctx_t', button: 'femto_button_ctx_t', timer: 'femto_timer_ctx_t',
        coap: 'bpf_coap_ctx_t', sched: 'femto_sched_ctx_t', flow: 'femto_flow_ctx_t',
      };
      assert.deepEqual(Object.keys(struct).sort(), [...HOOKS].sort(), 'one struct per hook');
      const asserts = HOOKS.map((h) => `_Static_assert(sizeof(${struct[h]}) == ${CONTRACTS[h].contextSize}, "${h}");`);
      asserts.push(`_Static_assert(sizeof(femto_coap_pkt_t) == ${COAP_PKT_SIZE}, "coap_pkt_t");`);
      asserts.push('_Static_assert(sizeof(phydat_t) == 8, "phydat");');
      assertCompiles('#include "femto.h"\n' + asserts.join('\n') + '\n');
    });

    it('a wrong layout assumption is caught at compile time', () => {
      const r = clang('#include "femto.h"\n_Static_assert(sizeof(femto_sensor_ctx_t) == 12, "x");\n', STRICT);
      assert.notEqual(r.status, 0);
      assert.match(r.output, /static.?assert(ion)? failed/i);
    });

    it('RIOT container sources compile unchanged (bpf/bpfapi/helpers.h, <stdint.h>, their own structs and macros)', () => {
      // RIOT's thread counter and CoAP examples, as written for RIOT's femto-container runtime.
      const pidLog = `#include <stdint.h>
#include "bpf/bpfapi/helpers.h"

#define THREAD_START_KEY    0x0

typedef struct {
    uint64_t previous;  /**< previous pid */
    uint64_t next;      /**< next pid */
} pid_ctx_t;

int pid_log(pid_ctx_t *ctx)
{
    if (ctx->next != 0) {
        uint32_t counter;
        bpf_fetch_global(THREAD_START_KEY + ctx->next, &counter);
        counter++;
        bpf_store_global(THREAD_START_KEY + ctx->next, counter);
    }
    return  0;
}
`;
      const coap = `#include <stdint.h>
#include <stddef.h>
#include "bpf/shared.h"
#include "bpf/bpfapi/helpers.h"

#define COAP_OPT_FINISH_PAYLOAD  (0x0001)
#define COAP_CODE_CONTENT      ((2 << 5) | 5)

typedef struct {
    uint32_t hdr_p;       /* ptr to raw packet */
    uint32_t token_p;     /* ptr to token      */
    uint32_t payload_p;   /* ptr to payload    */
    uint16_t payload_len; /* length of payload */
    uint16_t options_len; /* length of options */
} bpf_coap_pkt_t;

int coap_resp(bpf_coap_ctx_t *gcoap)
{
    bpf_saul_reg_t *sensor;
    phydat_t measurement;

    sensor = bpf_saul_reg_find_nth(8);

    if (!sensor ||
        (bpf_saul_reg_read(sensor,
                           &measurement) < 0)) {
        return -(5 << 5);
    }

    bpf_gcoap_resp_init(gcoap,
            COAP_CODE_CONTENT);
    bpf_coap_add_format(gcoap, 0);
    ssize_t pdu_len = bpf_coap_opt_finish(gcoap,
            COAP_OPT_FINISH_PAYLOAD);
    uint8_t *payload = bpf_coap_get_pdu(gcoap);

    pdu_len += bpf_fmt_s16_dfp((char*)payload,
                               measurement.val[0],
                               measurement.scale);
    return pdu_len;
}
`;
      for (const src of [pidLog, coap]) assertCompiles(src, ['-Wall', '-Werror']);
      return buildFromC({ source: coap }).then((bytes) => {
        // …and RIOT's CoAP container answers on our board (device 8 of the nRF52840 DK is NRF_TEMP).
        const { board } = makeBoard();
        board.install({ id: 'riot', image: bytes, hook: 'coap' });
        const res = board.coapRequest('GET', '/temp');
        assert.equal(res.codeText, '2.05');
        assert.equal(new TextDecoder().decode(res.payload), '22.25');
      });
    });
  });

  describe('hook contexts: every field where the board writes it', () => {
    it('sensor: device index, SAUL type and the phydat sample', async () => {
      const src = `#include "femto.h"
int f(femto_sensor_ctx_t *ctx)
{
    bpf_printf("dev=%u type=0x%x ", ctx->device, ctx->type);
    bpf_printf("val=%d,%d,%d ", ctx->sample.val[0], ctx->sample.val[1], ctx->sample.val[2]);
    bpf_printf("unit=%u scale=%d\\n", ctx->sample.unit, ctx->sample.scale);
    return ctx->sample.val[0];
}
`;
      const { board } = makeBoard();
      board.install({ id: 's', image: await buildFromC({ source: src }), hook: 'sensor' });
      board.setSensor('NRF_TEMP', -3.5);
      const r = board.sampleSensor('NRF_TEMP').reports[0];
      assert.equal(exitOf(r), -350n);
      assert.deepEqual(r.console, [`dev=8 type=0x82 val=-350,0,0 unit=${UNIT.TEMP_C} scale=-2`]);
    });

    it('button: same layout, type 0x81, val[0] 1 pressed / 0 released', async () => {
      const src = `#include "femto.h"
int f(femto_button_ctx_t *ctx) { return ctx->device * 1000 + ctx->type * 10 + ctx->sample.val[0]; }
`;
      const { board } = makeBoard();
      board.install({ id: 'b', image: await buildFromC({ source: src }), hook: 'button' });
      assert.equal(exitOf(board.pressButton('Button 2').reports[0]), BigInt(5 * 1000 + SAUL.SENSE_BTN * 10 + 1));
      assert.equal(exitOf(board.releaseButton('Button 2').reports[0]), BigInt(5 * 1000 + SAUL.SENSE_BTN * 10));
    });

    it('timer: now_us, period_ms, tick', async () => {
      const src = `#include "femto.h"
int f(femto_timer_ctx_t *ctx)
{
    bpf_printf("now=%u period=%u tick=%u\\n", (uint32_t)ctx->now_us, ctx->period_ms, ctx->tick);
    return (int)(ctx->now_us >> 32);
}
`;
      const { board, clock } = makeBoard();
      board.install({ id: 't', image: await buildFromC({ source: src }), hook: 'timer' });
      assert.deepEqual(board.fireTimer().reports[0].console, ['now=0 period=1000 tick=1']);
      clock.advance(2_500_000);
      const r = board.fireTimer().reports[0];
      assert.deepEqual(r.console, ['now=2500000 period=1000 tick=2']);
      assert.equal(exitOf(r), 0n);
    });

    it('thread switch: previous and next pids', async () => {
      const src = `#include "femto.h"
int f(femto_sched_ctx_t *ctx) { return (int)(ctx->previous * 10 + ctx->next); }
`;
      const { board } = makeBoard();
      board.install({ id: 'p', image: await buildFromC({ source: src }), hook: 'sched' });
      const got = [1, 2, 3, 4].map(() => exitOf(board.schedTick().reports[0]));
      assert.deepEqual(got, [12n, 23n, 31n, 12n]);
    });

    it('coap: pkt, buf, buf_len and the request\'s packet struct (RIOT\'s bpf_coap_pkt_t prefix)', async () => {
      const src = `#include "femto.h"
int f(bpf_coap_ctx_t *ctx)
{
    femto_coap_pkt_t *pkt = ctx->pkt;
    bpf_printf("buf_len=%u hdr_is_buf=%u ", (uint32_t)ctx->buf_len, pkt->hdr_p == (uint32_t)(uintptr_t)ctx->buf);
    bpf_printf("token_at=%u payload_len=%u options=%u\\n", pkt->token_p - pkt->hdr_p, pkt->payload_len, pkt->options_len);
    bpf_printf("opt0=%u@%u code=%u\\n", pkt->options[0].opt_num, pkt->options[0].offset, ctx->buf[1]);
    return -1;
}
`;
      const { board, results } = makeBoard();
      board.install({ id: 'c', image: await buildFromC({ source: src }), hook: 'coap' });
      board.coapRequest('POST', '/a/b', 'hello');
      assert.deepEqual(results[0].console, ['buf_len=512 hdr_is_buf=1 token_at=4 payload_len=5 options=2', 'opt0=11@6 code=2']);
    });
  });

  describe('examples', () => {
    it('all required examples exist, build into images and pass the riot-2022 verifier', () => {
      for (const n of REQUIRED) {
        const img = parseImage(image(n));
        assert.ok(img.functions.length >= 1, n);
        // Installing on a real-MCU board profile verifies under riot-2022 with the hook's grants.
      }
      const hookOf: Record<string, (typeof HOOKS)[number]> = {
        increment: 'flow', mul_add: 'flow', temperature: 'timer', threshold: 'sensor', thread_counter: 'sched',
        coap_formatter: 'coap', moving_average: 'timer',
      };
      for (const n of REQUIRED) {
        const board = new Board({ profile: 'nrf52840dk', clock: new VirtualClock() });
        const info = board.install({ image: image(n), hook: hookOf[n] });
        assert.equal(info.profile, 'riot-2022', n);
        assert.ok(info.imageBytes <= 2048, `${n} fits RIOT's 2048-byte slot`);
      }
    });

    it('increment: the tutorial image, byte for byte (ARCHITECTURE.md § Image format), 41 → 42 on the board', () => {
      assert.equal(
        hex(image('increment')),
        '72425046' + '00000000' + '00000000' + '00000000' + '10000000' + '18000000' + '01000000' +
          hex(new TextEncoder().encode('increment')) + '00'.repeat(7) +
          '7910000000000000' + '0700000001000000' + '9500000000000000' + '000000000000',
      );
      const { board } = makeBoard();
      board.install({ id: 'inc', image: image('increment') });
      const vm = board.vmOf('inc');
      assert.equal(vm.run({ context: u64le(0n) }).r0, 1n);
      assert.equal(vm.run({ context: u64le(41n) }).r0, 42n);
      assert.equal(vm.run({ context: u64le(0xffffffffffffffffn) }).r0, 0n);
    });

    it('mul_add: a * b + c over the flow message payload; -1 for a short payload', () => {
      const { board } = makeBoard();
      board.install({ id: 'ma', image: image('mul_add'), hook: 'flow' });
      assert.equal(exit64(board.runFlow('ma', u32le(7, 6, 42))), 84n);
      assert.equal(exit64(board.runFlow('ma', u32le(-3, 5, 1))), -14n);
      assert.equal(exit64(board.runFlow('ma', u32le(0x7fffffff, 0x7fffffff, 1))), 0x7fffffffn * 0x7fffffffn + 1n);
      assert.equal(exit64(board.runFlow('ma', u32le(100, 200, 3, 99))), 20003n, 'extra bytes are ignored');
      assert.equal(exit64(board.runFlow('ma', u32le(7, 6))), -1n);
      assert.equal(exit64(board.runFlow('ma', new Uint8Array(0))), -1n);
    });

    it('temperature: SAUL read scaled to centi-degrees, whatever the sensor\'s scale', () => {
      const { board } = makeBoard();
      board.install({ id: 't', image: image('temperature'), hook: 'timer' });
      let r = board.fireTimer().reports[0];
      assert.equal(exitOf(r), 2225n); // the DK's NRF_TEMP reads 22.25 °C
      assert.deepEqual(r.console, ['temp: 2225 centi-degC']);
      board.setSensor('NRF_TEMP', -5.5);
      r = board.fireTimer().reports[0];
      assert.equal(exitOf(r), -550n);
      assert.deepEqual(r.console, ['temp: -550 centi-degC']);

      // Other scales: a board without a temperature sensor, plus one added with scale -3, then 0.
      for (const [scale, value, centi] of [[-3, 21.987, 2198n], [-3, -0.019, -1n], [0, 21, 2100n], [-1, 19.5, 1950n]] as const) {
        const b = new Board({ profile: 'gd32vf103', clock: new VirtualClock() });
        b.install({ id: 't', image: image('temperature'), hook: 'timer' });
        b.addDevice({ name: 'ext temp', type: SAUL.SENSE_TEMP, unit: UNIT.TEMP_C, scale, source: constant(value) });
        assert.equal(exitOf(b.fireTimer().reports[0]), centi, `scale ${scale} value ${value}`);
      }
      // No sensor: -1. A sensor in °F: -3.
      const none = new Board({ profile: 'gd32vf103', clock: new VirtualClock() });
      none.install({ id: 't', image: image('temperature'), hook: 'timer' });
      assert.equal(exitOf(none.fireTimer().reports[0]), -1n);
      none.addDevice({ name: 'f', type: SAUL.SENSE_TEMP, unit: UNIT.TEMP_F, scale: -1, source: constant(70) });
      assert.equal(exitOf(none.fireTimer().reports[0]), -3n);
    });

    it('threshold: LED 1 on above 25.00 °C, off otherwise, one console line per change', () => {
      const { board, actuators, consoleLines } = makeBoard();
      board.install({ id: 'th', image: image('threshold'), hook: 'sensor', device: 'NRF_TEMP' });
      const led = (): number => board.readDevice('LED 1').values[0];
      const step = (value: number): bigint => {
        board.setSensor('NRF_TEMP', value);
        return exitOf(board.sampleSensor('NRF_TEMP').reports[0]);
      };
      assert.equal(step(22.25), 0n);
      assert.equal(led(), 0);
      assert.equal(step(26.12), 1n);
      assert.equal(led(), 1);
      assert.equal(step(30), 1n);
      assert.equal(step(25.0), 0n, '25.00 is not above 25.00');
      assert.equal(led(), 0);
      assert.equal(step(25.01), 1n);
      assert.equal(step(-10), 0n);
      assert.deepEqual(consoleLines, ['alarm on: 2612', 'alarm off: 2500', 'alarm on: 2501', 'alarm off: -1000']);
      assert.deepEqual(actuators.map((a) => [a.name, a.value[0], a.container]), [
        ['LED 1', 1, 'th'], ['LED 1', 0, 'th'], ['LED 1', 1, 'th'], ['LED 1', 0, 'th'],
      ]);
      assert.deepEqual(board.store('local', 'th').entries(), [[1, 0]]);
      assert.equal(board.readDevice('LED 2').values[0], 0, 'other LEDs untouched');
    });

    it('threshold: -1 for a sample that is not a temperature, -2 on a board without an LED', () => {
      const { board } = makeBoard();
      board.addDevice({ name: 'hum', type: SAUL.SENSE_HUM, unit: UNIT.PERCENT, scale: -2, source: constant(55) });
      board.install({ id: 'th', image: image('threshold'), hook: 'sensor' });
      assert.equal(exitOf(board.sampleSensor('hum').reports[0]), -1n);
      const esp = new Board({ profile: 'esp32-wroom-32', clock: new VirtualClock() });
      esp.addDevice({ name: 'temp', type: SAUL.SENSE_TEMP, unit: UNIT.TEMP_C, scale: -2, source: constant(30) });
      esp.install({ id: 'th', image: image('threshold'), hook: 'sensor' });
      assert.equal(exitOf(esp.sampleSensor('temp').reports[0]), -2n);
    });

    it('thread_counter: counts switches to each thread in the global store (key = pid)', () => {
      const { board } = makeBoard();
      board.install({ id: 'tc', image: image('thread_counter'), hook: 'sched' });
      for (let i = 0; i < 7; i++) assert.equal(exitOf(board.schedTick().reports[0]), 0n);
      // Round robin over pids 1, 2, 3 from pid 1: switches to 2, 3, 1, 2, 3, 1, 2.
      assert.deepEqual(board.store('global').entries(), [[1, 2], [2, 3], [3, 2]]);
    });

    it('thread_counter is accepted by the sched hook\'s narrow contract (stores only)', () => {
      const { board } = makeBoard();
      const info = board.install({ image: image('thread_counter'), hook: 'sched' });
      assert.deepEqual([...info.helpersUsed].sort(), ['fetch_global', 'store_global']);
      // The temperature example (printf, SAUL) is rejected there before it runs.
      assert.throws(() => board.install({ image: image('temperature'), hook: 'sched' }), /call|helper/i);
    });

    it('coap_formatter: 2.05 Content, text/plain, "22.25": exact response bytes', () => {
      const { board } = makeBoard();
      board.install({ id: 'cf', image: image('coap_formatter'), hook: 'coap', path: '/temp' });
      const res = board.coapRequest('GET', '/temp');
      assert.equal(res.codeText, '2.05');
      assert.equal(res.code, 0x45);
      assert.equal(res.type, 2, 'ACK to a CON request');
      assert.equal(res.contentFormat, 0);
      assert.equal(new TextDecoder().decode(res.payload), '22.25');
      // header (ver 1, ACK, TKL 2), code 2.05, message id 1, token 00 01, Content-Format 0 (0xC0),
      // payload marker, payload.
      assert.equal(hex(res.pdu), '6245' + '0001' + '0001' + 'c0' + 'ff' + hex(new TextEncoder().encode('22.25')));
      board.setSensor('NRF_TEMP', -5.5);
      const neg = board.coapRequest('GET', '/temp');
      assert.equal(hex(neg.pdu), '6245' + '0002' + '0002' + 'c0' + 'ff' + hex(new TextEncoder().encode('-5.50')));
      assert.equal(board.coapRequest('GET', '/other').codeText, '4.04');
    });

    it('coap_formatter: 5.00 on a board without a temperature sensor (r0 = -(5 << 5))', () => {
      const { board, results } = makeBoard('gd32vf103');
      board.install({ id: 'cf', image: image('coap_formatter'), hook: 'coap' });
      assert.equal(board.coapRequest('GET', '/temp').codeText, '5.00');
      assert.equal(exitOf(results[0]), -160n);
    });

    /** The expected averages of the last ≤10 centi-degree samples, truncated toward zero. */
    function movingAverages(samples: number[]): number[] {
      return samples.map((_, i) => {
        const w = samples.slice(Math.max(0, i - 9), i + 1);
        return Math.trunc(w.reduce((a, b) => a + b, 0) / w.length);
      });
    }

    it('moving_average: 10-sample moving average, one sample per second, suspended in between', () => {
      const { board, clock, results } = makeBoard();
      const centi = [2000, 2200, 2400, 2600, 2800, 3000, 3200, 3400, 3600, 3800, 4000, 4200, 1000, 1001];
      board.device('NRF_TEMP').source = sequence(centi.map((c) => c / 100));
      board.install({ id: 'ma', image: image('moving_average'), hook: 'timer' });
      const first = board.fireTimer();
      assert.equal(first.reports[0].status, 'suspended');
      for (let s = 1; s < centi.length; s++) {
        // The hook skips the container while its run is suspended.
        assert.deepEqual(board.fireTimer().skipped, [{ container: 'ma', reason: 'suspended' }]);
        assert.equal(clock.advance(1_000_000), 1, 'one wake-up per second');
      }
      const expected = movingAverages(centi);
      assert.deepEqual(expected.slice(0, 12), [2000, 2100, 2200, 2300, 2400, 2500, 2600, 2700, 2800, 2900, 3100, 3300]);
      assert.deepEqual(results.map((r) => r.console), expected.map((a, i) => [`avg: ${a} (${Math.min(i + 1, 10)} samples)`]));
      assert.deepEqual(results.map((r) => r.status), centi.map(() => 'suspended'));
      assert.deepEqual(results.map((r) => r.slice), centi.map((_, i) => i + 1));
      assert.deepEqual(results.map((r) => r.atUs), centi.map((_, i) => i * 1_000_000));
      assert.equal(board.store('global').get(0x100), expected[expected.length - 1]);
      for (const r of results) {
        assert.ok(r.estimatedUs > 0 && r.estimated === true);
        assert.ok(r.insns < 400, `a slice is short (${r.insns} insns)`);
      }
    });

    it('moving_average: negative temperatures average toward zero, as C\'s signed division', () => {
      const { board, clock, results } = makeBoard();
      const centi = [-105, -200, 50, -1, -1, -1, -1, -1, -1, -1, -1, 300];
      board.device('NRF_TEMP').source = sequence(centi.map((c) => c / 100));
      board.install({ id: 'ma', image: image('moving_average'), hook: 'timer' });
      board.fireTimer();
      clock.advance((centi.length - 1) * 1_000_000);
      const expected = movingAverages(centi);
      assert.deepEqual(results.map((r) => r.console[0]), expected.map((a, i) => `avg: ${a} (${Math.min(i + 1, 10)} samples)`));
      assert.equal(board.store('global').get(0x100), (expected[expected.length - 1] >>> 0));
      assert.deepEqual(expected.slice(0, 3), [-105, -152, -85]);
    });

    it('moving_average: runs for an hour of board time without harm; stop() releases it', () => {
      const { board, clock, results } = makeBoard();
      board.device('NRF_TEMP').source = constant(21.5);
      board.install({ id: 'ma', image: image('moving_average'), hook: 'timer' });
      board.fireTimer();
      clock.advance(3600 * 1_000_000);
      assert.equal(results.length, 3601);
      assert.ok(results.every((r) => r.status === 'suspended' && r.fault === undefined));
      assert.deepEqual(results[3600].console, ['avg: 2150 (10 samples)']);
      assert.equal(results[3600].totalInsns > results[3600].insns, true, 'the run goes on across slices');
      board.stop();
      assert.equal(clock.pending(), 0);
      clock.advance(10_000_000);
      assert.equal(results.length, 3601);
    });

    it('moving_average: -1 on a board without a temperature sensor', () => {
      const { board } = makeBoard('esp32-wroom-32');
      board.install({ id: 'ma', image: image('moving_average'), hook: 'timer' });
      assert.equal(exitOf(board.fireTimer().reports[0]), -1n);
    });

    it('cost model: every example run carries an estimated time on the board\'s MCU', () => {
      const { board } = makeBoard();
      board.install({ id: 'th', image: image('threshold'), hook: 'sensor' });
      const r = board.sampleSensor('NRF_TEMP').reports[0];
      assert.ok(r.estimatedUs > 1 && r.estimatedUs < 1000, `≈${r.estimatedUs} µs`);
      assert.match(r.estimateLabel, /estimated/i);
    });
  });
});
