/**
 * `femto deploy IMAGE --to coap://HOST:PORT [--to …] --slot S --key K [--seq N] [--board B |
 * --class-id UUID] [--host ADDR] [--timeout S] [--json] [--quiet]`: sign IMAGE for each board,
 * serve manifest and image from a CoAP file server for the transfer, trigger each board, wait for
 * each outcome (polling its status resource) and print it. Boards are updated in parallel.
 *
 * Without --seq each board gets its current sequence number + 1 (read from /femto/status), or,
 * for a board without that resource (a real RIOT board), the Unix time in seconds. Without
 * --board/--class-id the class id comes from each board's /riot/board.
 *
 * Output: progress lines on stderr (probing, triggered, fetching block k/n, verifying, installed
 * seq N; --quiet drops them), then one line per board on stdout: "<url>: installed .ram.S seq N in
 * T ms" or "<url>: <error kind> (<check>): <reason>"; --json prints one JSON array of outcomes.
 * Exit status: 0 installed on every board, 1 not installed on some board (refused, timed out,
 * down, busy), 2 bad input (usage, unreadable image or key).
 */
import { deploy, type DeployOutcome } from '../deploy/deploy';
import { readPrivateKey } from '../deploy/keys';
import { flag, list, parseCommand, parseCount, requireFile, str, UsageError } from './args';
import { EXIT_OK, EXIT_REJECTED, processIo, type Io } from './io';
import { keyFileError } from './keygen';
import { idOptions, loadDeployImage, parseSeq } from './sign';


export function outcomeLine(o: DeployOutcome): string {
  if (o.ok) return `${o.target}: installed .ram.${o.slot} seq ${o.seq} in ${o.ms} ms`;
  const e = o.error!;
  return `${o.target}: ${e.kind}${e.check ? ` (${e.check})` : ''}: ${e.message}`;
}

export async function deployCommand(argv: string[], io: Io = processIo()): Promise<number> {
  const p = parseCommand('deploy', argv, {
    to: { type: 'string', multiple: true }, key: { type: 'string' }, slot: { type: 'string' }, seq: { type: 'string' },
    board: { type: 'string' }, 'class-id': { type: 'string' }, vendor: { type: 'string' }, host: { type: 'string' },
    port: { type: 'string' }, timeout: { type: 'string' }, json: { type: 'boolean' }, quiet: { type: 'boolean' },
    format: { type: 'string' },
  }, 1);
  const file = requireFile('deploy', p);
  const targets = list(p, 'to').flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
  if (targets.length === 0) throw new UsageError('femto deploy: give at least one --to coap://HOST:PORT');
  for (const t of targets) if (!/^coap:\/\/[^/]+/.test(t)) throw new UsageError(`femto deploy: --to '${t}' is not a coap://HOST:PORT URL`);
  const keyFile = str(p, 'key');
  if (!keyFile) throw new UsageError('femto deploy: give --key K (a private key file from femto keygen)');
  const slot = parseCount('deploy', '--slot', str(p, 'slot') ?? '0', 0)!;
  const seq = parseSeq('deploy', str(p, 'seq'));
  const ids = idOptions('deploy', str(p, 'vendor'), str(p, 'board'), str(p, 'class-id'));
  const timeoutS = parseCount('deploy', '--timeout', str(p, 'timeout') ?? '30', 1)!;
  const port = parseCount('deploy', '--port', str(p, 'port'), 0);
  let key;
  try {
    key = readPrivateKey(keyFile);
  } catch (e) {
    keyFileError(e);
  }
  const { image } = await loadDeployImage('deploy', file, str(p, 'format'));
  const quiet = flag(p, 'quiet');
  let outcomes: DeployOutcome[];
  try {
    outcomes = await deploy({
      image, key, targets, slot, seq, vendorId: ids.vendorId, classId: ids.classGiven ? ids.classId : undefined,
      timeoutMs: timeoutS * 1000, serveHost: str(p, 'host'), servePort: port,
      onProgress: quiet ? undefined : (e) => io.err(`${e.target}: ${e.message}`),
    });
  } catch (e) {
    // Only setup errors reach here (bad URL, no address to serve from, port in use).
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') throw new UsageError(`femto deploy: UDP port ${port} is in use (pick another --port)`);
    if (err.code === 'EADDRNOTAVAIL') throw new UsageError(`femto deploy: cannot serve from ${str(p, 'host')}: not an address of this machine`);
    if (e instanceof Error && !(e instanceof TypeError)) throw new UsageError(`femto deploy: ${e.message}`);
    throw e;
  }
  if (flag(p, 'json')) io.out(JSON.stringify(outcomes));
  else for (const o of outcomes) io.out(outcomeLine(o));
  return outcomes.every((o) => o.ok) ? EXIT_OK : EXIT_REJECTED;
}
