/*
 * RIOT's `phydat.h` path (RIOT's bpfapi/helpers.h includes it): `phydat_t`, PHYDAT_DIM/MIN/MAX and
 * the UNIT_* constants, all defined in femto.h.
 */
#ifndef FEMTO_SHIM_PHYDAT_H
#define FEMTO_SHIM_PHYDAT_H
#include "femto.h"
#endif
