/**
 * Parser for the bpf_conformance suite's `.data` test vectors, so the suite can be run by the
 * tests, by the `femto` CLI and in the browser alike.
 *
 * Format (line based): a line `-- NAME` starts a section; `#` starts a comment outside `-- asm`
 * (the assembler strips its own comments) and outside `-- c` (C source, where `#` is code).
 *   -- asm                 assembly text (kept verbatim)
 *   -- mem                 hex bytes separated by white space, over any number of lines
 *   -- result              expected r0: `0x…` hex or decimal (negative decimals wrap to 64 bits)
 *   -- raw                 one 64-bit instruction word per line, little-endian slots
 *   -- error               expected error text
 *   -- no register offset, -- c    informational; ignored
 * Unknown or repeated sections and malformed values are FormatError('data', reason, { line }).
 */
import { assemble } from './assembler';
import { FormatError } from './errors';

export interface DataFile {
  /** The `-- asm` section verbatim (comments included), if present. */
  asm?: string;
  /** 1-based line number in the file of the first line of `asm` (to map assembler errors back). */
  asmLine?: number;
  /** Memory handed to the program (empty when the file has no `-- mem`). */
  mem: Uint8Array;
  /** Expected r0 as an unsigned 64-bit value. */
  result?: bigint;
  /** The `-- raw` instruction words as a text section. */
  raw?: Uint8Array;
  /** Expected error text. */
  error?: string;
}

const KNOWN = new Set(['asm', 'mem', 'result', 'raw', 'error', 'no register offset', 'c']);
const U64_MAX = 2n ** 64n - 1n;

interface Section {
  name: string;
  /** 1-based line of the header. */
  line: number;
  lines: string[];
}

function stripComment(s: string): string {
  const i = s.indexOf('#');
  return (i >= 0 ? s.slice(0, i) : s).trim();
}

/** Parse a number token of `result` or `raw`: hex with 0x, else decimal, optional sign. */
function parseNumber(tok: string, line: number, what: string): bigint {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|[0-9]+)$/.exec(tok);
  if (m === null) throw new FormatError('data', `bad ${what} '${tok}'`, { line });
  const v = BigInt(m[2]) * (m[1] === '-' ? -1n : 1n);
  if (v > U64_MAX || v < -(2n ** 63n)) throw new FormatError('data', `${what} '${tok}' out of 64-bit range`, { line });
  return BigInt.asUintN(64, v);
}

/** Parse the text of one `.data` file. */
export function parseDataFile(text: string): DataFile {
  if (typeof text !== 'string') throw new FormatError('data', 'input is not a string');
  const sections: Section[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r\n|\n|\r/);
  let cur: Section | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const m = /^--\s+(.*?)\s*$/.exec(lines[i]);
    if (m !== null) {
      const name = m[1];
      if (!KNOWN.has(name)) throw new FormatError('data', `unknown section '-- ${name}'`, { line });
      if (seen.has(name)) throw new FormatError('data', `section '-- ${name}' appears twice`, { line });
      seen.add(name);
      cur = { name, line, lines: [] };
      sections.push(cur);
      continue;
    }
    if (cur === undefined) {
      if (stripComment(lines[i]) !== '') {
        throw new FormatError('data', `text before the first section: '${lines[i].trim().slice(0, 40)}'`, { line });
      }
      continue;
    }
    cur.lines.push(lines[i]);
  }

  const out: DataFile = { mem: new Uint8Array(0) };
  for (const s of sections) {
    switch (s.name) {
      case 'asm':
        out.asm = s.lines.join('\n');
        out.asmLine = s.line + 1;
        break;
      case 'mem': {
        const bytes: number[] = [];
        s.lines.forEach((l, k) => {
          for (const tok of stripComment(l).split(/\s+/)) {
            if (tok === '') continue;
            if (!/^[0-9a-fA-F]{2}$/.test(tok)) {
              throw new FormatError('data', `bad memory byte '${tok.slice(0, 20)}' (two hex digits expected)`, { line: s.line + 1 + k });
            }
            bytes.push(parseInt(tok, 16));
          }
        });
        out.mem = Uint8Array.from(bytes);
        break;
      }
      case 'result': {
        let found = false;
        s.lines.forEach((l, k) => {
          const line = s.line + 1 + k;
          const t = stripComment(l);
          if (t === '') return;
          if (found || /\s/.test(t)) throw new FormatError('data', `more than one value in '-- result'`, { line });
          out.result = parseNumber(t, line, 'result');
          found = true;
        });
        if (!found) throw new FormatError('data', `empty '-- result' section`, { line: s.line });
        break;
      }
      case 'raw': {
        const words: bigint[] = [];
        s.lines.forEach((l, k) => {
          const line = s.line + 1 + k;
          const t = stripComment(l);
          if (t === '') return;
          if (/\s/.test(t)) throw new FormatError('data', `one instruction word per line in '-- raw'`, { line });
          words.push(parseNumber(t, line, 'instruction word'));
        });
        const raw = new Uint8Array(words.length * 8);
        words.forEach((w, k) => {
          for (let b = 0; b < 8; b++) raw[k * 8 + b] = Number((w >> BigInt(8 * b)) & 0xffn);
        });
        out.raw = raw;
        break;
      }
      case 'error': {
        const t = s.lines.map(stripComment).filter((l) => l !== '').join('\n');
        out.error = t;
        break;
      }
      default:
        break; // informational sections
    }
  }
  return out;
}

/**
 * The program bytes a vector runs: its `-- raw` words when present (the suite uses them instead
 * of assembling), else its assembled `-- asm`. FormatError when it has neither.
 */
export function dataFileProgram(d: DataFile): Uint8Array {
  if (d.raw !== undefined) return d.raw;
  if (d.asm !== undefined) return assemble(d.asm);
  throw new FormatError('data', `no '-- asm' or '-- raw' section`);
}
