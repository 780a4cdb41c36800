/**
 * The run state of one container instance (Machine): registers as two Int32Array halves, pc,
 * budgets, call frames, the program decoded once into one Int32Array (with fused pairs), and the
 * fault record. Also the status codes and fault kinds the run loops (vm/interpreter.ts and the
 * compiled tier) return and record instead of throwing.
 */
import type { Memory } from './memory';
import { FaultKind } from './fault-kinds';
import { Opcode } from './opcodes';
import type { Program } from './program';

export const STATUS_EXIT = 0;
export const STATUS_FAULT = 1;
export const STATUS_SUSPEND = 2;
export type Status = typeof STATUS_EXIT | typeof STATUS_FAULT | typeof STATUS_SUSPEND;

/** Budgets above this are handed to the loop in chunks of it (the largest V8 small integer). */
export const BUDGET_CHUNK = 0x3fffffff;

/**
 * Fused pairs: a loop's counter update and its conditional jump run as one dispatch. The first
 * slot of the pair gets one of these codes (bytes of class LD that no verified program contains);
 * the jump keeps its own slot, so a jump into the middle of the pair still runs the jump alone.
 * Both instructions count against the budgets and profiles exactly as when run one by one, and
 * so do the three of a fused triple.
 */
export const enum Fused {
  ADD64_IMM_JNE_IMM = 0x60,
  ADD64_IMM_JLT_IMM = 0x68,
  ADD64_IMM_JGT_IMM = 0x70,
  SUB64_IMM_JNE_IMM = 0x78,
  SUB64_IMM_JLT_IMM = 0x80,
  SUB64_IMM_JGT_IMM = 0x88,
  ADD64_REG_JNE_IMM = 0x90,
  ADD64_REG_JLT_IMM = 0x98,
  ADD64_REG_JGT_IMM = 0xa0,
  // Triples: a 64-bit add of a constant, then one of the pairs above at i + 1 (the sum loop's and
  // Fletcher-32's loop tails). The pair's slot keeps its own code, so a jump to i + 1 runs the pair.
  ADD64_IMM_ADD64_REG_JLT_IMM = 0xa8,
  ADD64_IMM_SUB64_IMM_JNE_IMM = 0xb0,
}

/** [first, second, fused] for every fused pair. */
const FUSED_PAIRS: readonly (readonly [Opcode, Opcode, Fused])[] = [
  [Opcode.ADD64_IMM, Opcode.JNE_IMM, Fused.ADD64_IMM_JNE_IMM],
  [Opcode.ADD64_IMM, Opcode.JLT_IMM, Fused.ADD64_IMM_JLT_IMM],
  [Opcode.ADD64_IMM, Opcode.JGT_IMM, Fused.ADD64_IMM_JGT_IMM],
  [Opcode.SUB64_IMM, Opcode.JNE_IMM, Fused.SUB64_IMM_JNE_IMM],
  [Opcode.SUB64_IMM, Opcode.JLT_IMM, Fused.SUB64_IMM_JLT_IMM],
  [Opcode.SUB64_IMM, Opcode.JGT_IMM, Fused.SUB64_IMM_JGT_IMM],
  [Opcode.ADD64_REG, Opcode.JNE_IMM, Fused.ADD64_REG_JNE_IMM],
  [Opcode.ADD64_REG, Opcode.JLT_IMM, Fused.ADD64_REG_JLT_IMM],
  [Opcode.ADD64_REG, Opcode.JGT_IMM, Fused.ADD64_REG_JGT_IMM],
];
const FUSE = new Map(FUSED_PAIRS.map(([a, b, f]) => [(a << 8) | b, f]));
/** [first, pair at i + 1, fused] for every fused triple. */
const FUSED_TRIPLES: readonly (readonly [Opcode, Fused, Fused])[] = [
  [Opcode.ADD64_IMM, Fused.ADD64_REG_JLT_IMM, Fused.ADD64_IMM_ADD64_REG_JLT_IMM],
  [Opcode.ADD64_IMM, Fused.SUB64_IMM_JNE_IMM, Fused.ADD64_IMM_SUB64_IMM_JNE_IMM],
];

/** Opcode used for the sentinel slot after the program: not a valid instruction. */
const SENTINEL = 0x00;

// Fault kinds the loops record (one definition for both tiers); the Vm maps them to VmFault objects.
export { FaultKind };

/**
 * Called for `call imm` (src 0) and `callx`: the host's helper dispatcher. Returns a status;
 * STATUS_EXIT means "continue" here.
 */
export type HelperDispatch = (m: Machine, id: number, pc: number) => Status;

export interface MachineOptions {
  /** Faults on division/modulo by zero (riot-2022) instead of RFC 9669's 0 / dividend. */
  divZeroFaults: boolean;
  /** Bytes of stack per call frame. */
  frameSize: number;
  /** Maximum depth of program-local calls. */
  maxCallDepth: number;
  /** Run fused pairs (see Fused) as one dispatch; default true (false: tests compare both). */
  fuse?: boolean;
}

/** The complete run state of one container instance: registers, pc, memory, call frames. */
export class Machine {
  readonly lo = new Int32Array(11);
  readonly hi = new Int32Array(11);
  pc = 0;
  /** Remaining instruction budget of the current slice. */
  budget = 0;
  /** Remaining taken-branch budget of the current slice. */
  branchBudget = 0;
  /** Taken branches of the slice not yet handed to the loop (see BUDGET_CHUNK). */
  branchExtra = 0;
  /** BUDGET_CHUNK; tests lower it to cross chunk boundaries in a few instructions. */
  budgetChunk = BUDGET_CHUNK;
  /** Instructions executed in the current slice. */
  executed = 0;
  depth = 0;
  /** Virtual bases of .data and .rodata, for RIOT's 0xB8/0xD8 wide loads. */
  dataBase = 0;
  rodataBase = 0;
  // Per frame: return pc, r6..r10 (lo, hi).
  readonly framePc: Int32Array;
  readonly frameRegs: Int32Array;

  /**
   * The program decoded once: two words per slot, `opcode | dst << 8 | src << 12 | offset << 16`
   * and imm (one load gives every field but imm). One sentinel slot after the program.
   */
  readonly code: Int32Array;

  /**
   * Optional execution profile for the cost model: executions per pc, and taken conditional
   * jumps per pc. Null when not profiling (one predictable branch per instruction).
   */
  counts: Int32Array | null = null;
  taken: Int32Array | null = null;

  // Fault record (valid after STATUS_FAULT).
  faultKind: FaultKind = FaultKind.None;
  faultPc = 0;
  faultAddress = 0n;
  faultSize = 0;
  faultWrite = false;
  /** Set by the helper dispatcher when it returns STATUS_FAULT. */
  helperFault: unknown = undefined;

  constructor(
    program: Program,
    readonly mem: Memory,
    readonly helper: HelperDispatch,
    readonly opts: MachineOptions,
  ) {
    const n = program.length;
    // One sentinel slot: a verified program never reaches it; if it did, it is a clean fault.
    this.code = new Int32Array(2 * (n + 1));
    for (let i = 0; i < n; i++) {
      this.code[2 * i] = program.opcode[i] | (program.dst[i] << 8) | (program.src[i] << 12) | (program.offset[i] << 16);
      this.code[2 * i + 1] = program.imm[i];
    }
    this.code[2 * n] = SENTINEL;
    // Pairs first, from the end, so that a triple sees whether a pair starts after it.
    for (let i = n - 2; opts.fuse !== false && i >= 0; i--) {
      const pair = FUSE.get((program.opcode[i] << 8) | program.opcode[i + 1]);
      if (pair !== undefined) { this.code[2 * i] = (this.code[2 * i] & ~0xff) | pair; continue; }
      const next = this.code[2 * i + 2] & 0xff;
      const triple = FUSED_TRIPLES.find(([a, b]) => a === program.opcode[i] && b === next);
      if (triple) this.code[2 * i] = (this.code[2 * i] & ~0xff) | triple[2];
    }
    this.framePc = new Int32Array(opts.maxCallDepth);
    this.frameRegs = new Int32Array(opts.maxCallDepth * 10);
  }
}
