/**
 * Which board a femto-sensor or femto-store node names, for the nodes that need an emulated one:
 * on a remote board femto-sensor shows a grey ring "remote board: not emulated" and refuses input
 * with one sentence naming the board; femto-store reads a remote board's stores only.
 */
import type { NodeStatus } from './status';
import type { RemoteCapableBoardNode } from './remote-link';

/**
 * The board a femto-sensor or femto-store node names: an emulated one, a remote one (whose SAUL
 * devices a flow cannot reach, and whose stores it can only read: the device protocol has no
 * resource for more), or none (missing, or its settings failed). `label` names a remote board
 * with its address, once.
 */
export type BoardRef<B> =
  | { kind: 'emulated'; board: B }
  | { kind: 'remote'; name: string; url: string; label: string }
  | { kind: 'none'; failure?: string };

export function boardRef<B>(node: (RemoteCapableBoardNode & { board?: B }) | null | undefined): BoardRef<B> {
  if (node?.board) return { kind: 'emulated', board: node.board };
  if (node?.remote) {
    const url = node.remote.url;
    const label = node.boardName && node.boardName !== url.replace(/^coap:\/\//, '') ? `${node.boardName} (${url})` : url;
    return { kind: 'remote', name: node.boardName, url, label };
  }
  return { kind: 'none', failure: node?.failure };
}

/** Status of a femto-sensor node on a remote board: inactive, not broken. */
export function notEmulatedStatus(text = 'remote board: not emulated'): NodeStatus {
  return { fill: 'grey', shape: 'ring', text };
}
