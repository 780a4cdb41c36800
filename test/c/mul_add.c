/*
 * Multiply-add over a context of three 64-bit fields: returns a * b + c (wrapping, 64-bit).
 * Context: { uint64_t a; uint64_t b; uint64_t c } (24 bytes, little-endian).
 */
typedef __UINT64_TYPE__ uint64_t;

typedef struct {
    uint64_t a;
    uint64_t b;
    uint64_t c;
} mul_add_ctx_t;

uint64_t mul_add(mul_add_ctx_t *ctx)
{
    return ctx->a * ctx->b + ctx->c;
}
