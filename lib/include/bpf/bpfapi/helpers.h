/*
 * RIOT's container-side helper header path (`#include "bpf/bpfapi/helpers.h"`), so that
 * containers written for RIOT compile unchanged: everything is in femto.h.
 */
#ifndef FEMTO_SHIM_BPF_BPFAPI_HELPERS_H
#define FEMTO_SHIM_BPF_BPFAPI_HELPERS_H
#include "../../femto.h"
#endif
