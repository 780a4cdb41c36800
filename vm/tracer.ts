/**
 * A single-step tracer: runs one Vm an instruction at a time (deterministic one-instruction
 * slices on the interpreter) and records, for every step, the instruction executed and the
 * registers after it. The editor's Try panel shows the steps and walks forward and back through
 * them; the result is exactly what an unsliced run gives (slicing never changes a run's result).
 *
 * The trace is capped (`maxSteps`): a long loop is shown up to the cap and then run to its end in
 * one go, so the result stays the real one while the page keeps a bounded record.
 */
import { disassembleInsn } from './disassembler';
import { FaultCode } from './errors';
import type { RunOptions, RunResult, Vm } from './vm';

export interface TraceStep {
  /** Instruction index executed in this step. */
  pc: number;
  /** Its disassembly. */
  text: string;
  /** r0–r10 after the step (unsigned 64-bit). */
  regs: bigint[];
  /** Registers this step changed. */
  changed: number[];
}

export interface Trace {
  /** r0–r10 before the first instruction (r1 = context, r10 = frame pointer). */
  initial: bigint[];
  steps: TraceStep[];
  /** True when the run went on past `maxSteps` untraced. */
  truncated: boolean;
  /** The run's result, as Vm.run gives it. */
  result: RunResult;
}

export const DEFAULT_TRACE_STEPS = 5000;

/**
 * Run `vm` from its entry with `opts` and trace it. The Vm should use the interpreter (`tier:
 * 'interp'`); its slicing is set for the trace and restored afterwards.
 */
export function traceRun(vm: Vm, opts: RunOptions = {}, maxSteps = DEFAULT_TRACE_STEPS): Trace {
  const saved = vm.slicing;
  try {
    // A run with a budget of 0 sets the registers up (r1 = context, r10 = frame pointer) and
    // stops before the first instruction: nothing executes, so nothing changes.
    vm.slicing = undefined;
    vm.run({ ...opts, budget: 0 });
    const initial = vm.machineState.regs;
    vm.slicing = { insns: 1 };
    const steps: TraceStep[] = [];
    let pc = vm.entrySlot(opts.entry);
    let prev = initial;
    let truncated = false;
    let r = vm.run(opts);
    let total = 0;
    for (;;) {
      const after = vm.machineState;
      const ran = r.totalInsns - total;
      total = r.totalInsns;
      // Out of instructions: the run stopped before the instruction at the fault's pc.
      const stopped = r.fault?.code === FaultCode.OUT_OF_BUDGET && r.fault.reason.startsWith('instruction budget');
      if (ran > 0) {
        const at = r.fault && !stopped ? r.fault.pc : pc;
        steps.push(step(vm, at, after.regs, prev));
      }
      if (stopped && r.fault) steps.push(step(vm, r.fault.pc, after.regs, after.regs));
      if (r.status !== 'preempted') break;
      if (steps.length >= maxSteps) {
        truncated = true;
        vm.slicing = undefined;
        r = vm.continue();
        break;
      }
      pc = after.pc;
      prev = after.regs;
      r = vm.continue();
    }
    return { initial, steps, truncated, result: r };
  } finally {
    vm.slicing = saved;
  }
}

function step(vm: Vm, pc: number, regs: bigint[], prev: bigint[]): TraceStep {
  const changed: number[] = [];
  for (let i = 0; i < 11; i++) if (regs[i] !== prev[i]) changed.push(i);
  return { pc, text: pc < vm.program.length ? disassembleInsn(vm.program.insn(pc), pc) : '(past the end)', regs, changed };
}
