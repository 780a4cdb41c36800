/**
 * Writes the importable example flows `examples/NN - Title.json` (Node-RED: Import ▸ Examples).
 * Each starts with a comment node, uses only this package's nodes and core nodes, carries no tab
 * node, and runs everywhere: programs are assembly text, or C (`lib/containers/*.c`, the source the
 * user opens and edits) carrying a RIOT image prebuilt from it here, which the node runs where
 * the server has no clang (lib/node-support/program.ts says so in a warning).
 * Needs clang (run `node dist/lib/build/make-examples.js` after changing a container source);
 * test/nodes/examples.test.ts checks that the embedded images match the sources when clang exists.
 *
 * Node ids are fixed, so regenerating gives the same files for the same sources.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildFromC, packageRoot } from '../compiler';
import { fromAsm } from '../node-support/program';

type N = Record<string, unknown>;

/** The containers of lib/containers the flows embed. */
export const EMBEDDED = ['threshold', 'coap_formatter', 'moving_average'] as const;

export const INCREMENT_ASM = [
  '# increment: r0 = msg.payload (read as a little-endian u64) + 1',
  '# r1 -> flow context { u64 data; u32 len }',
  'ldxdw %r2, [%r1]      # address of the payload copy',
  'ldxdw %r0, [%r2]      # its first 8 bytes',
  'add %r0, 1',
  'exit',
].join('\n');

const DOUBLE_ASM = [
  '# double: r0 = msg.payload * 2',
  'ldxdw %r2, [%r1]',
  'ldxdw %r0, [%r2]',
  'lsh %r0, 1',
  'exit',
].join('\n');

/** Example 03's function node: one line per container and change of state (faulting → quarantined). */
const STATE_CHANGES = [
  '// One report per container and change of state: its first fault (with the cause), then its quarantine.',
  'const source = (msg.error && msg.error.source) || {};',
  'const name = source.name || source.id;',
  'const f = msg.femto || {};',
  "if (f.code !== undefined) context.set('cause:' + source.id, 'fault ' + f.code + ': ' + (f.message || msg.error.message));",
  "const cause = context.get('cause:' + source.id) || msg.error.message;",
  "const state = f.quarantined ? 'quarantined' : 'faulting';",
  "if (context.get('state:' + source.id) === state) return null;",
  "context.set('state:' + source.id, state);",
  'msg.topic = name;',
  "msg.payload = state === 'quarantined'",
  "    ? name + ' is quarantined after ' + ((f.faults && f.faults.consecutive) || 'repeated') + ' faults in a row (' + cause + '); send msg.reset = true to release it'",
  "    : name + ' faults: ' + cause;",
  'return msg;',
].join('\n');

let seq = 0;
const ids = new Map<string, string>();
/** A stable 16-hex-digit id per (example, name). */
function id(ex: number, name: string): string {
  const k = `${ex}:${name}`;
  let v = ids.get(k);
  if (!v) {
    v = `fe${String(ex).padStart(2, '0')}${(++seq).toString(16).padStart(12, '0')}`;
    ids.set(k, v);
  }
  return v;
}

function comment(ex: number, name: string, info: string, x = 190, y = 40): N {
  return { id: id(ex, 'comment'), type: 'comment', name, info, x, y, wires: [] };
}

function inject(ex: number, key: string, name: string, props: { p: string; v: string; vt: string }[], x: number, y: number, wires: string[], extra: N = {}): N {
  const payload = props.find((p) => p.p === 'payload');
  return {
    id: id(ex, key), type: 'inject', name,
    props: props.map((p) => (p.p === 'payload' ? { p: 'payload' } : p)),
    repeat: '', crontab: '', once: false, onceDelay: 0.1, topic: '',
    payload: payload?.v ?? '', payloadType: payload?.vt ?? 'date',
    x, y, wires: [wires], ...extra,
  };
}

function debug(ex: number, key: string, name: string, x: number, y: number, complete = 'payload'): N {
  return {
    id: id(ex, key), type: 'debug', name, active: true, tosidebar: true, console: false, tostatus: true,
    complete, targetType: complete === 'true' ? 'full' : 'msg', statusVal: complete === 'true' ? 'payload' : complete, statusType: 'auto', x, y, wires: [],
  };
}

function board(ex: number, name: string, extra: N = {}): N {
  return {
    id: id(ex, 'board'), type: 'femto-board', name, profile: 'nrf52840dk', storeCapacity: 16, globalScope: 'board',
    timerPeriodMs: 1000, samplePeriodMs: '', slots: '', devices: [], ...extra,
  };
}

function container(ex: number, key: string, name: string, x: number, y: number, wires: string[], extra: N): N {
  return {
    id: id(ex, key), type: 'femto-container', name, board: id(ex, 'board'), language: 'asm', source: '', image: '', imageName: '',
    hook: 'flow', device: '', path: '', method: 'GET', tenant: 'default', helpers: '', budget: 1000000, profile: '',
    resultType: 'int64', entry: '', quarantineAfter: 3, input: 'payload', inputType: 'msg',
    x, y, wires: [wires], ...extra,
  };
}

function sensor(ex: number, key: string, name: string, device: string, x: number, y: number, wires: string[]): N {
  return { id: id(ex, key), type: 'femto-sensor', name, board: id(ex, 'board'), device, sampleOnSet: true, x, y, wires: [wires] };
}

function store(ex: number, key: string, name: string, x: number, y: number, wires: string[], extra: N): N {
  return {
    id: id(ex, key), type: 'femto-store', name, board: id(ex, 'board'), scope: 'global', owner: '', action: 'get',
    key: '', keyType: 'num', value: 'payload', valueType: 'msg', watch: false, x, y, wires: [wires], ...extra,
  };
}

const cSource = (root: string, name: string): string => fs.readFileSync(path.join(root, 'lib', 'containers', `${name}.c`), 'utf8');

/** A C container's program: its source, with the image prebuilt from it for servers without clang. */
function cProgram(root: string, name: (typeof EMBEDDED)[number], images: Record<string, string>): N {
  return { language: 'c', source: cSource(root, name), image: images[name], imageName: `${name}.bin (prebuilt from ${name}.c)` };
}

const C_NOTE = 'Open the container to read and edit its C program (`lib/containers/__file__`); Node-RED compiles it with clang when you deploy. ' +
  'Where the server has no clang, the container runs the image prebuilt from the same source that this example carries, and warns that it does so.';
const cNote = (file: string): string => C_NOTE.replace('__file__', file);

/** The example flows, by file name. `images` are base64 RIOT images of EMBEDDED. */
export function exampleFlows(root: string, images: Record<string, string>): Record<string, N[]> {
  seq = 0;
  ids.clear();
  const out: Record<string, N[]> = {};

  // 01 hello
  out['01 - Hello.json'] = [
    comment(1, 'Hello, femto-container: increment',
      'A femto-container on the **flow** hook: each message runs the eBPF program once with `msg.payload` as its (read-only) context.\n\n' +
      'The program (eBPF assembly, editable in the node) reads the payload as a little-endian 64-bit number and returns it plus one: inject 41, get 42.\n\n' +
      'The node status shows r0, the instructions executed and the *estimated* time on the board\'s real MCU (nRF52840, Cortex-M4 @ 64 MHz). `msg.femto` carries the details.'),
    inject(1, 'inject', '41', [{ p: 'payload', v: '41', vt: 'num' }], 150, 100, [id(1, 'container')]),
    container(1, 'container', 'increment', 340, 100, [id(1, 'debug')], { source: INCREMENT_ASM }),
    debug(1, 'debug', 'r0', 530, 100),
    board(1, 'hello board'),
  ];

  // 02 sensor threshold alarm
  out['02 - Sensor threshold alarm.json'] = [
    comment(2, 'Sensor threshold alarm lighting an LED',
      'The board samples its temperature sensor (NRF_TEMP) every second; each sample runs the container on the **sensor** hook. ' +
      'Above 25.00 °C it switches LED 1 on, otherwise off (and prints a console line on every change).\n\n' +
      'Inject a temperature into the simulated sensor with the femto-sensor node on the left; the femto-sensor node on the right reports the LED.\n\n' +
      cNote('threshold.c') + '\n\nThe alarm output passes a *filter* node, so the debug panel shows the alarm when it changes, not every sample.'),
    inject(2, 'hot', '26.5 °C', [{ p: 'payload', v: '26.5', vt: 'num' }], 130, 100, [id(2, 'setTemp')]),
    inject(2, 'cold', '21 °C', [{ p: 'payload', v: '21', vt: 'num' }], 130, 140, [id(2, 'setTemp')]),
    sensor(2, 'setTemp', 'set temperature', 'NRF_TEMP', 320, 120, []),
    container(2, 'container', 'threshold alarm', 340, 200, [id(2, 'changes')], {
      ...cProgram(root, 'threshold', images), hook: 'sensor', device: 'NRF_TEMP', resultType: 'int32',
    }),
    {
      id: id(2, 'changes'), type: 'rbe', name: 'when it changes', func: 'rbe', gap: '', start: '', inout: 'out', septopics: true, property: 'payload', topi: 'topic',
      x: 560, y: 200, wires: [[id(2, 'debugAlarm')]],
    },
    debug(2, 'debugAlarm', 'alarm (1 = on)', 760, 200),
    sensor(2, 'led', 'LED 1', 'LED 1', 340, 260, [id(2, 'debugLed')]),
    debug(2, 'debugLed', 'LED 1', 540, 260),
    board(2, 'nRF52840 DK', { samplePeriodMs: 1000 }),
  ];

  // 03 fault isolation
  const load = [id(3, 'healthy'), id(3, 'oob'), id(3, 'loop'), id(3, 'div')];
  out['03 - Fault isolation.json'] = [
    comment(3, 'Fault isolation: three faulty containers next to a healthy one',
      'One message every 2 s goes to four containers on the same board. Three are faulty:\n\n' +
      '- an **out-of-bounds write** (fault −2, illegal memory access),\n' +
      '- an **infinite loop**, stopped by its instruction budget (fault −8),\n' +
      '- a **division by zero** (fault −9 on RIOT\'s profile).\n\n' +
      'Each fault goes to the Catch node with `msg.femto` (code, pc, instruction, counters); after 3 consecutive faults a container is quarantined. ' +
      'The function node reports each container\'s state once when it changes — its first fault with the cause, then its quarantine — so the debug panel is not flooded every 2 s. ' +
      'The healthy container keeps answering 42 the whole time (under its debug node). Send `msg.reset = true` to a container to release it.'),
    inject(3, 'tick', 'every 2 s', [{ p: 'payload', v: '41', vt: 'num' }], 130, 190, load, { repeat: '2', once: true, onceDelay: '0.5' }),
    container(3, 'healthy', 'healthy: increment', 360, 100, [id(3, 'debugOk')], { source: INCREMENT_ASM }),
    container(3, 'oob', 'out-of-bounds write', 360, 160, [], {
      source: '# write 42 to address 0x10: not mapped in the container\'s address space\nmov %r2, 0x10\nstw [%r2], 42\nmov %r0, 0\nexit',
    }),
    container(3, 'loop', 'infinite loop', 360, 220, [], {
      source: '# never returns: the instruction budget stops it\nmov %r0, 0\nloop:\nadd %r0, 1\nja loop', budget: 100000, profile: 'rfc9669',
    }),
    container(3, 'div', 'division by zero', 360, 280, [], {
      source: '# divide by a register holding zero\nmov %r0, 10\nmov %r2, 0\ndiv %r0, %r2\nexit',
    }),
    // Every 2 s is too often for the debug panel: the healthy answer shows under the debug node.
    { ...debug(3, 'debugOk', 'healthy r0', 580, 100), tosidebar: false },
    { id: id(3, 'catch'), type: 'catch', name: 'faults', scope: [id(3, 'oob'), id(3, 'loop'), id(3, 'div')], uncaught: false, x: 370, y: 360, wires: [[id(3, 'changes')]] },
    {
      id: id(3, 'changes'), type: 'function', name: 'report changes of state', func: STATE_CHANGES, outputs: 1, timeout: 0, noerr: 0,
      initialize: '', finalize: '', libs: [], x: 580, y: 360, wires: [[id(3, 'debugFault')]],
    },
    debug(3, 'debugFault', 'state', 800, 360),
    board(3, 'shared board', { slots: 4 }),
  ];

  // 04 two tenants
  const counter = (tenant: string): string => [
    `# ${tenant}'s counter: global store key 1 (+1 per message); r0 = the new count.`,
    '# With the board\'s global store "per tenant", each tenant reaches only its own store.',
    'stw [%r10-8], 0',
    'mov %r1, 1',
    'mov %r2, %r10',
    'add %r2, -8',
    'call 0x13            # bpf_fetch_global(1, &value)',
    'ldxw %r2, [%r10-8]',
    'add %r2, 1',
    'stxw [%r10-8], %r2',
    'mov %r1, 1',
    'call 0x11            # bpf_store_global(1, value)',
    'ldxw %r0, [%r10-8]',
    'exit',
  ].join('\n');
  out['04 - Two tenants.json'] = [
    comment(4, 'Two tenants on one board, separate stores',
      'Two containers of two tenants (alice, bob) share one board. Both run the same counter program: it increments key 1 of the "global" store. ' +
      'The board is configured with a global store **per tenant**, so each tenant\'s containers reach only that tenant\'s store: the counts never mix.\n\n' +
      'The femto-store nodes watch each tenant\'s store and report every change.'),
    inject(4, 'alice', 'alice', [{ p: 'payload', v: '', vt: 'date' }], 130, 100, [id(4, 'cAlice')]),
    inject(4, 'bob', 'bob', [{ p: 'payload', v: '', vt: 'date' }], 130, 160, [id(4, 'cBob')]),
    container(4, 'cAlice', 'alice: counter', 320, 100, [id(4, 'debugAlice')], { source: counter('alice'), tenant: 'alice' }),
    container(4, 'cBob', 'bob: counter', 320, 160, [id(4, 'debugBob')], { source: counter('bob'), tenant: 'bob' }),
    debug(4, 'debugAlice', 'alice count', 520, 100),
    debug(4, 'debugBob', 'bob count', 520, 160),
    store(4, 'sAlice', "alice's store", 330, 240, [id(4, 'debugStores')], { scope: 'tenant', owner: 'alice', action: 'list', watch: true }),
    store(4, 'sBob', "bob's store", 330, 280, [id(4, 'debugStores')], { scope: 'tenant', owner: 'bob', action: 'list', watch: true }),
    inject(4, 'list', 'list stores', [{ p: 'payload', v: '', vt: 'date' }], 140, 260, [id(4, 'sAlice'), id(4, 'sBob')]),
    debug(4, 'debugStores', 'store', 540, 260, 'true'),
    board(4, 'shared board', { globalScope: 'tenant' }),
  ];

  // 05 CoAP
  out['05 - CoAP formatter.json'] = [
    comment(5, 'CoAP formatter on a board resource',
      'A container on the **CoAP request** hook serves `/temp` on the board, as RIOT\'s gcoap resource handler container does: it reads the temperature sensor and answers 2.05 Content, text/plain, e.g. `22.25`.\n\n' +
      'An input message to the container sends a request to its path (msg.path and msg.method override); the answer comes out with `msg.coap` (code, content format). ' +
      'Set another temperature with the femto-sensor node.\n\n' +
      cNote('coap_formatter.c')),
    inject(5, 'get', 'GET /temp', [{ p: 'payload', v: '', vt: 'str' }], 130, 100, [id(5, 'container')]),
    container(5, 'container', 'coap /temp', 330, 100, [id(5, 'debug')], {
      ...cProgram(root, 'coap_formatter', images), hook: 'coap', path: '/temp', resultType: 'int32',
    }),
    debug(5, 'debug', 'response', 530, 100, 'true'),
    inject(5, 'set', '30.5 °C', [{ p: 'payload', v: '30.5', vt: 'num' }], 130, 180, [id(5, 'sensor')]),
    sensor(5, 'sensor', 'set temperature', 'NRF_TEMP', 330, 180, []),
    board(5, 'CoAP board', { samplePeriodMs: 0 }),
  ];

  // 06 moving average
  out['06 - Moving average.json'] = [
    comment(6, 'Long-running container: moving average',
      'A container that never returns: started by the first **timer** tick, it reads the temperature every second, keeps the last 10 samples and publishes their average (centi-°C) in the global store (key 256) and on the console. ' +
      'It sleeps in `bpf_ztimer_periodic_wakeup`: the board suspends the run and resumes it on its clock, each slice under its own instruction budget — the Node-RED event loop is never blocked.\n\n' +
      'The board is an ESP32 with a simulated room-temperature sensor (a sine, 21 ± 3 °C over 20 s). Each slice sends a message (`msg.femto.console` has its line); the femto-store node reports every new average.\n\n' +
      cNote('moving_average.c')),
    container(6, 'container', 'moving average', 170, 120, [id(6, 'debugSlice')], {
      ...cProgram(root, 'moving_average', images), hook: 'timer', resultType: 'int32',
    }),
    debug(6, 'debugSlice', 'console', 380, 120, 'femto.console'),
    store(6, 'avg', 'average (key 256)', 180, 200, [id(6, 'debugAvg')], { scope: 'global', action: 'get', key: '256', keyType: 'num', watch: true }),
    debug(6, 'debugAvg', 'average, centi-°C', 400, 200),
    board(6, 'ESP32', {
      profile: 'esp32-wroom-32', timerPeriodMs: 1000,
      devices: [{ name: 'room temperature', kind: 'temperature', source: 'sine', value: 21, amplitude: 3, periodMs: 20000 }],
    }),
  ];

  // 07 hot swap
  const bytes = (asm: string): string => JSON.stringify([...hexImage(asm)]);
  out['07 - Hot swap.json'] = [
    comment(7, 'Hot-swap an image arriving in a message',
      'A message with `msg.image` (a Buffer: RIOT image, ELF object or bytecode; or assembly text) replaces the container\'s program, after verification, without redeploying.\n\n' +
      '- **run 21**: runs the current program.\n' +
      '- **swap: double**: installs a program returning payload × 2 (21 → 42).\n' +
      '- **swap: bad image**: a program jumping outside itself. The verifier rejects it (status "rejected: jump-target at pc 0"), the Catch node shows why, and the previous program keeps running.'),
    inject(7, 'run', 'run 21', [{ p: 'payload', v: '21', vt: 'num' }], 130, 100, [id(7, 'container')]),
    inject(7, 'good', 'swap: double', [{ p: 'image', v: bytes(DOUBLE_ASM), vt: 'bin' }], 140, 140, [id(7, 'container')]),
    inject(7, 'bad', 'swap: bad image', [{ p: 'image', v: bytes('ja +5\nexit'), vt: 'bin' }], 150, 180, [id(7, 'container')]),
    container(7, 'container', 'swappable', 360, 140, [id(7, 'debug')], { source: INCREMENT_ASM }),
    debug(7, 'debug', 'r0', 550, 140),
    { id: id(7, 'catch'), type: 'catch', name: 'rejected', scope: [id(7, 'container')], uncaught: false, x: 370, y: 220, wires: [[id(7, 'debugRejected')]] },
    debug(7, 'debugRejected', 'rejection', 560, 220, 'femto'),
    board(7, 'swap board'),
  ];

  // 08 deploy over CoAP to a device process, then run it there
  const remoteBoard = board(8, 'local device', { mode: 'remote', address: 'coap://127.0.0.1:5683', publicKey: '', slot: 0, timeoutMs: 2000, pollMs: 5000 });
  out['08 - Deploy over CoAP.json'] = [
    comment(8, 'Sign and deploy over CoAP, then run it on the device',
      'The device is a separate process: an emulated nRF52840 DK reachable over CoAP, like a RIOT board running the femto-container SUIT example. Before deploying this flow:\n\n' +
      '1. Make a signing key: `npx femto keygen -o demo` writes `demo.key` (private) and `demo.pub` (public). Open the **sign & deploy** node and paste the contents of `demo.key` into *Signing key* ' +
      '(or press *Generate* there and save the public key it shows as `demo.pub`). The key lives in the node\'s credentials: it is never exported with the flow.\n' +
      '2. Start the device, trusting that key: `npx femto device --port 5683 --key demo.pub`.\n\n' +
      'Then:\n\n' +
      '- **deploy v1** signs an image returning 4200 into a SUIT manifest and installs it into slot `.ram.0` of the device over CoAP: the deploy node\'s status follows the transfer (fetching block k/n, verifying, installed seq N) and the outcome comes out per board.\n' +
      '- **run on the device** runs `.ram.0` there (`POST /bpf/exec/0`): the femto container node on the remote board shows r0, the instructions executed and the device\'s estimated time.\n' +
      '- **deploy v2** installs an image returning 2225 with the next sequence number; **replay v1 with seq 1** shows the device refusing a rollback: the Catch node gets the reason, and the device keeps running v2.\n\n' +
      'Without a device the flow still deploys: the container says *device not answering* and a deployment reaches the Catch node with that reason. ' +
      'To deploy to more devices, add their addresses (or more remote femto-boards) under *Also to* in the deploy node: they are updated in parallel.'),
    inject(8, 'v1', 'deploy v1 (r0 = 4200)', [{ p: 'image', v: bytes('mov %r0, 4200\nexit'), vt: 'bin' }], 170, 100, [id(8, 'deploy')]),
    inject(8, 'v2', 'deploy v2 (r0 = 2225)', [{ p: 'image', v: bytes('mov %r0, 2225\nexit'), vt: 'bin' }], 170, 140, [id(8, 'deploy')]),
    inject(8, 'replay', 'replay v1 with seq 1', [{ p: 'image', v: bytes('mov %r0, 4200\nexit'), vt: 'bin' }, { p: 'seq', v: '1', vt: 'num' }], 170, 180, [id(8, 'deploy')]),
    {
      id: id(8, 'deploy'), type: 'femto-deploy', name: 'sign & deploy', board: id(8, 'board'), targets: [], slot: '', seq: '', timeout: 30, serveHost: '',
      x: 420, y: 140, wires: [[id(8, 'debugDeploy')]],
    },
    debug(8, 'debugDeploy', 'outcome per board', 640, 140),
    inject(8, 'run', 'run on the device', [{ p: 'payload', v: '', vt: 'str' }], 160, 260, [id(8, 'container')]),
    container(8, 'container', 'on the device: .ram.0', 400, 260, [id(8, 'debugRun')], { source: '', resultType: 'int32' }),
    debug(8, 'debugRun', 'r0', 620, 260),
    { id: id(8, 'catch'), type: 'catch', name: 'deploy and run errors', scope: [id(8, 'deploy'), id(8, 'container')], uncaught: false, x: 180, y: 340, wires: [[id(8, 'debugError')]] },
    debug(8, 'debugError', 'error', 620, 340, 'error'),
    remoteBoard,
  ];
  return out;
}

/** Raw RIOT image bytes of an assembly program (for inject nodes' "bin" values). */
function hexImage(asm: string): Uint8Array {
  return fromAsm(asm).image;
}

export async function buildEmbeddedImages(root: string): Promise<Record<string, string>> {
  const images: Record<string, string> = {};
  for (const name of EMBEDDED) {
    const img = await buildFromC({ path: path.join(root, 'lib', 'containers', `${name}.c`) });
    images[name] = Buffer.from(img).toString('base64');
  }
  return images;
}

async function main(): Promise<void> {
  const root = packageRoot();
  const images = await buildEmbeddedImages(root);
  const flows = exampleFlows(root, images);
  for (const [file, nodes] of Object.entries(flows)) {
    fs.writeFileSync(path.join(root, 'examples', file), JSON.stringify(nodes, null, 4) + '\n');
    process.stdout.write(`wrote examples/${file} (${nodes.length} nodes)\n`);
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`make-examples: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
