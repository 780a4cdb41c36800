/**
 * A femto-store node on a remote femto-board: read-only (lib/node-support/remote-store). get and
 * list of the global store and of the local store of the board's slot are answered from a fresh
 * GET /femto/status (RemoteBoardLink.readFresh, the board's request timeout); set, delete, clear
 * and tenant stores are refused with one sentence; a device that does not answer turns the status
 * to "device not answering" (red ring) and the message goes to Catch nodes with the address and
 * the timeout. The device pushes no store changes, so "also send every change" is not available.
 * Not a node file itself: femto-store hands its nodes on remote boards to this module.
 */
import type { RemoteBoardLink, RemoteCapableBoardNode } from '../lib/node-support/remote-link';
import { isDeviceDown, readFailedStatus, readOnlyStatus, readRemoteStore, refusal, remoteReadErrorText, storesFromStatus, type StoreAction, type StoreScopeName } from '../lib/node-support/remote-store';
import type { Msg, Node, Translate } from './red';


export interface RemoteStoreOptions {
  scope: StoreScopeName;
  owner: string;
  action: StoreAction;
  watch: boolean;
  /** The key of a message (the node's key setting, msg.key, msg.topic); throws RangeError. */
  keyOf(msg: Msg): number;
}

export function remoteStore(node: Node, o: RemoteStoreOptions, boardNode: RemoteCapableBoardNode, link: RemoteBoardLink, t: Translate): void {
  const board = boardNode.boardName;
  const slot = link.settings.slot;
  const label = o.scope === 'global' ? 'global' : o.scope === 'local' ? `local .ram.${slot}` : `tenant ${o.owner}`;
  const idle = readOnlyStatus(o.action, o.scope, label);
  const refused = refusal(o.action, o.scope, board);
  let closed = false;
  node.status(idle);
  if (o.watch && !refused) {
    node.warn(t('errors.remoteWatch', { board }));
  }

  node.on('input', (msg, send, done) => {
    if (refused) {
      done(new Error(t(refused.key, refused.subs)));
      return;
    }
    let key: number | undefined;
    try {
      if (o.action === 'get') key = o.keyOf(msg);
    } catch (e) {
      done(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    const action = o.action as 'get' | 'list';
    const scope = o.scope as 'global' | 'local';
    link.readFresh().then(
      (st) => {
        if (closed) return done();
        let r: ReturnType<typeof readRemoteStore>;
        try {
          r = readRemoteStore(storesFromStatus(st, link.url), { action, scope, slot, key }, { board, url: link.url });
        } catch (e) {
          fail(msg, e, done);
          return;
        }
        msg.payload = r.payload;
        msg.femto = r.femto;
        node.status(idle);
        send(msg);
        done();
      },
      (e: unknown) => {
        if (closed) return done();
        fail(msg, e, done);
      },
    );
  });

  function fail(msg: Msg, e: unknown, done: (err?: Error) => void): void {
    const text = remoteReadErrorText(e, link.url, link.settings.timeoutMs);
    msg.femto = { scope: o.scope, board, remote: true, url: link.url, ...(o.scope === 'local' ? { slot } : {}), error: text, unreachable: isDeviceDown(e) };
    node.status(readFailedStatus(e));
    done(new Error(text));
  }

  node.on('close', (_removed: boolean, done: () => void) => {
    closed = true;
    node.status({});
    done();
  });
}
