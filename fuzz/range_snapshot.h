/* SPDX-License-Identifier: MIT */
/*
 * The fuzz targets' test that a rejected call changed nothing: a range's
 * metadata against a copy taken before the call, every byte but the
 * diagnostic counters (alloc_failures .. rejected_frees), the only bytes a
 * rejected call may change.
 */
#ifndef BUDDY_FUZZ_RANGE_SNAPSHOT_H
#define BUDDY_FUZZ_RANGE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "layout.h"

static inline bool range_same_but_counters(const unsigned char *before, const buddy_range *range) {
    size_t counters = offsetof(struct buddy_range, alloc_failures);
    size_t after = offsetof(struct buddy_range, rejected_frees) + sizeof(uint64_t);
    const unsigned char *now = (const unsigned char *)range;
    return memcmp(before, now, counters) == 0 &&
           memcmp(before + after, now + after, (size_t)range->metadata_size - after) == 0;
}

#endif /* BUDDY_FUZZ_RANGE_SNAPSHOT_H */
