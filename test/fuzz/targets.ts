/**
 * Every fuzz target, in the order the runner round-robins them. Allowed errors per target:
 *
 * | target   | code under test                                  | may throw                                      |
 * |----------|--------------------------------------------------|------------------------------------------------|
 * | image    | vm/image.ts parseImage (+ build, Vm, run)        | FormatError('image'); VerifyError from new Vm  |
 * | elf      | vm/elf.ts loadElf (+ build, parse, Vm, run)      | FormatError('elf'), FormatError('image') from  |
 * |          |                                                  | buildImage; VerifyError from new Vm            |
 * | asm      | vm/assembler.ts assemble (+ disassembler trip)   | FormatError('asm'); VerifyError from new Vm    |
 * | verifier | vm/verifier.ts verify (+ interpreter run)        | nothing (verify returns rejections)            |
 * | interp   | vm/interpreter.ts vs the compiled tier / auto    | nothing (faults are results)                   |
 * | helpers  | lib/board/helpers.ts, printf.ts, coap.ts on a    | VerifyError/BoardError/FormatError at install, |
 * |          | Board                                            | BoardError('payload')                          |
 * | manifest | lib/deploy/manifest.ts verifyEnvelope/parse      | ManifestError                                  |
 * | coap     | lib/device/remote-device.ts + lib/coap on UDP    | CoAP error responses; no crash, no silent 5.00 |
 * | sandbox  | lib/node-support/sandbox.ts + compile-guard.ts   | SandboxError, SandboxCompileError,             |
 * |          | (clang; the early scan only without it)          | FormatError('elf') from the object loader      |
 * | walltime | time of sliced runs on a Board vs their counted  | nothing (a run's time is checked, not thrown)  |
 * |          | work (instructions, helper calls, console)       |                                                |
 */
import type { Target } from './engine';
import { asmTarget, elfTarget, imageTarget } from './targets-formats';
import { interpTarget, verifierTarget } from './targets-vm';
import { helpersTarget } from './targets-board';
import { coapTarget, manifestTarget } from './targets-deploy';
import { sandboxTarget } from './targets-sandbox';
import { walltimeTarget } from './targets-walltime';

export const TARGETS: readonly Target[] = [
  imageTarget, elfTarget, asmTarget, verifierTarget, interpTarget, helpersTarget, manifestTarget, coapTarget, sandboxTarget, walltimeTarget,
] as Target[];

export function targetByName(name: string): Target | undefined {
  return TARGETS.find((t) => t.name === name);
}
