/**
 * A remote board as femto/state (the sidebar) shows it: the registry's BoardState built from the
 * link's last snapshot, with the device's slots, keys and update state.
 */
import { lastFaultOf, type BoardState, type ContainerState, type LastFault } from './registry';
import type { RemoteBoardLink, SlotStatus } from './remote-link';

/** The fault of a slot's last run as the device's status reports it, if that run faulted. */
function slotLastFault(slot: SlotStatus | undefined, checkedAt: string | null): LastFault | undefined {
  const f = (slot?.lastRun as { fault?: { code?: unknown; pc?: unknown; message?: unknown; insn?: unknown } | null } | null)?.fault;
  if (!f || typeof f.code !== 'number' || typeof f.pc !== 'number') return undefined;
  return lastFaultOf({ code: f.code, pc: f.pc, message: typeof f.message === 'string' ? f.message : '', insn: typeof f.insn === 'string' ? f.insn : null }, checkedAt ? new Date(checkedAt) : undefined);
}

/** femto/state's entry for a remote board (registry BoardState, plus remote fields). */
export function remoteBoardState(id: string, name: string, link: RemoteBoardLink): BoardState {
  const s = link.snapshot;
  const containers: ContainerState[] = [...link.containers.values()].map((c) => {
    const slot = s.slots.find((x) => x.slot === c.slot);
    return {
      id: c.nodeId, nodeId: c.nodeId, name: c.name, hook: 'exec', tenant: `.ram.${c.slot}`,
      state: s.reachable === false ? 'unreachable' : !slot ? 'unknown' : !slot.installed ? 'no image' : slot.state ?? 'idle',
      lastResult: c.lastResult ?? null, lastFault: c.lastFault ?? slotLastFault(slot, s.checkedAt) ?? null, faults: slot?.faults.total ?? 0, consecutiveFaults: slot?.faults.consecutive ?? 0,
      quarantined: slot?.state === 'quarantined', tier: null,
    };
  });
  return {
    id, name, profile: s.profile ?? 'remote', title: `${s.board ?? 'remote board'} at ${link.url}`, running: s.reachable === true,
    containers, stores: { global: {}, tenants: {} }, devices: [],
    remote: true, address: link.url,
    device: {
      reachable: s.reachable, error: s.error, checkedAt: s.checkedAt, board: s.board, seq: s.seq, slot: link.settings.slot,
      slots: s.slots.map((x) => ({ slot: x.slot, location: x.location, installed: x.installed, seq: x.seq, size: x.size, state: x.state, runs: x.runs, faults: x.faults })),
      trustedKeys: s.trustedKeys, keyFingerprint: s.keyFingerprint, keyTrusted: s.keyTrusted, update: s.update,
    },
  };
}
