/**
 * The part of Node-RED's runtime API (`RED`, node instances) the femto nodes use, typed here so
 * the nodes need no extra type package. Not a node file itself (package.json lists only the four
 * node files).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Board } from '../lib/board/board';
import type { NodeStatus } from '../lib/node-support/status';

export type Msg = Record<string, unknown> & { payload?: unknown; _msgid?: string };
export type Send = (msg: Msg | (Msg | null)[] | null) => void;
export type Done = (err?: Error) => void;

export interface NodeConfig {
  id: string;
  type: string;
  name?: string;
  z?: string;
  [key: string]: unknown;
}

export interface Node {
  id: string;
  type: string;
  name?: string;
  z?: string;
  on(ev: 'input', fn: (msg: Msg, send: Send, done: Done) => void): void;
  on(ev: 'close', fn: (removed: boolean, done: () => void) => void): void;
  send(msg: Msg | (Msg | null)[] | null): void;
  status(s: NodeStatus | Record<string, never>): void;
  error(err: unknown, msg?: Msg): void;
  warn(text: unknown): void;
  log(text: unknown): void;
  debug(text: unknown): void;
}

export interface Request {
  body: Record<string, unknown>;
  query: Record<string, unknown>;
  params: Record<string, string>;
}
export interface Response {
  json(v: unknown): void;
  status(code: number): Response;
}
type Handler = (req: Request, res: Response, next?: () => void) => void;

export interface RED {
  nodes: {
    createNode(node: unknown, config: NodeConfig): void;
    registerType(type: string, ctor: (this: Node, config: NodeConfig) => void, opts?: Record<string, unknown>): void;
    getNode(id: string): unknown;
  };
  util: {
    cloneMessage<T>(msg: T): T;
    evaluateNodeProperty(value: unknown, type: string, node: Node, msg: Msg, cb?: (err: Error | null, v: unknown) => void): unknown;
    generateId(): string;
  };
  httpAdmin: {
    get(path: string, ...handlers: Handler[]): void;
    post(path: string, ...handlers: Handler[]): void;
  };
  auth: { needsPermission(p: string): Handler };
  comms: { publish(topic: string, data: unknown, retain?: boolean): void };
  log: { info(t: unknown): void; warn(t: unknown): void; error(t: unknown): void; debug(t: unknown): void };
  _: (key: string, subs?: Record<string, unknown>) => string;
}

/** A node's message lookup: `t('errors.noBoard')`, `t('errors.rejected', { message })`. */
export type Translate = (key: string, subs?: Record<string, unknown>) => string;

/**
 * RED._ for one node's catalogue, falling back on the English catalogue beside this file
 * (locales/en-US/<ns>.json) when the runtime has none (RED._ then returns the key itself, as
 * node-red-node-test-helper's stub always does). The English text lives only in the catalogue.
 */
export function translator(RED: RED, ns: string): Translate {
  const english = englishCatalogue(ns);
  return (key, subs) => {
    const full = `${ns}.${key}`;
    let t: string | undefined;
    try {
      t = RED._(full, subs);
    } catch {
      t = undefined;
    }
    if (typeof t === 'string' && t !== full && t !== key) return t;
    const text = lookup(english, full) ?? full;
    return text.replace(/__(\w+)__/g, (_, k: string) => String(subs?.[k] ?? ''));
  };
}

const catalogues = new Map<string, unknown>();

/** The node's English catalogue (read once); an empty one when the file is missing. */
export function englishCatalogue(ns: string): unknown {
  let c = catalogues.get(ns);
  if (c === undefined) {
    try {
      c = JSON.parse(fs.readFileSync(path.join(__dirname, 'locales', 'en-US', `${ns}.json`), 'utf8'));
    } catch {
      c = {};
    }
    catalogues.set(ns, c);
  }
  return c;
}

/** A dotted key in a catalogue, when it names a string. */
export function lookup(catalogue: unknown, key: string): string | undefined {
  let v: unknown = catalogue;
  for (const k of key.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return typeof v === 'string' ? v : undefined;
}

/** A femto-board config node as the other nodes see it (RED.nodes.getNode(config.board)). */
export interface FemtoBoardNode extends Node {
  board?: Board;
  boardName: string;
  /** Why the board could not be created (bad settings). */
  failure?: string;
}
