/**
 * Shared helpers for the deployment tests: images, in-process devices, device processes, a way to
 * push a hand-made (tampered) manifest at a device, closed and silent UDP ports (a device that is
 * down or hangs), and a capturing CLI Io. Everything listens on
 * 127.0.0.1 with ports picked by the system.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assemble } from '../../../vm/assembler';
import { buildImage } from '../../../vm/image';
import { coapCall } from '../../../lib/deploy/coap-client';
import { CoapFileServer } from '../../../lib/deploy/coap-server';
import { RemoteDevice, type DeviceOptions } from '../../../lib/device/remote-device';
import type { Io } from '../../../lib/cli/io';
import type { UpdateRecord } from '../../../lib/deploy/protocol';
import { ROOT } from '../../util/paths';

/** A RIOT image returning `value` (riot-2022 compatible: 64-bit mov + exit), with optional filler rodata. */
export function imageReturning(value: number, rodataBytes = 0): Uint8Array {
  return buildImage({ text: assemble(`mov %r0, ${value}\nexit`), rodata: rodataBytes ? new Uint8Array(rodataBytes).fill(0x5a) : undefined });
}

const tmpDirs: string[] = [];
process.once('exit', () => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A temporary folder, removed when the test process exits. */
export function tmpDir(tag: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `femto-deploy-${tag}-`));
  tmpDirs.push(d);
  return d;
}

export async function startDevice(opts: DeviceOptions = {}): Promise<RemoteDevice> {
  return RemoteDevice.start({ port: 0, fetchTiming: { ackTimeoutMs: 100, timeoutMs: 600 }, ...opts });
}

/** Serve `envelope` and `image` and trigger the device over CoAP; resolves to its update record. */
export async function push(dev: RemoteDevice, envelope: Uint8Array, image: Uint8Array | ((req: { block?: { num: number; size: number } }) => Uint8Array | null), server?: CoapFileServer): Promise<UpdateRecord> {
  const own = !server;
  const fs_ = server ?? new CoapFileServer();
  await fs_.listen();
  try {
    fs_.put('m', envelope);
    fs_.put('img', image);
    const r = await coapCall(`${dev.url}/suit/trigger`, { method: 'POST', payload: fs_.url('m') });
    if (r.code !== '2.01') throw new Error(`trigger answered ${r.code}`);
    await new Promise((resolve) => setImmediate(resolve));
    await dev.idle();
    return (dev.status().update as UpdateRecord);
  } finally {
    if (own) await fs_.close();
  }
}

/** A free UDP port with nothing listening on it any more. */
export async function closedPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A UDP socket that receives everything and never answers (a device that hangs). */
export async function silentPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const s = dgram.createSocket('udp4');
  s.on('message', () => undefined);
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return { port: s.address().port, close: () => new Promise<void>((r) => s.close(() => r())) };
}

/** An Io that records what a CLI command prints. */
export function captureIo(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout, stderr,
    out: (t) => void stdout.push(t),
    outBytes: (b) => void stdout.push(Buffer.from(b).toString('latin1')),
    err: (t) => void stderr.push(t),
    readStdin: async () => '',
  };
}

// ---- device processes -----------------------------------------------------------------------

/**
 * The script that runs `femto device` in a child process: the registered `femto` CLI once
 * `device` is one of its commands, else our stand-in script.
 */
export function deviceArgv(): string[] {
  const main = path.join(ROOT, 'dist', 'lib', 'cli', 'main.js');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const m = require(main) as { COMMANDS?: Record<string, unknown> };
    if (m.COMMANDS && 'device' in m.COMMANDS) return [main, 'device'];
  } catch {
    /* fall through */
  }
  return [path.join(__dirname, 'device-main.js')];
}

export interface DeviceProcess {
  child: ChildProcess;
  url: string;
  output: string[];
  stop(): Promise<number | null>;
}

/** Spawn `femto device --port 0 …`; resolves once it printed its address. */
export function spawnDevice(args: string[], timeoutMs = 20_000): Promise<DeviceProcess> {
  const child = spawn(process.execPath, [...deviceArgv(), '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`device process not ready within ${timeoutMs} ms: ${output.join('\n')}`));
    }, timeoutMs);
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    child.stderr!.on('data', (d: Buffer) => output.push(d.toString('utf8')));
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        output.push(line);
        const m = /^femto device: .* listening on (coap:\/\/\S+)/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve({
            child, url: m[1], output,
            stop: async () => {
              if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
              return exited;
            },
          });
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`device process exited (${code}) before it was ready: ${output.join('\n')}`));
    });
  });
}
