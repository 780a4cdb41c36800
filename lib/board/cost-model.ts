/**
 * Estimated run time of a container on the board's real MCU (ARCHITECTURE.md § Boards and the cost model): count instructions by
 * class, multiply by the measured µs per instruction of that class, sum. Always an *estimate*:
 * every result carries `estimated: true` and the label says so.
 *
 * Per-class figures (µs per instruction at 64 MHz, Femto-Container interpreter) are the table in ARCHITECTURE.md § Boards and the cost model
 * table: Cortex-M4 from the Middleware 2022 artifact's nRF52840 run, ESP32 and RISC-V from the
 * CertFC artifact's jump-table runs of the same VM. `native` has no such table; it uses one flat
 * figure, 0.005 µs per instruction (≈ 200 M instructions/s: the uBPF C interpreter on a host like
 * ours, ARCHITECTURE.md § Reference numbers), because RIOT native runs the same C interpreter on the host CPU.
 *
 * Mapping of every opcode onto the 11 measured classes (the table has no row for most opcodes, so
 * each takes the row whose interpreter work is closest):
 *   ALU/ALU64 add sub or and xor mov neg, register source  → alu_reg   (one register op)
 *   the same with an immediate                              → alu_imm
 *   mul (reg or imm, 32/64)                                  → mul_imm
 *   lsh rsh arsh (reg or imm), le/be/bswap                   → shift_imm (byte swaps are shifts)
 *   div mod sdiv smod (reg or imm)                           → div_imm
 *   ldx (1–8 bytes, sign-extending too), atomics             → load_dw   (a checked memory access;
 *                                                              an atomic's read dominates)
 *   lddw 0x18, RIOT's 0xB8/0xD8                              → alu_imm   (register ← constant
 *                                                              (+ section base); no memory access)
 *   st (immediate to memory)                                 → store_imm
 *   stx (register to memory)                                 → store_reg
 *   ja, ja32, exit, call (helper or local), callx            → ja        (dispatch + pc change; a
 *                                                              helper's own work is not modelled)
 *   conditional jumps (64 and 32-bit), taken / not taken     → jcond_taken / jcond_not_taken
 * Any slot the interpreter never decodes (second half of a wide load) has count 0.
 *
 * Per-board calibration (ARCHITECTURE.md § Boards and the cost model). The per-class figures come from single-instruction loops
 * and under-predict whole programs (instruction fetch and dispatch, branch refills, helper calls).
 * So an estimate is
 *
 *     factor(board) × Σ count(class) × figure(board, class)  +  run overhead
 *
 * where the run overhead is the paper's empty hook, ≈100 cycles at 64 MHz (1.5625 µs, not fitted),
 * and `factor` is fitted to the paper's three whole-program measurements on Femto-Containers
 * (Fig. 9, read from the chart): Fletcher-32 over 360 B, the thread-counter hook and the CoAP
 * response formatter (PAPER_WHOLE_PROGRAM_US), with our own containers for them
 * (test/c/fletcher32.c, lib/containers/thread_counter.c, lib/containers/coap_formatter.c, clang
 * -O2, riot-2022). One factor per board, three measurements: the fit cannot hide its error. The
 * fit minimises the largest relative error (fitFactor); the errors it leaves, per board
 * (Fletcher-32 / thread counter / CoAP formatter, clang 14):
 *   Cortex-M4   +1.0 % / −18.9 % / +19.4 %     factor 1.928
 *   ESP32       +6.7 % / +19.4 % / −21.2 %     factor 1.624
 *   RISC-V     −24.1 % / −14.6 % / +22.6 %     factor 1.122
 * test/lib/board/cost-model.test.ts recomputes the counts, refits, checks the factors below are
 * that fit and that every error stays within ±25 %, and prints the errors. A single factor cannot
 * do better: the three programs' measured-to-summed ratios differ by that much on each board
 * (e.g. on RISC-V the CoAP formatter runs faster than its summed figures, Fletcher-32 1.5× slower).
 * `native` has no whole-program measurement: factor 1, no overhead.
 */
import {
  ALU_ADD, ALU_AND, ALU_END, ALU_LSH, ALU_MOV, ALU_MUL, ALU_NEG, ALU_OR, ALU_RSH,
  ALU_ARSH, ALU_SUB, ALU_XOR, CLS_ALU, CLS_ALU64, CLS_JMP, CLS_JMP32, CLS_LD, CLS_LDX, CLS_ST, CLS_STX,
  JMP_CALL, JMP_EXIT, JMP_JA, MODE_ATOMIC, aluOp, cls, isSrcX, jmpOp, memMode,
} from '../../vm/opcodes';
import { isDivision } from '../../vm/division';
import type { Program } from '../../vm/program';
import type { CostColumn } from './profiles';

export const COST_CLASSES = [
  'alu_reg', 'alu_imm', 'mul_imm', 'shift_imm', 'div_imm', 'load_dw', 'store_imm', 'store_reg',
  'ja', 'jcond_taken', 'jcond_not_taken',
] as const;
export type CostClass = (typeof COST_CLASSES)[number];

/** Per-class row labels (ARCHITECTURE.md § Boards and the cost model), for display. */
export const COST_CLASS_LABEL: Record<CostClass, string> = {
  alu_reg: 'ALU add (reg)', alu_imm: 'ALU add imm', mul_imm: 'mul imm', shift_imm: 'shift imm',
  div_imm: 'div imm', load_dw: 'load dw', store_imm: 'store dw imm', store_reg: 'store dw reg',
  ja: 'ja', jcond_taken: 'jeq taken', jcond_not_taken: 'jeq not taken',
};

/** µs per instruction at 64 MHz (ARCHITECTURE.md § Boards and the cost model). */
export const COST_TABLE: Readonly<Record<CostColumn, Readonly<Record<CostClass, number>>>> = {
  'cortex-m4': {
    alu_reg: 0.446, alu_imm: 0.524, mul_imm: 0.571, shift_imm: 0.603, div_imm: 2.056, load_dw: 1.149,
    store_imm: 1.071, store_reg: 1.134, ja: 0.446, jcond_taken: 0.727, jcond_not_taken: 0.509,
  },
  esp32: {
    alu_reg: 0.6, alu_imm: 0.533, mul_imm: 0.498, shift_imm: 0.648, div_imm: 1.481, load_dw: 0.968,
    store_imm: 1.085, store_reg: 0.956, ja: 0.427, jcond_taken: 0.862, jcond_not_taken: 0.639,
  },
  riscv: {
    alu_reg: 0.425, alu_imm: 0.358, mul_imm: 0.407, shift_imm: 0.531, div_imm: 2.271, load_dw: 0.598,
    store_imm: 0.696, store_reg: 0.617, ja: 0.3, jcond_taken: 0.463, jcond_not_taken: 0.31,
  },
  native: Object.fromEntries(COST_CLASSES.map((c) => [c, 0.005])) as Record<CostClass, number>,
};

/** The paper's whole-program measurements on Femto-Containers, µs at 64 MHz (ARCHITECTURE.md § Boards and the cost model). */
export const PAPER_WHOLE_PROGRAM_US: Readonly<Record<Exclude<CostColumn, 'native'>, Readonly<Record<WholeProgram, number>>>> = {
  'cortex-m4': { fletcher32: 2230, threadCounter: 27, coapFormatter: 50 },
  esp32: { fletcher32: 2010, threadCounter: 15, coapFormatter: 72 },
  riscv: { fletcher32: 1350, threadCounter: 10.4, coapFormatter: 23 },
};
export type WholeProgram = 'fletcher32' | 'threadCounter' | 'coapFormatter';
export const WHOLE_PROGRAMS: readonly WholeProgram[] = ['fletcher32', 'threadCounter', 'coapFormatter'];

/** The paper's empty hook, ≈100 cycles at 64 MHz: the fixed cost of one run (µs). */
export const RUN_OVERHEAD_US = 100 / 64;

export interface Calibration {
  /** Multiplies the per-class sum (fitted, see the header comment). */
  factor: number;
  /** Added once per run that executed anything (µs). */
  runOverheadUs: number;
}

/** Per-board calibration (header comment: how it was fitted and the errors it leaves). */
export const CALIBRATION: Readonly<Record<CostColumn, Calibration>> = {
  'cortex-m4': { factor: 1.928, runOverheadUs: RUN_OVERHEAD_US },
  esp32: { factor: 1.624, runOverheadUs: RUN_OVERHEAD_US },
  riscv: { factor: 1.122, runOverheadUs: RUN_OVERHEAD_US },
  native: { factor: 1, runOverheadUs: 0 },
};

/**
 * The factor that minimises the largest relative error over whole programs, given each one's
 * per-class sum (µs, uncalibrated) and its measured time: with r = (measured − overhead) / sum per
 * program, the error of factor k is k / r − 1, and the best k balances the smallest and largest r.
 */
export function fitFactor(samples: readonly { sumUs: number; measuredUs: number }[], runOverheadUs = RUN_OVERHEAD_US): number {
  const r = samples.map((x) => (x.measuredUs - runOverheadUs) / x.sumUs);
  return 2 / (1 / Math.min(...r) + 1 / Math.max(...r));
}

/** Per-class µs per instruction with the board's calibration factor applied. */
export function calibratedFigures(column: CostColumn): Record<CostClass, number> {
  const k = CALIBRATION[column].factor;
  return Object.fromEntries(COST_CLASSES.map((c) => [c, COST_TABLE[column][c] * k])) as Record<CostClass, number>;
}

export const COST_COLUMN_LABEL: Record<CostColumn, string> = {
  'cortex-m4': 'Cortex-M4 @ 64 MHz',
  esp32: 'ESP32 @ 64 MHz',
  riscv: 'RISC-V @ 64 MHz',
  native: 'host (native)',
};

/** Static class of the instruction at `pc`; conditional jumps report 'jcond_taken' (split by counts). */
export function classifyInsn(opcode: number): CostClass {
  const c = cls(opcode);
  switch (c) {
    case CLS_ALU:
    case CLS_ALU64: {
      const op = aluOp(opcode);
      if (op === ALU_MUL) return 'mul_imm';
      if (isDivision(opcode)) return 'div_imm';
      if (op === ALU_LSH || op === ALU_RSH || op === ALU_ARSH || op === ALU_END) return 'shift_imm';
      if (op === ALU_NEG) return 'alu_reg';
      if ([ALU_ADD, ALU_SUB, ALU_OR, ALU_AND, ALU_XOR, ALU_MOV].includes(op)) return isSrcX(opcode) ? 'alu_reg' : 'alu_imm';
      return 'alu_imm';
    }
    case CLS_LD: return 'alu_imm'; // lddw and RIOT's 0xB8/0xD8
    case CLS_LDX: return 'load_dw';
    case CLS_ST: return 'store_imm';
    case CLS_STX: return memMode(opcode) === MODE_ATOMIC ? 'load_dw' : 'store_reg';
    case CLS_JMP:
    case CLS_JMP32: {
      const op = jmpOp(opcode);
      if (op === JMP_JA || op === JMP_EXIT || op === JMP_CALL) return 'ja';
      return 'jcond_taken';
    }
    default: return 'alu_imm';
  }
}

export type ClassCounts = Record<CostClass, number>;

export function emptyCounts(): ClassCounts {
  return Object.fromEntries(COST_CLASSES.map((c) => [c, 0])) as ClassCounts;
}

/** Instruction counts by class from the VM's per-pc counters (RunResult.pcCounts / pcTaken). */
export function countByClass(program: Program, pcCounts: ArrayLike<number>, pcTaken?: ArrayLike<number>, into = emptyCounts()): ClassCounts {
  const n = Math.min(program.length, pcCounts.length);
  for (let pc = 0; pc < n; pc++) {
    const k = pcCounts[pc];
    if (!k) continue;
    const cl = classifyInsn(program.opcode[pc]);
    if (cl === 'jcond_taken') {
      const taken = Math.min(k, pcTaken?.[pc] ?? 0);
      into.jcond_taken += taken;
      into.jcond_not_taken += k - taken;
    } else {
      into[cl] += k;
    }
  }
  return into;
}

export interface CostEstimate {
  estimated: true;
  column: CostColumn;
  /** e.g. "≈2,162 µs on Cortex-M4 @ 64 MHz (estimated)". */
  label: string;
  us: number;
  byClass: ClassCounts;
  insns: number;
}

/** Σ count × per-class figure, without calibration (what the factor is fitted on). */
export function sumUs(byClass: ClassCounts, column: CostColumn): number {
  const t = COST_TABLE[column];
  let us = 0;
  for (const c of COST_CLASSES) us += byClass[c] * t[c];
  return us;
}

/** Estimated µs: calibrated per-class sum plus the run overhead (when anything ran). */
export function estimateUs(byClass: ClassCounts, column: CostColumn): number {
  const cal = CALIBRATION[column];
  const sum = sumUs(byClass, column);
  const ran = COST_CLASSES.some((c) => byClass[c] > 0);
  return cal.factor * sum + (ran ? cal.runOverheadUs : 0);
}

export function estimate(byClass: ClassCounts, column: CostColumn): CostEstimate {
  const us = estimateUs(byClass, column);
  const insns = COST_CLASSES.reduce((s, c) => s + byClass[c], 0);
  return { estimated: true, column, us, byClass, insns, label: `≈${formatUs(us)} on ${COST_COLUMN_LABEL[column]} (estimated)` };
}

export function formatUs(us: number): string {
  if (us >= 1000) return `${(us / 1000).toFixed(us >= 10000 ? 1 : 2)} ms`;
  return `${us < 10 ? us.toFixed(2) : Math.round(us).toLocaleString('en-US')} µs`;
}
