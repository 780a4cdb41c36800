/*
 * threshold: a temperature alarm. Hook: sensor sample (femto_sensor_ctx_t). When a temperature
 * sample is above 25.00 °C the first LED (the board's first SAUL_ACT_SWITCH) is switched on,
 * otherwise off. The LED is written on every sample; the console gets one line per change of
 * state ("alarm on: 2612" / "alarm off: 2499"), the state being kept in the local store (key 1).
 *
 * Returns 1 when the alarm is on, 0 when off, -1 for a sample that is not a temperature,
 * -2 when the board has no LED.
 */
#include "femto.h"

#define THRESHOLD_CENTI   2500
#define STATE_KEY         1

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

int threshold(femto_sensor_ctx_t *ctx)
{
    if (ctx->type != SAUL_SENSE_TEMP) {
        return -1;
    }
    int32_t centi = to_centi(&ctx->sample);
    uint32_t on = centi > THRESHOLD_CENTI;

    bpf_saul_reg_t *led = bpf_saul_reg_find_type(SAUL_ACT_SWITCH);
    if (!led) {
        return -2;
    }
    phydat_t out = { .val = { (int16_t)on, 0, 0 }, .unit = UNIT_BOOL, .scale = 0 };
    bpf_saul_reg_write(led, &out);

    uint32_t was = 0;
    bpf_fetch_local(STATE_KEY, &was);
    if (was != on) {
        bpf_store_local(STATE_KEY, on);
        bpf_printf(on ? "alarm on: %d\n" : "alarm off: %d\n", centi);
    }
    return (int)on;
}
