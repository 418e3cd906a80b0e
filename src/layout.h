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
#include <stdint.h>

#include "bits.h"
#include "buddy.h"

#define RANGE_MAGIC UINT64_C(0x62756464795f7231) /* "buddy_r1" */

#define TILE_ORDERS 8u /* orders in one band of tiles */
#define TILE_WORDS 8u  /* one 64-byte cache line */
#define HALF_WORDS 4u  /* free bits, then split bits */
#define TILE_ROW0_NODES 128u
#define MAX_BANDS 8u /* bands cover orders 1..64 */
#define MAX_SUMMARY_LEVELS 11u

enum node_bit_kind { FREE_BIT = 0, SPLIT_BIT = 1 };

typedef struct order_info {
    uint64_t node_count;  /* nodes of this order that start below the capacity */
    uint64_t group_count; /* summary bits at level 1 */
    uint64_t free_count;  /* free blocks of this order */
    uint32_t summary_levels;
    uint32_t unused;
    uint64_t level_word[MAX_SUMMARY_LEVELS]; /* word offset of each level, level 1 first */
} order_info;

struct buddy_range {
    /* Geometry, fixed at init. */
    uint64_t magic;
    uint64_t metadata_size; /* bytes, as buddy_range_metadata_size() */
    uint64_t capacity;      /* block_count << min_block_shift */
    uint64_t block_count;   /* n: min blocks managed */
    uint32_t min_block_shift;
    uint32_t top_order;      /* the root's order: ceil(log2 n) */
    uint32_t max_free_order; /* the largest block's order: floor(log2 n) */
    uint32_t policy;
    uint64_t flat_word; /* word offset of the order-0 bitmap */
    uint64_t band_word[MAX_BANDS];
    /* State. */
    uint64_t nonempty_orders; /* bit k set iff orders[k].free_count > 0 */
    uint64_t allocated_blocks;
    uint64_t live_blocks;
    uint64_t peak_allocated_blocks;
    order_info orders[BUDDY_MAX_ORDER + 1];
    /* Diagnostics: the only bytes a rejected call changes. */
    uint64_t alloc_failures;
    uint64_t rejected_frees;
};

/* The header occupies whole tiles so that tiles stay line-aligned. */
#define HEADER_WORDS (((sizeof(struct buddy_range) + 63u) / 64u) * 8u)

static_assert(sizeof(order_info) == sizeof(uint64_t) * (4 + MAX_SUMMARY_LEVELS),
              "order_info has no padding");
static_assert(BUDDY_MAX_ORDER < TILE_ORDERS * MAX_BANDS, "bands cover every order");

/* Plans the layout of a geometry into a zeroed header (geometry fields and word
 * offsets only). Returns the total metadata words, or 0 for an impossible
 * geometry. Pure. */
uint64_t buddy_layout_plan(struct buddy_range *plan, uint64_t capacity, uint64_t min_block_size);

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

/* log2 of the nodes a tile row holds: 7 for row 0 ... 0 for row 7. */
static inline unsigned row_shift(unsigned row) {
    return TILE_ORDERS - 1u - row;
}

/* First bit of a row inside a tile half: 0, 128, 192, ..., 254. */
static inline unsigned row_start(unsigned row) {
    return 256u - (256u >> row);
}

/* The free bit of node (order, index); its split bit (orders >= 1) is the
 * same bit HALF_WORDS words later. */
static inline node_ref node_locate(const buddy_range *range, unsigned order, uint64_t index) {
    node_ref ref;
    if (order == 0) {
        ref.word = range->flat_word + (index >> 6);
        ref.mask = (uint64_t)1 << (index & 63u);
        return ref;
    }
    unsigned row = tile_row(order);
    unsigned shift = row_shift(row);
    unsigned bit = row_start(row) + (unsigned)(index & (((uint64_t)1 << shift) - 1u));
    ref.word =
        range->band_word[(order - 1u) / TILE_ORDERS] + (index >> shift) * TILE_WORDS + bit / 64u;
    ref.mask = (uint64_t)1 << (bit % 64u);
    return ref;
}

static inline bool node_test(const buddy_range *range, unsigned order, uint64_t index,
                             unsigned kind) {
    node_ref ref = node_locate(range, order, index);
    return (range_words_const(range)[ref.word + (uint64_t)kind * HALF_WORDS] & ref.mask) != 0;
}

/* True iff the summary group of the node at `ref` has no free node: the
 * group is the node's order-0 word, or its row in the tile (row 0 spans two
 * words, the second at word ^ 1 since tiles start on 8-word boundaries). */
static inline bool group_is_empty_at(const uint64_t *words, unsigned order, node_ref ref) {
    uint64_t word = words[ref.word];
    if (order == 0)
        return word == 0;
    unsigned row = tile_row(order);
    if (row == 0)
        return (word | words[ref.word ^ 1u]) == 0;
    unsigned start = row_start(row);
    return (word & (bits_low_mask(TILE_ROW0_NODES >> row) << (start % 64u))) == 0;
}

/* The summary group that holds node (order, index). */
static inline uint64_t group_of(unsigned order, uint64_t index) {
    return order == 0 ? index >> 6 : index >> row_shift(tile_row(order));
}

/* The free bits of a group, with `part` 0 or 1 (only row 0 of a tile has a
 * second word). Bits are in node order from the group's first node. */
static inline uint64_t group_bits(const buddy_range *range, unsigned order, uint64_t group,
                                  unsigned part) {
    const uint64_t *words = range_words_const(range);
    if (order == 0)
        return part == 0 ? words[range->flat_word + group] : 0;
    unsigned row = tile_row(order);
    const uint64_t *half =
        &words[range->band_word[(order - 1u) / TILE_ORDERS] + group * TILE_WORDS];
    if (row == 0)
        return half[part];
    if (part != 0)
        return 0;
    unsigned start = row_start(row);
    return (half[start / 64u] >> (start % 64u)) & bits_low_mask(TILE_ROW0_NODES >> row);
}

#endif /* BUDDY_LAYOUT_H */
