/**
 * Fuzz targets for the input formats: the RIOT image parser, the ELF loader and the assembler.
 *
 * Allowed errors: FormatError of the target's own format (image / elf / asm), and where an
 * accepted input is taken further (a Vm from a parsed image or loaded object), VerifyError from
 * the verifier and FormatError('image') from buildImage for parts that do not fit the table.
 */
import { FemtoError, FormatError, VerifyError } from '../../vm/errors';
import { HEADER_SIZE, FUNCTION_ENTRY_SIZE, RIOT_MAGIC, buildImage, entryOffset, parseImage, type RiotImage } from '../../vm/image';
import { loadElf } from '../../vm/elf';
import { assemble } from '../../vm/assembler';
import { disassemble } from '../../vm/disassembler';
import { Program } from '../../vm/program';
import { Vm, type RunResult } from '../../vm/vm';
import { makeHelpers, HELPER_IDS } from '../util/program-gen';
import { Finding, type Counters, type Target } from './engine';
import { corpus } from './corpus';
import { concat, mutate, mutateText, type Field } from './mutate';
import type { Rng } from './rng';

const FAULT_CODES = new Set([-1, -2, -3, -4, -5, -6, -7, -8, -9]);

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const errName = (e: unknown): string => (e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e));

/** Throw an untyped-error Finding unless `e` is one of the allowed classes (checked by predicate). */
export function allowOnly(e: unknown, what: string, ok: (e: unknown) => boolean): void {
  if (e instanceof Finding) throw e;
  if (!ok(e)) {
    throw new Finding('untyped-error', `${what} threw ${errName(e)}${e instanceof Error && e.stack ? '\n' + e.stack.split('\n').slice(1, 6).join('\n') : ''}`);
  }
}

/** A RunResult must be well-formed and within its budget. */
export function checkRunResult(r: RunResult, budget: number, what: string): void {
  if (!r || !['exit', 'fault', 'suspended'].includes(r.status)) throw new Finding('invariant', `${what}: status ${String(r?.status)}`);
  if (!Number.isInteger(r.insns) || r.insns < 0) throw new Finding('invariant', `${what}: insns ${r.insns}`);
  if (r.insns > budget) throw new Finding('budget', `${what}: ${r.insns} instructions executed with a budget of ${budget}`);
  if (typeof r.r0 !== 'bigint' || r.r0 < 0n || r.r0 >= 1n << 64n) throw new Finding('invariant', `${what}: r0 ${String(r.r0)} is not a u64`);
  if (r.status === 'fault') {
    if (!r.fault || !(r.fault instanceof FemtoError) || r.fault.kind !== 'fault') throw new Finding('invariant', `${what}: fault status without a VmFault`);
    if (!FAULT_CODES.has(r.fault.code)) throw new Finding('invariant', `${what}: fault code ${r.fault.code} is not a RIOT code`);
    if (r.fault.code === -8 && r.insns !== budget && !/taken-branch/.test(r.fault.reason)) {
      throw new Finding('budget', `${what}: out-of-budget fault after ${r.insns} of ${budget} instructions`);
    }
  } else if (r.fault) throw new Finding('invariant', `${what}: ${r.status} with a fault`);
}

/** Run a Vm from each exported function (and from 0) with a small budget; nothing may throw. */
function smokeRun(vm: Vm, what: string, counters: Counters): void {
  const entries: (string | undefined)[] = [undefined, ...vm.functions.map((f) => f.name)];
  for (const entry of entries.slice(0, 4)) {
    let r: RunResult;
    try {
      r = vm.run({ entry, budget: 500, context: new Uint8Array(16), contextWritable: true });
      for (let k = 0; k < 3 && r.status === 'suspended'; k++) {
        checkRunResult(r, 500, `${what} entry ${entry ?? 0}`);
        r = vm.resume(0, 500);
      }
    } catch (e) {
      throw new Finding('untyped-error', `${what}: run from ${entry ?? 0} threw ${errName(e)}`);
    }
    checkRunResult(r, 500, `${what} entry ${entry ?? 0}`);
    counters[`run-${r.status}`] = (counters[`run-${r.status}`] ?? 0) + 1;
  }
}

function vmFrom(image: RiotImage, rng: { profile: 'rfc9669' | 'riot-2022' }, what: string, counters: Counters): Vm | undefined {
  try {
    const vm = new Vm({ image, helpers: makeHelpers(), profile: rng.profile, tier: 'interp', maxCallDepth: 8 });
    counters['vm-ok'] = (counters['vm-ok'] ?? 0) + 1;
    return vm;
  } catch (e) {
    // The Vm also refuses images parseImage cannot judge alone (a function inside a wide load).
    allowOnly(e, `${what}: new Vm`, (x) => x instanceof VerifyError || (x instanceof FormatError && x.format === 'image'));
    counters['vm-rejected'] = (counters['vm-rejected'] ?? 0) + 1;
    return undefined;
  }
}

// ---- image ---------------------------------------------------------------------------------------

interface BytesInput { bytes: Uint8Array; profile: 'rfc9669' | 'riot-2022'; how: string }

function imageFields(b: Uint8Array): Field[] {
  const f: Field[] = [4, 8, 12, 16, 20, 24].map((o) => ({ offset: o, size: 4 as const }));
  if (b.length >= HEADER_SIZE) {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const tableAt = HEADER_SIZE + dv.getUint32(12, true) + dv.getUint32(16, true) + dv.getUint32(20, true);
    for (let e = tableAt; e + FUNCTION_ENTRY_SIZE <= b.length && e - tableAt < 60; e += FUNCTION_ENTRY_SIZE) {
      f.push({ offset: e, size: 2 }, { offset: e + 2, size: 2 }, { offset: e + 4, size: 2 });
    }
  }
  return f;
}

/** Image bytes with header fields that may lie about the sections that follow. */
function rawImage(rng: Rng): Uint8Array {
  const data = rng.bytes(rng.len(40));
  const rodata = rng.bytes(rng.len(40));
  const c = corpus();
  const text = rng.bool(0.7) ? rng.pick(c.programs).text : rng.bytes(8 * rng.range(0, 6) + (rng.bool(0.1) ? rng.int(8) : 0));
  const nf = rng.pick([0, 0, 1, 2, 3, 5]);
  // Names inside rodata: place some NUL-terminated names.
  const names: number[] = [];
  const ro = Array.from(rodata);
  for (let i = 0; i < nf; i++) {
    names.push(ro.length);
    const name = rng.pick(['main', 'f', '', 'x'.repeat(rng.len(70)), '\u0080bad', 'a b', 'entry_a']);
    for (const ch of name) ro.push(ch.charCodeAt(0) & 0xff);
    if (rng.bool(0.9)) ro.push(0);
  }
  const rodataB = Uint8Array.from(ro);
  const table = new Uint8Array(nf * FUNCTION_ENTRY_SIZE);
  const dvT = new DataView(table.buffer);
  for (let i = 0; i < nf; i++) {
    dvT.setUint16(i * 6, rng.bool(0.8) ? names[i] : rng.int(0x10000), true);
    dvT.setUint16(i * 6 + 2, rng.bool(0.8) ? 0 : rng.int(0x10000), true);
    dvT.setUint16(i * 6 + 4, rng.bool(0.8) ? 8 * rng.int(Math.max(1, text.length / 8)) : rng.int(0x10000), true);
  }
  const header = new Uint8Array(HEADER_SIZE);
  const dv = new DataView(header.buffer);
  const lie = (v: number): number => (rng.bool(0.85) ? v : rng.pick([0, v + 1, v - 1, v + 8, v - 8, 0xffffffff, 0x80000000, rng.u32()]) >>> 0);
  dv.setUint32(0, rng.bool(0.97) ? RIOT_MAGIC : rng.u32(), true);
  dv.setUint32(4, rng.bool(0.95) ? 0 : rng.pick([1, 0xffffffff]), true);
  dv.setUint32(8, rng.bool(0.9) ? 0 : rng.pick([1, 2, 0x80000000]), true);
  dv.setUint32(12, lie(data.length), true);
  dv.setUint32(16, lie(rodataB.length), true);
  dv.setUint32(20, lie(text.length), true);
  dv.setUint32(24, lie(nf), true);
  return concat(header, data, rodataB, text, table);
}

export const imageTarget: Target<BytesInput> = {
  name: 'image',
  description: 'vm/image.ts parseImage (then buildImage round trip, entryOffset, Vm construction and a short run)',
  allowed: ['FormatError(image)', 'VerifyError or FormatError(image) (new Vm)'],
  generate(rng) {
    const c = corpus();
    const profile = rng.bool(0.3) ? 'riot-2022' as const : 'rfc9669' as const;
    const k = rng.int(10);
    if (k < 3) return { bytes: rawImage(rng), profile, how: 'raw' };
    const seed = rng.pick(c.images);
    if (k < 4) return { bytes: seed.bytes, profile, how: `seed ${seed.name}` };
    const hints = [seed.bytes.length, seed.bytes.length - HEADER_SIZE, 0x10000, 8, 6];
    return { bytes: mutate(seed.bytes, rng, { fields: imageFields(seed.bytes), hints, other: rng.pick(c.images).bytes, max: 3 }), profile, how: `mutated ${seed.name}` };
  },
  run(input, counters) {
    let img: RiotImage;
    try {
      img = parseImage(input.bytes);
    } catch (e) {
      allowOnly(e, 'parseImage', (x) => x instanceof FormatError && x.format === 'image');
      counters.rejected = (counters.rejected ?? 0) + 1;
      return;
    }
    counters.parsed = (counters.parsed ?? 0) + 1;
    // Invariants of an accepted image.
    if (img.text.length === 0 || img.text.length % 8) throw new Finding('invariant', `accepted text of ${img.text.length} bytes`);
    if (HEADER_SIZE + img.data.length + img.rodata.length + img.text.length + img.functions.length * FUNCTION_ENTRY_SIZE !== input.bytes.length) {
      throw new Finding('invariant', 'accepted image whose parts do not add up to its length');
    }
    for (const f of img.functions) {
      if (f.offset % 8 || f.offset >= img.text.length) throw new Finding('invariant', `function ${f.name} at ${f.offset} outside text`);
      if (!/^[\x01-\x7f]*$/.test(f.name)) throw new Finding('invariant', `function name ${JSON.stringify(f.name)} is not ASCII`);
      try {
        entryOffset(img, f.name);
      } catch (e) {
        throw new Finding('invariant', `entryOffset(${JSON.stringify(f.name)}) of a parsed image threw ${errName(e)}`);
      }
    }
    // build(parse(bytes)) gives the same bytes back when the sections are 8-aligned as built.
    if (img.data.length % 8 === 0 && img.rodata.length % 8 === 0) {
      if (img.functions.some((f) => f.name === '')) {
        throw new Finding('invariant', 'parseImage accepted an empty function name, which buildImage refuses: build(parse(bytes)) throws');
      } else {
        let again: Uint8Array;
        try {
          again = buildImage(img);
        } catch (e) {
          throw new Finding('invariant', `buildImage of a parsed image threw ${errName(e)}`);
        }
        if (hex(again) !== hex(input.bytes)) throw new Finding('invariant', `build(parse(bytes)) differs from bytes (${again.length} vs ${input.bytes.length} bytes)`);
        counters['round-trip'] = (counters['round-trip'] ?? 0) + 1;
      }
    }
    const vm = vmFrom(img, input, 'image', counters);
    if (!vm) return;
    // An entry by name must be accepted or refused exactly as the same entry by index.
    for (const f of img.functions.slice(0, 4)) {
      const slot = (x: string | number): string => {
        try {
          return String(vm.entrySlot(x));
        } catch (e) {
          return e instanceof RangeError ? 'refused' : `threw ${errName(e)}`;
        }
      };
      const byName = slot(f.name), byIndex = slot(f.offset / 8);
      if (byName !== byIndex && vm.functions.find((g) => g.name === f.name) === f) {
        throw new Finding('invariant', `entry "${f.name}" (slot ${f.offset / 8}) by name: ${byName}, by index: ${byIndex}`);
      }
    }
    smokeRun(vm, 'image', counters);
  },
};

// ---- ELF -----------------------------------------------------------------------------------------

/** Header and section/symbol/relocation field positions of an ELF object (best effort). */
function elfFields(b: Uint8Array): { fields: Field[]; hints: number[]; sizes: Field[] } {
  const fields: Field[] = [
    { offset: 4, size: 1 }, { offset: 5, size: 1 }, { offset: 16, size: 2 }, { offset: 18, size: 2 },
    { offset: 40, size: 8 }, { offset: 58, size: 2 }, { offset: 60, size: 2 }, { offset: 62, size: 2 },
  ];
  // Sizes around the loader's and the VM's limits (16 MiB sections, 16 MiB − 64 KiB regions).
  const hints: number[] = [b.length, 64, 24, 16, 0x00ff0000, 0x00ff0001, 0x01000000, 0x01000001];
  const sizes: Field[] = [];
  if (b.length < 64) return { fields, hints, sizes };
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const shoff = Number(dv.getBigUint64(40, true));
  const shnum = dv.getUint16(60, true);
  for (let i = 0; i < shnum && i < 64; i++) {
    const h = shoff + i * 64;
    if (h + 64 > b.length) break;
    hints.push(i);
    fields.push(
      { offset: h, size: 4 }, { offset: h + 4, size: 4 }, { offset: h + 8, size: 8 }, { offset: h + 24, size: 8 },
      { offset: h + 32, size: 8 }, { offset: h + 40, size: 4 }, { offset: h + 44, size: 4 }, { offset: h + 48, size: 8 }, { offset: h + 56, size: 8 },
    );
    sizes.push({ offset: h + 32, size: 8 });
    const type = dv.getUint32(h + 4, true);
    const off = Number(dv.getBigUint64(h + 24, true));
    const size = Number(dv.getBigUint64(h + 32, true));
    hints.push(off, size);
    if ((type === 2 || type === 4 || type === 9) && off + size <= b.length) {
      const ent = type === 2 ? 24 : type === 4 ? 24 : 16;
      for (let e = off; e + ent <= off + size && e - off < ent * 40; e += ent) {
        if (type === 2) fields.push({ offset: e, size: 4 }, { offset: e + 4, size: 1 }, { offset: e + 6, size: 2 }, { offset: e + 8, size: 8 }, { offset: e + 16, size: 8 });
        else fields.push({ offset: e, size: 8 }, { offset: e + 8, size: 4 }, { offset: e + 12, size: 4 }, ...(type === 4 ? [{ offset: e + 16, size: 8 as const }] : []));
      }
    }
  }
  return { fields, hints, sizes };
}

export const elfTarget: Target<BytesInput> = {
  name: 'elf',
  description: 'vm/elf.ts loadElf on mutated clang objects (then buildImage → parseImage, Vm and a short run)',
  allowed: ['FormatError(elf)', 'FormatError(image) from buildImage', 'VerifyError or FormatError(image) (new Vm)'],
  generate(rng) {
    const c = corpus();
    const profile = rng.bool(0.3) ? 'riot-2022' as const : 'rfc9669' as const;
    if (!c.elf.length) return { bytes: rng.bytes(rng.len(200)), profile, how: 'random (no ELF seeds)' };
    const seed = rng.pick(c.elf);
    if (rng.bool(0.05)) return { bytes: seed.bytes, profile, how: `seed ${seed.name}` };
    const { fields, hints, sizes } = elfFields(seed.bytes);
    if (sizes.length && rng.bool(0.03)) { // a section size at the limits (NOBITS needs no file bytes)
      const out = seed.bytes.slice();
      new DataView(out.buffer).setBigUint64(rng.pick(sizes).offset, BigInt(rng.pick([0x00ff0000, 0x00ff0001, 0x00fffff8, 0x01000000, 0x01000001]) + rng.range(-8, 8)), true);
      return { bytes: out, profile, how: `size-limit ${seed.name}` };
    }
    return { bytes: mutate(seed.bytes, rng, { fields, hints, other: rng.pick(c.elf).bytes, max: 3, maxLen: 1 << 15 }), profile, how: `mutated ${seed.name}` };
  },
  run(input, counters) {
    let load;
    try {
      load = loadElf(input.bytes);
    } catch (e) {
      allowOnly(e, 'loadElf', (x) => x instanceof FormatError && x.format === 'elf');
      counters.rejected = (counters.rejected ?? 0) + 1;
      return;
    }
    counters.loaded = (counters.loaded ?? 0) + 1;
    const img = load.image;
    if (!(img.text instanceof Uint8Array) || img.text.length % 8) throw new Finding('invariant', `loadElf gave text of ${img.text.length} bytes`);
    let bytes: Uint8Array;
    try {
      bytes = buildImage(img);
    } catch (e) {
      allowOnly(e, 'buildImage(loadElf(…))', (x) => x instanceof FormatError && x.format === 'image');
      counters['build-refused'] = (counters['build-refused'] ?? 0) + 1;
      return;
    }
    let parsed: RiotImage;
    try {
      parsed = parseImage(bytes);
    } catch (e) {
      throw new Finding('invariant', `parseImage refused what buildImage(loadElf(…)) built: ${errName(e)}`);
    }
    const vm = vmFrom(parsed, input, 'elf', counters);
    if (vm) smokeRun(vm, 'elf', counters);
  },
};

// ---- assembler -------------------------------------------------------------------------------------

interface AsmInput { text: string; how: string }

export const asmTarget: Target<AsmInput> = {
  name: 'asm',
  description: 'vm/assembler.ts assemble on mutated conformance / generated assembly; disassemble → assemble round trip of what it accepts; random bytes round trip',
  allowed: ['FormatError(asm)'],
  generate(rng) {
    const c = corpus();
    const k = rng.int(10);
    if (k === 0) {
      // Raw bytes: the disassembler's output must assemble to the same slots.
      const b = rng.bytes(8 * rng.range(1, 12));
      for (let i = 0; i < b.length; i += 8) if (rng.bool(0.6)) b[i] = rng.pick([0x18, 0xb8, 0xd8, 0x07, 0x05, 0x85, 0x95, 0x61, 0x7b, 0xc3, 0x00, 0xbf, 0xd4]);
      return { text: '\u0000raw:' + hex(b), how: 'raw bytes' };
    }
    const seed = rng.pick(c.asm);
    let text = seed.text;
    const n = rng.range(1, 4);
    for (let i = 0; i < n; i++) text = mutateText(text, rng, rng.pick(c.asm).text);
    return { text, how: `mutated ${seed.name}` };
  },
  run(input, counters) {
    if (input.text.startsWith('\u0000raw:')) {
      const b = new Uint8Array(Buffer.from(input.text.slice(5), 'hex'));
      for (const labels of [false, true]) {
        let lines: string[];
        try {
          lines = disassemble(new Program(b), { labels });
        } catch (e) {
          throw new Finding('untyped-error', `disassemble threw ${errName(e)}`);
        }
        let again: Uint8Array;
        try {
          again = assemble(lines.join('\n'));
        } catch (e) {
          throw new Finding('invariant', `disassembler output (labels ${labels}) does not assemble: ${errName(e)}\n${lines.join('\n')}`);
        }
        if (hex(again) !== hex(b)) throw new Finding('invariant', `disassemble → assemble (labels ${labels}) changed the bytes\n${hex(b)}\n${hex(again)}`);
      }
      counters['raw-round-trip'] = (counters['raw-round-trip'] ?? 0) + 1;
      return;
    }
    let out: Uint8Array;
    try {
      out = assemble(input.text);
    } catch (e) {
      allowOnly(e, 'assemble', (x) => x instanceof FormatError && x.format === 'asm');
      const fe = e as FormatError;
      if (fe.where.line !== undefined && (!Number.isInteger(fe.where.line) || fe.where.line < 1)) {
        throw new Finding('invariant', `FormatError with line ${fe.where.line}`);
      }
      counters.rejected = (counters.rejected ?? 0) + 1;
      return;
    }
    counters.assembled = (counters.assembled ?? 0) + 1;
    if (out.length % 8) throw new Finding('invariant', `assembled ${out.length} bytes, not whole slots`);
    const lines = disassemble(new Program(out));
    let again: Uint8Array;
    try {
      again = assemble(lines.join('\n'));
    } catch (e) {
      throw new Finding('invariant', `re-assembling the disassembly of accepted text failed: ${errName(e)}`);
    }
    if (hex(again) !== hex(out)) throw new Finding('invariant', 'assemble(disassemble(assemble(text))) differs from assemble(text)');
    // Accepted programs go through the verifier without throwing.
    try {
      new Vm({ text: out, helpers: makeHelpers(), grants: new Set(HELPER_IDS), tier: 'interp' });
      counters['vm-ok'] = (counters['vm-ok'] ?? 0) + 1;
    } catch (e) {
      allowOnly(e, 'new Vm(assembled)', (x) => x instanceof VerifyError);
    }
  },
};
