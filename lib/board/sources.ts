/**
 * Simulated sensor sources and actuator state for the emulated board's SAUL devices.
 *
 * A Source turns the board time (µs) into physical values (e.g. 21.5 for 21.5 °C); the device
 * turns them into a phydat with its own unit and scale. Kinds:
 *  - constant: always the same values;
 *  - sine: offset + amplitude·sin(2π·t/period + phase), a function of board time only, so two
 *    reads at the same virtual time agree;
 *  - random walk: seeded (mulberry32), one step per read, clamped to [min, max]: the same seed
 *    gives the same sequence on every run and machine;
 *  - sequence: scripted values, one per read, then the last value (or loop);
 *  - external: whatever the host last set (a Node-RED flow, a test).
 * Sources never consult wall-clock time or Math.random: reproducible runs are the point.
 */

export interface Source {
  readonly kind: 'constant' | 'sine' | 'random-walk' | 'sequence' | 'external';
  /** Physical values at board time `tUs` (1–3 of them), as a new array. */
  sample(tUs: number): number[];
  /**
   * The same reading as `sample` (it advances the source the same way), in an array the source
   * keeps and overwrites on its next read: how the board samples without allocating. Optional for
   * sources a host writes itself.
   */
  peek?(tUs: number): readonly number[];
  /** A short description for the editor and logs. */
  describe(): string;
}

const arr = (v: number | readonly number[]): number[] => (typeof v === 'number' ? [v] : [...v]);

export function constant(value: number | readonly number[]): Source {
  const v = arr(value);
  return { kind: 'constant', sample: () => [...v], peek: () => v, describe: () => `constant ${v.join(',')}` };
}

export interface SineOptions {
  offset?: number;
  amplitude?: number;
  periodMs: number;
  /** Phase in radians. */
  phase?: number;
}

export function sine(o: SineOptions): Source {
  if (!(o.periodMs > 0)) throw new RangeError('sine: periodMs must be > 0');
  const offset = o.offset ?? 0;
  const amp = o.amplitude ?? 1;
  const at = (t: number): number => offset + amp * Math.sin((2 * Math.PI * t) / (o.periodMs * 1000) + (o.phase ?? 0));
  const out = [0];
  return {
    kind: 'sine',
    sample: (t) => [at(t)],
    peek: (t) => {
      out[0] = at(t);
      return out;
    },
    describe: () => `sine ${offset}±${amp} / ${o.periodMs} ms`,
  };
}

/**
 * mulberry32: tiny, fast, good enough for simulated noise, and identical everywhere. Its state is
 * in a typed array: a uint32 above 2^30 kept in a closure variable would be a new heap number on
 * every call (a fleet samples tens of thousands of times a second).
 */
export function prng(seed: number): () => number {
  const st = new Uint32Array([seed >>> 0]);
  return () => {
    st[0] = (st[0] + 0x6d2b79f5) >>> 0;
    let t = st[0];
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RandomWalkOptions {
  start: number;
  /** Largest change per read. */
  step: number;
  min?: number;
  max?: number;
  seed?: number;
}

export function randomWalk(o: RandomWalkOptions): Source {
  const rnd = prng(o.seed ?? 1);
  // The walk's position in a typed array, not a closure variable: no heap number per step.
  const pos = new Float64Array([o.start]);
  const lo = o.min ?? -Infinity;
  const hi = o.max ?? Infinity;
  const out = [0];
  const step = (): number => {
    const v = pos[0];
    pos[0] = Math.max(lo, Math.min(hi, v + (rnd() * 2 - 1) * o.step));
    return v;
  };
  return {
    kind: 'random-walk',
    sample: () => [step()],
    peek: () => {
      out[0] = step();
      return out;
    },
    describe: () => `random walk from ${o.start} ±${o.step} (seed ${o.seed ?? 1})`,
  };
}

export function sequence(values: readonly (number | readonly number[])[], opts: { loop?: boolean } = {}): Source {
  if (values.length === 0) throw new RangeError('sequence: needs at least one value');
  let i = 0;
  return {
    kind: 'sequence',
    sample: () => {
      const v = values[Math.min(i, values.length - 1)];
      i++;
      if (opts.loop && i >= values.length) i = 0;
      return arr(v);
    },
    describe: () => `sequence of ${values.length}${opts.loop ? ' (loop)' : ''}`,
  };
}

/** A source the host sets; `set()` takes effect at the next read. */
export interface ExternalSource extends Source {
  set(value: number | readonly number[]): void;
  get(): number[];
}

export function external(initial: number | readonly number[] = 0): ExternalSource {
  let v = arr(initial);
  return {
    kind: 'external',
    sample: () => [...v],
    peek: () => v,
    set(value) {
      v = arr(value);
    },
    get: () => [...v],
    describe: () => `external (now ${v.join(',')})`,
  };
}

export type SourceSpec =
  | { kind: 'constant'; value: number | number[] }
  | ({ kind: 'sine' } & SineOptions)
  | ({ kind: 'random-walk' } & RandomWalkOptions)
  | { kind: 'sequence'; values: (number | number[])[]; loop?: boolean }
  | { kind: 'external'; value?: number | number[] };

/** Build a source from a plain (JSON) description, as the Node-RED editor and the CLI give it. */
export function makeSource(spec: SourceSpec, defaultSeed = 1): Source {
  switch (spec.kind) {
    case 'constant': return constant(spec.value);
    case 'sine': return sine(spec);
    case 'random-walk': return randomWalk({ ...spec, seed: spec.seed ?? defaultSeed });
    case 'sequence': return sequence(spec.values, { loop: spec.loop });
    case 'external': return external(spec.value ?? 0);
    default: throw new RangeError(`unknown source kind ${(spec as { kind: string }).kind}`);
  }
}

/** An actuator's (or button's) state: last written raw values; reports real changes only. */
export class ActuatorState {
  private v: number[];
  onChange?: (value: number[], previous: number[]) => void;

  constructor(initial: readonly number[] = [0, 0, 0]) {
    this.v = [initial[0] ?? 0, initial[1] ?? 0, initial[2] ?? 0];
  }

  get value(): number[] {
    return [...this.v];
  }

  /**
   * Set raw values, the first `count` of `values` (at most 3; missing dimensions keep their
   * value). Returns true when something changed; an unchanged write allocates nothing.
   */
  set(values: readonly number[], count = values.length): boolean {
    const n = Math.min(3, count, values.length);
    let same = true;
    for (let i = 0; i < n && same; i++) same = values[i] === this.v[i];
    if (same) return false;
    const prev = [...this.v];
    const next = [...this.v];
    for (let i = 0; i < n; i++) next[i] = values[i];
    this.v = next;
    this.onChange?.(this.value, prev);
    return true;
  }
}
