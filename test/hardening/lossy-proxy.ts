/**
 * A faulty UDP link on loopback for the deployment hardening tests (deployment under
 * faults): a proxy between a client (the host, or a device fetching from the host's file server)
 * and a target that drops, duplicates, reorders and delays datagrams, each independently in both
 * directions, from a seeded generator, and can stop forwarding at any moment (blackhole) or after
 * a given number of datagrams.
 *
 * Every client address gets its own upstream socket, so the target sees one peer per client and
 * its answers go back to the right client through the proxy's listening socket.
 *
 * Faults, per datagram and direction ('up' = client → target, 'down' = target → client):
 *  - drop with probability `drop`;
 *  - otherwise duplicate with probability `duplicate` (the copy follows after `dupDelayMs`);
 *  - each copy is delayed by `delayMs` + a uniform jitter in [0, `jitterMs`);
 *  - with probability `reorder` a copy is held back until the next datagram of the same direction
 *    has gone out (or `reorderHoldMs` passed): a true reordering, not only a delay.
 * The generator is seeded (mulberry32): the same seed gives the same fault decision for the n-th
 * datagram of a direction. (What the peers send depends on their own timers, so a whole run is
 * reproducible in distribution, not byte for byte.)
 */
import * as dgram from 'node:dgram';
import { prng } from '../../lib/board/sources';

export type Direction = 'up' | 'down';

export interface FaultRates {
  /** Probability that a datagram is dropped. */
  drop?: number;
  /** Probability that a (not dropped) datagram is sent twice. */
  duplicate?: number;
  /** Probability that a datagram is held back behind the next one. */
  reorder?: number;
  /** Fixed delay of every datagram, ms. */
  delayMs?: number;
  /** Extra uniform random delay in [0, jitterMs), ms. */
  jitterMs?: number;
}

export interface LossyProxyOptions extends FaultRates {
  /** Where the datagrams go. */
  target: { host: string; port: number };
  /** Address and port to listen on (default 127.0.0.1, a free port). */
  host?: string;
  port?: number;
  /** Seed of the fault generator (default 1). */
  seed?: number;
  /** Rates for one direction only (override the common ones). */
  up?: FaultRates;
  down?: FaultRates;
  /** Gap between a datagram and its duplicate (default 1 ms). */
  dupDelayMs?: number;
  /** Longest a reordered datagram waits for the next one (default 150 ms). */
  reorderHoldMs?: number;
  /**
   * Called for every datagram before the faults are applied (index = 0-based count per
   * direction). Return 'drop' to drop it, 'stop' to drop it and stop forwarding from now on.
   */
  inspect?: (d: { dir: Direction; index: number; bytes: Uint8Array }) => void | 'drop' | 'stop';
}

export interface DirectionStats {
  received: number;
  forwarded: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  /** Swallowed while forwarding was stopped. */
  blackholed: number;
}

const emptyStats = (): DirectionStats => ({ received: 0, forwarded: 0, dropped: 0, duplicated: 0, reordered: 0, blackholed: 0 });

/** A seeded generator in [0, 1) (the board's own mulberry32). */
export const seededRandom = prng;

interface Session {
  address: string;
  port: number;
  upstream: dgram.Socket;
}

interface Held {
  send: () => void;
  timer: NodeJS.Timeout;
}

export class LossyProxy {
  readonly stats: Record<Direction, DirectionStats> = { up: emptyStats(), down: emptyStats() };
  private readonly sock: dgram.Socket;
  private readonly sessions = new Map<string, Session>();
  private readonly rand: Record<Direction, () => number>;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly held: Record<Direction, Held[]> = { up: [], down: [] };
  private rates: Record<Direction, Required<FaultRates>>;
  private stopped = false;
  private stopAfterCount: number | undefined;
  private readonly dropCount: Record<Direction, number> = { up: 0, down: 0 };
  private closed = false;
  private boundPort = 0;

  private constructor(private readonly opts: LossyProxyOptions) {
    const seed = opts.seed ?? 1;
    // Independent streams per direction, so the faults of one do not shift with the other's traffic.
    this.rand = { up: seededRandom(seed * 2 + 1), down: seededRandom(seed * 2 + 2) };
    this.rates = { up: this.merge('up'), down: this.merge('down') };
    this.sock = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    this.sock.on('error', () => undefined);
    this.sock.on('message', (msg, rinfo) => this.fromClient(new Uint8Array(msg), rinfo));
  }

  static async start(opts: LossyProxyOptions): Promise<LossyProxy> {
    const p = new LossyProxy(opts);
    await new Promise<void>((resolve, reject) => {
      p.sock.once('error', reject);
      p.sock.bind(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
        p.sock.off('error', reject);
        resolve();
      });
    });
    p.boundPort = p.sock.address().port;
    return p;
  }

  get host(): string {
    return this.opts.host ?? '127.0.0.1';
  }

  get port(): number {
    return this.boundPort;
  }

  /** coap://host:port of the proxy (what a client uses instead of the target's address). */
  get url(): string {
    return `coap://${this.host}:${this.port}`;
  }

  private merge(dir: Direction): Required<FaultRates> {
    const o = { ...this.opts, ...(this.opts[dir] ?? {}) };
    return { drop: o.drop ?? 0, duplicate: o.duplicate ?? 0, reorder: o.reorder ?? 0, delayMs: o.delayMs ?? 0, jitterMs: o.jitterMs ?? 0 };
  }

  /** Change the fault rates (both directions, or one). */
  setRates(rates: FaultRates, dir?: Direction): void {
    for (const d of dir ? [dir] : (['up', 'down'] as const)) this.rates[d] = { ...this.rates[d], ...rates };
  }

  /** Stop forwarding anything (both directions) until resume(). */
  stop(): void {
    this.stopped = true;
  }

  /** Forward `n` more datagrams (both directions together), then stop. */
  stopAfter(n: number): void {
    this.stopAfterCount = n;
  }

  /** Drop the next `n` datagrams of one direction (on top of the random faults). */
  dropNext(n: number, dir: Direction): void {
    this.dropCount[dir] += n;
  }

  resume(): void {
    this.stopped = false;
    this.stopAfterCount = undefined;
  }

  get forwarding(): boolean {
    return !this.stopped;
  }

  /** Total datagrams seen, both directions. */
  get total(): number {
    return this.stats.up.received + this.stats.down.received;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const d of ['up', 'down'] as const) {
      for (const h of this.held[d]) clearTimeout(h.timer);
      this.held[d] = [];
    }
    const all = [...this.sessions.values()].map((s) => new Promise<void>((r) => {
      try {
        s.upstream.close(() => r());
      } catch {
        r();
      }
    }));
    this.sessions.clear();
    all.push(new Promise<void>((r) => {
      try {
        this.sock.close(() => r());
      } catch {
        r();
      }
    }));
    await Promise.all(all);
  }

  // ---- forwarding ---------------------------------------------------------------------------------

  private session(rinfo: dgram.RemoteInfo): Session {
    const key = `${rinfo.address}:${rinfo.port}`;
    let s = this.sessions.get(key);
    if (!s) {
      const upstream = dgram.createSocket('udp4');
      // ECONNREFUSED (target down) and the like: the datagram is lost, as on a real link.
      upstream.on('error', () => undefined);
      upstream.on('message', (msg) => this.handle('down', new Uint8Array(msg), (b) => this.sock.send(b, rinfo.port, rinfo.address, () => undefined)));
      upstream.bind(0, '127.0.0.1');
      s = { address: rinfo.address, port: rinfo.port, upstream };
      this.sessions.set(key, s);
    }
    return s;
  }

  private fromClient(bytes: Uint8Array, rinfo: dgram.RemoteInfo): void {
    if (this.closed) return;
    const s = this.session(rinfo);
    this.handle('up', bytes, (b) => {
      if (!this.closed) s.upstream.send(b, this.opts.target.port, this.opts.target.host, () => undefined);
    });
  }

  private later(ms: number, fn: () => void): void {
    if (ms <= 0) return fn();
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(t);
  }

  private handle(dir: Direction, bytes: Uint8Array, send: (b: Uint8Array) => void): void {
    if (this.closed) return;
    const st = this.stats[dir];
    const index = st.received++;
    const verdict = this.opts.inspect?.({ dir, index, bytes });
    if (verdict === 'stop') this.stopped = true;
    if (this.stopped) {
      st.blackholed++;
      return;
    }
    if (verdict === 'drop' || this.dropCount[dir] > 0) {
      if (verdict !== 'drop') this.dropCount[dir]--;
      st.dropped++;
      return;
    }
    const r = this.rates[dir];
    const rand = this.rand[dir];
    // Draw every decision for every datagram, so the n-th datagram's fate depends only on n.
    const dropRoll = rand();
    const dupRoll = rand();
    const reorderRolls = [rand(), rand()];
    const jitters = [rand(), rand()];
    if (dropRoll < r.drop) {
      st.dropped++;
      return;
    }
    if (this.stopAfterCount !== undefined) {
      if (this.stopAfterCount <= 0) {
        this.stopped = true;
        st.blackholed++;
        return;
      }
      this.stopAfterCount--;
    }
    const copies = dupRoll < r.duplicate ? 2 : 1;
    if (copies === 2) st.duplicated++;
    // The datagrams held back so far go out right after this one: it overtakes them.
    const overtaken = this.held[dir].splice(0);
    let latest = 0;
    for (let c = 0; c < copies; c++) {
      const delay = r.delayMs + jitters[c] * r.jitterMs + (c === 1 ? (this.opts.dupDelayMs ?? 1) : 0);
      latest = Math.max(latest, delay);
      const out = (): void => {
        st.forwarded++;
        send(bytes);
      };
      if (reorderRolls[c] < r.reorder) {
        st.reordered++;
        const h: Held = {
          send: out,
          timer: setTimeout(() => {
            const i = this.held[dir].indexOf(h);
            if (i >= 0) this.held[dir].splice(i, 1);
            if (!this.closed) this.later(delay, out);
          }, this.opts.reorderHoldMs ?? 150),
        };
        this.held[dir].push(h);
      } else {
        this.later(delay, out);
      }
    }
    for (const h of overtaken) {
      clearTimeout(h.timer);
      this.later(latest + 1, h.send);
    }
  }
}
