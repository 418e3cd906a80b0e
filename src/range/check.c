/* SPDX-License-Identifier: MIT */
/*
 * buddy_range_check: verifies every numbered invariant of docs/design.md over
 * the whole metadata. It trusts nothing it can recompute: the layout is planned
 * again from the geometry, every node of the tree is classified in a walk from
 * the root, every stored bit is accounted for, and the counters and summaries
 * are rebuilt and compared. O(metadata size): the walk visits only the nodes
 * in the tree, and the rest is a pass over the words.
 */
#include <string.h>

#include "layout.h"
#include "sync.h"

#define REQUIRE(condition)                                                                         \
    do {                                                                                           \
        if (!(condition))                                                                          \
            return BUDDY_ECORRUPT;                                                                 \
    } while (0)

static unsigned popcount64(uint64_t word) {
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_popcountll(word);
#else
    unsigned count = 0;
    for (; word != 0; word &= word - 1)
        count++;
    return count;
#endif
}

/* I1: the header matches the plan of its own geometry. */
static int check_header(const buddy_range *range) {
    REQUIRE(range->magic == RANGE_MAGIC);
    REQUIRE(range->policy == BUDDY_BEST_FIT || range->policy == BUDDY_FIRST_FIT);
    REQUIRE(range->min_block_shift < 64 && range->max_block_count <= UINT64_MAX >> 1);
    struct buddy_range plan;
    unsigned shift = range->min_block_shift;
    uint64_t planned_words =
        buddy_layout_plan(&plan, range->capacity, range->max_block_count << shift,
                          (uint64_t)1 << shift, range->user_data_word != 0);
    REQUIRE(planned_words != 0 && planned_words * 8u == range->metadata_size);
    REQUIRE(plan.capacity == range->capacity && plan.block_count == range->block_count);
    REQUIRE(plan.max_block_count == range->max_block_count);
    REQUIRE(plan.user_data_word == range->user_data_word);
    REQUIRE(slow_free_bits(range) == range->slow_free);
    REQUIRE(plan.top_order == range->top_order && plan.max_free_order == range->max_free_order);
    REQUIRE(plan.flat_word == range->flat_word);
    REQUIRE(memcmp(plan.band_word, range->band_word, sizeof plan.band_word) == 0);
    REQUIRE(memcmp(plan.level_word, range->level_word, sizeof plan.level_word) == 0);
    REQUIRE(range->unused == 0);
    for (unsigned order = 0; order <= BUDDY_MAX_ORDER; order++) {
        const order_info *have = &range->orders[order];
        order_info want = plan.orders[order]; /* all but the state (I7, I10) */
        want.free_count = have->free_count;
        want.first_group = have->first_group;
        REQUIRE(memcmp(&want, have, sizeof want) == 0);
        REQUIRE(order <= range->top_order || have->free_count == 0);
    }
    return BUDDY_OK;
}

/* I14: the sync tail. A known mode with hooks iff SYNC_HOOKS (both of them,
 * verified by buddy_range_check before it took the lock); the built-in lock
 * word held (by this check, which runs under it: 1, or 2 with waiters) iff
 * the mode is SYNC_BUILT_IN; the rest zero. */
static int check_sync(const buddy_range *range) {
    bool hooks = range->sync == SYNC_HOOKS;
    REQUIRE(hooks ||
            (range->lock_hook == 0 && range->unlock_hook == 0 && range->lock_context == 0));
    uint32_t word = __atomic_load_n(&range->lock_word, __ATOMIC_RELAXED); /* waiters write it */
    REQUIRE(range->sync == SYNC_BUILT_IN ? word - 1u <= 1u : word == 0);
    for (unsigned i = 0; i < SYNC_PADDING_WORDS; i++)
        REQUIRE(range->lock_padding[i] == 0);
    for (unsigned i = 0; i < sizeof range->lock_unused / sizeof range->lock_unused[0]; i++)
        REQUIRE(range->lock_unused[i] == 0);
    return BUDDY_OK;
}

static bool split_bit(const buddy_range *range, unsigned order, uint64_t index) {
    return order > 0 && node_test(range, order, index, SPLIT_BIT);
}

/* A node is in the tree iff it is the root or its parent is a real split node:
 * split, with a split parent (or the root). A split node whose parent is not
 * split is a mark (I11); whatever lies below a mark must be blank, which the
 * check of that node itself verifies, so one level up is enough. */
static bool in_tree(const buddy_range *range, unsigned order, uint64_t index) {
    unsigned parent = order + 1;
    return order == range->top_order ||
           (split_bit(range, parent, index >> 1) &&
            (parent == range->top_order || split_bit(range, parent + 1, index >> 2)));
}

/* I11: a live block starts at min block `first`, the end of a piece (so not
 * 0): the leaf of the tree that holds `first`, found among the orders a
 * block starting there can have (up to ctz(first)). */
static bool live_piece_at(const buddy_range *range, uint64_t first) {
    unsigned highest = bits_ctz(first) < range->top_order ? bits_ctz(first) : range->top_order;
    for (unsigned order = highest + 1; order-- > 0;) {
        uint64_t index = first >> order;
        if (index < range->orders[order].node_count && in_tree(range, order, index) &&
            !split_bit(range, order, index))
            return !node_test(range, order, index, FREE_BIT);
    }
    return false;
}

/* I12: the reservations are sorted, disjoint, within the capacity and count
 * their min blocks; the table's unused entries are zero. */
static int check_reservations(const buddy_range *range) {
    REQUIRE(range->reservation_count <= MAX_RESERVATIONS);
    uint64_t reserved = 0, previous_end = 0;
    for (unsigned i = 0; i < MAX_RESERVATIONS; i++) {
        uint64_t first = range->reservations[i][0], end = range->reservations[i][1];
        if (i >= range->reservation_count) {
            REQUIRE(first == 0 && end == 0);
            continue;
        }
        REQUIRE(first >= previous_end && first < end && end <= range->block_count);
        reserved += end - first;
        previous_end = end;
    }
    REQUIRE(reserved == range->reserved_blocks);
    return BUDDY_OK;
}

/* I12 for a leaf: a free leaf lies outside every reservation; a live one lies
 * wholly inside one (true: `reserved`) or outside all, and is not marked if
 * inside. */
static bool leaf_fits_reservations(const buddy_range *range, unsigned order, uint64_t index,
                                   bool is_free, bool *reserved_out) {
    uint64_t first = index << order, end = (index + 1) << order;
    *reserved_out = false;
    for (unsigned i = 0; i < range->reservation_count; i++) {
        uint64_t low = range->reservations[i][0], high = range->reservations[i][1];
        if (end <= low || first >= high)
            continue;
        if (is_free || first < low || end > high || piece_is_marked(range, order, index))
            return false;
        *reserved_out = true;
    }
    return true;
}

/* What check_nodes counts while it walks the tree. */
typedef struct tally {
    uint64_t bits_seen; /* node bits and marks accounted for */
    uint64_t live_pieces, marks, reserved_blocks, allocated_blocks, free_blocks;
    uint64_t free_count[BUDDY_MAX_ORDER + 1];
} tally;

/* I11, I12: counts leaf (order, index), a node of the tree that is not split:
 * a reserved, live or free block. */
static int count_leaf(const buddy_range *range, unsigned order, uint64_t index, bool is_free,
                      tally *counts) {
    bool reserved = false;
    REQUIRE(leaf_fits_reservations(range, order, index, is_free, &reserved)); /* I12 */
    if (reserved) {
        counts->reserved_blocks += (uint64_t)1 << order;
    } else if (!is_free) {
        counts->live_pieces++;
        counts->allocated_blocks += (uint64_t)1 << order;
        if (piece_is_marked(range, order, index)) { /* a live piece must follow (I11) */
            REQUIRE(live_piece_at(range, (index + 1) << order));
            counts->marks++;
            counts->bits_seen++;
        }
    } else {
        counts->free_count[order]++;
        counts->free_blocks += (uint64_t)1 << order;
    }
    return BUDDY_OK;
}

/* I7..I9, I11, I12: the counts the walk rebuilt against the header's. */
static int check_counts(const buddy_range *range, const tally *counts) {
    uint64_t nonempty_orders = 0;
    for (unsigned order = 0; order <= range->top_order; order++) {
        REQUIRE(counts->free_count[order] == range->orders[order].free_count); /* I7 */
        nonempty_orders |= (uint64_t)(counts->free_count[order] != 0) << order;
    }
    REQUIRE(nonempty_orders == range->nonempty_orders);                 /* I7 */
    REQUIRE(counts->marks == range->run_marks);                         /* I11 */
    REQUIRE(counts->live_pieces - counts->marks == range->live_blocks); /* I8: a run is one */
    REQUIRE(counts->allocated_blocks == range->allocated_blocks);       /* I8 */
    REQUIRE(counts->reserved_blocks == range->reserved_blocks);         /* I12 */
    REQUIRE(counts->allocated_blocks + counts->free_blocks + counts->reserved_blocks ==
            range->block_count);                                       /* I8 */
    REQUIRE(range->peak_allocated_blocks >= counts->allocated_blocks); /* I9 */
    return BUDDY_OK;
}

/* I2, I4, I5, I7..I9, I11, I12: a walk over the tree, from the root down
 * through the split nodes, classifying every node in it; the counts are
 * rebuilt. Every bit it accounts for (a node's own bits, and each mark) is
 * added to *bits_seen_out, so a bit anywhere else (I3) shows as a difference
 * in check_no_stray_bits. O(nodes in the tree). */
static int check_nodes(const buddy_range *range, uint64_t *bits_seen_out) {
    tally counts;
    memset(&counts, 0, sizeof counts);
    /* Depth-first: at most one pending right child per order, and the root. */
    struct {
        unsigned order;
        uint64_t index;
    } pending[BUDDY_MAX_ORDER + 2];
    unsigned depth = 0;
    pending[depth].order = range->top_order;
    pending[depth++].index = 0;
    while (depth > 0) {
        depth--;
        unsigned order = pending[depth].order;
        uint64_t index = pending[depth].index;
        bool is_free = node_test(range, order, index, FREE_BIT);
        bool is_split = split_bit(range, order, index);
        bool straddles = ((index + 1) << order) > range->block_count;
        REQUIRE(!(is_free && is_split));    /* I2 */
        REQUIRE(!(straddles && !is_split)); /* I4 */
        counts.bits_seen += (uint64_t)is_free + (uint64_t)is_split;
        if (!is_split) {
            int status = count_leaf(range, order, index, is_free, &counts);
            if (status != BUDDY_OK)
                return status;
            continue;
        }
        /* Its left child starts where it does, below the capacity. */
        uint64_t left = index << 1;
        if (left + 1 < range->orders[order - 1].node_count) { /* the right one is stored */
            REQUIRE(!(node_test(range, order - 1, left, FREE_BIT) &&
                      node_test(range, order - 1, left + 1, FREE_BIT))); /* I5 */
            pending[depth].order = order - 1;
            pending[depth++].index = left + 1;
        }
        pending[depth].order = order - 1;
        pending[depth++].index = left;
    }
    REQUIRE(check_counts(range, &counts) == BUDDY_OK);
    *bits_seen_out = counts.bits_seen;
    return BUDDY_OK;
}

/* I3 (storage side): no bit is set outside a real node. The node bits seen
 * by check_nodes must be every bit of the flat bitmap and the tiles. */
static int check_no_stray_bits(const buddy_range *range, uint64_t bits_seen) {
    const uint64_t *words = range_words_const(range);
    uint64_t end = range->level_word[0][0]; /* summaries follow the tiles */
    uint64_t bits_stored = 0;
    for (uint64_t word = range->flat_word; word < end; word++)
        bits_stored += popcount64(words[word]);
    REQUIRE(bits_stored == bits_seen);
    return BUDDY_OK;
}

/* I6: each summary bit is set iff the group (or summary word) below it has a
 * set bit, and no bit is set past the last group. I10: first_group is the
 * lowest group with a free node. */
static int check_summaries(const buddy_range *range) {
    const uint64_t *words = range_words_const(range);
    for (unsigned order = 0; order <= BUDDY_MAX_ORDER; order++) {
        const order_info *info = &range->orders[order];
        uint64_t first_group = NO_GROUP;
        for (uint64_t group = 0; group < info->group_count && first_group == NO_GROUP; group++)
            if ((group_bits(range, order, group, 0) | group_bits(range, order, group, 1)) != 0)
                first_group = group;
        REQUIRE(info->first_group == first_group); /* I10 */
        const uint64_t *level_word = range->level_word[order];
        uint64_t bits = info->group_count;
        for (unsigned level = 0; level < info->summary_levels; level++) {
            uint64_t word_count = bits_div_ceil_pow2(bits, 6);
            for (uint64_t word = 0; word < word_count; word++) {
                uint64_t below = 0; /* what the word must be */
                for (uint64_t bit = word * 64; bit < bits && bit < word * 64 + 64; bit++) {
                    bool set = level == 0 ? (group_bits(range, order, bit, 0) |
                                             group_bits(range, order, bit, 1)) != 0
                                          : words[level_word[level - 1] + bit] != 0;
                    below |= (uint64_t)set << (bit % 64);
                }
                REQUIRE(words[level_word[level] + word] == below);
            }
            bits = word_count;
        }
    }
    return BUDDY_OK;
}

/* I13: a user data slot is nonzero only at the start of a live allocation. */
static int check_user_data(const buddy_range *range) {
    if (range->user_data_word == 0)
        return BUDDY_OK;
    const uint64_t *slots = &range_words_const(range)[range->user_data_word];
    for (uint64_t first = 0; first < range->max_block_count; first++) {
        if (slots[first] == 0)
            continue;
        unsigned order = 0;
        uint64_t blocks = 0;
        REQUIRE(first < range->block_count &&
                buddy_find_allocation(range, first << range->min_block_shift, &order, &blocks) ==
                    BUDDY_OK);
    }
    return BUDDY_OK;
}

static int unlocked_check(const buddy_range *range) {
    if (range == NULL)
        return BUDDY_EINVAL;
    int status = check_header(range);
    if (status == BUDDY_OK)
        status = check_sync(range);
    if (status == BUDDY_OK)
        status = check_reservations(range);
    uint64_t bits_seen = 0;
    if (status == BUDDY_OK)
        status = check_nodes(range, &bits_seen);
    if (status == BUDDY_OK)
        status = check_no_stray_bits(range, bits_seen);
    if (status == BUDDY_OK)
        status = check_summaries(range);
    if (status == BUDDY_OK)
        status = check_user_data(range);
    return status;
}

int buddy_range_check(const buddy_range *range) {
    if (range != NULL && !buddy_sync_valid(range))
        return BUDDY_ECORRUPT; /* no lock it could take safely */
    BUDDY_SYNCED(int, range, unlocked_check(range));
}
