/*
 * coap_formatter: answer a CoAP request with the board temperature as text. Hook: CoAP request
 * (bpf_coap_ctx_t, as RIOT's gcoap resource handler container). The response is
 * 2.05 Content, Content-Format text/plain (0), payload "21.50" for 21.50 °C.
 * Returns the response length (header + options + payload marker + payload), or
 * -(5 << 5) (5.00) when there is no temperature sensor.
 */
#include "femto.h"

static int16_t to_centi(const phydat_t *p)
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
    return (int16_t)(neg ? -(int32_t)mag : (int32_t)mag);
}

int coap_resp(bpf_coap_ctx_t *gcoap)
{
    bpf_saul_reg_t *sensor;
    phydat_t measurement;

    sensor = bpf_saul_reg_find_type(SAUL_SENSE_TEMP);
    if (!sensor || bpf_saul_reg_read(sensor, &measurement) < 0) {
        return -(5 << 5);
    }

    bpf_gcoap_resp_init(gcoap, COAP_CODE_CONTENT);
    bpf_coap_add_format(gcoap, COAP_FORMAT_TEXT);
    ssize_t pdu_len = bpf_coap_opt_finish(gcoap, COAP_OPT_FINISH_PAYLOAD);
    uint8_t *payload = bpf_coap_get_pdu(gcoap);

    pdu_len += bpf_fmt_s16_dfp((char *)payload, to_centi(&measurement), -2);
    return pdu_len;
}
