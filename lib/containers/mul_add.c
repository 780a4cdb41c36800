/*
 * mul_add: multiply-add over a context. Hook: flow message (femto_flow_ctx_t); msg.payload holds
 * three little-endian int32 values a, b, c (12 bytes or more). Returns a * b + c computed in
 * 64 bits (so r0 is exact, negative results included), or -1 when the payload is shorter than
 * 12 bytes.
 *
 * Payload 07 00 00 00 | 06 00 00 00 | 2a 00 00 00  ->  7 * 6 + 42 = 84.
 */
#include "femto.h"

typedef struct {
    int32_t a;
    int32_t b;
    int32_t c;
} mul_add_args_t;

int64_t mul_add(femto_flow_ctx_t *ctx)
{
    if (ctx->len < sizeof(mul_add_args_t)) {
        return -1;
    }
    const mul_add_args_t *args = (const mul_add_args_t *)ctx->data;
    return (int64_t)args->a * args->b + args->c;
}
