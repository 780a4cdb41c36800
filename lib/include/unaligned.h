/*
 * RIOT's `unaligned.h` (sys/include/unaligned.h) for containers: read a 16/32/64-bit value from
 * an address with no alignment guarantee, in the machine's byte order (little-endian on every
 * board we model). RIOT's Fletcher-32 container reads its input with unaligned_get_u16.
 * Written with __builtin_memcpy so clang emits byte loads when it cannot prove the alignment,
 * and a single load when it can; nothing here calls a library.
 */
#ifndef FEMTO_UNALIGNED_H
#define FEMTO_UNALIGNED_H
#include "femto.h"

static inline uint16_t unaligned_get_u16(const void *ptr)
{
    uint16_t v;
    __builtin_memcpy(&v, ptr, sizeof(v));
    return v;
}

static inline uint32_t unaligned_get_u32(const void *ptr)
{
    uint32_t v;
    __builtin_memcpy(&v, ptr, sizeof(v));
    return v;
}

static inline uint64_t unaligned_get_u64(const void *ptr)
{
    uint64_t v;
    __builtin_memcpy(&v, ptr, sizeof(v));
    return v;
}

#endif /* FEMTO_UNALIGNED_H */
