/*
 * RIOT's `bpf/shared.h` (helper numbers, bpf_coap_ctx_t) for containers written for RIOT:
 * everything is in femto.h.
 */
#ifndef FEMTO_SHIM_BPF_SHARED_H
#define FEMTO_SHIM_BPF_SHARED_H
#include "../femto.h"
#endif
