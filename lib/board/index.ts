/**
 * The emulated RIOT board in one import: `import { Board, VirtualClock } from
 * '../lib/board'`. Each module has one job; how they fit: docs/ARCHITECTURE.md.
 */
export * from './board';
export * from './budget-advice';
export * from './clock';
export * from './coap';
export * from '../coap/message';
export * from './console';
export * from './container';
export * from './cost-model';
export * from './helpers';
export * from './hooks';
export * from './printf';
export * from './profiles';
export * from './saul';
export * from './sources';
export * from './stores';
