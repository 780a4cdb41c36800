/**
 * A small WebAssembly binary writer: exactly what the compiled tier emits (one memory import,
 * function imports, a few functions with i32/i64 locals, exports), written from the WebAssembly
 * core specification's binary format. No text format, no validation beyond what the engine does
 * when it compiles the module.
 */

export const I32 = 0x7f;
export const I64 = 0x7e;
export type ValType = typeof I32 | typeof I64;
export const BLOCK_VOID = 0x40;

/** Opcodes used by the compiler (WebAssembly core spec §5.4). */
export const W = {
  unreachable: 0x00, nop: 0x01, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b,
  br: 0x0c, br_if: 0x0d, br_table: 0x0e, return: 0x0f, call: 0x10, drop: 0x1a, select: 0x1b,
  local_get: 0x20, local_set: 0x21, local_tee: 0x22, global_get: 0x23, global_set: 0x24,
  i32_load: 0x28, i64_load: 0x29, i32_load8_s: 0x2c, i32_load8_u: 0x2d, i32_load16_s: 0x2e,
  i32_load16_u: 0x2f, i64_load8_s: 0x30, i64_load8_u: 0x31, i64_load16_s: 0x32, i64_load16_u: 0x33,
  i64_load32_s: 0x34, i64_load32_u: 0x35, i32_store: 0x36, i64_store: 0x37, i32_store8: 0x3a,
  i32_store16: 0x3b, i64_store8: 0x3c, i64_store16: 0x3d, i64_store32: 0x3e,
  i32_const: 0x41, i64_const: 0x42,
  i32_eqz: 0x45, i32_eq: 0x46, i32_ne: 0x47, i32_lt_s: 0x48, i32_lt_u: 0x49, i32_gt_s: 0x4a,
  i32_gt_u: 0x4b, i32_le_s: 0x4c, i32_le_u: 0x4d, i32_ge_s: 0x4e, i32_ge_u: 0x4f,
  i64_eqz: 0x50, i64_eq: 0x51, i64_ne: 0x52, i64_lt_s: 0x53, i64_lt_u: 0x54, i64_gt_s: 0x55,
  i64_gt_u: 0x56, i64_le_s: 0x57, i64_le_u: 0x58, i64_ge_s: 0x59, i64_ge_u: 0x5a,
  i32_add: 0x6a, i32_sub: 0x6b, i32_mul: 0x6c, i32_div_s: 0x6d, i32_div_u: 0x6e, i32_rem_s: 0x6f,
  i32_rem_u: 0x70, i32_and: 0x71, i32_or: 0x72, i32_xor: 0x73, i32_shl: 0x74, i32_shr_s: 0x75,
  i32_shr_u: 0x76,
  i64_add: 0x7c, i64_sub: 0x7d, i64_mul: 0x7e, i64_div_s: 0x7f, i64_div_u: 0x80, i64_rem_s: 0x81,
  i64_rem_u: 0x82, i64_and: 0x83, i64_or: 0x84, i64_xor: 0x85, i64_shl: 0x86, i64_shr_s: 0x87,
  i64_shr_u: 0x88,
  i32_wrap_i64: 0xa7, i64_extend_i32_s: 0xac, i64_extend_i32_u: 0xad,
  i32_extend8_s: 0xc0, i32_extend16_s: 0xc1, i64_extend8_s: 0xc2, i64_extend16_s: 0xc3,
  i64_extend32_s: 0xc4,
} as const;

/** Growable byte buffer with LEB128 writers. */
export class ByteWriter {
  private buf = new Uint8Array(256);
  length = 0;

  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + extra) cap *= 2;
    const n = new Uint8Array(cap);
    n.set(this.buf.subarray(0, this.length));
    this.buf = n;
  }

  byte(b: number): this {
    if (this.length === this.buf.length) this.ensure(1);
    this.buf[this.length++] = b;
    return this;
  }

  bytes(bs: ArrayLike<number>): this {
    this.ensure(bs.length);
    if (bs instanceof Uint8Array) this.buf.set(bs, this.length);
    else for (let i = 0; i < bs.length; i++) this.buf[this.length + i] = bs[i];
    this.length += bs.length;
    return this;
  }

  u32(v: number): this {
    let x = v >>> 0;
    do {
      let b = x & 0x7f;
      x >>>= 7;
      if (x !== 0) b |= 0x80;
      this.byte(b);
    } while (x !== 0);
    return this;
  }

  s32(v: number): this {
    let x = v | 0;
    for (;;) {
      const b = x & 0x7f;
      x >>= 7;
      if ((x === 0 && (b & 0x40) === 0) || (x === -1 && (b & 0x40) !== 0)) return this.byte(b);
      this.byte(b | 0x80);
    }
  }

  /** Signed LEB128 of a 64-bit value given as (lo, hi) int32 halves. */
  s64(lo: number, hi: number): this {
    // Fast path: the value is a sign-extended 32-bit number.
    if (hi === lo >> 31) return this.s32(lo);
    let v = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) return this.byte(b);
      this.byte(b | 0x80);
    }
  }

  name(s: string): this {
    const enc = new TextEncoder().encode(s);
    return this.u32(enc.length).bytes(enc);
  }

  toBytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

export interface FuncType { params: ValType[]; results: ValType[] }
export interface ImportFunc { module: string; name: string; type: FuncType }
export interface FuncBody { type: FuncType; locals: ValType[]; code: Uint8Array; export?: string }

/** Assemble a module: memory imported as env.memory, then imported and defined functions. */
export function encodeModule(imports: ImportFunc[], funcs: FuncBody[], memoryMinPages: number): Uint8Array {
  const types: FuncType[] = [];
  const typeIndex = (t: FuncType): number => {
    const k = types.findIndex((u) => u.params.join() === t.params.join() && u.results.join() === t.results.join());
    if (k >= 0) return k;
    types.push(t);
    return types.length - 1;
  };
  const importTypes = imports.map((f) => typeIndex(f.type));
  const funcTypes = funcs.map((f) => typeIndex(f.type));

  const mod = new ByteWriter().bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  const section = (id: number, w: ByteWriter): void => {
    mod.byte(id).u32(w.length).bytes(w.toBytes());
  };

  const ts = new ByteWriter().u32(types.length);
  for (const t of types) ts.byte(0x60).u32(t.params.length).bytes(t.params).u32(t.results.length).bytes(t.results);
  section(1, ts);

  const is = new ByteWriter().u32(imports.length + 1);
  is.name('env').name('memory').byte(0x02).byte(0x00).u32(memoryMinPages);
  imports.forEach((f, k) => is.name(f.module).name(f.name).byte(0x00).u32(importTypes[k]));
  section(2, is);

  const fs = new ByteWriter().u32(funcs.length);
  for (const t of funcTypes) fs.u32(t);
  section(3, fs);

  const exported = funcs.map((f, k) => ({ f, k })).filter((x) => x.f.export);
  const es = new ByteWriter().u32(exported.length);
  for (const { f, k } of exported) es.name(f.export!).byte(0x00).u32(imports.length + k);
  section(7, es);

  const cs = new ByteWriter().u32(funcs.length);
  for (const f of funcs) {
    const body = new ByteWriter();
    // Run-length encode the local declarations.
    const groups: [number, ValType][] = [];
    for (const l of f.locals) {
      const g = groups[groups.length - 1];
      if (g && g[1] === l) g[0]++;
      else groups.push([1, l]);
    }
    body.u32(groups.length);
    for (const [n, t] of groups) body.u32(n).byte(t);
    body.bytes(f.code);
    cs.u32(body.length).bytes(body.toBytes());
  }
  section(10, cs);
  return mod.toBytes();
}
