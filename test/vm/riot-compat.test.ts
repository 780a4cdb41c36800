/**
 * riot-2022 against RIOT's 2022 VM, the parts pinned here: how a helper's result reaches r0
 * (14.4: the low 32 bits zero-extended, whatever the helper returns, because RIOT's helpers are
 * `uint32_t` functions), on every tier, and through a suspension's resume value as well. The
 * rfc9669 profile keeps the 64-bit results a helper asks for.
 */
import * as assert from 'node:assert/strict';
import { Vm, type HelperTable, type Tier } from '../../vm/vm';
import { assemble } from '../../vm/assembler';
import type { Profile } from '../../vm/verifier';

const TIERS: Tier[] = ['interp', 'compiled'];

/** Call helper 1, then exit with r0 as the helper left it. */
const CALL_AND_EXIT = assemble('mov %r1, 7\ncall 1\nexit');

function r0After(ret: number | bigint, opts: { profile: Profile; tier: Tier; returns64?: boolean }): bigint {
  const helpers: HelperTable = new Map([[1, { fn: () => ret, returns64: opts.returns64 }]]);
  const vm = new Vm({ text: CALL_AND_EXIT, helpers, profile: opts.profile, tier: opts.tier });
  const res = vm.run();
  assert.equal(res.status, 'exit', res.fault?.message);
  return res.r0;
}

describe('riot-2022: helper results are 32 bits zero-extended, as RIOT', () => {
  for (const tier of TIERS) {
    describe(`[${tier}]`, () => {
      it('a negative number reads 0xffffffff in both profiles (RIOT\'s default width)', () => {
        for (const profile of ['riot-2022', 'rfc9669'] as Profile[]) assert.equal(r0After(-1, { profile, tier }), 0xffffffffn);
      });
      it('a bigint loses its high half in riot-2022 only', () => {
        assert.equal(r0After(0x1_2345_6789n, { profile: 'riot-2022', tier }), 0x2345_6789n);
        assert.equal(r0After(-2n, { profile: 'riot-2022', tier }), 0xffff_fffen);
        assert.equal(r0After(0x1_2345_6789n, { profile: 'rfc9669', tier }), 0x1_2345_6789n);
      });
      it('a helper declared 64-bit (returns64) is still cut to 32 bits in riot-2022', () => {
        assert.equal(r0After(-1, { profile: 'riot-2022', tier, returns64: true }), 0xffffffffn);
        assert.equal(r0After(2 ** 40 + 3, { profile: 'riot-2022', tier, returns64: true }), 3n);
        assert.equal(r0After(-1, { profile: 'rfc9669', tier, returns64: true }), 0xffff_ffff_ffff_ffffn);
      });
      it('a number beyond 32 bits keeps its low 32 bits', () => {
        assert.equal(r0After(2 ** 32 + 9, { profile: 'riot-2022', tier }), 9n);
      });
      it('the value a suspended run resumes with is the helper\'s result: 32 bits in riot-2022', () => {
        for (const [profile, expected] of [['riot-2022', 0x89abcdefn], ['rfc9669', 0x1_89ab_cdefn]] as [Profile, bigint][]) {
          const helpers: HelperTable = new Map([[1, (c) => c.suspend()]]);
          const vm = new Vm({ text: CALL_AND_EXIT, helpers, profile, tier });
          assert.equal(vm.run().status, 'suspended');
          const res = vm.resume(0x1_89ab_cdefn);
          assert.equal(res.status, 'exit');
          assert.equal(res.r0, expected, profile);
        }
      });
    });
  }
});
