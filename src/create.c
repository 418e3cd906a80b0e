/* SPDX-License-Identifier: MIT */
/*
 * The one place the library calls malloc: a convenience constructor that puts
 * a range's metadata on the C heap, cache-line aligned for the tiles.
 */
#include <stdlib.h>

#include "buddy.h"

int buddy_range_create(buddy_range **range_out, uint64_t capacity, uint64_t min_block_size,
                       buddy_policy policy) {
    if (range_out == NULL)
        return BUDDY_EINVAL;
    size_t size = buddy_range_metadata_size(capacity, min_block_size);
    if (size == 0)
        return BUDDY_EGEOMETRY;
    void *metadata = aligned_alloc(64, (size + 63u) / 64u * 64u);
    if (metadata == NULL)
        return BUDDY_ENOMEM;
    int status = buddy_range_init(range_out, metadata, size, capacity, min_block_size, policy);
    if (status != BUDDY_OK)
        free(metadata);
    return status;
}

void buddy_range_destroy(buddy_range *range) {
    free(range); /* the handle is the start of the metadata block */
}
