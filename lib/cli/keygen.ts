/**
 * `femto keygen -o NAME [--force]`: a fresh Ed25519 key pair for signing container updates.
 *
 * Writes NAME.key (PKCS#8 PEM, mode 0600) and NAME.pub (SubjectPublicKeyInfo PEM): the formats
 * RIOT's suit-tool and OpenSSL use, so a key made here signs manifests RIOT's tools accept and
 * vice versa (see lib/deploy/keys.ts). Prints both paths, the key's fingerprint and the public key
 * as hex and as the C array RIOT compiles into its firmware (`public_key.h`). Refuses to overwrite
 * existing key files unless --force. Exit 0, or 2 on bad input.
 */
import { fingerprint, generateKeyPair, KeyFileError, writeKeyPair } from '../deploy/keys';
import { ProgramFileError } from '../program-input';
import { flag, parseCommand, str, UsageError } from './args';
import { EXIT_OK, processIo, type Io } from './io';


/** Key file problems as the CLI reports them: exit 2, one line naming the file. */
export function keyFileError(e: unknown): never {
  if (e instanceof KeyFileError) throw new ProgramFileError(e.file, 'EKEY', e.reason);
  throw e;
}

export async function keygenCommand(argv: string[], io: Io = processIo()): Promise<number> {
  const p = parseCommand('keygen', argv, { output: { type: 'string', short: 'o' }, force: { type: 'boolean' } }, 0);
  const base = str(p, 'output');
  if (!base) throw new UsageError('femto keygen: give -o NAME (writes NAME.key and NAME.pub)');
  const pair = generateKeyPair();
  let files: { keyFile: string; pubFile: string };
  try {
    files = writeKeyPair(base.replace(/\.(key|pub)$/, ''), pair, { force: flag(p, 'force') });
  } catch (e) {
    keyFileError(e);
  }
  const hex = Buffer.from(pair.publicKey).toString('hex');
  io.out(`private key: ${files.keyFile} (keep it secret)`);
  io.out(`public key:  ${files.pubFile}`);
  io.out(`fingerprint: ${fingerprint(pair.publicKey)}`);
  io.out(`public key (hex): ${hex}`);
  io.out(`for RIOT's public_key.h: { ${[...pair.publicKey].map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ')} }`);
  return EXIT_OK;
}
