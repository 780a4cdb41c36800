/*
 * RIOT's container-side helper header path (`#include "bpf/bpfapi/helpers.h"`), so that
 * containers written for RIOT compile unchanged: every helper as a function pointer initialised
 * with its number, `bpf_saul_reg_t`, `ssize_t` (32-bit, as RIOT's) and, through bpf/shared.h and
 * phydat.h (which RIOT's header includes), the helper numbers, `bpf_coap_ctx_t` and `phydat_t`.
 * Everything is defined once, in femto.h.
 */
#ifndef FEMTO_SHIM_BPF_BPFAPI_HELPERS_H
#define FEMTO_SHIM_BPF_BPFAPI_HELPERS_H
#include "../shared.h"
#include "../../phydat.h"
#endif
