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
import { COAP_OPT_CONTENT_FORMAT, COAP_TYPE_ACK, COAP_TYPE_CON, optionHeader, uintBytes, type CoapOption, type ParsedCoap } from '../coap/message';

export const COAP_PKT_SIZE = 84;
export const COAP_NOPTS_MAX = 16;
export const COAP_BUF_SIZE = 512;
export const COAP_OPT_FINISH_PAYLOAD = 0x0001;

export const PKT = { hdr: 0, token: 4, payload: 8, payloadLen: 12, optionsLen: 14, options: 16, observe: 80 } as const;

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
