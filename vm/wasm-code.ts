/**
 * The compiled tier's instruction writer: WebAssembly opcodes into bytes, with structured labels
 * (block, loop, if) tracked so that a branch names its target label and the writer computes the
 * br depth. Constants are exact or the translation fails.
 */
import { BLOCK_VOID, ByteWriter, W } from './wasm-encoder';

/** Emits WebAssembly instructions, tracking structured labels for br depths. */
export class Code {
  readonly w = new ByteWriter();
  private depthNow = 0;
  /** Nesting level of each open label (labels are unique objects). */
  private readonly levels = new Map<unknown, number>();
  private readonly open: unknown[] = [];

  op(...ops: number[]): this { for (const o of ops) this.w.byte(o); return this; }
  get(l: number): this { this.w.byte(W.local_get).u32(l); return this; }
  set(l: number): this { this.w.byte(W.local_set).u32(l); return this; }
  tee(l: number): this { this.w.byte(W.local_tee).u32(l); return this; }
  /**
   * Constants are exact or the translation fails (and the program stays on the interpreter): a
   * constant that silently wrapped to 32 bits would move an address by 2^32.
   */
  i32(v: number): this {
    if ((v | 0) !== v) throw new Error(`internal: i32 constant ${v} out of range`);
    this.w.byte(W.i32_const).s32(v);
    return this;
  }
  /** i64.const of an integer value: sums of offsets and steps may leave the 32-bit range. */
  i64(v: number): this {
    if (!Number.isSafeInteger(v)) throw new Error(`internal: i64 constant ${v} is not an exact integer`);
    const hi = Math.floor(v / 2 ** 32);
    return this.i64Bits((v - hi * 2 ** 32) | 0, hi);
  }
  /** i64.const from the bit patterns of its halves (wide-load immediates, masks). */
  i64Bits(lo: number, hi: number): this { this.w.byte(W.i64_const).s64(lo | 0, hi | 0); return this; }
  mem(opcode: number, offset = 0, align = 0): this { this.w.byte(opcode).u32(align).u32(offset); return this; }
  call(f: number): this { this.w.byte(W.call).u32(f); return this; }
  private push(label: unknown): void {
    this.open.push(label);
    if (label !== null) this.levels.set(label, this.depthNow);
    this.depthNow++;
  }
  block(label: unknown): this { this.push(label); this.w.byte(W.block).byte(BLOCK_VOID); return this; }
  loop(label: unknown): this { this.push(label); this.w.byte(W.loop).byte(BLOCK_VOID); return this; }
  if(label: unknown = null, type: number = BLOCK_VOID): this { this.push(label); this.w.byte(W.if).byte(type); return this; }
  else(): this { this.w.byte(W.else); return this; }
  end(): this {
    const label = this.open.pop();
    if (label !== null) this.levels.delete(label);
    this.depthNow--;
    this.w.byte(W.end);
    return this;
  }
  depth(label: unknown): number {
    const level = this.levels.get(label);
    if (level === undefined) throw new Error('internal: branch to a label that is not open');
    return this.depthNow - 1 - level;
  }
  br(label: unknown): this { this.w.byte(W.br).u32(this.depth(label)); return this; }
  brIf(label: unknown): this { this.w.byte(W.br_if).u32(this.depth(label)); return this; }
  brTable(labels: unknown[], dflt: unknown): this {
    this.w.byte(W.br_table).u32(labels.length);
    for (const l of labels) this.w.u32(this.depth(l));
    this.w.u32(this.depth(dflt));
    return this;
  }
}
