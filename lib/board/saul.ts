/**
 * RIOT's SAUL (Sensor Actuator Uber Layer) as a container sees it: type codes, phydat units, the
 * 8-byte phydat_t, and a registry of devices with opaque handles.
 *
 * Sources (RIOT master, looked up in the RIOT tree):
 * - drivers/include/saul.h: class = category | id; actuators SAUL_CAT_ACT 0x40 | SAUL_ACT_ID_*
 *   (LED_RGB 1, SERVO 2, MOTOR 3, SWITCH 4, DIMMER 5), sensors SAUL_CAT_SENSE 0x80 |
 *   SAUL_SENSE_ID_* (BTN 1, TEMP 2, HUM 3, LIGHT 4, ACCEL 5, MAG 6, GYRO 7, COLOR 8, PRESS 9,
 *   ANALOG 10, UV 11, OBJTEMP 12, COUNT 13, DISTANCE 14, CO2 15, TVOC 16, GAS 17, OCCUP 18,
 *   PROXIMITY 19, RSSI 20, CHARGE 21, CURRENT 22, PM 23, CAPACITANCE 24, VOLTAGE 25, PH 26,
 *   POWER 27, SIZE 28); SAUL_CLASS_ANY 0xff.
 * - sys/include/phydat.h: `typedef struct { int16_t val[3]; uint8_t unit; int8_t scale; } phydat_t`
 *   (8 bytes, value = val × 10^scale) and the unit enum. The unit list changed over RIOT's history
 *   (UNIT_LUX was inserted after UNIT_TEMP_K in 2023); we follow current RIOT master. UNIT_UNDEF …
 *   UNIT_TEMP_K (0–4) are the same in every version, which covers the common temperature cases.
 *
 * Error returns are negative errno values as RIOT's newlib-based ports define them (ENODEV 19,
 * ENOTSUP 134, ECANCELED 140); a container only compares them with < 0.
 *
 * Handles: RIOT hands a container the saul_reg_t pointer itself. Ours are opaque non-zero u32
 * values below every mapped region (0x0D0000xx), so a container that dereferences one faults
 * (−2) exactly as it would have no business doing on a real board, and a forged handle is simply
 * not found (−ENODEV) rather than reaching another device.
 */
import type { Source } from './sources';
import { ActuatorState } from './sources';

export const SAUL_CAT_ACT = 0x40;
export const SAUL_CAT_SENSE = 0x80;
export const SAUL_CLASS_ANY = 0xff;

export const SAUL = {
  ACT_ANY: 0x40, ACT_LED_RGB: 0x41, ACT_SERVO: 0x42, ACT_MOTOR: 0x43, ACT_SWITCH: 0x44, ACT_DIMMER: 0x45,
  SENSE_ANY: 0x80, SENSE_BTN: 0x81, SENSE_TEMP: 0x82, SENSE_HUM: 0x83, SENSE_LIGHT: 0x84,
  SENSE_ACCEL: 0x85, SENSE_MAG: 0x86, SENSE_GYRO: 0x87, SENSE_COLOR: 0x88, SENSE_PRESS: 0x89,
  SENSE_ANALOG: 0x8a, SENSE_UV: 0x8b, SENSE_OBJTEMP: 0x8c, SENSE_COUNT: 0x8d, SENSE_DISTANCE: 0x8e,
  SENSE_CO2: 0x8f, SENSE_TVOC: 0x90, SENSE_GAS: 0x91, SENSE_OCCUP: 0x92, SENSE_PROXIMITY: 0x93,
  SENSE_RSSI: 0x94, SENSE_CHARGE: 0x95, SENSE_CURRENT: 0x96, SENSE_PM: 0x97,
  SENSE_CAPACITANCE: 0x98, SENSE_VOLTAGE: 0x99, SENSE_PH: 0x9a, SENSE_POWER: 0x9b, SENSE_SIZE: 0x9c,
  CLASS_ANY: 0xff,
} as const;

/** RIOT's C names (`SAUL_SENSE_TEMP` …) → code, for femto.h and for users naming types. */
export const SAUL_TYPE_NAMES: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(SAUL).map(([k, v]) => [`SAUL_${k}`, v]),
);

const TYPE_LABEL: Record<number, string> = {
  0x41: 'ACT_LED_RGB', 0x42: 'ACT_SERVO', 0x43: 'ACT_MOTOR', 0x44: 'ACT_SWITCH', 0x45: 'ACT_DIMMER',
  0x81: 'SENSE_BTN', 0x82: 'SENSE_TEMP', 0x83: 'SENSE_HUM', 0x84: 'SENSE_LIGHT', 0x85: 'SENSE_ACCEL',
  0x86: 'SENSE_MAG', 0x87: 'SENSE_GYRO', 0x88: 'SENSE_COLOR', 0x89: 'SENSE_PRESS', 0x8a: 'SENSE_ANALOG',
};

/** "SENSE_TEMP" for 0x82 (RIOT's saul_class_to_str spelling without the prefix). */
export function saulTypeName(type: number): string {
  return TYPE_LABEL[type] ?? `0x${type.toString(16)}`;
}

export const isActuator = (type: number): boolean => (type & 0xc0) === SAUL_CAT_ACT;
export const isSensor = (type: number): boolean => (type & 0xc0) === SAUL_CAT_SENSE;

/** phydat units (sys/include/phydat.h, RIOT master). */
export const UNIT = {
  UNDEF: 0, NONE: 1, TEMP_C: 2, TEMP_F: 3, TEMP_K: 4, LUX: 5, M: 6, M2: 7, M3: 8, G_FORCE: 9,
  DPS: 10, GRAM: 11, A: 12, V: 13, W: 14, GAUSS: 15, T: 16, DBM: 17, COULOMB: 18, F: 19, OHM: 20,
  PH: 21, BAR: 22, PA: 23, CD: 24, BOOL: 25, CTS: 26, PERCENT: 27, PERMILL: 28, PPM: 29, PPB: 30,
  TIME: 31, DATE: 32, GPM3: 33, CPM3: 34,
} as const;

export const UNIT_NAMES: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(UNIT).map(([k, v]) => [`UNIT_${k}`, v]),
);

const UNIT_SYMBOL: Record<number, string> = {
  0: 'undefined', 1: 'none', 2: '°C', 3: '°F', 4: 'K', 5: 'lx', 6: 'm', 7: 'm^2', 8: 'm^3', 9: 'gₙ',
  10: 'dps', 11: 'g', 12: 'A', 13: 'V', 14: 'W', 15: 'Gs', 16: 'T', 17: 'dBm', 18: 'C', 19: 'F',
  20: 'Ohm', 21: 'pH', 22: 'bar', 23: 'Pa', 24: 'cd', 25: 'bool', 26: 'cts', 27: '%', 28: '‰',
  29: 'ppm', 30: 'ppb', 31: 'time', 32: 'date', 33: 'g/m^3', 34: '#/m^3',
};

export function unitSymbol(unit: number): string {
  return UNIT_SYMBOL[unit] ?? `unit ${unit}`;
}

export const PHYDAT_SIZE = 8;
export const ENODEV = 19;
export const ENOTSUP = 134;
export const ECANCELED = 140;

export interface Phydat {
  val: [number, number, number];
  unit: number;
  scale: number;
}

/** Encode a phydat_t (little-endian, 8 bytes). Values are clamped to int16. */
export function encodePhydat(p: Phydat, out = new Uint8Array(PHYDAT_SIZE), at = 0): Uint8Array {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < 3; i++) dv.setInt16(at + 2 * i, clampI16(p.val[i] ?? 0), true);
  dv.setUint8(at + 6, p.unit & 0xff);
  dv.setInt8(at + 7, Math.max(-128, Math.min(127, Math.trunc(p.scale))));
  return out;
}

/** `bytes` may be a DataView (a VM memory's own: no copy, no view made per call). */
export function decodePhydat(bytes: Uint8Array | DataView, at = 0): Phydat {
  const dv = bytes instanceof DataView ? bytes : new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { val: phydatValues(dv, at, [0, 0, 0]), unit: dv.getUint8(at + 6), scale: dv.getInt8(at + 7) };
}

/** A phydat's three values into `out` (saul_reg_write reads them into one reused array). */
export function phydatValues(dv: DataView, at: number, out: [number, number, number]): [number, number, number] {
  out[0] = dv.getInt16(at, true);
  out[1] = dv.getInt16(at + 2, true);
  out[2] = dv.getInt16(at + 4, true);
  return out;
}

export function clampI16(v: number): number {
  if (!Number.isFinite(v)) return 0;
  return Math.max(-32768, Math.min(32767, Math.round(v)));
}

/** Physical values (e.g. 21.37 °C) → phydat with a fixed scale (e.g. −2 → val 2137). */
export function toPhydat(values: readonly number[], unit: number, scale: number): Phydat {
  const f = Math.pow(10, -scale);
  return { val: [clampI16((values[0] ?? 0) * f), clampI16((values[1] ?? 0) * f), clampI16((values[2] ?? 0) * f)], unit, scale };
}

/** phydat → physical values (val × 10^scale), `dims` of them. */
export function fromPhydat(p: Phydat, dims = 3): number[] {
  const f = Math.pow(10, p.scale);
  return p.val.slice(0, dims).map((v) => Number((v * f).toPrecision(12)));
}

export const SAUL_HANDLE_BASE = 0x0d00_0000;

export interface SaulDeviceSpec {
  name: string;
  type: number;
  unit?: number;
  scale?: number;
  /** Values per reading (1–3). Default 1 (3 for accelerometers, magnetometers, gyroscopes, colours). */
  dims?: number;
  /** Sensors: where readings come from. Default: constant 0. */
  source?: Source;
  /** Sensors: sample period for the sensor hook when the board runs (ms); none = on demand only. */
  periodMs?: number;
  /** Actuators: initial state. */
  initial?: number[];
  /** true for devices added by the user rather than present on the real board. */
  simulated?: boolean;
  /** Where the device comes from on the real board (RIOT source path), for the editor. */
  origin?: string;
}

export interface SaulDevice {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly handle: number;
  readonly unit: number;
  readonly scale: number;
  readonly dims: number;
  readonly simulated: boolean;
  readonly origin?: string;
  periodMs?: number;
  source?: Source;
  actuator?: ActuatorState;
  /**
   * Sensors: the reading of the last sample (the sensor hook's), for displays such as the sidebar;
   * one object per device, overwritten by each sample.
   */
  lastSample?: Phydat;
}

function defaultDims(type: number): number {
  return [SAUL.SENSE_ACCEL, SAUL.SENSE_MAG, SAUL.SENSE_GYRO, SAUL.SENSE_COLOR, SAUL.ACT_LED_RGB].includes(type as 0x85) ? 3 : 1;
}

/**
 * The board's SAUL registry: devices in registration order (index = position, as
 * saul_reg_find_nth counts), each with a handle. Reading a sensor asks its source at the board's
 * current time; writing an actuator updates its state and notifies the listener.
 */
export class SaulRegistry {
  private readonly list: SaulDevice[] = [];

  constructor(private readonly onActuator?: (dev: SaulDevice, value: number[], previous: number[]) => void) {}

  add(spec: SaulDeviceSpec): SaulDevice {
    if (!spec.name) throw new TypeError('a SAUL device needs a name');
    if (this.list.some((d) => d.name === spec.name)) throw new RangeError(`SAUL device "${spec.name}" already exists`);
    if (!Number.isInteger(spec.type) || spec.type < 0 || spec.type > 0xfe || !(isSensor(spec.type) || isActuator(spec.type))) {
      throw new RangeError(`SAUL type 0x${Number(spec.type).toString(16)} is not a sensor (0x8X) or actuator (0x4X) class`);
    }
    const index = this.list.length;
    const dims = Math.max(1, Math.min(3, spec.dims ?? defaultDims(spec.type)));
    const dev: SaulDevice = {
      index,
      name: spec.name,
      type: spec.type,
      handle: SAUL_HANDLE_BASE + ((index + 1) << 4),
      unit: spec.unit ?? UNIT.NONE,
      scale: spec.scale ?? 0,
      dims,
      simulated: spec.simulated ?? false,
      origin: spec.origin,
      periodMs: spec.periodMs,
      source: isSensor(spec.type) ? spec.source : undefined,
      actuator: isActuator(spec.type) || spec.type === SAUL.SENSE_BTN ? new ActuatorState(spec.initial ?? [0, 0, 0]) : undefined,
    };
    if (dev.actuator && isActuator(spec.type)) {
      dev.actuator.onChange = (v, prev) => this.onActuator?.(dev, v, prev);
    }
    this.list.push(dev);
    return dev;
  }

  get devices(): readonly SaulDevice[] {
    return this.list;
  }

  /** saul_reg_find_nth: the n-th device or undefined. */
  nth(n: number): SaulDevice | undefined {
    return Number.isInteger(n) && n >= 0 ? this.list[n] : undefined;
  }

  /** saul_reg_find_type: the first device of that class (SAUL_CLASS_ANY matches any). */
  findType(type: number): SaulDevice | undefined {
    for (const d of this.list) if (type === SAUL_CLASS_ANY || d.type === type) return d;
    return undefined;
  }

  byHandle(handle: number): SaulDevice | undefined {
    const i = ((handle >>> 0) - SAUL_HANDLE_BASE) >> 4;
    const d = i >= 1 ? this.list[i - 1] : undefined;
    return d && d.handle === handle >>> 0 ? d : undefined;
  }

  /** By name, or by index. */
  find(ref: string | number): SaulDevice | undefined {
    return typeof ref === 'number' ? this.nth(ref) : this.list.find((d) => d.name === ref);
  }

  /**
   * saul_reg_read: a sensor asks its source (at `nowUs`); an actuator or button reports its state.
   * Returns the reading and the number of dimensions, or a negative errno.
   */
  read(dev: SaulDevice, nowUs: number): { dims: number; data: Phydat } | number {
    if (dev.actuator) {
      return { dims: dev.dims, data: { val: padded(dev.actuator.value), unit: dev.type === SAUL.SENSE_BTN ? UNIT.BOOL : dev.unit, scale: dev.scale } };
    }
    if (!dev.source) return { dims: dev.dims, data: { val: [0, 0, 0], unit: dev.unit, scale: dev.scale } };
    let values: number[];
    try {
      values = dev.source.sample(nowUs);
    } catch {
      return -ECANCELED;
    }
    return { dims: dev.dims, data: toPhydat(values, dev.unit, dev.scale) };
  }

  /**
   * `read` into `out` (dims, or a negative errno): the board's sampling path, which allocates
   * nothing for sources that can be peeked (every built-in one but a sequence).
   */
  readInto(dev: SaulDevice, nowUs: number, out: Phydat): number {
    const src = dev.source;
    if (dev.actuator || !src?.peek) {
      const r = this.read(dev, nowUs);
      if (typeof r === 'number') return r;
      for (let k = 0; k < 3; k++) out.val[k] = r.data.val[k];
      out.unit = r.data.unit;
      out.scale = r.data.scale;
      return r.dims;
    }
    let values: readonly number[];
    try {
      values = src.peek(nowUs);
    } catch {
      return -ECANCELED;
    }
    const f = Math.pow(10, -dev.scale);
    for (let k = 0; k < 3; k++) {
      // clampI16, written out: a double handed to a call is boxed, one heap number per value.
      const x = (k < values.length ? values[k] : 0) * f;
      out.val[k] = x !== x || x === Infinity || x === -Infinity ? 0 : x <= -32768 ? -32768 : x >= 32767 ? 32767 : Math.round(x);
    }
    out.unit = dev.unit;
    out.scale = dev.scale;
    return dev.dims;
  }

  /** saul_reg_write: actuators take val[0..dims) (raw, in their own scale); sensors refuse. */
  write(dev: SaulDevice, data: Phydat): number {
    return this.writeValues(dev, data.val);
  }

  /** `write` with the raw values only (val[0..dims) are taken): nothing allocated unless they change. */
  writeValues(dev: SaulDevice, val: readonly number[]): number {
    if (!isActuator(dev.type) || !dev.actuator) return -ENOTSUP;
    dev.actuator.set(val, dev.dims);
    return dev.dims;
  }
}

function padded(v: readonly number[]): [number, number, number] {
  return [clampI16(v[0] ?? 0), clampI16(v[1] ?? 0), clampI16(v[2] ?? 0)];
}
