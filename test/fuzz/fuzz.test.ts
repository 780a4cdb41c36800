/**
 * The fuzzer inside `npm test`: every target for a short time (20 s in all by default;
 * FEMTO_FUZZ_SECONDS changes it, FEMTO_FUZZ_SEED the seed), no finding allowed but the known
 * issues pinned by regressions.test.ts. CI also runs `npm run fuzz -- --seconds 60` on its own.
 * The first block checks the checks: each property must catch a planted violation.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Vm, type HelperCall } from '../../vm/vm';
import { assemble } from '../../vm/assembler';
import { Finding, runFuzz, type FuzzReport } from './engine';
import { TARGETS } from './targets';
import { KNOWN_ISSUES } from './known';
import { compareObs, execPlans, type Plan } from './targets-vm';
import { checkRunResult } from './targets-formats';
import { makeSentinel, materialise, oracle } from './targets-sandbox';
import { CLANG, itNeeds } from '../util/needs';
import { checkWallTime, measureRun, type WallInput } from './targets-walltime';
import type { Board } from '../../lib/board/board';

const SECONDS = Number(process.env.FEMTO_FUZZ_SECONDS ?? 20);
const SEED = Number(process.env.FEMTO_FUZZ_SEED ?? 0x5eed);

function expectFinding(fn: () => unknown, kind: string): void {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof Finding, `expected a Finding, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    return;
  }
  assert.fail(`no ${kind} finding`);
}

/** A Vm whose helper 1 scribbles on the backing buffer at `offsetOf(vm)` (a planted host bug). */
function scribbler(offsetOf: (vm: Vm) => number): Vm {
  const holder: { vm?: Vm } = {};
  const vm = new Vm({
    text: assemble('call 1\nexit'), tier: 'interp',
    helpers: new Map([[1, (_c: HelperCall) => { const m = holder.vm!.memory; m.u8[offsetOf(holder.vm!)] ^= 0xff; return 0; }]]),
  });
  holder.vm = vm;
  vm.mapRegion('canary', Uint8Array.of(1, 2, 3), false);
  vm.mapRegion('scratch', 8, true);
  return vm;
}

const PLAN: Plan[] = [{ ctx: { bytes: new Uint8Array(16), writable: false }, budget: 100, resumes: [] }];

describe('fuzzing', function () {
  describe('the properties catch planted violations', () => {
    it('a write into the read-only canary region', () => {
      expectFinding(() => execPlans(scribbler((vm) => vm.memory.region('canary')!.offset + 1), PLAN, 'planted', true), 'write-outside');
    });
    it('a write into the read-only context', () => {
      expectFinding(() => execPlans(scribbler((vm) => vm.memory.region('context')!.offset + 15), PLAN, 'planted', true), 'write-outside');
    });
    it('a write into an unmapped gap between regions', () => {
      // The canary is 3 bytes: bytes 3..7 of its 8-byte slot belong to no region.
      expectFinding(() => execPlans(scribbler((vm) => vm.memory.region('canary')!.offset + 5), PLAN, 'planted', true), 'write-outside');
    });
    it('a write into a writable region is fine', () => {
      execPlans(scribbler((vm) => vm.memory.region('scratch')!.offset + 2), PLAN, 'planted', true);
    });
    itNeeds(CLANG, 'the sandbox oracle flags a compile that read the sentinel, and IR holding asm', async () => {
      const s = makeSentinel();
      try {
        assert.match(await oracle(materialise('#include "@ABS@"\nint f(void *c) { return SECRET_VALUE; }\n', s), s) ?? '', /dependency list names .*secret\.h/);
        assert.match(await oracle('#define X # include "@RELCWD@"\nX\nint f(void *c) { return 0; }\n'.replace('@RELCWD@', s.paths['@RELCWD@']), s) ?? '', /dependency list names/);
        assert.match(await oracle('int f(void *c) { asm volatile("r0 = 1"); return 0; }\n', s) ?? '', /IR holds assembly/);
        assert.equal(await oracle('#include "femto.h"\nint f(void *c) { return 0; }\n', s), undefined);
      } finally {
        fs.rmSync(s.dir, { recursive: true, force: true });
      }
      });
    it('a run whose helper work grows with what came before (a quadratic consumer of its events)', function () {
      this.timeout(60_000);
      // 60,000 store writes, each an event the board emits after the turn; a listener that joins
      // every change seen so far for each new one makes the run quadratic. (Store events: the
      // console is capped per run, so a console consumer would see too few lines to show it.)
      const input: WallInput = { profile: 'native', formats: ['v=%d'], items: [{ k: 'store', global: false }], iterations: 60_000, budget: 1_000_000 };
      const quadratic = (board: Board): void => {
        const seen: string[] = [];
        board.on('store', (e: { key: number; value: number }) => { seen.push(`${e.key}=${e.value}`); if (seen.join(',').length < 0) throw new Error('unreachable'); });
      };
      expectFinding(() => checkWallTime(input, measureRun(input, quadratic)), 'walltime');
      // The same run without it is within its bounds.
      checkWallTime(input, measureRun(input));
    });
    it('a run over its budget, and tiers that disagree', () => {
      expectFinding(() => checkRunResult({ status: 'exit', r0: 0n, insns: 11, totalInsns: 11 }, 10, 'planted'), 'budget');
      expectFinding(() => compareObs([{ status: 'exit', r0: '0x1' }], [{ status: 'exit', r0: '0x2' }], 'planted'), 'tier-mismatch');
    });
  });

  describe(`every target for ${SECONDS} s (seed ${SEED})`, function () {
    this.timeout((SECONDS + 60) * 1000);
    let report: FuzzReport;
    const lines: string[] = [];
    before(async () => {
      report = await runFuzz({
        targets: [...TARGETS], seconds: SECONDS, seed: SEED, known: KNOWN_ISSUES,
        findingsDir: path.join(os.tmpdir(), 'femto-fuzz-findings-mocha'), log: (l) => lines.push(l),
      });
    });

    it('finds nothing new', () => {
      const text = report.findings.map((f) => `${f.target} case ${f.case} [${f.kind}] ${f.message}${f.file ? `\n  ${f.file}` : ''}`).join('\n');
      assert.equal(report.findings.length, 0, `fuzz findings (seed ${SEED}):\n${text}`);
    });

    it('ran every target (setup worked, generators produce cases)', () => {
      for (const t of report.targets) {
        assert.equal(t.setupError, undefined, `${t.name}: ${t.setupError}`);
        // The sandbox target starts clang up to five times a case: a few cases in its share.
        const least = t.name === 'sandbox' ? 2 : 10;
        assert.ok(t.cases >= least, `${t.name} ran only ${t.cases} cases`);
      }
    });
  });
});
