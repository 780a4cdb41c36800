/**
 * The compile sandbox's two error kinds, apart from its modules (the text scan and the guard in
 * sandbox.ts and compile-guard.ts both throw them; sandbox.ts re-exports them).
 */
import { FormatError } from '../../vm/errors';
import type { Diagnostic } from '../compiler';

/** A source the sandbox refuses to compile; `line` is 1-based in the user's text when known. */
export class SandboxError extends FormatError {
  constructor(reason: string, readonly line?: number) {
    super('c', reason, line !== undefined ? { line } : {});
    this.name = 'SandboxError';
  }
}

/** Which limit stopped clang. */
export type SandboxLimit = 'time' | 'memory' | 'files';

/** A refused or failed compilation: `line` (1-based) when known, `diagnostics` sanitised. */
export class SandboxCompileError extends FormatError {
  constructor(reason: string, readonly line: number | undefined, readonly diagnostics: Diagnostic[], readonly limit?: SandboxLimit) {
    super('c', reason, line !== undefined ? { line } : {});
    this.name = 'SandboxCompileError';
  }
}
