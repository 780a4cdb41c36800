/*
 * increment: the Femto-Container tutorial program. Reads a 64-bit value from the context and
 * returns it plus one. Context: { uint64_t value } (8 bytes). Context 0 -> 1, 41 -> 42.
 *
 * Any hook works: on the flow-message hook the first 8 bytes of the context are the address of
 * the payload, so use the board's plain run with an 8-byte context (as RIOT's tutorial does), e.g.
 *     femto sim increment.c --hook raw --context 0x29
 */
#include "femto.h"

uint64_t increment(void *ctx)
{
    uint64_t *value = (uint64_t *)ctx;
    return *value + 1;
}
