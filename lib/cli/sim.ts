/**
 * `femto sim FILE --board PROFILE --hook HOOK [hook options] [--events N] [--interval MS]
 * [--virtual-clock] [--json]`: try a container without Node-RED. Installs the program (RIOT image,
 * ELF object, C source via clang, assembly, … anything lib/program-input reads) on an emulated
 * board (lib/board), fires N events of the hook and prints every run: r0, fault, console lines and
 * the estimated time on the board's real MCU. Makers use it to try a container; CI uses it too.
 *
 * Time: event k (1-based) happens at board time (k − 1) × interval. With --virtual-clock the board
 * clock is virtual: nothing waits, and everything due between two events (the wake-ups of a
 * container suspended in ztimer_periodic_wakeup) runs, in time order, before the next event. Without
 * it the board uses the wall clock and the command really waits `interval` between events.
 * Resumed slices of a long-running container are printed as runs too (with their slice number);
 * while such a run is suspended its hook skips it, as on RIOT.
 *
 * Hook options:
 *   sensor  --device REF (name or SAUL index; default the board's first sensor), --value V[,V…]
 *           (physical values, one per event, the last one repeating; default the device's source)
 *   button  --device REF (default the first button); events alternate press, release, press…
 *   timer   the board's timer hook (tick 1, 2, …; its context's period is --interval)
 *   flow    --payload TEXT or --payload-hex HEX: msg.payload of every event; or --msg JSON (with
 *           --input PROP, default payload): the bytes the femto-container node makes of that
 *           message (lib/node-support/message: Node-RED's property paths, numbers as int64…)
 *   coap    --method GET|POST|… (default GET), --path /res (default /), --payload / --payload-hex;
 *           each event is a request; the response (code, content format, payload) is printed
 *   sched   one scheduler switch per event (round robin over the board's threads)
 * Container options: --budget N, --profile rfc9669|riot-2022 (default: the board's), --helpers
 * LIST (requested grants, intersected with the hook's contract), --entry NAME, --format F, and
 * clang's -O/-I/-D/--clang for C sources. --value also works with other hooks (it sets --device's
 * sensor, default the first sensor, before each event), so a timer or long-running container can
 * read scripted samples.
 *
 * Output (human): one line per event, one per run (container, r0, instructions, estimated µs),
 * its console lines indented, a final summary (runs, faults, stores, actuators). --json: one JSON
 * object per line, each with a "type": "event" | "run" | "coap" | "skipped" | "summary"; 64-bit
 * values are numbers when exact, else decimal strings.
 *
 * Exit status: 0 every run ended without a fault; 1 the program was rejected (verifier or board:
 * slot, RAM, hook contract) or a run faulted; 2 bad input (usage, unreadable file, compile error).
 */
import * as path from 'node:path';
import { VerifyError } from '../../vm/errors';
import { Board, BoardError, VirtualClock, WallClock, type RunReport } from '../board/board';
import { HOOKS, isHook, type HookName } from '../board/hooks';
import { PROFILE_NAMES, getProfile } from '../board/profiles';
import { SAUL, isActuator, isSensor, saulTypeName, unitSymbol } from '../board/saul';
import { inputValue, payloadToBytes } from '../node-support/message';
import { loadProgramFile, parseHexBytes, toImageBytes } from '../program-input';
import {
  compileOptionSpec, compileOptionsFrom, flag, parseCommand, parseCount, parseFormat, parseProfile, requireFile, str, UsageError,
} from './args';
import { EXIT_BAD_INPUT, EXIT_OK, EXIT_REJECTED, exitCodeFor, messageFor, processIo, type Io } from './io';


type Json = Record<string, unknown>;

/** A bigint as a JSON number when exact, else a decimal string. */
function num(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

function fmtMs(us: number): string {
  const ms = us / 1000;
  return `${Number.isInteger(ms) ? ms : ms.toFixed(3)} ms`;
}

function parseValues(v: string | undefined): number[][] | undefined {
  if (v === undefined) return undefined;
  const out = v.split(',').map((t) => t.trim()).filter((t) => t !== '').map((t) => t.split('/').map(Number));
  if (out.length === 0 || out.some((xs) => xs.some((x) => !Number.isFinite(x)))) {
    throw new UsageError(`femto sim: --value '${v}' is not a comma-separated list of numbers (x/y/z for several dimensions)`);
  }
  return out;
}

/**
 * --msg (and --input): the bytes the femto-container node would hand a flow-hook container for
 * this message — its input property evaluated as Node-RED does, then translated as the node does.
 */
function flowMessageBytes(json: string, input: string | undefined): Uint8Array {
  let msg: unknown;
  try {
    msg = JSON.parse(json);
  } catch (e) {
    throw new UsageError(`femto sim: --msg is not JSON (${(e as Error).message})`);
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw new UsageError('femto sim: --msg must be a JSON object, e.g. {"payload":41}');
  try {
    return payloadToBytes(inputValue(msg as Record<string, unknown>, input, 'msg'));
  } catch (e) {
    throw new UsageError(`femto sim: ${input !== undefined ? `--input ${input}` : '--msg'}: ${(e as Error).message}`);
  }
}

function deviceRef(v: string | undefined): string | number | undefined {
  if (v === undefined) return undefined;
  return /^\d+$/.test(v) ? Number(v) : v;
}

export async function simCommand(argv: string[], io: Io = processIo()): Promise<number> {
  try {
    return await sim(argv, io);
  } catch (e) {
    if (e instanceof BoardError) {
      // A device or payload the board does not have is bad input; slot, RAM, hook refusals are rejections.
      io.err(`femto: ${e.message}`);
      return e.code === 'not-found' || e.code === 'payload' ? EXIT_BAD_INPUT : EXIT_REJECTED;
    }
    io.err(messageFor(e));
    return exitCodeFor(e);
  }
}

async function sim(argv: string[], io: Io): Promise<number> {
  const p = parseCommand('sim', argv, {
    board: { type: 'string' },
    hook: { type: 'string' },
    events: { type: 'string' },
    interval: { type: 'string' },
    'virtual-clock': { type: 'boolean' },
    json: { type: 'boolean' },
    device: { type: 'string' },
    value: { type: 'string' },
    payload: { type: 'string' },
    'payload-hex': { type: 'string' },
    msg: { type: 'string' },
    input: { type: 'string' },
    method: { type: 'string' },
    path: { type: 'string' },
    budget: { type: 'string' },
    profile: { type: 'string' },
    helpers: { type: 'string' },
    entry: { type: 'string' },
    format: { type: 'string' },
    ...compileOptionSpec,
  }, 1);
  const file = requireFile('sim', p);
  const boardName = str(p, 'board') ?? 'nrf52840dk';
  try {
    getProfile(boardName);
  } catch {
    throw new UsageError(`femto sim: unknown board '${boardName}' (one of ${PROFILE_NAMES.join(', ')})`);
  }
  const hookArg = str(p, 'hook');
  if (hookArg === undefined) throw new UsageError(`femto sim: --hook is required (one of ${HOOKS.join(', ')})`);
  if (!isHook(hookArg)) throw new UsageError(`femto sim: unknown hook '${hookArg}' (one of ${HOOKS.join(', ')})`);
  const hook: HookName = hookArg;
  const events = parseCount('sim', '--events', str(p, 'events'), 0) ?? 1;
  const intervalMs = parseCount('sim', '--interval', str(p, 'interval'), 0) ?? 1000;
  const virtual = flag(p, 'virtual-clock');
  const json = flag(p, 'json');
  const budget = parseCount('sim', '--budget', str(p, 'budget'));
  const profileArg = str(p, 'profile');
  const profile = profileArg === undefined ? undefined : parseProfile('sim', profileArg);
  const format = parseFormat('sim', str(p, 'format'));
  const values = parseValues(str(p, 'value'));
  const device = deviceRef(str(p, 'device'));
  const payloadText = str(p, 'payload');
  const payloadHex = str(p, 'payload-hex');
  const msgArg = str(p, 'msg');
  const inputArg = str(p, 'input');
  if ([payloadText, payloadHex, msgArg].filter((v) => v !== undefined).length > 1) {
    throw new UsageError('femto sim: give one of --payload, --payload-hex or --msg');
  }
  if (msgArg !== undefined && hook !== 'flow') throw new UsageError(`femto sim: --msg is for the flow hook (this is --hook ${hook}; use --payload)`);
  if (inputArg !== undefined && msgArg === undefined) throw new UsageError('femto sim: --input names a property of --msg; give --msg too');
  const payload = msgArg !== undefined ? flowMessageBytes(msgArg, inputArg)
    : payloadHex !== undefined ? parseHexBytes(payloadHex) : new TextEncoder().encode(payloadText ?? '');
  const method = (str(p, 'method') ?? 'GET').toUpperCase();
  const coapPath = str(p, 'path') ?? '/';
  const helpersArg = str(p, 'helpers');
  const helpers = helpersArg === undefined ? undefined : helpersArg.split(',').map((t) => t.trim()).filter((t) => t && t !== 'none')
    .map((t) => (/^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : t));
  const entry = str(p, 'entry');
  const compile = compileOptionsFrom('sim', p);

  const prog = await loadProgramFile(file, { format, compile });
  if (!json) for (const w of prog.warnings) io.err(`warning: ${w}`);
  const image = toImageBytes(prog);

  const clock = virtual ? new VirtualClock() : new WallClock();
  const board = new Board({ profile: boardName, clock, timerPeriodMs: intervalMs || 1000 });
  const name = path.basename(file);

  // Which sensor --value drives, and which device the sensor/button hook fires.
  const sensorFor = (): string | number | undefined => {
    if (device !== undefined) return device;
    if (hook === 'button') return undefined;
    return board.devices().find((d) => isSensor(d.type) && d.type !== SAUL.SENSE_BTN)?.index;
  };
  if (values) {
    const ref = sensorFor();
    if (ref === undefined) throw new UsageError(`femto sim: --value needs a sensor, and ${boardName} has none (give --device)`);
    const d = board.device(ref);
    if (!isSensor(d.type) || d.type === SAUL.SENSE_BTN) throw new UsageError(`femto sim: --value: "${d.name}" is not a sensor`);
  }
  if (device !== undefined) {
    try {
      board.device(device); // a wrong name fails before anything runs
    } catch (e) {
      throw new UsageError(`femto sim: --device: ${(e as Error).message}`);
    }
  }

  let info;
  try {
    info = board.install({
      id: 'c1', name, image, hook, budget, profile, helpers, entry,
      device: hook === 'sensor' ? device : undefined,
      path: hook === 'coap' ? coapPath : undefined,
    });
  } catch (e) {
    if (e instanceof VerifyError) {
      if (json) io.out(JSON.stringify({ type: 'rejected', stage: 'verify', ...e.toJSON(), message: e.message }));
      else io.out(`${file}: rejected on the ${hook} hook of ${boardName}: ${e.message}`);
      return EXIT_REJECTED;
    }
    if (e instanceof BoardError) {
      if (json) io.out(JSON.stringify({ type: 'rejected', stage: 'board', code: e.code, message: e.message }));
      else io.out(`${file}: rejected by ${boardName}: ${e.message}`);
      return EXIT_REJECTED;
    }
    throw e;
  }
  if (!json) {
    io.out(`${name} on ${board.profile.title} (${boardName}), ${hook} hook: ${info.imageBytes} B image, ${info.ramBytes} B RAM, ` +
      `profile ${info.profile}, helpers used: ${info.helpersUsed.join(', ') || 'none'}${virtual ? ', virtual clock' : ''}`);
    for (const w of info.warnings) io.out(`warning: ${w}`);
  }

  let eventNo = 0;
  let runs = 0;
  let faults = 0;
  board.on('result', (r: RunReport) => {
    runs++;
    if (r.status === 'fault') faults++;
    printRun(io, json, eventNo, r, boardName);
  });
  const actuatorChanges: Json[] = [];
  board.on('actuator', (a: { name: string; value: number[]; previous: number[] }) => {
    actuatorChanges.push({ device: a.name, value: a.value, previous: a.previous });
  });

  const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));
  try {
    for (let k = 1; k <= events; k++) {
      // Scripted sensor value for this event: set before time moves, so wake-ups at this time see it.
      if (values) board.setSensor(sensorFor()!, values[Math.min(k - 1, values.length - 1)]);
      if (k > 1) {
        if (clock instanceof VirtualClock) clock.advance(intervalMs * 1000);
        else await sleep(intervalMs);
      }
      eventNo = k;
      fireEvent(io, json, board, hook, k, { device, payload, method, coapPath });
    }
  } finally {
    board.stop();
  }

  const summary: Json = {
    type: 'summary',
    board: boardName,
    hook,
    events,
    runs,
    faults,
    atMs: clock.nowUs() / 1000,
    container: board.container('c1'),
    stores: {
      global: board.store('global').toJSON(),
      local: board.store('local', 'c1').toJSON(),
      tenant: board.store('tenant', info.tenant).toJSON(),
    },
    actuators: Object.fromEntries(board.devices().filter((d) => isActuator(d.type)).map((d) => [d.name, d.actuator?.value.slice(0, d.dims) ?? []])),
    actuatorChanges,
  };
  if (json) {
    io.out(JSON.stringify(summary));
  } else {
    io.out(`summary: ${events} event${events === 1 ? '' : 's'}, ${runs} run${runs === 1 ? '' : 's'}, ${faults} fault${faults === 1 ? '' : 's'}` +
      `${board.container('c1').state === 'quarantined' ? ', container quarantined' : ''}`);
    const stores = summary.stores as Record<string, Record<string, number>>;
    for (const [scope, entries] of Object.entries(stores)) {
      const list = Object.entries(entries);
      if (list.length) io.out(`  ${scope} store: ${list.map(([k, v]) => `${k}=${v}`).join(', ')}`);
    }
    if (actuatorChanges.length) {
      const acts = summary.actuators as Record<string, number[]>;
      io.out(`  actuators: ${Object.entries(acts).map(([n, v]) => `${n}=${v.join('/')}`).join(', ')}`);
    }
  }
  return faults > 0 ? EXIT_REJECTED : EXIT_OK;
}

interface EventOptions {
  device: string | number | undefined;
  payload: Uint8Array;
  method: string;
  coapPath: string;
}

function fireEvent(io: Io, json: boolean, board: Board, hook: HookName, k: number, o: EventOptions): void {
  const at = board.clock.nowUs();
  const announce = (what: string, extra: Json): void => {
    if (json) io.out(JSON.stringify({ type: 'event', event: k, atMs: at / 1000, hook, ...extra }));
    else io.out(`[event ${k} · ${fmtMs(at)}] ${what}`);
  };
  let result;
  switch (hook) {
    case 'sensor': {
      const dev = o.device === undefined ? board.devices().find((d) => isSensor(d.type) && d.type !== SAUL.SENSE_BTN) : board.device(o.device);
      if (!dev) throw new UsageError(`femto sim: ${board.name} has no sensor (add one in a flow, or use another --board)`);
      // Announce the reading the hook sees (the board emits 'sample' before running the hook).
      board.once('sample', (smp: { name: string; type: number; data: { unit: number }; values: number[] }) => {
        announce(`sensor "${smp.name}" (${saulTypeName(smp.type)}) = ${smp.values.join('/')} ${unitSymbol(smp.data.unit)}`,
          { device: smp.name, values: smp.values, unit: unitSymbol(smp.data.unit) });
      });
      result = board.sampleSensor(dev.index);
      break;
    }
    case 'button': {
      const pressed = k % 2 === 1;
      const dev = o.device === undefined ? board.devices().find((d) => d.type === SAUL.SENSE_BTN) : board.device(o.device);
      if (!dev) throw new UsageError(`femto sim: ${board.name} has no button`);
      announce(`button "${dev.name}" ${pressed ? 'pressed' : 'released'}`, { device: dev.name, pressed });
      result = pressed ? board.pressButton(dev.index) : board.releaseButton(dev.index);
      break;
    }
    case 'timer':
      announce('timer tick', {});
      result = board.fireTimer();
      break;
    case 'sched':
      announce('thread switch', {});
      result = board.schedTick();
      break;
    case 'flow':
      announce(`flow message (${o.payload.length} B)`, { payloadBytes: o.payload.length });
      result = board.fireFlow(o.payload);
      break;
    case 'coap': {
      announce(`CoAP ${o.method} ${o.coapPath}${o.payload.length ? ` (${o.payload.length} B)` : ''}`, { method: o.method, path: o.coapPath });
      const res = board.coapRequest(o.method, o.coapPath, o.payload);
      const text = new TextDecoder().decode(res.payload);
      if (json) {
        io.out(JSON.stringify({
          type: 'coap', event: k, code: res.codeText, contentFormat: res.contentFormat ?? null,
          payload: text, payloadHex: Buffer.from(res.payload).toString('hex'), pduHex: Buffer.from(res.pdu).toString('hex'),
          container: res.container ?? null,
        }));
      } else {
        io.out(`  response ${res.codeText}${res.contentFormat !== undefined ? ` (content format ${res.contentFormat})` : ''}: ${JSON.stringify(text)}` +
          (res.pdu.length ? ` · PDU ${Buffer.from(res.pdu).toString('hex')}` : ''));
      }
      return;
    }
  }
  for (const s of result.skipped) {
    if (json) io.out(JSON.stringify({ type: 'skipped', event: k, container: s.container, reason: s.reason }));
    else io.out(`  ${s.container}: skipped (${s.reason})`);
  }
}

/** One run slice: a hook run, or a resumed slice of a long-running container (shown with its time). */
function printRun(io: Io, json: boolean, eventNo: number, r: RunReport, boardName: string): void {
  const low = BigInt.asIntN(32, r.r0);
  if (json) {
    io.out(JSON.stringify({
      type: 'run', event: eventNo, atMs: r.atUs / 1000, hook: r.hook, container: r.container, name: r.name, slice: r.slice,
      status: r.status, r0: num(r.r0Signed), r0Hex: '0x' + r.r0.toString(16), r0Int32: Number(low),
      insns: r.insns, totalInsns: r.totalInsns, estimatedUs: Number(r.estimatedUs.toFixed(3)), estimated: true, board: boardName,
      console: r.console, fault: r.fault ?? null,
      storeWrites: r.storeWrites.map((w) => ({ scope: w.scope, key: w.key, value: w.value ?? null })),
      faults: r.faults, quarantined: r.quarantined,
    }));
    return;
  }
  const who = `${r.container}${r.slice > 1 ? ` slice ${r.slice}` : ''}`;
  const cost = `${r.insns.toLocaleString('en-US')} insns · ${r.estimateLabel}`;
  const prefix = r.hook === 'direct' || (r.slice > 1) ? `[${fmtMs(r.atUs)}] ` : '  ';
  if (r.status === 'fault') {
    const f = r.fault!;
    io.out(`${prefix}${who}: fault ${f.code}: ${f.message}${f.insn ? ` (${f.insn})` : ''} at pc ${f.pc} · ${cost}` +
      `${r.quarantined ? ' · quarantined' : ''}`);
  } else if (r.status === 'suspended') {
    io.out(`${prefix}${who}: suspended (waiting in ztimer_periodic_wakeup) · ${cost}`);
  } else {
    const shown = r.r0 >> 32n === 0n && low < 0n ? `${r.r0Signed} (int ${low})` : `${r.r0Signed}`;
    io.out(`${prefix}${who}: r0 = ${shown} · ${cost}`);
  }
  for (const line of r.console) io.out(`    | ${line}`);
}
