/*
 * RIOT's Fletcher-32 benchmark (sys/checksum/fletcher32.c): 16-bit little-endian words, sums
 * start at 0xffff and are reduced every 359 words.
 * Context, as in RIOT's tests: { u64 data (a VM address, RIOT's __bpf_shared_ptr);
 * uint32_t words (count of 16-bit words); uint32_t pad } (16 bytes).
 * Over test/data/bench/mem360.hex (360 bytes = 180 words) it returns 0xa4b6d43f.
 */
typedef __UINT16_TYPE__ uint16_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __UINT64_TYPE__ uint64_t;

typedef struct {
    union {
        const uint16_t *data;
        uint64_t data_raw; /* keeps the pointer 8 bytes wide on every host, like RIOT's */
    };
    uint32_t words;
} fletcher32_ctx_t;

uint32_t fletcher32(fletcher32_ctx_t *ctx)
{
    const uint16_t *data = ctx->data;
    uint32_t words = ctx->words;
    uint32_t sum1 = 0xffff, sum2 = 0xffff;

    while (words) {
        unsigned tlen = words > 359 ? 359 : words;
        words -= tlen;
        do {
            sum2 += sum1 += *data++;
        } while (--tlen);
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    /* Second reduction step to reduce sums to 16 bits */
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    return (sum2 << 16) | sum1;
}
