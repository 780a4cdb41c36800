/**
 * Firing a hook: every eligible container on it, newest first, under the hook's policy
 * (ARCHITECTURE.md § Hooks and contexts). Quarantined, suspended and running containers are
 * skipped; a preempted run decides no policy in the synchronous firing (it goes on alone), while
 * the asynchronous one awaits each run before the policy looks at it.
 */
import { BoardError } from './board-error';
import type { Container } from './container';
import type { ContainerTable } from './container-table';
import { CONTRACTS, isHook, policyStops, type HookName, type HookPolicy } from './hooks';
import type { HookResult, RunReport } from './results';
import type { Runner } from './runner';
import type { SaulDevice } from './saul';

/**
 * What a hook gives each container: the same context bytes for all, or a function that maps the
 * hook's regions on the container's Vm and returns its context (undefined leaves it out).
 */
export type Prepare = Uint8Array | ((c: Container) => Uint8Array | undefined);

/** Looks at each report as it comes; true stops the firing. */
export type After = (c: Container, r: RunReport) => boolean;

export class HookFiring {
  private readonly policies = new Map<HookName, HookPolicy>();
  private depth = 0;
  /** The result of outermost firings whose caller drops it (`unkept`): one object, reset each time. */
  private readonly scratch: HookResult = { hook: 'sensor', reports: [], skipped: [], stoppedBy: undefined };

  constructor(private readonly table: ContainerTable, private readonly runner: Runner) {}

  /** Whether a firing is in progress (a listener may fire a hook from inside another one). */
  get active(): boolean {
    return this.depth > 0;
  }

  setPolicy(hook: HookName, policy: HookPolicy): void {
    if (!isHook(hook)) throw new BoardError('hook', `unknown hook "${String(hook)}"`);
    this.policies.set(hook, policy);
  }

  policy(hook: HookName): HookPolicy {
    return this.policies.get(hook) ?? CONTRACTS[hook].defaultPolicy;
  }

  /**
   * Run every eligible container of `hook` under its policy; `device`: only containers whose
   * device filter matches it. `whole`: every run to its end in this call. `unkept`: the caller drops
   * the result (the board's own timers), so an outermost firing returns one reused result that
   * lists no reports (each run's report still reaches its taker and the 'result' listeners).
   */
  fire(hook: HookName, prepare: Prepare, after?: After, whole = false, device?: SaulDevice, unkept = false): HookResult {
    const reuse = unkept && this.depth === 0;
    const result = reuse ? this.reset(hook) : { hook, reports: [], skipped: [] };
    const list = this.table.onHook(hook);
    const policy = this.policy(hook);
    this.depth++;
    try {
      for (let k = 0; k < list.length; k++) {
        const c = list[k];
        const report = this.fireOne(c, hook, prepare, whole, result, device, reuse);
        if (report && this.hookStops(c, report, result, after, policy)) break;
      }
    } finally {
      this.depth--;
    }
    return result;
  }

  /**
   * `fire`, with every run awaited to its end before the policy looks at it (a preempted run
   * decides the policy when it ends; the synchronous `fire` cannot wait for it).
   */
  async fireAsync(hook: HookName, prepare: Prepare, after?: After): Promise<HookResult> {
    const result: HookResult = { hook, reports: [], skipped: [] };
    for (const c of this.table.onHook(hook)) {
      if (!this.table.isCurrent(c)) continue; // removed or replaced while an earlier one ran
      let report = this.fireOne(c, hook, prepare, false, result);
      if (report?.status === 'preempted') {
        const waiting = report;
        report = await new Promise<RunReport | undefined>((resolve) => {
          const f = c.flight;
          if (!f) { resolve(waiting); return; }
          f.job = { payload: new Uint8Array(0), resolve, reject: () => resolve(undefined) };
        });
        if (!report) {
          result.reports.splice(result.reports.indexOf(waiting), 1);
          result.skipped.push({ container: c.id, reason: 'cancelled' });
          continue;
        }
        result.reports[result.reports.indexOf(waiting)] = report;
      }
      if (report && this.hookStops(c, report, result, after)) break;
    }
    return result;
  }

  /** One container of a hook firing: skipped, left out, or its first slice run. */
  private fireOne(c: Container, hook: HookName, prepare: Prepare, whole: boolean, result: HookResult, device?: SaulDevice,
    unkept = false): RunReport | undefined {
    if (c.quarantined || c.suspended || c.running || c.busy) {
      if (!unkept) result.skipped.push({ container: c.id, reason: c.running || c.busy ? 'running' : c.state });
      return undefined;
    }
    if (device && !deviceMatches(c.spec.device, device)) return undefined;
    const ctx = typeof prepare === 'function' ? prepare(c) : prepare;
    if (!ctx) return undefined;
    const report = this.runner.slice(c, hook, 'run', ctx, whole, undefined, unkept);
    // A result nobody keeps lists nothing (emptying its arrays each time would free and remake them).
    if (!unkept) result.reports.push(report);
    return report;
  }

  private reset(hook: HookName): HookResult {
    const r = this.scratch;
    r.hook = hook;
    r.stoppedBy = undefined;
    return r;
  }

  /** Whether the hook's policy stops after this report (a preempted or suspended one never does). */
  private hookStops(c: Container, report: RunReport, result: HookResult, after?: After, policy = this.policy(result.hook)): boolean {
    const stop = (after?.(c, report) ?? false) || (report.status === 'exit' && policyStops(policy, report.r0, report.r0Signed));
    if (stop) result.stoppedBy = c.id;
    return stop || policy === 'single';
  }
}

function deviceMatches(filter: string | number | undefined, dev: SaulDevice): boolean {
  return filter === undefined || filter === dev.index || filter === dev.name;
}
