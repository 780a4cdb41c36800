/**
 * The compile guard on clang's own view, one test per class of hole, each with
 * the early text scan switched off so that the guard alone is what holds: where a re-reading of
 * the text and clang's reading differ (#warning, splices, skipped blocks, trigraphs), includes of
 * absolute and `..` paths and through a symlinked header folder, directives a macro prints into the
 * preprocessed text, line markers, existence probes, #embed, inline and module-level assembly and
 * `.incbin`, section names, and messages: none may carry a byte of another file.
 *
 * The secret is a file made for the test: valid C (so an include of it compiles), with a marker in
 * a string, an identifier, a #warning and a comment. A calibration shows that clang without the
 * guard does read it for the subtle cases, so a pass means the guard stopped it.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compileC, defaultIncludeDir } from '../../lib/compiler';
import { loadElf } from '../../vm/elf';
import { buildImage } from '../../vm/image';
import { compileGuarded, findAssembly, macroDirective, parseDependencyList } from '../../lib/node-support/compile-guard';
import { compileSandboxed, SandboxCompileError, SandboxError } from '../../lib/node-support/sandbox';
import { ROOT } from '../util/paths';
import { CLANG, itNeeds } from '../util/needs';

/** A test that needs clang: skipped with one line outside CI, a failure under CI=true. */
const itc = (title: string, fn: (this: Mocha.Context) => unknown): Mocha.Test => itNeeds(CLANG, title, fn);
const MARKER = 'GUARDSECRET-7f3a91';
const MARKER_NUM = 0x7f3a91c4;

interface Outcome {
  refused?: SandboxError;
  failed?: Error;
  image?: Uint8Array;
}

/** The guard alone: the early scan is off. */
async function guarded(src: string): Promise<Outcome> {
  try {
    return { image: (await compileSandboxed(src, { textScan: false })).image };
  } catch (e) {
    if (e instanceof SandboxError) return { refused: e };
    return { failed: e as Error };
  }
}

function shown(o: Outcome): string {
  return [o.refused?.message, o.failed?.message, JSON.stringify((o.failed as SandboxCompileError | undefined)?.diagnostics ?? [])].join('\n');
}

function carriesSecret(bytes: Uint8Array | string): boolean {
  const b = typeof bytes === 'string' ? Buffer.from(bytes) : Buffer.from(bytes);
  const num = Buffer.alloc(4);
  num.writeUInt32LE(MARKER_NUM);
  return b.includes(Buffer.from(MARKER)) || b.includes(num);
}

function assertSafe(name: string, o: Outcome): void {
  assert.ok(!carriesSecret(shown(o)), `${name}: the secret is in a message: ${shown(o)}`);
  if (o.image) assert.ok(!carriesSecret(o.image), `${name}: the secret is in the image`);
  assert.doesNotMatch(shown(o), /femto-cc-|lib\/include\//, `${name}: a server path in a message`);
}

describe('hardening: the compile guard holds on clang\'s own view (early scan off)', function () {
  this.timeout(120_000);
  let dir = '';
  let secret = '';
  const tail = '\nint f(void *c) { return 0; }\n';
  const useSecret = '\nint f(void *c) { return SECRET_VALUE + secret_text[(long)c & 7]; }\n';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-guard-secret-'));
    secret = path.join(dir, 'secret.h');
    fs.writeFileSync(secret, `/* ${MARKER} */\n#warning ${MARKER} warned\n#define SECRET_VALUE ${MARKER_NUM}\nstatic const char secret_text[] = "${MARKER}";\n`);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function refused(name: string, src: string, reason?: RegExp): Promise<SandboxError> {
    const o = await guarded(src);
    assertSafe(name, o);
    assert.ok(o.refused, `${name}: not refused: ${o.image ? 'compiled' : o.failed?.message}`);
    if (reason) assert.match(o.refused.message, reason, name);
    return o.refused;
  }

  itc('calibration: clang by itself reads the secret in the subtle cases below', async () => {
    for (const src of [
      `#warning /*\n__asm__(".section .rodata\\n.incbin \\"${secret}\\"\\n");\n// */${tail}`,
      `/* x *\\\n/\n#include "${secret}"\n/* */${useSecret}`,
      `#if 0\n"\n#endif\n#include "${secret}"${useSecret}`,
    ]) {
      const { object } = await compileC({ source: src, fileName: 'container.c' });
      assert.ok(carriesSecret(object), `clang read it: ${src.split('\n')[0]}`);
    }
  });

  itc('the issue\'s #warning example: the asm clang sees is refused in its IR, nothing of the file shows', async () => {
    const body = `#warning /*\n__asm__(".section .text.leak,\\"ax\\"\\n.incbin \\"${secret}\\"\\n");\n// */${tail}`;
    await refused('#warning /*', body, /module-level assembly .* not allowed/);
    await refused('#warning /* with /etc/passwd', body.replace(secret, '/etc/passwd'), /module-level assembly/);
    await refused('#warning with an apostrophe', `#warning '\n#include "${secret}"\n// '${useSecret}`, /#include of .*secret\.h.* is not allowed/);
  });

  itc('splices: a comment end split by a splice, blanks after the backslash, a trigraph that is no splice', async () => {
    await refused('split comment end', `/* x *\\\n/\n#include "${secret}"\n/* */${useSecret}`, /is not allowed/);
    await refused('blanks after the backslash', `int a;\n#inc\\ \t\nlude "${secret}"${useSecret}`);
    // …and the same splice ending a // comment takes the include into the comment: nothing is read.
    const inert = await guarded(`// a \\ \t\n#include "${secret}"${tail}`);
    assert.ok(inert.image, shown(inert));
    await refused('??/ is no splice for clang', `// ??/\n#include "${secret}"${useSecret}`);
    await refused('escaped backslash before a splice in a string', `const char *s = "a\\\\\n/*";\n#include "${secret}"\nconst char *t = "*/";${useSecret}`);
  });

  itc('skipped blocks: a quote or comment opener in #if 0, #else branches', async () => {
    await refused('quote in #if 0', `#if 0\n"\n#endif\n#include "${secret}"${useSecret}`);
    await refused('apostrophe in #if 0', `#if 0\nit's\n#endif\n#include "${secret}"${useSecret}`);
    await refused('#else branch', `#if 0\n#else\n#include "${secret}"\n#endif${useSecret}`);
    // And a file named only inside a skipped block is not read: that compiles.
    const o = await guarded(`#if 0\n#include "${secret}"\n#endif${tail}`);
    assert.ok(o.image, shown(o));
  });

  itc('includes by absolute path, by `..` from the compile folder and from the header folder, by macro', async () => {
    const fromCompileFolder = path.relative(path.join(fs.realpathSync(os.tmpdir()), 'femto-cc-x'), fs.realpathSync(secret));
    const fromHeaders = path.relative(defaultIncludeDir()!, secret);
    await refused('absolute', `#include "${secret}"${useSecret}`, /line 1: #include of ".*secret\.h" is not allowed: a container can only include "femto\.h"/);
    await refused('absolute in <>', `#include <${secret}>${useSecret}`);
    await refused('.. from the compile folder', `#include "${fromCompileFolder}"${useSecret}`);
    await refused('.. from the header folder', `#include <${fromHeaders}>${useSecret}`);
    await refused('.. inside the header folder that leaves it', `#include <bpf/../../../../../../../../..${secret}>${useSecret}`);
    await refused('macro', `#define F "${secret}"\n#include F${useSecret}`);
    await refused('#include_next', `#include_next "${secret}"${useSecret}`);
    await refused('#import', `#import "${secret}"${useSecret}`);
    await refused('/proc', `#include "/proc/self/environ"${tail}`);
    // `..` that stays inside the header folder is fine.
    const ok = await guarded(`#include <bpf/../femto.h>\n#include "bpf/bpfapi/helpers.h"\n#include <stdint.h>${tail}`);
    assert.ok(ok.image, shown(ok));
  });

  itc('a missing header and an existing file outside get the same answer (no existence oracle)', async () => {
    const missing = path.join(dir, 'no-such-file.h');
    const a = await refused('existing', `#include "${secret}"${tail}`);
    const b = await refused('missing', `#include "${missing}"${tail}`);
    assert.equal(a.message.replace(secret, 'X'), b.message.replace(missing, 'X'));
  });

  itc('__has_include answers 0 for every file, existing or not; __has_include_next too', async () => {
    const probe = (p: string) => `#if __has_include("${p}") || __has_include_next("${p}")\nint probe = 1;\n#else\nint probe = 2;\n#endif\nint f(void *c) { return probe; }\n`;
    const yes = await guarded(probe(secret));
    const no = await guarded(probe(path.join(dir, 'no-such-file.h')));
    assert.ok(yes.image && no.image, `${shown(yes)} ${shown(no)}`);
    assert.deepEqual(Buffer.from(yes.image), Buffer.from(no.image));
  });

  itc('a symlink in the header folder that leads outside is refused (real paths are compared)', async () => {
    const inc = fs.mkdtempSync(path.join(os.tmpdir(), 'femto-guard-inc-'));
    try {
      fs.copyFileSync(path.join(defaultIncludeDir()!, 'femto.h'), path.join(inc, 'femto.h'));
      fs.symlinkSync(dir, path.join(inc, 'evil'));
      fs.symlinkSync(secret, path.join(inc, 'link.h'));
      const compile = (src: string) => compileGuarded(src, { includeDir: inc, timeoutMs: 10_000, maxOutputBytes: 16_384 });
      for (const src of [`#include <evil/secret.h>${useSecret}`, `#include "link.h"${useSecret}`]) {
        await assert.rejects(compile(src), (e: unknown) => {
          assert.ok(e instanceof SandboxError, String(e));
          assert.doesNotMatch(e.message, new RegExp(MARKER));
          assert.doesNotMatch(e.message, new RegExp(inc));
          return true;
        });
      }
      const ok = await compile(`#include <femto.h>${tail}`);
      assert.ok(ok.object.length > 0);
      // A temporary folder inside the header folder would make every compile's files "shipped".
      const saved = process.env.TMPDIR;
      process.env.TMPDIR = path.join(inc, 'tmp');
      fs.mkdirSync(process.env.TMPDIR);
      try {
        await assert.rejects(compile(`#include <femto.h>${tail}`), /temporary folder lies inside the header folder/);
      } finally {
        if (saved === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = saved;
      }
    } finally {
      fs.rmSync(inc, { recursive: true, force: true });
    }
  });

  itc('a directive printed by a macro into the preprocessed text, and GNU line markers entering a file', async () => {
    await refused('macro printing # include', `#define X # include "${secret}"\nX${useSecret}`, /line 2: a macro expanded into a preprocessor directive \(# include/);
    await refused('line marker entering the secret', `# 1 "${secret}" 1\nint x;\n# 3 "container.c" 2${tail}`);
    // A #line rename reads nothing: messages then name no file but say why.
    const o = await guarded(`#line 1 "${secret}"\nint f(void *c) { return nope; }\n`);
    assertSafe('#line', o);
    assert.ok(o.failed instanceof SandboxCompileError);
    assert.match(o.failed.message, /#line/);
  });

  itc('a probe a macro prints into the preprocessed text is refused alike whether the file exists or not', async () => {
    const answers: string[] = [];
    for (const p of [secret, path.join(dir, 'ghost.h')]) {
      const probe = await refused('# if __has_include', `#define HI # if __has_include\n#define ARG ("${p}")\n#define EI # endif\nHI ARG\nint hit = 1;\nEI${tail}`,
        /a macro expanded into a preprocessor directive \(# if __has_include/);
      const dependency = await refused('# pragma GCC dependency', `#define D %: pragma GCC dependency "${p}"\nD${tail}`, /directive \(%: pragma GCC dependency/);
      answers.push([probe.message, dependency.message].join('\n').split(p).join('X'));
    }
    assert.equal(answers[0], answers[1]);
  });

  itc('#embed reads nothing (unsupported by clang 14; a newer clang lists it as a dependency)', async () => {
    const o = await guarded(`const char x[] = {\n#embed "${secret}"\n};${tail}`);
    assertSafe('#embed', o);
    assert.ok(!o.image, 'compiled');
  });

  itc('assembly is refused from the IR whatever spelled it: inline, module-level, pasted, UCN, .incbin in a function', async () => {
    await refused('inline asm', 'int f(void *c) { asm volatile("r0 = 1"); return 0; }\n', /inline assembly \(in function f\) is not allowed/);
    await refused('module asm .incbin', `asm(".section .rodata\\n.incbin \\"${secret}\\"");${tail}`, /module-level assembly/);
    await refused('.incbin in a function', `int f(void *c) { __asm__ __volatile__(".incbin \\"${secret}\\""); return 0; }\n`, /inline assembly/);
    await refused('asm by token pasting', `#define P(a, b) a##b\nP(a, sm)(".section .rodata\\n.incbin \\"${secret}\\"");${tail}`, /module-level assembly/);
    await refused('asm by digraph pasting', `#define P(a, b) a%:%:b\nP(__as, m__)(".incbin \\"${secret}\\"");${tail}`, /module-level assembly/);
    await refused('asm behind a condition', `static void rarely(void) { asm(".incbin \\"${secret}\\""); }\nint f(void *c) { if ((long)c == 12345) rarely(); return 0; }\n`, /inline assembly \(in function rarely\)/);
    const ucn = await guarded(`\\u0061sm(".incbin \\"${secret}\\"");${tail}`);
    assertSafe('UCN', ucn);
    assert.ok(!ucn.image);
  });

  itc('a section name cannot smuggle an assembler directive; sections named in C are fine', async () => {
    await refused('newline in a section name', `__attribute__((section(".text\\n.incbin \\"${secret}\\""))) int f(void *c) { return 0; }\n`, /section name .* is not allowed/);
    const o = await guarded('__attribute__((section("sensor"))) int f(void *c) { return 3; }\n#pragma clang section data="mine"\nint g = 4;\nint h(void *c) { return g; }\n');
    assert.ok(o.image, shown(o));
  });

  itc('no message carries a byte of another file: an entered file stops clang before its text is used', async () => {
    // The secret has a #warning with the marker, and tokens that would be quoted in errors.
    const o = await refused('errors after the include', `#include "${secret}"\nint f(void *c) { return nope + secret_text; }\n`);
    assert.equal(o.line, 1);
    // A file whose text would keep the preprocessor busy for ever: refused, not timed out.
    const bomb = path.join(dir, 'bomb.h');
    const defs = ['#define A0(x) x x'];
    for (let i = 1; i <= 32; i++) defs.push(`#define A${i}(x) A${i - 1}(A${i - 1}(x))`);
    fs.writeFileSync(bomb, `${defs.join('\n')}\nA32(${MARKER})\n`);
    await refused('bomb', `#include "${bomb}"${tail}`, /is not allowed/);
  });

  itc('__FILE__ and __builtin_FILE() name container.c, never the server\'s folder', async () => {
    const o = await guarded('const char name[] = __FILE__;\nint f(void *c) { return name[(long)c & 7] + __builtin_FILE()[0]; }\n');
    assert.ok(o.image, shown(o));
    const img = Buffer.from(o.image);
    assert.ok(img.includes(Buffer.from('container.c')));
    assert.ok(!img.includes(Buffer.from('femto-cc-')) && !img.includes(Buffer.from(os.tmpdir())));
  });

  itc('the guarded compile (.c → .i → .ll → .o) gives the same image as a one-step compile', async () => {
    const files = fs.readdirSync(path.join(ROOT, 'lib', 'containers')).filter((f) => f.endsWith('.c'));
    for (const f of files) {
      const src = fs.readFileSync(path.join(ROOT, 'lib', 'containers', f), 'utf8');
      const { object } = await compileC({ source: src });
      const one = buildImage(loadElf(object).image);
      const o = await guarded(src);
      assert.ok(o.image, `${f}: ${shown(o)}`);
      assert.deepEqual(Buffer.from(o.image), Buffer.from(one), f);
    }
  });
});

describe('compile guard: reading clang\'s outputs', () => {
  it('parses Make-style dependency lists as clang writes them', () => {
    assert.deepEqual(parseDependencyList('deps: container.c /pkg/lib/include/femto.h \\\n  /pkg/lib/include/bpf/../femto.h\n'),
      ['container.c', '/pkg/lib/include/femto.h', '/pkg/lib/include/bpf/../femto.h']);
    assert.deepEqual(parseDependencyList('deps: a\\ b c\\#d e$$f g\\\\\\ h\n'), ['a b', 'c#d', 'e$f', 'g\\ h']);
    assert.equal(parseDependencyList('other: a b'), undefined, 'another target: not ours');
    assert.deepEqual(parseDependencyList('deps:\n'), []);
  });

  it('finds directives a macro printed into preprocessed text; clang\'s own markers and pragmas pass', () => {
    const pre = (body: string) => `# 1 "container.c"\n# 1 "<built-in>" 1\n# 1 "<built-in>" 3\n# 1 "container.c" 2\n${body}\n`;
    assert.equal(macroDirective(pre('int x;\n#pragma clang optimize off\n#pragma pack(1)\n# 7 "/pkg/lib/include/femto.h" 1 3\nint y;')), undefined);
    assert.deepEqual(macroDirective(pre('int x;\n # include "/etc/passwd"')), { text: '# include "/etc/passwd"', line: 2 });
    assert.deepEqual(macroDirective(pre(' %:pragma x')), { text: '%:pragma x', line: 1 });
    assert.deepEqual(macroDirective(pre('#pragma GCC dependency "/etc/x"')), { text: '#pragma GCC dependency "/etc/x"', line: 1, pragma: true });
    assert.ok(macroDirective(pre('\t# if __has_include ("/etc/x")')));
    assert.ok(macroDirective(pre('int a;\r # include "x"')), 'a lone CR ends a line for clang');
    assert.equal(macroDirective(pre('const char *s = "# include";')), undefined);
  });

  it('finds assembly in LLVM IR: module asm, inline asm calls; not names, strings, comments or metadata', () => {
    const ir = (body: string) => `; ModuleID = 'container.i'\nsource_filename = "container.i"\n${body}\n`;
    assert.deepEqual(findAssembly(ir('module asm ".incbin \\22/etc/passwd\\22"')), { what: 'module asm', irLine: 3 });
    const inline = findAssembly(ir('define dso_local i32 @f(i8* %0) #0 {\n  call void asm sideeffect "r0 = 1", ""() #1, !srcloc !2\n  ret i32 0\n}'));
    assert.equal(inline?.what, 'inline assembly');
    assert.equal(inline?.fn, 'f');
    assert.ok(findAssembly(ir('define i32 @g() {\n  %1 = call i32 asm "", "=r"()\n  ret i32 %1\n}')));
    assert.ok(findAssembly(ir('define i32 @"weird name"() {\n  callbr void asm goto "", "X"(i8* blockaddress(@x, %y))\n}')));
    for (const clean of [
      '@asm = global i32 0', '%asm = load i32, i32* @x', '@.str = constant [4 x i8] c"asm\\00"', '; asm in a comment',
      '!0 = !{!"asm"}', '@"asm sideeffect" = global i32 1', 'attributes #0 = { "asm-x"="asm" }', '$asm = comdat any',
      'define i32 @f() section "asm" {\n  ret i32 0\n}',
    ]) {
      assert.equal(findAssembly(ir(clean)), undefined, clean);
    }
  });
});
