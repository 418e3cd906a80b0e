/* SPDX-License-Identifier: MIT */
/*
 * Where runs go (run.c says what they are): buddy_range_alloc_exact and
 * _alloc_packed, with and without an alignment. Compiled again with logged
 * stores for the shared range, as run.c is (src/shared/logged_run.c).
 *
 * An exact run goes across free blocks that follow each other where one of
 * the lowest free blocks of its largest order is followed by enough free min
 * blocks, else it is carved from the start of a block of the next order,
 * whose rest stays free. A packed run starts at a multiple of 2 min blocks
 * where its marks fit (run_fits_start), in the smallest free extent of those
 * it looks at that holds it (docs/design.md, "Placement" and "Packed runs").
 *
 * alloc_exact costs O(log n) word operations and O(log n) node tests per
 * free block it tries; alloc_packed O(log n) node tests per extent it widens.
 */
#include "range_core.h"
#include "sync.h"

/* The lowest multiple of `step` (a power of two) at or above `first` where a
 * run of `count` min blocks can start. */
static uint64_t run_start_from(uint64_t first, uint64_t step, uint64_t count) {
    uint64_t start = (first + step - 1u) & ~(step - 1u);
    return run_fits_start(start, count) ? start : start + 2u;
}

/* The lowest group of `order` at or after `group` that has a free node, or
 * NO_GROUP: climb the summary until a word has a set bit at or beyond the
 * path, then descend by ctz (I6). O(summary levels). */
static uint64_t next_group(const buddy_range *range, unsigned order, uint64_t group) {
    const uint64_t *words = range_words_const(range);
    const uint64_t *level_word = range->level_word[order];
    unsigned levels = range->orders[order].summary_levels, level = 0;
    uint64_t bits_here = range->orders[order].group_count;
    for (;;) {
        if (level == levels || group >= bits_here)
            return NO_GROUP;
        uint64_t word = words[level_word[level] + (group >> 6)] & (~(uint64_t)0 << (group & 63u));
        if (word != 0) {
            group = (group & ~(uint64_t)63) | bits_ctz(word);
            break;
        }
        group = (group >> 6) + 1;
        bits_here = bits_div_ceil_pow2(bits_here, 6);
        level++;
    }
    while (level-- > 0)
        group = (group << 6) | bits_ctz(words[level_word[level] + group]);
    return group;
}

/* The lowest free node of `order` at index `from` or above, or NO_GROUP. */
static uint64_t next_free(const buddy_range *range, unsigned order, uint64_t from) {
    const order_info *info = &range->orders[order];
    if (from >= info->node_count)
        return NO_GROUP; /* its group may lie beyond the order's words */
    uint64_t group = from >> info->group_shift;
    unsigned within = (unsigned)(from & (((uint64_t)1 << info->group_shift) - 1));
    uint64_t low = group_bits(range, order, group, 0), high = group_bits(range, order, group, 1);
    low = within < 64 ? low & (~(uint64_t)0 << within) : 0;
    high = within < 64 ? high : high & (~(uint64_t)0 << (within - 64));
    if (low == 0 && high == 0) {
        group = next_group(range, order, group + 1);
        if (group == NO_GROUP)
            return NO_GROUP;
        low = group_bits(range, order, group, 0);
        high = group_bits(range, order, group, 1);
    }
    return (group << info->group_shift) + (low != 0 ? bits_ctz(low) : 64u + bits_ctz(high));
}

int buddy_range_alloc_exact(buddy_range *range, uint64_t size, uint64_t *offset_out) {
    return buddy_range_alloc_exact_aligned(range, size, 1, offset_out);
}

/* True iff the first `need` min blocks of node (order, index) are free,
 * need below 2^order, the node before it being a free block: the node is free, or inside a free
 * block (climb while the nodes are blank: a split one means a live block is on the way), or split
 * with free blocks along its left spine (descend: a left half the need covers must be a free block,
 * since a split node is never all free). */
static bool rest_is_free(const buddy_range *range, unsigned order, uint64_t index, uint64_t need) {
    if (index >= range->orders[order].node_count)
        return false;
    if (!node_test(range, order, index, SPLIT_BIT)) {
        /* The climb ends by the lowest common ancestor with the free block
         * before the node, which is split as every ancestor of a block is. */
        for (unsigned up = order;; up++) {
            assert(up <= range->top_order);
            if (node_test(range, up, index >> (up - order), FREE_BIT))
                return true;
            if (up != order && node_test(range, up, index >> (up - order), SPLIT_BIT))
                return false;
        }
    }
    for (;;) { /* (order, index) is split */
        order--;
        index <<= 1;
        if (need >= (uint64_t)1 << order) {
            if (!node_test(range, order, index, FREE_BIT))
                return false;
            need -= (uint64_t)1 << order;
            index |= 1u;
            if (need == 0)
                return true;
        }
        if (node_test(range, order, index, FREE_BIT))
            return true;
        if (order == 0 || !node_test(range, order, index, SPLIT_BIT))
            return false;
    }
}

/* Carves the rest of a run, `need` min blocks, from the start of node
 * (order, index), which rest_is_free accepted: the path rest_is_free took,
 * with each free left half it crossed a marked piece, and the free node it
 * ended at carved as carve_run carves. */
static void carve_rest(buddy_range *range, unsigned order, uint64_t index, uint64_t need) {
    if (node_test(range, order, index, SPLIT_BIT)) {
        for (;;) {
            order--;
            index <<= 1;
            if (need >= (uint64_t)1 << order) {
                free_remove(range, order, index);
                need -= (uint64_t)1 << order;
                if (need == 0)
                    return;
                buddy_run_mark(range, order, index);
                index |= 1u;
            }
            if (node_test(range, order, index, FREE_BIT))
                break;
        }
        free_remove(range, order, index);
    } else {
        buddy_carve_piece(range, index << order, order); /* inside a free block */
    }
    buddy_run_carve(range, order, index, need);
}

/* Places a run of `count` min blocks, not a power of two, across free blocks
 * that follow each other: at a free block of its largest piece's order whose
 * next min blocks are free for the rest. Tries the lowest
 * BUDDY_RUN_FIT_TRIES such blocks, in address order, in the lowest one's
 * group or the next: a farther one costs a miss or two of its own, and
 * rarely fits (the lowest free blocks that stay free are those that fit no
 * run). */
static bool place_across(buddy_range *range, uint64_t count, uint64_t *first_out) {
    unsigned piece = bits_log2_floor(count);
    if (range->orders[piece].free_count == 0)
        return false;
    node_ref ref;
    uint64_t others;
    uint64_t index = lowest_free(range, piece, &ref, &others);
    uint64_t need = count - ((uint64_t)1 << piece);
    unsigned shift = range->orders[piece].group_shift;
    uint64_t window_end = ((index >> shift) + 2u) << shift;
    for (unsigned tries = 1; !rest_is_free(range, piece, index + 1, need); tries++) {
        index = next_free(range, piece, index + 1); /* NO_GROUP is past any window */
        if (index >= window_end || tries == BUDDY_RUN_FIT_TRIES)
            return false;
    }
    free_remove(range, piece, index);
    buddy_run_mark(range, piece, index);
    carve_rest(range, piece, index + 1, need);
    *first_out = index << piece;
    return true;
}

/* The order of the free block that starts at min block `first` (> 0), where
 * a free block ends, or -1 if none does (or `first` is the capacity). The
 * node of order ctz(first) there is in the tree: its parent holds the free
 * block before it too, so it is split. The free block, if any, is on that
 * node's left spine, and stored (only nodes wholly beyond the capacity are
 * not). */
static int free_block_starting(const buddy_range *range, uint64_t first) {
    if (first >= range->block_count)
        return -1;
    unsigned order = bits_ctz(first);
    for (uint64_t index = first >> order;; order--, index <<= 1) {
        if (node_test(range, order, index, FREE_BIT))
            return (int)order;
        if (order == 0 || !node_test(range, order, index, SPLIT_BIT))
            return -1; /* live */
    }
}

/* The order of the free block that ends at min block `end` (0 < end <
 * block_count), where a free block starts, or -1: as free_block_starting,
 * on the right spine of the node of order ctz(end) before `end`. */
static int free_block_ending(const buddy_range *range, uint64_t end) {
    unsigned order = bits_ctz(end);
    for (uint64_t index = (end - 1) >> order;; order--, index = (index << 1) | 1u) {
        if (node_test(range, order, index, FREE_BIT))
            return (int)order;
        if (order == 0 || !node_test(range, order, index, SPLIT_BIT))
            return -1;
    }
}

/* The lowest min block of the free extent that holds free min blocks
 * [first, end), or as far down as makes them `limit` min blocks or more: the
 * free blocks that end where it starts, each found by free_block_ending. */
static uint64_t widen_down(const buddy_range *range, uint64_t first, uint64_t end, uint64_t limit) {
    for (int before;
         end - first < limit && first > 0 && (before = free_block_ending(range, first)) >= 0;)
        first -= (uint64_t)1 << before;
    return first;
}

/* The free extent that holds free block (order, index): the maximal run of
 * free min blocks [*first_out, *end_out), or as much of it as makes it
 * `limit` min blocks or more. Its free blocks rise, then fall, so there are
 * at most 2 log n of them; O(log n) node tests in all. */
static void free_extent(const buddy_range *range, unsigned order, uint64_t index, uint64_t limit,
                        uint64_t *first_out, uint64_t *end_out) {
    uint64_t first = index << order, end = (index + 1) << order;
    first = widen_down(range, first, end, limit);
    for (int after; end - first < limit && (after = free_block_starting(range, end)) >= 0;)
        end += (uint64_t)1 << after;
    *first_out = first;
    *end_out = end;
}

/* Places a packed run of `count` min blocks (5 or more, largest piece of
 * order m >= 2) at a multiple of `step` (2 or more, a power of two): of the
 * lowest BUDDY_RUN_FIT_TRIES free blocks of order m - 1, then of order m, in
 * address order, the one whose free extent is smallest among those that hold
 * the run at their lowest start (run_start_from; the first such on a tie);
 * the run goes there. Every extent that holds the run holds a free block of
 * order m - 1 or more. */
static bool place_packed(buddy_range *range, uint64_t count, uint64_t step, uint64_t *first_out) {
    unsigned largest = bits_log2_floor(count);
    uint64_t best_size = UINT64_MAX, best_first = 0;
    for (unsigned order = largest - 1; order <= largest; order++) {
        if (range->orders[order].free_count == 0)
            continue;
        node_ref ref;
        uint64_t others, first = 0, end = 0;
        uint64_t index = lowest_free(range, order, &ref, &others);
        for (unsigned tries = 0; index != NO_GROUP && tries < BUDDY_RUN_FIT_TRIES; tries++) {
            free_extent(range, order, index, best_size, &first, &end); /* no larger one wins */
            uint64_t start = run_start_from(first, step, count);
            if (start + count <= end && end - first < best_size) {
                best_size = end - first;
                best_first = start;
            }
            index = next_free(range, order, index + 1);
        }
    }
    if (best_size == UINT64_MAX)
        return false;
    buddy_run_carve_region(range, best_first, count);
    *first_out = best_first;
    return true;
}

/* Places a packed run of `count` min blocks at a multiple of `step` where
 * place_packed or a free block of the count's order could not: in the free
 * extent around the free block of order `least` or more that the policy
 * takes, at the extent's lowest start (run_start_from). That block's order
 * exceeds floor(log2 count) and is at least step's and 2 (or it is the one
 * block of the largest order, at 0), so that start is at or below its start,
 * the block holds the rest of the run, and the extent is not cut in two. */
static bool place_in_fitting_extent(buddy_range *range, unsigned least, uint64_t step,
                                    uint64_t count, uint64_t *first_out) {
    unsigned order = 0;
    if (!fitting_order(range, least, &order))
        return false;
    node_ref ref;
    uint64_t others;
    uint64_t index = lowest_free(range, order, &ref, &others);
    uint64_t first = widen_down(range, index << order, (index + 1) << order, UINT64_MAX);
    first = run_start_from(first, step, count);
    buddy_run_carve_region(range, first, count);
    *first_out = first;
    return true;
}

/* Carves a run of `count` min blocks from the start of a free block of at
 * least `order` (which holds it) that the policy takes. */
static int carve_from_fitting_block(buddy_range *range, unsigned order, uint64_t count,
                                    uint64_t *offset_out) {
    unsigned found = 0;
    uint64_t index = 0;
    if (!take_fitting_block(range, order, &found, &index))
        return BUDDY_ENOMEM;
    buddy_run_carve(range, found, index, count);
    count_allocation(range, count);
    *offset_out = (index << found) << range->min_block_shift;
    return BUDDY_OK;
}

/* Checks a request for an exact or packed run of `size` at `alignment`:
 * BUDDY_OK and its min blocks in *count_out, or the status that rejects it
 * (a size beyond the largest block counts as a failed allocation). */
static int checked_run_blocks(buddy_range *range, uint64_t size, uint64_t alignment,
                              const uint64_t *offset_out, uint64_t *count_out) {
    if (range == NULL || offset_out == NULL || !bits_is_pow2(alignment))
        return BUDDY_EINVAL;
    if (exceeds_largest_block(range, size)) {
        count_failure(range);
        return BUDDY_ETOOBIG;
    }
    *count_out = run_blocks(size, range->min_block_shift);
    return BUDDY_OK;
}

static int unlocked_alloc_exact_aligned(buddy_range *range, uint64_t size, uint64_t alignment,
                                        uint64_t *offset_out) {
    uint64_t count = 0, first = 0;
    int status = checked_run_blocks(range, size, alignment, offset_out, &count);
    if (status != BUDDY_OK)
        return status;
    unsigned order = bits_log2_floor(count) + !bits_is_pow2(count);
    if (order == bits_log2_floor(count) + 1u &&
        buddy_aligned_order(range, order - 1u, alignment) == order - 1u &&
        place_across(range, count, &first)) {
        count_allocation(range, count);
        *offset_out = first << range->min_block_shift;
        return BUDDY_OK;
    }
    /* Else no block of the count's power-of-two order: BUDDY_ENOMEM. */
    return carve_from_fitting_block(range, buddy_aligned_order(range, order, alignment), count,
                                    offset_out);
}

int buddy_range_alloc_exact_aligned(buddy_range *range, uint64_t size, uint64_t alignment,
                                    uint64_t *offset_out) {
    BUDDY_SYNCED(int, range, unlocked_alloc_exact_aligned(range, size, alignment, offset_out));
}

static int unlocked_alloc_packed_aligned(buddy_range *range, uint64_t size, uint64_t alignment,
                                         uint64_t *offset_out) {
    uint64_t count = 0, first = 0;
    int status = checked_run_blocks(range, size, alignment, offset_out, &count);
    if (status != BUDDY_OK)
        return status;
    /* The step between starts: the alignment in min blocks (beyond the largest
     * block, only 0 is a multiple, as the one block of the capped order is at
     * 0), and at least 2, or a count of 1, 2 or 4 itself. */
    unsigned order = bits_log2_floor(count), aligned = buddy_aligned_order(range, 0, alignment);
    assert(order < 64u); /* count is not 0 */
    unsigned least = order + 1u > aligned ? order + 1u : aligned;
    uint64_t in_blocks = alignment >> range->min_block_shift, least_step = count <= 4 ? count : 2u;
    uint64_t step = in_blocks > least_step ? in_blocks : least_step;
    if (count <= 4 && step == count && range->orders[order].free_count != 0)
        first = take_lowest_free(range, order) << order; /* a plain block */
    else if (!(count > 4 && place_packed(range, count, step, &first)) &&
             !place_in_fitting_extent(range, least, step, count, &first))
        return BUDDY_ENOMEM;
    count_allocation(range, count);
    *offset_out = first << range->min_block_shift;
    return BUDDY_OK;
}

int buddy_range_alloc_packed_aligned(buddy_range *range, uint64_t size, uint64_t alignment,
                                     uint64_t *offset_out) {
    BUDDY_SYNCED(int, range, unlocked_alloc_packed_aligned(range, size, alignment, offset_out));
}

int buddy_range_alloc_packed(buddy_range *range, uint64_t size, uint64_t *offset_out) {
    return buddy_range_alloc_packed_aligned(range, size, 1, offset_out);
}
