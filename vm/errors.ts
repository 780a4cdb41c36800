/**
 * Typed errors of the VM and its formats. Nothing a container or an input file does may surface as
 * anything else: callers switch on `kind` and `code`, users read `message`.
 *
 * Fault and rejection codes are RIOT's femto-container numbering (ARCHITECTURE.md § Verifier); keep
 * them.
 */

export const FaultCode = {
  OK: 0,
  ILLEGAL_INSTRUCTION: -1,
  ILLEGAL_MEM: -2,
  ILLEGAL_JUMP: -3,
  ILLEGAL_CALL: -4,
  ILLEGAL_LEN: -5,
  ILLEGAL_REGISTER: -6,
  NO_RETURN: -7,
  OUT_OF_BUDGET: -8,
  ILLEGAL_DIV: -9,
} as const;
export type FaultCodeValue = (typeof FaultCode)[keyof typeof FaultCode];

const CODE_NAMES: Record<number, string> = {
  0: 'ok',
  [-1]: 'illegal instruction',
  [-2]: 'illegal memory access',
  [-3]: 'illegal jump',
  [-4]: 'illegal call',
  [-5]: 'illegal length',
  [-6]: 'illegal register',
  [-7]: 'no return',
  [-8]: 'out of budget',
  [-9]: 'illegal division',
};

/** Human name of a RIOT fault code ("illegal memory access" for −2). */
export function faultCodeName(code: number): string {
  return CODE_NAMES[code] ?? `code ${code}`;
}

/** Base of every error the project raises on purpose. */
export abstract class FemtoError extends Error {
  abstract readonly kind: 'fault' | 'verify' | 'format';
  /** A plain object for JSON output and msg.femto. */
  abstract toJSON(): Record<string, unknown>;
}

export type AccessKind = 'read' | 'write';

/** A container fault at run time: the run stopped at `pc`. */
export class VmFault extends FemtoError {
  readonly kind = 'fault' as const;
  constructor(
    readonly code: number,
    readonly reason: string,
    readonly pc: number,
    readonly insn?: string,
    /** `budget`: which budget an out-of-budget fault (−8) exhausted, and its `limit`. */
    readonly detail: { address?: string; size?: number; access?: AccessKind; helper?: number; budget?: 'instructions' | 'taken branches'; limit?: number } = {},
  ) {
    super(`fault ${code} (${faultCodeName(code)}) at pc ${pc}: ${reason}${insn ? ` [${insn}]` : ''}`);
    this.name = 'VmFault';
  }
  toJSON(): Record<string, unknown> {
    return { code: this.code, pc: this.pc, message: this.reason, insn: this.insn, ...this.detail };
  }
}

/** A pre-flight rejection by the verifier: `rule` names what was broken. */
export class VerifyError extends FemtoError {
  readonly kind = 'verify' as const;
  constructor(
    readonly code: number,
    readonly rule: string,
    readonly reason: string,
    readonly pc: number,
    readonly insn?: string,
  ) {
    super(`rejected (${rule}, ${code}) at pc ${pc}: ${reason}${insn ? ` [${insn}]` : ''}`);
    this.name = 'VerifyError';
  }
  toJSON(): Record<string, unknown> {
    return { code: this.code, pc: this.pc, rule: this.rule, message: this.reason, insn: this.insn };
  }
}

export type FormatName = 'image' | 'elf' | 'asm' | 'hex' | 'data' | 'bytecode' | 'c';

/** Malformed input: an image, object file, assembly text or hex that cannot be used. */
export class FormatError extends FemtoError {
  readonly kind = 'format' as const;
  constructor(
    readonly format: FormatName,
    readonly reason: string,
    readonly where: { field?: string; offset?: number; line?: number; column?: number } = {},
  ) {
    super(`${format}: ${describeWhere(where)}${reason}`);
    this.name = 'FormatError';
  }
  toJSON(): Record<string, unknown> {
    return { format: this.format, message: this.reason, ...this.where };
  }
}

function describeWhere(w: FormatError['where']): string {
  const parts: string[] = [];
  if (w.line !== undefined) parts.push(`line ${w.line}${w.column !== undefined ? `:${w.column}` : ''}`);
  if (w.field !== undefined) parts.push(`field ${w.field}`);
  if (w.offset !== undefined) parts.push(`offset ${w.offset}`);
  return parts.length ? parts.join(', ') + ': ' : '';
}
