/**
 * The helper environment the bpf_conformance vectors assume: helper 5 returns its first argument
 * unchanged (64-bit). Used by the conformance tests and by `femto plugin`; not a RIOT helper.
 */
import type { HelperTable } from '../vm/vm';

export const CONFORMANCE_HELPER_ID = 5;

export function conformanceHelpers(): HelperTable {
  return new Map([[CONFORMANCE_HELPER_ID, { name: 'identity', returns64: true, fn: (c) => c.u64(1) }]]);
}
