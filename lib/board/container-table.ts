/**
 * The board's installed containers: by id, in install order (`seq`), and per hook newest first.
 * It checks ids and slots, keeps the per-hook lists the firings iterate, and describes a container
 * as a ContainerInfo. Building a container (verifying its image, RAM) is container-factory.ts's.
 */
import { BoardError } from './board-error';
import type { Container, GlobalScope } from './container';
import { HELPER_NAME_BY_ID } from './helpers';
import type { HookName } from './hooks';
import type { ContainerInfo, RunReport } from './results';

export class ContainerTable {
  private readonly byId = new Map<string, Container>();
  /** Containers per hook, newest first; rebuilt after any install, removal or (de)attachment. */
  // A plain object with one field per hook, not a Map: every sample reads it.
  private hookLists: HookLists = noHookLists();
  /** Result takers by container id (Container.onResult), kept across replacement and reinstall. */
  private readonly takers = new Map<string, (r: RunReport) => void>();
  private nextId = 1;
  private seqCounter = 0;

  constructor(private readonly boardName: string, private readonly slotCount: number) {}

  /** The id a new container gets: `spec.id` if free and valid, else the next `cN`; and a free slot. */
  newId(requested: string | undefined): string {
    let id = requested;
    if (id === undefined) {
      do id = `c${this.nextId++}`; while (this.byId.has(id));
    } else if (typeof id !== 'string' || id === '' || this.byId.has(id)) {
      throw new BoardError('id', `container id "${String(id)}" is ${this.byId.has(String(id)) ? 'taken' : 'invalid'}`);
    }
    if (this.byId.size >= this.slotCount) {
      throw new BoardError('slot', `no free container slot on ${this.boardName} (${this.slotCount} slots, all used)`);
    }
    return id;
  }

  /** The attach order of a container (re)attached now: newer than every other. */
  nextSeq(): number {
    return ++this.seqCounter;
  }

  /** Put a container in (new, or in place of the one with its id). */
  set(c: Container): void {
    c.onResult = this.takers.get(c.id);
    this.byId.set(c.id, c);
    this.hookLists = noHookLists();
  }

  /** Hand every result of container `id` (installed now or later) to `fn`; undefined stops it. */
  takeResults(id: string, fn: ((r: RunReport) => void) | undefined): void {
    if (fn) this.takers.set(id, fn);
    else this.takers.delete(id);
    const c = this.byId.get(id);
    if (c) c.onResult = fn;
  }

  delete(id: string): void {
    this.byId.delete(id);
    this.hookLists = noHookLists();
  }

  /** A container's hook changed in place. */
  hooksChanged(): void {
    this.hookLists = noHookLists();
  }

  get(id: string): Container {
    const c = this.byId.get(id);
    if (!c) throw new BoardError('not-found', `no container "${id}" on ${this.boardName}`);
    return c;
  }

  find(id: string): Container | undefined {
    return this.byId.get(id);
  }

  /** Whether `c` is still the board's container of its id (not removed or replaced meanwhile). */
  isCurrent(c: Container): boolean {
    return this.byId.get(c.id) === c;
  }

  values(): IterableIterator<Container> {
    return this.byId.values();
  }

  /** RAM of every installed container. */
  ramUsed(): number {
    let used = 0;
    for (const c of this.byId.values()) used += c.ramBytes;
    return used;
  }

  /** Containers of a hook, newest first. */
  onHook(hook: HookName): readonly Container[] {
    let l = this.hookLists[hook];
    if (!l) {
      l = [...this.byId.values()].filter((c) => c.hook === hook).sort((a, b) => b.seq - a.seq);
      this.hookLists[hook] = l; // never changed in place: a firing iterates the list it started with
    }
    return l;
  }

  /** Every container, newest first. */
  newestFirst(): Container[] {
    return [...this.byId.values()].sort((a, b) => b.seq - a.seq);
  }
}

type HookLists = Record<HookName, Container[] | undefined>;

function noHookLists(): HookLists {
  return { sensor: undefined, button: undefined, timer: undefined, coap: undefined, sched: undefined, flow: undefined };
}

export function containerInfo(c: Container, boardScope: GlobalScope): ContainerInfo {
  return {
    id: c.id,
    name: c.name,
    tenant: c.tenant,
    hook: c.hook,
    state: c.state,
    grants: [...c.grants].sort((a, b) => a - b).map((g) => HELPER_NAME_BY_ID[g] ?? String(g)),
    helpersUsed: c.vm.info.helpersUsed.map((g) => HELPER_NAME_BY_ID[g] ?? String(g)),
    budget: c.vm.budget,
    profile: c.vm.profile,
    imageBytes: c.resolved.size,
    ramBytes: c.ramBytes,
    faults: { ...c.faults },
    runs: c.runs,
    globalScope: c.spec.globalScope ?? boardScope,
    path: c.spec.path,
    device: c.spec.device,
    warnings: [...c.vm.info.warnings],
    run: c.flight ? { insns: c.flight.insns, budget: c.flight.budget, turns: c.flight.turns } : undefined,
    queued: c.queue.length,
    dropped: c.dropped,
  };
}
