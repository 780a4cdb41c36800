/**
 * lib/node-support without Node-RED: the compile sandbox's refusals (every way to name another
 * file), its sanitised diagnostics, the status texts of ARCHITECTURE.md § The Node-RED face, remote
 * boards as sensor and store nodes and femto/state see them (board kinds, last poll, last faults)
 * and message translation.
 */
import * as assert from 'node:assert/strict';
import { checkSource, compileSandboxed, SandboxCompileError, SandboxError, sanitizeDiagnostics } from '../../lib/node-support/sandbox';
import * as status from '../../lib/node-support/status';
import { payloadToBytes, r0Value, parseKey, parseValue } from '../../lib/node-support/message';
import { createBoard } from '../../lib/node-support/board-config';
import { boardRef, notEmulatedStatus } from '../../lib/node-support/board-ref';
import { remoteBoardState } from '../../lib/node-support/remote-board-state';
import { RemoteBoardLink } from '../../lib/node-support/remote-link';
import { BoardRegistry, lastFaultOf } from '../../lib/node-support/registry';
import { CLANG, itNeeds } from '../util/needs';


function refused(src: string, line: number, what: RegExp): void {
  assert.throws(() => checkSource(src), (e: unknown) => {
    assert.ok(e instanceof SandboxError, String(e));
    assert.equal(e.line, line, `${JSON.stringify(src)}: ${e.message}`);
    assert.match(e.message, what);
    return true;
  });
}

describe('compile sandbox', () => {
  it('accepts femto.h in both spellings, and the other shipped headers (RIOT\'s container headers)', () => {
    checkSource('#include "femto.h"\nint f(void *c) { return 0; }');
    checkSource('  #  include <femto.h>  // the header\nint f(void *c) { return 0; }');
    checkSource('#include "femto.h"\nconst char *s = "#include <stdio.h> in a string";\n');
    checkSource('#include "bpf/bpfapi/helpers.h"\n#include <stdint.h>\n#include "bpf/shared.h"\nint f(void *c) { return 0; }');
  });

  it('refuses every other include, naming the line', () => {
    refused('#include "femto.h"\n#include <stdio.h>\n', 2, /#include <stdio\.h> is not allowed.*only include "femto\.h" and the other headers shipped with it \(.*stdint\.h/);
    refused('int a;\n#include "/etc/passwd"\n', 2, /\/etc\/passwd/);
    refused('#include "../lib/include/femto.h"\n', 1, /not allowed/);
    refused('#define F "/etc/passwd"\n#include F\n', 2, /#include F is not allowed/);
    refused('#include_next <femto.h>\n', 1, /include_next/);
    refused('#import "x.h"\n', 1, /#import/);
    refused('#embed "/etc/passwd"\n', 1, /#embed/);
  });

  it('sees through splices, comments, digraphs and trigraphs', () => {
    refused('int a;\n#inc\\\nlude "/etc/hostname"\n', 2, /not allowed/);
    refused('int a;\n# /* hidden */ include "/etc/hostname"\n', 2, /not allowed/);
    refused('%:include "/etc/hostname"\n', 1, /not allowed/);
    refused('??=include "/etc/hostname"\n', 1, /not allowed/);
    refused('/* a\n b */ #include "/etc/x"\n', 2, /not allowed/);
  });

  it('refuses #line, __has_include, _Pragma, file pragmas and inline assembly', () => {
    refused('#line 1 "/etc/passwd"\n', 1, /#line/);
    refused('# 1 "/etc/passwd"\n', 1, /#line/);
    refused('int a;\n#if __has_include("/etc/shadow")\n#endif\n', 2, /__has_include/);
    refused('_Pragma("GCC dependency \\"/etc/passwd\\"")\n', 1, /_Pragma/);
    refused('#pragma GCC dependency "/etc/passwd"\n', 1, /pragma/);
    refused('int f(void *c) {\n  asm(".incbin \\"/etc/passwd\\"");\n  return 0;\n}\n', 2, /inline assembly/);
    refused('int f(void *c) { __asm__ volatile(""); return 0; }\n', 1, /inline assembly/);
  });

  it('lets through what is harmless under the guard: token pasting, __FILE__ (it names container.c only)', () => {
    checkSource('#define CAT(a, b) a##b\nint CAT(f, 1)(void *c) { return 0; }\n');
    checkSource('const char *p = __FILE__;\n');
  });

  it('keeps only diagnostics about container.c and the shipped headers, with no server path', () => {
    const d = sanitizeDiagnostics([
      { file: 'container.c', line: 3, column: 1, severity: 'error', message: "unknown type in /srv/secret/x.h" },
      { file: '/etc/passwd', line: 1, column: 1, severity: 'error', message: 'root:x:0:0' },
      { file: '/pkg/lib/include/femto.h', line: 10, column: 2, severity: 'note', message: 'declared here' },
      { file: '/pkg/lib/include/bpf/../femto.h', line: 11, column: 2, severity: 'note', message: 'and here' },
      { file: '/pkg/lib/include/bpf/shared.h', line: 1, column: 1, severity: 'warning', message: 'w' },
      { file: '/pkg/lib/include/../../secret.h', line: 1, column: 1, severity: 'error', message: 'secret' },
      { file: 'femto.h', line: 1, column: 1, severity: 'error', message: 'a relative name: not the shipped header' },
    ], '/pkg/lib/include');
    assert.deepEqual(d.map((x) => [x.file, x.message]), [
      ['container.c', 'unknown type in x.h'], ['femto.h', 'declared here'], ['femto.h', 'and here'], ['bpf/shared.h', 'w'],
    ]);
  });

  itNeeds(CLANG, 'compiles with clang and reports errors by line, never echoing outside files', async () => {
    const ok = await compileSandboxed('#include "femto.h"\nint f(void *c) { return 3; }\n');
    assert.ok(ok.image.length > 28);
    await assert.rejects(compileSandboxed('#include "femto.h"\n\nint f(void *c) { return x; }\n'), (e: unknown) => {
      assert.ok(e instanceof SandboxCompileError);
      assert.equal(e.line, 3);
      assert.match(e.message, /container\.c:3:\d+: error/);
      assert.doesNotMatch(e.message, /\/tmp|\/work|femto-cc-/);
      return true;
    });
  });

  itNeeds(CLANG, 'stops a compile that takes too long', async () => {
    // Exponential macro expansion keeps clang busy far beyond the limit.
    const src = '#include "femto.h"\n#define A(x) x x x x x x x x\n#define B(x) A(A(A(A(x))))\n#define C(x) B(B(B(x)))\nint f(void *c) { int v = 0; C(v++;) return v; }\n';
    const t0 = Date.now();
    await assert.rejects(compileSandboxed(src, { timeoutMs: 300 }), (e: unknown) => {
      assert.ok(e instanceof SandboxCompileError, String(e));
      assert.match(e.message, /did not finish within 300 ms|compilation failed/);
      return true;
    });
    assert.ok(Date.now() - t0 < 5000);
  });
});

describe('status texts (ARCHITECTURE.md § The Node-RED face: short and plain)', () => {
  it('has the exact vocabulary', () => {
    assert.deepEqual(status.noImage(), { fill: 'grey', shape: 'ring', text: 'no image' });
    assert.deepEqual(status.verifying(), { fill: 'yellow', shape: 'ring', text: 'verifying' });
    assert.deepEqual(status.rejected('jump-target', { pc: 3 }), { fill: 'red', shape: 'dot', text: 'rejected: jump-target at pc 3' });
    assert.deepEqual(status.rejected('compile error', { line: 5 }), { fill: 'red', shape: 'dot', text: 'rejected: compile error line 5' });
    assert.deepEqual(status.rejected('jump-target', { pc: 3, line: 7 }), { fill: 'red', shape: 'dot', text: 'rejected: jump-target line 7' });
    assert.deepEqual(status.attached('sensor', 12), { fill: 'green', shape: 'dot', text: 'sensor · 12 instr' });
    assert.deepEqual(status.ran({ status: 'exit', r0: 42n, insns: 61, estimatedUs: 37 }), { fill: 'green', shape: 'dot', text: '42 · 61 instr · ≈37 µs' });
    assert.deepEqual(status.ran({ status: 'exit', r0: (1n << 64n) - 1n, insns: 1500, estimatedUs: 2.1 }, 'uint64'),
      { fill: 'green', shape: 'dot', text: '18446744073709551615 · 1,500 instr · ≈2.10 µs' });
    assert.deepEqual(status.ran({ status: 'suspended', r0: 0n, insns: 4, estimatedUs: 2.1 }).text, 'suspended · 4 instr · ≈2.10 µs');
    assert.deepEqual(status.faulted({ code: -2, pc: 5, message: 'x', access: 'write', address: '0x40000010' }),
      { fill: 'red', shape: 'ring', text: 'fault: write out of bounds at pc 5' });
    assert.deepEqual(status.faulted({ code: -2, pc: 5, message: 'x', access: 'write', address: '0x40000010' }, { source: { line: 23 } }),
      { fill: 'red', shape: 'ring', text: 'fault: write out of bounds (line 23)' });
    assert.deepEqual(status.quarantined(), { fill: 'red', shape: 'ring', text: 'quarantined' });
  });

  it('an out-of-budget fault says which budget ran out', () => {
    const branches = { code: -8, pc: 9, message: 'taken-branch budget of 200 exhausted', budget: 'taken branches', limit: 200 };
    assert.equal(status.faulted(branches, { profile: 'riot-2022', source: { line: 12 } }).text, 'fault: out of budget: 200 taken branches (riot-2022) (line 12)');
    const insns = { code: -8, pc: 9, message: 'instruction budget of 1000000 exhausted', budget: 'instructions', limit: 1_000_000 };
    assert.equal(status.faulted(insns).text, 'fault: out of budget: 1,000,000 instructions at pc 9');
    // A fault report without the structured fields (a remote device's): read from its message.
    assert.equal(status.faultWhat({ code: -8, pc: 0, message: 'taken-branch budget of 200 exhausted' }, 'riot-2022'), 'out of budget: 200 taken branches (riot-2022)');
    assert.equal(status.faultWhat({ code: -9, pc: 0, message: 'division by zero' }), 'division by zero');
  });
});

describe('remote boards for sensor and store nodes, and in femto/state', () => {
  const link = (): RemoteBoardLink => new RemoteBoardLink({ url: 'coap://127.0.0.1:9', slot: 0, timeoutMs: 500, pollMs: 0 }, 'remote-rb');

  it('tells an emulated, a remote and a missing board apart, naming a remote one with its address', () => {
    const l = link();
    const board = createBoard({ profile: 'native' });
    assert.deepEqual(boardRef({ boardName: 'b1', board }), { kind: 'emulated', board });
    assert.deepEqual(boardRef({ boardName: 'remote-rb', remote: l }), { kind: 'remote', name: 'remote-rb', url: 'coap://127.0.0.1:9', label: 'remote-rb (coap://127.0.0.1:9)' });
    // A board named after its address (the default name) is not named twice.
    assert.equal((boardRef({ boardName: '127.0.0.1:9', remote: l }) as { label: string }).label, 'coap://127.0.0.1:9');
    assert.deepEqual(boardRef(null), { kind: 'none', failure: undefined });
    assert.deepEqual(boardRef({ boardName: 'bad', failure: 'the address must be coap://host:port' }), { kind: 'none', failure: 'the address must be coap://host:port' });
    assert.deepEqual(notEmulatedStatus(), { fill: 'grey', shape: 'ring', text: 'remote board: not emulated' });
    l.close();
  });

  it('gives each remote container its last fault: its own runs first, else the device\'s last run', () => {
    const l = link();
    const snap = l.snapshot;
    Object.assign(snap, { reachable: true, checkedAt: '2024-05-01T10:00:00.000Z', seq: 3 });
    snap.slots = [{
      slot: 0, location: '.ram.0', installed: true, seq: 3, size: 64, state: 'idle', runs: 2, faults: { consecutive: 1, total: 1 },
      lastRun: { status: 'fault', fault: { code: -2, pc: 1, message: 'write 0x10 (4 B) outside every region', insn: 'stw [%r2], 42' } },
    }];
    l.containers.set('c', { nodeId: 'c', name: 'c', slot: 0 });
    let s = remoteBoardState('rb', 'remote-rb', l);
    assert.equal(s.remote, true);
    assert.equal(s.address, 'coap://127.0.0.1:9');
    assert.deepEqual([s.device!.reachable, s.device!.checkedAt, s.device!.error], [true, '2024-05-01T10:00:00.000Z', null]);
    assert.deepEqual(s.containers[0].lastFault, { code: -2, reason: 'write 0x10 (4 B) outside every region', pc: 1, instruction: 'stw [%r2], 42', at: '2024-05-01T10:00:00.000Z' });
    // The device reports only its very last run: after a good one, only what the node saw itself remains.
    snap.slots[0].lastRun = { status: 'exit', fault: null };
    assert.equal(remoteBoardState('rb', 'remote-rb', l).containers[0].lastFault, null);
    const seen = lastFaultOf({ code: -8, pc: 7, message: 'out of budget' }, new Date('2024-05-01T11:00:00Z'));
    l.containers.get('c')!.lastFault = seen;
    s = remoteBoardState('rb', 'remote-rb', l);
    assert.deepEqual(s.containers[0].lastFault, { code: -8, reason: 'out of budget', pc: 7, instruction: null, at: '2024-05-01T11:00:00.000Z' });
    l.close();
  });

  it('records the last fault of containers on emulated boards, kept after good runs', () => {
    const reg = new BoardRegistry();
    const board = createBoard({ profile: 'native' });
    reg.add('b', 'board-b', board);
    reg.setContainer('b', 'w', { nodeId: 'w', name: 'w', hook: 'flow', tenant: 'default' });
    // Payload byte 0 = 0: write to 0x10 (fault −2 at pc 6); otherwise return 1.
    board.install({ id: 'w', image: 'ldxdw %r2, [%r1]\nldxb %r3, [%r2]\njeq %r3, 0, +2\nmov %r0, 1\nexit\nmov %r4, 0x10\nstw [%r4], 42\nmov %r0, 0\nexit', hook: 'flow' });
    const state = () => reg.state().boards[0].containers[0];
    assert.equal(state().lastFault, null);
    board.runFlow('w', new Uint8Array(8));
    const f = state().lastFault!;
    assert.deepEqual([f.code, f.pc, f.instruction], [-2, 6, 'stw [%r4], 42']);
    assert.match(f.reason, /^write 0x10\b/);
    assert.match(f.at, /^\d{4}-\d\d-\d\dT/);
    board.runFlow('w', new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]));
    assert.equal(state().consecutiveFaults, 0);
    assert.deepEqual(state().lastFault, f);
    reg.removeContainer('b', 'w');
    assert.equal(reg.get('b')!.lastFault.size, 0);
  });
});

describe('message translation', () => {
  it('turns payloads into context bytes', () => {
    assert.deepEqual([...payloadToBytes(41)], [41, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual([...payloadToBytes(-1)], [255, 255, 255, 255, 255, 255, 255, 255]);
    assert.deepEqual([...payloadToBytes('hi')], [104, 105]);
    assert.deepEqual([...payloadToBytes(Buffer.from([1, 2]))], [1, 2]);
    assert.deepEqual([...payloadToBytes([7, -1])], [7, 0, 0, 0, 255, 255, 255, 255]);
    assert.deepEqual([...payloadToBytes(true)], [1, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual([...payloadToBytes(null)], []);
    assert.deepEqual(Buffer.from(payloadToBytes({ a: 1 })).toString(), '{"a":1}');
  });

  it('turns r0 into a number, or a string above 2^53', () => {
    assert.equal(r0Value(42n), 42);
    assert.equal(r0Value(0xffffffffffffffffn), -1);
    assert.equal(r0Value(0xffffffffffffffffn, 'uint64'), '18446744073709551615');
    assert.equal(r0Value(0xffffffffn, 'int32'), -1);
    assert.equal(r0Value(2n ** 53n), '9007199254740992');
    assert.equal(r0Value(2n ** 53n - 1n), 9007199254740991);
  });

  it('parses store keys and values', () => {
    assert.equal(parseKey('0x100'), 256);
    assert.equal(parseKey(3), 3);
    assert.throws(() => parseKey('x'), RangeError);
    assert.equal(parseValue(-1), 0xffffffff);
    assert.equal(parseValue('12'), 12);
    assert.equal(parseValue(true), 1);
  });

  it('builds boards from config: profile, slots, simulated devices', () => {
    const b = createBoard({ profile: 'esp32-wroom-32', slots: 4, storeCapacity: 3, devices: [{ name: 'room', kind: 'temperature', source: 'constant', value: 20.5 }] });
    assert.equal(b.slots.count, 4);
    assert.equal(b.storeCapacity, 3);
    assert.deepEqual(b.readDevice('room').values, [20.5]);
    assert.throws(() => createBoard({ profile: 'pdp11' }), /unknown board profile/);
    assert.throws(() => createBoard({ devices: [{ name: 'x', kind: 'laser' }] }), /unknown kind/);
  });
});
