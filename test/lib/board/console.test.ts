/**
 * The bounded console (lib/board/console.ts): caps on bytes and lines with one
 * marker, lines built across prints, cuts that keep UTF-8 whole, a cost per printf bounded by its
 * own text (counted, not timed), and on a board: a container printing in a loop without newlines
 * gets a capped console and finishes.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { completeLength, consoleLimits, DEFAULT_CONSOLE_LIMITS, RunConsole, truncationMarker, type ConsoleLimits } from '../../../lib/board/console';
import { PRINTF_MAX_OUTPUT } from '../../../lib/board/printf';
import { image, vboard } from './util';

/** A console whose lines land in an array. */
function capture(limits: Partial<ConsoleLimits>): { con: RunConsole; lines: string[] } {
  const lines: string[] = [];
  return { con: new RunConsole(limits, (l) => lines.push(l)), lines };
}

/**
 * What the console must show, computed the plain way from everything printed at once: split into
 * lines (each with its newline), keep lines while both caps allow, cut the line the byte cap falls
 * in, count the rest. ASCII only (the UTF-8 rule has its own tests).
 */
function reference(text: string, { maxBytes, maxLines }: ConsoleLimits): string[] {
  const segs = text.split(/(?<=\n)/).filter((s) => s.length > 0);
  const out: string[] = [];
  let bytes = 0;
  let droppedBytes = 0;
  let droppedLines = 0;
  let full = maxBytes === 0 || maxLines === 0;
  for (const seg of segs) {
    if (full) {
      droppedBytes += seg.length;
      droppedLines++;
      continue;
    }
    const room = maxBytes - bytes;
    if (seg.length <= room) {
      out.push(seg.replace(/\n$/, ''));
      bytes += seg.length;
      full = out.length >= maxLines || bytes >= maxBytes;
    } else {
      out.push(seg.slice(0, room));
      droppedBytes += seg.length - room;
      full = true;
    }
  }
  if (droppedBytes) out.push(truncationMarker(droppedBytes, droppedLines));
  return out;
}

describe('board/console: a bounded run console', () => {
  it('joins prints into lines; a partial line is shown when the slice ends', () => {
    const { con, lines } = capture({});
    con.write('a');
    con.write('b\nc');
    con.write('');
    con.write('d\n\ne');
    assert.deepEqual(lines, ['ab', 'cd', '']);
    con.finish();
    assert.deepEqual(lines, ['ab', 'cd', '', 'e']);
    con.write('late\n');
    con.finish();
    assert.deepEqual(lines, ['ab', 'cd', '', 'e'], 'nothing after the end of the run, and no second marker');
  });

  it('the line cap: then one marker counting what was dropped', () => {
    const { con, lines } = capture({ maxLines: 3, maxBytes: 1000 });
    for (let i = 0; i < 10; i++) con.write(`line ${i}\n`);
    con.write('tail without newline');
    assert.deepEqual(lines, ['line 0', 'line 1', 'line 2']);
    con.finish();
    const dropped = 7 * 'line 0\n'.length + 'tail without newline'.length;
    assert.deepEqual(lines, ['line 0', 'line 1', 'line 2', `… truncated (${dropped} bytes / 8 lines dropped)`]);
    assert.equal(con.droppedLines, 8);
    assert.equal(con.truncated, true);
  });

  it('the byte cap cuts an overlong line and drops the rest of it without counting it as a dropped line', () => {
    const { con, lines } = capture({ maxBytes: 10, maxLines: 100 });
    con.write('0123');
    con.write('456789abcdef');
    con.write('ghi\nnext line\n');
    con.finish();
    assert.deepEqual(lines, ['0123456789', truncationMarker('abcdefghi\nnext line\n'.length, 1)]);
  });

  it('a run that stays within both caps has no marker; caps reached exactly drop nothing', () => {
    const { con, lines } = capture({ maxBytes: 8, maxLines: 2 });
    con.write('abc\ndef\n');
    con.finish();
    assert.deepEqual(lines, ['abc', 'def']);
    assert.equal(con.truncated, false);
  });

  it('zero caps show nothing but the marker', () => {
    const { con, lines } = capture({ maxBytes: 0 });
    con.write('x\ny');
    con.finish();
    assert.deepEqual(lines, [truncationMarker(3, 2)]);
  });

  it('matches the plain reference for any prints and caps (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '\n'), maxLength: 40 }), { maxLength: 30 }),
        fc.record({ maxBytes: fc.nat(150), maxLines: fc.nat(8) }),
        (prints, limits) => {
          const { con, lines } = capture(limits);
          for (const p of prints) con.write(p);
          con.finish();
          assert.deepEqual(lines, reference(prints.join(''), limits));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a cut never splits a UTF-8 sequence carried in the bytes, nor a surrogate pair', () => {
    const bytes = (s: string): string => Buffer.from(s, 'utf8').toString('latin1'); // as printf hands them over
    const e = bytes('é'); // 2 bytes
    const euro = bytes('€'); // 3 bytes
    const smile = bytes('😀'); // 4 bytes
    for (const [ch, n] of [[e, 2], [euro, 3], [smile, 4]] as const) {
      for (let keep = 0; keep < n; keep++) {
        const { con, lines } = capture({ maxBytes: 3 + keep });
        con.write('abc');
        con.write(ch); // the cap falls `keep` bytes into the character
        con.finish();
        assert.equal(lines[0], 'abc', `cap ${keep} bytes into a ${n}-byte character`);
        assert.equal(lines[1], truncationMarker(n, 0));
      }
      const { con, lines } = capture({ maxBytes: 3 + n });
      con.write('abc' + ch + 'z');
      con.finish();
      assert.equal(Buffer.from(lines[0], 'latin1').toString('utf8'), 'abc' + Buffer.from(ch, 'latin1').toString('utf8'), 'a whole character stays');
    }
    // A lead byte printed on its own, its continuation in the next printf: still whole or gone.
    const { con, lines } = capture({ maxBytes: 4 });
    con.write('ab' + euro[0]);
    con.write(euro.slice(1));
    con.finish();
    assert.equal(lines[0], 'ab');
    // Real text from a host caller: a surrogate pair is not split.
    const t = capture({ maxBytes: 3 });
    t.con.write('ab😀');
    t.con.finish();
    assert.equal(t.lines[0], 'ab');
    assert.equal(completeLength('ab'), 2);
    assert.equal(completeLength(''), 0);
    assert.equal(completeLength('a' + euro), 4, 'a complete sequence is kept');
    assert.equal(completeLength('\x80\x80\x80\x80\x80'), 5, 'stray continuation bytes are left alone');
  });

  it('costs work in proportion to each print, not to the line or the run so far (counted)', () => {
    // Without newlines: one line growing to 6.4 MB under a raised byte cap.
    const piece = 'x'.repeat(64);
    const { con } = capture({ maxBytes: 10_000_000, maxLines: 64 });
    let worst = 0;
    for (let i = 0; i < 100_000; i++) {
      const before = con.work;
      con.write(piece);
      worst = Math.max(worst, con.work - before);
    }
    assert.ok(worst <= piece.length, `a print scanned ${worst} characters for ${piece.length} printed`);
    con.finish();
    assert.ok(con.work <= 3 * 100_000 * piece.length, `${con.work} characters of work for ${100_000 * piece.length} printed`);
    // Past a cap: each print is only counted.
    const capped = capture({});
    const text = 'y'.repeat(PRINTF_MAX_OUTPUT);
    for (let i = 0; i < 20; i++) capped.con.write(text);
    const before = capped.con.work;
    capped.con.write(text);
    assert.equal(capped.con.work - before, text.length);
    assert.equal(capped.lines.length, 1);
  });

  it('one console budget across slices when the sink moves (a paused run)', () => {
    const lines: string[][] = [[], []];
    const con = new RunConsole({ maxLines: 3 }, (l) => lines[0].push(l));
    con.write('a\nb');
    con.sink = (l) => lines[1].push(l);
    con.write('c\nd\ne\n');
    con.finish();
    assert.deepEqual(lines, [['a'], ['bc', 'd', truncationMarker(2, 1)]]);
  });

  it('limits are validated; the defaults are 4 KiB and 64 lines', () => {
    assert.deepEqual(consoleLimits(), { maxBytes: 4096, maxLines: 64 });
    assert.deepEqual({ ...DEFAULT_CONSOLE_LIMITS }, { maxBytes: 4096, maxLines: 64 });
    assert.throws(() => consoleLimits({ maxBytes: -1 }), /maxBytes must be a non-negative integer/);
    assert.throws(() => consoleLimits({ maxLines: 1.5 }), /maxLines/);
  });
});

describe('board/console: on a board', function () {
  this.timeout(60_000);
  const fmt = '%64d'.repeat(8); // 512 characters per call, printf's own cap

  /**
   * What clang makes of
   *   int main(void *ctx) { int i; for (i = 0; i < N; i++) bpf_printf(FMT, i, i, i, i); return i; }
   * (r6 the counter, r7 the bound; the format string in .rodata).
   */
  const loop = (n: number): string => `
    mov %r6, 0
    mov %r7, ${n}
  next:
    jge %r6, %r7, done
    lddwr %r1, 0
    mov %r2, %r6
    mov %r3, %r6
    mov %r4, %r6
    mov %r5, %r6
    call 1
    add %r6, 1
    ja next
  done:
    mov %r0, %r6
    exit`;

  it('printf in a loop without newlines: the console is capped and the run completes', () => {
    // Also with widths printf caps at 64: each call still prints 512 characters.
    for (const f of [fmt, '%999999d'.repeat(8)]) run(f);
  });

  function run(format: string): void {
    const n = 40_000;
    const { board } = vboard('native');
    const { id } = board.install({ hook: 'flow', budget: 1_000_000, image: image(loop(n), { rodata: format + '\0' }) });
    const events: string[] = [];
    board.on('console', (e: { line: string }) => events.push(e.line));
    const t0 = Date.now();
    const r = board.runFlow(id, new Uint8Array(0));
    const ms = Date.now() - t0;
    assert.equal(r.status, 'exit', JSON.stringify(r.fault));
    assert.equal(r.r0, BigInt(n));
    const printed = n * 512;
    assert.equal(r.console.length, 2);
    assert.equal(r.console[0].length, DEFAULT_CONSOLE_LIMITS.maxBytes);
    assert.equal(r.console[1], truncationMarker(printed - DEFAULT_CONSOLE_LIMITS.maxBytes, 0));
    assert.deepEqual(events, r.console);
    // 20 MB printed; before the fix 30,000 instructions of this took 84 s. Generous bound, busy box.
    assert.ok(ms < 20_000, `the run took ${ms} ms`);
  }

  it('with newlines: the byte cap, then the line cap, per board', () => {
    const n = 5_000;
    const img = image(loop(n), { rodata: '%d\n%d\n\0' });
    const { board } = vboard('native', { console: { maxBytes: 1 << 20, maxLines: 10 } });
    const { id } = board.install({ hook: 'flow', budget: 1_000_000, image: img });
    const r = board.runFlow(id, new Uint8Array(0));
    assert.equal(r.status, 'exit');
    assert.deepEqual(r.console.slice(0, 10), ['0', '0', '1', '1', '2', '2', '3', '3', '4', '4']);
    let printed = 0;
    for (let i = 0; i < n; i++) printed += 2 * (String(i).length + 1);
    assert.equal(r.console[10], truncationMarker(printed - 20, 2 * n - 10));
    assert.equal(r.console.length, 11);
    // The defaults: 4096 bytes first.
    const d = vboard('native').board;
    const id2 = d.install({ hook: 'flow', budget: 1_000_000, image: image(loop(n), { rodata: '%64d\n\0' }) }).id;
    const r2 = d.runFlow(id2, new Uint8Array(0));
    assert.equal(r2.console.length, Math.floor(4096 / 65) + 2); // whole lines, the cut one, the marker
    assert.equal(r2.console.slice(0, -1).reduce((s, l) => s + l.length, 0) + Math.floor(4096 / 65), 4096);
    assert.match(r2.console.at(-1)!, /^… truncated \(\d+ bytes \/ \d+ lines dropped\)$/);
  });
});
