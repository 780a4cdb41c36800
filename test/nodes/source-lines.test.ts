/**
 * Source lines in the container node and the editor's Verify: a C
 * fault names its C line in the status and in msg.femto.fault.source, the riot-2022 branch
 * budget names itself when it runs out, and POST femto/verify returns `sourceLines` (one entry
 * per slot) and, for C, a listing with the source interleaved as objdump -S does.
 */
import * as assert from 'node:assert/strict';
import { ALL_NODES, asmContainer, boardNode, flow, getNode, helper, lastStatus, nextMessage, until } from './util';
import { CLANG, itNeeds } from '../util/needs';

/** Line 5 writes outside every region the container was granted. */
const OOB_C = `#include "femto.h"
int oob(void *ctx)
{
    volatile uint32_t *p = (volatile uint32_t *)0x50000074;
    *p = 1;
    return 0;
}
`;
/** Sums 300 numbers: 299 taken branches, more than riot-2022's 200. */
const SUM_300 = 'mov %r0, 0\nmov %r1, 300\nloop:\nadd %r0, %r1\nsub %r1, 1\njne %r1, 0, loop\nexit';

describe('source lines in the container node and Verify', function () {
  this.timeout(20000);
  afterEach(async () => {
    await helper.unload();
  });

  const catching = (id: string) => [
    { id: 'catch', type: 'catch', scope: [id], uncaught: false, wires: [['caught']] }, { id: 'caught', type: 'helper' },
  ];

  itNeeds(CLANG, 'a C fault: status "fault: write out of bounds (line 5)", msg.femto.fault.source = { file: "oob.c", line: 5 }', async () => {
    await helper.load(ALL_NODES, flow(boardNode(), asmContainer('oob', OOB_C, { language: 'c' }), { id: 'out', type: 'helper' }, ...catching('oob')));
    const c = getNode('oob');
    await until(() => lastStatus(c)?.fill === 'green', 15000, 'compiled');
    const p = nextMessage(getNode('caught'), 5000);
    c.receive({ payload: 1 });
    const m = await p;
    assert.equal(m.femto.code, -2);
    assert.deepEqual(m.femto.fault.source, { file: 'oob.c', line: 5 });
    assert.match(m.error.message, /\(oob\.c:5\)$/);
    assert.deepEqual(lastStatus(c), { fill: 'red', shape: 'ring', text: 'fault: write out of bounds (line 5)' });
  });

  it('riot-2022: the taken-branch budget says so; rfc9669 runs the same loop to the end', async () => {
    await helper.load(ALL_NODES, flow(
      boardNode(), asmContainer('sum', SUM_300), asmContainer('rfc', SUM_300, { profile: 'rfc9669' }), { id: 'out', type: 'helper' }, ...catching('sum'),
    ));
    const p = nextMessage(getNode('caught'));
    getNode('sum').receive({ payload: 1 });
    const m = await p;
    assert.equal(m.femto.code, -8);
    assert.equal(m.femto.fault.budget, 'taken branches');
    assert.equal(m.femto.fault.limit, 200);
    assert.deepEqual(m.femto.fault.source, { file: 'sum.s', line: 6 });
    assert.equal(lastStatus(getNode('sum'))?.text, 'fault: out of budget: 200 taken branches (riot-2022) (line 6)');
    const q = nextMessage(getNode('out'));
    getNode('rfc').receive({ payload: 1 });
    assert.equal((await q).payload, 45150);
  });

  const verify = (body: Record<string, unknown>) => helper.request().post('/femto/verify').send(body).expect(200).then((r: { body: any }) => r.body);

  it('Verify of assembly: sourceLines per slot, the listing as it was', async () => {
    await helper.load(ALL_NODES, flow(boardNode()));
    const r = await verify({ source: 'mov %r0, 1\n\nlddw %r1, 0x100000000\nexit', language: 'asm', name: 'one' });
    assert.equal(r.ok, true);
    assert.deepEqual(r.sourceLines, [{ file: 'one.s', line: 1 }, { file: 'one.s', line: 3 }, { file: 'one.s', line: 3 }, { file: 'one.s', line: 4 }]);
    assert.deepEqual(r.listing.filter((l: string) => l.startsWith(';')), []);
  });

  it('Verify warns when a loop can outrun the riot-2022 branch budget, naming its line and rfc9669; not under rfc9669', async () => {
    await helper.load(ALL_NODES, flow(boardNode()));
    const riot = await verify({ source: SUM_300, language: 'asm', board: 'nrf52840dk' });
    assert.equal(riot.ok, true);
    assert.equal(riot.profile, 'riot-2022');
    const w = riot.warnings.filter((x: string) => /taken branches/.test(x));
    assert.equal(w.length, 1, riot.warnings.join('\n'));
    assert.match(w[0], /allows 200 taken branches per run and the loop at line 6 \(pc 4\)/);
    assert.match(w[0], /rfc9669/);
    const rfc = await verify({ source: SUM_300, language: 'asm', profile: 'rfc9669' });
    assert.deepEqual(rfc.warnings.filter((x: string) => /taken branches/.test(x)), []);
    const small = await verify({ source: SUM_300.replace('300', '150'), language: 'asm', board: 'nrf52840dk' });
    assert.deepEqual(small.warnings.filter((x: string) => /taken branches/.test(x)), []);
  });

  itNeeds(CLANG, 'Verify of C: sourceLines name the C file, the listing interleaves the C lines (objdump -S)', async () => {
    await helper.load(ALL_NODES, flow(boardNode()));
    const r = await verify({ source: OOB_C, language: 'c', name: 'oob', hook: 'flow' });
    assert.equal(r.ok, true, r.message);
    assert.equal(r.sourceLines.length, r.insns);
    assert.ok(r.sourceLines.every((s: { file: string; line: number } | null) => s === null || (s.file === 'oob.c' && s.line >= 1 && s.line <= 7)));
    const store = r.listing.findIndex((l: string) => /^\s*\d+: stx?w/.test(l));
    assert.ok(store > 0, r.listing.join('\n'));
    const pc = Number(/^\s*(\d+):/.exec(r.listing[store])![1]);
    assert.deepEqual(r.sourceLines[pc], { file: 'oob.c', line: 5 });
    // The C line comes before the instructions it became, with its text.
    const before = r.listing.slice(0, store).reverse().find((l: string) => l.startsWith(';'));
    assert.equal(before, '; oob.c:5  *p = 1;');
    // Every instruction is still listed once, in order, from pc 0.
    const pcs = pcsOf(r.listing);
    assert.equal(pcs[0], 0);
    assert.ok(pcs.every((x, i) => i === 0 || x > pcs[i - 1]));
  });
});

function pcsOf(listing: string[]): number[] {
  return listing.filter((l) => !l.startsWith(';')).map((l) => Number(/^\s*(\d+):/.exec(l)![1]));
}
