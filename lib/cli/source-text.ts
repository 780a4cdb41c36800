/**
 * The text of the source files a program's line information names, for `femto disasm` and
 * `femto verify` (objdump -S style listings): where the compiler saw the file (the object's own
 * record), else next to the program file, as given or by its base name. Unreadable, missing or
 * very large files give no text (the listing then names the line without it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SourceMap } from '../../vm/source-map';

const MAX_SOURCE_BYTES = 4 * 1024 * 1024;

/** A reader of source lines for `map`, the program having been read from `programFile`. */
export function sourceLines(map: SourceMap | undefined, programFile: string): (file: string) => readonly string[] | undefined {
  const cache = new Map<string, readonly string[] | undefined>();
  const dir = path.dirname(programFile);
  return (file) => {
    if (!cache.has(file)) {
      const candidates = [map?.paths[file], path.resolve(dir, file), path.join(dir, path.basename(file))];
      cache.set(file, candidates.map(readText).find((t) => t !== undefined));
    }
    return cache.get(file);
  };
}

function readText(file: string | undefined): readonly string[] | undefined {
  if (file === undefined) return undefined;
  try {
    const st = fs.statSync(file);
    if (!st.isFile() || st.size > MAX_SOURCE_BYTES) return undefined;
    return fs.readFileSync(file, 'utf8').split(/\r\n?|\n/);
  } catch {
    return undefined;
  }
}
