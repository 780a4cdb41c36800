/**
 * The 313 peer-written conformance vectors, one test each, run on the interpreter from the
 * suite's own assembled bytes (the assembler is checked byte-for-byte against the same bytes in
 * assembler.test.ts).
 */
import * as assert from 'node:assert/strict';
import { Vm } from '../../vm/vm';
import { conformanceHelpers, expectedResult, hexBytes, loadAssembled } from '../util/vectors';

describe('conformance vectors (interpreter)', () => {
  for (const v of loadAssembled()) {
    it(v.name, () => {
      const vm = new Vm({ text: hexBytes(v.program), helpers: conformanceHelpers() });
      const mem = hexBytes(v.mem);
      const res = vm.run(mem.length ? { context: mem, contextWritable: true, lengthInR2: true } : {});
      assert.equal(res.fault, undefined, res.fault?.message);
      assert.equal(res.status, 'exit');
      assert.equal('0x' + res.r0.toString(16), '0x' + expectedResult(v.result).toString(16));
    });
  }
});
