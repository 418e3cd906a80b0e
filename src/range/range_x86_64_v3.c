/* SPDX-License-Identifier: MIT */
/*
 * The range's alloc and free compiled for x86-64-v3 (the build adds
 * -march=x86-64-v3 to this file alone). Only range.c calls them, and only on
 * a CPU that has x86-64-v3 (dispatch.h).
 */
#include "dispatch.h"
#include "range_core.h"

#if BUDDY_HAVE_X86_64_V3
int buddy_range_alloc_x86_64_v3(buddy_range *range, uint64_t size, uint64_t *offset_out) {
    return range_alloc(range, size, offset_out);
}

int buddy_range_alloc_aligned_x86_64_v3(buddy_range *range, uint64_t size, uint64_t alignment,
                                        uint64_t *offset_out) {
    return range_alloc_aligned(range, size, alignment, offset_out);
}

int buddy_range_free_x86_64_v3(buddy_range *range, uint64_t offset) {
    return range_free(range, offset);
}
#endif
