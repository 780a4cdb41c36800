/**
 * What a started board does on its clock: one periodic sampling timer per sensor (its own
 * `periodMs`), the 'timer' hook every `timerPeriodMs`, and the modelled scheduler's thread
 * switches every `schedTickMs` (only while a container is on the 'sched' hook).
 */
import { every, VirtualClock, type Clock, type TimerHandle } from './clock';
import type { ContainerTable } from './container-table';
import { isSensor, SAUL, type SaulDevice } from './saul';

/** The board operations the timers call. */
export interface ClockedBoard {
  readonly name: string;
  readonly clock: Clock;
  readonly timerPeriodMs: number;
  readonly schedTickMs: number;
  devices(): readonly SaulDevice[];
  /** `unkept` (always true here): the timers drop what these return, so it may be reused. */
  sampleDevice(dev: SaulDevice, unkept: boolean): unknown;
  fireTimer(unkept: boolean): unknown;
  schedTick(unkept: boolean): unknown;
}

export class BoardTimers {
  private timers: TimerHandle[] = [];
  private readonly deviceTimers = new Map<number, TimerHandle>();
  private on = false;

  constructor(private readonly board: ClockedBoard, private readonly table: ContainerTable) {}

  get running(): boolean {
    return this.on;
  }

  start(): void {
    if (this.on) return;
    this.on = true;
    const b = this.board;
    for (const d of b.devices()) this.scheduleDevice(d);
    if (b.timerPeriodMs > 0) this.timers.push(every(b.clock, b.timerPeriodMs * 1000, () => b.fireTimer(true)));
    if (b.schedTickMs > 0) this.timers.push(every(b.clock, b.schedTickMs * 1000, () => {
      if (this.table.onHook('sched').length) b.schedTick(true);
    }));
  }

  /** Sample a device periodically (a sensor with a period; buttons and actuators never). */
  scheduleDevice(d: SaulDevice): void {
    if (!this.on || !d.periodMs || !(d.periodMs > 0) || !isSensor(d.type) || d.type === SAUL.SENSE_BTN) return;
    this.deviceTimers.get(d.index)?.cancel();
    const periodUs = d.periodMs * 1000;
    this.deviceTimers.set(d.index, every(this.board.clock, periodUs, () => this.board.sampleDevice(d, true), this.firstSampleUs(d, periodUs)));
  }

  /**
   * When a device's first sample falls. On a virtual clock: one period after start (tests count
   * on it). On the wall clock: a phase derived from the board's name and the device, so boards
   * started together (a flow with hundreds of them) do not all sample in the same instant, as
   * real devices that booted at different times do not.
   */
  private firstSampleUs(d: SaulDevice, periodUs: number): number {
    if (this.board.clock instanceof VirtualClock) return periodUs;
    let h = 2166136261;
    for (const ch of `${this.board.name}/${d.index}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
    return 1 + ((h >>> 0) % periodUs);
  }

  /** Release every timer. */
  stop(): void {
    this.on = false;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    for (const t of this.deviceTimers.values()) t.cancel();
    this.deviceTimers.clear();
  }
}
