/**
 * Decoded bytecode: the instruction slots of a program split once into parallel typed arrays, so
 * that the verifier, the interpreter and the tools never re-parse the raw bytes.
 *
 * A wide load occupies two slots; its second slot is kept as-is (opcode 0) and its imm is the
 * upper half of the 64-bit constant. Trailing bytes that do not make a whole slot are kept in
 * `byteLength` for the verifier to reject (rule "length").
 */
import { INSN_SIZE, isWide } from './opcodes';

/** One instruction as fields. `imm2` is the second slot's imm for wide loads, else 0. */
export interface Insn {
  opcode: number;
  dst: number;
  src: number;
  offset: number;
  imm: number;
  imm2: number;
}

export class Program {
  /** Number of whole 8-byte slots. */
  readonly length: number;
  readonly opcode: Uint8Array;
  readonly dst: Uint8Array;
  readonly src: Uint8Array;
  readonly offset: Int16Array;
  readonly imm: Int32Array;

  constructor(readonly text: Uint8Array) {
    const n = Math.floor(text.length / INSN_SIZE);
    this.length = n;
    this.opcode = new Uint8Array(n);
    this.dst = new Uint8Array(n);
    this.src = new Uint8Array(n);
    this.offset = new Int16Array(n);
    this.imm = new Int32Array(n);
    const dv = new DataView(text.buffer, text.byteOffset, text.byteLength);
    for (let i = 0; i < n; i++) {
      const b = i * INSN_SIZE;
      this.opcode[i] = text[b];
      this.dst[i] = text[b + 1] & 0x0f;
      this.src[i] = text[b + 1] >>> 4;
      this.offset[i] = dv.getInt16(b + 2, true);
      this.imm[i] = dv.getInt32(b + 4, true);
    }
  }

  get byteLength(): number {
    return this.text.length;
  }

  /** The instruction at slot `pc` (for a wide load, including the upper half). */
  insn(pc: number): Insn {
    const opcode = this.opcode[pc];
    return {
      opcode,
      dst: this.dst[pc],
      src: this.src[pc],
      offset: this.offset[pc],
      imm: this.imm[pc],
      imm2: isWide(opcode) && pc + 1 < this.length ? this.imm[pc + 1] : 0,
    };
  }

  /** Slot indexes that start an instruction (skips the second halves of wide loads). */
  *starts(): Generator<number> {
    for (let pc = 0; pc < this.length; pc += isWide(this.opcode[pc]) ? 2 : 1) yield pc;
  }
}

/** Encode one instruction into 8 bytes (16 for a wide load). */
export function encodeInsn(i: Insn): Uint8Array {
  const wide = isWide(i.opcode);
  const out = new Uint8Array(wide ? 16 : 8);
  const dv = new DataView(out.buffer);
  out[0] = i.opcode;
  out[1] = (i.dst & 0x0f) | ((i.src & 0x0f) << 4);
  dv.setInt16(2, i.offset, true);
  dv.setInt32(4, i.imm, true);
  if (wide) dv.setInt32(12, i.imm2, true);
  return out;
}

/** Concatenate encoded instructions into one text section. */
export function encodeProgram(insns: Insn[]): Uint8Array {
  const parts = insns.map(encodeInsn);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
