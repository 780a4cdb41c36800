/**
 * femto-deploy: signed over-the-network install of a container image on remote boards
 * (ARCHITECTURE.md § Deployment). A thin face over lib/deploy's deploy().
 *
 * In: an image — msg.image or msg.payload (Buffer: RIOT image, ELF object or bytecode; base64;
 * assembly text), a file path in msg.filename, or the output of a femto-container node (its
 * program). Targets: the node's femto-board (remote) and its extra targets (more remote
 * femto-boards and/or coap://host:port URLs), or msg.targets (a URL, a femto-board id, or an array
 * of them). msg.slot and msg.seq override the slot (default: each board's slot, 0 for URLs) and
 * the sequence number (default: the board's current one + 1).
 *
 * The image is signed with the Ed25519 key in the node's credentials (never exported) into a SUIT
 * manifest per board and deployed to all boards in parallel. Status: one board shows its phase
 * ("connecting", "fetching block k/n", "verifying", "installed seq N"); several show how many are
 * done. Out (every board installed): msg.payload = one outcome per board { board, url, ok, slot,
 * seq, ms, reason, error }, msg.femto.deploy = { ok, outcomes, image: { bytes, sha256 }, key }.
 * Any board failing (timeout, device not answering, bad signature, rollback, slot too small,
 * rejected by the device's verifier…) → done(err) naming each failed board and why, so a Catch
 * node gets it with the same msg.femto.deploy. Messages are deployed one after the other.
 *
 * Boards not on this machine fetch from the node's "serve from" address (this host as they reach it).
 *
 * Admin: POST femto/keygen (femto-deploy.write) → a new key pair { privateKey (PKCS#8 PEM),
 * publicKey (SPKI PEM), publicKeyHex, fingerprint } for the editor's "generate" button, which puts
 * the private key into the credentials field; GET femto/deploy/:id/key (femto-deploy.read) → the
 * public half of a deployed node's key { fingerprint, publicKey, publicKeyHex } (never the secret).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { deploy, type DeployOutcome, type DeployProgress } from '../lib/deploy/deploy';
import { parseCoapUrl } from '../lib/deploy/coap-client';
import { fingerprint, generateKeyPair, privateKeyPem, publicKeyPem, type KeyPair } from '../lib/deploy/keys';
import { deployImageFromMessage } from '../lib/node-support/deploy-input';
import { DeployProgressView, finalDeployStatus, outcomeReason } from '../lib/node-support/deploy-status';
import { parseSecretKey } from '../lib/node-support/key-text';
import type { RemoteBoardLink, RemoteCapableBoardNode } from '../lib/node-support/remote-link';
import { translator, type Msg, type Node, type NodeConfig, type RED } from './red';

interface DeployConfig extends NodeConfig {
  board?: string;
  targets?: string[] | string;
  slot?: string | number;
  seq?: string | number;
  timeout?: string | number;
  serveHost?: string;
}

interface DeployNode extends Node {
  credentials?: { key?: string };
  keyPair?: KeyPair;
}

/** One board's outcome, as msg.payload lists them. */
interface BoardOutcome {
  board: string;
  url: string;
  ok: boolean;
  slot: number;
  seq: number | null;
  ms: number;
  state: string | null;
  reason: string;
  error: { kind: string; check?: string; message: string } | null;
}

interface Target {
  label: string;
  url?: string;
  slot: number;
  link?: RemoteBoardLink;
  trusted?: Uint8Array;
  /** Why this entry cannot be deployed to (a missing or emulated board, a bad URL). */
  problem?: string;
}

const registered = new WeakSet<object>();

function listOf(v: unknown): string[] {
  if (Array.isArray(v)) return v.map((x) => String(x).trim()).filter(Boolean);
  if (typeof v === 'string') return v.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
  return [];
}

function intOrUndefined(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : NaN;
}

export = function (RED: RED): void {
  const t = translator(RED, 'femto-deploy');

  const app = RED.httpAdmin as unknown as object;
  if (app && !registered.has(app)) {
    registered.add(app);
    RED.httpAdmin.post('/femto/keygen', RED.auth.needsPermission('femto-deploy.write'), (_req, res) => {
      const kp = generateKeyPair();
      res.json({ privateKey: privateKeyPem(kp.secretKey), publicKey: publicKeyPem(kp.publicKey), publicKeyHex: Buffer.from(kp.publicKey).toString('hex'), fingerprint: fingerprint(kp.publicKey) });
    });
    RED.httpAdmin.get('/femto/deploy/:id/key', RED.auth.needsPermission('femto-deploy.read'), (req, res) => {
      const n = RED.nodes.getNode(req.params.id) as DeployNode | null;
      if (!n || n.type !== 'femto-deploy') {
        res.status(404).json({ error: 'no deployed femto-deploy node with this id' });
        return;
      }
      const kp = n.keyPair;
      res.json(kp ? { fingerprint: fingerprint(kp.publicKey), publicKey: publicKeyPem(kp.publicKey), publicKeyHex: Buffer.from(kp.publicKey).toString('hex') } : { fingerprint: null, publicKey: null, publicKeyHex: null });
    });
  }

  function FemtoDeploy(this: DeployNode, config: DeployConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const timeoutS = Number(config.timeout) > 0 ? Number(config.timeout) : 30;
    const cfgSlot = intOrUndefined(config.slot);
    const cfgSeq = intOrUndefined(config.seq);
    let keyProblem: string | undefined;
    const keyText = node.credentials?.key ?? '';
    if (!keyText.trim()) keyProblem = t('errors.noKey');
    else {
      try {
        node.keyPair = parseSecretKey(keyText);
      } catch (e) {
        keyProblem = t('errors.badKey', { reason: (e as Error).message });
      }
    }
    const configured = [...(config.board ? [config.board] : []), ...listOf(config.targets)];
    if (keyProblem) node.status({ fill: 'red', shape: 'ring', text: node.keyPair ? 'bad key' : 'no key' });
    else if (configured.length === 0) node.status({ fill: 'grey', shape: 'ring', text: 'no boards' });
    else node.status({ fill: 'grey', shape: 'dot', text: `key ${fingerprint(node.keyPair!.publicKey).slice(0, 8)} · ${configured.length} ${configured.length === 1 ? 'board' : 'boards'}` });

    /** A target entry: a coap:// URL or a femto-board config node id. */
    function resolve(entry: string, slot: number | undefined): Target {
      if (/^coap:\/\//i.test(entry)) {
        try {
          const p = parseCoapUrl(entry);
          return { label: entry, url: `coap://${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`, slot: slot ?? 0 };
        } catch (e) {
          return { label: entry, slot: slot ?? 0, problem: (e as Error).message };
        }
      }
      const b = RED.nodes.getNode(entry) as (Node & RemoteCapableBoardNode) | null;
      if (!b || b.type !== 'femto-board') return { label: entry, slot: slot ?? 0, problem: `no femto-board "${entry}" (and not a coap:// URL)` };
      if (!b.remote) {
        return { label: b.boardName, slot: slot ?? 0, problem: b.failure ? `board settings: ${b.failure}` : `${b.boardName} is an emulated board: femto-deploy installs on remote boards (coap://host:port)` };
      }
      return { label: b.boardName, url: b.remote.url, slot: slot ?? b.remote.settings.slot, link: b.remote, trusted: b.remote.settings.publicKey };
    }

    let queue: Promise<void> = Promise.resolve();
    const aborts = new Set<AbortController>();
    let closed = false;

    node.on('input', (msg, send, done) => {
      queue = queue.then(() => handle(msg, send, done)).catch((e: unknown) => done(e instanceof Error ? e : new Error(String(e))));
    });

    async function handle(msg: Msg, send: (m: Msg) => void, done: (e?: Error) => void): Promise<void> {
      if (closed) return done();
      if (keyProblem || !node.keyPair) return done(new Error(keyProblem ?? 'no signing key'));
      const kp = node.keyPair;
      const slot = intOrUndefined(msg.slot) ?? cfgSlot;
      const seq = intOrUndefined(msg.seq) ?? cfgSeq;
      if (Number.isNaN(slot)) return done(new Error(t('errors.badSlot', { v: String(msg.slot ?? config.slot) })));
      if (Number.isNaN(seq)) return done(new Error(t('errors.badSeq', { v: String(msg.seq ?? config.seq) })));
      const entries = msg.targets !== undefined ? listOf(msg.targets) : configured;
      if (entries.length === 0) return done(new Error(t('errors.noTargets')));
      let image: Uint8Array;
      let source: string;
      try {
        const r = await deployImageFromMessage(msg, async (p) => new Uint8Array(await fs.readFile(p)));
        image = r.image;
        source = r.source;
      } catch (e) {
        node.status({ fill: 'red', shape: 'ring', text: 'no image' });
        return done(new Error(t('errors.image', { reason: (e as Error).message })));
      }
      const targets = entries.map((e) => resolve(e, slot));
      const started = Date.now();
      const outcomes: (BoardOutcome | undefined)[] = targets.map(() => undefined);
      const fail = (i: number, kind: string, message: string, check?: string): void => {
        const tg = targets[i];
        const error = { kind, check, message };
        outcomes[i] = { board: tg.label, url: tg.url ?? tg.label, ok: false, slot: tg.slot, seq: null, ms: Date.now() - started, state: null, error, reason: outcomeReason({ target: tg.label, error: error as DeployOutcome['error'] }) };
      };
      // Pre-flight: entries that are not remote boards, and boards that trust another key.
      targets.forEach((tg, i) => {
        if (tg.problem) fail(i, 'target', tg.problem);
        else if (tg.trusted && Buffer.compare(Buffer.from(tg.trusted), Buffer.from(kp.publicKey)) !== 0) {
          fail(i, 'rejected', `the image is signed with key ${fingerprint(kp.publicKey)}, but ${tg.label} trusts ${fingerprint(tg.trusted)}: nothing was sent`, 'key');
        }
      });
      const labels = new Map<string, string>();
      for (const tg of targets) if (tg.url) labels.set(tg.url, tg.label);
      const live = targets.map((tg, i) => ({ tg, i })).filter(({ i }) => !outcomes[i]);
      const view = new DeployProgressView(live.length, labels);
      let lastStatusAt = 0;
      let lastPhase = '';
      const onProgress = (p: DeployProgress): void => {
        if (closed) return;
        // Every phase change shows; block counts at most every 100 ms.
        const key = `${p.target}:${p.phase}`;
        const now = Date.now();
        if (p.phase === 'fetching' && key === lastPhase && now - lastStatusAt < 100 && p.block !== p.blocks) return;
        lastPhase = key;
        lastStatusAt = now;
        node.status(view.update(p));
      };
      if (live.length) node.status({ fill: 'blue', shape: 'ring', text: live.length === 1 ? 'connecting' : `deploying to ${live.length} boards` });
      // One deploy() per slot (its slot is call-wide), all at once.
      const bySlot = new Map<number, { tg: Target; i: number }[]>();
      for (const x of live) bySlot.set(x.tg.slot, [...(bySlot.get(x.tg.slot) ?? []), x]);
      const ac = new AbortController();
      aborts.add(ac);
      try {
        await Promise.all([...bySlot].map(async ([s, group]) => {
          let res: DeployOutcome[];
          try {
            res = await deploy({
              image, key: kp, slot: s, seq, targets: group.map((x) => x.tg.url!), timeoutMs: timeoutS * 1000,
              timing: { timeoutMs: Math.min(3000, timeoutS * 1000), ackTimeoutMs: Math.min(500, Math.max(50, timeoutS * 100)) },
              serveHost: (config.serveHost || '').trim() || undefined, onProgress, signal: ac.signal,
            });
          } catch (e) {
            for (const x of group) fail(x.i, 'protocol', (e as Error).message);
            return;
          }
          res.forEach((o, k) => {
            const { tg, i } = group[k];
            outcomes[i] = {
              board: tg.label, url: o.target, ok: o.ok, slot: o.slot, seq: o.seq ?? null, ms: o.ms, state: o.state ?? null,
              reason: o.ok ? `installed seq ${o.seq}` : outcomeReason(o), error: o.error ? { kind: o.error.kind, check: o.error.check, message: o.error.message } : null,
            };
            if (o.ok && tg.link) tg.link.installed(o.slot, o.seq);
          });
        }));
      } finally {
        aborts.delete(ac);
      }
      if (closed) return done();
      const list = outcomes as BoardOutcome[];
      const ok = list.every((o) => o.ok);
      msg.payload = list;
      msg.femto = {
        ...(typeof msg.femto === 'object' && msg.femto ? (msg.femto as Record<string, unknown>) : {}),
        deploy: { ok, outcomes: list, source, image: { bytes: image.length, sha256: createHash('sha256').update(image).digest('hex') }, key: fingerprint(kp.publicKey) },
      };
      node.status(finalDeployStatus(list.map((o) => ({ ok: o.ok, seq: o.seq ?? undefined, error: o.error as DeployOutcome['error'] }))));
      if (ok) {
        send(msg);
        done();
        return;
      }
      const bad = list.filter((o) => !o.ok);
      const head = list.length === 1 ? t('errors.failedOne') : t('errors.failedSome', { n: bad.length, m: list.length });
      const err = new Error(`${head}: ${bad.map((o) => `${o.board}: ${o.reason}`).join('; ')}`);
      err.name = 'FemtoDeployError';
      done(err);
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      for (const ac of aborts) ac.abort();
      // deploy() returns soon after an abort (it closes its file server): wait for it, at most 5 s.
      const cap = setTimeout(finish, 5000);
      let finished = false;
      function finish(): void {
        if (finished) return;
        finished = true;
        clearTimeout(cap);
        node.status({});
        done();
      }
      queue.then(finish, finish);
    });
  }

  RED.nodes.registerType('femto-deploy', FemtoDeploy as (this: Node, c: NodeConfig) => void, {
    credentials: { key: { type: 'password' } },
  });
};
