/**
 * femto-deploy's words for deploy outcomes (lib/deploy DeployOutcome): one clear sentence per board
 * for msg and errors, a short form for status lines, and the node status while a deployment to one
 * or many boards runs and when it ends.
 */
import type { DeployOutcome, DeployProgress } from '../deploy/deploy';
import type { NodeStatus } from './status';

const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;

const CHECK_TEXT: Record<string, string> = {
  signature: 'bad signature (the device does not trust the signing key)',
  sequence: 'rollback refused (the sequence number is not above the installed one)',
  size: 'the image does not fit the slot',
  slot: 'no such slot on the device',
  verifier: "rejected by the device's verifier",
  digest: 'the image does not match the manifest digest',
  vendor: 'wrong vendor id',
  class: 'wrong class id (the image is for another board)',
  format: 'malformed manifest',
  fetch: 'the transfer failed',
  image: 'not a valid image',
  install: 'the device could not install it',
  storage: 'the device could not save it',
  key: 'the signing key is not the key this board trusts',
};

/** One sentence for a failed outcome: "<what> — <the device's words>". */
export function outcomeReason(o: Pick<DeployOutcome, 'error' | 'target'>): string {
  const e = o.error;
  if (!e) return 'installed';
  switch (e.kind) {
    case 'rejected': return `${CHECK_TEXT[e.check ?? ''] ?? `rejected (${e.check ?? 'unknown check'})`}: ${e.message}`;
    case 'timeout': return `timeout: ${e.message}`;
    case 'down': return `device not answering: ${e.message}`;
    case 'busy': return `busy: ${e.message}`;
    case 'unconfirmed': return `unconfirmed: ${e.message}`;
    default: return `${e.kind}: ${e.message}`;
  }
}

/** Short form for a status line ("rollback refused", "timeout", "device not answering"). */
export function outcomeShort(o: Pick<DeployOutcome, 'error'>): string {
  const e = o.error;
  if (!e) return 'installed';
  if (e.kind === 'rejected') {
    const s: Record<string, string> = { signature: 'bad signature', sequence: 'rollback refused', size: 'slot too small', verifier: 'verifier rejected', key: 'wrong key' };
    return s[e.check ?? ''] ?? `rejected (${e.check})`;
  }
  return e.kind === 'down' ? 'device not answering' : e.kind;
}

/**
 * The deploy node's status from progress events: one board shows its phase ("fetching block k/n",
 * "verifying", "installed seq N"); several show how many are done and the latest phase.
 */
export class DeployProgressView {
  private readonly phases = new Map<string, DeployProgress>();
  constructor(private readonly total: number, private readonly labels: Map<string, string>) {}

  update(p: DeployProgress): NodeStatus {
    this.phases.set(p.target, p);
    const done = [...this.phases.values()].filter((x) => x.phase === 'installed' || x.phase === 'failed');
    const failed = done.filter((x) => x.phase === 'failed').length;
    if (this.total === 1) {
      if (p.phase === 'installed') return { fill: 'green', shape: 'dot', text: `installed seq ${p.seq}` };
      if (p.phase === 'failed') return { fill: 'red', shape: 'ring', text: 'failed' };
      return { fill: 'blue', shape: 'ring', text: p.phase === 'probing' ? 'connecting' : p.message };
    }
    const label = this.labels.get(p.target) ?? p.target;
    const head = `${done.length}/${this.total} done${failed ? `, ${failed} failed` : ''}`;
    return { fill: failed ? 'yellow' : 'blue', shape: 'ring', text: `${head} · ${label}: ${p.phase === 'probing' ? 'connecting' : p.message}`.slice(0, 64) };
  }
}

export function finalDeployStatus(outcomes: { ok: boolean; seq?: number; error?: DeployOutcome['error'] }[]): NodeStatus {
  const ok = outcomes.filter((o) => o.ok);
  const seqs = [...new Set(ok.map((o) => o.seq))];
  if (ok.length === outcomes.length) {
    if (outcomes.length === 1) return { fill: 'green', shape: 'dot', text: `installed seq ${ok[0].seq}` };
    return { fill: 'green', shape: 'dot', text: `installed on ${plural(ok.length, 'board')}${seqs.length === 1 ? ` · seq ${seqs[0]}` : ''}` };
  }
  const bad = outcomes.filter((o) => !o.ok);
  if (outcomes.length === 1) return { fill: 'red', shape: 'ring', text: `failed: ${outcomeShort(bad[0])}`.slice(0, 64) };
  const kinds = [...new Set(bad.map((o) => outcomeShort(o)))].join(', ');
  return { fill: 'red', shape: 'ring', text: `${ok.length}/${outcomes.length} installed, ${bad.length} failed: ${kinds}`.slice(0, 64) };
}
