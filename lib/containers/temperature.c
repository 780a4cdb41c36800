/*
 * temperature: read the board's temperature sensor through SAUL and return it in centi-degrees
 * Celsius (21.5 °C -> 2150), printing "temp: <centi> centi-degC" on the console.
 * Hook: any (the context is not used); timer is the natural one. Returns -1 when the board has
 * no temperature sensor, -2 when the read fails, -3 when the unit is not °C.
 *
 * SAUL readings are val[0] * 10^scale: this scales to 10^-2 whatever the sensor's scale is
 * (e.g. a sensor reporting 2150e-2, 215e-1 or 21500e-3 all give 2150; truncation toward zero).
 */
#include "femto.h"

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

int temperature(void *ctx)
{
    (void)ctx;
    bpf_saul_reg_t *sensor = bpf_saul_reg_find_type(SAUL_SENSE_TEMP);
    if (!sensor) {
        return -1;
    }
    phydat_t m;
    if (bpf_saul_reg_read(sensor, &m) < 0) {
        return -2;
    }
    if (m.unit != UNIT_TEMP_C) {
        return -3;
    }
    int32_t centi = to_centi(&m);
    bpf_printf("temp: %d centi-degC\n", centi);
    return centi;
}
