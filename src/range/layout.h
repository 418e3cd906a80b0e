/* SPDX-License-Identifier: MIT */
/*
 * The range's metadata layout, shared by the library's modules and the
 * white-box tests. docs/design.md draws it; in short, after the header:
 *
 *   flat bitmap   one free bit per order-0 node (min block), 64 to a word
 *   tiles         orders 1..8, 9..16, ... in bands; a tile is one 64-byte line
 *                 holding an 8-order subtree: 128+64+...+1 = 255 nodes, a free
 *                 bit and a split bit each (words 0-3 free, words 4-7 split)
 *   summaries     per order, a 64-ary bitmap tree over that order's groups (an
 *                 order-0 word, or one tile's row); bit set iff the group has
 *                 a free node, so the lowest free node is found by ctz descent
 *
 * Offsets are word indexes from the header, never pointers, so the metadata
 * can be copied or mapped at another address.
 */
#ifndef BUDDY_LAYOUT_H
#define BUDDY_LAYOUT_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bits.h"
#include "buddy.h"
#include "compiler.h"

#define RANGE_MAGIC UINT64_C(0x62756464795f7236) /* "buddy_r6": thread safety */

#define TILE_ORDERS 8u /* orders in one band of tiles */
#define TILE_WORDS 8u  /* one 64-byte cache line */
#define HALF_WORDS 4u  /* free bits, then split bits */
#define TILE_ROW0_NODES 128u
#define MAX_BANDS 8u /* bands cover orders 1..64 */
#define MAX_SUMMARY_LEVELS 11u
#define MAX_RESERVATIONS 16u  /* reserve.c */
#define SYNC_PADDING_WORDS 5u /* puts lock_word at a multiple of 64 bytes */

enum node_bit_kind { FREE_BIT = 0, SPLIT_BIT = 1 };

#define NO_GROUP UINT64_MAX /* first_group of an order without free blocks */

/* One order's geometry and free-block bookkeeping. A group's free bits start
 * at word base_word + (group << stride_shift), bit first_bit; a tile's row 0
 * continues in the next word (second_mask selects it, word ^ 1). */
typedef struct order_info {
    uint64_t node_count;  /* nodes of this order that start below the capacity */
    uint64_t group_count; /* summary bits at level 1 */
    uint64_t free_count;  /* free blocks of this order */
    uint64_t first_group; /* the lowest group with a free block, or NO_GROUP (I10) */
    uint64_t base_word;
    uint64_t row_mask;    /* the group's bits in its first word */
    uint64_t second_mask; /* its bits in the word beside it: all for row 0, else none */
    uint8_t group_shift;  /* log2 of the nodes per group */
    uint8_t stride_shift; /* log2 of the words from one group to the next */
    uint8_t first_bit;
    uint8_t unused;
    uint32_t summary_levels;
} order_info; /* one cache line: an operation reads one order's line */

struct buddy_range {
    /* Geometry, fixed at init but for the managed count (set_capacity). */
    uint64_t magic;
    uint64_t metadata_size; /* bytes, as buddy_range_metadata_size_config() */
    uint64_t capacity;      /* block_count << min_block_shift */
    uint64_t block_count;   /* n: min blocks managed now */
    uint32_t min_block_shift;
    uint32_t top_order;      /* the root's order: ceil(log2 max_block_count) */
    uint32_t max_free_order; /* the largest block's order: floor(log2 n) */
    uint32_t policy;
    /* Nonzero iff free must take the checked path: a run, a reservation or
     * user data exists (SLOW_* bits). The hot paths test only this. */
    uint32_t slow_free;
    uint32_t sync; /* enum range_sync: how public calls are serialised */
    uint64_t band_word[MAX_BANDS];
    uint64_t level_word[BUDDY_MAX_ORDER + 1][MAX_SUMMARY_LEVELS]; /* each order's summary
                                                                   levels, level 1 first */
    /* State. The four words from here stay together (range_store.h). */
    uint64_t nonempty_orders; /* bit k set iff orders[k].free_count > 0 */
    uint64_t allocated_blocks;
    uint64_t live_blocks;
    uint64_t peak_allocated_blocks;
    order_info orders[BUDDY_MAX_ORDER + 1];
    /* Geometry off the hot paths. */
    uint64_t flat_word;       /* word offset of the order-0 bitmap */
    uint64_t max_block_count; /* the min blocks the layout is planned for */
    uint64_t user_data_word;  /* word offset of one slot per min block, 0 if none */
    /* Diagnostics: the only bytes a rejected call changes. */
    uint64_t alloc_failures;
    uint64_t rejected_frees;
    /* Exact runs (run.c): the marks set, one per piece that has a successor. */
    uint64_t run_marks;
    /* Reservations (reserve.c): [first, end) in min blocks, sorted, disjoint. */
    uint32_t reservation_count;
    uint32_t unused;
    uint64_t reserved_blocks;
    uint64_t reservations[MAX_RESERVATIONS][2];
    /* Thread safety (sync.c), from here to the end; buddy_range_reset keeps
     * it. The caller's hooks are pointers of the process that set them, kept
     * as 64-bit integers so that the layout is the same on every target. The
     * built-in lock's word has a line of its own in 64-byte aligned metadata,
     * so that threads waiting for it do not slow the holder's stores. */
    uint64_t lock_hook;
    uint64_t unlock_hook;
    uint64_t lock_context;
    uint64_t lock_padding[SYNC_PADDING_WORDS];
    uint32_t lock_word;
    uint32_t lock_unused[15];
};

enum range_sync { SYNC_NONE = 0, SYNC_BUILT_IN = 1, SYNC_HOOKS = 2 };

enum slow_free_bits { SLOW_RUNS = 1u, SLOW_RESERVATIONS = 2u, SLOW_USER_DATA = 4u };

/* What slow_free must be: in step with run_marks, the reservations and user
 * data. */
static inline uint32_t slow_free_bits(const struct buddy_range *range) {
    return (range->run_marks != 0 ? SLOW_RUNS : 0u) |
           (range->reservation_count != 0 ? SLOW_RESERVATIONS : 0u) |
           (range->user_data_word != 0 ? SLOW_USER_DATA : 0u);
}

static inline void update_slow_free(struct buddy_range *range) {
    range->slow_free = slow_free_bits(range);
}

/* The header occupies whole tiles so that tiles stay line-aligned. */
#define HEADER_WORDS (((sizeof(struct buddy_range) + 63u) / 64u) * 8u)

static_assert(sizeof(order_info) == 64, "order_info is one cache line");
static_assert(offsetof(struct buddy_range, lock_word) % 64 == 0, "the lock word starts a line");
static_assert(sizeof(struct buddy_range) == HEADER_WORDS * 8u, "the header has no padding");
static_assert(offsetof(struct buddy_range, orders) % 64 == 0,
              "order_info lines are aligned in 64-byte aligned metadata");
static_assert(BUDDY_MAX_ORDER < TILE_ORDERS * MAX_BANDS, "bands cover every order");

/* Plans the layout for up to `max_capacity` units into a zeroed header
 * (geometry fields and word offsets only), managing `capacity` of them, with
 * one user data slot per min block if `user_data`. Returns the total metadata
 * words, or 0 for an impossible geometry (or capacity above max_capacity).
 * Pure. */
uint64_t buddy_layout_plan(struct buddy_range *plan, uint64_t capacity, uint64_t max_capacity,
                           uint64_t min_block_size, bool user_data);

/* The allocation that starts at `offset` (range.c): the order of its (first)
 * block and its min blocks (a run's whole count), or the status of free for
 * that offset. */
int buddy_find_allocation(const buddy_range *range, uint64_t offset, unsigned *order_out,
                          uint64_t *blocks_out);

/* Sets the fields that follow from the managed count n: block_count,
 * capacity, max_free_order and each order's node_count. */
void buddy_layout_set_count(struct buddy_range *range, uint64_t block_count);

static inline uint64_t *range_words(buddy_range *range) {
    return (uint64_t *)(void *)range;
}

static inline const uint64_t *range_words_const(const buddy_range *range) {
    return (const uint64_t *)(const void *)range;
}

/* Where one bit of node (order, index) lives: word offset and mask. */
typedef struct node_ref {
    uint64_t word;
    uint64_t mask;
} node_ref;

/* Rows of a tile, bottom (row 0, 128 nodes) to top (row 7, one node). */
static inline unsigned tile_row(unsigned order) {
    return (order - 1u) % TILE_ORDERS;
}

/* First bit of a row inside a tile half: 0, 128, 192, ..., 254. */
static inline unsigned row_start(unsigned row) {
    return 256u - (256u >> row);
}

/* The free bit of node (order, index); its split bit (orders >= 1) is the
 * same bit HALF_WORDS words later. No branch: order_info holds the geometry. */
static inline node_ref node_locate(const buddy_range *range, unsigned order, uint64_t index) {
    const order_info *info = &range->orders[order];
    uint64_t group = index >> info->group_shift;
    uint64_t bit = info->first_bit + (index & (((uint64_t)1 << info->group_shift) - 1));
    node_ref ref;
    ref.word = info->base_word + (group << info->stride_shift) + (bit >> 6);
    ref.mask = (uint64_t)1 << (bit & 63u);
    return ref;
}

static inline bool node_test(const buddy_range *range, unsigned order, uint64_t index,
                             unsigned kind) {
    node_ref ref = node_locate(range, order, index);
    return (range_words_const(range)[ref.word + (uint64_t)kind * HALF_WORDS] & ref.mask) != 0;
}

/* The order of the live piece that starts at min block `first` (below the
 * capacity) if it carries a back mark, else 0: the split bit of its left
 * child, set iff the piece before it is the order-1 head of its run (run.c).
 * The mark is then the lowest split ancestor of `first`, the one split node
 * whose parent is not split, and that parent, the piece, starts at `first`. */
static inline unsigned back_marked_order(const buddy_range *range, uint64_t first) {
    unsigned limit = bits_ctz(first | (uint64_t)1 << range->top_order);
    for (unsigned order = 1; order < limit; order++)
        if (node_test(range, order, first >> order, SPLIT_BIT))
            return node_test(range, order + 1, first >> (order + 1), SPLIT_BIT) ? 0 : order + 1;
    return 0;
}

/* True iff live block (order, index) is a piece of an exact run that another
 * piece follows: its right child's split bit, blank under any other live
 * block, is set (a mark, run.c). An order-1 block has no room for one:
 * as the head of a packed run at an odd multiple of 2 min blocks, its mark is
 * the next piece's back mark. An order-0 block has neither. */
static inline bool piece_is_marked(const buddy_range *range, unsigned order, uint64_t index) {
    if (order == 1)
        return (index & 1u) && ((index + 1) << 1) < range->block_count &&
               back_marked_order(range, (index + 1) << 1) != 0;
    return order >= 2 && node_test(range, order - 1, (index << 1) | 1u, SPLIT_BIT);
}

/* The reservation that holds min block `first`, or MAX_RESERVATIONS. */
static inline unsigned reservation_holding(const buddy_range *range, uint64_t first) {
    for (unsigned i = 0; i < range->reservation_count; i++)
        if (first >= range->reservations[i][0] && first < range->reservations[i][1])
            return i;
    return MAX_RESERVATIONS;
}

/* True iff the group of the node whose free bit is in `word` has no free node. */
static inline bool group_is_empty_at(const uint64_t *words, const order_info *info, uint64_t word) {
    return ((words[word] & info->row_mask) | (words[word ^ 1u] & info->second_mask)) == 0;
}

/* The free bits of a group, with `part` 0 or 1 (only a tile's row 0 has a
 * second word). Bits are in node order from the group's first node. */
static inline uint64_t group_bits(const buddy_range *range, unsigned order, uint64_t group,
                                  unsigned part) {
    const order_info *info = &range->orders[order];
    const uint64_t *first =
        &range_words_const(range)[info->base_word + (group << info->stride_shift)];
    if (part != 0)
        return first[1] & info->second_mask;
    return (first[0] & info->row_mask) >> info->first_bit;
}

#endif /* BUDDY_LAYOUT_H */
