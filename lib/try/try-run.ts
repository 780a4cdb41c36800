/**
 * The editor's Try panel: run a container's program once on a sample input, the way the board
 * would run it on that hook, and trace it step by step. It runs in the editor's page (served by
 * the admin endpoint femto/try/modules, see lib/node-support/try-modules.ts), so it imports only
 * code without `node:` modules: the VM, the board's real helpers (printf, stores, clock, SAUL),
 * the hook contexts and the payload conversion. A test checks that closure.
 *
 * What the page gets: the hook's context exactly as the board lays it out (ARCHITECTURE.md § Hooks and contexts; flow: the
 * payload bytes in a read-only region "flow_payload"; sensor/button: the chosen device's reading
 * of the sample value as a phydat; timer, sched and coap: a first tick, a switch, a GET), fresh
 * local and global stores, a clock standing at 0, the board profile's SAUL devices with the sample
 * value on the sensor, and the console lines printf wrote.
 */
import { FaultCode, faultCodeName } from '../../vm/errors';
import { isImage, parseImage } from '../../vm/image';
import { DEFAULT_BUDGET } from '../../vm/limits';
import { PERM_WRITE } from '../../vm/memory';
import { traceRun, type Trace } from '../../vm/tracer';
import type { Profile } from '../../vm/verifier';
import { Vm } from '../../vm/vm';
import { COAP_BUF_SIZE, COAP_PKT_SIZE, writePacketStruct } from '../board/coap';
import { COAP_OPT_URI_PATH, encodeCoap, parseCoap } from '../coap/message';
import { RunConsole } from '../board/console';
import { computeGrants } from '../board/container';
import { DEVICE_KINDS } from '../board/device-kinds';
import { buildHelpers, type StoreAccess } from '../board/helpers';
import { coapContext, flowContext, isHook, schedContext, sensorContext, timerContext, type HookName } from '../board/hooks';
import { getProfile, PROFILES } from '../board/profiles';
import { isSensor, SAUL, SaulRegistry, saulTypeName, unitSymbol, type SaulDevice } from '../board/saul';
import { constant } from '../board/sources';
import { payloadToBytes, r0Value, type ResultType } from '../node-support/payload-bytes';

export interface TryInput {
  /** The program as Verify built it: a RIOT image (or raw bytecode). */
  image: Uint8Array;
  hook?: string;
  /** VM profile: riot-2022 (MCU boards) or rfc9669. */
  profile?: Profile;
  /** Board profile name (nrf52840dk…): its SAUL devices. */
  board?: string;
  /** flow: what msg.payload would be. */
  payload?: unknown;
  /** sensor: the reading in physical units (21.5 for 21.5 °C); button: 1 pressed, 0 released. */
  sample?: number;
  /** sensor/button: the device name (default: the board's first sensor or button). */
  device?: string;
  /** The femto-board node's simulated devices (name and kind), added after the profile's, as the board adds them. */
  devices?: { name: string; kind: string }[];
  /** Requested helpers (names, comma or space separated; empty = everything the hook allows). */
  helpers?: string;
  budget?: number;
  entry?: string;
  resultType?: ResultType;
  /** CoAP path for the coap hook. */
  path?: string;
  maxSteps?: number;
}

/**
 * The most instructions Try runs in the editor's page. The page has no time slicing (it runs the
 * program at once, on the browser's main thread): a container whose budget allows an endless loop
 * for minutes on a board must not freeze the editor. 10 M instructions take well under a second.
 */
export const TRY_MAX_INSNS = 10_000_000;

export interface TryRegion {
  name: string;
  base: number;
  size: number;
  writable: boolean;
}

export interface TryOutcome {
  status: 'exit' | 'fault' | 'suspended' | 'preempted';
  /** r0 as msg.payload would carry it (resultType). */
  payload: number | string;
  insns: number;
  fault?: { code: number; name: string; message: string; pc: number };
  /** Lines printf wrote, bounded as a board bounds a run's console (then one "… truncated" line). */
  console: string[];
  /** Set when Try stopped at TRY_MAX_INSNS while the container's own budget is larger. */
  cappedAt?: number;
  /** What the container was handed, in words ("payload 8 B: 29 00 …", "temperature reads 21.5 °C"). */
  input: string;
  trace: Trace;
  regions: TryRegion[];
  stores: { local: [number, number][]; global: [number, number][] };
  /** Actuators the run wrote (name and values). */
  actuators: { name: string; value: number[] }[];
}

/** A store as a plain map, with the board's rule (capacity 16, a new key in a full store is −1). */
function pageStore(capacity = 16): StoreAccess & { entries(): [number, number][] } {
  const map = new Map<number, number>();
  return {
    put(key: number, value: number): 0 | -1 {
      const k = key >>> 0;
      if (!map.has(k) && map.size >= capacity) return -1;
      map.set(k, value >>> 0);
      return 0;
    },
    fetch: (key: number) => map.get(key >>> 0) ?? 0,
    entries: () => [...map.entries()].sort((a, b) => a[0] - b[0]),
  };
}

function hexBytes(b: Uint8Array, max = 16): string {
  const shown = [...b.subarray(0, max)].map((x) => x.toString(16).padStart(2, '0')).join(' ');
  return b.length > max ? `${shown} …` : shown;
}

function deviceFor(saul: SaulRegistry, hook: HookName, name?: string): SaulDevice | undefined {
  if (name) return saul.find(name);
  return hook === 'button'
    ? saul.devices.find((d) => d.type === SAUL.SENSE_BTN)
    : saul.devices.find((d) => isSensor(d.type) && d.type !== SAUL.SENSE_BTN);
}

/** Run once on the sample and trace it. Throws (with a plain message) only for unusable input. */
export function tryRun(input: TryInput): TryOutcome {
  const hook: HookName = isHook(input.hook) ? input.hook : 'flow';
  const boardName = input.board && Object.hasOwn(PROFILES, input.board) ? input.board : 'nrf52840dk';
  const board = getProfile(boardName);
  const saul = new SaulRegistry();
  for (const spec of board.devices()) saul.add(spec);
  for (const d of input.devices ?? []) {
    const kind = d && d.name && Object.hasOwn(DEVICE_KINDS, d.kind) ? DEVICE_KINDS[d.kind] : undefined;
    if (kind && !saul.find(d.name)) saul.add({ name: d.name, type: kind.type, unit: kind.unit, scale: kind.scale, simulated: true });
  }
  const device = hook === 'sensor' || hook === 'button' ? deviceFor(saul, hook, input.device) : undefined;
  if ((hook === 'sensor' || hook === 'button') && !device) {
    throw new RangeError(`${board.name} has no ${input.device ? `device "${input.device}"` : hook === 'button' ? 'button' : 'sensor'}`);
  }
  const sample = Number.isFinite(input.sample) ? Number(input.sample) : 0;
  if (device && hook === 'sensor') device.source = constant(sample);
  if (device && hook === 'button') device.actuator?.set([sample ? 1 : 0]);

  const lines: string[] = [];
  const out = new RunConsole({}, (line) => lines.push(line));
  const local = pageStore();
  const global = pageStore();
  const written = new Set<number>();
  const helpers = buildHelpers({
    clock: { nowUs: () => 0, at: () => ({ cancel() {} }), nextTurn: () => ({ cancel() {} }), cancelAll() {}, pending: () => 0 },
    saul, local, global, writer: 'try', minWakeupUs: 0,
    print: (text) => out.write(text),
    wakeupAt: () => undefined,
    onSaulWrite: (i) => written.add(i),
  });
  const requested = (input.helpers ?? '').split(/[\s,]+/).filter(Boolean);
  const grants = computeGrants(hook, requested.length ? requested : undefined);
  const image = isImage(input.image) ? parseImage(input.image) : undefined;
  const budget = input.budget && input.budget > 0 ? input.budget : DEFAULT_BUDGET;
  const vm = new Vm({
    image, text: image ? undefined : input.image, profile: input.profile ?? 'riot-2022',
    budget: Math.min(budget, TRY_MAX_INSNS), helpers, grants, tier: 'interp',
  });

  let context: Uint8Array;
  let described: string;
  if (hook === 'flow') {
    const bytes = payloadToBytes(input.payload);
    const r = vm.mapRegion('flow_payload', bytes.slice(), false);
    context = flowContext(r.base, bytes.length);
    described = `payload ${bytes.length} B${bytes.length ? `: ${hexBytes(bytes)}` : ''}`;
  } else if (device) {
    const read = saul.read(device, 0);
    const data = typeof read === 'number' ? { val: [0, 0, 0] as [number, number, number], unit: device.unit, scale: device.scale } : read.data;
    context = sensorContext(device.index, device.type, data);
    described = hook === 'button'
      ? `button "${device.name}" ${sample ? 'pressed' : 'released'}`
      : `"${device.name}" (${saulTypeName(device.type)}) reads ${sample}${unitSymbol(device.unit) ? ' ' + unitSymbol(device.unit) : ''}: val[0] = ${data.val[0]}, scale ${data.scale}`;
  } else if (hook === 'timer') {
    context = timerContext(0, 1000, 1);
    described = 'timer tick 1 (period 1000 ms) at 0 µs';
  } else if (hook === 'sched') {
    context = schedContext(1, 2);
    described = 'thread switch 1 → 2';
  } else {
    const path = (input.path || '/').replace(/^\/+/, '');
    const body = payloadToBytes(input.payload ?? null);
    const req = encodeCoap({
      type: 0, code: 1, messageId: 1, token: Uint8Array.of(0, 1),
      options: path.split('/').filter(Boolean).map((seg) => ({ num: COAP_OPT_URI_PATH, value: new TextEncoder().encode(seg) })),
      payload: body,
    });
    if (req.length > COAP_BUF_SIZE) throw new RangeError(`the CoAP request of ${req.length} B exceeds the ${COAP_BUF_SIZE} B PDU buffer`);
    const pkt = vm.mapRegion('coap_pkt', COAP_PKT_SIZE, true);
    const buf = vm.mapRegion('coap_buf', COAP_BUF_SIZE, true);
    vm.memory.write(buf.base, req);
    writePacketStruct(vm.memory, pkt.base, buf.base, parseCoap(req));
    context = coapContext(pkt.base, buf.base, COAP_BUF_SIZE);
    described = `CoAP GET /${path}${body.length ? ` with ${body.length} B` : ''}`;
  }

  const trace = traceRun(vm, { context, entry: input.entry || undefined }, input.maxSteps);
  out.finish();
  const r = trace.result;
  const f = r.fault;
  const capped = budget > TRY_MAX_INSNS && f?.code === FaultCode.OUT_OF_BUDGET && f.reason.startsWith('instruction budget');
  const message = capped
    ? `Try stopped after ${TRY_MAX_INSNS.toLocaleString('en-US')} instructions, the most it runs in the page; on the board this container's budget of ${budget.toLocaleString('en-US')} applies`
    : f?.reason ?? '';
  return {
    status: r.status,
    payload: r0Value(r.r0, input.resultType ?? 'int64'),
    insns: r.totalInsns,
    fault: f ? { code: f.code, name: faultCodeName(f.code), message, pc: f.pc } : undefined,
    ...(capped ? { cappedAt: TRY_MAX_INSNS } : {}),
    console: lines,
    input: described,
    trace,
    regions: vm.memory.regions.map((g) => ({ name: g.name, base: g.base, size: g.size, writable: (g.perm & PERM_WRITE) !== 0 })),
    stores: { local: local.entries(), global: global.entries() },
    actuators: [...written].map((i) => ({ name: saul.devices[i].name, value: [...(saul.devices[i].actuator?.value ?? [])] })),
  };
}

/** Whether a fault is the budget running out (the panel suggests raising it or rfc9669). */
export const isBudgetFault = (code: number): boolean => code === FaultCode.OUT_OF_BUDGET;
