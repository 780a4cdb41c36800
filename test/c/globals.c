/*
 * Uses every kind of global RIOT's own converter cannot handle together: a zeroed static in
 * .bss, initialised statics and a global in .data (relocated against the section with an addend,
 * and against a symbol), a const table in .rodata and a string literal in .rodata.str1.1.
 * Context: { uint64_t index }.
 *
 * Each run: calls += 1; total += steps[index & 3]; second += first; the result is
 *   (calls << 48) | (second << 32) | (total << 8) | greeting[index % 13]
 * On a fresh instance with index 0: calls 1, total 101, second 3, 'H' -> 0x0001_0003_0000_6548;
 * a second run with index 1 (.data persists): calls 2, total 103, second 4, 'e'
 * -> 0x0002_0004_0000_6765.
 */
typedef __UINT64_TYPE__ uint64_t;

static uint64_t calls;                           /* .bss */
static uint64_t total = 100;                     /* .data, section-relative */
static uint64_t second = 2;                      /* .data, section-relative at an offset */
uint64_t first = 1;                              /* .data, relocated against its own symbol */
static const uint64_t steps[4] = { 1, 2, 3, 5 }; /* .rodata */

uint64_t globals(uint64_t *ctx)
{
    const char *greeting = "Hello, world!"; /* .rodata.str1.1 */
    uint64_t index = *ctx;
    calls += 1;
    total += steps[index & 3];
    second += first;
    return (calls << 48) | (second << 32) | (total << 8) | (unsigned char)greeting[index % 13];
}
