/**
 * femto-board (config node): one emulated RIOT board — a profile, its SAUL devices plus simulated
 * ones, its stores — shared by every femto-container, femto-sensor and femto-store node that names
 * it (several containers on one board = multi-tenancy in a flow). The Board is created in the
 * constructor, started (periodic sensor sampling, timer hook, scheduler ticks) on the next tick,
 * once the container nodes of the same deploy had a chance to install, and stopped and released
 * on close.
 *
 * Remote mode: the config node stands for a device reached over CoAP (a `femto device`
 * process or a RIOT board): address, the public key it trusts, the slot its containers run. It
 * holds a RemoteBoardLink (lib/node-support/remote-link) that reads the device's status at start and
 * periodically; container nodes on it run `POST /bpf/exec/N`, femto-deploy installs into it.
 * A device that is not there makes its nodes say "device not answering"; nothing throws.
 */
import { registry } from '../lib/node-support/registry';
import { createBoard, isRemote, remoteSettings, type BoardConfig } from '../lib/node-support/board-config';
import { remoteBoardState } from '../lib/node-support/remote-board-state';
import { RemoteBoardLink, type RemoteCapableBoardNode } from '../lib/node-support/remote-link';
import { translator, type FemtoBoardNode, type Node, type NodeConfig, type RED } from './red';
import { registerAdmin } from './admin';

export = function (RED: RED): void {
  const t = translator(RED, 'femto-board');
  registerAdmin(RED);

  function FemtoBoard(this: FemtoBoardNode, config: NodeConfig): void {
    RED.nodes.createNode(this, config);
    const cfg = config as unknown as BoardConfig;
    if (isRemote(cfg)) {
      remoteBoard(this as FemtoBoardNode & RemoteCapableBoardNode, cfg);
      return;
    }
    this.boardName = cfg.name || cfg.profile || 'nrf52840dk';
    let started: ReturnType<typeof setImmediate> | undefined;
    try {
      const board = createBoard({ ...cfg, name: this.boardName });
      this.board = board;
      registry.add(this.id, this.boardName, board);
      // Start once every node of this deploy is constructed (containers install synchronously
      // for assembly and images), so the first timer and sample already see them.
      started = setImmediate(() => {
        started = undefined;
        if (this.board) this.board.start();
      });
    } catch (e) {
      this.failure = (e as Error).message;
      this.error(t('errors.create', { reason: this.failure }));
    }

    this.on('close', (_removed: boolean, done: () => void) => {
      if (started) clearImmediate(started);
      const b = this.board;
      this.board = undefined;
      if (b) {
        b.stop();
        b.removeAllListeners();
        registry.remove(this.id);
      }
      done();
    });
  }

  function remoteBoard(node: FemtoBoardNode & RemoteCapableBoardNode, cfg: BoardConfig): void {
    node.boardName = cfg.name || (cfg.address ?? '').replace(/^coap:\/\//, '') || 'remote board';
    let link: RemoteBoardLink | undefined;
    try {
      link = new RemoteBoardLink(remoteSettings(cfg), node.boardName);
    } catch (e) {
      node.failure = (e as Error).message;
      node.error(t('errors.create', { reason: node.failure }));
    }
    if (link) {
      const l = link;
      node.remote = l;
      registry.addRemote({ id: node.id, name: node.boardName, state: () => remoteBoardState(node.id, node.boardName, l) });
      let lastReachable: boolean | null = null;
      let everReached = false;
      const onStatus = (): void => {
        const s = l.snapshot;
        if (s.reachable === false && lastReachable !== false) {
          // A device never reached yet is not an event (an imported flow, a device not started):
          // the nodes' status says it; losing a device that answered before is one (a warning).
          const text = t('errors.unreachable', { name: node.boardName, reason: s.error ?? 'device not answering' });
          if (everReached) node.warn(text);
          else node.log(text);
        }
        if (s.reachable) everReached = true;
        if (s.reachable && s.keyTrusted === false && lastReachable !== true) {
          node.warn(t('errors.untrusted', { name: node.boardName, url: l.url, fp: s.keyFingerprint, keys: s.trustedKeys.join(', ') || 'none' }));
        }
        lastReachable = s.reachable;
        registry.changed();
      };
      l.on('status', onStatus);
      l.on('run', () => registry.changed());
      // Start once the container nodes of this deploy listen for the first status.
      setImmediate(() => {
        if (node.remote === l) l.start();
      });
    }
    node.on('close', (_removed: boolean, done: () => void) => {
      if (link) {
        link.close();
        registry.removeRemote(node.id);
      }
      node.remote = undefined;
      done();
    });
  }

  RED.nodes.registerType('femto-board', FemtoBoard as (this: Node, c: NodeConfig) => void);
};
