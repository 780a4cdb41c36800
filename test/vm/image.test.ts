/**
 * RIOT image format (vm/image.ts): the 74-byte "increment" example of ARCHITECTURE.md § Image
 * format byte-exact in both directions, one test per validation rule (each names its field),
 * fuzzing (only FormatError may escape) and build/parse round trips.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { FormatError } from '../../vm/errors';
import { buildImage, entryOffset, isImage, parseImage, RiotImage } from '../../vm/image';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/[\s|]/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const INCREMENT_TEXT = hex('79 10 00 00 00 00 00 00 | 07 00 00 00 01 00 00 00 | 95 00 00 00 00 00 00 00');
const INCREMENT_IMAGE = hex(
  '72425046 00000000 00000000 00000000 10000000 18000000 01000000' +
    '696e6372656d656e7400 000000000000' + // "increment\0" padded to 16
    '7910000000000000 0700000001000000 9500000000000000' +
    '0000 0000 0000',
);

function expectFormatError(fn: () => unknown, field?: string | RegExp, message?: RegExp): FormatError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    assert.equal(e.format, 'image');
    if (field instanceof RegExp) assert.match(e.where.field ?? '', field);
    else if (field !== undefined) assert.equal(e.where.field, field, e.message);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail('expected a FormatError');
}

/** Copy of the example with one u32 header field replaced. */
function withU32(b: Uint8Array, off: number, v: number): Uint8Array {
  const c = b.slice();
  new DataView(c.buffer).setUint32(off, v >>> 0, true);
  return c;
}

describe('vm/image: RIOT rBPF image', () => {
  describe('the increment example (ARCHITECTURE.md § Image format)', () => {
    it('is 74 bytes', () => assert.equal(INCREMENT_IMAGE.length, 74));

    it('buildImage reproduces it byte-exactly', () => {
      const built = buildImage({ text: INCREMENT_TEXT, functions: [{ name: 'increment', offset: 0 }] });
      assert.equal(toHex(built), toHex(INCREMENT_IMAGE));
    });

    it('parseImage reads it back', () => {
      const img = parseImage(INCREMENT_IMAGE);
      assert.equal(img.flags, 0);
      assert.equal(img.data.length, 0);
      assert.equal(toHex(img.rodata), toHex(hex('696e6372656d656e7400 000000000000')));
      assert.equal(toHex(img.text), toHex(INCREMENT_TEXT));
      assert.deepEqual(img.functions, [{ name: 'increment', flags: 0, offset: 0, nameOffset: 0 }]);
    });

    it('build(parse(bytes)) gives the same bytes (names are not appended twice)', () => {
      assert.equal(toHex(buildImage(parseImage(INCREMENT_IMAGE))), toHex(INCREMENT_IMAGE));
    });

    it('isImage checks the magic', () => {
      assert.equal(isImage(INCREMENT_IMAGE), true);
      assert.equal(isImage(hex('7f454c46')), false);
      assert.equal(isImage(hex('7242')), false);
    });
  });

  describe('buildImage layout', () => {
    it('pads .data to 8 and appends names after rodata, then pads rodata to 8', () => {
      const b = buildImage({
        data: hex('0102030405'),
        rodata: hex('414243'),
        text: new Uint8Array(16),
        functions: [
          { name: 'f', offset: 0 },
          { name: 'gg', offset: 8 },
        ],
      });
      const img = parseImage(b);
      assert.equal(toHex(img.data), '0102030405000000');
      // "ABC" "f\0" "gg\0" = 8 bytes exactly, no padding needed
      assert.equal(toHex(img.rodata), toHex(hex('414243 6600 676700')));
      assert.deepEqual(
        img.functions.map((f) => [f.name, f.nameOffset, f.offset]),
        [
          ['f', 3, 0],
          ['gg', 5, 8],
        ],
      );
      const dv = new DataView(b.buffer);
      assert.equal(dv.getUint32(12, true), 8); // data_len
      assert.equal(dv.getUint32(16, true), 8); // rodata_len counts the names
      assert.equal(dv.getUint32(20, true), 16);
      assert.equal(dv.getUint32(24, true), 2);
    });

    it('without functions: no names, rodata still padded', () => {
      const img = parseImage(buildImage({ rodata: hex('01'), text: new Uint8Array(8) }));
      assert.equal(img.rodata.length, 8);
      assert.equal(img.functions.length, 0);
    });

    it('rejects parts that cannot form a valid image', () => {
      expectFormatError(() => buildImage({ text: new Uint8Array(0) }), 'text_len');
      expectFormatError(() => buildImage({ text: new Uint8Array(12) }), 'text_len');
      expectFormatError(() => buildImage({ text: new Uint8Array(8), functions: [{ name: 'f', offset: 8 }] }), 'functions[0].location_offset');
      expectFormatError(() => buildImage({ text: new Uint8Array(16), functions: [{ name: 'f', offset: 4 }] }), 'functions[0].location_offset');
      expectFormatError(() => buildImage({ text: new Uint8Array(8), functions: [{ name: '', offset: 0 }] }), 'functions[0].name');
      expectFormatError(() => buildImage({ text: new Uint8Array(8), functions: [{ name: 'é', offset: 0 }] }), 'functions[0].name');
      expectFormatError(
        () => buildImage({ text: new Uint8Array(0x10008), functions: [{ name: 'far', offset: 0x10000 }] }),
        'functions[0].location_offset',
        /u16/,
      );
    });
  });

  describe('entryOffset', () => {
    const img: RiotImage = {
      flags: 0,
      data: new Uint8Array(0),
      rodata: new Uint8Array(0),
      text: new Uint8Array(32),
      functions: [
        { name: 'main', flags: 0, offset: 0 },
        { name: 'other', flags: 0, offset: 16 },
      ],
    };
    it('defaults to 0 (RIOT starts at the first instruction)', () => assert.equal(entryOffset(img), 0));
    it('finds an exported function by name', () => assert.equal(entryOffset(img, 'other'), 16));
    it('names the available functions when absent', () => {
      const e = expectFormatError(() => entryOffset(img, 'nope'), 'functions');
      assert.match(e.message, /"nope"/);
      assert.match(e.message, /main, other/);
    });
  });

  describe('validation: each failure names its field', () => {
    const cases: [string, () => Uint8Array, string, RegExp][] = [
      ['empty input', () => new Uint8Array(0), 'header', /truncated/],
      ['truncated header', () => INCREMENT_IMAGE.slice(0, 27), 'header', /truncated/],
      ['bad magic', () => withU32(INCREMENT_IMAGE, 0, 0x464c457f), 'magic', /magic/],
      ['version 1', () => withU32(INCREMENT_IMAGE, 4, 1), 'version', /version 1/],
      ['compressed flag', () => withU32(INCREMENT_IMAGE, 8, 1), 'flags', /compressed/],
      ['unknown flag', () => withU32(INCREMENT_IMAGE, 8, 0x80), 'flags', /unknown flag/],
      ['data_len too large', () => withU32(INCREMENT_IMAGE, 12, 1000), 'data_len', /exceeds/],
      ['data_len 0xffffffff', () => withU32(INCREMENT_IMAGE, 12, 0xffffffff), 'data_len', /exceeds/],
      ['rodata_len too large', () => withU32(INCREMENT_IMAGE, 16, 1000), 'rodata_len', /exceeds/],
      ['text_len 0', () => withU32(INCREMENT_IMAGE, 20, 0), 'text_len', /is 0/],
      ['text_len not a multiple of 8', () => withU32(INCREMENT_IMAGE, 20, 0x14), 'text_len', /multiple of 8/],
      ['text_len too large', () => withU32(INCREMENT_IMAGE, 20, 0x20), 'text_len', /exceeds/],
      ['trailing bytes', () => Uint8Array.from([...INCREMENT_IMAGE, 0]), 'functions', /trailing/],
      ['truncated function table', () => INCREMENT_IMAGE.slice(0, 73), 'functions', /truncated/],
      ['function count too high', () => withU32(INCREMENT_IMAGE, 24, 2), 'functions', /truncated/],
      ['function count huge', () => withU32(INCREMENT_IMAGE, 24, 0xffffffff), 'functions', /truncated/],
      ['fewer functions than entries', () => withU32(INCREMENT_IMAGE, 24, 0), 'functions', /trailing/],
      [
        'data_len shifted (lengths no longer add up)',
        () => withU32(withU32(INCREMENT_IMAGE, 12, 8), 16, 0x10),
        'text_len',
        /exceeds/,
      ],
    ];
    for (const [name, make, field, msg] of cases) {
      it(`${name} → field ${field}`, () => {
        expectFormatError(() => parseImage(make()), field, msg);
      });
    }

    const entry = 68; // function table of the example
    it('name_offset outside rodata', () => {
      const b = INCREMENT_IMAGE.slice();
      b[entry] = 16;
      expectFormatError(() => parseImage(b), 'functions[0].name_offset', /outside rodata/);
    });
    it('name not NUL-terminated inside rodata', () => {
      // rodata = "ABCDEFGH" (no NUL), function name points at it
      const b = buildImage({ rodata: hex('4142434445464748'), text: new Uint8Array(8) });
      const withFn = Uint8Array.from([...b, 0, 0, 0, 0, 0, 0]);
      new DataView(withFn.buffer).setUint32(24, 1, true);
      expectFormatError(() => parseImage(withFn), 'functions[0].name_offset', /NUL-terminated/);
    });
    it('name not ASCII', () => {
      const b = INCREMENT_IMAGE.slice();
      b[28] = 0xc3;
      expectFormatError(() => parseImage(b), 'functions[0].name_offset', /ASCII/);
    });
    it('location_offset outside text', () => {
      const b = INCREMENT_IMAGE.slice();
      b[entry + 4] = 24;
      expectFormatError(() => parseImage(b), 'functions[0].location_offset', /outside text/);
    });
    it('location_offset not 8-aligned', () => {
      const b = INCREMENT_IMAGE.slice();
      b[entry + 4] = 4;
      expectFormatError(() => parseImage(b), 'functions[0].location_offset', /boundary/);
    });
    it('error offsets point at the field', () => {
      assert.equal(expectFormatError(() => parseImage(withU32(INCREMENT_IMAGE, 20, 3))).where.offset, 20);
      const b = INCREMENT_IMAGE.slice();
      b[entry + 4] = 4;
      assert.equal(expectFormatError(() => parseImage(b)).where.offset, entry + 4);
    });
    it('rejects a non-Uint8Array with FormatError', () => {
      expectFormatError(() => parseImage('rBPF' as unknown as Uint8Array));
    });
  });

  describe('fuzz: only FormatError, never another exception', () => {
    const onlyFormatErrors = (bytes: Uint8Array): void => {
      try {
        const img = parseImage(bytes);
        // whatever parses must be internally consistent
        assert.ok(img.text.length > 0 && img.text.length % 8 === 0);
        for (const f of img.functions) assert.ok(f.offset < img.text.length && f.offset % 8 === 0);
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
      }
    };

    it('random bytes', () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), onlyFormatErrors), { numRuns: 2000 });
    });

    it('random bytes behind a valid magic', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => onlyFormatErrors(Uint8Array.from([0x72, 0x42, 0x50, 0x46, ...tail]))),
        { numRuns: 2000 },
      );
    });

    it('random header lengths over a valid example', () => {
      fc.assert(
        fc.property(fc.integer({ min: 3, max: 6 }), fc.nat({ max: 0xffffffff }), (field, v) => {
          onlyFormatErrors(withU32(INCREMENT_IMAGE, field * 4, v));
        }),
        { numRuns: 2000 },
      );
    });

    it('every truncation and a byte flip anywhere', () => {
      for (let n = 0; n < INCREMENT_IMAGE.length; n++) {
        assert.throws(() => parseImage(INCREMENT_IMAGE.slice(0, n)), FormatError);
      }
      fc.assert(
        fc.property(fc.nat({ max: INCREMENT_IMAGE.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
          const b = INCREMENT_IMAGE.slice();
          b[i] ^= x;
          onlyFormatErrors(b);
        }),
        { numRuns: 2000 },
      );
    });

    it('oversized input (extra bytes) is rejected, not ignored', () => {
      const big = new Uint8Array(INCREMENT_IMAGE.length + 4096);
      big.set(INCREMENT_IMAGE);
      expectFormatError(() => parseImage(big), 'functions', /trailing/);
    });
  });

  describe('round trip', () => {
    const ident = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,15}$/);
    const parts = fc
      .record({
        data: fc.uint8Array({ maxLength: 40 }),
        rodata: fc.uint8Array({ maxLength: 40 }),
        slots: fc.integer({ min: 1, max: 20 }),
        names: fc.array(ident, { maxLength: 5 }),
        seed: fc.uint8Array({ minLength: 160, maxLength: 160 }),
      })
      .map(({ data, rodata, slots, names, seed }) => ({
        data,
        rodata,
        text: seed.slice(0, slots * 8),
        functions: names.map((name, i) => ({ name, offset: ((i * 7) % slots) * 8 })),
      }));

    it('parse(build(x)) keeps data, rodata, text and functions', () => {
      fc.assert(
        fc.property(parts, (p) => {
          const img = parseImage(buildImage(p));
          assert.equal(img.data.length % 8, 0);
          assert.equal(toHex(img.data.subarray(0, p.data.length)), toHex(p.data));
          assert.ok(img.data.subarray(p.data.length).every((x) => x === 0));
          assert.equal(img.rodata.length % 8, 0);
          assert.equal(toHex(img.rodata.subarray(0, p.rodata.length)), toHex(p.rodata));
          assert.equal(toHex(img.text), toHex(p.text));
          assert.deepEqual(
            img.functions.map((f) => [f.name, f.offset, f.flags]),
            p.functions.map((f) => [f.name, f.offset, 0]),
          );
        }),
        { numRuns: 500 },
      );
    });

    it('build(parse(bytes)) is the identity on built images', () => {
      fc.assert(
        fc.property(parts, (p) => {
          const bytes = buildImage(p);
          assert.equal(toHex(buildImage(parseImage(bytes))), toHex(bytes));
        }),
        { numRuns: 500 },
      );
    });
  });
});
