/**
 * The kinds of fault a run records on the Machine, shared by the interpreter and the compiled
 * tier (which writes them into its state area as numbers): one definition, so the two tiers cannot
 * disagree about what a number means. The Vm turns a kind into a VmFault with RIOT's error code.
 */
export const enum FaultKind {
  None = 0,
  Mem = 1,
  Budget = 2,
  BranchBudget = 3,
  DivZero = 4,
  CallDepth = 5,
  Helper = 6, // details in Machine.helperFault
  Illegal = 7,
}
