/* SPDX-License-Identifier: MIT */
/*
 * The one place the library calls malloc: a convenience constructor that puts
 * a range's metadata on the C heap, cache-line aligned for the tiles.
 */
#include <stdlib.h>

#include "buddy.h"

int buddy_range_create_config(buddy_range **range_out, const buddy_range_config *config) {
    if (range_out == NULL || config == NULL)
        return BUDDY_EINVAL;
    if ((config->flags & ~(unsigned)(BUDDY_RANGE_USER_DATA | BUDDY_RANGE_THREAD_SAFE)) != 0)
        return BUDDY_EINVAL; /* as init_config says (sizing would say EGEOMETRY) */
    size_t size = buddy_range_metadata_size_config(config);
    if (size == 0)
        return BUDDY_EGEOMETRY;
    void *metadata = aligned_alloc(64, (size + 63u) / 64u * 64u);
    if (metadata == NULL)
        return BUDDY_ENOMEM;
    int status = buddy_range_init_config(range_out, metadata, size, config);
    if (status != BUDDY_OK)
        free(metadata);
    return status;
}

int buddy_range_create(buddy_range **range_out, uint64_t capacity, uint64_t min_block_size,
                       buddy_policy policy) {
    buddy_range_config config = {capacity, capacity, min_block_size, policy, 0, NULL, NULL, NULL};
    return buddy_range_create_config(range_out, &config);
}

void buddy_range_destroy(buddy_range *range) {
    free(range); /* the handle is the start of the metadata block */
}
