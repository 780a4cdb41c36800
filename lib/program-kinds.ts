/**
 * The kinds of program file lib/program-input reads, and the error for a file it cannot read at
 * all. Apart from program-input so that the CLI's option checks and error messages need none of
 * its loaders (assembler, ELF linker, clang); program-input re-exports both.
 */

export type ProgramKind = 'image' | 'elf' | 'c' | 'data' | 'asm' | 'hex' | 'raw';
/** What `--format` accepts. */
export const PROGRAM_KINDS: readonly ProgramKind[] = ['image', 'elf', 'asm', 'data', 'raw', 'hex', 'c'];

/** A program file that could not be read at all (missing, a directory, no permission). */
export class ProgramFileError extends Error {
  constructor(readonly file: string, readonly code: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'ProgramFileError';
  }
}
