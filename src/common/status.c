/* SPDX-License-Identifier: MIT */
/* Names of the status codes, and the library version. */
#include "buddy.h"

#define BUDDY_STRINGIFY2(x) #x
#define BUDDY_STRINGIFY(x) BUDDY_STRINGIFY2(x)

const char *buddy_version(void) {
    return BUDDY_STRINGIFY(BUDDY_VERSION_MAJOR) "." BUDDY_STRINGIFY(
        BUDDY_VERSION_MINOR) "." BUDDY_STRINGIFY(BUDDY_VERSION_PATCH);
}

const char *buddy_status_str(int status) {
    switch (status) {
    case BUDDY_OK:
        return "BUDDY_OK: success";
    case BUDDY_EINVAL:
        return "BUDDY_EINVAL: a required pointer is NULL or an argument is out of its domain";
    case BUDDY_EGEOMETRY:
        return "BUDDY_EGEOMETRY: capacity and min block size make no usable range";
    case BUDDY_ESMALL:
        return "BUDDY_ESMALL: the metadata buffer is too small";
    case BUDDY_ETOOBIG:
        return "BUDDY_ETOOBIG: the request exceeds the largest block of the range";
    case BUDDY_ENOMEM:
        return "BUDDY_ENOMEM: no free block is large enough";
    case BUDDY_ERANGE:
        return "BUDDY_ERANGE: the offset is beyond the capacity";
    case BUDDY_EALIGN:
        return "BUDDY_EALIGN: the offset is not a multiple of the min block size";
    case BUDDY_ENOTSTART:
        return "BUDDY_ENOTSTART: the offset lies inside a block, not at its start";
    case BUDDY_ENOTLIVE:
        return "BUDDY_ENOTLIVE: the block at the offset is already free";
    case BUDDY_ECORRUPT:
        return "BUDDY_ECORRUPT: the metadata breaks an invariant";
    case BUDDY_EBUSY:
        return "BUDDY_EBUSY: the region is not all free";
    case BUDDY_ERESERVED:
        return "BUDDY_ERESERVED: the offset lies in a reserved region";
    case BUDDY_EVERSION:
        return "BUDDY_EVERSION: the shared segment was made by another version of its format";
    default:
        return "unknown buddy status";
    }
}
