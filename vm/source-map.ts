/**
 * Source maps: the file and line every instruction slot of a program came from, one type for
 * both kinds of source a program can have — C (clang's `-g` line table, read by vm/dwarf-line)
 * and assembly (the assembler's line of each slot). Faults, Verify listings and the editor's Try
 * panel name lines through it.
 *
 * Choices:
 *  - one entry per slot, index = pc; the second slot of a wide load carries its first slot's
 *    location; a slot the line table says nothing about is null;
 *  - DWARF's line 0 ("no particular line": code the compiler made, such as a shared epilogue) is
 *    shown as the line before it in the same sequence, as debuggers do when they step; at the
 *    start of a sequence it stays null;
 *  - file names are the names the compiler recorded (relative, as they were passed to clang),
 *    with the directory only when it is not the compilation folder; `paths` keeps where each
 *    file was (absolute when known) for tools that print the text next to the code.
 */
import { DwarfError, readLineTables, type LineSections, type LineTable } from './dwarf-line';

export interface SourceLocation {
  file: string;
  /** 1-based. */
  line: number;
}

export interface SourceMap {
  /** Per instruction slot (index = pc): where it came from, or null. */
  slots: (SourceLocation | null)[];
  /** File name (as in `slots`) → where the file was when compiled, when the object says. */
  paths: Record<string, string>;
}

/** The location of slot `pc`, or undefined (no map, no entry). */
export function sourceAt(map: SourceMap | undefined, pc: number): SourceLocation | undefined {
  const l = map?.slots[pc];
  return l ? { file: l.file, line: l.line } : undefined;
}

/** An assembly program's map: its slots' 1-based lines in one file. */
export function sourceMapFromLines(file: string, lines: readonly number[]): SourceMap {
  return { slots: lines.map((line) => (line > 0 ? { file, line } : null)), paths: {} };
}

/** The same map with its file names changed (a compile folder's name → the user's name). */
export function renameFiles(map: SourceMap, rename: (file: string) => string): SourceMap {
  const paths: Record<string, string> = {};
  for (const [f, p] of Object.entries(map.paths)) paths[rename(f)] = p;
  return { slots: map.slots.map((l) => (l ? { file: rename(l.file), line: l.line } : null)), paths };
}

/**
 * Longest file name a map keeps (the end of longer ones, after "…"). Names come from the object's
 * own line table: an uploaded object could name its file with megabytes, and every slot of the map
 * (and of Verify's answer) repeats the name.
 */
export const MAX_FILE_NAME = 128;
const clip = (name: string): string => (name.length > MAX_FILE_NAME ? '…' + name.slice(name.length - MAX_FILE_NAME + 1) : name);

const join = (dir: string, name: string): string => (dir === '' ? name : dir.endsWith('/') ? dir + name : `${dir}/${name}`);
const isAbsolute = (p: string): boolean => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p);

/**
 * The map of a program of `slotCount` slots from its `.debug_line` (addresses resolved to byte
 * offsets of the merged text by `s.resolveAddress`). Throws DwarfError for a malformed table.
 */
export function sourceMapFromDwarf(s: LineSections, slotCount: number): SourceMap {
  const slots: (SourceLocation | null)[] = new Array(slotCount).fill(null);
  const paths: Record<string, string> = {};
  // Clang's tables map each slot once; a hostile table could map the whole text again in every
  // row (rows × slots of work on the event loop). Past a generous multiple, the map is dropped.
  const work = { left: 8 * slotCount + 4096 };
  for (const t of readLineTables(s)) fill(t, slots, paths, work);
  return { slots, paths };
}

function fill(t: LineTable, slots: (SourceLocation | null)[], paths: Record<string, string>, work: { left: number }): void {
  const names = t.files.map((f) => {
    if (!f) return undefined;
    const full = isAbsolute(f.name) || f.inCompDir ? f.name : join(f.dir, f.name);
    const where = isAbsolute(full) || t.compDir === undefined ? full : join(t.compDir, full);
    const shown = clip(full);
    if (where.length <= 4096) paths[shown] ??= where;
    return shown;
  });
  let last: SourceLocation | null = null;
  for (let i = 0; i < t.rows.length; i++) {
    const row = t.rows[i];
    const next = t.rows[i + 1];
    if (row.end) {
      last = null;
      continue;
    }
    const name = names[row.file];
    const here: SourceLocation | null = name !== undefined && row.line > 0 ? { file: name, line: row.line } : last;
    if (here) last = here;
    if (!next || !here) continue;
    // The row covers [address, next address): every slot starting in it.
    const from = Math.max(0, Math.ceil(row.address / 8));
    const to = Math.min(slots.length, Math.ceil(next.address / 8));
    if (to > from && (work.left -= to - from) < 0) {
      throw new DwarfError('the line table maps the program\'s instructions many times over (overlapping rows): no line information');
    }
    for (let pc = from; pc < to; pc++) slots[pc] = here;
  }
}

/**
 * A listing with the source lines put in front of the instructions they became, as
 * `objdump -S` does: when the location changes, the line's text (`; file:line  text`), or the
 * location alone when the text is not at hand. `listing` holds lines starting "  pc:" (as
 * vm/disassembler's disassembleListing writes them); other lines pass through.
 */
export function interleaveSource(
  listing: readonly string[],
  map: SourceMap | undefined,
  text: (file: string) => readonly string[] | undefined,
): string[] {
  if (!map) return [...listing];
  const out: string[] = [];
  let prev = '';
  for (const l of listing) {
    const m = /^\s*(\d+):/.exec(l);
    const loc = m ? map.slots[Number(m[1])] : null;
    if (loc) {
      const key = `${loc.file}:${loc.line}`;
      if (key !== prev) {
        const src = text(loc.file)?.[loc.line - 1];
        out.push(src !== undefined ? `; ${key}  ${src.trim()}` : `; ${key}`);
        prev = key;
      }
    }
    out.push(l);
  }
  return out;
}
