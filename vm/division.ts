/**
 * Division and modulo, decided once: which opcodes divide, what their offset field means, and
 * what division by zero and signed overflow give. The verifier, both tiers and the static tools
 * follow these rules, so a change to them is a change here.
 *
 * - The dividing opcodes are ALU_DIV and ALU_MOD of the ALU (32-bit) and ALU64 classes, with an
 *   immediate or a register divisor: eight opcodes.
 * - The offset field says unsigned (0) or signed (1) division, RFC 9669 §4.1; any other offset is
 *   not an instruction. riot-2022 knows only unsigned division.
 * - By zero, RFC 9669: the quotient is 0 and the remainder is the dividend (the 32-bit forms keep
 *   the dividend's low half, zero-extended as every 32-bit result is). riot-2022 faults instead,
 *   with RIOT's −9 (FaultCode.ILLEGAL_DIV), and its verifier refuses a zero immediate divisor
 *   with the same code before the program runs.
 * - Signed overflow (INT_MIN / −1) does not trap: the quotient is INT_MIN and the remainder 0.
 */
import { ALU_DIV, ALU_MOD, CLS_ALU, CLS_ALU64, SRC_K, SRC_X, aluOp } from './opcodes';
import type { Profile } from './verifier';

/** Offset field of a division or modulo. */
export const DIV_UNSIGNED = 0;
export const DIV_SIGNED = 1;

/** The eight division and modulo opcodes. */
export const DIVISION_OPCODES: readonly number[] = [CLS_ALU, CLS_ALU64].flatMap((c) =>
  [ALU_DIV, ALU_MOD].flatMap((op) => [SRC_K, SRC_X].map((src) => c | op | src)));

const DIVIDES = new Uint8Array(256);
for (const op of DIVISION_OPCODES) DIVIDES[op] = 1;

/** Whether the opcode is one of DIVISION_OPCODES. */
export const isDivision = (opcode: number): boolean => DIVIDES[opcode & 0xff] === 1;

/** Whether a division's offset field is one that exists (unsigned or signed). */
export const isDivisionOffset = (offset: number): boolean => offset === DIV_UNSIGNED || offset === DIV_SIGNED;

/** Whether a division's offset field asks for signed division. */
export const isSignedDivision = (offset: number): boolean => offset === DIV_SIGNED;

/** Whether a division opcode gives the quotient (else the remainder). */
export const isQuotient = (opcode: number): boolean => aluOp(opcode) === ALU_DIV;

/** What RFC 9669 gives for division or modulo by zero. */
export const enum ByZero {
  /** The destination becomes 0 (division). */
  Zero,
  /** The destination keeps the dividend, zero-extended from 32 bits in the 32-bit forms (modulo). */
  Dividend,
}

/** RFC 9669's result of the division opcode by zero, when the profile does not fault. */
export const byZero = (opcode: number): ByZero => (isQuotient(opcode) ? ByZero.Zero : ByZero.Dividend);

/**
 * Whether division by zero faults under the profile (riot-2022: RIOT's −9, and a zero immediate
 * divisor is refused by the verifier) instead of giving RFC 9669's result.
 */
export const divZeroFaults = (profile: Profile): boolean => profile === 'riot-2022';

/**
 * The result of a division opcode on known values, as BigInt: `a` and `b` are the operands as
 * unsigned `bits`-wide values (64, or 32 for the ALU class), the result is unsigned `bits`-wide.
 * Undefined for division by zero when `faults` (the run ends there). For tools that evaluate
 * programs statically; the tiers implement the same rules on their own number representations.
 */
export function divideBig(opcode: number, offset: number, a: bigint, b: bigint, bits: number, faults: boolean): bigint | undefined {
  if (b === 0n) {
    if (faults) return undefined;
    return byZero(opcode) === ByZero.Zero ? 0n : a;
  }
  if (!isSignedDivision(offset)) return isQuotient(opcode) ? a / b : a % b;
  // BigInt division truncates toward zero and the remainder takes the dividend's sign, as eBPF's
  // signed forms do; INT_MIN / −1 wraps back to INT_MIN.
  const sa = BigInt.asIntN(bits, a), sb = BigInt.asIntN(bits, b);
  return BigInt.asUintN(bits, isQuotient(opcode) ? sa / sb : sa % sb);
}
