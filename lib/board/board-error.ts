/**
 * The board's own refusals (not the verifier's): no slot, no RAM, a bad id, hook or payload, a
 * busy or quarantined container, a message cancelled before it ran. Each names what was wrong.
 */

export type BoardErrorCode = 'slot' | 'ram' | 'id' | 'hook' | 'entry' | 'not-found' | 'payload' | 'busy' | 'cancelled' | 'quarantined';

/** A refusal by the board (not by the verifier): no slot, no RAM, bad id or hook. */
export class BoardError extends Error {
  constructor(readonly code: BoardErrorCode, message: string) {
    super(message);
    this.name = 'BoardError';
  }
  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message };
  }
}
