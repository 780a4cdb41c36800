/**
 * The helper table `femto run` hands the VM. One plug point: `cliHelperTable()` merges the
 * providers below in order (a later provider overrides an id of an earlier one).
 *
 * Today: helper 5 (the conformance suite's identity helper) and, for every RIOT helper id, a stub
 * that fails the call with fault −4 saying the helper is not available in the CLI yet. The stubs
 * keep RIOT programs verifiable (a board would grant those ids) and turn the first call of a
 * missing helper into a clear fault instead of a rejection of the whole program. When the board
 * work brings real RIOT helpers (console printf, stores, clocks…), add their provider here.
 */
import type { HelperDef, HelperTable } from '../../vm/vm';
import { RIOT_HELPERS } from '../../vm/helper-ids';
import { conformanceHelpers } from '../conformance-env';

export type HelperProvider = () => HelperTable;

function riotStubs(): HelperTable {
  const m = new Map<number, HelperDef>();
  for (const h of RIOT_HELPERS) {
    m.set(h.id, {
      name: h.name,
      fn: () => {
        throw new Error(`RIOT helper ${h.name} (0x${h.id.toString(16)}) is not available in femto run yet`);
      },
    });
  }
  return m;
}

/** Providers in order; later ones override earlier ids. */
export const HELPER_PROVIDERS: HelperProvider[] = [riotStubs, conformanceHelpers];

export function cliHelperTable(providers: readonly HelperProvider[] = HELPER_PROVIDERS): Map<number, HelperDef> {
  const out = new Map<number, HelperDef>();
  for (const p of providers) {
    for (const [id, h] of p()) out.set(id, typeof h === 'function' ? { fn: h } : h);
  }
  return out;
}
