/**
 * The worker-thread translator: a VM given it moves to the compiled tier in the background and
 * computes what the inline translation computes; a translation that fails leaves it interpreted.
 */
import { strict as assert } from 'node:assert';
import { assemble } from '../../../vm/assembler';
import { Vm } from '../../../vm/vm';
import { stopTranslator, workerTranslator } from '../../../lib/tier-worker/translator';
import { bigProgram } from '../../bench/tier-up';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('tier-worker: translation on a worker thread', () => {
  after(() => stopTranslator());

  it('auto tier-up happens in the background and gives the inline result', async () => {
    const text = assemble(bigProgram(3));
    const inline = new Vm({ text, tier: 'compiled' });
    assert.equal(inline.tier.current, 'compiled');
    const expected = inline.run();
    const vm = new Vm({ text, tier: 'auto', translate: workerTranslator });
    let interpreted = 0;
    for (let k = 0; k < 20_000 && vm.tier.current !== 'compiled'; k++) {
      const r = vm.run();
      assert.equal(r.r0, expected.r0);
      interpreted++;
      await turn();
    }
    assert.equal(vm.tier.current, 'compiled', vm.tier.reason);
    // The run that found it hot did not translate inline: it went on interpreted.
    assert.ok(interpreted > 17, `${interpreted} runs before the compiled tier`);
    const r = vm.run();
    assert.equal(r.r0, expected.r0);
    assert.equal(r.insns, expected.insns);
  });

  it('a translation that fails leaves the VM on the interpreter, with the reason', async () => {
    const vm = new Vm({ text: assemble(bigProgram(4)), tier: 'auto', translate: () => Promise.reject(new Error('no worker here')) });
    for (let k = 0; k < 40; k++) {
      vm.run();
      await turn();
    }
    assert.equal(vm.tier.current, 'interp');
    assert.match(vm.tier.reason ?? '', /no worker here/);
  });
});
