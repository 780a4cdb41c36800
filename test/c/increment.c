/*
 * The Femto-Container tutorial program: read a u64 from the context and return it plus one.
 * Context: { uint64_t value } (8 bytes). Context 5 -> 6. Its image is the 74-byte example of
 * ARCHITECTURE.md § Image format.
 */
typedef __UINT64_TYPE__ uint64_t;

uint64_t increment(void *ctx)
{
    uint64_t *value = (uint64_t *)ctx;
    return *value + 1;
}
