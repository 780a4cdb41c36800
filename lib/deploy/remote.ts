/**
 * Client for one remote board (a `femto device` or a real RIOT board running the femto-container
 * SUIT example), for the host and the Node-RED nodes: who it is, its status, run a slot, deploy
 * to it. A thin layer over coap-client.ts and deploy.ts that keeps the address and the timing.
 *
 * exec(): our devices answer a JSON run report (r0, instructions, fault, console) when asked with
 * Accept: application/json; a RIOT board answers only its text ("22.25", RIOT's fmt_s32_dfp of
 * the result with two decimals), which is parsed back into r0 and flagged `riotText`.
 */
import { coapCall, CoapError, FORMAT, parseCoapUrl, type CoapTiming } from './coap-client';
import { deploy, readStatus, type DeployOptions, type DeployOutcome } from './deploy';
import { parseS32Dfp, PATHS } from './protocol';

export interface RemoteRun {
  slot: number;
  status: 'exit' | 'fault' | 'suspended' | 'unknown';
  r0: number | string;
  insns?: number;
  estimatedUs?: number;
  fault?: { code: number; pc: number; message: string; insn: string | null } | null;
  console?: string[];
  /** The board answered RIOT's text only (no run details). */
  riotText?: string;
}

export class RemoteBoard {
  readonly url: string;

  constructor(url: string, readonly timing: CoapTiming = { timeoutMs: 3000 }) {
    const p = parseCoapUrl(url);
    this.url = `coap://${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`;
  }

  /** RIOT's board name (GET /riot/board). */
  async board(): Promise<string> {
    const r = await coapCall(this.url + PATHS.board, this.timing);
    return Buffer.from(r.payload).toString('utf8').trim();
  }

  /** The status document, or undefined for a board without one (a real RIOT board). */
  async status(): Promise<Record<string, unknown> | undefined> {
    return readStatus(this.url, this.timing);
  }

  /** Run slot N (POST /bpf/exec/N) with an optional request payload. */
  async exec(slot: number, payload?: Uint8Array | string): Promise<RemoteRun> {
    const r = await coapCall(this.url + PATHS.exec(slot), { ...this.timing, method: 'POST', payload, accept: FORMAT.JSON });
    const text = Buffer.from(r.payload).toString('utf8');
    if (r.contentFormat === FORMAT.JSON) {
      try {
        return JSON.parse(text) as RemoteRun;
      } catch {
        throw new CoapError('protocol', `${this.url}: /bpf/exec/${slot} sent malformed JSON`);
      }
    }
    const v = parseS32Dfp(text, -2);
    if (v === undefined) throw new CoapError('protocol', `${this.url}: /bpf/exec/${slot} answered "${text.slice(0, 40)}", not a number`);
    return { slot, status: 'unknown', r0: v, riotText: text };
  }

  /** Deploy an image to this board (see deploy.ts). */
  async deploy(opts: Omit<DeployOptions, 'targets'>): Promise<DeployOutcome> {
    const [o] = await deploy({ timing: this.timing, ...opts, targets: [this.url] });
    return o;
  }
}
