/**
 * A container node on a remote board: its status and msg.femto from the device's answers, in the
 * status vocabulary of emulated boards (lib/node-support/status): "no image" (empty slot),
 * "exec · .ram.N seq S" (attached), "r0=… · N insns · ≈X µs on <board>" (ran; the device's
 * estimate), "fault −2: write 0x… at pc N (k faults)", "quarantined", plus "device not answering"
 * (red ring) when the device is down or silent.
 */
import type { RemoteRun } from '../deploy/remote';
import { r0Value, type ResultType } from './message';
import * as status from './status';
import type { NodeStatus } from './status';
import type { DeviceSnapshot } from './remote-link';

/** Status of a container node on a remote board, from the link's snapshot. */
export function slotNodeStatus(snap: DeviceSnapshot, slot: number): NodeStatus {
  if (snap.reachable === false) return { fill: 'red', shape: 'ring', text: 'device not answering' };
  if (snap.reachable === null) return { fill: 'yellow', shape: 'ring', text: 'connecting' };
  if (!snap.slots.length) return { fill: 'green', shape: 'dot', text: `exec · .ram.${slot}` };
  const s = snap.slots.find((x) => x.slot === slot);
  if (!s) return { fill: 'red', shape: 'ring', text: `no slot ${slot} on the device` };
  if (!s.installed) return status.noImage();
  if (s.state === 'quarantined') return status.quarantined();
  return { fill: 'green', shape: 'dot', text: `exec · .ram.${slot}${s.seq !== null ? ` seq ${s.seq}` : ''}` };
}

/** Status after a run on the device (ran, faulted or quarantined). */
export function remoteRunStatus(run: RemoteRun, board: string, type: ResultType = 'int64'): NodeStatus {
  if (run.riotText !== undefined) return { fill: 'green', shape: 'dot', text: `${run.riotText} on ${board}` };
  const quarantined = (run as RemoteRun & { quarantined?: boolean }).quarantined;
  if (run.status === 'fault' && run.fault) {
    if (quarantined) return status.quarantined();
    const m = /^(read|write) (0x[0-9a-f]+)/i.exec(run.fault.message ?? '');
    return status.faulted({ code: run.fault.code, pc: run.fault.pc, message: run.fault.message, access: m?.[1], address: m?.[2] });
  }
  return status.ran({ status: run.status === 'suspended' ? 'suspended' : 'exit', r0: toBig(run.r0), insns: run.insns ?? 0, estimatedUs: run.estimatedUs ?? 0 }, type);
}

function toBig(v: number | string): bigint {
  try {
    return BigInt(v);
  } catch {
    return 0n;
  }
}

/** msg.femto after a run on the device. */
export function remoteRunInfo(run: RemoteRun, ctx: { container: string; name: string; board: string; url: string; slot: number }, type: ResultType = 'int64'): Record<string, unknown> {
  const r = run as RemoteRun & { faults?: { consecutive: number; total: number }; quarantined?: boolean };
  const info: Record<string, unknown> = {
    container: ctx.container, name: ctx.name, hook: 'exec', remote: true, board: ctx.board, url: ctx.url, slot: ctx.slot,
    status: run.status, r0: run.riotText !== undefined ? run.r0 : r0Value(toBig(run.r0), type), insns: run.insns ?? null,
    estimatedUs: run.estimatedUs ?? null, console: run.console ?? [], faults: r.faults ?? null, quarantined: !!r.quarantined,
  };
  if (run.riotText !== undefined) info.text = run.riotText;
  if (run.fault) Object.assign(info, { code: run.fault.code, pc: run.fault.pc, instruction: run.fault.insn ?? undefined, message: run.fault.message, fault: { ...run.fault } });
  return info;
}

/** The Error for a faulted run on the device. */
export function remoteFaultError(run: RemoteRun, name: string): Error & { code?: number; pc?: number } {
  const f = run.fault!;
  const e = new Error(`${name}: fault ${f.code} at pc ${f.pc} on the device: ${f.message}${f.insn ? ` [${f.insn}]` : ''}`) as Error & { code?: number; pc?: number };
  e.name = 'FemtoFault';
  e.code = f.code;
  e.pc = f.pc;
  return e;
}
