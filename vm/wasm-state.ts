/**
 * The compiled tier's fixed layout, shared by the translator's parts and vm/compiled-tier.ts: the
 * state area at the start of the WebAssembly memory (registers, budget, fault record, call frames),
 * the compiled function's return codes, its local variables and the module's function indexes.
 * The fault kinds it reports are vm/fault-kinds.ts's, as the interpreter's are.
 */
import { I32, I64, type ValType } from './wasm-encoder';

/** Layout of the state area at the start of the WebAssembly memory (bytes). */
export const H = {
  REGS: 0, // r0..r10, i64 each
  FAULT_ADDR: 96, // i64
  FAULT_SIZE: 104, // i32
  FAULT_KIND: 108, // i32 (FaultKind)
  FAULT_WRITE: 112, // i32
  PC: 116, // i32: pc where a bail resumes / a fault happened
  DEPTH: 120, // i32: local-call depth
  LEFT: 128, // i64: remaining instruction budget
  LK_BASE: 136, // i64: region found by the last lookup: virtual base
  LK_OFF: 144, // i32: its offset in the buffer
  LK_LIMIT: 152, // i64 × 4: for access sizes 1, 2, 4, 8: max(0, size − n + 1)
  BRANCHES: 184, // i64: remaining taken-branch budget (riot-2022; only with CompileOptions.countBranches)
  FRAMES: 256, // per frame: ret pc i32, ret block i32, r6..r10 i64
} as const;
export const FRAME_BYTES = 48;
export const stateBytes = (maxCallDepth: number): number => (H.FRAMES + FRAME_BYTES * maxCallDepth + 63) & ~63;

/** Return codes of the compiled function. */
export const C_EXIT = 0;
export const C_FAULT = 1;
export const C_SUSPEND = 2;
export const C_BAIL = 3;

// Local variable indexes.
export const P_BLOCK = 0; // i32 param
export const L_LEFT = 1; // i64
export const R0 = 2; // r0..r10 → 2..12
export const L_ADDR = 13; // i64: the effective address of the access being checked
export const L_SCRATCH64 = 14; // i64 scratch: an address minus a region's base, an atomic's old value
// One-entry region caches, read and write: base (i64), limits for sizes 1/2/4/8 (i64), buffer
// offset (i32). An access [a, a+n) hits when (a − base) <u limit_n, limit_n = max(0, size−n+1):
// one subtraction and one unsigned compare, with no wrap-around case (a below the base or above
// 4 GiB gives a huge difference; a limit of 0 never hits).
export const C_READ = { base: 15, limit: [16, 17, 18, 19], off: 29 };
export const C_WRITE = { base: 20, limit: [21, 22, 23, 24], off: 30 };
export const L_K = 25; // i32
export const L_DEPTH = 26; // i32
export const L_SCRATCH32 = 27; // i32 scratch: a helper's status, a 32-bit divisor, a counter
export const L_UNUSED32 = 28; // i32, declared but not used (kept so the other locals keep their indexes)
export const L_STATUS = 31, L_OUTPC = 32, L_FINFO = 33; // i32: what the shared epilogue reports
// Fast self-loops (see fastLoopPlan): budget floor and a scratch (i64: an access's distance from
// its region's base, the budget a pass leaves), iteration counter and one
// precomputed buffer displacement per memory access (i32).
export const L_FLOOR = 34, L_LOOP_SCRATCH64 = 35;
export const L_ITER = 36;
export const L_DISP = 37;
export const MAX_FAST_ACCESSES = 8;
// The unrolled passes of a fast self-loop (emitFastGroups): each access's buffer address in the
// group's first (or, moving down, last) iteration (i32).
export const L_PTR = L_DISP + MAX_FAST_ACCESSES;
export const LOCALS: ValType[] = [...Array(24).fill(I64), ...Array(9).fill(I32), I64, I64, ...Array(1 + 2 * MAX_FAST_ACCESSES).fill(I32)];
// Taken branches left (i64), declared only when counting them (so other modules stay as they were).
export const L_BRANCHES = 1 + LOCALS.length;
export const sizeIndex = (n: number): number => (n === 1 ? 0 : n === 2 ? 1 : n === 4 ? 2 : 3);

// Function indexes: imports first.
export const F_HELPER = 0; // (id i32, pc i32) → status i32
export const F_LOOKUP = 1; // (addr i32, size i32, perm i32) → region index or −1
export const F_BSWAP32 = 3; // defined after run (index 2)

export const reg = (r: number): number => R0 + r;
