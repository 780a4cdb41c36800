/**
 * Flow messages to 'flow' containers: one message, one run, with the message's bytes as a
 * read-only region. On a slicing board a message to a busy container waits behind its run in a
 * bounded queue, in order, one run per turn of the event loop (ARCHITECTURE.md § Budgets,
 * suspension and time slicing).
 */
import type { EventEmitter } from 'node:events';
import { BoardError } from './board-error';
import type { Clock } from './clock';
import type { Container, FlowJob } from './container';
import type { ContainerTable } from './container-table';
import { flowContext } from './hooks';
import type { RunReport } from './results';
import type { Runner } from './runner';

/** The largest message a flow container is given. */
export const MAX_FLOW_PAYLOAD = 65536;

export function checkFlowPayload(payload: Uint8Array): void {
  if (payload.length > MAX_FLOW_PAYLOAD) throw new BoardError('payload', `flow payload of ${payload.length} B exceeds ${MAX_FLOW_PAYLOAD} B`);
}

/** Map a read-only copy of the message into the container as "flow_payload"; the hook's context. */
export function flowRegion(c: Container, payload: Uint8Array): Uint8Array {
  const r = c.vm.mapRegion('flow_payload', payload.slice(), false);
  return flowContext(r.base, payload.length);
}

export class FlowQueue {
  constructor(
    private readonly board: EventEmitter,
    private readonly table: ContainerTable,
    private readonly runner: Runner,
    private readonly clock: Clock,
    private readonly limit: number,
  ) {}

  /** One message, run to its end in this call (a suspended run is abandoned: this starts a new one). */
  runNow(containerId: string, payload: Uint8Array): RunReport {
    const c = this.flowContainer(containerId, payload);
    if (c.running || c.busy) throw new BoardError('busy', `container "${containerId}" is running`);
    c.abandonSuspension();
    const ctx = flowRegion(c, payload);
    return this.runner.slice(c, 'flow', 'run', ctx, true);
  }

  /** One message, sliced; it waits behind a busy container's run (see Board.flow). */
  submit(containerId: string, payload: Uint8Array): Promise<RunReport> {
    return new Promise((resolve, reject) => {
      const c = this.flowContainer(containerId, payload);
      const job: FlowJob = { payload, resolve, reject };
      if (!c.busy && !c.running) {
        this.start(c, job);
        return;
      }
      if (c.queue.length >= this.limit) {
        c.dropped++;
        this.board.emit('dropped', { container: c.id, queued: c.queue.length });
        reject(new BoardError('busy', `container "${containerId}" is busy (a run in flight and ${c.queue.length} messages waiting, the most allowed): ` +
          `this message of ${payload.length} B was dropped`));
        return;
      }
      job.payload = payload.slice(); // the caller may reuse its buffer while the message waits
      c.queue.push(job);
    });
  }

  private flowContainer(containerId: string, payload: Uint8Array): Container {
    const c = this.table.get(containerId);
    if (c.hook !== 'flow') throw new BoardError('hook', `container "${containerId}" is ${c.hook ? `on the ${c.hook} hook` : 'detached'}, not on the flow hook`);
    checkFlowPayload(payload);
    return c;
  }

  private start(c: Container, job: FlowJob): void {
    if (c.hook !== 'flow') {
      job.reject(new BoardError('hook', `container "${c.id}" left the flow hook before this message's turn`));
      return;
    }
    if (c.quarantined) {
      // Quarantine takes the container out of service at once: a message that was waiting behind
      // the run that quarantined it is refused as it would be on arrival, not run.
      job.reject(new BoardError('quarantined', `container "${c.id}" was quarantined while this message waited`));
      this.next(c);
      return;
    }
    c.abandonSuspension(); // the new message starts a new run, as in runNow
    const ctx = flowRegion(c, job.payload);
    this.runner.slice(c, 'flow', 'run', ctx, false, job);
  }

  /** The next queued message starts on a later turn (one run per turn at most). */
  next(c: Container): void {
    const h = this.clock.nextTurn(() => {
      if (c.queueTurn !== h) return;
      c.queueTurn = undefined;
      if (!this.table.isCurrent(c) || c.flight || c.running) return;
      const job = c.queue.shift();
      if (job) this.start(c, job);
    });
    c.queueTurn?.cancel();
    c.queueTurn = h;
  }
}
