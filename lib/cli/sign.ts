/**
 * `femto sign IMAGE --seq N --slot S --key K [-o OUT] [--uri URL] [--board B | --class-id UUID]
 * [--vendor DOMAIN|UUID] [--image-out F] [--json]`: a signed SUIT manifest (draft-09 envelope, as
 * RIOT 2022 parses it) for one container image, to serve beside the image from any CoAP file
 * server (e.g. `aiocoap-fileserver`, as RIOT's example does) and trigger with
 * `POST /suit/trigger`. `femto deploy` does all of that in one step.
 *
 * IMAGE: a RIOT image is signed as it is; any other program (ELF object, assembly, C…) is first
 * turned into a RIOT image, and --image-out writes that image (the bytes the manifest's digest
 * covers, so the bytes to serve). Defaults: slot 0, board nrf52840dk (the class id is
 * uuid5(uuid5(DNS, "riot-os.org"), board) as RIOT derives it), image URI
 * coap://127.0.0.1/<image file name> (for a converted program: the --image-out name, else
 * NAME.bin), output IMAGE with extension .suit.
 * Exit 0 written, 2 bad input.
 */
import * as path from 'node:path';
import { isImage } from '../../vm/image';
import { classIdFor, formatUuid, idFromText, vendorIdFor } from '../deploy/ids';
import { readPrivateKey } from '../deploy/keys';
import { createEnvelope, describeManifest, MAX_SEQ, parseEnvelope } from '../deploy/manifest';
import { loadProgramFile, readInputFile, toImageBytes } from '../program-input';
import { flag, parseCommand, parseCount, parseFormat, requireFile, str, UsageError } from './args';
import { defaultOutput, EXIT_OK, processIo, writeOutput, type Io } from './io';
import { keyFileError } from './keygen';


export interface IdOptions {
  vendorId: Uint8Array;
  classId: Uint8Array;
  board?: string;
}

/** --vendor / --board / --class-id, shared with femto deploy (board may stay open there). */
export function idOptions(command: string, vendor: string | undefined, board: string | undefined, classId: string | undefined, defaultBoard?: string): IdOptions & { classGiven: boolean } {
  if (board !== undefined && classId !== undefined) throw new UsageError(`femto ${command}: give --board or --class-id, not both`);
  let vendorId: Uint8Array;
  try {
    vendorId = vendor === undefined ? vendorIdFor() : idFromText(vendor, 'vendor');
  } catch (e) {
    throw new UsageError(`femto ${command}: --vendor: ${(e as Error).message}`);
  }
  if (classId !== undefined) {
    try {
      return { vendorId, classId: idFromText(classId, 'class', vendorId), classGiven: true };
    } catch (e) {
      throw new UsageError(`femto ${command}: --class-id: ${(e as Error).message}`);
    }
  }
  const b = board ?? defaultBoard;
  return { vendorId, classId: b ? classIdFor(b, vendorId) : new Uint8Array(16), board: b, classGiven: b !== undefined };
}

/** A container image to deploy: a RIOT image as is, anything else converted. */
export async function loadDeployImage(command: string, file: string, format?: string): Promise<{ image: Uint8Array; converted: boolean }> {
  const kind = parseFormat(command, format);
  if (kind === undefined || kind === 'image') {
    const bytes = readInputFile(file);
    if (isImage(bytes)) return { image: bytes, converted: false };
  }
  const prog = await loadProgramFile(file, { format: kind });
  return { image: toImageBytes(prog), converted: true };
}

export function parseSeq(command: string, v: string | undefined): number | undefined {
  const n = parseCount(command, '--seq', v, 0);
  if (n !== undefined && n > MAX_SEQ) throw new UsageError(`femto ${command}: --seq ${n} is above ${MAX_SEQ} (RIOT reads it as int32)`);
  return n;
}

export async function signCommand(argv: string[], io: Io = processIo()): Promise<number> {
  const p = parseCommand('sign', argv, {
    seq: { type: 'string' }, key: { type: 'string' }, slot: { type: 'string' }, output: { type: 'string', short: 'o' },
    uri: { type: 'string' }, board: { type: 'string' }, 'class-id': { type: 'string' }, vendor: { type: 'string' },
    'image-out': { type: 'string' }, format: { type: 'string' }, json: { type: 'boolean' },
  }, 1);
  const file = requireFile('sign', p);
  const seq = parseSeq('sign', str(p, 'seq'));
  if (seq === undefined) throw new UsageError('femto sign: give --seq N (the board accepts only numbers above its current one)');
  const keyFile = str(p, 'key');
  if (!keyFile) throw new UsageError('femto sign: give --key K (a private key file from femto keygen)');
  const slot = parseCount('sign', '--slot', str(p, 'slot') ?? '0', 0)!;
  const ids = idOptions('sign', str(p, 'vendor'), str(p, 'board'), str(p, 'class-id'), 'nrf52840dk');
  const out = str(p, 'output') ?? defaultOutput('sign', file, '.suit');
  let pair;
  try {
    pair = readPrivateKey(keyFile);
  } catch (e) {
    keyFileError(e);
  }
  const { image, converted } = await loadDeployImage('sign', file, str(p, 'format'));
  // Default URI: the file name the image is served under (the built image's, for a converted program).
  const imageOut = str(p, 'image-out');
  const served = imageOut ?? (converted ? path.basename(file).replace(/\.[^.]*$/, '') + '.bin' : file);
  const uri = str(p, 'uri') ?? `coap://127.0.0.1/${encodeURIComponent(path.basename(served))}`;
  if (!uri.startsWith('coap://')) throw new UsageError(`femto sign: --uri '${uri}' is not a coap:// URL`);
  const envelope = createEnvelope({ seq, slot, vendorId: ids.vendorId, classId: ids.classId, image, uri }, pair.secretKey);
  if (envelope.length > 640) io.err(`warning: the manifest has ${envelope.length} B; RIOT's manifest buffer holds 640 B (use a shorter --uri)`);
  writeOutput(io, out, envelope);
  if (imageOut) writeOutput(io, imageOut, image);
  else if (converted) io.err(`warning: ${file} is not a RIOT image; the manifest covers the image built from it: write it with --image-out and serve that`);
  const m = parseEnvelope(envelope).manifest;
  if (flag(p, 'json')) io.out(JSON.stringify({ output: out, bytes: envelope.length, ...describeManifest(m) }));
  else if (out !== '-') {
    io.out(`${out}: ${envelope.length} B manifest, seq ${m.seq}, ${m.location}, ${m.size} B image from ${m.uri}`);
    io.out(`  vendor ${formatUuid(m.vendorId)}, class ${formatUuid(m.classId)}${ids.board ? ` (${ids.board})` : ''}`);
  }
  return EXIT_OK;
}
