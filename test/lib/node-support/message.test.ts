/**
 * The input of a flow-hook container (lib/node-support/message.ts, inputValue): msg.payload by
 * default, else the node's typed input evaluated as Node-RED evaluates typed inputs — by the
 * evaluator a node passes (RED.util's), or by @node-red/util's outside Node-RED.
 */
import * as assert from 'node:assert/strict';
import { inputValue, payloadToBytes, type EvaluateProperty } from '../../../lib/node-support/message';

const refuse: EvaluateProperty = () => {
  throw new Error('the evaluator is not needed for msg.payload');
};

describe('inputValue: what a flow-hook container runs on', () => {
  const msg = { payload: { n: [0, 41], 'a b': 'x' }, topic: 'temp', deep: { list: [{ v: 7 }] } };

  it('msg.payload when no input is named, or the input is payload of type msg: no evaluation', () => {
    for (const [input, type] of [[undefined, undefined], ['', 'msg'], ['payload', undefined], ['payload', 'msg']] as const) {
      assert.equal(inputValue(msg, input, type, undefined, refuse), msg.payload, `${input} ${type}`);
    }
  });

  it('a message path, read by @node-red/util outside Node-RED: dots, brackets, quotes, a msg. prefix', () => {
    assert.equal(inputValue(msg, 'payload.n[1]', 'msg'), 41);
    assert.equal(inputValue(msg, 'payload["a b"]', undefined), 'x');
    assert.equal(inputValue(msg, 'msg.topic', 'msg'), 'temp');
    assert.equal(inputValue(msg, 'deep.list[0].v', 'msg'), 7);
    assert.equal(inputValue(msg, 'payload.absent', 'msg'), undefined);
    assert.throws(() => inputValue(msg, 'payload[', 'msg'), /Invalid property expression/);
  });

  it('other typed inputs as Node-RED evaluates them: num, json, str', () => {
    assert.equal(inputValue(msg, '42', 'num'), 42);
    assert.deepEqual(inputValue(msg, '[1,2]', 'json'), [1, 2]);
    assert.equal(inputValue(msg, 'hello', 'str'), 'hello');
    assert.deepEqual([...payloadToBytes(inputValue(msg, '[7,-1]', 'json'))], [7, 0, 0, 0, 255, 255, 255, 255]);
  });

  it('a node\'s evaluator gets every named input with its type, the node and the message — payload of type flow too', () => {
    const calls: unknown[][] = [];
    const node = { id: 'n1' };
    const evaluate: EvaluateProperty = (value, type, n, m) => {
      calls.push([value, type, n, m]);
      return 5;
    };
    assert.equal(inputValue(msg, 'seed', 'flow', node, evaluate), 5);
    assert.equal(inputValue(msg, 'payload', 'global', node, evaluate), 5, 'a global variable named payload is not msg.payload');
    assert.equal(inputValue(msg, 'payload.n', undefined, node, evaluate), 5);
    assert.deepEqual(calls, [['seed', 'flow', node, msg], ['payload', 'global', node, msg], ['payload.n', 'msg', node, msg]]);
  });
});
