/**
 * femto-board (config node): one emulated RIOT board — a profile, its SAUL devices plus simulated
 * ones, its stores — shared by every femto-container, femto-sensor and femto-store node that names
 * it (several containers on one board = multi-tenancy in a flow). The Board is created in the
 * constructor, started (periodic sensor sampling, timer hook, scheduler ticks) on the next tick,
 * once the container nodes of the same deploy had a chance to install, and stopped and released
 * on close.
 */
import { registry } from '../lib/node-support/registry';
import { createBoard, type BoardConfig } from '../lib/node-support/board-config';
import { translator, type FemtoBoardNode, type Node, type NodeConfig, type RED } from './red';
import { registerAdmin } from './admin';

export = function (RED: RED): void {
  const t = translator(RED, 'femto-board');
  registerAdmin(RED);

  function FemtoBoard(this: FemtoBoardNode, config: NodeConfig): void {
    RED.nodes.createNode(this, config);
    const cfg = config as unknown as BoardConfig;
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
      this.error(t('errors.create', 'femto-board: __reason__', { reason: this.failure }));
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

  RED.nodes.registerType('femto-board', FemtoBoard as (this: Node, c: NodeConfig) => void);
};
