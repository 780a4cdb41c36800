/**
 * What went wrong talking to a remote board, in one sentence: "device not answering …" when the
 * transport failed (nothing listens, or no reply in time), the device's own words otherwise.
 */
import { CoapError } from '../deploy/coap-client';

/** "device not answering …" for transport failures, the device's own words for the rest. */
export function remoteErrorText(e: unknown, url: string, timeoutMs?: number): string {
  if (e instanceof CoapError) {
    if (e.kind === 'down') return `device not answering: nothing listens at ${url} (start it with \`npx femto device --port ${portOf(url)}\`)`;
    if (e.kind === 'timeout') return `device not answering: no reply from ${url}${timeoutMs ? ` within ${timeoutMs} ms` : ''}`;
    if (e.kind === 'response') {
      const text = e.payload ? Buffer.from(e.payload).toString('utf8') : '';
      return `${url} answered ${e.code}${text ? `: ${text}` : ''}`;
    }
    return `${url}: ${e.message}`;
  }
  return e instanceof Error ? e.message : String(e);
}

function portOf(url: string): string {
  const m = /:(\d+)\/?$/.exec(url);
  return m ? m[1] : '5683';
}

/** The transport failed (down, silent): as opposed to an answer the device gave. */
export function isUnreachable(e: unknown): boolean {
  return e instanceof CoapError && (e.kind === 'down' || e.kind === 'timeout');
}
