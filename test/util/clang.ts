/**
 * Whether clang (or FEMTO_CLANG) can be run here: tests that compile C containers skip with a
 * message when it cannot (CI installs it, so there they always run).
 */
import { execFileSync } from 'node:child_process';

export function hasClang(): boolean {
  try {
    execFileSync(process.env.FEMTO_CLANG ?? 'clang', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
