/* SPDX-License-Identifier: MIT */
/*
 * The range's hot paths, alloc and free, with the helpers they share, as
 * static inline functions. range.c compiles them for any CPU; on x86-64,
 * range_x86_64_v3.c compiles them again for x86-64-v3, and range.c calls
 * that copy where the CPU has it (dispatch.h). range.c describes the algorithm.
 */
#ifndef BUDDY_RANGE_CORE_H
#define BUDDY_RANGE_CORE_H

#include "layout.h"
#include "range_store.h"

/* ---- Bits and summaries -------------------------------------------------- */

static inline void node_set(buddy_range *range, unsigned order, uint64_t index, unsigned kind) {
    node_ref ref = node_locate(range, order, index);
    WILL_STORE(range, &range_words(range)[ref.word + (uint64_t)kind * HALF_WORDS]);
    range_words(range)[ref.word + (uint64_t)kind * HALF_WORDS] |= ref.mask;
}

/* The summary walks take the level count as an argument so that the compiler
 * unrolls them: SUMMARY_UNROLLED runs `statement` with LEVELS a constant for
 * 2 to 4 levels, and `general`, a call out of line, for other counts. All
 * orders of a range have the same count, so the switch predicts well. */
#define SUMMARY_UNROLLED(levels, statement, general)                                               \
    do {                                                                                           \
        switch (levels) {                                                                          \
        case 2: {                                                                                  \
            enum { LEVELS = 2 };                                                                   \
            (statement);                                                                           \
        } break;                                                                                   \
        case 3: {                                                                                  \
            enum { LEVELS = 3 };                                                                   \
            (statement);                                                                           \
        } break;                                                                                   \
        case 4: {                                                                                  \
            enum { LEVELS = 4 };                                                                   \
            (statement);                                                                           \
        } break;                                                                                   \
        default:                                                                                   \
            (general);                                                                             \
            break;                                                                                 \
        }                                                                                          \
    } while (0)

/* Sets the summary bit of `group` and of each word above it. Without a
 * branch: where a word was already non-empty, the bit above is set (I6). */
BUDDY_HOT_INLINE void summary_mark_walk(uint64_t *words, const uint64_t *level_word, uint64_t group,
                                        unsigned levels) {
    for (unsigned level = 0; level < levels; level++, group >>= 6) {
        WILL_STORE_SUMMARY(words, &words[level_word[level] + (group >> 6)]); /* the range's start */
        words[level_word[level] + (group >> 6)] |= (uint64_t)1 << (group & 63u);
    }
}

/* Clears the summary bit of `group`, and above it each bit whose word became
 * 0. Without a branch: `emptied` is 1 while every word below became 0. */
BUDDY_HOT_INLINE void summary_unmark_walk(uint64_t *words, const uint64_t *level_word,
                                          uint64_t group, unsigned levels) {
    uint64_t emptied = 1;
    for (unsigned level = 0; level < levels; level++, group >>= 6) {
        uint64_t *word = &words[level_word[level] + (group >> 6)];
        WILL_STORE_SUMMARY(words, word);
        *word ^= emptied << (group & 63u); /* the bit is set where emptied is 1 */
        emptied = *word == 0;
    }
}

/* The lowest group of an order that has a free block: a ctz descent of its
 * summary, one word per level, each of them non-zero (I6). */
BUDDY_HOT_INLINE uint64_t summary_lowest_walk(const uint64_t *words, const uint64_t *level_word,
                                              unsigned levels) {
    uint64_t group = 0;
    for (unsigned level = levels; level-- > 0;)
        group = (group << 6) | bits_ctz(words[level_word[level] + group]);
    return group;
}

static BUDDY_NOINLINE void summary_mark_general(uint64_t *words, const uint64_t *level_word,
                                                uint64_t group, unsigned levels) {
    summary_mark_walk(words, level_word, group, levels);
}
static BUDDY_NOINLINE void summary_unmark_general(uint64_t *words, const uint64_t *level_word,
                                                  uint64_t group, unsigned levels) {
    summary_unmark_walk(words, level_word, group, levels);
}
static BUDDY_NOINLINE uint64_t summary_lowest_general(const uint64_t *words,
                                                      const uint64_t *level_word, unsigned levels) {
    return summary_lowest_walk(words, level_word, levels);
}

BUDDY_HOT_INLINE void summary_mark(buddy_range *range, unsigned order, uint64_t group) {
    uint64_t *words = range_words(range);
    const uint64_t *level_word = range->level_word[order];
    unsigned levels = range->orders[order].summary_levels;
    SUMMARY_UNROLLED(levels, summary_mark_walk(words, level_word, group, LEVELS),
                     summary_mark_general(words, level_word, group, levels));
}

BUDDY_HOT_INLINE void summary_unmark(buddy_range *range, unsigned order, uint64_t group) {
    uint64_t *words = range_words(range);
    const uint64_t *level_word = range->level_word[order];
    unsigned levels = range->orders[order].summary_levels;
    SUMMARY_UNROLLED(levels, summary_unmark_walk(words, level_word, group, LEVELS),
                     summary_unmark_general(words, level_word, group, levels));
}

BUDDY_HOT_INLINE uint64_t summary_lowest_group(const buddy_range *range, unsigned order) {
    const uint64_t *words = range_words_const(range);
    const uint64_t *level_word = range->level_word[order];
    unsigned levels = range->orders[order].summary_levels;
    uint64_t group = 0;
    SUMMARY_UNROLLED(levels, group = summary_lowest_walk(words, level_word, LEVELS),
                     group = summary_lowest_general(words, level_word, levels));
    return group;
}

/* Marks node (order, index), whose free bit is at `ref`, a free block. */
BUDDY_HOT_INLINE void free_insert_at(buddy_range *range, unsigned order, uint64_t index,
                                     node_ref ref) {
    order_info *info = &range->orders[order];
    uint64_t *words = range_words(range);
    WILL_STORE(range, &words[ref.word]); /* before the summaries (WILL_STORE_SUMMARY) */
    if (group_is_empty_at(words, info, ref.word)) {
        uint64_t group = index >> info->group_shift;
        summary_mark(range, order, group);
        WILL_STORE_SUMMARY(range, &info->first_group);
        info->first_group = group < info->first_group ? group : info->first_group;
    }
    words[ref.word] |= ref.mask;
    WILL_STORE(range, &info->free_count);
    info->free_count++;
    /* nonempty_orders is stored only when it changes: the next allocation
     * starts from it, and an unconditional store would make it wait for the
     * loads this block's order came from (in free, a tile's cache miss). */
    if (!((range->nonempty_orders >> order) & 1u)) {
        WILL_STORE_STATE(range, &range->nonempty_orders);
        range->nonempty_orders |= (uint64_t)1 << order;
    }
}

/* Counts node (order, index) off its order's free blocks once its free bit
 * is cleared; `group_emptied` says that this left its group without one. If
 * it was the order's first group, the next one becomes first. */
BUDDY_HOT_INLINE void free_count_off(buddy_range *range, unsigned order, uint64_t index,
                                     bool group_emptied) {
    order_info *info = &range->orders[order];
    WILL_STORE(range, &info->free_count);
    info->free_count--;
    if (group_emptied) {
        uint64_t group = index >> info->group_shift;
        summary_unmark(range, order, group);
        if (group == info->first_group) {
            WILL_STORE_SUMMARY(range, &info->first_group);
            info->first_group =
                info->free_count != 0 ? summary_lowest_group(range, order) : NO_GROUP;
        }
    }
    if (info->free_count == 0) { /* stored only on a change, as in free_insert_at */
        WILL_STORE_STATE(range, &range->nonempty_orders);
        range->nonempty_orders &= ~((uint64_t)1 << order);
    }
}

/* Takes the free block (order, index), whose free bit is at `ref`, off the
 * free bits. */
BUDDY_HOT_INLINE void free_remove_at(buddy_range *range, unsigned order, uint64_t index,
                                     node_ref ref) {
    uint64_t *words = range_words(range);
    WILL_STORE(range, &words[ref.word]);
    words[ref.word] &= ~ref.mask;
    free_count_off(range, order, index, group_is_empty_at(words, &range->orders[order], ref.word));
}

static inline void free_insert(buddy_range *range, unsigned order, uint64_t index) {
    free_insert_at(range, order, index, node_locate(range, order, index));
}

static inline void free_remove(buddy_range *range, unsigned order, uint64_t index) {
    free_remove_at(range, order, index, node_locate(range, order, index));
}

/* The free bit of the buddy of node (order, index) whose bit is at `ref`: the
 * neighbouring bit of the same word, except in a tile's top row (orders 8,
 * 16, ...), which holds one node, so its buddy lives in the next tile. */
static inline node_ref buddy_locate(const buddy_range *range, unsigned order, uint64_t index,
                                    node_ref ref) {
    if (range->orders[order].group_shift == 0)
        return node_locate(range, order, index ^ 1u);
    ref.mask = (index & 1u) ? ref.mask >> 1 : ref.mask << 1;
    return ref;
}

/* The lowest-indexed free node of an order that has one, where its free bit
 * is, and whether its group has other free nodes (`others` non-zero). Its
 * group is the order's first group (I10); a tile's row 0 continues in the
 * next word. */
static inline uint64_t lowest_free(const buddy_range *range, unsigned order, node_ref *ref_out,
                                   uint64_t *others_out) {
    const order_info *info = &range->orders[order];
    const uint64_t *words = range_words_const(range);
    uint64_t group = info->first_group;
    node_ref ref;
    ref.word = info->base_word + (group << info->stride_shift);
    uint64_t bits = words[ref.word] & info->row_mask;
    uint64_t rest = words[ref.word ^ 1u] & info->second_mask;
    unsigned skipped = 0;
    if (bits == 0) {
        ref.word++;
        bits = rest;
        rest = 0;
        skipped = 64;
    }
    ref.mask = bits & (0 - bits);
    *ref_out = ref;
    *others_out = (bits ^ ref.mask) | rest;
    return (group << info->group_shift) + skipped + bits_ctz(bits) - info->first_bit;
}

/* The order of the smallest block that holds `size` bytes, 0 counting as
 * one min block: ceil(log2(ceil(size / 2^shift))), with u = that quotient - 1. */
static inline unsigned order_for_size(uint64_t size, unsigned shift) {
    uint64_t u = (size - (size != 0)) >> shift;
    return bits_log2_floor(u | 1u) + (u != 0);
}

/* True iff `size` units exceed the largest block the range has; checked
 * before any rounding (2^(max_free_order + shift) <= capacity fits). */
static inline bool exceeds_largest_block(const buddy_range *range, uint64_t size) {
    return size > ((uint64_t)1 << (range->max_free_order + range->min_block_shift));
}

/* Counts an allocation that failed (the statistics' alloc_failures). */
static inline void count_failure(buddy_range *range) {
    WILL_STORE(range, &range->alloc_failures);
    range->alloc_failures++;
}

/* ---- Placement ---------------------------------------------------------- */

/* Takes the lowest free block of `order`, which has one, off the free bits
 * and returns its index. */
static inline uint64_t take_lowest_free(buddy_range *range, unsigned order) {
    node_ref ref;
    uint64_t others;
    uint64_t index = lowest_free(range, order, &ref, &others);
    WILL_STORE(range, &range_words(range)[ref.word]);
    range_words(range)[ref.word] &= ~ref.mask;
    free_count_off(range, order, index, others == 0);
    return index;
}

/* FIRST_FIT: the order whose lowest free block starts lowest, among the
 * orders in `orders` (at least one). */
static BUDDY_NOINLINE unsigned first_fit_order(const buddy_range *range, uint64_t orders) {
    unsigned chosen = bits_ctz(orders);
    node_ref unused;
    uint64_t others;
    uint64_t chosen_start = lowest_free(range, chosen, &unused, &others) << chosen;
    for (orders &= orders - 1; orders != 0; orders &= orders - 1) {
        unsigned order = bits_ctz(orders);
        uint64_t start = lowest_free(range, order, &unused, &others) << order;
        if (start < chosen_start) {
            chosen = order;
            chosen_start = start;
        }
    }
    return chosen;
}

/* For the allocations off the hot path (aligned, exact, packed): the order
 * whose lowest free block the policy picks among the orders from `least` up;
 * false (counting the failure) if none of those orders has one. */
static inline bool fitting_order(buddy_range *range, unsigned least, unsigned *order_out) {
    uint64_t fitting_orders = range->nonempty_orders >> least << least;
    if (fitting_orders == 0) {
        count_failure(range);
        return false;
    }
    *order_out = range->policy == BUDDY_FIRST_FIT ? first_fit_order(range, fitting_orders)
                                                  : bits_ctz(fitting_orders);
    return true;
}

/* Takes that block (fitting_order's) and stores its order and index. */
static inline bool take_fitting_block(buddy_range *range, unsigned least, unsigned *order_out,
                                      uint64_t *index_out) {
    if (!fitting_order(range, least, order_out))
        return false;
    *index_out = take_lowest_free(range, *order_out);
    return true;
}

/* Counts a new allocation of `blocks` min blocks: live, allocated, peak. */
static inline void count_allocation(buddy_range *range, uint64_t blocks) {
    WILL_STORE_STATE(range, &range->live_blocks);
    range->live_blocks++;
    WILL_STORE_STATE(range, &range->allocated_blocks);
    range->allocated_blocks += blocks;
    if (range->allocated_blocks > range->peak_allocated_blocks) {
        WILL_STORE_STATE(range, &range->peak_allocated_blocks);
        range->peak_allocated_blocks = range->allocated_blocks;
    }
}

/* Splits live block (order, index) down to `target`, freeing the upper halves;
 * each freed half's buddy is the live lower half, so nothing merges. */
static BUDDY_NOINLINE void shrink_in_place(buddy_range *range, unsigned order, uint64_t index,
                                           unsigned target) {
    for (; order > target; order--, index <<= 1) {
        node_set(range, order, index, SPLIT_BIT);
        free_insert(range, order - 1, (index << 1) | 1u);
    }
}

/* The body of buddy_range_alloc (range.c picks the copy that runs). */
static inline int range_alloc(buddy_range *range, uint64_t size, uint64_t *offset_out) {
    if (range == NULL || offset_out == NULL)
        return BUDDY_EINVAL;
    unsigned shift = range->min_block_shift;
    if (exceeds_largest_block(range, size)) {
        count_failure(range);
        return BUDDY_ETOOBIG;
    }
    unsigned order = order_for_size(size, shift);
    uint64_t fitting_orders = range->nonempty_orders >> order << order;
    if (fitting_orders == 0) {
        count_failure(range);
        return BUDDY_ENOMEM;
    }

    /* BEST_FIT takes the smallest order that fits, FIRST_FIT the lowest start. */
    unsigned found = range->policy == BUDDY_FIRST_FIT ? first_fit_order(range, fitting_orders)
                                                      : bits_ctz(fitting_orders);
    WILL_STORE_STATE(range, &range->live_blocks);
    range->live_blocks++; /* apart from allocated_blocks, as in free */
    uint64_t index = take_lowest_free(range, found);
    if (found != order)
        shrink_in_place(range, found, index, order); /* split down to `order` */

    uint64_t allocated = range->allocated_blocks + ((uint64_t)1 << order);
    WILL_STORE_STATE(range, &range->allocated_blocks);
    range->allocated_blocks = allocated;
    WILL_STORE_STATE(range, &range->peak_allocated_blocks);
    range->peak_allocated_blocks =
        allocated > range->peak_allocated_blocks ? allocated : range->peak_allocated_blocks;
    *offset_out = (index << found) << shift;
    return BUDDY_OK;
}

/* An aligned allocation whose alignment is above the rounded size (range.c):
 * a block of at least the alignment's order, split down. */
int buddy_alloc_above_alignment(buddy_range *range, uint64_t size, uint64_t alignment,
                                uint64_t *offset_out);

/* The body of buddy_range_alloc_aligned. Every block is aligned to its size:
 * up to the rounded size (a min block, or below twice the size), alloc's own
 * body serves it, inlined, so the alignment costs nothing there. */
static inline int range_alloc_aligned(buddy_range *range, uint64_t size, uint64_t alignment,
                                      uint64_t *offset_out) {
    if (range == NULL || offset_out == NULL || !bits_is_pow2(alignment))
        return BUDDY_EINVAL;
    if ((alignment >> range->min_block_shift) <= 1 || alignment / 2 < size)
        return range_alloc(range, size, offset_out);
    return buddy_alloc_above_alignment(range, size, alignment, offset_out);
}

/* In word 3 of a tile half (rows 2..7), the bits of the ancestors of row-2
 * node u: row r's is bit row_start(r) - 192 + (u >> (r - 2)). */
#define UPPER_ANCESTORS(u)                                                                         \
    ((uint64_t)1 << (u) | (uint64_t)1 << (32u + ((u) >> 1)) | (uint64_t)1 << (48u + ((u) >> 2)) |  \
     (uint64_t)1 << (56u + ((u) >> 3)) | (uint64_t)1 << (60u + ((u) >> 4)) | (uint64_t)1 << 62u)
#define UPPER_ANCESTORS_4(u)                                                                       \
    UPPER_ANCESTORS(u), UPPER_ANCESTORS((u) + 1u), UPPER_ANCESTORS((u) + 2u),                      \
        UPPER_ANCESTORS((u) + 3u)
static const uint64_t upper_ancestors[32] = {
    UPPER_ANCESTORS_4(0u),  UPPER_ANCESTORS_4(4u),  UPPER_ANCESTORS_4(8u),  UPPER_ANCESTORS_4(12u),
    UPPER_ANCESTORS_4(16u), UPPER_ANCESTORS_4(20u), UPPER_ANCESTORS_4(24u), UPPER_ANCESTORS_4(28u)};

/* The row of the lowest split ancestor of min block `first` in its tile of
 * `band` (row r is order 8 * band + r + 1), or TILE_ORDERS if none is. With
 * t the position of `first` among the tile's 256 (band-scaled) min blocks,
 * row r's ancestor is bit row_start(r) + (t >> (r + 1)) of the split half:
 * row 0 in word t >> 7, row 1 in word 2, rows 2..7 in word 3, where rows
 * grow with the bit position, so the lowest set ancestor bit names the row:
 * 2 plus the leading ones of its 6-bit position (0..31: row 2, 32..47: 3, ...). */
static inline unsigned lowest_split_row(const uint64_t *split_half, unsigned t) {
    uint64_t upper = split_half[3] & upper_ancestors[t >> 3];
    unsigned row = TILE_ORDERS;
    if (upper != 0)
        row = 2u + (63u - bits_log2_floor(~((uint64_t)bits_ctz(upper) << 58)));
    if ((split_half[2] >> (t >> 2)) & 1u)
        row = 1;
    if ((split_half[t >> 7] >> ((t >> 1) & 63u)) & 1u)
        row = 0;
    return row;
}

/* Finds the live block that starts at `offset`, or says why there is none.
 * The block holding min block `first` is the node just below its lowest
 * split ancestor (I3); it starts at `first` iff its order is at most
 * ctz(first). So that ancestor is in the band of order ctz(first) + 1 or
 * below: start there, and go down a band while the lowest ancestor of the
 * band is split. A block below order 8 costs one tile; a larger one starts
 * in a band above, whose few tiles stay cached. */
static inline int find_live_block(const buddy_range *range, uint64_t offset, unsigned *order_out,
                                  node_ref *ref_out) {
    if (offset >= range->capacity)
        return BUDDY_ERANGE;
    if ((offset & (((uint64_t)1 << range->min_block_shift) - 1)) != 0)
        return BUDDY_EALIGN;
    uint64_t first = offset >> range->min_block_shift;
    unsigned top = range->top_order;
    unsigned order = top; /* no split ancestor: the block is the root */
    node_ref ref = {0, 0};
    if (top > 0) {
        /* min(ctz(first), top - 1), also for first == 0 */
        unsigned limit = bits_ctz(first | (uint64_t)1 << (top - 1u));
        unsigned band = limit / TILE_ORDERS;
        bool descended = false;
        for (;;) {
            uint64_t tile =
                range->band_word[band] + (first >> (band * TILE_ORDERS + TILE_ORDERS)) * TILE_WORDS;
            unsigned t = (unsigned)(first >> (band * TILE_ORDERS)) & 255u;
            unsigned row = lowest_split_row(&range_words_const(range)[tile + HALF_WORDS], t);
            if (row == TILE_ORDERS && !descended)
                break;
            order = band * TILE_ORDERS + row;
            if (row == 0) {
                if (band == 0)
                    break; /* order 0 */
                band--;
                descended = true;
                continue;
            }
            /* The block is this tile's node in row `row - 1`: its free bit is
             * here, so it needs no second lookup. */
            unsigned bit = row_start(row - 1u) + (t >> row);
            ref.word = tile + bit / 64u;
            ref.mask = (uint64_t)1 << (bit % 64u);
            break;
        }
    }
    if (first != 0 && order > bits_ctz(first))
        return BUDDY_ENOTSTART; /* the block is larger and starts below `first` */
    if (ref.mask == 0)
        ref = node_locate(range, order, first >> order);
    if (range_words_const(range)[ref.word] & ref.mask)
        return BUDDY_ENOTLIVE;
    *order_out = order;
    *ref_out = ref;
    return BUDDY_OK;
}

/* Merges node (*order, *index) with its buddy, neither on the free bits:
 * steps to their parent, which is no longer split, and returns its ref. */
BUDDY_HOT_INLINE node_ref merge_into_parent(buddy_range *range, unsigned *order, uint64_t *index) {
    *index >>= 1;
    ++*order;
    node_ref ref = node_locate(range, *order, *index);
    uint64_t *split = &range_words(range)[ref.word + HALF_WORDS];
    WILL_STORE(range, split);
    *split &= ~ref.mask;
    return ref;
}

/* Frees live block (order, index), whose free bit is at `ref`, and merges it
 * with its buddy while the buddy is free. The caller has counted it off. */
BUDDY_HOT_INLINE void release_block(buddy_range *range, unsigned order, uint64_t index,
                                    node_ref ref) {
    const uint64_t *words = range_words(range);
    /* The buddy exists iff it starts below the capacity; the root has none. */
    while ((index | 1u) < range->orders[order].node_count) {
        node_ref buddy = buddy_locate(range, order, index, ref);
        if (!(words[buddy.word] & buddy.mask))
            break;
        free_remove_at(range, order, index ^ 1u, buddy);
        ref = merge_into_parent(range, &order, &index);
    }
    free_insert_at(range, order, index, ref);
}

/* Exact runs (run.c): frees the block or run that find_live_block found at
 * `offset` once it has checked that the offset starts an allocation (not a
 * later piece of a run, nor a place inside a piece), and counts it; or
 * rejects it, counting that. */
int buddy_run_free(buddy_range *range, uint64_t offset, unsigned order, node_ref ref);
/* For size and resize: BUDDY_OK and the min blocks of the allocation that
 * starts at `offset` (the block find_live_block found, or its whole run), or
 * BUDDY_ENOTSTART for a later piece of a run or a place inside a piece. */
int buddy_run_check_start(const buddy_range *range, uint64_t offset, unsigned order,
                          uint64_t *blocks_out);
/* Resizes the run of `blocks` min blocks at `offset` in place to the run of
 * new_size (which the largest block holds): BUDDY_OK, or BUDDY_ENOMEM if it
 * must grow over min blocks that are not free. Changes nothing on failure. */
int buddy_run_resize(buddy_range *range, uint64_t offset, uint64_t blocks, uint64_t new_size);
/* buddy_range_resize of a non-NULL range (run.c). */
int buddy_resize(buddy_range *range, uint64_t offset, uint64_t new_size);

/* The min blocks a run of `size` units takes: ceil(size / min block), 0
 * counting as one, plus one when that count is 3 mod 4 (run.c says why). */
static inline uint64_t run_blocks(uint64_t size, unsigned shift) {
    uint64_t count = size == 0 ? 1 : ((size - 1) >> shift) + 1;
    return (count & 3u) == 3u ? count + 1 : count;
}

/* True iff a run of `count` min blocks (run_blocks') can start at min block
 * `first`, an even one. At an odd multiple of 2 a longer run's head is of
 * order 1, whose mark is the next piece's back mark: that piece must be of
 * order 2 or more (count >= 6), and the run must not end in 2 + 1 (count not
 * 1 mod 4). A count of 1 or 2 is a plain block. */
static inline bool run_fits_start(uint64_t first, uint64_t count) {
    return (first & 3u) == 0 || count <= 2 || (count >= 6 && (count & 3u) != 1);
}

/* How place.c lays a run out (run.c). Marks piece (order, index), whose
 * successor follows it, and counts the mark. */
void buddy_run_mark(buddy_range *range, unsigned order, uint64_t index);
/* Carves a run of `count` min blocks from the start of free block (order,
 * index), already taken off the free bits: while the remaining count is not
 * the whole node, split it; a left half that the count covers is a piece (and
 * the run goes on in the right half), else the right half is freed and the
 * run goes on in the left. Each freed half's buddy is live or split, so
 * nothing merges. Counts the marks, not the allocation. */
void buddy_run_carve(buddy_range *range, unsigned order, uint64_t index, uint64_t count);
/* Makes free min blocks [first, first + count) a run: each piece is carved,
 * and every piece but the last is marked. run_fits_start(first, count) holds,
 * so each of those is of order 2 or more, or an order-1 head that the next
 * piece, of order 2 or more, back-marks; or `count` is 1, 2 or 4 and `first`
 * a multiple of it: one plain block. Counts the marks, not the allocation. */
void buddy_run_carve_region(buddy_range *range, uint64_t first, uint64_t count);

/* The free block that holds min block `first`, searched from the root (run.c):
 * true and its order and index, or false if a live block holds it. */
bool buddy_free_block_holding(const buddy_range *range, uint64_t first, unsigned *order_out,
                              uint64_t *index_out);
/* True iff min blocks [first, end) are all free (and below the capacity). */
bool buddy_all_free(const buddy_range *range, uint64_t first, uint64_t end);
/* Makes node (piece, first >> piece), which lies in a free block, a blank
 * leaf: takes the free block holding it off the free bits and splits it down
 * to the node, freeing the halves off the path. Nothing is counted. */
void buddy_carve_piece(buddy_range *range, uint64_t first, unsigned piece);

/* The checked free (run.c), taken while range->slow_free != 0: given
 * find_live_block's answer for `offset`, rejects a reserved offset, then
 * frees as buddy_run_free and forgets the user data. Counts as free does. */
int buddy_checked_free(buddy_range *range, uint64_t offset, int status, unsigned order,
                       node_ref ref);
/* BUDDY_ERESERVED if `offset` lies in a reservation and `status`, the answer
 * of find_live_block for it, is not ERANGE or EALIGN; else `status`. */
int buddy_reservation_check(const buddy_range *range, uint64_t offset, int status);
/* Frees the binary decomposition of min blocks [0, count) inside node
 * (from, 0), whose nodes that straddle count become split; the caller has
 * made everything in it blank (range.c, for init and set_capacity). */
void buddy_free_below(buddy_range *range, uint64_t count, unsigned from);

/* The least order of the free block an aligned allocation of `order` takes:
 * the larger of `order` and the alignment's, capped at the largest order. */
static inline unsigned buddy_aligned_order(const buddy_range *range, unsigned order,
                                           uint64_t alignment) {
    unsigned least = order_for_size(alignment, range->min_block_shift); /* 0 up to a min block */
    least = least > order ? least : order;
    return least < range->max_free_order ? least : range->max_free_order;
}

/* The body of buddy_range_free (range.c picks the copy that runs). */
static inline int range_free(buddy_range *range, uint64_t offset) {
    if (range == NULL)
        return BUDDY_EINVAL;
    unsigned order = 0;
    node_ref ref = {0, 0};
    int status = find_live_block(range, offset, &order, &ref);
    if (range->slow_free != 0)
        return buddy_checked_free(range, offset, status, order, ref); /* checks, counts, frees */
    if (status != BUDDY_OK) {
        WILL_STORE(range, &range->rejected_frees);
        range->rejected_frees++;
        return status;
    }
    WILL_STORE_STATE(range, &range->allocated_blocks);
    range->allocated_blocks -= (uint64_t)1 << order;
    release_block(range, order, (offset >> range->min_block_shift) >> order, ref);
    /* Apart from allocated_blocks, which the compiler would otherwise update
     * with it as one 16-byte vector, a slower chain from call to call. */
    WILL_STORE_STATE(range, &range->live_blocks);
    range->live_blocks--;
    return BUDDY_OK;
}

#endif /* BUDDY_RANGE_CORE_H */
