/**
 * femto-store: a board's key-value stores (ARCHITECTURE.md § Key-value stores) from a flow — the
 * same stores containers reach with bpf_store_* / bpf_fetch_*, under the same capacity rule.
 *
 * Scope: global (the board's), tenant (by tenant name), local (one container's; owner = the
 * femto-container node). Actions on an input message:
 *  - get: payload = the value (a number), or null when the key is absent (msg.femto.present);
 *  - set: store the value (default msg.payload; a number, taken modulo 2^32); a full store is an
 *    error (done(err)), as a container's store would return −1;
 *  - delete, clear;
 *  - list: payload = { key: value } of the whole store.
 * Key and value are typed inputs (RED.util.evaluateNodeProperty): a number, msg/flow/global
 * properties, …; with no key configured, msg.key then msg.topic is used. Keys accept 0x-hex.
 * Watch: every change of the store (by a container or a flow) also goes out as a message:
 * topic = key, payload = new value (null when deleted), msg.femto = { scope, owner, key, value,
 * previous, by }.
 * On a remote femto-board (a device over CoAP) the node is read-only (nodes/remote-store.ts,
 * lib/node-support/remote-store): get and list of the global store and of the local store of the
 * board's slot, answered from a fresh read of the device's status with msg.femto.remote = true and
 * msg.femto.url; set, delete, clear and tenant stores are refused with one sentence; status
 * "remote: read-only", or "device not answering" after a read the device did not answer.
 */
import type { KvStore, StoreChange } from '../lib/board/stores';
import { parseKey, parseValue } from '../lib/node-support/message';
import { boardRef } from '../lib/node-support/board-ref';
import type { RemoteCapableBoardNode } from '../lib/node-support/remote-link';
import type { StoreAction } from '../lib/node-support/remote-store';
import { emulatedBoard } from './emulated-board';
import { translator, type FemtoBoardNode, type Msg, type Node, type NodeConfig, type RED } from './red';
import { remoteStore } from './remote-store';

interface StoreConfig extends NodeConfig {
  board?: string;
  scope?: string;
  owner?: string;
  action?: string;
  key?: string;
  keyType?: string;
  value?: string;
  valueType?: string;
  watch?: boolean;
}

export = function (RED: RED): void {
  const t = translator(RED, 'femto-store');

  function FemtoStore(this: Node, config: StoreConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const boardNode = RED.nodes.getNode(config.board ?? '') as (FemtoBoardNode & RemoteCapableBoardNode) | null;
    const scope = config.scope === 'tenant' || config.scope === 'local' ? config.scope : 'global';
    const owner = (config.owner || '').trim() || (scope === 'tenant' ? 'default' : '');
    const action = (['get', 'set', 'delete', 'clear', 'list'].includes(config.action ?? '') ? config.action! : 'get') as StoreAction;
    const label = scope === 'global' ? 'global' : `${scope} ${owner}`;

    const evaluate = (v: string | undefined, type: string | undefined, msg: Msg): unknown => {
      return RED.util.evaluateNodeProperty(v ?? '', type || 'str', node, msg);
    };
    const keyOf = (msg: Msg): number => {
      const raw = config.key !== undefined && config.key !== '' ? evaluate(config.key, config.keyType || 'num', msg) : msg.key ?? msg.topic;
      return parseKey(raw);
    };

    const ref = boardRef(boardNode);
    if (ref.kind === 'remote' && boardNode?.remote) {
      remoteStore(node, { scope, owner, action, watch: !!config.watch, keyOf }, boardNode, boardNode.remote, t);
      return;
    }
    // A missing or failed board ("no board"); remote boards went to remoteStore above.
    const board = emulatedBoard(node, boardNode, t);
    if (!board) return;
    const b = board;
    node.status({ fill: 'grey', shape: 'dot', text: `${action} · ${label}` });

    const store = (): KvStore => (scope === 'global' ? b.store('global') : b.store(scope, owner));

    const onStore = (ch: StoreChange): void => {
      if (ch.scope !== scope) return;
      if (scope !== 'global' && ch.owner !== owner) return;
      node.status({ fill: 'blue', shape: 'dot', text: `${ch.key} = ${ch.value ?? '—'} · ${label}` });
      node.send({ topic: String(ch.key), payload: ch.value ?? null, femto: { ...ch, board: boardNode?.boardName } });
    };
    if (config.watch) b.on('store', onStore);

    node.on('input', (msg: Msg, send, done) => {
      try {
        const s = store();
        let key: number | undefined;
        if (action === 'get' || action === 'set' || action === 'delete') key = keyOf(msg);
        const info = { scope, owner: scope === 'global' ? b.name : owner, board: boardNode?.boardName, key };
        switch (action) {
          case 'get': {
            const v = s.get(key!);
            msg.payload = v ?? null;
            msg.femto = { ...info, present: v !== undefined };
            break;
          }
          case 'set': {
            const vt = config.valueType || 'msg';
            const raw = vt === 'msg' ? evaluate(config.value || 'payload', 'msg', msg) : evaluate(config.value, vt, msg);
            const value = parseValue(raw);
            if (s.put(key!, value, 'flow') !== 0) {
              throw new Error(t('errors.full', { label, n: s.capacity }));
            }
            msg.femto = { ...info, value };
            break;
          }
          case 'delete':
            msg.femto = { ...info, deleted: s.delete(key!, 'flow') };
            break;
          case 'clear':
            s.clear('flow');
            msg.femto = info;
            break;
          case 'list':
            msg.payload = s.toJSON();
            msg.femto = { ...info, size: s.size, capacity: s.capacity };
            break;
        }
        send(msg);
        done();
      } catch (e) {
        done(e instanceof Error ? e : new Error(String(e)));
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      b.off('store', onStore);
      node.status({});
      done();
    });
  }

  RED.nodes.registerType('femto-store', FemtoStore as (this: Node, c: NodeConfig) => void);
};
