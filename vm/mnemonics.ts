/**
 * The mnemonics of the assembly syntax (the bpf_conformance suite's), one table per operation
 * field, shared by the assembler (name → code) and the disassembler (code → name) so that the two
 * cannot drift apart. `neg`, the byte swaps, `ja`, `call` and `exit` have syntax of their own and
 * are not in these tables.
 */
import {
  ALU_ADD, ALU_AND, ALU_ARSH, ALU_DIV, ALU_LSH, ALU_MOD, ALU_MOV, ALU_MUL, ALU_OR, ALU_RSH, ALU_SUB, ALU_XOR,
  ATOMIC_ADD, ATOMIC_AND, ATOMIC_OR, ATOMIC_XOR,
  JMP_JEQ, JMP_JGE, JMP_JGT, JMP_JLE, JMP_JLT, JMP_JNE, JMP_JSET, JMP_JSGE, JMP_JSGT, JMP_JSLE, JMP_JSLT,
  SIZE_B, SIZE_DW, SIZE_H, SIZE_W,
} from './opcodes';

/** Two-operand ALU operations (`add %r0, 1`; `add32` for the 32-bit class). */
export const ALU_MNEMONICS: Readonly<Record<string, number>> = {
  add: ALU_ADD, sub: ALU_SUB, mul: ALU_MUL, div: ALU_DIV, or: ALU_OR, and: ALU_AND, lsh: ALU_LSH, rsh: ALU_RSH,
  mod: ALU_MOD, xor: ALU_XOR, mov: ALU_MOV, arsh: ALU_ARSH,
};

/** Signed division (offset 1): `sdiv`, `smod`. */
export const SIGNED_ALU_MNEMONICS: Readonly<Record<string, number>> = { sdiv: ALU_DIV, smod: ALU_MOD };

/** Conditional jumps (`jeq %r1, 5, +3`; `jeq32` for the 32-bit class). */
export const JMP_MNEMONICS: Readonly<Record<string, number>> = {
  jeq: JMP_JEQ, jgt: JMP_JGT, jge: JMP_JGE, jset: JMP_JSET, jne: JMP_JNE, jsgt: JMP_JSGT, jsge: JMP_JSGE,
  jlt: JMP_JLT, jle: JMP_JLE, jslt: JMP_JSLT, jsle: JMP_JSLE,
};

/** Size suffixes of loads and stores (`ldxw`, `stdw`, …). */
export const SIZE_MNEMONICS: Readonly<Record<string, number>> = { b: SIZE_B, h: SIZE_H, w: SIZE_W, dw: SIZE_DW };

/** Atomic read-modify-write operations (`lock add`, `lock fetch add`); xchg and cmpxchg apart. */
export const ATOMIC_MNEMONICS: Readonly<Record<string, number>> = {
  add: ATOMIC_ADD, or: ATOMIC_OR, and: ATOMIC_AND, xor: ATOMIC_XOR,
};

/** A table the other way round: code → mnemonic. */
export function byCode(table: Readonly<Record<string, number>>): Readonly<Record<number, string>> {
  const out: Record<number, string> = {};
  for (const [name, code] of Object.entries(table)) out[code] = name;
  return out;
}
