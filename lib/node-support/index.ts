/**
 * Logic of the Node-RED nodes that needs no Node-RED: message ↔ context translation,
 * status texts (ARCHITECTURE.md § The Node-RED face), the compile sandbox, programs and the
 * editor's Verify, board settings, and the registry behind the `femto/state` endpoint. nodes/ stays
 * a thin layer over it.
 */
export * from './board-config';
export * from './message';
export * from './program';
export * from './registry';
export * from './sandbox';
export * as status from './status';
