/*
 * RIOT's `bpf/shared.h` for containers written for RIOT: the helper numbers (BPF_FUNC_BPF_*),
 * the `__bpf_shared_ptr(type, name)` field macro and `bpf_coap_ctx_t`. Like RIOT's, it brings in
 * the fixed-width types and size_t. Everything is defined once, in femto.h.
 */
#ifndef FEMTO_SHIM_BPF_SHARED_H
#define FEMTO_SHIM_BPF_SHARED_H
#include "../femto.h"
#endif
