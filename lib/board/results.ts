/**
 * What the board answers: the report of one run slice, the result of one hook firing, the
 * description of an installed container, an actuator change. The Node-RED nodes, the sidebar and
 * `femto sim` read these shapes (ARCHITECTURE.md § One sensor event, from SAUL to the flow).
 */
import type { FemtoError, VmFault } from '../../vm/errors';
import type { Profile } from '../../vm/verifier';
import type { ContainerState, FaultCounters, GlobalScope } from './container';
import type { ClassCounts } from './cost-model';
import type { HookName } from './hooks';
import type { StoreChange } from './stores';

export interface FaultInfo {
  code: number;
  pc: number;
  insn?: string;
  message: string;
  [k: string]: unknown;
}

export interface RunReport {
  container: string;
  name: string;
  tenant: string;
  hook: HookName | 'direct';
  /** 'preempted': the run goes on in a later turn (only in a hook's or flow()'s first answer). */
  status: 'exit' | 'fault' | 'suspended' | 'preempted';
  /** r0 as unsigned 64-bit; `r0Signed` its low 32 bits as a signed int (RIOT's `int` result). */
  r0: bigint;
  r0Signed: bigint;
  /** Instructions in this slice; `totalInsns` since the run started (across resumes). */
  insns: number;
  totalInsns: number;
  /** 1 for the first slice of a run, 2… for resumed slices. */
  slice: number;
  /** Turns of the event loop this slice took (1 unless the board preempted it). */
  turns: number;
  byClass: ClassCounts;
  /** Estimated time of this slice on the board's real MCU (µs) — an estimate, see cost-model.ts. */
  estimatedUs: number;
  estimated: true;
  estimateLabel: string;
  console: string[];
  storeWrites: StoreChange[];
  fault?: FaultInfo;
  faults: FaultCounters;
  quarantined: boolean;
  /** Board time when the slice ran (µs). */
  atUs: number;
}

export interface HookResult {
  hook: HookName;
  reports: RunReport[];
  /** Container whose result stopped the hook under its policy. */
  stoppedBy?: string;
  /** Containers skipped (quarantined, suspended, running; filtered out is not listed). */
  skipped: { container: string; reason: ContainerState | 'cancelled' }[];
}

export interface ContainerInfo {
  id: string;
  name: string;
  tenant: string;
  hook?: HookName;
  state: ContainerState;
  grants: string[];
  helpersUsed: string[];
  budget: number;
  profile: Profile;
  imageBytes: number;
  ramBytes: number;
  faults: FaultCounters;
  runs: number;
  globalScope: GlobalScope;
  path?: string;
  device?: string | number;
  warnings: string[];
  /** A run in flight (state 'running'): how far it is. */
  run?: { insns: number; budget: number; turns: number };
  /** Flow messages waiting behind it, and refused so far for a full queue. */
  queued: number;
  dropped: number;
}

export interface ActuatorEvent {
  device: number;
  name: string;
  type: number;
  value: number[];
  previous: number[];
  container?: string;
}

/** A VM fault as a report carries it (plain data, JSON-safe). */
export function faultInfo(f: FemtoError | VmFault): FaultInfo {
  const j = f.toJSON() as FaultInfo;
  return { ...j, code: Number(j.code), pc: Number(j.pc ?? 0), message: String(j.message ?? f.message), text: f.message };
}
