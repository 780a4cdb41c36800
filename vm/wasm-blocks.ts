/**
 * The compiled tier's basic blocks: where a program is cut (leaders: 0, entry points, jump and
 * call targets, and the instruction after any jump, call or exit), each block's first
 * instruction, end and length, and which blocks close loops. Analysis only: no code is emitted
 * here.
 */
import {
  CALL_LOCAL, CLS_JMP, CLS_JMP32, JMP_CALL, JMP_EXIT, OP, cls as opClass, isWide, jmpOp, jumpTarget,
} from './opcodes';
import type { Program } from './program';

/** A program cut into basic blocks, with the back edges the loop forms need. */
export class BasicBlocks {
  /** Number of blocks. */
  readonly count: number;
  /** First instruction of each block. */
  readonly starts: number[] = [];
  /** Block index for each instruction index that starts a block, else −1. */
  readonly blockOf: Int32Array;
  /** Instructions in each block (a wide load counts once): what its entry takes from the budget. */
  readonly blockLen: Int32Array;
  /** The last block jumping back to each block, or −1. */
  readonly lastBackEdge: Int32Array;
  /** 1 for each block whose last instruction jumps to its own start. */
  readonly selfLoop: Uint8Array;

  constructor(private readonly p: Program, entries: number[] = []) {
    const n = p.length;
    const leader = new Uint8Array(n + 1);
    leader[0] = 1;
    for (const e of entries) if (e >= 0 && e < n) leader[e] = 1;
    for (let pc = 0; pc < n; pc++) {
      const op = p.opcode[pc];
      if (isWide(op)) { pc++; continue; }
      const cls = opClass(op);
      if (cls !== CLS_JMP && cls !== CLS_JMP32) continue;
      const code = jmpOp(op);
      if (code === JMP_CALL) { // call: return point, and local-call target
        leader[pc + 1] = 1;
        if (op === OP.CALL && p.src[pc] === CALL_LOCAL) leader[jumpTarget(op, pc, 0, p.imm[pc])] = 1;
        continue;
      }
      leader[pc + 1] = 1;
      if (code === JMP_EXIT) continue; // exit
      leader[jumpTarget(op, pc, p.offset[pc], p.imm[pc])] = 1;
    }
    this.blockOf = new Int32Array(n).fill(-1);
    for (let pc = 0; pc < n; pc++) if (leader[pc]) { this.blockOf[pc] = this.starts.length; this.starts.push(pc); }
    const nb = this.count = this.starts.length;

    this.blockLen = new Int32Array(nb);
    for (let b = 0; b < nb; b++) {
      for (let pc = this.starts[b]; pc < this.end(b); pc += isWide(p.opcode[pc]) ? 2 : 1) this.blockLen[b]++;
    }

    // The last block jumping back to each block, and which blocks jump to their own start (one
    // pass: a scan per head would be quadratic).
    this.lastBackEdge = new Int32Array(nb).fill(-1);
    this.selfLoop = new Uint8Array(nb);
    for (let x = 0; x < nb; x++) {
      const e = this.end(x);
      let pc = this.starts[x];
      while (pc + (isWide(p.opcode[pc]) ? 2 : 1) < e) pc += isWide(p.opcode[pc]) ? 2 : 1;
      const op = p.opcode[pc], cls = opClass(op), code = jmpOp(op);
      if ((cls !== CLS_JMP && cls !== CLS_JMP32) || code === JMP_CALL || code === JMP_EXIT) continue;
      const tb = this.blockOf[jumpTarget(op, pc, p.offset[pc], p.imm[pc])];
      if (tb <= x) this.lastBackEdge[tb] = x;
      if (tb === x) this.selfLoop[x] = 1;
    }
  }

  /** One past the last instruction of block `b`. */
  end(b: number): number { return b + 1 < this.count ? this.starts[b + 1] : this.p.length; }
}
