/**
 * The CoAP message codec (RFC 7252 section 3): encode and parse the bytes of one message, with the
 * option and type numbers the project uses. No sockets and no RIOT memory layout: the board's
 * CoAP-request hook (lib/board/coap.ts) and the deployment transport (lib/deploy/coap-*.ts) both
 * build on it, so neither needs the other.
 */

export const COAP_TYPE_CON = 0;
export const COAP_TYPE_NON = 1;
export const COAP_TYPE_ACK = 2;
export const COAP_OPT_URI_PATH = 11;
export const COAP_OPT_CONTENT_FORMAT = 12;

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
