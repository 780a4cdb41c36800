/**
 * The pure conversions between Node-RED values and a container's bytes (see message.ts for the
 * rules): msg.payload → the flow hook's payload bytes, r0 → msg.payload. No Node-RED and no `node:`
 * imports, so the editor's Try panel runs the same code in the page (lib/try).
 */

export const RESULT_TYPES = ['int64', 'uint64', 'int32'] as const;
export type ResultType = (typeof RESULT_TYPES)[number];

/** The bytes of a payload for the flow hook. Throws TypeError for values that cannot be sent. */
export function payloadToBytes(payload: unknown): Uint8Array {
  if (payload === undefined || payload === null) return new Uint8Array(0);
  if (payload instanceof Uint8Array) return new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  if (typeof payload === 'string') return new TextEncoder().encode(payload);
  if (typeof payload === 'boolean') return int64Bytes(payload ? 1n : 0n);
  if (typeof payload === 'bigint') return int64Bytes(payload);
  if (typeof payload === 'number') {
    if (Number.isInteger(payload)) return int64Bytes(BigInt(payload));
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, payload, true);
    return b;
  }
  if (Array.isArray(payload) && payload.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    const b = new Uint8Array(payload.length * 4);
    const dv = new DataView(b.buffer);
    payload.forEach((x, i) => dv.setInt32(i * 4, Math.trunc(x) | 0, true));
    return b;
  }
  if (typeof payload === 'object') {
    const json = JSON.stringify(payload);
    if (json === undefined) throw new TypeError('msg.payload cannot be turned into bytes');
    return new TextEncoder().encode(json);
  }
  throw new TypeError(`msg.payload of type ${typeof payload} cannot be turned into bytes`);
}

function int64Bytes(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  return b;
}

/** r0 (unsigned 64-bit bits) as the payload value: a number when exact, else a decimal string. */
export function r0Value(r0: bigint, type: ResultType = 'int64'): number | string {
  const v = type === 'uint64' ? BigInt.asUintN(64, r0) : type === 'int32' ? BigInt.asIntN(32, r0) : BigInt.asIntN(64, r0);
  const lim = BigInt(Number.MAX_SAFE_INTEGER);
  return v <= lim && v >= -lim ? Number(v) : v.toString();
}

export function isResultType(s: unknown): s is ResultType {
  return typeof s === 'string' && (RESULT_TYPES as readonly string[]).includes(s);
}
