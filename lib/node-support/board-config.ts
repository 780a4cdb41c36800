/**
 * A femto-board config node's settings → an emulated Board (lib/board), or for a remote board the
 * device's address, trusted key and slot (lib/node-support/remote-link), testable without Node-RED.
 *
 * Mode: `emulated` (default, also when the field is missing: flows from before remote boards) or
 * `remote`: address `coap://host:port` (a `femto device` process or a RIOT board running the
 * femto-container SUIT example), the public key the device trusts (PEM, hex or base64; optional),
 * the slot its containers run (`.ram.N`, default 0), a request timeout (ms, default 2000) and a
 * status poll period (ms, default 10 000; 0 = only at start, after runs and after installs).
 *
 * Settings: profile (nrf52840dk, esp32-wroom-32, gd32vf103, native), store capacity (entries per
 * store, RIOT default 16), global store scope, timer period (ms, 0 = no periodic timer hook), the
 * sampling period of the profile's own sensors (ms; empty = the profile's, 0 = on demand only),
 * container slots (empty = the profile's; more slots model a board with more RAM slots), and
 * simulated devices added to the profile's own: each { name, kind, source, value, amplitude,
 * periodMs, step, min, max, sampleMs }. Kinds: temperature (°C, scale −2), humidity (%, −2),
 * light (lx), pressure (Pa), button, led/switch (on/off), dimmer. Sources: constant, sine, random
 * walk (seeded, reproducible), external (set from a flow by a femto-sensor node).
 *
 * Emulated boards always slice runs: no run holds Node-RED's event loop longer than
 * `sliceMs` (default 5 ms, 1–100); a longer one goes on in later turns.
 */
import { Board, type BoardOptions } from '../board/board';
import { DEFAULT_SLICE_MS } from '../../vm/vm';
import { DEVICE_KINDS } from '../board/device-kinds';
import { PROFILE_NAMES, getProfile } from '../board/profiles';
import { SAUL, UNIT } from '../board/saul';
import type { SourceSpec } from '../board/sources';
import { parseCoapUrl } from '../deploy/coap-client';
import { parsePublicKey } from './key-text';
import type { RemoteSettings } from './remote-link';

export interface DeviceConfig {
  name: string;
  kind: string;
  source?: string;
  value?: number | string;
  amplitude?: number | string;
  periodMs?: number | string;
  step?: number | string;
  min?: number | string;
  max?: number | string;
  /** Sensors: sampling period of the sensor hook (ms); 0/empty = on demand only. */
  sampleMs?: number | string;
}

export interface BoardConfig {
  name?: string;
  profile?: string;
  storeCapacity?: number | string;
  globalScope?: string;
  timerPeriodMs?: number | string;
  samplePeriodMs?: number | string;
  slots?: number | string;
  devices?: DeviceConfig[] | string;
  /** 'emulated' (default) or 'remote'. */
  mode?: string;
  /** Remote: coap://host:port. */
  address?: string;
  /** Remote: the public key the device trusts. */
  publicKey?: string;
  /** Remote: the slot container nodes run and deploys go to. */
  slot?: number | string;
  /** Remote: per-request timeout (ms). */
  timeoutMs?: number | string;
  /** Remote: status poll period (ms, 0 = none). */
  pollMs?: number | string;
  /** Emulated: the longest a run holds the event loop before it yields (ms, 1–100; default 5). */
  sliceMs?: number | string;
}

/** The kinds of simulated device (lib/board/device-kinds.ts, shared with the editor's Try panel). */
export { DEVICE_KINDS };

function num(v: unknown, fallback?: number): number | undefined {
  if (v === undefined || v === null || v === '') return fallback;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : fallback;
}

export function parseDevices(d: BoardConfig['devices']): DeviceConfig[] {
  if (!d) return [];
  if (typeof d === 'string') {
    if (!d.trim()) return [];
    const parsed = JSON.parse(d) as unknown;
    if (!Array.isArray(parsed)) throw new TypeError('devices must be a JSON array');
    return parsed as DeviceConfig[];
  }
  return d;
}

function sourceOf(dev: DeviceConfig): SourceSpec {
  const value = num(dev.value, 0)!;
  switch (dev.source ?? 'constant') {
    case 'sine': return { kind: 'sine', offset: value, amplitude: num(dev.amplitude, 1), periodMs: num(dev.periodMs, 60_000)! };
    case 'random-walk': return { kind: 'random-walk', start: value, step: num(dev.step, 0.5)!, min: num(dev.min), max: num(dev.max) };
    case 'external': return { kind: 'external', value };
    case 'constant': return { kind: 'constant', value };
    default: throw new RangeError(`device "${dev.name}": unknown source "${dev.source}" (constant, sine, random-walk, external)`);
  }
}

/** Build (not start) the board a config describes. Throws RangeError/TypeError for bad settings. */
export function createBoard(cfg: BoardConfig): Board {
  const profileName = cfg.profile || 'nrf52840dk';
  const profile = getProfile(profileName);
  const opts: BoardOptions = { profile, name: cfg.name || profile.name };
  const cap = num(cfg.storeCapacity);
  if (cap !== undefined) opts.storeCapacity = Math.max(0, Math.floor(cap));
  if (cfg.globalScope === 'tenant' || cfg.globalScope === 'board') opts.globalScope = cfg.globalScope;
  const tp = num(cfg.timerPeriodMs);
  if (tp !== undefined) opts.timerPeriodMs = Math.max(0, tp);
  const slots = num(cfg.slots);
  if (slots !== undefined && slots > 0) {
    opts.slots = { count: Math.min(64, Math.floor(slots)), size: profile.slots.size };
    // More slots model a bigger board: leave room for that many small instances.
    opts.containerRamBytes = Math.max(profile.containerRamBytes, Math.floor(slots) * 2048);
  }
  // Node-RED's event loop is shared: no run may hold it longer than a slice.
  opts.slice = { ms: Math.min(100, Math.max(1, num(cfg.sliceMs, DEFAULT_SLICE_MS)!)) };
  const board = new Board(opts);
  const sp = num(cfg.samplePeriodMs);
  if (sp !== undefined) for (const d of board.devices()) if (d.source) d.periodMs = sp > 0 ? sp : undefined;
  for (const dev of parseDevices(cfg.devices)) {
    if (!dev || !dev.name) throw new TypeError('every simulated device needs a name');
    const kind = DEVICE_KINDS[dev.kind];
    if (!kind) throw new RangeError(`device "${dev.name}": unknown kind "${dev.kind}" (${Object.keys(DEVICE_KINDS).join(', ')})`);
    const sensor = (kind.type & 0xc0) === 0x80 && kind.type !== SAUL.SENSE_BTN;
    const sampleMs = num(dev.sampleMs);
    board.addDevice({
      name: dev.name, type: kind.type, unit: kind.unit, scale: kind.scale, simulated: true,
      source: sensor ? sourceOf(dev) : undefined,
      periodMs: sensor && sampleMs && sampleMs > 0 ? sampleMs : undefined,
    });
  }
  return board;
}

export function isRemote(cfg: BoardConfig): boolean {
  return cfg.mode === 'remote';
}

/** The settings of a remote board. Throws RangeError/TypeError for bad settings. */
export function remoteSettings(cfg: BoardConfig): RemoteSettings {
  const address = (cfg.address ?? '').trim();
  if (!address) throw new TypeError('a remote board needs an address (coap://host:port)');
  let url: string;
  try {
    url = parseCoapUrl(address).text.replace(/\/$/, '');
  } catch (e) {
    throw new RangeError(`address: ${(e as Error).message}`);
  }
  const slot = num(cfg.slot, 0)!;
  if (!Number.isInteger(slot) || slot < 0 || slot > 63) throw new RangeError(`slot ${String(cfg.slot)} is not a slot number (0, 1, …)`);
  const key = (cfg.publicKey ?? '').trim();
  let publicKey: Uint8Array | undefined;
  if (key) {
    try {
      publicKey = parsePublicKey(key);
    } catch (e) {
      throw new RangeError(`trusted key: ${(e as Error).message}`);
    }
  }
  const timeoutMs = Math.max(100, num(cfg.timeoutMs, 2000)!);
  const pollMs = Math.max(0, num(cfg.pollMs, 10_000)!);
  return { url, publicKey, slot, timeoutMs, pollMs: pollMs > 0 ? Math.max(pollMs, 250) : 0 };
}

export { PROFILE_NAMES };
