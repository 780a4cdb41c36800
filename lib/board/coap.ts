/**
 * CoAP for the CoAP-request hook, laid out in container memory the way RIOT's gcoap hands a
 * femto-container a request (sys/include/net/nanocoap.h, RIOT 2022 as in the Middleware 2022
 * artifact; bpf/shared.h's bpf_coap_ctx_t):
 *
 *   context (24 B, read-only):  { u64 pkt; u64 buf; u64 buf_len }      (bpf_coap_ctx_t)
 *   packet region "coap_pkt" (RW, 84 B) — coap_pkt_t of a 32-bit MCU:
 *      0  u32 hdr          address of the CoAP header (= buf)
 *      4  u32 token        address of the token
 *      8  u32 payload      address of the payload
 *     12  u16 payload_len
 *     14  u16 options_len  number of entries used in options[]
 *     16  options[16] × { u16 opt_num; u16 offset }  (offset from hdr; CONFIG_NANOCOAP_NOPTS_MAX 16)
 *     80  u32 observe_value (gcoap)
 *   PDU buffer region "coap_buf" (RW, 512 B by default): the request as received; the handler
 *   writes its response over it, as gcoap does.
 *
 * The container's CoAP helpers implement RIOT's functions on that memory, with every address
 * checked (RIOT trusts the pointers; we re-read them from the packet struct through the checked
 * Memory API, so a container scribbling over its packet struct only hurts itself: fault −2 or a
 * malformed response, never the host):
 *   gcoap_resp_init(ctx, code): CON→ACK, set code, options_len = 0,
 *                               payload = buf + 4 + TKL, payload_len = buf_len − (4 + TKL)
 *   coap_add_format(ctx, fmt):  append a Content-Format option (12) as a minimal uint
 *   coap_opt_finish(ctx, flags): flags & 1 (COAP_OPT_FINISH_PAYLOAD): write the 0xFF marker and
 *                               move payload past it; else payload_len = 0. Returns the header
 *                               length (payload − hdr)
 *   coap_get_pdu(ctx):          the payload address
 * The container returns the PDU length; the board parses buf[0..r0) as the response.
 */
import type { Memory } from '../../vm/memory';

export const COAP_PKT_SIZE = 84;
export const COAP_NOPTS_MAX = 16;
export const COAP_BUF_SIZE = 512;
export const COAP_OPT_FINISH_PAYLOAD = 0x0001;
export const COAP_OPT_URI_PATH = 11;
export const COAP_OPT_CONTENT_FORMAT = 12;
export const COAP_TYPE_CON = 0;
export const COAP_TYPE_NON = 1;
export const COAP_TYPE_ACK = 2;

export const PKT = { hdr: 0, token: 4, payload: 8, payloadLen: 12, optionsLen: 14, options: 16, observe: 80 } as const;

export const COAP_METHODS: Readonly<Record<string, number>> = { GET: 1, POST: 2, PUT: 3, DELETE: 4, FETCH: 5, PATCH: 6, IPATCH: 7 };

/** "2.05" for (2 << 5) | 5. */
export function codeText(code: number): string {
  return `${code >> 5}.${String(code & 0x1f).padStart(2, '0')}`;
}

export interface CoapOption {
  num: number;
  value: Uint8Array;
}

export interface CoapMessage {
  type: number;
  code: number;
  messageId: number;
  token: Uint8Array;
  options: CoapOption[];
  payload: Uint8Array;
}

/** Encode a CoAP message (RFC 7252 §3). Options are sorted by number. */
export function encodeCoap(m: CoapMessage): Uint8Array {
  const parts: number[] = [0x40 | ((m.type & 3) << 4) | (m.token.length & 0x0f), m.code & 0xff, (m.messageId >> 8) & 0xff, m.messageId & 0xff, ...m.token];
  let last = 0;
  for (const o of [...m.options].sort((a, b) => a.num - b.num)) {
    parts.push(...optionHeader(o.num - last, o.value.length), ...o.value);
    last = o.num;
  }
  if (m.payload.length) parts.push(0xff, ...m.payload);
  return Uint8Array.from(parts);
}

function nibble(v: number): [number, number[]] {
  if (v < 13) return [v, []];
  if (v < 269) return [13, [v - 13]];
  return [14, [((v - 269) >> 8) & 0xff, (v - 269) & 0xff]];
}

export function optionHeader(delta: number, len: number): number[] {
  const [d, dx] = nibble(delta);
  const [l, lx] = nibble(len);
  return [(d << 4) | l, ...dx, ...lx];
}

/** Minimal big-endian encoding of an option uint (0 → zero bytes), as coap_opt_add_uint does. */
export function uintBytes(v: number): number[] {
  const out: number[] = [];
  let x = v >>> 0;
  while (x) {
    out.unshift(x & 0xff);
    x >>>= 8;
  }
  return out;
}

export interface ParsedCoap extends CoapMessage {
  /** Offsets (from the start) of each option's header byte, for coap_pkt_t.options[]. */
  optionOffsets: number[];
  payloadOffset: number;
}

/** Parse a CoAP message; throws RangeError on malformed input. */
export function parseCoap(b: Uint8Array): ParsedCoap {
  if (b.length < 4) throw new RangeError('CoAP message shorter than its 4-byte header');
  if (b[0] >> 6 !== 1) throw new RangeError(`CoAP version ${b[0] >> 6}, expected 1`);
  const tkl = b[0] & 0x0f;
  if (tkl > 8) throw new RangeError(`token length ${tkl} > 8`);
  if (4 + tkl > b.length) throw new RangeError('token runs past the message');
  const m: ParsedCoap = {
    type: (b[0] >> 4) & 3, code: b[1], messageId: (b[2] << 8) | b[3], token: b.slice(4, 4 + tkl),
    options: [], payload: new Uint8Array(0), optionOffsets: [], payloadOffset: b.length,
  };
  let i = 4 + tkl;
  let num = 0;
  while (i < b.length) {
    if (b[i] === 0xff) {
      if (i + 1 >= b.length) throw new RangeError('payload marker with an empty payload');
      m.payloadOffset = i + 1;
      m.payload = b.slice(i + 1);
      break;
    }
    const at = i;
    let delta = b[i] >> 4;
    let len = b[i] & 0x0f;
    i++;
    const ext = (n: number): number => {
      if (n === 13) { if (i >= b.length) throw new RangeError('truncated option'); return 13 + b[i++]; }
      if (n === 14) { if (i + 1 >= b.length) throw new RangeError('truncated option'); const v = 269 + ((b[i] << 8) | b[i + 1]); i += 2; return v; }
      if (n === 15) throw new RangeError('reserved option nibble 15');
      return n;
    };
    delta = ext(delta);
    len = ext(len);
    if (i + len > b.length) throw new RangeError('option value runs past the message');
    num += delta;
    m.options.push({ num, value: b.slice(i, i + len) });
    m.optionOffsets.push(at);
    i += len;
  }
  return m;
}

/** Write the coap_pkt_t for a parsed request whose bytes sit at `bufAddr` (host side, trusted). */
export function writePacketStruct(mem: Memory, pktAddr: number, bufAddr: number, req: ParsedCoap): void {
  mem.write(pktAddr, new Uint8Array(COAP_PKT_SIZE));
  mem.writeU32(pktAddr + PKT.hdr, bufAddr);
  mem.writeU32(pktAddr + PKT.token, bufAddr + 4);
  mem.writeU32(pktAddr + PKT.payload, bufAddr + req.payloadOffset);
  mem.writeU16(pktAddr + PKT.payloadLen, req.payload.length);
  const n = Math.min(req.options.length, COAP_NOPTS_MAX);
  mem.writeU16(pktAddr + PKT.optionsLen, n);
  for (let k = 0; k < n; k++) {
    mem.writeU16(pktAddr + PKT.options + 4 * k, req.options[k].num);
    mem.writeU16(pktAddr + PKT.options + 4 * k + 2, req.optionOffsets[k]);
  }
}

/** The `bpf_coap_ctx_t` fields a helper reads through the checked API (r1 = ctx address). */
export function readCtx(mem: Memory, ctx: number): { pkt: number; buf: number; bufLen: number } {
  const pkt = mem.readU64(ctx);
  const buf = mem.readU64(ctx + 8);
  const bufLen = mem.readU64(ctx + 16);
  // Addresses above 4 GiB cannot be mapped: make them fail the next checked access.
  return { pkt: pkt > 0xffffffffn ? 0 : Number(pkt), buf: buf > 0xffffffffn ? 0 : Number(buf), bufLen: bufLen > 0xffffn ? 0xffff : Number(bufLen) };
}

/** gcoap_resp_init on container memory. */
export function respInit(mem: Memory, ctxAddr: number, code: number): number {
  const { pkt, buf, bufLen } = readCtx(mem, ctxAddr);
  const hdr = mem.readU32(pkt + PKT.hdr);
  const b0 = mem.readU8(hdr);
  const tkl = b0 & 0x0f;
  const type = (b0 >> 4) & 3;
  if (type === COAP_TYPE_CON) mem.writeU8(hdr, (b0 & 0xcf) | (COAP_TYPE_ACK << 4));
  mem.writeU8(hdr + 1, code & 0xff);
  const hlen = 4 + Math.min(tkl, 8);
  mem.writeU16(pkt + PKT.optionsLen, 0);
  mem.writeU32(pkt + PKT.payload, buf + hlen);
  mem.writeU16(pkt + PKT.payloadLen, Math.max(0, bufLen - hlen));
  return 0;
}

/** coap_opt_add_uint(pkt, 12, format) on container memory: returns bytes added or −1 (no room). */
export function addFormat(mem: Memory, ctxAddr: number, format: number): number {
  const { pkt } = readCtx(mem, ctxAddr);
  const nopts = mem.readU16(pkt + PKT.optionsLen);
  if (nopts >= COAP_NOPTS_MAX) return -1;
  const lastNum = nopts > 0 ? mem.readU16(pkt + PKT.options + 4 * (nopts - 1)) : 0;
  if (COAP_OPT_CONTENT_FORMAT < lastNum) return -1; // nanocoap requires ascending option numbers
  const value = uintBytes(format & 0xffff);
  const bytes = Uint8Array.from([...optionHeader(COAP_OPT_CONTENT_FORMAT - lastNum, value.length), ...value]);
  const at = mem.readU32(pkt + PKT.payload);
  const room = mem.readU16(pkt + PKT.payloadLen);
  if (bytes.length > room) return -1;
  mem.write(at, bytes); // checked: the payload pointer must lie in writable memory
  const hdr = mem.readU32(pkt + PKT.hdr);
  mem.writeU16(pkt + PKT.options + 4 * nopts, COAP_OPT_CONTENT_FORMAT);
  mem.writeU16(pkt + PKT.options + 4 * nopts + 2, (at - hdr) & 0xffff);
  mem.writeU16(pkt + PKT.optionsLen, nopts + 1);
  mem.writeU32(pkt + PKT.payload, at + bytes.length);
  mem.writeU16(pkt + PKT.payloadLen, room - bytes.length);
  return bytes.length;
}

/** coap_opt_finish on container memory: the header length (payload − hdr), or −1. */
export function optFinish(mem: Memory, ctxAddr: number, flags: number): number {
  const { pkt } = readCtx(mem, ctxAddr);
  const hdr = mem.readU32(pkt + PKT.hdr);
  let at = mem.readU32(pkt + PKT.payload);
  const room = mem.readU16(pkt + PKT.payloadLen);
  if (flags & COAP_OPT_FINISH_PAYLOAD) {
    if (room < 1) return -1;
    mem.writeU8(at, 0xff);
    at += 1;
    mem.writeU32(pkt + PKT.payload, at);
    mem.writeU16(pkt + PKT.payloadLen, room - 1);
  } else {
    mem.writeU16(pkt + PKT.payloadLen, 0);
  }
  return (at - hdr) | 0;
}

/** coap_get_pdu: the payload address. */
export function getPdu(mem: Memory, ctxAddr: number): number {
  const { pkt } = readCtx(mem, ctxAddr);
  return mem.readU32(pkt + PKT.payload);
}

export interface CoapResponse {
  /** Raw CoAP code ((class << 5) | detail) and its text ("2.05"). */
  code: number;
  codeText: string;
  type: number;
  contentFormat?: number;
  options: CoapOption[];
  payload: Uint8Array;
  /** The PDU as the container left it (buf[0..length)). */
  pdu: Uint8Array;
  /** Which container produced it (undefined when none did). */
  container?: string;
}
