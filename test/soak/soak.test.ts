/**
 * Short versions of the hostile-container soak and the fleet load, in `npm test`:
 * a real Node-RED process each (test/soak/soak.ts), with generous bounds on timing because the
 * machine (and CI) is a shared 2-core box; correctness (every healthy result, every fault once
 * with its code) is exact. The full runs: `npm run soak -- --minutes 10`, `npm run load -- …`.
 *
 * Also a regression test for what the soak found in Node-RED's log.
 */
import * as assert from 'node:assert/strict';
import { runSoak, soakSummary } from './soak';
import { loadSummary, runLoad } from './load';
import { ALL_NODES, INCREMENT_ASM, asmContainer, boardNode, flow, helper } from '../nodes/util';

describe('soak: hostile containers in a real Node-RED (20 s, 36 containers on 3 boards)', function () {
  this.timeout(240000);

  it('stays responsive, keeps the heap stable, every healthy result is correct and every fault is reported once with its code', async () => {
    const r = await runSoak({ boards: 3, perBoard: 12, seconds: 20, warmupS: 3, hz: 10, p99LimitMs: 150, heapTolerance: 1.0, adminTimeoutMs: 10000, log: () => undefined });
    const failed = r.requirements.filter((q) => !q.ok).map((q) => `${q.name}: ${q.detail}`);
    assert.deepEqual(failed, [], soakSummary(r));
    // Every hostile kind really ran and faulted as planned.
    for (const k of ['loop', 'oob', 'wild-helper', 'printf-hostile', 'quarantine', 'sensor-hostile', 'hot-swap', 'printf-flood']) {
      assert.ok((r.results.byKind[k]?.faults ?? 0) > 0, `${k} produced no fault`);
    }
    for (const key of ['-2', '-8', 'quarantined', 'rejected:jump-target', 'rejected:slot']) {
      assert.ok((r.results.faults.reported[key] ?? 0) > 0, `no "${key}" reported`);
    }
    assert.ok(r.results.healthy.ok > 1000, `only ${r.results.healthy.ok} healthy results`);
    assert.ok(r.spin.containers > 0 && r.sandbox.attempts > 0 && r.sandbox.mustRefuse > 0, 'spin containers and sandbox attacks were part of the run');
  });
});

describe('load: a fleet in one Node-RED (100 boards × 3 containers at 10 Hz, 10 s)', function () {
  this.timeout(240000);

  it('achieves the requested rate with the loop responsive; reports CPU and heap per board and container', async () => {
    const r = await runLoad({ boards: 100, containers: 3, hz: 10, seconds: 10, warmupS: 2, p99LimitMs: 150, minRatio: 0.8, log: () => undefined });
    const s = r.steps[0];
    assert.ok(s, 'no measurement');
    assert.ok(r.ok, loadSummary(r));
    assert.equal(s.achieved.faults, 0, 'the load containers never fault');
    assert.ok(s.cpuPercentOfOneCore > 0 && s.cpuPercentOfOneCore < 200, `CPU ${s.cpuPercentOfOneCore}%`);
    assert.ok(r.heap && r.heap.perContainerKB > 0 && r.heap.perContainerKB < 500, `heap per container ${r.heap?.perContainerKB} KB`);
    assert.ok(r.heap && r.heap.perBoardKB > 0 && r.heap.perBoardKB < 1000, `heap per board ${r.heap?.perBoardKB} KB`);
  });
});

describe('regression (found by the soak): ten containers on one board', function () {
  afterEach(async () => {
    await helper.unload();
  });

  // The soak's boards carry 10 container nodes each. Every femto-container node adds a 'result' and
  // a 'quarantine' listener to its Board, and the registry (lib/node-support/registry.ts) adds one
  // of each per board, so the 10th container is the 11th listener: Node prints
  // "MaxListenersExceededWarning: Possible EventEmitter memory leak detected. 11 result listeners
  // added to [Board]" for every such board, although nothing leaks (a board takes up to 64 slots).
  it('does not trigger MaxListenersExceededWarning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      if (w.name === 'MaxListenersExceededWarning') warnings.push(w.message);
    };
    process.on('warning', onWarning);
    try {
      const containers = Array.from({ length: 10 }, (_, i) => asmContainer(`c${i}`, INCREMENT_ASM, { wires: [[]] }));
      await helper.load(ALL_NODES, flow(boardNode('b1', { slots: 10 }), ...containers));
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings, []);
  });
});
