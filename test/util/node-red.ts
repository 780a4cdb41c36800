/**
 * Which Node-RED the node tests and the install test run on: the devDependency (Node-RED 4.1) by
 * default, or the node-red package folder named by FEMTO_NODE_RED — .ci/run's second pass points
 * it at Node-RED 5 installed beside the clone and runs under Node 22.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const NODE_RED_DIR = process.env.FEMTO_NODE_RED
  ? path.resolve(process.env.FEMTO_NODE_RED)
  : path.dirname(require.resolve('node-red/package.json'));

if (!fs.existsSync(path.join(NODE_RED_DIR, 'package.json'))) {
  throw new Error(`FEMTO_NODE_RED=${process.env.FEMTO_NODE_RED}: no node-red package there (a folder holding node-red's package.json)`);
}

export const NODE_RED_VERSION = (JSON.parse(fs.readFileSync(path.join(NODE_RED_DIR, 'package.json'), 'utf8')) as { version: string }).version;

/** Node-RED's runtime entry (what node-red-node-test-helper's init takes). */
export const nodeRedRuntime = (): string => require.resolve(NODE_RED_DIR);

/** Node-RED's command-line entry (red.js), to start it as a server. */
export const nodeRedEntry = (): string => path.join(NODE_RED_DIR, 'red.js');

/** A core node module of that Node-RED, e.g. coreNode('20-inject.js') or coreNode('rbe.js', 'function'). */
export function coreNode(file: string, folder = 'common'): unknown {
  const nodes = path.dirname(require.resolve('@node-red/nodes/package.json', { paths: [NODE_RED_DIR] }));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(nodes, 'core', folder, file));
}
