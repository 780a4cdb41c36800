/**
 * Running containers: one slice of a run (first run, resume after a suspension, or the next turn
 * of a preempted run) with everything it raises captured, its RunReport, the events sent out after
 * it, the wake-up of a suspended run and the next turn of a preempted one (ARCHITECTURE.md
 * § Budgets, suspension and time slicing). Never throws: every run ends in a report.
 *
 * This is the sensor event path's inner part: it allocates nothing per run beyond the report (the
 * capture, run options and VM result are the container's, reused).
 */
import type { EventEmitter } from 'node:events';
import { VmFault, FaultCode } from '../../vm/errors';
import type { RunResult, SliceOptions } from '../../vm/vm';
import { BoardError } from './board-error';
import type { Clock } from './clock';
import { RunConsole, type ConsoleLimits } from './console';
import type { Container, FlowJob, InFlight, RunCapture } from './container';
import type { ContainerTable } from './container-table';
import { emptyCounts } from './cost-model';
import { FlowQueue } from './flow-queue';
import type { HookName } from './hooks';
import type { CostColumn } from './profiles';
import { faultInfo, type RunReport } from './results';
import type { StoreChange } from './stores';

/** First slice of a run, a resumed suspension, or the next turn of a preempted run. */
export type SliceKind = 'run' | 'resume' | 'continue';

/** A report's console or store writes when the run had none (shared, so frozen). */
const NO_LINES = Object.freeze([]) as unknown as string[];
const NO_WRITES = Object.freeze([]) as unknown as StoreChange[];

export interface RunnerOptions {
  clock: Clock;
  costColumn: CostColumn;
  consoleLimits: ConsoleLimits;
  sliceOptions: SliceOptions | undefined;
  minWakeupUs: number;
  queueLimit: number;
}

export class Runner {
  /** The slice running now: helpers' console lines, store and actuator changes go to it. */
  capture: RunCapture | undefined;
  /** Reports delivered so far (Board.reportsMade). */
  reported = 0;
  /** Flow messages to containers, one run per container at a time. */
  readonly flows: FlowQueue;
  private readonly clock: Clock;
  private readonly costColumn: CostColumn;
  private readonly consoleLimits: ConsoleLimits;
  private readonly sliceOptions: SliceOptions | undefined;
  private readonly minWakeupUs: number;

  /** `board`: where the events go out. */
  constructor(private readonly board: EventEmitter, private readonly table: ContainerTable, opts: RunnerOptions) {
    this.clock = opts.clock;
    this.costColumn = opts.costColumn;
    this.consoleLimits = opts.consoleLimits;
    this.sliceOptions = opts.sliceOptions;
    this.minWakeupUs = opts.minWakeupUs;
    this.flows = new FlowQueue(board, table, this, opts.clock, opts.queueLimit);
  }

  /** A container's printf output: into the running slice's console. */
  print(text: string): void {
    const cap = this.capture;
    if (cap) this.consoleOf(cap).write(text);
  }

  /** The run's console, made on its first printf (most runs print nothing). */
  private consoleOf(cap: RunCapture): RunConsole {
    const sink = (cap.sink ??= (line) => this.consoleLine(cap, line));
    return (cap.out ??= new RunConsole(this.consoleLimits, sink));
  }

  private consoleLine(cap: RunCapture, line: string): void {
    (cap.console ??= []).push(line);
    (cap.events ??= []).push(['console', { container: cap.container.id, line, atUs: this.clock.nowUs() }]);
  }

  /**
   * Run, resume or continue one slice of a container with every event captured; never throws.
   * `whole`: to the end in this call whatever the board's slicing (the synchronous API). A slice
   * the VM preempted leaves the run in flight (continued on the next turn) and is reported
   * 'preempted', without a 'result'; `waiter` is answered when the run really ends. `unkept`: the
   * caller drops the returned report (the board's own timers and turns), so it may be reused.
   */
  slice(c: Container, hook: HookName | 'direct', kind: SliceKind, context: Uint8Array | undefined, whole = false,
    waiter?: FlowJob, unkept = false): RunReport {
    const carried = kind === 'continue' ? c.flight : undefined;
    // Reused only when nobody but the container's taker sees it, and only during the call.
    const reuse = unkept && !(carried?.job ?? waiter) && this.board.listenerCount('result') === 0;
    // A continued turn keeps the run's console (one cap for the whole run), now feeding this turn.
    const cap = c.capture;
    cap.reset(carried);
    const outer = this.capture;
    this.capture = cap;
    c.running = true;
    c.wakeupAtUs = undefined;
    if (kind === 'run') c.slice = 1;
    else if (kind === 'resume') c.slice++;
    c.vm.slicing = whole ? undefined : this.sliceOptions;
    let res: RunResult;
    try {
      res = kind === 'run' ? c.vm.run(c.runOptions(context!)) : kind === 'resume' ? c.vm.resume(0) : c.vm.continue();
    } catch (e) {
      // The VM promises not to throw; if it ever does, it is this container's fault report.
      res = { status: 'fault', r0: 0n, insns: 0, totalInsns: 0, fault: new VmFault(FaultCode.ILLEGAL_INSTRUCTION, `internal error: ${(e as Error)?.message ?? String(e)}`, 0) };
    } finally {
      c.running = false;
      this.capture = outer;
    }
    const turns = (carried?.turns ?? 0) + 1;
    if (res.status === 'preempted') return this.inFlight(c, hook, res, cap, carried, turns, waiter, reuse);
    c.flight = undefined;
    cap.out?.finish();
    if (res.status !== 'suspended') c.runs++;
    const quarantinedNow = c.recordOutcome(res.status);
    const report = this.report(c, hook, res, cap, turns, reuse);
    c.noteRun(report);
    if (res.status === 'suspended') {
      c.suspended = true;
      c.runHook = hook;
      this.scheduleResume(c, c.wakeupAtUs ?? this.clock.nowUs() + this.minWakeupUs);
    } else {
      c.suspended = false;
      c.runHook = undefined;
    }
    if (outer) {
      // A run inside another run's listener chain cannot happen (events are queued), but a host
      // calling the board from a helper-triggered path would land here: queue behind the outer run.
      const q = (outer.events ??= []);
      if (cap.events) q.push(...cap.events);
      q.push(['result', report]);
      if (report.status === 'fault') q.push(['fault', report]);
      if (quarantinedNow) q.push(['quarantine', { container: c.id, faults: { ...c.faults } }]);
    } else {
      if (cap.events) for (const [ev, payload] of cap.events) this.emitOut(ev, payload);
      this.deliver(c, report);
      if (report.status === 'fault') this.emitOut('fault', report);
      if (quarantinedNow) this.emitOut('quarantine', { container: c.id, faults: { ...c.faults } });
    }
    (carried?.job ?? waiter)?.resolve(report);
    if (c.queue.length > 0) this.flows.next(c);
    return report;
  }

  /**
   * The report of a slice (also of a preempted one: how far it got). `reuse`: nobody keeps it (the
   * board's own timers fired the hook and no board listener takes results), so the container's
   * one live report is filled in place and nothing is allocated for it.
   */
  private report(c: Container, hook: HookName | 'direct', res: RunResult, cap: RunCapture, turns: number, reuse = false): RunReport {
    const column = this.costColumn;
    const live = reuse ? c.liveReport : undefined;
    const byClass = res.pcCounts ? c.countByClass(res.pcCounts, res.pcTaken, live?.byClass) : emptyCounts();
    const us = res.pcCounts ? c.estimateUs(column) : 0;
    const r0 = res.r0;
    if (live) {
      live.hook = hook;
      live.status = res.status;
      live.r0 = r0;
      live.r0Signed = c.r0Signed(c.vm.r0Low32);
      live.insns = res.insns;
      live.totalInsns = res.totalInsns;
      live.slice = c.slice;
      live.turns = turns;
      live.estimatedUs = us;
      live.estimateLabel = c.estimateLabel(us, column);
      live.console = cap.console ?? NO_LINES;
      live.storeWrites = cap.storeWrites ?? NO_WRITES;
      live.fault = res.fault ? faultInfo(res.fault) : undefined;
      live.faults.consecutive = c.faults.consecutive;
      live.faults.total = c.faults.total;
      live.quarantined = c.quarantined;
      live.atUs = this.clock.nowUs();
      return live;
    }
    const report: RunReport = {
      container: c.id,
      name: c.name,
      tenant: c.tenant,
      hook,
      status: res.status,
      r0,
      r0Signed: c.r0Signed(c.vm.r0Low32),
      insns: res.insns,
      totalInsns: res.totalInsns,
      slice: c.slice,
      turns,
      byClass,
      estimatedUs: us,
      estimated: true,
      estimateLabel: c.estimateLabel(us, column),
      console: cap.console ?? NO_LINES,
      storeWrites: cap.storeWrites ?? NO_WRITES,
      fault: res.fault ? faultInfo(res.fault) : undefined,
      faults: { consecutive: c.faults.consecutive, total: c.faults.total },
      quarantined: c.quarantined,
      atUs: this.clock.nowUs(),
    };
    // The first report nobody keeps becomes the container's live one.
    if (reuse) c.liveReport = report;
    return report;
  }

  /**
   * A preempted slice: keep what the run produced so far, send out its events (console lines
   * appear as they are printed), and go on with it on the next turn of the event loop.
   */
  private inFlight(c: Container, hook: HookName | 'direct', res: RunResult, cap: RunCapture, carried: InFlight | undefined,
    turns: number, waiter: FlowJob | undefined, reuse: boolean): RunReport {
    // The run goes on: its console and writes so far are carried to the next turn.
    const f: InFlight = carried ?? {
      hook, turns, insns: 0, budget: c.vm.progress.budget, cancel: () => undefined,
      console: (cap.console ??= []), out: this.consoleOf(cap), storeWrites: (cap.storeWrites ??= []), job: waiter,
    };
    f.turns = turns;
    f.insns = res.insns;
    c.flight = f;
    const h = this.clock.nextTurn(() => {
      if (c.flight === f && this.table.isCurrent(c)) this.slice(c, f.hook, 'continue', undefined, false, undefined, true);
    });
    f.cancel = () => h.cancel();
    const progress = { container: c.id, insns: f.insns, budget: f.budget, turns };
    if (this.capture) {
      const q = (this.capture.events ??= []);
      if (cap.events) q.push(...cap.events);
      q.push(['progress', progress]);
    } else {
      if (cap.events) for (const [ev, payload] of cap.events) this.emitOut(ev, payload);
      this.emitOut('progress', progress);
    }
    return this.report(c, hook, res, cap, turns, reuse);
  }

  private emitOut(ev: string, payload: unknown): void {
    if (ev === 'result') this.deliver(this.table.find((payload as RunReport).container), payload as RunReport);
    else this.board.emit(ev, payload);
  }

  /** A finished slice's report: to the container's result taker, then to the board's listeners. */
  private deliver(c: Container | undefined, report: RunReport): void {
    this.reported++;
    c?.onResult?.(report);
    if (this.board.listenerCount('result') > 0) this.board.emit('result', report);
  }

  private scheduleResume(c: Container, atUs: number): void {
    c.cancelWakeup?.();
    const h = this.clock.at(atUs, () => {
      c.cancelWakeup = undefined;
      if (!c.suspended || !this.table.isCurrent(c)) return;
      this.slice(c, c.runHook ?? 'direct', 'resume', undefined, false, undefined, true);
    });
    c.cancelWakeup = () => h.cancel();
  }

  /** Drop a container's suspended or preempted run and refuse the messages waiting on it. */
  abandon(c: Container, why: string): void {
    const running = c.flight !== undefined;
    const waiting = c.abandonRun();
    for (const j of waiting) j.reject(new BoardError('cancelled', `container "${c.id}" did not run this message: ${why}`));
    if (running) this.board.emit('cancelled', { container: c.id, reason: why });
  }
}
