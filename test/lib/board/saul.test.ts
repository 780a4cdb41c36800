import { strict as assert } from 'node:assert';
import {
  SAUL, SAUL_TYPE_NAMES, UNIT, UNIT_NAMES, SaulRegistry, decodePhydat, encodePhydat, toPhydat, fromPhydat,
  ENODEV, ENOTSUP, SAUL_CLASS_ANY,
} from '../../../lib/board/saul';
import { constant, external, prng, randomWalk, sequence, sine, makeSource, ActuatorState } from '../../../lib/board/sources';
import { PROFILES, getProfile } from '../../../lib/board/profiles';

describe('board/saul', () => {
  it("uses RIOT's SAUL class codes and phydat units", () => {
    assert.equal(SAUL.ACT_LED_RGB, 0x41);
    assert.equal(SAUL.ACT_SWITCH, 0x44);
    assert.equal(SAUL.ACT_DIMMER, 0x45);
    assert.equal(SAUL.SENSE_BTN, 0x81);
    assert.equal(SAUL.SENSE_TEMP, 0x82);
    assert.equal(SAUL.SENSE_HUM, 0x83);
    assert.equal(SAUL.SENSE_LIGHT, 0x84);
    assert.equal(SAUL.SENSE_ACCEL, 0x85);
    assert.equal(SAUL.SENSE_SIZE, 0x9c);
    assert.equal(SAUL_TYPE_NAMES.SAUL_SENSE_TEMP, 0x82);
    assert.equal(UNIT.TEMP_C, 2);
    assert.equal(UNIT.TEMP_K, 4);
    assert.equal(UNIT.BOOL, 25);
    assert.equal(UNIT.PERCENT, 27);
    assert.equal(UNIT_NAMES.UNIT_TEMP_C, 2);
  });

  it('encodes phydat_t as 8 little-endian bytes and back', () => {
    const b = encodePhydat({ val: [2137, -1, 40000], unit: UNIT.TEMP_C, scale: -2 });
    assert.deepEqual([...b], [0x59, 0x08, 0xff, 0xff, 0xff, 0x7f, 2, 0xfe]);
    assert.deepEqual(decodePhydat(b), { val: [2137, -1, 32767], unit: 2, scale: -2 });
    assert.deepEqual(toPhydat([21.37], UNIT.TEMP_C, -2).val, [2137, 0, 0]);
    assert.deepEqual(fromPhydat({ val: [2137, 0, 0], unit: 2, scale: -2 }, 1), [21.37]);
  });

  it('registry: nth, find_type, opaque non-zero handles, reads and writes', () => {
    const changes: number[][] = [];
    const reg = new SaulRegistry((_d, v) => changes.push(v));
    const led = reg.add({ name: 'LED', type: SAUL.ACT_SWITCH });
    const t = reg.add({ name: 'T', type: SAUL.SENSE_TEMP, unit: UNIT.TEMP_C, scale: -2, source: constant(20.5) });
    assert.ok(led.handle !== 0 && t.handle !== 0 && led.handle !== t.handle);
    assert.equal(reg.nth(1), t);
    assert.equal(reg.nth(2), undefined);
    assert.equal(reg.findType(SAUL.SENSE_TEMP), t);
    assert.equal(reg.findType(SAUL_CLASS_ANY), led);
    assert.equal(reg.findType(SAUL.SENSE_HUM), undefined);
    assert.equal(reg.byHandle(t.handle), t);
    assert.equal(reg.byHandle(t.handle + 1), undefined);
    assert.equal(reg.byHandle(0), undefined);
    const r = reg.read(t, 0);
    assert.ok(typeof r !== 'number');
    assert.deepEqual(r.data, { val: [2050, 0, 0], unit: UNIT.TEMP_C, scale: -2 });
    assert.equal(reg.write(t, r.data), -ENOTSUP);
    assert.equal(reg.write(led, { val: [1, 0, 0], unit: 0, scale: 0 }), 1);
    assert.equal(reg.write(led, { val: [1, 0, 0], unit: 0, scale: 0 }), 1);
    assert.deepEqual(changes, [[1, 0, 0]]); // only real changes are reported
    assert.ok(ENODEV > 0);
    assert.throws(() => reg.add({ name: 'LED', type: SAUL.ACT_SWITCH }), /already exists/);
    assert.throws(() => reg.add({ name: 'x', type: 0x12 }), /not a sensor/);
  });

  it('profiles list the devices the real boards have', () => {
    const nrf = getProfile('nrf52840dk').devices();
    assert.equal(nrf.filter((d) => d.type === SAUL.ACT_SWITCH).length, 4);
    assert.equal(nrf.filter((d) => d.type === SAUL.SENSE_BTN).length, 4);
    assert.equal(nrf.filter((d) => d.type === SAUL.SENSE_TEMP).length, 1);
    assert.deepEqual(getProfile('nrf52840dk').slots, { count: 2, size: 2048 });
    assert.equal(getProfile('nrf52840dk').costColumn, 'cortex-m4');
    assert.equal(getProfile('esp32-wroom-32').costColumn, 'esp32');
    assert.equal(getProfile('gd32vf103').costColumn, 'riscv');
    assert.ok(getProfile('native').devices().every((d) => d.simulated));
    assert.deepEqual(Object.keys(PROFILES).sort(), ['esp32-wroom-32', 'gd32vf103', 'native', 'nrf52840dk']);
    assert.throws(() => getProfile('toString'), /unknown board profile/);
  });
});

describe('board/sources', () => {
  it('constant, sine (a function of time), sequence, external', () => {
    assert.deepEqual(constant([1, 2]).sample(0), [1, 2]);
    const s = sine({ offset: 20, amplitude: 5, periodMs: 4 });
    assert.equal(s.sample(0)[0], 20);
    assert.ok(Math.abs(s.sample(1000)[0] - 25) < 1e-9);
    assert.deepEqual(s.sample(1000), s.sample(1000));
    const q = sequence([1, 2, 3]);
    assert.deepEqual([q.sample(0), q.sample(0), q.sample(0), q.sample(0)].map((v) => v[0]), [1, 2, 3, 3]);
    const l = sequence([1, 2], { loop: true });
    assert.deepEqual([l.sample(0), l.sample(0), l.sample(0)].map((v) => v[0]), [1, 2, 1]);
    const e = external(5);
    e.set(7);
    assert.deepEqual(e.sample(0), [7]);
  });

  it('random walk is deterministic per seed and stays within bounds', () => {
    const a = randomWalk({ start: 20, step: 1, min: 18, max: 22, seed: 42 });
    const b = makeSource({ kind: 'random-walk', start: 20, step: 1, min: 18, max: 22, seed: 42 });
    const xs = Array.from({ length: 200 }, () => a.sample(0)[0]);
    const ys = Array.from({ length: 200 }, () => b.sample(0)[0]);
    assert.deepEqual(xs, ys);
    assert.ok(xs.every((x) => x >= 18 && x <= 22));
    assert.notDeepEqual(xs, Array.from({ length: 200 }, () => randomWalk({ start: 20, step: 1, min: 18, max: 22, seed: 43 }).sample(0)[0]));
    const r = prng(1);
    assert.equal(r(), prng(1)());
  });

  it('actuator state keeps written values and reports changes only', () => {
    const s = new ActuatorState();
    const log: number[][] = [];
    s.onChange = (v) => log.push(v);
    assert.equal(s.set([1]), true);
    assert.equal(s.set([1]), false);
    assert.equal(s.set([1, 5]), true);
    assert.deepEqual(s.value, [1, 5, 0]);
    assert.deepEqual(log, [[1, 0, 0], [1, 5, 0]]);
  });
});
