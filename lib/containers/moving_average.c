/*
 * moving_average: a long-running container. It never returns: every second it reads the
 * temperature sensor, keeps the last 10 samples (centi-degrees) and publishes their average in
 * the global store (key AVG_KEY) and on the console ("avg: <centi> (<n> samples)"). The board
 * suspends it in bpf_ztimer_periodic_wakeup and resumes it on its clock, each slice under its own
 * instruction budget. Until 10 samples are in, the average is over those seen so far.
 * Returns -1 only when the board has no temperature sensor, -2 when a read fails.
 */
#include "femto.h"

#define WINDOW      10
#define PERIOD_US   1000000U
#define AVG_KEY     0x100

static int32_t to_centi(const phydat_t *p)
{
    int32_t v = p->val[0];
    int exp = p->scale + 2;
    int neg = v < 0;
    uint32_t mag = neg ? (uint32_t)-v : (uint32_t)v;
    for (; exp > 0; exp--) {
        mag *= 10;
    }
    for (; exp < 0 && mag != 0; exp++) {
        mag /= 10;
    }
    return neg ? -(int32_t)mag : (int32_t)mag;
}

/* eBPF before v4 has no signed division: divide the magnitude (rounds toward zero). */
static int32_t div_s32(int32_t num, uint32_t den)
{
    if (num < 0) {
        return -(int32_t)((uint32_t)-num / den);
    }
    return (int32_t)((uint32_t)num / den);
}

int moving_average(void *ctx)
{
    (void)ctx;
    int32_t window[WINDOW];
    int32_t sum = 0;
    uint32_t count = 0;
    uint32_t next = 0;

    bpf_saul_reg_t *sensor = bpf_saul_reg_find_type(SAUL_SENSE_TEMP);
    if (!sensor) {
        return -1;
    }

    uint32_t last_wakeup = bpf_ztimer_now();
    while (1) {
        phydat_t m;
        if (bpf_saul_reg_read(sensor, &m) < 0) {
            return -2;
        }
        int32_t sample = to_centi(&m);
        if (count == WINDOW) {
            sum -= window[next];
        }
        else {
            count++;
        }
        window[next] = sample;
        sum += sample;
        next = (next + 1 == WINDOW) ? 0 : next + 1;

        int32_t avg = div_s32(sum, count);
        bpf_store_global(AVG_KEY, (uint32_t)avg);
        bpf_printf("avg: %d (%u samples)\n", avg, count);

        bpf_ztimer_periodic_wakeup(&last_wakeup, PERIOD_US);
    }
    return 0;
}
