/**
 * @node-red/util — Node-RED's own message utilities (property paths, typed inputs, cloning) — for
 * code that runs outside the Node-RED runtime: lib/node-support's logic when no node hands it
 * RED.util, and the `femto` CLI. Loaded on first use: it brings i18next and moment-timezone (about
 * 100 ms), which a command that never touches a message should not pay for. Inside Node-RED the
 * nodes pass RED.util's functions (the runtime's own copy of the same package) instead.
 */
import type { util as Util } from '@node-red/util';

export type NodeRedUtil = typeof Util;

export function nodeRedUtil(): NodeRedUtil {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('@node-red/util') as typeof import('@node-red/util')).util;
}
