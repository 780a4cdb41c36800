/**
 * The emulated board of a femto-sensor or femto-store node. The sensor node works on SAUL devices
 * living in this process; a remote femto-board has none here and its device protocol offers no
 * resource for them, so on one the node says so ("remote board: not emulated", grey ring:
 * inactive rather than broken) and answers each input with one sentence naming the board.
 * (femto-store hands remote boards to nodes/remote-store.ts before it asks for an emulated one.)
 * A missing board, or one whose settings failed, stays "no board". Not a node file itself.
 */
import type { Board } from '../lib/board/board';
import { boardRef, notEmulatedStatus } from '../lib/node-support/board-ref';
import type { RemoteCapableBoardNode } from '../lib/node-support/remote-link';
import type { FemtoBoardNode, Node, Translate } from './red';


/**
 * The board to work on, or undefined once the node's status and input handler say why there is
 * none (the node's catalogue holds its sentence for a remote board, errors.remoteBoard).
 */
export function emulatedBoard(node: Node, boardNode: FemtoBoardNode | null, t: Translate): Board | undefined {
  const ref = boardRef<Board>(boardNode as (FemtoBoardNode & RemoteCapableBoardNode) | null);
  if (ref.kind === 'emulated') return ref.board;
  let message: string;
  if (ref.kind === 'remote') {
    node.status(notEmulatedStatus(t('status.remoteBoard')));
    message = t('errors.remoteBoard', { board: ref.label });
  } else {
    node.status({ fill: 'red', shape: 'ring', text: 'no board' });
    message = t('errors.noBoard');
  }
  node.on('input', (_m, _s, done) => done(new Error(message)));
  node.on('close', (_removed: boolean, done: () => void) => {
    node.status({});
    done();
  });
  return undefined;
}
