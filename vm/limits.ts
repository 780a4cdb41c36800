/**
 * The VM's default instruction budget and the checks on budgets and time, in a module of its own
 * so that a tool can show the default (the CLI's help) without loading the VM, its interpreter
 * and its WebAssembly compiler.
 */
export const DEFAULT_BUDGET = 1_000_000;

/** A budget must be a whole number of instructions, 0 or more. */
export function checkBudget(b: number): number {
  if (!Number.isSafeInteger(b) || b < 0) throw new RangeError(`budget must be a whole number ≥ 0 (got ${b})`);
  return b;
}

/** Milliseconds for time slicing: performance.now where the host has it (Node, browsers). */
export function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}

/** Instructions per run so far (all of them while no run has ended): the auto tier's average rule. */
export function averageInsns(insns: number, runs: number): number {
  return runs > 0 ? insns / runs : insns;
}
