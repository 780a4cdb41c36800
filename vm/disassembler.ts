/**
 * Disassembler: eBPF instructions back to the assembly syntax of the bpf_conformance suite
 * (`mov %r0, 1`, `ldxw %r2, [%r1+4]`, `lock fetch add32 [%r10-4], %r1`, `jeq %r1, 5, +3`, …),
 * which is also the syntax `assembler.ts` reads.
 *
 * Choices (written down because the suite has no syntax for them):
 * - RIOT's wide loads: `lddwd %rD, OFF` (0xB8, address of .data + OFF) and `lddwr %rD, OFF`
 *   (0xD8, .rodata + OFF). OFF is the value RIOT computes, sign-extended imm_lo + (imm_hi << 32),
 *   printed signed (`-0x8`), so the text says which address the register gets.
 * - An instruction whose fields the canonical syntax cannot express (unknown opcode, register
 *   field above 10, nonzero unused field, …) prints as `.insn 0xOP dst=D src=S off=O imm=I`: one
 *   raw 8-byte slot that the assembler accepts back. Nothing here throws on any field values; the
 *   verifier quotes this text in its rejection messages.
 * - Jumps print their relative slot offset (`+3`, `-2`). The listing and `disassembleInsn` with a
 *   pc add the absolute target as a trailing `# -> N` comment (still valid assembly).
 * - `disassemble` (plain form) yields lines that re-assemble to the identical bytes.
 */
import {
  ALU_END, ALU_MOV, ALU_NEG,
  ATOMIC_ADD, ATOMIC_AND, ATOMIC_CMPXCHG, ATOMIC_FETCH, ATOMIC_OR, ATOMIC_XCHG, ATOMIC_XOR,
  CALL_HELPER, CALL_LOCAL,
  CLS_ALU, CLS_ALU64, CLS_JMP, CLS_JMP32, CLS_LD, CLS_LDX, CLS_ST, CLS_STX,
  JMP_CALL, JMP_EXIT, JMP_JA,
  MODE_ATOMIC, MODE_MEM, MODE_MEMSX, OP, REG_FP, SIZE_DW, SIZE_W, SRC_X,
  aluOp, cls, isSrcX, isWide, jmpOp, jumpTarget as slotTarget, memMode, memSize,
} from './opcodes';
import { isDivision, isSignedDivision } from './division';
import { ALU_MNEMONICS, JMP_MNEMONICS, SIZE_MNEMONICS, byCode } from './mnemonics';
import { Insn, Program } from './program';

const ALU_NAMES = byCode(ALU_MNEMONICS);
const JMP_NAMES = byCode(JMP_MNEMONICS);
const SIZE_SUFFIX = byCode(SIZE_MNEMONICS);

const ATOMIC_NAMES: Record<number, string> = {
  [ATOMIC_ADD]: 'add', [ATOMIC_OR]: 'or', [ATOMIC_AND]: 'and', [ATOMIC_XOR]: 'xor',
  [ATOMIC_ADD | ATOMIC_FETCH]: 'fetch add', [ATOMIC_OR | ATOMIC_FETCH]: 'fetch or',
  [ATOMIC_AND | ATOMIC_FETCH]: 'fetch and', [ATOMIC_XOR | ATOMIC_FETCH]: 'fetch xor',
  [ATOMIC_XCHG]: 'xchg', [ATOMIC_CMPXCHG]: 'cmpxchg',
};

const hex = (n: number): string => '0x' + n.toString(16);

/** The raw form: one 8-byte slot, every field shown, accepted back by the assembler. */
export function rawInsn(insn: Pick<Insn, 'opcode' | 'dst' | 'src' | 'offset' | 'imm'>): string {
  const imm = insn.imm | 0;
  const immText = imm > -0x10000 && imm < 0x10000 ? String(imm) : hex(imm >>> 0);
  return `.insn ${hex(insn.opcode & 0xff)} dst=${insn.dst & 0xf} src=${insn.src & 0xf} ` +
    `off=${insn.offset | 0} imm=${immText}`;
}

/**
 * An immediate as a reader expects it: small values in decimal; large ones in hex, signed when the
 * instruction sign-extends it to 64 bits (so `mov %r0, -0x80000000` is not mistaken for a
 * positive constant), as the unsigned 32-bit pattern otherwise.
 */
function fmtImm(imm: number, signed64: boolean): string {
  const v = imm | 0;
  if (v > -0x10000 && v < 0x10000) return String(v);
  if (signed64) return v < 0 ? '-' + hex(-v) : hex(v);
  return hex(v >>> 0);
}

const fmtOff = (off: number): string => (off < 0 ? String(off) : '+' + off);

function fmtMem(reg: number, off: number): string {
  return off === 0 ? `[%r${reg}]` : `[%r${reg}${off < 0 ? '-' + -off : '+' + off}]`;
}

/** 64-bit constant of a wide load, as the bits of the register (lddw). */
function wideBits(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** RIOT's 0xB8/0xD8 offset: sign-extended low half plus high half << 32, as a signed 64-bit. */
function riotOffset(lo: number, hi: number): bigint {
  return BigInt.asIntN(64, BigInt(lo | 0) + (BigInt(hi | 0) << 32n));
}

function fmtBigSigned(v: bigint): string {
  return v < 0n ? '-0x' + (-v).toString(16) : '0x' + v.toString(16);
}

const reg = (r: number): string => `%r${r}`;
const okReg = (r: number): boolean => r >= 0 && r <= REG_FP;

/**
 * The canonical text of one instruction, or null when its fields cannot be expressed in the
 * canonical syntax (the caller then prints the raw form).
 */
function canonical(insn: Insn): string | null {
  const { opcode, dst, src, offset: off, imm } = insn;
  const c = cls(opcode);
  switch (c) {
    case CLS_ALU:
    case CLS_ALU64: {
      const is64 = c === CLS_ALU64;
      const sfx = is64 ? '' : '32';
      const op = aluOp(opcode);
      if (!okReg(dst)) return null;
      if (op === ALU_NEG) {
        if (isSrcX(opcode) || src !== 0 || off !== 0 || imm !== 0) return null;
        return `neg${sfx} ${reg(dst)}`;
      }
      if (op === ALU_END) {
        if (src !== 0 || off !== 0 || (imm !== 16 && imm !== 32 && imm !== 64)) return null;
        if (is64) return isSrcX(opcode) ? null : `bswap${imm} ${reg(dst)}`;
        return `${isSrcX(opcode) ? 'be' : 'le'}${imm} ${reg(dst)}`;
      }
      const base = ALU_NAMES[op];
      if (base === undefined) return null;
      let name = base + sfx;
      if (isDivision(opcode)) {
        if (isSignedDivision(off)) name = 's' + name;
        else if (off !== 0) return null;
      } else if (op === ALU_MOV && off !== 0) {
        // Sign-extending moves: register source only; 32-bit class has no 32-bit source form.
        if (!isSrcX(opcode) || imm !== 0 || !okReg(src)) return null;
        if (!(off === 8 || off === 16 || (off === 32 && is64))) return null;
        return `movsx${off}${is64 ? '64' : '32'} ${reg(dst)}, ${reg(src)}`;
      } else if (off !== 0) return null;
      if (isSrcX(opcode)) {
        if (imm !== 0 || !okReg(src)) return null;
        return `${name} ${reg(dst)}, ${reg(src)}`;
      }
      if (src !== 0) return null;
      return `${name} ${reg(dst)}, ${fmtImm(imm, is64)}`;
    }
    case CLS_JMP:
    case CLS_JMP32: {
      const is64 = c === CLS_JMP;
      const op = jmpOp(opcode);
      const x = isSrcX(opcode);
      if (op === JMP_JA) {
        if (x || dst !== 0 || src !== 0) return null;
        if (is64) return imm === 0 ? `ja ${fmtOff(off)}` : null;
        return off === 0 ? `ja32 ${fmtOff(imm)}` : null;
      }
      if (op === JMP_CALL) {
        if (!is64 || off !== 0) return null;
        if (x) return src === 0 && imm === 0 && okReg(dst) ? `call ${reg(dst)}` : null;
        if (dst !== 0) return null;
        if (src === CALL_HELPER) return `call ${imm | 0}`;
        if (src === CALL_LOCAL) return `call local ${fmtOff(imm)}`;
        return null;
      }
      if (op === JMP_EXIT) {
        return is64 && !x && dst === 0 && src === 0 && off === 0 && imm === 0 ? 'exit' : null;
      }
      const base = JMP_NAMES[op];
      if (base === undefined || !okReg(dst)) return null;
      const name = is64 ? base : base + '32';
      if (x) {
        if (imm !== 0 || !okReg(src)) return null;
        return `${name} ${reg(dst)}, ${reg(src)}, ${fmtOff(off)}`;
      }
      if (src !== 0) return null;
      return `${name} ${reg(dst)}, ${fmtImm(imm, is64)}, ${fmtOff(off)}`;
    }
    case CLS_LD: {
      if (!isWide(opcode) || src !== 0 || off !== 0 || !okReg(dst)) return null;
      if (opcode === OP.LDDW) return `lddw ${reg(dst)}, 0x${wideBits(imm, insn.imm2).toString(16)}`;
      const name = opcode === OP.LDDWD ? 'lddwd' : 'lddwr';
      return `${name} ${reg(dst)}, ${fmtBigSigned(riotOffset(imm, insn.imm2))}`;
    }
    case CLS_LDX: {
      const mode = memMode(opcode);
      const size = memSize(opcode);
      if (imm !== 0 || !okReg(dst) || !okReg(src)) return null;
      if (mode === MODE_MEM) return `ldx${SIZE_SUFFIX[size]} ${reg(dst)}, ${fmtMem(src, off)}`;
      if (mode === MODE_MEMSX && size !== SIZE_DW) {
        return `ldxs${SIZE_SUFFIX[size]} ${reg(dst)}, ${fmtMem(src, off)}`;
      }
      return null;
    }
    case CLS_ST: {
      if (memMode(opcode) !== MODE_MEM || src !== 0 || !okReg(dst)) return null;
      const size = memSize(opcode);
      return `st${SIZE_SUFFIX[size]} ${fmtMem(dst, off)}, ${fmtImm(imm, size === SIZE_DW)}`;
    }
    case CLS_STX: {
      const mode = memMode(opcode);
      const size = memSize(opcode);
      if (!okReg(dst) || !okReg(src)) return null;
      if (mode === MODE_MEM) {
        return imm === 0 ? `stx${SIZE_SUFFIX[size]} ${fmtMem(dst, off)}, ${reg(src)}` : null;
      }
      if (mode === MODE_ATOMIC && (size === SIZE_W || size === SIZE_DW)) {
        const name = ATOMIC_NAMES[imm];
        if (name === undefined) return null;
        return `lock ${name}${size === SIZE_W ? '32' : ''} ${fmtMem(dst, off)}, ${reg(src)}`;
      }
      return null;
    }
    default:
      return null;
  }
}

/**
 * Absolute target slot of a jump or local call at `pc`, or null when it is neither. The formula is
 * opcodes.ts's; the source bit does not move a target (a `ja` with it set is no instruction, but
 * still shows where it would go).
 */
export function jumpTarget(insn: Insn, pc: number): number | null {
  const c = cls(insn.opcode);
  if (c !== CLS_JMP && c !== CLS_JMP32) return null;
  const op = jmpOp(insn.opcode);
  if (op === JMP_EXIT) return null;
  if (op === JMP_CALL) {
    if (insn.opcode !== OP.CALL || insn.src !== CALL_LOCAL) return null;
  } else if (op !== JMP_JA && JMP_NAMES[op] === undefined) return null;
  return slotTarget(insn.opcode & ~SRC_X, pc, insn.offset, insn.imm);
}

/**
 * One instruction as text. Never throws. With `pc`, jumps and local calls also show their
 * absolute target slot as a trailing comment (`ja +3 # -> 7`).
 */
export function disassembleInsn(insn: Insn, pc?: number): string {
  const text = canonical(insn) ?? rawInsn(insn);
  if (pc === undefined) return text;
  const target = jumpTarget(insn, pc);
  return target === null || text.startsWith('.insn') ? text : `${text} # -> ${target}`;
}

export interface DisassembleOptions {
  /**
   * Use generated labels (`L7:`) for jump and local-call targets instead of numeric offsets.
   * Targets outside the program or inside a wide load keep their numeric offset.
   */
  labels?: boolean;
}

interface Item {
  pc: number;
  slots: number;
  insn: Insn;
  /** Canonical text, or null when the slot(s) need the raw form. */
  text: string | null;
}

/** Walk the program instruction by instruction, deciding which slots need the raw form. */
function items(program: Program): Item[] {
  const out: Item[] = [];
  for (let pc = 0; pc < program.length;) {
    const insn = program.insn(pc);
    let slots = 1;
    let text = canonical(insn);
    if (isWide(insn.opcode)) {
      // A wide load needs a well-formed second slot (only its imm may be nonzero) to print as one.
      const ok = pc + 1 < program.length && program.opcode[pc + 1] === 0 &&
        program.dst[pc + 1] === 0 && program.src[pc + 1] === 0 && program.offset[pc + 1] === 0;
      if (ok && text !== null) slots = 2;
      else text = null;
    }
    out.push({ pc, slots, insn, text });
    pc += slots;
  }
  return out;
}

function rawSlot(program: Program, pc: number): string {
  return rawInsn({
    opcode: program.opcode[pc], dst: program.dst[pc], src: program.src[pc],
    offset: program.offset[pc], imm: program.imm[pc],
  });
}

/** Replace the relative offset at the end of a jump's text by a label. */
function withLabel(text: string, label: string): string {
  return text.replace(/[+-]\d+$/, label);
}

/**
 * The program as assembly lines that re-assemble to the identical bytes (trailing bytes that do
 * not make a whole slot are not text and are left out). Slots that the canonical syntax cannot
 * express come out as `.insn` lines.
 */
export function disassemble(program: Program, opts: DisassembleOptions = {}): string[] {
  const list = items(program);
  const starts = new Set<number>();
  for (const it of list) if (it.text !== null) starts.add(it.pc);
  const labelAt = new Map<number, string>();
  if (opts.labels) {
    for (const it of list) {
      if (it.text === null) continue;
      const t = jumpTarget(it.insn, it.pc);
      if (t !== null && starts.has(t)) labelAt.set(t, `L${t}`);
    }
  }
  const lines: string[] = [];
  for (const it of list) {
    const label = labelAt.get(it.pc);
    if (label !== undefined) lines.push(`${label}:`);
    if (it.text === null) {
      // A raw wide opcode is one slot in `.insn` form; its second slot follows as its own line.
      lines.push(rawSlot(program, it.pc));
      continue;
    }
    const t = opts.labels ? jumpTarget(it.insn, it.pc) : null;
    const tl = t === null ? undefined : labelAt.get(t);
    lines.push(tl === undefined ? it.text : withLabel(it.text, tl));
  }
  return lines;
}

export interface ListingOptions {
  /** Show the instruction bytes (8 or 16) between the pc and the text. */
  bytes?: boolean;
}

/**
 * A listing for people: one line per instruction, `   pc: text`, jumps followed by their
 * absolute target (`# -> 7`), slots that cannot be decoded as `.insn`. Wide loads take two
 * slots, so the pc column skips a number after them, as in llvm-objdump.
 */
export function disassembleListing(program: Program, opts: ListingOptions = {}): string[] {
  const width = Math.max(4, String(Math.max(0, program.length - 1)).length);
  const lines: string[] = [];
  const byteText = (pc: number, slots: number): string => {
    const b = program.text.subarray(pc * 8, (pc + slots) * 8);
    let s = '';
    for (let i = 0; i < b.length; i++) s += (i ? ' ' : '') + b[i].toString(16).padStart(2, '0');
    return s.padEnd(47) + '  ';
  };
  for (const it of items(program)) {
    const pcText = String(it.pc).padStart(width) + ': ';
    if (it.text === null) {
      lines.push(pcText + (opts.bytes ? byteText(it.pc, 1) : '') + rawSlot(program, it.pc));
      continue;
    }
    const t = jumpTarget(it.insn, it.pc);
    const text = t === null ? it.text : `${it.text} # -> ${t}`;
    lines.push(pcText + (opts.bytes ? byteText(it.pc, it.slots) : '') + text);
  }
  if (program.byteLength % 8 !== 0) {
    lines.push(`${''.padStart(width)}  (${program.byteLength % 8} trailing bytes, not a whole slot)`);
  }
  return lines;
}
