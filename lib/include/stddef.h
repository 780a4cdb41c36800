/* stddef.h for containers: there is no libc (-nostdinc); the types come from femto.h. */
#ifndef FEMTO_SHIM_STDDEF_H
#define FEMTO_SHIM_STDDEF_H
#include "femto.h"
#endif
