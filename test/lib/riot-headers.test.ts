/**
 * lib/include's RIOT shims define every macro and type RIOT's `bpf/shared.h` and
 * `bpf/bpfapi/helpers.h` define (helper numbers, `__bpf_shared_ptr`, `bpf_coap_ctx_t`,
 * `bpf_saul_reg_t`, `ssize_t`, every helper pointer, `phydat_t` through `phydat.h`), plus the two
 * headers RIOT's own test containers include besides them (`unaligned.h`, and
 * `femtocontainer/shared.h`, the Femto-Container package's spelling).
 *
 * RIOT's Fletcher-32 test container is written here from its description (from RIOT's description of it: a context
 * `{ __bpf_shared_ptr(const uint16_t *, data); uint32_t words; }`, words read with
 * `unaligned_get_u16`, sums reduced every 359 words): it compiles against our headers under
 * -Wall -Werror, in both include spellings, and returns what our own test/c/fletcher32.c returns.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildFromC, defaultIncludeDir } from '../../lib/compiler';
import { parseImage } from '../../vm/image';
import { Vm } from '../../vm/vm';
import { BENCH_DIR, ROOT } from '../util/paths';
import { CLANG, need } from '../util/needs';

/** clang -Wall -Wextra -Werror on a source against lib/include: passes, or fails with clang's words. */
function assertCompilesStrictly(source: string): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'riot-h-'));
  try {
    fs.writeFileSync(path.join(dir, 'x.c'), source);
    const r = spawnSync(process.env.FEMTO_CLANG ?? 'clang', ['-target', 'bpf', '-O2', '-nostdinc', '-ffreestanding', `-I${defaultIncludeDir()}`,
      '-Wall', '-Wextra', '-Werror', '-c', path.join(dir, 'x.c'), '-o', path.join(dir, 'x.o')], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** RIOT's Fletcher-32 container as RIOT's test writes it (`shared` is its bpf/shared.h include). */
const fletcherRiot = (shared: string): string => `#include <stddef.h>
#include <stdint.h>
#include "${shared}"
#include "unaligned.h"

typedef struct {
    __bpf_shared_ptr(const uint16_t *, data);
    uint32_t words;
} fletcher32_ctx_t;

uint32_t fletcher32(fletcher32_ctx_t *ctx)
{
    uint32_t words = ctx->words;
    const uint16_t *data = ctx->data;
    uint32_t sum1 = 0xffff, sum2 = 0xffff;

    while (words) {
        unsigned tlen = words > 359 ? 359 : words;
        words -= tlen;
        do {
            sum2 += sum1 += unaligned_get_u16(data++);
        } while (--tlen);
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    return (sum2 << 16) | sum1;
}
`;

/** Uses every name RIOT's shared.h and bpfapi/helpers.h define; returns the sum of the helper ids. */
const EVERY_NAME = `#include <stdint.h>
#include <stddef.h>
#include "bpf/shared.h"
#include "bpf/bpfapi/helpers.h"

typedef struct {
    __bpf_shared_ptr(const uint8_t *, bytes);
    __bpf_shared_ptr(void *, opaque);
    uint32_t n;
} shared_ctx_t;

_Static_assert(sizeof(shared_ctx_t) == 24, "two shared pointers take 8 bytes each");
_Static_assert(_Alignof(shared_ctx_t) == 8, "a shared pointer is 8-byte aligned");
_Static_assert(sizeof(bpf_coap_ctx_t) == 24, "RIOT's coap ctx");
_Static_assert(sizeof(ssize_t) == 4, "RIOT's ssize_t is a 32-bit signed int");
_Static_assert(sizeof(phydat_t) == 8, "phydat_t");

static const int ids[] = {
    BPF_FUNC_BPF_PRINTF, BPF_FUNC_BPF_MEMCPY,
    BPF_FUNC_BPF_STORE_LOCAL, BPF_FUNC_BPF_STORE_GLOBAL, BPF_FUNC_BPF_FETCH_LOCAL, BPF_FUNC_BPF_FETCH_GLOBAL,
    BPF_FUNC_BPF_NOW_MS,
    BPF_FUNC_BPF_SAUL_REG_FIND_NTH, BPF_FUNC_BPF_SAUL_REG_FIND_TYPE, BPF_FUNC_BPF_SAUL_REG_READ,
    BPF_FUNC_BPF_GCOAP_RESP_INIT, BPF_FUNC_BPF_COAP_OPT_FINISH, BPF_FUNC_BPF_COAP_ADD_FORMAT, BPF_FUNC_BPF_COAP_GET_PDU,
    BPF_FUNC_BPF_FMT_S16_DFP, BPF_FUNC_BPF_FMT_U32_DEC,
    BPF_FUNC_BPF_ZTIMER_NOW, BPF_FUNC_BPF_ZTIMER_PERIODIC_WAKEUP,
};

int every_name(shared_ctx_t *ctx)
{
    bpf_saul_reg_t *dev = 0;
    bpf_coap_ctx_t *coap = 0;
    ssize_t neg = -1;
    /* Every helper pointer RIOT declares, with RIOT's types: each is its (non-zero) id. */
    const void *helpers[] = {
        (const void *)bpf_printf, (const void *)bpf_memcpy,
        (const void *)bpf_store_global, (const void *)bpf_store_local,
        (const void *)bpf_fetch_global, (const void *)bpf_fetch_local, (const void *)bpf_now_ms,
        (const void *)bpf_saul_reg_find_nth, (const void *)bpf_saul_reg_find_type, (const void *)bpf_saul_reg_read,
        (const void *)bpf_gcoap_resp_init, (const void *)bpf_coap_opt_finish,
        (const void *)bpf_coap_add_format, (const void *)bpf_coap_get_pdu,
        (const void *)bpf_fmt_s16_dfp, (const void *)bpf_fmt_u32_dec,
        (const void *)bpf_ztimer_now, (const void *)bpf_ztimer_periodic_wakeup,
    };
    int sum = 0, nonzero = 0;
    for (unsigned i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++) {
        nonzero += helpers[i] != 0;
    }
    for (unsigned i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        sum += ids[i];
    }
    (void)dev; (void)coap; (void)ctx;
    return sum + (neg < 0) + nonzero - 19;
}
`;

function mem360(): Uint8Array {
  const text = fs.readFileSync(path.join(BENCH_DIR, 'mem360.hex'), 'utf8');
  return Uint8Array.from(Buffer.from(text.replace(/[^0-9a-fA-F]/g, ''), 'hex'));
}

/** Run a Fletcher-32 image over mem360 (context { u64 data; u32 words; pad }). */
function fletcherOver(image: Uint8Array, profile: 'rfc9669' | 'riot-2022'): bigint {
  const vm = new Vm({ image: parseImage(image), profile });
  const data = mem360();
  const region = vm.mapRegion('input', data, false);
  const ctx = new Uint8Array(16);
  new DataView(ctx.buffer).setBigUint64(0, BigInt(region.base), true);
  new DataView(ctx.buffer).setUint32(8, data.length / 2, true);
  const res = vm.run({ context: ctx });
  assert.equal(res.status, 'exit', res.fault?.message);
  return res.r0;
}

describe('RIOT header shims', function () {
  this.timeout(60_000);
  beforeEach(function () { need(this, CLANG); });

  for (const shared of ['bpf/shared.h', 'femtocontainer/shared.h']) {
    it(`RIOT's Fletcher-32 container (including "${shared}", "unaligned.h") compiles and agrees with ours on both profiles`, async () => {
      assertCompilesStrictly(fletcherRiot(shared));
      const riot = await buildFromC({ source: fletcherRiot(shared) });
      const ours = await buildFromC({ path: path.join(ROOT, 'test', 'c', 'fletcher32.c') });
      const expected = fletcherOver(ours, 'rfc9669');
      assert.equal(fletcherOver(riot, 'rfc9669'), expected);
      assert.equal(fletcherOver(riot, 'riot-2022'), expected);
    });
  }

  it('a container using every macro, type and helper of bpf/shared.h and bpf/bpfapi/helpers.h compiles and runs', async () => {
    assertCompilesStrictly(EVERY_NAME);
    const image = await buildFromC({ source: EVERY_NAME });
    const res = new Vm({ image: parseImage(image) }).run({ context: new Uint8Array(24) });
    assert.equal(res.status, 'exit', res.fault?.message);
    const riotIds = [0x01, 0x02, 0x10, 0x11, 0x12, 0x13, 0x20, 0x30, 0x31, 0x32, 0x40, 0x41, 0x42, 0x43, 0x50, 0x51, 0x60, 0x61];
    assert.equal(res.r0, BigInt(riotIds.reduce((a, b) => a + b, 0)));
  });

  it('a misuse of __bpf_shared_ptr is a compile error, not a silent layout change', async () => {
    const bad = '#include "bpf/shared.h"\ntypedef struct { __bpf_shared_ptr(int *, p); } s_t;\n_Static_assert(sizeof(s_t) == 4, "x");\nint f(void) { return 0; }\n';
    await assert.rejects(buildFromC({ source: bad }), /static.?assert/i);
  });
});
