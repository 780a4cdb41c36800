/**
 * Stand-in for `femto device` in child processes until the command is registered in
 * lib/cli/main.ts (util.ts switches to the real CLI as soon as it is): runs deviceCommand with
 * this process's arguments and exits with its code.
 */
import { deviceCommand } from '../../../lib/cli/device';
import { messageFor, exitCodeFor } from '../../../lib/cli/io';

deviceCommand(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(messageFor(e) + '\n');
    process.exit(exitCodeFor(e));
  },
);
