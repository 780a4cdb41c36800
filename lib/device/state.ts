/**
 * What a remote device keeps across restarts (`femto device --state DIR`): the installed image of
 * each storage slot with the sequence number it came with, the device's highest sequence number
 * (its anti-rollback counter) and the trusted key it was started with.
 *
 * One JSON file, `DIR/device-state.json`, replaced atomically: written to a temporary file in the
 * same folder, fsync'ed, renamed over the old one, then the folder fsync'ed so the rename itself is
 * durable. A crash at any point leaves either the old or the new file, never a half image. Images
 * are small (a slot holds 2 KiB), so base64 inside the JSON costs nothing and keeps the write to a
 * single rename. Each image carries its SHA-256; on load a mismatch (disk corruption, a hand edit)
 * drops that slot with a warning instead of installing bytes nobody signed.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const STATE_FILE = 'device-state.json';
const FORMAT = 'femto-device-state';
const VERSION = 1;

export interface SlotRecord {
  seq: number;
  /** SHA-256 of the image, hex. */
  digest: string;
  size: number;
  installedAt: string;
  image: Uint8Array;
}

export interface DeviceState {
  /** Highest sequence number ever installed (RIOT's RAM storage keeps one for all slots). */
  seq: number;
  /** Trusted public keys (hex) the device was started with; reused when --key is not given. */
  trustedKeys: string[];
  slots: Map<number, SlotRecord>;
}

export function emptyState(): DeviceState {
  return { seq: 0, trustedKeys: [], slots: new Map() };
}

/** Write a file so that readers see the old or the new content, whatever happens. */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    /* some file systems refuse fsync on a folder; the rename is still atomic */
  }
}

export function saveState(dir: string, s: DeviceState): void {
  fs.mkdirSync(dir, { recursive: true });
  const json = {
    format: FORMAT,
    version: VERSION,
    seq: s.seq,
    trustedKeys: s.trustedKeys,
    slots: Object.fromEntries([...s.slots].sort((a, b) => a[0] - b[0]).map(([n, r]) => [String(n), {
      seq: r.seq, digest: r.digest, size: r.size, installedAt: r.installedAt, image: Buffer.from(r.image).toString('base64'),
    }])),
  };
  writeFileAtomic(path.join(dir, STATE_FILE), JSON.stringify(json, null, 1) + '\n');
}

export class StateError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'StateError';
  }
}

/**
 * Read the state of a folder (an absent file = a fresh device). Throws StateError when the file is
 * not ours or unreadable; individual corrupt slots are dropped and reported in `warnings`.
 */
export function loadState(dir: string): { state: DeviceState; warnings: string[] } {
  const file = path.join(dir, STATE_FILE);
  const warnings: string[] = [];
  // Temp files of writes a crash interrupted: never renamed, so never part of the state.
  try {
    for (const f of fs.readdirSync(dir)) {
      if (f.startsWith(`.${STATE_FILE}.`) && f.endsWith('.tmp')) fs.rmSync(path.join(dir, f), { force: true });
    }
  } catch {
    /* no folder yet */
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: emptyState(), warnings };
    throw new StateError(file, `cannot read (${(e as Error).message})`);
  }
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new StateError(file, `not valid JSON (${(e as Error).message})`);
  }
  if (j.format !== FORMAT || j.version !== VERSION) throw new StateError(file, `not a ${FORMAT} v${VERSION} file`);
  const seq = Number(j.seq);
  if (!Number.isSafeInteger(seq) || seq < 0) throw new StateError(file, 'bad sequence number');
  const state: DeviceState = {
    seq,
    trustedKeys: Array.isArray(j.trustedKeys) ? j.trustedKeys.filter((k): k is string => typeof k === 'string' && /^[0-9a-f]{64}$/i.test(k)) : [],
    slots: new Map(),
  };
  const slots = (j.slots ?? {}) as Record<string, Record<string, unknown>>;
  for (const [k, r] of Object.entries(slots)) {
    const n = Number(k);
    const image = new Uint8Array(Buffer.from(String(r.image ?? ''), 'base64'));
    const digest = createHash('sha256').update(image).digest('hex');
    if (!Number.isInteger(n) || n < 0 || digest !== r.digest || image.length !== r.size) {
      warnings.push(`slot ${k}: stored image does not match its recorded digest or size; slot left empty`);
      continue;
    }
    state.slots.set(n, { seq: Number(r.seq) || 0, digest, size: image.length, installedAt: String(r.installedAt ?? ''), image });
  }
  return { state, warnings };
}
