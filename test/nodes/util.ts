/**
 * Shared set-up for the Node-RED node tests: node-red-node-test-helper initialised on the
 * Node-RED chosen by test/util/node-red.ts (the devDependency, or FEMTO_NODE_RED), the package's
 * node modules, and small waiting helpers.
 */
import * as path from 'node:path';
import { ROOT } from '../util/paths';
import { nodeRedRuntime } from '../util/node-red';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const helper = require('node-red-node-test-helper');
helper.init(nodeRedRuntime());

const dist = path.join(ROOT, 'dist', 'nodes');
/* eslint-disable @typescript-eslint/no-require-imports */
export const femtoBoard = require(path.join(dist, 'femto-board.js'));
export const femtoContainer = require(path.join(dist, 'femto-container.js'));
export const femtoSensor = require(path.join(dist, 'femto-sensor.js'));
export const femtoStore = require(path.join(dist, 'femto-store.js'));
export const femtoDeploy = require(path.join(dist, 'femto-deploy.js'));
/* eslint-enable @typescript-eslint/no-require-imports */
export const ALL_NODES = [femtoBoard, femtoContainer, femtoSensor, femtoStore, femtoDeploy];

export type AnyNode = {
  id: string;
  on(ev: string, fn: (...a: any[]) => void): void;
  receive(msg: Record<string, unknown>): void;
  [k: string]: any;
};

export function getNode(id: string): AnyNode {
  const n = helper.getNode(id);
  if (!n) throw new Error(`node ${id} not found`);
  return n;
}

export interface StatusRecord {
  fill?: string;
  shape?: string;
  text?: string;
}

/** Record every status a node shows (from the moment this is called). */
export function recordStatus(node: AnyNode): StatusRecord[] {
  const spy = node.status as unknown as { getCalls(): { thisValue: unknown; args: StatusRecord[] }[] };
  const before = spy.getCalls().length;
  const list: StatusRecord[] = [];
  Object.defineProperty(list, 'refresh', {
    value: () => {
      list.length = 0;
      for (const c of spy.getCalls().slice(before)) if (c.thisValue === node) list.push(c.args[0]);
      return list;
    },
  });
  return list;
}

/** The statuses recorded since recordStatus (refreshed). */
export function statuses(list: StatusRecord[]): StatusRecord[] {
  return (list as unknown as { refresh(): StatusRecord[] }).refresh();
}

/** The node's current status (the last node.status call), via the helper's spy. */
export function lastStatus(node: AnyNode): StatusRecord | undefined {
  // The helper spies on the Node prototype: pick this node's calls.
  const spy = node.status as unknown as { getCalls(): { thisValue: unknown; args: StatusRecord[] }[] };
  const mine = spy.getCalls().filter((c) => c.thisValue === node);
  return mine[mine.length - 1]?.args[0];
}

/** Wait until `cond` holds (polling), or fail after `ms`. */
export async function until(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Next message arriving at a helper node. */
export function nextMessage(node: AnyNode, ms = 3000): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message at ${node.id} within ${ms} ms`)), ms);
    node.once('input', (msg: Record<string, any>) => {
      clearTimeout(timer);
      resolve(msg);
    });
  });
}

/** Collect all messages arriving at a helper node. */
export function collect(node: AnyNode): Record<string, any>[] {
  const list: Record<string, any>[] = [];
  node.on('input', (msg: Record<string, any>) => list.push(msg));
  return list;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A board config node. */
export function boardNode(id = 'b1', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, type: 'femto-board', name: `board-${id}`, profile: 'nrf52840dk', storeCapacity: 16, timerPeriodMs: 0, samplePeriodMs: 0, ...extra };
}

/** A remote femto-board config node (a device at `dev`'s address, slot 0, polled only at start). */
export function remoteBoard(id: string, dev: { url: string } | string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, type: 'femto-board', name: `remote-${id}`, mode: 'remote', address: typeof dev === 'string' ? dev : dev.url, slot: 0, timeoutMs: 1000, pollMs: 0, ...extra };
}

/** A flow-hook container with assembly source. */
export function asmContainer(id: string, source: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, type: 'femto-container', name: id, board: 'b1', language: 'asm', source, hook: 'flow', tenant: 'default', wires: [['out']], ...extra };
}

/** increment on the flow hook: r0 = (u64 at the payload) + 1. */
export const INCREMENT_ASM = 'ldxdw %r2, [%r1]\nldxdw %r0, [%r2]\nadd %r0, 1\nexit';

/** A flow for helper.load: a tab, then every node placed on it (config nodes stay global). */
export function flow(...nodes: Record<string, unknown>[]): Record<string, unknown>[] {
  let y = 0;
  return [
    { id: 'f1', type: 'tab', label: 'test' },
    ...nodes.map((n) => (n.type === 'femto-board' ? n : { z: 'f1', x: 100, y: (y += 40), ...n })),
  ];
}
