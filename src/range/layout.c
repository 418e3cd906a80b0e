/* SPDX-License-Identifier: MIT */
/*
 * Sizing and planning of the range metadata: one pure function turns a
 * geometry into word offsets for the order-0 bitmap, the tile bands and the
 * per-order summaries (layout.h describes them). buddy_range_metadata_size is
 * this plan's total; init builds exactly this plan, so the two never disagree.
 */
#include <string.h>

#include "layout.h"

/* Lays out a 64-ary summary tree over info->group_count bits from word
 * `first`, level 1 first (offsets into level_word), up to a level of one word
 * and at least `levels` levels; returns the next word. Giving every order the
 * same number of levels (one-word levels on top) lets the summary walks take
 * the same unrolled copy for every order, so the switch that picks it is
 * predicted. */
static uint64_t plan_summary(order_info *info, uint64_t *level_word, uint64_t first,
                             unsigned levels) {
    uint64_t bits = info->group_count;
    info->summary_levels = 0;
    do {
        level_word[info->summary_levels++] = first;
        bits = bits_div_ceil_pow2(bits, 6);
        first += bits;
    } while (bits > 1 || info->summary_levels < levels);
    return first;
}

void buddy_layout_set_count(struct buddy_range *range, uint64_t block_count) {
    range->block_count = block_count;
    range->capacity = block_count << range->min_block_shift;
    range->max_free_order = bits_log2_floor(block_count);
    for (unsigned order = 0; order <= range->top_order; order++)
        range->orders[order].node_count = bits_div_ceil_pow2(block_count, order);
}

/* Where the nodes of `order` (1 or more) lie: a row of each of the band's
 * `tiles` tiles, the first at word `band_word`. */
static void plan_row(order_info *info, unsigned order, uint64_t band_word, uint64_t tiles) {
    unsigned row = tile_row(order);
    unsigned start = row_start(row);
    info->group_count = tiles;
    info->base_word = band_word + start / 64u;
    info->first_bit = (uint8_t)(start % 64u);
    info->group_shift = (uint8_t)(TILE_ORDERS - 1u - row);
    info->stride_shift = 3; /* TILE_WORDS */
    /* Row 0 spans two whole words; the others share word 2 or 3. */
    info->row_mask =
        row == 0 ? ~(uint64_t)0 : bits_low_mask(TILE_ROW0_NODES >> row) << info->first_bit;
    info->second_mask = row == 0 ? ~(uint64_t)0 : 0;
}

uint64_t buddy_layout_plan(struct buddy_range *plan, uint64_t capacity, uint64_t max_capacity,
                           uint64_t min_block_size, bool user_data) {
    if (!bits_is_pow2(min_block_size) || capacity < min_block_size || max_capacity < capacity)
        return 0;
    unsigned shift = bits_log2_floor(min_block_size);
    uint64_t block_count = max_capacity >> shift; /* the layout is the maximum's */
    if (block_count > ((uint64_t)1 << BUDDY_MAX_ORDER))
        return 0;

    memset(plan, 0, sizeof *plan);
    plan->magic = RANGE_MAGIC;
    plan->max_block_count = block_count;
    plan->min_block_shift = shift;
    plan->top_order = bits_log2_ceil(block_count);

    uint64_t words = HEADER_WORDS;
    uint64_t flat_words = bits_div_ceil_pow2(block_count, 6);
    plan->flat_word = words;
    words += (flat_words + TILE_WORDS - 1) / TILE_WORDS * TILE_WORDS; /* keep tiles aligned */

    uint64_t band_tiles[MAX_BANDS] = {0};
    for (unsigned band = 0; band * TILE_ORDERS + 1 <= plan->top_order; band++) {
        /* A band-b tile spans 128 nodes of order 8b+1: 2^(8b+8) min blocks. */
        band_tiles[band] = bits_div_ceil_pow2(block_count, band * TILE_ORDERS + TILE_ORDERS);
        plan->band_word[band] = words;
        words += band_tiles[band] * TILE_WORDS;
    }

    for (unsigned order = 0; order <= BUDDY_MAX_ORDER; order++)
        plan->orders[order].first_group = NO_GROUP;
    /* top_order <= BUDDY_MAX_ORDER (block_count is checked above); the bound
     * says so to compilers that cannot see it (gcc -O2 with ThreadSanitizer). */
    for (unsigned order = 0; order <= plan->top_order && order <= BUDDY_MAX_ORDER; order++) {
        order_info *info = &plan->orders[order];
        info->node_count = bits_div_ceil_pow2(block_count, order);
        if (order == 0) {
            info->group_count = flat_words;
            info->base_word = plan->flat_word;
            info->row_mask = ~(uint64_t)0;
            info->group_shift = 6;
        } else {
            unsigned band = (order - 1) / TILE_ORDERS;
            plan_row(info, order, plan->band_word[band], band_tiles[band]);
        }
        /* Order 0 has the most groups, hence the most levels. */
        words = plan_summary(info, plan->level_word[order], words, plan->orders[0].summary_levels);
    }
    buddy_layout_set_count(plan, capacity >> shift);
    if (user_data) {
        if (block_count > UINT64_MAX / 8u - words)
            return 0;
        plan->user_data_word = words;
        words += block_count;
    }
    return words;
}

size_t buddy_range_metadata_size_config(const buddy_range_config *config) {
    if (config == NULL ||
        (config->flags & ~(unsigned)(BUDDY_RANGE_USER_DATA | BUDDY_RANGE_THREAD_SAFE)) != 0)
        return 0;
    struct buddy_range plan;
    uint64_t max_capacity = config->max_capacity != 0 ? config->max_capacity : config->capacity;
    uint64_t words =
        buddy_layout_plan(&plan, config->capacity, max_capacity, config->min_block_size,
                          (config->flags & BUDDY_RANGE_USER_DATA) != 0);
    if (words == 0 || words > SIZE_MAX / sizeof(uint64_t))
        return 0;
    return (size_t)words * sizeof(uint64_t);
}

size_t buddy_range_metadata_size(uint64_t capacity, uint64_t min_block_size) {
    buddy_range_config config = {capacity, capacity, min_block_size, BUDDY_DEFAULT_POLICY,
                                 0,        NULL,     NULL,           NULL};
    return buddy_range_metadata_size_config(&config);
}
