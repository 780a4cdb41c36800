/**
 * The compiled tier's translator: a verified program → one WebAssembly function with the eBPF
 * registers as i64 locals. Same semantics as interpreter.ts, instruction for instruction; the
 * differential tests hold the two together.
 *
 * Files: this one is the driver (options, the module around the `run` function) and the design
 * below; wasm-blocks.ts cuts the program into basic blocks, wasm-module-emitter.ts writes `run`
 * (dispatch, block bodies, calls, exits, epilogue), wasm-emit-loops.ts the loop copies and fast
 * self-loops, wasm-loop-plans.ts decides which accesses a loop may run unchecked,
 * wasm-emit-insn.ts ALU, compare and atomic emission, wasm-state.ts the fixed layout (state area,
 * return codes, locals), wasm-code.ts the instruction writer. Opcodes are named in opcodes.ts.
 *
 * Control flow. The program is cut into basic blocks (leaders: 0, entry points, jump and call
 * targets, and the instruction after any jump, call or exit). The function is the classic
 * "loop over nested blocks" shape:
 *
 *     loop $L
 *       block $B(n-1) … block $B1  block $B0  br_table(block index)  end
 *       code0  end  code1  end … code(n-1)
 *     end
 *
 * so a forward jump is a plain `br` to the block that ends right before its target, and only
 * backward jumps go round through `$L` and the br_table. A block that jumps to its own start (a
 * tight loop) is additionally wrapped in its own `loop`, so its back edge is a direct branch.
 *
 * Budget. Each block subtracts its length from the remaining budget on entry. When the rest of
 * the budget is smaller than the block, the code returns "bail" and the interpreter finishes the
 * run from that block's first instruction, which makes the fault point and the instruction count
 * exactly the interpreter's. A fault in the middle of a block gives back the instructions after
 * it, so counts match there too.
 *
 * Loop copies. Back edges through $L and the br_table cost a dispatch and make V8 merge every
 * local at $L's head, so an innermost call-free loop [h, t] also gets a structured copy at its
 * head (a wasm `loop` with local blocks for its forward jumps, the budget checked once per
 * pass); jumps out of it go to the checked code, which is unchanged (LoopCopies.emit). When some
 * of its accesses go through registers the loop moves only by constants, a second copy runs
 * them unchecked for as many passes as provably stay inside the cached regions, counted down
 * per pass, before the first copy takes over (LoopCopies, wasm-emit-loops.ts).
 *
 * Fast self-loops. A self-loop with no calls whose address registers only move by constants
 * (`add r1, 2`) also gets a fast version at its head: one check of each access's first address
 * against the region caches tells how many iterations stay inside those regions, and the loop
 * runs min(that, what the budget allows) iterations with no per-access checks and one compare
 * per iteration, then falls into the checked loop, which faults, bails or refills the caches
 * exactly as it always does. This is what brings Fletcher-32 from plain-JS speed to uBPF's JIT.
 * Before that loop, groups of eight iterations run while a whole group fits those bounds: the
 * budget taken once per group, and registers the loop only moves by constants and reads only as
 * addresses or in its closing jump left in place until the group ends (accesses become constant
 * offsets from one in-region address, the jump's compare adds the movement so far); a group left
 * by the closing jump moves them by the iterations it ran. A counted loop (`jne` on a counter
 * stepping by one) checks once per group that its counter cannot end within it and then runs the
 * group with no compare. That takes Fletcher-32 ×1e7 from 1.8× to about 1.1× native C.
 * That first address is computed in 64 bits like any other: a register's movement plus an offset
 * can pass ±2^31, and a 32-bit sum would fold an address 2^32 away onto a cached region.
 *
 * Memory. Every access computes the full 64-bit address and checks it against a one-entry cache
 * of the last read region and of the last written region (locals); a miss asks the host's
 * region lookup (an import), which also refuses addresses of 4 GiB and above. Helper calls go to
 * the host's dispatcher through an import, with all registers spilled to the state area first so
 * the helper sees them and a suspension keeps them.
 *
 * riot-2022 (CompileOptions.countBranches, divZeroFaults): every taken jump spends one of RIOT's
 * taken branches (a local i64 spilled to H.BRANCHES) and faults −8 at the jump when none is
 * left; a zero divisor faults −9 at the division, giving back the rest of its block like a
 * memory fault, so fault pc and counts are the interpreter's. Those programs get neither loop
 * copies nor fast self-loops (both skip per-jump work); a "no return" program that falls off its
 * last block bails to the interpreter at pc n, whose sentinel faults there. Per-instruction
 * counting for the cost model (countsOffset) works with every option: no program is
 * interpreter-only.
 */
import { I32, W, encodeModule } from './wasm-encoder';
import type { Program } from './program';
import { BasicBlocks } from './wasm-blocks';
import { Code } from './wasm-code';
import { ModuleEmitter } from './wasm-module-emitter';

export { C_BAIL, C_EXIT, C_FAULT, C_SUSPEND, FRAME_BYTES, H, stateBytes } from './wasm-state';

export interface CompileOptions {
  dataBase: number;
  rodataBase: number;
  frameSize: number;
  maxCallDepth: number;
  /** Extra instruction indexes execution may start at (exported functions). */
  entries?: number[];
  /**
   * Count block entries and taken conditional jumps (for the cost model) in two i32 arrays of
   * one slot per block at this byte offset of the memory: entries, then taken.
   */
  countsOffset?: number;
  /**
   * RIOT's taken-branch budget (riot-2022): every taken jump (conditional or `ja`) takes one from
   * H.BRANCHES and faults at the jump, after it, when none is left — as the interpreter does.
   */
  countBranches?: boolean;
  /** riot-2022: division and modulo by zero fault (−9) at the instruction instead of RFC 9669's results. */
  divZeroFaults?: boolean;
}

export interface CompiledModule {
  bytes: Uint8Array;
  /** Block index for each instruction index that starts a block, else −1. */
  blockOf: Int32Array;
  blockCount: number;
  /** Instructions in each block (what its entry subtracts from the budget). */
  blockLen: Int32Array;
  /** First instruction of each self-loop that got a fast version (see fastLoopPlan). */
  fastLoops: number[];
  /** First instruction of each fast self-loop that also runs in unrolled groups (emitFastGroups). */
  fastGroups: number[];
  /**
   * [first, end) instructions of each loop that got a structured copy (see LoopCopies.latch),
   * and how many of its accesses a counted number of passes runs unchecked (see rangeHoistPlan).
   */
  fastRanges: [number, number, number][];
}

/** Translate a verified rfc9669 program. Throws Error for anything it cannot take. */
export function compileToWasm(p: Program, opts: CompileOptions): CompiledModule {
  const blocks = new BasicBlocks(p, opts.entries);
  const emitter = new ModuleEmitter(p, opts, blocks);
  const run = emitter.emitRun();
  const bytes = encodeModule(
    [
      { module: 'env', name: 'helper', type: { params: [I32, I32], results: [I32] } },
      { module: 'env', name: 'lookup', type: { params: [I32, I32, I32], results: [I32] } },
    ],
    [run, { type: { params: [I32], results: [I32] }, locals: [], code: byteSwap32() }],
    1,
  );
  const { blockOf, blockLen, count: blockCount } = blocks;
  return { bytes, blockOf, blockCount, blockLen, fastLoops: emitter.fastLoops, fastGroups: emitter.fastGroups, fastRanges: emitter.fastRanges };
}

/** The body of the module's second function: a 32-bit byte swap (F_BSWAP32). */
function byteSwap32(): Uint8Array {
  const bswap = new Code();
  // ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)
  bswap.get(0).i32(0xff).op(W.i32_and).i32(24).op(W.i32_shl);
  bswap.get(0).i32(0xff00).op(W.i32_and).i32(8).op(W.i32_shl).op(W.i32_or);
  bswap.get(0).i32(8).op(W.i32_shr_u).i32(0xff00).op(W.i32_and).op(W.i32_or);
  bswap.get(0).i32(24).op(W.i32_shr_u).op(W.i32_or).op(W.end);
  return bswap.w.toBytes();
}
