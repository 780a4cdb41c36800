/**
 * The VM's default instruction budget, in a module of its own so that a tool can show it (the
 * CLI's help) without loading the VM, its interpreter and its WebAssembly compiler.
 */
export const DEFAULT_BUDGET = 1_000_000;
