/* SPDX-License-Identifier: MIT */
/*
 * The block-tree traversal (walk.h) and buddy_range_walk. No recursion: the
 * split nodes above the current one live on a stack of at most 63 entries,
 * one per order, each remembering how many free leaves preceded it.
 */
#include "walk.h"

#include "layout.h"
#include "sync.h"

void buddy_tree_visit(const buddy_range *range, const tree_visitor *visitor, void *context) {
    uint64_t free_leaves_before[BUDDY_MAX_ORDER + 1];
    unsigned depth = 0;
    uint64_t free_leaves = 0;
    unsigned order = range->top_order;
    uint64_t index = 0;
    for (;;) {
        uint64_t start = index << order;
        uint64_t size = (uint64_t)1 << order;
        leaf_kind kind;
        if (start >= range->block_count) {
            kind = LEAF_BEYOND;
        } else if (order > 0 && node_test(range, order, index, SPLIT_BIT)) {
            if (visitor->open_split != NULL)
                visitor->open_split(context, depth);
            free_leaves_before[depth++] = free_leaves;
            order--;
            index <<= 1;
            continue;
        } else if (node_test(range, order, index, FREE_BIT)) {
            kind = LEAF_FREE;
        } else if (range->reservation_count != 0 &&
                   reservation_holding(range, start) < MAX_RESERVATIONS) {
            kind = LEAF_RESERVED;
        } else {
            bool marked = range->run_marks != 0 && piece_is_marked(range, order, index);
            kind = marked ? LEAF_RUN_PIECE : LEAF_LIVE;
        }
        free_leaves += kind == LEAF_FREE;
        if (!visitor->leaf(context, start, size, kind))
            return;
        /* Close every split node whose right child just finished. */
        while (depth > 0 && (index & 1u)) {
            depth--;
            if (visitor->close_split != NULL)
                visitor->close_split(context, depth, free_leaves > free_leaves_before[depth]);
            order++;
            index >>= 1;
        }
        if (depth == 0)
            return;
        index |= 1u; /* on to the right sibling */
    }
}

typedef struct walk_context {
    const buddy_range *range;
    buddy_range_visitor visitor;
    void *user;
    uint64_t run_start, run_size; /* the pieces of a run or reservation so far (0: none) */
} walk_context;

/* Reports each block, and each exact run and reservation as one block of its
 * size. */
static bool walk_leaf(void *context, uint64_t start, uint64_t size, leaf_kind kind) {
    walk_context *walk = context;
    const buddy_range *range = walk->range;
    if (kind == LEAF_BEYOND)
        return true;
    if (walk->run_size == 0)
        walk->run_start = start;
    walk->run_size += size;
    if (kind == LEAF_RUN_PIECE ||
        (kind == LEAF_RESERVED &&
         range->reservations[reservation_holding(range, start)][1] > start + size))
        return true;
    uint64_t run_start = walk->run_start, run_size = walk->run_size;
    walk->run_size = 0;
    buddy_block_state state = kind == LEAF_FREE   ? BUDDY_BLOCK_FREE
                              : kind == LEAF_LIVE ? BUDDY_BLOCK_LIVE
                                                  : BUDDY_BLOCK_RESERVED;
    unsigned shift = range->min_block_shift;
    return walk->visitor(run_start << shift, run_size << shift, state, walk->user) == 0;
}

int buddy_unlocked_walk(const buddy_range *range, buddy_range_visitor visitor, void *user) {
    if (range == NULL || visitor == NULL)
        return BUDDY_EINVAL;
    walk_context walk = {range, visitor, user, 0, 0};
    const tree_visitor leaves_only = {NULL, walk_leaf, NULL};
    buddy_tree_visit(range, &leaves_only, &walk);
    return BUDDY_OK;
}

int buddy_range_walk(const buddy_range *range, buddy_range_visitor visitor, void *user) {
    BUDDY_SYNCED(int, range, buddy_unlocked_walk(range, visitor, user));
}
