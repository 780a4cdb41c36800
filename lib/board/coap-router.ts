/**
 * CoAP requests to the board's resources: the request encoded as a PDU, the containers on the
 * 'coap' hook serving its path, each given the packet struct and PDU buffer as gcoap would
 * (coap.ts), and the first PDU a container returns parsed as the response. No container for the
 * path answers 4.04; none answering, 5.00.
 */
import { BoardError } from './board-error';
import { COAP_BUF_SIZE, COAP_PKT_SIZE, writePacketStruct, type CoapResponse } from './coap';
import type { Container } from './container';
import type { ContainerTable } from './container-table';
import { coapContext } from './hooks';
import type { After, HookFiring } from './hook-firing';
import type { HookResult } from './results';
import { COAP_METHODS, COAP_OPT_CONTENT_FORMAT, COAP_OPT_URI_PATH, codeText, encodeCoap, parseCoap } from '../coap/message';

/** One request in progress: its PDU, who serves it, how each container gets it, where the answer is. */
interface CoapCall {
  none?: CoapResponse;
  prepare: (c: Container) => Uint8Array | undefined;
  after: After;
  response: () => CoapResponse;
}

export class CoapRouter {
  private messageId = 0;

  constructor(private readonly table: ContainerTable, private readonly hooks: HookFiring) {}

  /** A request with every run to its end in this call. */
  request(method: string | number, path: string, payload: Uint8Array | string): CoapResponse {
    const call = this.call(method, path, payload);
    if (call.none) return call.none;
    this.hooks.fire('coap', call.prepare, call.after, true);
    return call.response();
  }

  /** A request with sliced runs, each awaited before the policy decides on it. */
  async requestAsync(method: string | number, path: string, payload: Uint8Array | string): Promise<{ response: CoapResponse; result: HookResult }> {
    const call = this.call(method, path, payload);
    if (call.none) return { response: call.none, result: { hook: 'coap', reports: [], skipped: [] } };
    const result = await this.hooks.fireAsync('coap', call.prepare, call.after);
    return { response: call.response(), result };
  }

  private call(method: string | number, path: string, payload: Uint8Array | string): CoapCall {
    const code = typeof method === 'number' ? method : COAP_METHODS[method.toUpperCase()];
    if (code === undefined) throw new BoardError('payload', `unknown CoAP method "${method}"`);
    const body = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
    const norm = normPath(path);
    this.messageId = (this.messageId + 1) & 0xffff;
    const mid = this.messageId;
    const reqBytes = encodeCoap({
      type: 0, code, messageId: mid, token: Uint8Array.of(mid >> 8, mid & 0xff),
      options: norm.split('/').filter(Boolean).map((seg) => ({ num: COAP_OPT_URI_PATH, value: new TextEncoder().encode(seg) })),
      payload: body,
    });
    if (reqBytes.length > COAP_BUF_SIZE) throw new BoardError('payload', `CoAP request of ${reqBytes.length} B exceeds the ${COAP_BUF_SIZE} B PDU buffer`);
    const req = parseCoap(reqBytes);
    const serving = this.table.onHook('coap').filter((c) => c.spec.path === undefined || normPath(c.spec.path) === norm);
    let response: CoapResponse | undefined;
    const bufs = new Map<Container, { base: number }>();
    return {
      none: serving.length === 0 ? simpleResponse((4 << 5) | 4, 'no container serves ' + norm) : undefined,
      prepare: (c) => {
        if (!serving.includes(c)) return undefined;
        const pkt = c.vm.mapRegion('coap_pkt', COAP_PKT_SIZE, true);
        const buf = c.vm.mapRegion('coap_buf', COAP_BUF_SIZE, true);
        const padded = new Uint8Array(COAP_BUF_SIZE);
        padded.set(reqBytes);
        c.vm.memory.write(buf.base, padded);
        writePacketStruct(c.vm.memory, pkt.base, buf.base, req);
        bufs.set(c, buf);
        return coapContext(pkt.base, buf.base, COAP_BUF_SIZE);
      },
      after: (c, r) => {
        if (response || r.status !== 'exit' || r.r0Signed <= 0n || r.r0Signed > BigInt(COAP_BUF_SIZE)) return false;
        const pdu = c.vm.memory.read(bufs.get(c)!.base, Number(r.r0Signed));
        response = parseResponse(pdu, c.id);
        return false;
      },
      response: () => response ?? simpleResponse((5 << 5) | 0, 'no container answered'),
    };
  }
}

function normPath(p: string): string {
  return '/' + p.split('/').filter(Boolean).join('/');
}

function simpleResponse(code: number, text: string): CoapResponse {
  const payload = new TextEncoder().encode(text);
  return { code, codeText: codeText(code), type: 2, options: [], payload, pdu: new Uint8Array(0) };
}

/** Parse the container's PDU leniently (a trailing payload marker with no payload is accepted). */
function parseResponse(pdu: Uint8Array, container: string): CoapResponse {
  const bytes = pdu.length > 0 && pdu[pdu.length - 1] === 0xff ? pdu.subarray(0, pdu.length - 1) : pdu;
  try {
    const m = parseCoap(bytes);
    const cf = m.options.find((o) => o.num === COAP_OPT_CONTENT_FORMAT);
    return {
      code: m.code, codeText: codeText(m.code), type: m.type, options: m.options, payload: m.payload, pdu: pdu.slice(), container,
      contentFormat: cf ? cf.value.reduce((v, b) => v * 256 + b, 0) : undefined,
    };
  } catch (e) {
    const r = simpleResponse((5 << 5) | 0, `malformed response from ${container}: ${(e as Error).message}`);
    return { ...r, pdu: pdu.slice(), container };
  }
}
