/* SPDX-License-Identifier: MIT */
/*
 * The seed face: the educational BuddyMemoryManager's contract (malloc gives
 * -1 on failure, free gives a bool, size gives -1) mapped onto the range API.
 * The seed's placement is exactly BUDDY_FIRST_FIT with min block 1.
 */
#include "buddy.h"
#include "bits.h"

int buddy_seed_create(buddy_range **range_out, uint64_t size) {
    if (!bits_is_pow2(size))
        return BUDDY_EGEOMETRY;
    return buddy_range_create(range_out, size, 1, BUDDY_FIRST_FIT);
}

int64_t buddy_seed_malloc(buddy_range *range, int64_t n) {
    uint64_t offset = 0;
    if (n < 0 || buddy_range_alloc(range, (uint64_t)n, &offset) != BUDDY_OK)
        return -1;
    return (int64_t)offset;
}

bool buddy_seed_free(buddy_range *range, int64_t start) {
    return start >= 0 && buddy_range_free(range, (uint64_t)start) == BUDDY_OK;
}

int64_t buddy_seed_size(const buddy_range *range, int64_t start) {
    uint64_t size = 0;
    if (start < 0 || buddy_range_size(range, (uint64_t)start, &size) != BUDDY_OK)
        return -1;
    return (int64_t)size;
}
