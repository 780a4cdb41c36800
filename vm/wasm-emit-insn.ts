/**
 * Instruction emission of the compiled tier that needs no block context: ALU and ALU64 (RFC 9669
 * semantics; riot-2022's division faults through a callback), conditional-jump conditions and
 * atomics. Each leaves WebAssembly code in the given writer; wasm-module-emitter.ts and
 * wasm-emit-loops.ts place it.
 */
import { W } from './wasm-encoder';
import { ByZero, byZero, isQuotient, isSignedDivision } from './division';
import {
  ALU_ADD, ALU_AND, ALU_ARSH, ALU_DIV, ALU_END, ALU_LSH, ALU_MOD, ALU_MOV, ALU_MUL, ALU_NEG, ALU_OR, ALU_RSH, ALU_SUB, ALU_XOR,
  ATOMIC_ADD, ATOMIC_AND, ATOMIC_CMPXCHG, ATOMIC_FETCH, ATOMIC_OR, ATOMIC_XCHG, CLS_ALU64, CLS_JMP, CLS_ST, JMP_JEQ, JMP_JGE, JMP_JGT, JMP_JLE,
  JMP_JLT, JMP_JNE, JMP_JSET, JMP_JSGE, JMP_JSGT, JMP_JSLE, JMP_JSLT, OP, STORE_SIZE, aluOp, cls as opClass, isSrcX, jmpOp,
} from './opcodes';
import type { Code } from './wasm-code';
import { F_BSWAP32, H, L_ADDR, L_K, L_SCRATCH64, L_SCRATCH32, reg } from './wasm-state';

// Opcode → operation tables (module-level: the translator allocates nothing per instruction).
/** The WebAssembly load for each eBPF load opcode (sizes: LOAD_SIZE in opcodes.ts). */
export const LOAD_OP = new Uint8Array(256);
for (const [op, w] of [[OP.LDXW, W.i64_load32_u], [OP.LDXH, W.i64_load16_u], [OP.LDXB, W.i64_load8_u], [OP.LDXDW, W.i64_load],
  [OP.LDXSW, W.i64_load32_s], [OP.LDXSH, W.i64_load16_s], [OP.LDXSB, W.i64_load8_s]]) LOAD_OP[op] = w;
/** The WebAssembly store of the low `size` bytes of an i64. */
export const storeOp = (size: number): number =>
  (size === 8 ? W.i64_store : size === 4 ? W.i64_store32 : size === 2 ? W.i64_store16 : W.i64_store8);
export const cmpTable = (pairs: [number, number][]): Uint8Array => {
  const t = new Uint8Array(16);
  for (const [code, w] of pairs) t[code >> 4] = w;
  return t;
};
export const CMP64 = cmpTable([[JMP_JEQ, W.i64_eq], [JMP_JNE, W.i64_ne], [JMP_JGT, W.i64_gt_u], [JMP_JGE, W.i64_ge_u], [JMP_JLT, W.i64_lt_u],
  [JMP_JLE, W.i64_le_u], [JMP_JSGT, W.i64_gt_s], [JMP_JSGE, W.i64_ge_s], [JMP_JSLT, W.i64_lt_s], [JMP_JSLE, W.i64_le_s]]);
export const CMP32 = cmpTable([[JMP_JEQ, W.i32_eq], [JMP_JNE, W.i32_ne], [JMP_JGT, W.i32_gt_u], [JMP_JGE, W.i32_ge_u], [JMP_JLT, W.i32_lt_u],
  [JMP_JLE, W.i32_le_u], [JMP_JSGT, W.i32_gt_s], [JMP_JSGE, W.i32_ge_s], [JMP_JSLT, W.i32_lt_s], [JMP_JSLE, W.i32_le_s]]);

/**
 * `lddw`, and RIOT's `lddwd`/`lddwr` (the address of .data or .rodata plus the immediate), into
 * dst as one exact i64 constant; `lo` and `hi` are the two halves of the immediate.
 */
export function emitWideLoad(c: Code, op: number, d: number, lo: number, hi: number, dataBase: number, rodataBase: number): void {
  if (op === OP.LDDW) { c.i64Bits(lo, hi).set(reg(d)); return; }
  const v = BigInt.asUintN(64, BigInt(op === OP.LDDWD ? dataBase : rodataBase) + BigInt(lo) + (BigInt(hi) << 32n));
  c.i64Bits(Number(v & 0xffffffffn), Number(v >> 32n)).set(reg(d));
}

/**
 * A store's value (the immediate for ST, the register for STX) and the store; the address is on
 * the stack, `offset` (a memarg offset) is added to it.
 */
export function emitStore(c: Code, op: number, s: number, imm: number, offset = 0): void {
  if (opClass(op) === CLS_ST) c.i64(imm); else c.get(reg(s));
  c.mem(storeOp(STORE_SIZE[op]), offset);
}

/**
 * ALU and ALU64 instructions (verified: fields are consistent). `divFault`, for riot-2022's
 * division faults: emits the fault exit, and division or modulo by zero takes it.
 */
export function emitAlu(c: Code, op: number, d: number, s: number, off: number, imm: number, divFault?: () => void): void {
  const x = isSrcX(op);
  const code = aluOp(op);
  const rd = reg(d);
  if (opClass(op) === CLS_ALU64) {
    const rhs = (): Code => (x ? c.get(reg(s)) : c.i64(imm));
    const bin = (w: number): void => { c.get(rd); rhs(); c.op(w).set(rd); };
    switch (code) {
      case ALU_ADD: bin(W.i64_add); return;
      case ALU_SUB: bin(W.i64_sub); return;
      case ALU_MUL: bin(W.i64_mul); return;
      case ALU_OR: bin(W.i64_or); return;
      case ALU_AND: bin(W.i64_and); return;
      case ALU_XOR: bin(W.i64_xor); return;
      case ALU_LSH: bin(W.i64_shl); return; // wasm masks the count by 63, as RFC 9669 does
      case ALU_RSH: bin(W.i64_shr_u); return;
      case ALU_ARSH: bin(W.i64_shr_s); return;
      case ALU_NEG: c.i64(0).get(rd).op(W.i64_sub).set(rd); return;
      case ALU_MOV:
        if (!x) { c.i64(imm).set(rd); return; }
        c.get(reg(s));
        if (off === 8) c.op(W.i64_extend8_s); else if (off === 16) c.op(W.i64_extend16_s); else if (off === 32) c.op(W.i64_extend32_s);
        c.set(rd);
        return;
      case ALU_END: { // bswap16/32/64
        if (imm === 16) c.get(rd).op(W.i32_wrap_i64).call(F_BSWAP32).i32(16).op(W.i32_shr_u, W.i64_extend_i32_u).set(rd);
        else if (imm === 32) c.get(rd).op(W.i32_wrap_i64).call(F_BSWAP32).op(W.i64_extend_i32_u).set(rd);
        else {
          c.get(rd).op(W.i32_wrap_i64).call(F_BSWAP32).op(W.i64_extend_i32_u).i64(32).op(W.i64_shl);
          c.get(rd).i64(32).op(W.i64_shr_u, W.i32_wrap_i64).call(F_BSWAP32).op(W.i64_extend_i32_u, W.i64_or).set(rd);
        }
        return;
      }
      case ALU_DIV: case ALU_MOD: { // the rules of vm/division.ts; wasm would trap on /0 and INT_MIN/−1
        const div = isQuotient(op);
        const signed = isSignedDivision(off);
        // By zero, when it does not fault: a quotient of 0, or the dividend left in place.
        const onZero = (): void => { if (byZero(op) === ByZero.Zero) c.i64(0).set(rd); };
        if (!x) {
          if (imm === 0 && divFault) { divFault(); return; }
          if (imm === 0) { onZero(); return; }
          if (signed && imm === -1) { if (div) c.i64(0).get(rd).op(W.i64_sub).set(rd); else c.i64(0).set(rd); return; }
          c.get(rd).i64(imm).op(div ? (signed ? W.i64_div_s : W.i64_div_u) : (signed ? W.i64_rem_s : W.i64_rem_u)).set(rd);
          return;
        }
        const rs = reg(s);
        if (divFault) { c.get(rs).op(W.i64_eqz).if(); divFault(); c.end(); }
        c.get(rs).op(W.i64_eqz).if();
        onZero();
        c.else();
        if (signed) {
          c.get(rs).i64(-1).op(W.i64_eq).if();
          if (div) c.i64(0).get(rd).op(W.i64_sub).set(rd); else c.i64(0).set(rd);
          c.else();
          c.get(rd).get(rs).op(div ? W.i64_div_s : W.i64_rem_s).set(rd);
          c.end();
        } else c.get(rd).get(rs).op(div ? W.i64_div_u : W.i64_rem_u).set(rd);
        c.end();
        return;
      }
    }
    throw new Error(`compiled tier: ALU64 opcode 0x${op.toString(16)}`);
  }
  // ALU32: operate on the low halves, zero-extend the result.
  const lhs = (): Code => c.get(rd).op(W.i32_wrap_i64);
  const rhs = (): Code => (x ? c.get(reg(s)).op(W.i32_wrap_i64) : c.i32(imm));
  const done = (): void => { c.op(W.i64_extend_i32_u).set(rd); };
  const bin = (w: number): void => { lhs(); rhs(); c.op(w); done(); };
  switch (code) {
    case ALU_ADD: bin(W.i32_add); return;
    case ALU_SUB: bin(W.i32_sub); return;
    case ALU_MUL: bin(W.i32_mul); return;
    case ALU_OR: bin(W.i32_or); return;
    case ALU_AND: bin(W.i32_and); return;
    case ALU_XOR: bin(W.i32_xor); return;
    case ALU_LSH: bin(W.i32_shl); return;
    case ALU_RSH: bin(W.i32_shr_u); return;
    case ALU_ARSH: bin(W.i32_shr_s); return;
    case ALU_NEG: c.i32(0); lhs(); c.op(W.i32_sub); done(); return;
    case ALU_MOV:
      rhs();
      if (x && off === 8) c.op(W.i32_extend8_s); else if (x && off === 16) c.op(W.i32_extend16_s);
      done();
      return;
    case ALU_END: // le (0xd4: truncate) / be (0xdc: swap)
      if (!x) {
        if (imm === 16) c.get(rd).i64(0xffff).op(W.i64_and).set(rd);
        else if (imm === 32) c.get(rd).i64Bits(-1, 0).op(W.i64_and).set(rd);
        return;
      }
      emitAlu(c, CLS_ALU64 | ALU_END, d, 0, 0, imm); // be: the 64-bit bswap (0xd7)
      return;
    case ALU_DIV: case ALU_MOD: { // as in ALU64, on the low halves
      const div = isQuotient(op);
      const signed = isSignedDivision(off);
      // divisor → L_SCRATCH32
      rhs(); c.set(L_SCRATCH32);
      if (divFault) { c.get(L_SCRATCH32).op(W.i32_eqz).if(); divFault(); c.end(); }
      c.get(L_SCRATCH32).op(W.i32_eqz).if();
      // By zero: a quotient of 0, or the dividend's low half, zero-extended.
      if (byZero(op) === ByZero.Zero) c.i64(0).set(rd); else c.get(rd).i64Bits(-1, 0).op(W.i64_and).set(rd);
      c.else();
      if (signed) {
        c.get(L_SCRATCH32).i32(-1).op(W.i32_eq).if();
        if (div) { c.i32(0); lhs(); c.op(W.i32_sub); done(); } else c.i64(0).set(rd);
        c.else();
        lhs(); c.get(L_SCRATCH32).op(div ? W.i32_div_s : W.i32_rem_s); done();
        c.end();
      } else { lhs(); c.get(L_SCRATCH32).op(div ? W.i32_div_u : W.i32_rem_u); done(); }
      c.end();
      return;
    }
  }
  throw new Error(`compiled tier: ALU opcode 0x${op.toString(16)}`);
}

/**
 * Conditional jump condition → i32 on the stack. `shift`: for the unrolled passes of a fast
 * self-loop (wasm-emit-loops.ts), how far each register's value is ahead of its local (the
 * register moved by that constant since the local was last written): the compare adds it, or for
 * jeq/jne against an immediate subtracts it from the immediate (equal mod 2^64).
 */
export function emitCompare(c: Code, op: number, d: number, s: number, imm: number, shift?: (r: number) => number): void {
  const x = isSrcX(op);
  const code = jmpOp(op);
  const operand = (r: number): void => {
    const k = shift?.(r) ?? 0;
    c.get(reg(r));
    if (k !== 0) c.i64(k).op(W.i64_add);
  };
  if (opClass(op) === CLS_JMP) {
    const k = shift?.(d) ?? 0;
    if (!x && k !== 0 && (code === JMP_JEQ || code === JMP_JNE)) c.get(reg(d)).i64(imm - k);
    else { operand(d); if (x) operand(s); else c.i64(imm); }
    const w = CMP64[code >> 4];
    if (code === JMP_JSET) c.op(W.i64_and).i64(0).op(W.i64_ne);
    else c.op(w);
    return;
  }
  operand(d); c.op(W.i32_wrap_i64);
  if (x) { operand(s); c.op(W.i32_wrap_i64); } else c.i32(imm);
  const w = CMP32[code >> 4];
  if (code === JMP_JSET) c.op(W.i32_and).i32(0).op(W.i32_ne);
  else c.op(w);
}

/** Atomic read-modify-write at the address in L_ADDR, already checked for read and write. */
export function emitAtomic(c: Code, size: number, s: number, kind: number): void {
  // p = wrap(a − base) + offset into L_K
  c.get(L_ADDR).i32(0).mem(W.i64_load, H.LK_BASE, 3).op(W.i64_sub, W.i32_wrap_i64).i32(0).mem(W.i32_load, H.LK_OFF, 2).op(W.i32_add).set(L_K);
  const load = size === 8 ? W.i64_load : W.i64_load32_u;
  const store = size === 8 ? W.i64_store : W.i64_store32;
  c.get(L_K).mem(load).set(L_SCRATCH64); // old value
  const rs = reg(s);
  const base = kind & ~ATOMIC_FETCH;
  if (base === (ATOMIC_CMPXCHG & ~ATOMIC_FETCH)) { // cmpxchg: compare with r0 (low 32 bits for the 32-bit form)
    if (size === 8) c.get(reg(0)).get(L_SCRATCH64).op(W.i64_eq);
    else c.get(reg(0)).op(W.i32_wrap_i64).get(L_SCRATCH64).op(W.i32_wrap_i64, W.i32_eq);
    c.if().get(L_K).get(rs).mem(store).end();
    c.get(L_SCRATCH64).set(reg(0));
    return;
  }
  c.get(L_K);
  if (base === (ATOMIC_XCHG & ~ATOMIC_FETCH)) c.get(rs);
  else {
    c.get(L_SCRATCH64).get(rs);
    c.op(base === ATOMIC_ADD ? W.i64_add : base === ATOMIC_OR ? W.i64_or : base === ATOMIC_AND ? W.i64_and : W.i64_xor);
  }
  c.mem(store);
  if (kind & ATOMIC_FETCH) c.get(L_SCRATCH64).set(rs);
}

