/*
 * The Femto-Container library's spelling of bpf/shared.h (`#include "femtocontainer/shared.h"`,
 * as RIOT's pkg_femto-container test container writes it): `__bpf_shared_ptr` and the helper
 * numbers. Everything is defined once, in femto.h.
 */
#ifndef FEMTO_SHIM_FEMTOCONTAINER_SHARED_H
#define FEMTO_SHIM_FEMTOCONTAINER_SHARED_H
#include "../femto.h"
#endif
