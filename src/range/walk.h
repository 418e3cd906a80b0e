/* SPDX-License-Identifier: MIT */
/*
 * An iterative traversal of the block tree in prefix (address) order, shared
 * by buddy_range_walk and the renderer. Units are min blocks.
 */
#ifndef BUDDY_WALK_H
#define BUDDY_WALK_H

#include <stdbool.h>
#include <stdint.h>

#include "buddy.h"

/* LEAF_RUN_PIECE: a live piece of an exact run that another piece follows;
 * LEAF_RESERVED: a block of a reservation. */
typedef enum leaf_kind {
    LEAF_FREE,
    LEAF_LIVE,
    LEAF_BEYOND,
    LEAF_RUN_PIECE,
    LEAF_RESERVED
} leaf_kind;

typedef struct tree_visitor {
    /* A split node opens; `depth` counts the split nodes above it. */
    void (*open_split)(void *context, unsigned depth);
    /* A leaf: a free or live block, or a node beyond the capacity. False stops. */
    bool (*leaf)(void *context, uint64_t start, uint64_t size, leaf_kind kind);
    /* The split node at `depth` closes; has_free: a free block is below it. */
    void (*close_split)(void *context, unsigned depth, bool has_free);
} tree_visitor;

void buddy_tree_visit(const buddy_range *range, const tree_visitor *visitor, void *context);

#endif /* BUDDY_WALK_H */
