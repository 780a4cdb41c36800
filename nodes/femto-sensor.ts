/**
 * femto-sensor: a board's SAUL devices in the flow.
 *
 * Out: every sample of a sensor (the board samples periodically and whenever a hook or a flow
 * asks), every button press/release and every actuator change (an LED a container switched) as
 * a message: topic = device name, payload = the value (a number, an array for 3-axis devices,
 * true/false for buttons), msg.femto = { event: sample|button|actuator, device, name, type,
 * typeName, unit, board, … }. With no device selected, every device of the board reports.
 *
 * In (to the selected device, or to the device named by msg.topic when none is selected):
 *  - sensor: a number (or array) sets its simulated value (it becomes an external source) and, by
 *    default, samples it at once so sensor-hook containers run now; payload "sample" only samples;
 *  - button: true / 1 / "press" presses, false / 0 / "release" releases, "click" does both;
 *  - actuator: a number, array or boolean sets its state (as a container's saul_reg_write would).
 * Emulated boards only: on a remote femto-board it shows "remote board: not emulated" and refuses
 * input (nodes/emulated-board.ts).
 */
import { isActuator, isSensor, SAUL, saulTypeName, unitSymbol, type SaulDevice } from '../lib/board/saul';
import { StatusThrottle, type NodeStatus } from '../lib/node-support/status';
import { emulatedBoard } from './emulated-board';
import { translator, type FemtoBoardNode, type Msg, type Node, type NodeConfig, type RED } from './red';

interface SensorConfig extends NodeConfig {
  board?: string;
  device?: string;
  sampleOnSet?: boolean;
}

export = function (RED: RED): void {
  const t = translator(RED, 'femto-sensor');

  function FemtoSensor(this: Node, config: SensorConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const boardNode = RED.nodes.getNode(config.board ?? '') as FemtoBoardNode | null;
    const board = emulatedBoard(node, boardNode, t);
    const selected = (config.device ?? '').trim();
    if (!board) return;
    const b = board;
    const boardName = boardNode?.boardName ?? b.name;
    const sampleOnSet = config.sampleOnSet !== false;

    const find = (ref: string): SaulDevice | undefined => b.saul.find(/^\d+$/.test(ref) ? Number(ref) : ref);
    if (selected && !find(selected)) {
      node.status({ fill: 'red', shape: 'ring', text: `no device "${selected}"` });
    } else {
      node.status({ fill: 'grey', shape: 'dot', text: selected || t('status.all') });
    }
    const selectedName = selected ? find(selected)?.name ?? selected : '';
    const mine = (name: string): boolean => !selected || name === selectedName;
    const describe = (d: SaulDevice | undefined) => d ? { device: d.index, name: d.name, type: d.type, typeName: saulTypeName(d.type), unit: unitSymbol(d.unit), board: boardName } : { board: boardName };
    const single = (v: number[], dims: number): number | number[] => (dims <= 1 ? v[0] : v.slice(0, dims));

    /** A sample's status ("NRF_TEMP: 21.5 °C"), built and shown at most every STATUS_INTERVAL_MS. */
    const sampleStatus = new StatusThrottle<{ name: string; values: number[]; device: number }>((st) => node.status(st), (s) => {
      const d = b.saul.nth(s.device);
      const payload = single(s.values, d?.dims ?? 1);
      return { fill: 'green', shape: 'dot', text: `${s.name}: ${Array.isArray(payload) ? payload.join(',') : payload}${d ? ' ' + unitSymbol(d.unit) : ''}` };
    });
    const status = (st: NodeStatus): void => sampleStatus.now(st);
    const onSample = (s: { device: number; name: string; values: number[] }): void => {
      if (!mine(s.name)) return;
      if (selected) sampleStatus.soon(s);
      const d = b.saul.nth(s.device);
      node.send({ topic: s.name, payload: single(s.values, d?.dims ?? 1), femto: { event: 'sample', ...describe(d) } });
    };
    const onButton = (e: { device: number; name: string; pressed: boolean }): void => {
      if (!mine(e.name)) return;
      if (selected) status({ fill: e.pressed ? 'blue' : 'grey', shape: 'dot', text: `${e.name}: ${e.pressed ? 'pressed' : 'released'}` });
      node.send({ topic: e.name, payload: e.pressed, femto: { event: 'button', ...describe(b.saul.nth(e.device)) } });
    };
    const onActuator = (e: { device: number; name: string; value: number[]; previous: number[]; container?: string }): void => {
      if (!mine(e.name)) return;
      const d = b.saul.nth(e.device);
      const payload = single(e.value, d?.dims ?? 1);
      if (selected) status({ fill: e.value.some((x) => x !== 0) ? 'yellow' : 'grey', shape: 'dot', text: `${e.name}: ${Array.isArray(payload) ? payload.join(',') : payload}` });
      node.send({ topic: e.name, payload, femto: { event: 'actuator', previous: single(e.previous, d?.dims ?? 1), container: e.container, ...describe(d) } });
    };
    b.on('sample', onSample);
    b.on('button', onButton);
    b.on('actuator', onActuator);

    node.on('input', (msg: Msg, _send, done) => {
      const ref = selected || (typeof msg.topic === 'string' ? msg.topic : '');
      const d = ref ? find(ref) : undefined;
      if (!d) {
        done(new Error(t('errors.noDevice', { ref, board: boardName, list: b.devices().map((x) => x.name).join(', ') })));
        return;
      }
      try {
        const p = msg.payload;
        if (d.type === SAUL.SENSE_BTN) {
          if (p === 'click') {
            b.pressButton(d.index);
            b.releaseButton(d.index);
          } else if (p === false || p === 0 || p === 'release' || p === 'false') b.releaseButton(d.index);
          else b.pressButton(d.index);
        } else if (isSensor(d.type)) {
          if (p === 'sample' || p === undefined || p === null || p === '') b.sampleSensor(d.index);
          else {
            b.setSensor(d.index, toValues(p));
            if (sampleOnSet) b.sampleSensor(d.index);
          }
        } else if (isActuator(d.type) && d.actuator) {
          d.actuator.set(toValues(p));
        }
        done();
      } catch (e) {
        done(e instanceof Error ? e : new Error(String(e)));
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      b.off('sample', onSample);
      b.off('button', onButton);
      b.off('actuator', onActuator);
      sampleStatus.close();
      node.status({});
      done();
    });
  }

  function toValues(p: unknown): number[] {
    if (typeof p === 'boolean') return [p ? 1 : 0];
    if (typeof p === 'number' && Number.isFinite(p)) return [p];
    if (typeof p === 'string' && p.trim() !== '' && Number.isFinite(Number(p))) return [Number(p)];
    if (Array.isArray(p) && p.length > 0 && p.length <= 3 && p.every((x) => typeof x === 'number' && Number.isFinite(x))) return p as number[];
    throw new TypeError(t('errors.value'));
  }

  RED.nodes.registerType('femto-sensor', FemtoSensor as (this: Node, c: NodeConfig) => void);
};
