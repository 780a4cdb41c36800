/**
 * Message ↔ container translation for the Node-RED nodes, testable without Node-RED.
 *
 * The input: msg.payload, or the node's typed input property (inputValue, evaluated as Node-RED
 * evaluates typed inputs).
 *
 * msg.payload → the bytes a flow-hook container sees (its context points at a read-only copy):
 *  - Buffer / Uint8Array / ArrayBuffer: the bytes as they are;
 *  - string: UTF-8 (no terminating NUL; the length is in the context);
 *  - number: an integer becomes 8 bytes, little-endian two's complement int64 (so `41` is read by
 *    `ldxdw` as 41); a non-integer becomes its IEEE-754 double (8 bytes LE);
 *  - bigint: 8 bytes LE (two's complement, taken modulo 2^64);
 *  - boolean: 8 bytes, 1 or 0;
 *  - an array of numbers: each element as a little-endian int32 (the natural C `int32_t[]`);
 *  - null / undefined: no bytes (len 0);
 *  - any other object: its JSON text as UTF-8.
 *
 * r0 → msg.payload (`resultType`):
 *  - `int64` (default): r0 as a signed 64-bit value (`mov r0, -1` → -1);
 *  - `uint64`: r0 unsigned;
 *  - `int32`: the low 32 bits as a signed int — what RIOT's C hooks read from an `int` return
 *    (clang leaves the upper half zero, so `return -1` is 0x00000000ffffffff);
 *  a JS number when it is exactly representable (|v| ≤ 2^53 − 1), else a decimal string.
 */
import type { RunReport } from '../board/board';
import { nodeRedUtil, type NodeRedUtil } from '../node-red-util';
import { r0Value, type ResultType } from './payload-bytes';

// The pure conversions live in payload-bytes.ts (the editor's Try panel loads them in the page).
export { RESULT_TYPES, isResultType, payloadToBytes, r0Value, type ResultType } from './payload-bytes';

export const MAX_FLOW_PAYLOAD = 65536;

/** Node-RED's evaluation of a typed input (RED.util.evaluateNodeProperty's signature). */
export type EvaluateProperty = NodeRedUtil['evaluateNodeProperty'];

/**
 * The value a flow-hook container runs on: the node's input property — msg.payload unless the
 * node names another (`input`, a typed input of type `inputType`, default msg) — evaluated by
 * Node-RED's own evaluateNodeProperty, so that `payload.samples[0]`, `msg["a b"]`, a flow or global
 * variable mean what they mean in any other node. A node passes RED.util's (the runtime's copy,
 * with its context stores); without one (femto sim, tests) @node-red/util's is used.
 */
export function inputValue(
  msg: Record<string, unknown>,
  input: string | undefined,
  inputType: string | undefined,
  node?: unknown,
  evaluate?: EvaluateProperty,
): unknown {
  const type = inputType || 'msg';
  if (!input || (type === 'msg' && input === 'payload')) return msg.payload;
  return (evaluate ?? nodeRedUtil().evaluateNodeProperty)(input, type, node, msg);
}

/** What msg.femto carries after a run (ARCHITECTURE.md § The Node-RED face). */
export interface FemtoRunInfo {
  container: string;
  name: string;
  tenant: string;
  hook: string;
  status: RunReport['status'];
  r0: number | string;
  r0Hex: string;
  insns: number;
  totalInsns: number;
  slice: number;
  /** Event-loop turns the run took (more than 1: it was sliced). */
  turns: number;
  byClass: Record<string, number>;
  estimatedUs: number;
  estimate: string;
  board: string;
  profile: string;
  console: string[];
  storeWrites: { scope: string; owner: string; key: number; value: number | undefined; previous: number | undefined }[];
  faults: { consecutive: number; total: number };
  quarantined: boolean;
  tier: string;
  /** Present when the run faulted. */
  code?: number;
  pc?: number;
  instruction?: string;
  message?: string;
  fault?: Record<string, unknown>;
}

/**
 * msg.femto for a run report. `source`: the fault's source line (the program's source map),
 * carried as msg.femto.fault.source = { file, line }.
 */
export function femtoInfo(r: RunReport, board: { name: string; profile: string }, tier: string, type: ResultType = 'int64', source?: { file: string; line: number }): FemtoRunInfo {
  const info: FemtoRunInfo = {
    container: r.container,
    name: r.name,
    tenant: r.tenant,
    hook: r.hook,
    status: r.status,
    r0: r0Value(r.r0, type),
    r0Hex: '0x' + BigInt.asUintN(64, r.r0).toString(16),
    insns: r.insns,
    totalInsns: r.totalInsns,
    slice: r.slice,
    turns: r.turns,
    byClass: { ...r.byClass },
    estimatedUs: Math.round(r.estimatedUs * 1000) / 1000,
    estimate: r.estimateLabel,
    board: board.name,
    profile: board.profile,
    console: [...r.console],
    storeWrites: r.storeWrites.map((w) => ({ scope: w.scope, owner: w.owner, key: w.key, value: w.value, previous: w.previous })),
    faults: { ...r.faults },
    quarantined: r.quarantined,
    tier,
  };
  if (r.fault) {
    info.code = r.fault.code;
    info.pc = r.fault.pc;
    info.instruction = r.fault.insn;
    info.message = r.fault.message;
    info.fault = { ...r.fault };
    if (source) info.fault.source = { file: source.file, line: source.line };
  }
  return info;
}

/** The Error given to done(err) / node.error for a faulted run (Catch nodes see its message), naming the source line when known. */
export function faultError(r: RunReport, source?: { file: string; line: number }): Error & { code?: number; pc?: number } {
  const f = r.fault;
  const text = f ? String(f.text ?? f.message) : 'fault';
  const e = new Error(`${r.name}: ${text}${source ? ` (${source.file}:${source.line})` : ''}`) as Error & { code?: number; pc?: number };
  e.name = 'FemtoFault';
  if (f) {
    e.code = f.code;
    e.pc = f.pc;
  }
  return e;
}

/** A store key from a message or config: a number, "42", "0x2a". Throws RangeError. */
export function parseKey(k: unknown): number {
  if (typeof k === 'number' && Number.isInteger(k) && k >= 0 && k <= 0xffffffff) return k;
  if (typeof k === 'string' && /^\s*(0x[0-9a-f]+|\d+)\s*$/i.test(k)) {
    const v = Number(k.trim());
    if (v <= 0xffffffff) return v;
  }
  throw new RangeError(`store key ${JSON.stringify(k)} is not a u32 (a number or 0x-hex)`);
}

/** A store value: a number (taken modulo 2^32), "42", "0x2a", a boolean. Throws RangeError. */
export function parseValue(v: unknown): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v) >>> 0;
  if (typeof v === 'string' && /^\s*(-?\d+|0x[0-9a-f]+)\s*$/i.test(v)) return Number(v.trim()) >>> 0;
  throw new RangeError(`store value ${JSON.stringify(v)} is not a number`);
}
