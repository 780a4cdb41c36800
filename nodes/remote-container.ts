/**
 * A femto-container node on a remote femto-board: the program lives on the device (put
 * there by femto-deploy, `femto deploy`, or RIOT's own tooling); each input message runs the
 * board's slot `.ram.N` with `POST /bpf/exec/N` (msg.slot overrides N), the request payload being
 * the node's input property (default msg.payload) as bytes, as the flow hook would see them.
 *
 * Out: the same message, payload = r0 (the node's "r0 as" type), msg.femto = the device's run
 * report ({ remote: true, board, url, slot, status, r0, insns, estimatedUs, console, faults,
 * quarantined, code/pc/instruction on a fault }). A fault, an empty slot, a quarantined slot and a
 * device that does not answer go to done(err) (Catch nodes), with msg.femto saying which. Status:
 * ARCHITECTURE.md § The Node-RED face (lib/node-support/remote-run slotNodeStatus /
 * remoteRunStatus), plus "device not answering". The node's own program settings are not used on a
 * remote board. Not a node file itself: femto-container hands its nodes on remote boards to this
 * module.
 */
import { CoapError } from '../lib/deploy/coap-client';
import { inputValue, payloadToBytes, isResultType, type ResultType } from '../lib/node-support/message';
import { isUnreachable, remoteErrorText } from '../lib/node-support/remote-errors';
import type { RemoteBoardLink, RemoteCapableBoardNode } from '../lib/node-support/remote-link';
import { remoteFaultError, remoteRunInfo, remoteRunStatus, slotNodeStatus } from '../lib/node-support/remote-run';
import { lastFaultOf, registry } from '../lib/node-support/registry';
import * as status from '../lib/node-support/status';
import type { RemoteRun } from '../lib/deploy/remote';
import type { Node, NodeConfig, RED, Translate } from './red';


export function remoteContainer(RED: RED, node: Node, config: NodeConfig, boardNode: RemoteCapableBoardNode, link: RemoteBoardLink, t: Translate): void {
  const boardName = boardNode.boardName;
  const slot = link.settings.slot;
  const name = (config.name as string) || node.id;
  const resultType: ResultType = isResultType(config.resultType) ? config.resultType : 'int64';
  let closed = false;
  /** The status after this node's last run, and when it came (a status read older than that is stale). */
  let runStatus: ReturnType<typeof remoteRunStatus> | undefined;
  let runAt = 0;

  link.containers.set(node.id, { nodeId: node.id, name, slot });
  registry.changed();
  const hasProgram = config.language === 'image' ? !!config.image : !!(typeof config.source === 'string' && config.source.trim());
  if (hasProgram) {
    node.warn(t('errors.remoteProgram', { board: boardName, slot }));
  }

  /** The status from a status read: the device's last run of the slot when it reports one. */
  const show = (): void => {
    if (closed) return;
    const snap = link.snapshot;
    const s = snap.slots.find((x) => x.slot === slot);
    if (snap.reachable && s?.installed && s.state !== 'quarantined') {
      if (s.lastRun) return node.status(remoteRunStatus(s.lastRun as unknown as RemoteRun, boardName, resultType));
      if (runStatus && snap.requestedAt < runAt) return node.status(runStatus);
    }
    runStatus = undefined;
    node.status(slotNodeStatus(snap, slot));
  };
  const onInstalled = (e: { slot: number }): void => {
    if (e.slot === slot) runStatus = undefined;
  };
  link.on('status', show);
  link.on('installed', onInstalled);
  node.status({ fill: 'yellow', shape: 'ring', text: 'connecting' });

  node.on('input', (msg, send, done) => {
    if (msg.image !== undefined) {
      done(new Error(t('errors.remoteImage', { board: boardName })));
      return;
    }
    const n = msg.slot !== undefined && msg.slot !== '' && Number.isInteger(Number(msg.slot)) && Number(msg.slot) >= 0 ? Number(msg.slot) : slot;
    let bytes: Uint8Array;
    try {
      const input = typeof config.input === 'string' ? config.input : undefined;
      const inputType = typeof config.inputType === 'string' ? config.inputType : undefined;
      bytes = payloadToBytes(inputValue(msg, input, inputType, node, RED.util.evaluateNodeProperty));
    } catch (e) {
      done(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    const ctx = { container: node.id, name, board: boardName, url: link.url, slot: n };
    link.exec(n, bytes).then(
      (run) => {
        if (closed) return done();
        const info = remoteRunInfo(run, ctx, resultType);
        msg.femto = info;
        const st = remoteRunStatus(run, boardName, resultType);
        if (n === slot) {
          runStatus = st;
          runAt = Date.now();
        }
        node.status(st);
        const entry = link.containers.get(node.id);
        if (entry && run.status !== 'fault') entry.lastResult = { r0: info.r0 as number | string, insns: run.insns ?? 0, estimatedUs: run.estimatedUs ?? 0 };
        if (entry && run.fault) entry.lastFault = lastFaultOf(run.fault);
        registry.changed();
        if (run.status === 'fault' && run.fault) {
          done(remoteFaultError(run, name));
          return;
        }
        msg.payload = info.r0;
        send(msg);
        done();
      },
      (e: unknown) => {
        if (closed) return done();
        const text = remoteErrorText(e, link.url, link.settings.timeoutMs);
        const info: Record<string, unknown> = { ...ctx, remote: true, error: text };
        msg.femto = info;
        runStatus = undefined;
        if (isUnreachable(e)) {
          node.status({ fill: 'red', shape: 'ring', text: 'device not answering' });
          info.unreachable = true;
          done(new Error(`${name}: ${text}`));
          return;
        }
        if (e instanceof CoapError && e.kind === 'response' && e.code === '4.04') {
          node.status(status.noImage());
          info.noImage = true;
          done(new Error(t('errors.remoteEmpty', { name, slot: n, board: boardName })));
          return;
        }
        if (e instanceof CoapError && e.kind === 'response' && e.code === '5.03' && /quarantined/.test(text)) {
          node.status(status.quarantined());
          info.quarantined = true;
        }
        done(new Error(`${name}: ${text}`));
      },
    );
  });

  node.on('close', (_removed: boolean, done: () => void) => {
    closed = true;
    link.off('status', show);
    link.off('installed', onInstalled);
    link.containers.delete(node.id);
    registry.changed();
    node.status({});
    done();
  });
}
