/**
 * Making a container: its image resolved and checked against the slot size, its helper table
 * bound to the board (clock, SAUL, stores, console) and cut to its grants, its Vm verified, and
 * its RAM checked against what the board has left. Nothing on the board changes if this throws.
 */
import type { Clock } from './clock';
import { Container, computeGrants, resolveImage, type ContainerSpec, type GlobalScope } from './container';
import { BoardError } from './board-error';
import { buildHelpers } from './helpers';
import { INSTANCE_RAM } from './profiles';
import type { SaulRegistry } from './saul';
import type { KvStore } from './stores';
import { Vm, STACK_FRAME_SIZE, type Tier } from '../../vm/vm';
import { DEFAULT_MAX_CALL_DEPTH, type Profile } from '../../vm/verifier';
import type { Translator } from '../../vm/compiled-tier';

/** What the board lends a container it builds. */
export interface ContainerEnv {
  boardName: string;
  clock: Clock;
  saul: SaulRegistry;
  slotSize: number;
  containerRamBytes: number;
  minWakeupUs: number;
  vmProfile: Profile;
  tier: Tier | undefined;
  translate: Translator | undefined;
  /** The store a container's store_global/fetch_global reach (scope: its own, else the board's). */
  globalStore(scope: GlobalScope | undefined, tenant: string): KvStore;
  /** RAM the installed containers use now. */
  ramUsed(): number;
  /** A container's printf output (the run in progress gets it). */
  print(text: string): void;
}

/**
 * Build (and verify) a container. `ramFreedBy`: RAM of the container this one replaces (it is
 * counted as free).
 */
export function buildContainer(env: ContainerEnv, id: string, spec: ContainerSpec, tenant: string, local: KvStore, ramFreedBy: number): Container {
  const resolved = resolveImage(spec.image);
  if (resolved.size > env.slotSize) {
    throw new BoardError('slot', `image of ${resolved.size} B does not fit a ${env.slotSize} B slot on ${env.boardName}`);
  }
  const grants = computeGrants(spec.hook, spec.helpers);
  const holder: { c?: Container } = {};
  const helpers = buildHelpers({
    clock: env.clock,
    saul: env.saul,
    local,
    global: env.globalStore(spec.globalScope, tenant),
    writer: id,
    minWakeupUs: env.minWakeupUs,
    print: (text) => env.print(text),
    wakeupAt: (atUs) => {
      if (holder.c) holder.c.wakeupAtUs = atUs;
    },
  });
  for (const k of [...helpers.keys()]) if (!grants.has(k)) helpers.delete(k);
  const vm = new Vm({
    image: resolved.image,
    text: resolved.text,
    data: resolved.data,
    rodata: resolved.rodata,
    profile: spec.profile ?? env.vmProfile,
    budget: spec.budget,
    branchBudget: spec.branchBudget,
    helpers,
    grants,
    countPerPc: true,
    reuseResult: true, // each result is read into the report before the next run
    translate: env.translate,
    tier: env.tier,
  });
  try {
    vm.entrySlot(spec.entry);
  } catch (e) {
    throw new BoardError('entry', (e as Error).message);
  }
  const frames = vm.info.hasLocalCalls ? DEFAULT_MAX_CALL_DEPTH : 0;
  const ram = INSTANCE_RAM + resolved.data.length + frames * STACK_FRAME_SIZE;
  const used = env.ramUsed() - ramFreedBy;
  if (used + ram > env.containerRamBytes) {
    throw new BoardError('ram', `container needs ${ram} B of RAM; ${env.containerRamBytes - used} B of ${env.containerRamBytes} B left on ${env.boardName}`);
  }
  const c = new Container(id, spec, tenant, local, vm, resolved, grants, ram);
  holder.c = c;
  return c;
}
