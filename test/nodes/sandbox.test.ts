/**
 * lib/node-support without Node-RED: the compile sandbox's refusals (every way to name another
 * file), its sanitised diagnostics, the status texts of DESIGN §12 and message translation.
 */
import * as assert from 'node:assert/strict';
import { checkSource, compileSandboxed, SandboxCompileError, SandboxError, sanitizeDiagnostics } from '../../lib/node-support/sandbox';
import * as status from '../../lib/node-support/status';
import { payloadToBytes, r0Value, parseKey, parseValue } from '../../lib/node-support/message';
import { createBoard } from '../../lib/node-support/board-config';
import { hasClang } from '../util/clang';


function refused(src: string, line: number, what: RegExp): void {
  assert.throws(() => checkSource(src), (e: unknown) => {
    assert.ok(e instanceof SandboxError, String(e));
    assert.equal(e.line, line, `${JSON.stringify(src)}: ${e.message}`);
    assert.match(e.message, what);
    return true;
  });
}

describe('compile sandbox', () => {
  it('accepts femto.h in both spellings', () => {
    checkSource('#include "femto.h"\nint f(void *c) { return 0; }');
    checkSource('  #  include <femto.h>  // the header\nint f(void *c) { return 0; }');
    checkSource('#include "femto.h"\nconst char *s = "#include <stdio.h> in a string";\n');
  });

  it('refuses every other include, naming the line', () => {
    refused('#include "femto.h"\n#include <stdio.h>\n', 2, /#include <stdio\.h> is not allowed.*only include "femto\.h"/);
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
    refused('const char *p = __FILE__;\n', 1, /__FILE__/);
  });

  it('keeps only diagnostics about container.c and femto.h, with no server path', () => {
    const d = sanitizeDiagnostics([
      { file: 'container.c', line: 3, column: 1, severity: 'error', message: "unknown type in /srv/secret/x.h" },
      { file: '/etc/passwd', line: 1, column: 1, severity: 'error', message: 'root:x:0:0' },
      { file: '/pkg/lib/include/femto.h', line: 10, column: 2, severity: 'note', message: 'declared here' },
    ], '/pkg/lib/include');
    assert.deepEqual(d.map((x) => [x.file, x.message]), [['container.c', 'unknown type in x.h'], ['femto.h', 'declared here']]);
  });

  (hasClang() ? it : it.skip)('compiles with clang and reports errors by line, never echoing outside files', async () => {
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

  (hasClang() ? it : it.skip)('stops a compile that takes too long', async () => {
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

describe('status texts (DESIGN §12)', () => {
  it('has the exact vocabulary', () => {
    assert.deepEqual(status.noImage(), { fill: 'grey', shape: 'ring', text: 'no image' });
    assert.deepEqual(status.verifying(), { fill: 'yellow', shape: 'ring', text: 'verifying' });
    assert.deepEqual(status.rejected('jump-target', { pc: 3 }), { fill: 'red', shape: 'dot', text: 'rejected: jump-target at pc 3' });
    assert.deepEqual(status.attached('sensor', 12), { fill: 'green', shape: 'dot', text: 'sensor · 12 insns' });
    assert.deepEqual(status.ran({ status: 'exit', r0: 42n, insns: 4, estimatedUs: 2.1 }, 'nrf52840dk'),
      { fill: 'green', shape: 'dot', text: 'r0=42 · 4 insns · ≈2.10 µs on nrf52840dk' });
    assert.deepEqual(status.faulted({ code: -2, pc: 5, message: 'x', access: 'write', address: '0x40000010' }, 3),
      { fill: 'red', shape: 'ring', text: 'fault \u22122: write 0x40000010 at pc 5 (3 faults)' });
    assert.deepEqual(status.quarantined(), { fill: 'red', shape: 'ring', text: 'quarantined' });
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
