/**
 * A run's console, bounded: turns the text a container prints (bpf_printf, in pieces of at most
 * PRINTF_MAX_OUTPUT characters) into lines, with a cap on the bytes and on the lines one run may
 * produce.
 *
 * Why: a container printing without newlines used to make the board split its whole unfinished
 * line again on every printf (quadratic: 84 s for a 30,000-instruction run), and with newlines a
 * run could still produce 64 MB of console. Here every printf costs time proportional to its own
 * text (at most 512 characters), never to the length of the line or of the run's output so far:
 *  - the unfinished line is kept as a list of pieces, joined once when the line ends (each byte is
 *    copied once);
 *  - once a cap is reached, further output is only counted: no copy, no line, no event;
 *  - at the end of the run (`finish()`) one marker line "… truncated (N bytes / M lines dropped)"
 *    says what was left out.
 *
 * Units: the board's console text is a byte string (each character one byte of container memory,
 * as printf reads it), so bytes = characters. A newline counts as a byte of its line. The byte cap
 * may fall inside a line: that line is cut there and shown; the rest of it counts as dropped. A cut
 * never splits a UTF-8 sequence carried in those bytes (nor a UTF-16 surrogate pair, should a host
 * caller write real text): the incomplete sequence is dropped with the rest.
 *
 * Counting what was dropped: `droppedBytes` = bytes written and not shown (newlines included);
 * `droppedLines` = lines of which nothing was shown (a cut line was shown, so it is not counted).
 * The marker line is extra: a run shows at most `maxLines` lines plus the marker.
 *
 * `work` counts the characters this module scanned or copied, so tests can prove the cost per
 * printf is bounded by counting, not by timing a busy machine.
 */

export interface ConsoleLimits {
  /** Bytes one run may print (newlines included). */
  maxBytes: number;
  /** Lines one run may print (a trailing unfinished line counts as one). */
  maxLines: number;
}

/** Enough for any sane diagnostic output of one run, small enough for one Node-RED message. */
export const DEFAULT_CONSOLE_LIMITS: Readonly<ConsoleLimits> = Object.freeze({ maxBytes: 4096, maxLines: 64 });

/** The marker line that closes a truncated run's console. */
export function truncationMarker(droppedBytes: number, droppedLines: number): string {
  return `… truncated (${droppedBytes} bytes / ${droppedLines} lines dropped)`;
}

/** The counts of a marker line, or undefined when `line` is not one. */
export function parseTruncationMarker(line: string): { droppedBytes: number; droppedLines: number } | undefined {
  const m = /^… truncated \((\d+) bytes \/ (\d+) lines dropped\)$/.exec(line);
  return m ? { droppedBytes: Number(m[1]), droppedLines: Number(m[2]) } : undefined;
}

/** Valid limits (non-negative integers; anything else is a programming error at board creation). */
export function consoleLimits(l: Partial<ConsoleLimits> = {}): ConsoleLimits {
  const out = { ...DEFAULT_CONSOLE_LIMITS, ...l };
  for (const k of ['maxBytes', 'maxLines'] as const) {
    const v = out[k];
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`console ${k} must be a non-negative integer, not ${String(v)}`);
  }
  return out;
}

export class RunConsole {
  readonly limits: ConsoleLimits;
  /** Characters scanned or copied so far (see header). */
  work = 0;
  droppedBytes = 0;
  droppedLines = 0;
  private keptBytes = 0;
  private keptLines = 0;
  /** The unfinished line, in pieces. */
  private pieces: string[] = [];
  private pieceBytes = 0;
  /** A cap was reached: output is only counted from here on. */
  private full = false;
  /** The line being dropped has already been counted in droppedLines (or was shown cut). */
  private lineCounted = false;
  private finished = false;

  /**
   * `sink` receives each line, in order, as soon as it is complete (or cut). It may be replaced
   * between slices: a run paused and resumed keeps one RunConsole (one budget) and hands each
   * slice's lines to that slice's report.
   */
  constructor(limits: Partial<ConsoleLimits>, public sink: (line: string) => void) {
    this.limits = consoleLimits(limits);
    if (this.limits.maxLines === 0 || this.limits.maxBytes === 0) this.full = true;
  }

  /** True once a cap was reached (everything printed from then on is only counted). */
  get truncated(): boolean {
    return this.droppedBytes > 0;
  }

  /** Append printed text. Cost: O(text.length), whatever was printed before. */
  write(text: string): void {
    if (this.finished || text.length === 0) return;
    if (this.full) return this.drop(text);
    let at = 0;
    while (at < text.length) {
      const nl = text.indexOf('\n', at);
      const end = nl < 0 ? text.length : nl + 1; // this piece, its newline included
      this.work += end - at;
      const room = this.limits.maxBytes - this.keptBytes - this.pieceBytes;
      if (end - at > room) {
        this.cut(text.slice(at, at + room));
        return this.drop(text.slice(at + room));
      }
      if (nl < 0) {
        this.pieces.push(at === 0 ? text : text.slice(at));
        this.pieceBytes += end - at;
        return;
      }
      this.pieces.push(text.slice(at, nl));
      this.pieceBytes += end - at;
      this.endLine();
      if (this.full) return this.drop(text.slice(end));
      at = end;
    }
  }

  /**
   * End of a slice: the unfinished line is shown as a line (the board's rule: a partial line is
   * flushed when the container stops running). Returns nothing; lines go to `emit`.
   */
  flush(): void {
    if (this.pieces.length) this.endLine();
  }

  /** End of the run: flush, then the marker line if anything was dropped. Idempotent. */
  finish(): void {
    if (this.finished) return;
    this.flush();
    this.finished = true;
    if (this.droppedBytes > 0) this.sink(truncationMarker(this.droppedBytes, this.droppedLines));
  }

  private endLine(): void {
    const line = this.pieces.length === 1 ? this.pieces[0] : this.pieces.join('');
    this.work += line.length;
    // The newline (if any) was counted in pieceBytes; the line itself does not carry it.
    this.keptBytes += this.pieceBytes;
    this.pieces = [];
    this.pieceBytes = 0;
    this.keptLines++;
    this.sink(line);
    if (this.keptLines >= this.limits.maxLines || this.keptBytes >= this.limits.maxBytes) {
      this.full = true;
      this.lineCounted = false;
    }
  }

  /** The byte cap falls inside this line: show what fits (whole characters only) and stop. */
  private cut(head: string): void {
    let line = this.pieces.join('') + head;
    const whole = completeLength(line);
    this.work += line.length;
    this.droppedBytes += line.length - whole;
    line = line.slice(0, whole);
    this.keptBytes += whole;
    this.pieces = [];
    this.pieceBytes = 0;
    this.keptLines++;
    this.sink(line);
    this.full = true;
    this.lineCounted = true; // the rest of this line belongs to a line that was shown
  }

  /** Count dropped text: bytes, and each line of which nothing was shown. */
  private drop(text: string): void {
    this.droppedBytes += text.length;
    this.work += text.length;
    let at = 0;
    for (;;) {
      const nl = text.indexOf('\n', at);
      if (nl < 0) break;
      if (!this.lineCounted) this.droppedLines++;
      this.lineCounted = false;
      at = nl + 1;
    }
    if (at < text.length && !this.lineCounted) {
      this.droppedLines++; // an unfinished dropped line counts once, when it starts
      this.lineCounted = true;
    }
  }
}

/**
 * The length of `s` without an incomplete character at its end: a UTF-8 sequence carried in byte
 * characters (lead byte 0xC0–0xF7 with fewer continuation bytes 0x80–0xBF than it announces), or a
 * lone UTF-16 high surrogate. Looks at the last four characters only.
 */
export function completeLength(s: string): number {
  const n = s.length;
  if (n === 0) return 0;
  const last = s.charCodeAt(n - 1);
  if (last >= 0xd800 && last <= 0xdbff) return n - 1;
  for (let k = 1; k <= 4 && k <= n; k++) {
    const c = s.charCodeAt(n - k);
    if (c >= 0x80 && c <= 0xbf) continue; // a continuation byte: look further back
    if (c >= 0xc0 && c <= 0xf7) {
      const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      return k < need ? n - k : n;
    }
    return n; // ASCII or not a byte string: nothing to trim
  }
  return n;
}
