/**
 * Regression tests for what the fuzzer (test/fuzz/run.ts) found. Each names the fuzz target and
 * the smallest input that shows the problem; a test that fails here is a bug still open (see
 * known.ts, which keeps the fuzzer's run green on it meanwhile).
 */
import * as assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { RemoteDevice } from '../../lib/device/remote-device';
import { encodeCoap, parseCoap } from '../../lib/coap/message';
import { Board } from '../../lib/board/board';
import { assemble } from '../../vm/assembler';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildImage, FUNCTION_ENTRY_SIZE, HEADER_SIZE, parseImage, type RiotImage } from '../../vm/image';
import { loadElf } from '../../vm/elf';
import { FormatError, VerifyError } from '../../vm/errors';
import { Vm } from '../../vm/vm';
import { CORPUS_DIR } from './corpus';
import { Rng } from './rng';
import { fromJsonSafe, replay, toJsonSafe } from './engine';
import { targetByName } from './targets';
import { checkWallTime, measureRun, type WallInput } from './targets-walltime';

async function udp(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

/** CON GET with one Uri-Path option holding `segment` as raw bytes. */
function getWithPath(segment: string, mid: number): Uint8Array {
  return encodeCoap({ type: 0, code: 1, messageId: mid, token: Uint8Array.of(0x5a, mid & 0xff), options: [{ num: 11, value: new Uint8Array(Buffer.from(segment, 'latin1')) }], payload: new Uint8Array(0) });
}

describe('fuzz regressions', function () {
  this.timeout(20_000);

  describe('coap target: RemoteDevice request handling', () => {
    // Found by `fuzz --target coap`: a Uri-Path segment that is not valid percent-encoding
    // ("%zz", "%E0%A4%A") makes requestPath() (lib/deploy/coap-server.ts, decodeURIComponent)
    // throw a URIError in RemoteDevice.handle *before* its try block. The exception escapes to the
    // `coap` package, which answers 5.00 "URI malformed" itself and leaves the exchange's
    // piggyback-ACK timer running. Expected: the device answers the request itself with a client
    // error (4.00 Bad Request or 4.04 Not Found) and nothing escapes its handler.
    it('answers a Uri-Path that is not valid percent-encoding with a 4.xx of its own', async () => {
      const dev = await RemoteDevice.start({ port: 0 });
      const escaped: string[] = [];
      const inst = dev as unknown as { handle(req: unknown, res: unknown): void };
      const handle = inst.handle.bind(dev);
      inst.handle = (req, res) => {
        try {
          handle(req, res);
        } catch (e) {
          escaped.push(String(e));
          throw e;
        }
      };
      const s = await udp();
      try {
        const replies: Buffer[] = [];
        s.on('message', (m) => replies.push(m));
        for (const [k, seg] of ['%zz', '%E0%A4%A', '%'].entries()) s.send(getWithPath(seg, 100 + k), dev.port, '127.0.0.1');
        const end = Date.now() + 3000;
        while (replies.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
        const codes = replies.map((m) => parseCoap(new Uint8Array(m))).filter((p) => p.code !== 0)
          .map((p) => `${p.code >> 5}.${String(p.code & 31).padStart(2, '0')} ${Buffer.from(p.payload).toString()}`);
        assert.deepEqual(escaped, [], 'exceptions escaped RemoteDevice.handle');
        assert.equal(codes.length, 3, `replies: ${JSON.stringify(codes)}`);
        for (const c of codes) assert.match(c, /^4\.\d\d/, `expected a 4.xx from the device, got ${c}`);
      } finally {
        s.close();
        await new Promise((r) => setTimeout(r, 300)); // let the library's ACK timers run out before close
        await dev.close();
      }
    });

    // Consequence of the above, found when the fuzzer's coap target closed its device: the
    // piggyback-ACK timer the `coap` package leaves behind fires 200 ms later and sends on the
    // closed socket, throwing ERR_SOCKET_DGRAM_NOT_RUNNING from a timer — an uncaught exception
    // that ends the whole process (a Node-RED redeploy closing a device would take Node-RED down).
    // Expected: closing a device never leaves timers that throw.
    it('closing a device right after a malformed-URI request does not throw from a timer', async () => {
      const uncaught: unknown[] = [];
      const onUncaught = (e: unknown): void => void uncaught.push(e);
      // Ahead of mocha's own handler, so the failure is reported here as an assertion.
      process.prependListener('uncaughtException', onUncaught);
      const listeners = process.listeners('uncaughtException').filter((l) => l !== onUncaught);
      for (const l of listeners) process.off('uncaughtException', l);
      try {
        const dev = await RemoteDevice.start({ port: 0 });
        const s = await udp();
        const got = new Promise<void>((r) => s.once('message', () => r()));
        s.send(getWithPath('%zz', 7), dev.port, '127.0.0.1');
        await Promise.race([got, new Promise((r) => setTimeout(r, 2000))]);
        await dev.close();
        await new Promise((r) => setTimeout(r, 500));
        s.close();
        assert.deepEqual(uncaught.map((e) => `${(e as { code?: string }).code ?? ''} ${(e as Error).message}`), []);
      } finally {
        process.off('uncaughtException', onUncaught);
        for (const l of listeners) process.on('uncaughtException', l);
      }
    });
  });

  describe('image target: function table', () => {
    // Found by `fuzz --target image` (counter empty-name): parseImage accepts a function whose
    // name_offset points at a NUL byte (name ""), but buildImage refuses an empty name
    // ("function name is empty"), so build(parse(bytes)) — documented in vm/image.ts to give the
    // same bytes back — throws. Expected: the two agree (parseImage refuses an empty name with
    // FormatError('image'), or buildImage accepts it and the round trip holds).
    it('parseImage and buildImage agree on an empty function name', () => {
      const good = buildImage({ text: assemble('mov %r0, 1\nexit'), rodata: new Uint8Array(8), functions: [{ name: 'main', offset: 0 }] });
      // Point the entry's name_offset at rodata+0, a NUL byte.
      const bytes = good.slice();
      const dv = new DataView(bytes.buffer);
      const table = HEADER_SIZE + dv.getUint32(12, true) + dv.getUint32(16, true) + dv.getUint32(20, true);
      assert.equal(bytes.length, table + FUNCTION_ENTRY_SIZE);
      dv.setUint16(table, 0, true);
      let parsed: RiotImage | undefined;
      try {
        parsed = parseImage(bytes);
      } catch (e) {
        assert.equal((e as { format?: string }).format, 'image');
        return; // refused at parse: consistent
      }
      assert.equal(parsed.functions[0].name, '');
      assert.deepEqual(Buffer.from(buildImage(parsed)), Buffer.from(bytes), 'build(parse(bytes)) must give the bytes back');
    });

    // Found by `fuzz --target image` / `interp` entries: an exported function may sit on the
    // second slot of a wide load (location_offset 8 below). Vm.entrySlot refuses that slot as a
    // numeric entry (RangeError "entry 1 is not the start of an instruction") but takes it by
    // name: the run then executes the constant's upper half as an instruction (fault −1), and
    // tier 'compiled' silently stays on the interpreter for the whole program ("compile failed:
    // compiled tier: opcode 0x0 at pc 1 is not supported"); Board.install accepts it. Expected:
    // an entry by name is refused like the same entry by index (new Vm or entrySlot throws).
    it('an exported function inside a wide load is refused as an entry, as by index', () => {
      const text = assemble('lddw %r0, 0x1122334455667788\nexit');
      const image: RiotImage = { flags: 0, data: new Uint8Array(0), rodata: new Uint8Array(0), text, functions: [{ name: 'mid', flags: 0, offset: 8 }] };
      assert.throws(() => new Vm({ text }).entrySlot(1), RangeError);
      let vm: Vm;
      try {
        vm = new Vm({ image, tier: 'compiled' });
      } catch {
        return; // refused at load: consistent
      }
      assert.throws(() => vm.entrySlot('mid'), RangeError, 'entry "mid" (slot 1, inside the wide load) was accepted');
      const board = new Board({ profile: 'native' });
      assert.throws(() => board.install({ image: buildImage(image), hook: 'timer', entry: 'mid' }));
    });
  });

  describe('elf target: section sizes', () => {
    // Found by `fuzz --target elf` (seed 24301, case 6978: a mutated sh_size): loadElf caps merged
    // sections at 16 MiB (MAX_SECTION_BYTES in vm/elf.ts), but the VM maps a region of at most
    // 16 MiB − 64 KiB (MAX_REGION_SIZE in vm/memory.ts). A .bss (NOBITS: no bytes in the file) of
    // 16,711,681 B in a 1.6 KB object loads fine, and `new Vm({ image })` then throws a plain
    // RangeError ("region data: size 16711705 out of range (max 16711680)") — not a FormatError
    // or VerifyError, which is all an input file may cause. (A Board refuses it earlier, by slot
    // size; `femto run x.o` and hosts using the Vm directly meet the RangeError.)
    // Expected: loadElf refuses the object with FormatError('elf') naming the section (or the Vm
    // refuses the image with a typed error).
    it('a .bss larger than a VM region is refused with a typed error', () => {
      const obj = new Uint8Array(fs.readFileSync(path.join(CORPUS_DIR, 'globals.o')));
      const dv = new DataView(obj.buffer, obj.byteOffset, obj.byteLength);
      const shoff = Number(dv.getBigUint64(40, true));
      const shnum = dv.getUint16(60, true);
      const strOff = Number(dv.getBigUint64(shoff + dv.getUint16(62, true) * 64 + 24, true));
      let found = false;
      for (let i = 0; i < shnum; i++) {
        const h = shoff + i * 64;
        let name = '';
        for (let k = strOff + dv.getUint32(h, true); obj[k] !== 0; k++) name += String.fromCharCode(obj[k]);
        if (name === '.bss') { dv.setBigUint64(h + 32, 16_711_681n, true); found = true; }
      }
      assert.ok(found, 'fixture has a .bss');
      let image: RiotImage;
      try {
        image = loadElf(obj).image;
      } catch (e) {
        assert.ok(e instanceof FormatError && e.format === 'elf', `expected FormatError('elf'), got ${String(e)}`);
        return;
      }
      try {
        new Vm({ image });
      } catch (e) {
        assert.ok(e instanceof FormatError || e instanceof VerifyError, `new Vm threw ${(e as Error).constructor.name}: ${(e as Error).message}`);
      }
    });
  });

  describe('walltime target: console', () => {
    // Found by `fuzz --target walltime`: each printf is appended to the
    // unfinished line and the whole line split again, so a line of n prints costs n² — here 3,000
    // prints of 512 characters without a newline. Fixed by the bounded console (lib/board/console.ts).
    it('printf building a long unfinished line stays linear', () => {
      const input: WallInput = { profile: 'native', formats: ['%64d'.repeat(8)], items: [{ k: 'printf', fmt: 0 }], iterations: 3000, budget: 1_000_000 };
      checkWallTime(input, measureRun(input));
    });
  });

  describe('fuzzer plumbing', () => {
    it('finding files round-trip their inputs', () => {
      const input = { a: new Uint8Array([1, 2, 255]), b: 2n ** 64n - 1n, c: [undefined, NaN, new Map([[1, 'x']])] };
      const back = fromJsonSafe(JSON.parse(JSON.stringify(toJsonSafe(input)))) as typeof input;
      assert.deepEqual(back.a, input.a);
      assert.equal(back.b, input.b);
      assert.equal(back.c[0], undefined);
      assert.ok(Number.isNaN(back.c[1] as number));
      assert.deepEqual(back.c[2], input.c[2]);
    });

    it('a case regenerates from (seed, target, index) alone', () => {
      for (const name of ['image', 'elf', 'asm', 'verifier', 'interp', 'helpers', 'manifest', 'coap', 'walltime']) {
        const t = targetByName(name)!;
        const a = JSON.stringify(toJsonSafe(t.generate(new Rng(42, name, 17), 17)));
        const b = JSON.stringify(toJsonSafe(t.generate(new Rng(42, name, 17), 17)));
        assert.equal(a, b, name);
      }
    });

    it('replays a clean input without a finding', async () => {
      const t = targetByName('image')!;
      assert.equal(await replay(t, { bytes: buildImage({ text: assemble('exit') }), profile: 'rfc9669', how: 'test' }), null);
    });
  });
});
