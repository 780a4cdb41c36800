import { strict as assert } from 'node:assert';
import { formatPrintf, PRINTF_MAX_OUTPUT } from '../../../lib/board/printf';
import { Memory, MemoryAccessError, PERM_READ } from '../../../vm/memory';

const strings: Record<number, string> = { 0x1000: 'hello', 0x2000: 'x'.repeat(1000) };
const reader = (addr: number, max: number): string => {
  const s = strings[addr];
  if (s === undefined) throw new MemoryAccessError(addr, 1, 'read', 'not mapped');
  return s.slice(0, max);
};
const f = (fmt: string, ...args: (number | bigint)[]): string => formatPrintf(fmt, args.map((a) => BigInt.asUintN(64, BigInt(a))), reader).text;

describe('board/printf', () => {
  it('integer conversions with widths, zero pad, flags and length modifiers', () => {
    assert.equal(f('%d %i %u', -5, 42, -1), '-5 42 4294967295');
    assert.equal(f('%x %X %#x %o', 255, 255, 255, 8), 'ff FF 0xff 10');
    assert.equal(f('[%5d][%-5d][%05d][%+d][% d]', 42, 42, -42, 7, 7), '[   42][42   ][-0042][+7][ 7]');
    assert.equal(f('%ld %lu %lld %llu', -1, -1, -1, -1), '-1 4294967295 -1 18446744073709551615');
    assert.equal(f('%llx', 0x1122334455667788n), '1122334455667788');
    assert.equal(f('%hd %hhu', 0x18000, 0x1ff), '-32768 255');
    assert.equal(f('%.3d|%*d|%-*d|', 5, 4, 1, 3, 2), '005|   1|2  |');
  });

  it('%c %s %% and precision on strings', () => {
    assert.equal(f('%c%c%%', 0x41, 0x142), 'AB%');
    assert.equal(f('<%s> <%8s> <%-6s> <%.2s>', 0x1000, 0x1000, 0x1000, 0x1000), '<hello> <   hello> <hello > <he>');
    assert.equal(f('%s', 0), '(null)');
  });

  it('hostile formats never crash and stay bounded', () => {
    assert.equal(f('%d %d %d %d %d %d', 1, 2, 3, 4), '1 2 3 4 0 0'); // missing arguments read as 0
    assert.equal(f('%s'), '(null)');
    assert.equal(f('100%'), '100%');
    assert.equal(f('%q %y'), '%q %y');
    assert.equal(f('%999999999d', 1).length, 64); // width capped
    assert.equal(f('%.99999s', 0x2000).length, 64); // precision capped
    const long = formatPrintf('%s%s%s%s', [0x2000n, 0x2000n, 0x2000n, 0x2000n], reader);
    assert.ok(long.text.length <= PRINTF_MAX_OUTPUT);
    assert.equal(long.truncated, true);
    assert.throws(() => f('%s', 0xdead), MemoryAccessError); // the helper turns this into fault −2
    assert.equal(f('%llllllld', 5), '5');
  });

  it('reads %s through the checked Memory API, bounded by its region', async () => {
    const { memoryStringReader } = await import('../../../lib/board/printf');
    const m = new Memory();
    const r = m.map('ro', Uint8Array.from([0x68, 0x69, 0, 0x41, 0x42]), PERM_READ);
    const read = memoryStringReader(m);
    assert.equal(formatPrintf('%s', [BigInt(r.base)], read).text, 'hi');
    assert.equal(formatPrintf('%.2s', [BigInt(r.base + 3)], read).text, 'AB');
    assert.throws(() => formatPrintf('%s', [BigInt(r.base + 3)], read), MemoryAccessError); // runs off its region
  });
});
