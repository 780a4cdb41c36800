/** Shared helpers for the board tests: a deterministic board and tiny image builders. */
import { assemble } from '../../../vm/assembler';
import { buildImage } from '../../../vm/image';
import { Board, VirtualClock, type BoardOptions } from '../../../lib/board/board';

export function vboard(profile = 'native', opts: Partial<BoardOptions> = {}): { board: Board; clock: VirtualClock } {
  const clock = new VirtualClock();
  const board = new Board({ profile, clock, ...opts });
  return { board, clock };
}

/** A RIOT image from assembly, with optional rodata/data (strings NUL-terminated by the caller). */
export function image(asm: string, parts: { rodata?: string | Uint8Array; data?: Uint8Array } = {}): Uint8Array {
  const ro = typeof parts.rodata === 'string' ? new TextEncoder().encode(parts.rodata) : parts.rodata;
  return buildImage({ text: assemble(asm), rodata: ro, data: parts.data });
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
