/*
 * Program-local calls: `square_plus` is kept out of line (noinline) in .text, `twice` in a
 * section of its own, so the object holds `call` instructions with src=1 (BPF_PSEUDO_CALL)
 * both within .text and into another code section (the latter needs a relocation).
 * Context: { uint64_t x }. Returns square_plus(x) + twice(x + 1) where
 * square_plus(v) = v * v + 3 and twice(v) = 2 * v + square_plus(v); for x = 4: 19 + (10 + 28) = 57.
 */
typedef __UINT64_TYPE__ uint64_t;

static __attribute__((noinline)) uint64_t square_plus(volatile uint64_t v)
{
    return v * v + 3;
}

static __attribute__((noinline, section(".text.twice"))) uint64_t twice(volatile uint64_t v)
{
    return 2 * v + square_plus(v);
}

uint64_t local_call(uint64_t *ctx)
{
    uint64_t x = *ctx;
    return square_plus(x) + twice(x + 1);
}
