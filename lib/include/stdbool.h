/* stdbool.h for containers: there is no libc (-nostdinc); the types come from femto.h. */
#ifndef FEMTO_SHIM_STDBOOL_H
#define FEMTO_SHIM_STDBOOL_H
#include "femto.h"
#endif
