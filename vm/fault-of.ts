/**
 * The VmFault of a run that ended in a fault: the interpreter and the compiled tier only record a
 * fault kind and its facts on the Machine (no allocation, no throw in the loop); this turns them
 * into the typed error with RIOT's code, a reason in words and the faulting instruction.
 */
import { FaultCode, VmFault } from './errors';
import { FaultKind, type Machine } from './interpreter';
import { disassembleInsn } from './disassembler';
import type { Memory } from './memory';
import type { Program } from './program';

/** The fault of machine `m` after a faulting run with instruction budget `budget`. */
export function faultOf(m: Machine, program: Program, memory: Memory, budget: number, branchBudget: number): VmFault {
  const pc = m.faultPc;
  const text = pc < program.length ? disassembleInsn(program.insn(pc), pc) : undefined;
  switch (m.faultKind) {
    case FaultKind.Mem: {
      const addr = m.faultAddress;
      const access = m.faultWrite ? 'write' : 'read';
      const a32 = addr <= 0xffffffffn ? Number(addr) : -1;
      const why = a32 >= 0 ? memory.explain(a32, m.faultSize, m.faultWrite ? 2 : 1) : 'address above 4 GiB';
      const addrText = '0x' + addr.toString(16);
      return new VmFault(FaultCode.ILLEGAL_MEM, `${access} ${addrText} (${m.faultSize} B): ${why}`, pc, text,
        { address: addrText, size: m.faultSize, access });
    }
    case FaultKind.Budget:
      return new VmFault(FaultCode.OUT_OF_BUDGET, `instruction budget of ${budget} exhausted`, pc, text, { budget: 'instructions', limit: budget });
    case FaultKind.BranchBudget:
      return new VmFault(FaultCode.OUT_OF_BUDGET, `taken-branch budget of ${branchBudget} exhausted`, pc, text, { budget: 'taken branches', limit: branchBudget });
    case FaultKind.DivZero:
      return new VmFault(FaultCode.ILLEGAL_DIV, 'division by zero', pc, text);
    case FaultKind.CallDepth:
      return new VmFault(FaultCode.ILLEGAL_CALL, `local calls nested deeper than ${m.opts.maxCallDepth}`, pc, text);
    case FaultKind.Helper:
      if (m.helperFault instanceof VmFault) return m.helperFault;
      return new VmFault(FaultCode.ILLEGAL_CALL, String(m.helperFault), pc, text);
    default:
      return new VmFault(FaultCode.ILLEGAL_INSTRUCTION, pc >= program.length ? 'ran past the end of the program' : 'illegal instruction', pc, text);
  }
}
