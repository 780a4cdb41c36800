/**
 * femto-container: one sandboxed eBPF function on a femto-board. Thin layer: the program comes
 * from lib/node-support/program (assembly, C in the compile sandbox, an uploaded image or ELF, or
 * msg.image), the board (lib/board) verifies, installs and runs it, and the node translates
 * messages, status (ARCHITECTURE.md § The Node-RED face, lib/node-support/status) and errors.
 *
 * Behaviour:
 *  - flow hook: each input message runs the container once with the input property (default
 *    msg.payload, evaluated with RED.util.evaluateNodeProperty) as a read-only context; the same
 *    message goes out with payload = r0 and msg.femto = run details.
 *  - other hooks: the board runs the container when it fires the hook (sensor sample, button,
 *    timer, CoAP request, thread switch) and each run sends a new message. An input message fires
 *    the node's hook on the board now (a sample of its device, a button press — payload false
 *    releases —, a timer tick, a CoAP request to its path — msg.path, msg.method, payload —, a
 *    scheduler switch); the node's own run answers that message. A CoAP request answers with the
 *    response: payload = response text, msg.coap = { code, codeText, contentFormat, container }.
 *  - msg.image (Buffer, base64 or { asm }) replaces the program after verification: a rejected
 *    image leaves the running one in place (status says why, done(err) reports it).
 *  - msg.reset = true clears the fault counters and lifts a quarantine.
 *  - A fault never stops the flow: done(err) (or node.error(err, msg) for board-fired runs), so a
 *    Catch node gets it, with msg.femto = { code, pc, instruction, message, faults, … }.
 *  - Suspended runs (ztimer_periodic_wakeup) send a message per slice (msg.femto.status
 *    "suspended"), so long-running containers report as they go.
 *  - Runs are sliced (the board's 5 ms slices): a long run goes on over several turns of the
 *    event loop while the status says "running… N instr". Messages to the node wait until its
 *    run ends and are answered in order (done() per message when its run completes); a full
 *    queue refuses the newest message with an error naming it.
 *  - On a remote femto-board the node runs the board's slot on the device instead
 *    (nodes/remote-container.ts).
 */
import { BoardError, type Board, type HookResult, type RunReport } from '../lib/board/board';
import type { HookName } from '../lib/board/hooks';
import { isHook } from '../lib/board/hooks';
import { VerifyError, FormatError } from '../vm/errors';
import { ClangNotFoundError } from '../lib/compiler';
import { faultError, femtoInfo, inputValue, isResultType, payloadToBytes, r0Value, type ResultType } from '../lib/node-support/message';
import { buildProgram, DEPLOY_COMPILE_WAIT_MS, fromAsm, imageInsns, programFromMessage, sourceFileName, sourceOf, type BuiltProgram } from '../lib/node-support/program';
import { registry } from '../lib/node-support/registry';
import { SandboxCompileError, SandboxError } from '../lib/node-support/sandbox';
import * as status from '../lib/node-support/status';
import { translator, type Done, type FemtoBoardNode, type Msg, type Node, type NodeConfig, type RED, type Send } from './red';
import { registerAdmin } from './admin';
import { remoteContainer } from './remote-container';
import type { RemoteCapableBoardNode } from '../lib/node-support/remote-link';

interface ContainerConfig extends NodeConfig {
  board?: string;
  language?: string;
  source?: string;
  image?: string;
  hook?: string;
  device?: string;
  path?: string;
  method?: string;
  tenant?: string;
  helpers?: string;
  budget?: string | number;
  profile?: string;
  resultType?: string;
  entry?: string;
  quarantineAfter?: string | number;
  input?: string;
  inputType?: string;
}

type Rejection = { rule: string; pc?: number; line?: number; code?: number; instruction?: string; message: string };

/**
 * "rule" and location of anything that keeps a program off the board, for status and msg.femto;
 * a verifier rejection of a program with line information also names its source line.
 */
function rejection(e: unknown, p?: BuiltProgram): Rejection {
  if (e instanceof VerifyError) return { rule: e.rule, pc: e.pc, line: sourceOf(p, e.pc)?.line, code: e.code, instruction: e.insn, message: e.message };
  if (e instanceof SandboxError) return { rule: 'sandbox', line: e.line, message: e.message };
  if (e instanceof SandboxCompileError) return { rule: 'compile error', line: e.line, message: e.message };
  if (e instanceof ClangNotFoundError) return { rule: 'clang not found', message: e.message };
  if (e instanceof FormatError) return { rule: e.format === 'asm' ? 'syntax' : e.format, line: e.where.line, message: e.message };
  if (e instanceof BoardError) return { rule: e.code, message: e.message };
  if (e instanceof RangeError && /helper/.test(e.message)) return { rule: 'helpers', message: e.message };
  return { rule: 'error', message: e instanceof Error ? e.message : String(e) };
}

export = function (RED: RED): void {
  const t = translator(RED, 'femto-container');
  registerAdmin(RED);

  function FemtoContainer(this: Node, config: ContainerConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const boardNode = RED.nodes.getNode(config.board ?? '') as FemtoBoardNode | null;
    const remote = (boardNode as RemoteCapableBoardNode | null)?.remote;
    if (boardNode && remote) {
      // A remote femto-board: the program runs on the device (nodes/remote-container.ts).
      remoteContainer(RED, node, config, boardNode, remote, t);
      return;
    }
    const board: Board | undefined = boardNode?.board;
    const boardId = config.board ?? '';
    const boardName = boardNode?.boardName ?? '';
    const hook: HookName = isHook(config.hook) ? config.hook : 'flow';
    const tenant = (config.tenant || '').trim() || 'default';
    const resultType: ResultType = isResultType(config.resultType) ? config.resultType : 'int64';
    const budget = Number(config.budget) > 0 ? Math.floor(Number(config.budget)) : undefined;
    const quarantineAfter = config.quarantineAfter === undefined || config.quarantineAfter === '' ? undefined : Math.max(0, Math.floor(Number(config.quarantineAfter)));
    const helpers = (config.helpers || '').split(/[\s,]+/).filter(Boolean);
    const profile = config.profile === 'riot-2022' || config.profile === 'rfc9669' ? config.profile : undefined;
    const device = config.device === undefined || config.device === '' ? undefined : /^\d+$/.test(config.device) ? Number(config.device) : config.device;
    const name = config.name || node.id;
    const fileName = sourceFileName(config.name, config.language);
    let installed = false;
    /** The installed program (its source map names fault lines). */
    let program: BuiltProgram | undefined;
    /** Why the configured program never got onto the board: each input is answered with it. */
    let rejectedWith: Rejection | undefined;
    let closed = false;
    let firing = false;
    let ownReport: RunReport | undefined;
    /** Non-flow hooks: the message whose run is in flight, and those waiting for it. */
    interface Job { msg: Msg; send: Send; done: Done; coap?: boolean }
    let pending: Job | undefined;
    const waiting: Job[] = [];
    /** flow() calls not yet settled: their runs' first results answer them, not new messages. */
    let flowCalls = 0;
    let lastProgress = 0;
    let dropped = 0;

    if (!board) {
      node.status({ fill: 'red', shape: 'ring', text: boardNode?.failure ? 'board failed' : 'no board' });
      node.error(t('errors.noBoard'));
      node.on('input', (_msg, _send, done) => done(new Error(t('errors.noBoard'))));
      return;
    }
    const liveBoard: Board = board;

    registry.setContainer(boardId, node.id, { nodeId: node.id, name, hook, tenant, resultType, pending: 'no image' });
    /** A run's status is built and shown at most every STATUS_INTERVAL_MS; the others at once. */
    const shown = new status.StatusThrottle<RunReport>((s) => node.status(s),
      (r) => status.afterRun(r, resultType, { source: faultSource(r), profile: vmProfile() }));
    /**
     * Whether anything is wired to the output: a board-fired run's message goes nowhere when
     * nothing is, so it is not built (a fault still goes to node.error, which Catch nodes see).
     */
    const outputs = (node as unknown as { wires?: unknown }).wires;
    const wired = Array.isArray(outputs) && outputs.some((w) => Array.isArray(w) && w.length > 0);

    const tier = (): string => {
      try {
        return liveBoard.vmOf(node.id).tier.current;
      } catch {
        return 'interp';
      }
    };
    const vmProfile = (): string | undefined => {
      try {
        return liveBoard.vmOf(node.id).profile;
      } catch {
        return undefined;
      }
    };
    const faultSource = (r: RunReport) => sourceOf(program, r.fault?.pc);
    const info = (r: RunReport) => femtoInfo(r, { name: boardName, profile: liveBoard.profile.name }, tier(), resultType, faultSource(r));

    function showRejected(e: unknown, p?: BuiltProgram): Rejection {
      const r = rejection(e, p);
      shown.now(status.rejected(r.rule, { pc: r.pc, line: r.line }));
      if (!installed) registry.updateContainer(boardId, node.id, { pending: 'rejected' });
      return r;
    }

    /** Install or replace; returns the error when the board refused it. */
    function put(p: BuiltProgram): unknown {
      try {
        if (installed) {
          liveBoard.replaceImage(node.id, p.image);
        } else {
          liveBoard.install({
            id: node.id, name, image: p.image, hook, tenant, budget, profile, quarantineAfter,
            helpers: helpers.length ? helpers : undefined,
            entry: config.entry ? config.entry : undefined,
            path: hook === 'coap' ? config.path || undefined : undefined,
            device: hook === 'sensor' || hook === 'button' ? device : undefined,
          });
          installed = true;
        }
        program = p;
        rejectedWith = undefined;
        registry.updateContainer(boardId, node.id, { pending: undefined, image: p.image, sourceMap: p.sourceMap });
        shown.now(status.attached(hook, imageInsns(p.image)));
        for (const w of p.warnings) node.warn(w);
        return undefined;
      } catch (e) {
        return e;
      }
    }

    function onResult(r: RunReport): void {
      if (r.container !== node.id || closed) return;
      // The registry records the result for the sidebar itself (its own 'result' listener).
      shown.soon(r);
      if (firing) {
        ownReport = r;
        return;
      }
      if (flowCalls > 0 && r.hook === 'flow' && r.slice === 1) return; // its flow() answers it
      if (pending && !pending.coap) {
        const job = pending;
        pending = undefined;
        answer(job, r);
        drain();
        return;
      }
      if (pending?.coap) return; // the CoAP request's own runs: its answer carries them
      if (r.status === 'fault') node.error(faultError(r, faultSource(r)), { topic: r.hook, payload: r0Value(r.r0, resultType), femto: info(r) });
      else if (wired) node.send({ topic: r.hook, payload: r0Value(r.r0, resultType), femto: info(r) });
      drain();
    }
    function onQuarantine(q: { container: string }): void {
      if (q.container === node.id && !closed) shown.now(status.quarantined());
    }
    /** A run in flight: "running… N instr", at most four times a second. */
    function onProgress(p: { container: string; insns: number; budget: number }): void {
      if (p.container !== node.id || closed) return;
      const now = Date.now();
      if (now - lastProgress < 250) return;
      lastProgress = now;
      shown.now(status.running(p.insns, p.budget, waiting.length + (liveBoard.container(node.id).queued)));
    }
    /** The board dropped the run in flight (image replaced, board stopped): its message fails. */
    function onCancelled(c: { container: string; reason: string }): void {
      if (c.container !== node.id || !pending || pending.coap) return;
      const job = pending;
      pending = undefined;
      job.done(new Error(t('errors.cancelled', { reason: c.reason })));
      drain();
    }
    // Results come through the registry's one listener per board (no fan-out to every node).
    const routed = registry.onResult(boardId, node.id, onResult);
    if (!routed) liveBoard.on('result', onResult);
    liveBoard.on('quarantine', onQuarantine);
    liveBoard.on('progress', onProgress);
    liveBoard.on('cancelled', onCancelled);

    /** Answer an input message with its run's report. */
    function answer(job: Job, r: RunReport | undefined): void {
      if (!r) {
        job.done();
        return;
      }
      job.msg.femto = info(r);
      if (r.status === 'fault') {
        job.done(faultError(r, faultSource(r)));
        return;
      }
      if (!job.coap) job.msg.payload = r0Value(r.r0, resultType);
      job.send(job.msg);
      job.done();
    }

    /** Start waiting messages while the container is free (one run in flight at a time). */
    function drain(): void {
      while (!pending && waiting.length > 0 && !closed) {
        let busy: boolean;
        try {
          busy = liveBoard.container(node.id).state === 'running';
        } catch {
          busy = false;
        }
        if (busy) return; // its run ends with a 'result', which drains again
        fireHook(waiting.shift()!);
      }
    }

    // The configured program: synchronous for assembly and images, compiled for C.
    shown.now(status.noImage());
    const hasProgram = config.language === 'image' ? !!config.image : !!(config.source && config.source.trim());
    if (hasProgram) {
      shown.now(status.verifying());
      registry.updateContainer(boardId, node.id, { pending: 'verifying' });
      const finish = (p: BuiltProgram | undefined, err?: unknown): void => {
        if (closed) return;
        if (err === undefined && p) err = put(p);
        if (err !== undefined) {
          const r = showRejected(err, p);
          if (!installed) rejectedWith = r;
          node.error(t('errors.rejected', { message: r.message }));
        } else if (!p) {
          shown.now(status.noImage());
          registry.updateContainer(boardId, node.id, { pending: 'no image' });
        }
      };
      if (config.language === 'c') {
        buildProgram({ language: 'c', source: config.source, image: config.image, fileName }, { queueWaitMs: DEPLOY_COMPILE_WAIT_MS }).then((p) => finish(p), (e: unknown) => finish(undefined, e));
      } else {
        try {
          finish(buildProgramSync(config));
        } catch (e) {
          finish(undefined, e);
        }
      }
    }

    node.on('input', (msg, send, done) => {
      // Hot swap.
      if (msg.image !== undefined) {
        shown.now(status.verifying());
        let err: unknown;
        let p: BuiltProgram | undefined;
        try {
          p = programFromMessage(msg.image);
          err = put(p);
        } catch (e) {
          err = e;
        }
        if (err === undefined) {
          msg.femto = { swapped: true, container: node.id, board: boardName };
          done();
          return;
        }
        const r = showRejected(err, p);
        if (!installed) rejectedWith = r;
        msg.femto = { rejected: true, rule: r.rule, code: r.code, pc: r.pc, line: r.line, instruction: r.instruction, message: r.message, stillRunning: installed };
        done(Object.assign(new Error(t('errors.swapRejected', { message: r.message })), { name: 'FemtoRejected' }));
        return;
      }
      if (msg.reset === true) {
        if (installed) {
          const ci = liveBoard.resetContainer(node.id);
          shown.now(status.attached(hook, liveBoard.vmOf(node.id).program.length));
          msg.femto = { reset: true, container: ci.id };
        }
        done();
        return;
      }
      if (!installed && rejectedWith) {
        // The configured program was refused: say so to every message, with where and why.
        const r = rejectedWith;
        msg.femto = { rejected: true, container: node.id, rule: r.rule, code: r.code, pc: r.pc, line: r.line, instruction: r.instruction, message: r.message };
        done(Object.assign(new Error(t('errors.rejectedInput', { name, message: r.message })), { name: 'FemtoRejected' }));
        return;
      }
      if (!installed) {
        done(new Error(t('errors.noProgram')));
        return;
      }
      const ci = liveBoard.container(node.id);
      if (ci.state === 'quarantined' && hook === 'flow') {
        msg.femto = { quarantined: true, container: node.id, faults: ci.faults, board: boardName };
        done(new Error(t('errors.quarantined', { name, n: ci.faults.consecutive })));
        return;
      }
      if (hook === 'flow') {
        let run: Promise<RunReport>;
        flowCalls++; // before the call: a run that ends in its first slice reports inside it
        try {
          const value = inputValue(msg, config.input, config.inputType, node, RED.util.evaluateNodeProperty);
          run = liveBoard.flow(node.id, payloadToBytes(value));
        } catch (e) {
          flowCalls--;
          done(e instanceof Error ? e : new Error(String(e)));
          return;
        }
        run.then((r) => {
          flowCalls--;
          if (!closed) answer({ msg, send, done }, r);
          else done();
        }, (e: unknown) => {
          flowCalls--;
          if (closed) { done(); return; }
          if (e instanceof BoardError && e.code === 'busy') shown.now(status.queueFull(liveBoard.container(node.id).dropped));
          if (e instanceof BoardError && e.code === 'quarantined') {
            // A run ahead of this message quarantined the container: answered as on arrival.
            const faults = liveBoard.container(node.id).faults;
            msg.femto = { quarantined: true, container: node.id, faults, board: boardName };
            done(new Error(t('errors.quarantined', { name, n: faults.consecutive })));
            return;
          }
          done(e instanceof Error ? e : new Error(String(e)));
        });
        return;
      }
      const job: Job = { msg, send, done };
      if (pending || waiting.length > 0) {
        if (waiting.length >= liveBoard.queueLimit) {
          shown.now(status.queueFull(++dropped));
          done(new Error(t('errors.queueFull', { name, n: waiting.length })));
          return;
        }
        waiting.push(job);
        return;
      }
      fireHook(job);
    });

    /** Fire the node's hook for one message; the node's own run answers it (now or when it ends). */
    function fireHook(job: Job): void {
      const { msg } = job;
      if (hook === 'coap') {
        const method = typeof msg.method === 'string' ? msg.method : config.method || 'GET';
        const path = typeof msg.path === 'string' ? msg.path : config.path || '/';
        const body = typeof msg.payload === 'string' || msg.payload instanceof Uint8Array ? msg.payload : '';
        job.coap = true;
        pending = job;
        let request: ReturnType<Board['coapRequestAsync']>;
        try {
          request = liveBoard.coapRequestAsync(method, path, body);
        } catch (e) {
          pending = undefined;
          job.done(e instanceof Error ? e : new Error(String(e)));
          drain();
          return;
        }
        request.then(({ response, result }) => {
          pending = undefined;
          if (closed) { job.done(); return; }
          msg.payload = Buffer.from(response.payload).toString('utf8');
          msg.coap = { code: `${response.code >> 5}.${String(response.code & 31).padStart(2, '0')}`, codeText: response.codeText, contentFormat: response.contentFormat, container: response.container };
          const own = result.reports.find((r) => r.container === node.id);
          if (own) answer(job, own);
          else { job.send(msg); job.done(); }
          drain();
        }, (e: unknown) => {
          pending = undefined;
          job.done(e instanceof Error ? e : new Error(String(e)));
          drain();
        });
        return;
      }
      ownReport = undefined;
      firing = true;
      let fired: HookResult;
      try {
        if (hook === 'sensor') {
          fired = liveBoard.sampleSensor(device);
        } else if (hook === 'button') {
          const release = msg.payload === false || msg.payload === 0 || msg.payload === 'release';
          fired = release ? liveBoard.releaseButton(device) : liveBoard.pressButton(device);
        } else if (hook === 'timer') {
          fired = liveBoard.fireTimer();
        } else {
          fired = liveBoard.schedTick();
        }
      } catch (e) {
        firing = false;
        job.done(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      firing = false;
      const r = ownReport as RunReport | undefined;
      ownReport = undefined;
      if (!r && fired.reports.some((x) => x.container === node.id && x.status === 'preempted')) {
        pending = job; // answered by the run's 'result' when it ends
        return;
      }
      if (!r && fired.skipped.some((x) => x.container === node.id && x.reason === 'running')) {
        waiting.unshift(job); // a board-fired run of this container is in flight: fire after it
        return;
      }
      answer(job, r);
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      shown.close();
      if (routed) registry.onResult(boardId, node.id, undefined);
      else liveBoard.off('result', onResult);
      liveBoard.off('quarantine', onQuarantine);
      liveBoard.off('progress', onProgress);
      liveBoard.off('cancelled', onCancelled);
      for (const job of [...(pending ? [pending] : []), ...waiting.splice(0)]) job.done();
      pending = undefined;
      if (installed) {
        try {
          liveBoard.remove(node.id);
        } catch {
          // The board may already be gone.
        }
      }
      registry.removeContainer(boardId, node.id);
      node.status({});
      done();
    });
  }

  /** The configured program for assembly and images (synchronous; C goes through buildProgram). */
  function buildProgramSync(config: ContainerConfig): BuiltProgram | undefined {
    if (config.language === 'image') return config.image ? programFromMessage({ base64: config.image }) : undefined;
    return config.source && config.source.trim() ? fromAsm(config.source, sourceFileName(config.name, 'asm')) : undefined;
  }

  RED.nodes.registerType('femto-container', FemtoContainer as (this: Node, c: NodeConfig) => void);
};
