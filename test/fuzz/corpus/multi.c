/*
 * Fuzz corpus seed (not a test container): several exported functions, program-local calls,
 * .bss, .data, .rodata tables and strings, so the ELF loader's mutations start from an object
 * with every section and relocation kind it accepts.
 */
typedef __UINT64_TYPE__ uint64_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __UINT8_TYPE__ uint8_t;

static uint64_t counter;                       /* .bss */
static uint32_t seeds[4] = { 7, 11, 13, 17 };  /* .data */
uint64_t exported_total = 5;                   /* .data, global */
static const uint8_t table[16] = { 3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3 };
static const char *const names[3] = { 0, 0, 0 };

static __attribute__((noinline)) uint64_t mix(uint64_t a, uint64_t b)
{
    return (a * 31) ^ (b + table[a & 15]);
}

static __attribute__((noinline, section(".text.helper"))) uint64_t walk(const uint8_t *p, uint64_t n)
{
    uint64_t s = 0;
    for (uint64_t i = 0; i < n && i < 64; i++)
        s = mix(s, p[i]);
    return s;
}

uint64_t entry_a(uint64_t *ctx)
{
    const char *msg = "femto fuzz corpus";
    counter += 1;
    exported_total += seeds[counter & 3];
    return walk((const uint8_t *)msg, 17) + counter + (uint64_t)(names[0] != 0);
}

uint64_t entry_b(uint64_t *ctx)
{
    uint64_t x = ctx ? *ctx : 0;
    seeds[x & 3] ^= (uint32_t)x;
    return mix(x, exported_total) + table[x & 15];
}
