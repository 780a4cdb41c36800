/**
 * `femto device [--profile P] [--host ADDR] [--port N] [--key trusted.pub]… [--state DIR]`: run an
 * emulated board as a remote device reachable over CoAP on UDP, with the endpoints of RIOT's
 * femto-container SUIT example (/suit/trigger, /bpf/exec/N, /riot/board) and our /femto/status
 * (see lib/device/remote-device.ts). Runs until SIGINT or SIGTERM (exit 0); 2 on bad input (unknown
 * profile, unreadable key, busy port).
 *
 * Output: one line "femto device: <board> listening on coap://HOST:PORT …" once ready (with
 * --port 0, the port picked), then the device's log (RIOT-like lines: trigger received, manifest
 * verified, installed, failures with the failed check), unless --quiet.
 *
 * Keys: each --key adds a trusted public key (a .pub, a private key's public half, or 64 hex
 * digits). With --state, the keys are remembered there and used when --key is not given again.
 * No key at all: the device runs, but refuses every update (as RIOT needs compiled-in keys).
 */
import { ProgramFileError } from '../program-input';
import { PROFILE_NAMES } from '../board/profiles';
import { RemoteDevice } from '../device/remote-device';
import { readPublicKey } from '../deploy/keys';
import { StateError } from '../device/state';
import { flag, list, parseCommand, parseCount, str, UsageError } from './args';
import { EXIT_OK, processIo, type Io } from './io';
import { keyFileError } from './keygen';
import { idOptions } from './sign';


export interface DeviceCommandHooks {
  /** Stop the device when this aborts (in-process use; the CLI stops on signals). */
  signal?: AbortSignal;
  onReady?: (device: RemoteDevice) => void;
}

export async function deviceCommand(argv: string[], io: Io = processIo(), hooks: DeviceCommandHooks = {}): Promise<number> {
  const p = parseCommand('device', argv, {
    profile: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, key: { type: 'string', multiple: true },
    state: { type: 'string' }, name: { type: 'string' }, 'block-size': { type: 'string' }, vendor: { type: 'string' },
    'class-id': { type: 'string' }, quiet: { type: 'boolean' },
  }, 0);
  const profile = str(p, 'profile') ?? 'nrf52840dk';
  if (!PROFILE_NAMES.includes(profile)) throw new UsageError(`femto device: unknown profile '${profile}' (one of ${PROFILE_NAMES.join(', ')})`);
  const port = parseCount('device', '--port', str(p, 'port') ?? '5683', 0)!;
  if (port > 65535) throw new UsageError(`femto device: --port ${port} is not a UDP port`);
  const blockSize = parseCount('device', '--block-size', str(p, 'block-size') ?? '64', 16)!;
  if (![16, 32, 64, 128, 256, 512, 1024].includes(blockSize)) throw new UsageError(`femto device: --block-size ${blockSize} is not one of 16, 32, 64, 128, 256, 512, 1024`);
  const ids = idOptions('device', str(p, 'vendor'), undefined, str(p, 'class-id'));
  let trustedKeys: Uint8Array[];
  try {
    trustedKeys = list(p, 'key').map(readPublicKey);
  } catch (e) {
    keyFileError(e);
  }
  const quiet = flag(p, 'quiet');
  let dev: RemoteDevice;
  try {
    dev = await RemoteDevice.start({
      profile, name: str(p, 'name'), host: str(p, 'host') ?? '127.0.0.1', port, trustedKeys, stateDir: str(p, 'state'),
      vendorId: ids.vendorId, classId: ids.classGiven ? ids.classId : undefined, blockSize,
      log: quiet ? undefined : (line) => io.out(line),
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') throw new UsageError(`femto device: UDP port ${port} is in use (another device? pick another --port, or 0)`);
    if (err.code === 'EADDRNOTAVAIL') throw new UsageError(`femto device: cannot listen on ${str(p, 'host')}: not an address of this machine`);
    if (e instanceof StateError) throw new ProgramFileError(e.file, 'ESTATE', e.message.slice(e.file.length + 2));
    throw e;
  }
  io.out(`femto device: ${dev.riotBoard} listening on ${dev.url} (seq ${dev.seq}, ${dev.trustedKeys.length} trusted key${dev.trustedKeys.length === 1 ? '' : 's'})`);
  hooks.onReady?.(dev);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      hooks.signal?.removeEventListener('abort', stop);
      resolve();
    };
    if (hooks.signal) {
      if (hooks.signal.aborted) return stop();
      hooks.signal.addEventListener('abort', stop, { once: true });
    } else {
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    }
  });
  await dev.close();
  if (!quiet) io.out('femto device: stopped');
  return EXIT_OK;
}
