/* SPDX-License-Identifier: MIT */
/*
 * What engines that suballocate device memory need beside alloc and free:
 * reservations, a capacity that grows and shrinks, and user data; and the
 * checked free that the first and the last of them require.
 *
 * A reservation is a region cut out of the free blocks as the largest
 * aligned blocks that tile it: blank leaves of the tree, like live blocks.
 * What tells them apart is the header's table of reserved regions (at most
 * MAX_RESERVATIONS, sorted), which free, size, resize and walk consult only
 * while a reservation exists (slow_free). A fixed table keeps the metadata
 * free of pointers and its size fixed; regions reserved this way are few
 * (firmware, a framebuffer, a dummy block at the end).
 *
 * The capacity moves within the layout planned for max_capacity: nodes wholly
 * beyond the capacity are blank and those that straddle it are split (I4), as
 * for any capacity that is not a power of two. Growth makes the new min blocks
 * free blocks, merging them as free does; a shrink takes the free blocks
 * beyond the new end off the free bits and blanks the nodes there.
 *
 * User data is one 64-bit slot per min block after the layout, indexed by an
 * allocation's first min block, so it costs 8 bytes per min block when asked
 * for and nothing otherwise. A slot is nonzero only at the start of a live
 * allocation (I13): the checked free clears it, so a new allocation reads 0.
 */
#include "range_core.h"
#include "sync.h"

int buddy_reservation_check(const buddy_range *range, uint64_t offset, int status) {
    if (status == BUDDY_ERANGE || status == BUDDY_EALIGN || range->reservation_count == 0)
        return status;
    return reservation_holding(range, offset >> range->min_block_shift) < MAX_RESERVATIONS
               ? BUDDY_ERESERVED
               : status;
}

/* The order of the largest block that starts at min block `first` (aligned to
 * its size) and ends by `end`. */
static unsigned largest_piece(uint64_t first, uint64_t end) {
    unsigned piece = 0;
    while (piece < BUDDY_MAX_ORDER && (first & bits_low_mask(piece + 1)) == 0 &&
           ((uint64_t)2 << piece) <= end - first)
        piece++;
    return piece;
}

/* The min blocks [first, end) that hold units [offset, offset + size). */
static bool region_blocks(const buddy_range *range, uint64_t offset, uint64_t size,
                          uint64_t *first_out, uint64_t *end_out) {
    if (offset >= range->capacity || size > range->capacity - offset)
        return false;
    unsigned shift = range->min_block_shift;
    *first_out = offset >> shift;
    *end_out = ((offset + size - 1) >> shift) + 1;
    return true;
}

static int unlocked_reserve(buddy_range *range, uint64_t offset, uint64_t size) {
    if (range == NULL || size == 0)
        return BUDDY_EINVAL;
    uint64_t first = 0, end = 0;
    if (!region_blocks(range, offset, size, &first, &end))
        return BUDDY_ERANGE;
    if (range->reservation_count == MAX_RESERVATIONS)
        return BUDDY_ENOMEM;
    if (!buddy_all_free(range, first, end))
        return BUDDY_EBUSY;
    for (uint64_t at = first; at < end;) {
        unsigned piece = largest_piece(at, end);
        buddy_carve_piece(range, at, piece);
        at += (uint64_t)1 << piece;
    }
    unsigned slot = range->reservation_count++;
    for (; slot > 0 && range->reservations[slot - 1][0] > first; slot--) {
        range->reservations[slot][0] = range->reservations[slot - 1][0];
        range->reservations[slot][1] = range->reservations[slot - 1][1];
    }
    range->reservations[slot][0] = first;
    range->reservations[slot][1] = end;
    range->reserved_blocks += end - first;
    update_slow_free(range);
    return BUDDY_OK;
}

int buddy_range_reserve(buddy_range *range, uint64_t offset, uint64_t size) {
    BUDDY_SYNCED(int, range, unlocked_reserve(range, offset, size));
}

static int unlocked_unreserve(buddy_range *range, uint64_t offset, uint64_t size) {
    if (range == NULL || size == 0)
        return BUDDY_EINVAL;
    uint64_t first = 0, end = 0;
    unsigned slot = MAX_RESERVATIONS;
    if (region_blocks(range, offset, size, &first, &end))
        slot = reservation_holding(range, first);
    if (slot == MAX_RESERVATIONS || range->reservations[slot][0] != first ||
        range->reservations[slot][1] != end)
        return BUDDY_ENOTLIVE;
    for (range->reservation_count--; slot < range->reservation_count; slot++) {
        range->reservations[slot][0] = range->reservations[slot + 1][0];
        range->reservations[slot][1] = range->reservations[slot + 1][1];
    }
    range->reservations[slot][0] = range->reservations[slot][1] = 0;
    range->reserved_blocks -= end - first;
    update_slow_free(range);
    for (uint64_t at = first; at < end;) { /* each piece merges with the ones before */
        unsigned piece = largest_piece(at, end);
        uint64_t index = at >> piece;
        release_block(range, piece, index, node_locate(range, piece, index));
        at += (uint64_t)1 << piece;
    }
    return BUDDY_OK;
}

int buddy_range_unreserve(buddy_range *range, uint64_t offset, uint64_t size) {
    BUDDY_SYNCED(int, range, unlocked_unreserve(range, offset, size));
}

/* Gives up the free min blocks [count, n): the free block that straddles
 * count keeps its part below count as its binary decomposition, and every
 * node from count on is blanked. */
static void shrink_capacity(buddy_range *range, uint64_t count) {
    for (uint64_t at = count; at < range->block_count;) {
        unsigned order = 0;
        uint64_t index = 0;
        bool found = buddy_free_block_holding(range, at, &order, &index);
        assert(found);
        (void)found;
        free_remove(range, order, index);
        if ((index << order) < count)
            buddy_free_below(range, count, order);
        at = (index + 1) << order;
    }
    uint64_t *words = range_words(range);
    for (unsigned order = 1; order <= range->top_order; order++) {
        for (uint64_t index = bits_div_ceil_pow2(count, order);
             index < range->orders[order].node_count; index++) {
            node_ref ref = node_locate(range, order, index);
            words[ref.word + HALF_WORDS] &= ~ref.mask;
        }
    }
    buddy_layout_set_count(range, count);
}

/* Frees the new min blocks [n, count) as the largest aligned blocks, each
 * under split ancestors, merging them as free does. */
static void grow_capacity(buddy_range *range, uint64_t count) {
    uint64_t at = range->block_count;
    buddy_layout_set_count(range, count); /* the new buddies exist */
    while (at < count) {
        unsigned piece = largest_piece(at, count);
        for (unsigned order = piece + 1; order <= range->top_order; order++) {
            if (node_test(range, order, at >> order, SPLIT_BIT))
                break;
            node_set(range, order, at >> order, SPLIT_BIT); /* it straddles the old end */
        }
        uint64_t index = at >> piece;
        release_block(range, piece, index, node_locate(range, piece, index));
        at += (uint64_t)1 << piece;
    }
}

static int unlocked_set_capacity(buddy_range *range, uint64_t new_capacity) {
    if (range == NULL)
        return BUDDY_EINVAL;
    uint64_t count = new_capacity >> range->min_block_shift;
    if (count == 0)
        return BUDDY_EGEOMETRY;
    if (count > range->max_block_count)
        return BUDDY_ESMALL;
    if (count < range->block_count) {
        if (!buddy_all_free(range, count, range->block_count))
            return BUDDY_EBUSY;
        shrink_capacity(range, count);
    } else if (count > range->block_count) {
        grow_capacity(range, count);
    }
    return BUDDY_OK;
}

int buddy_range_set_capacity(buddy_range *range, uint64_t new_capacity) {
    BUDDY_SYNCED(int, range, unlocked_set_capacity(range, new_capacity));
}

/* The word of the user data slot of the allocation that starts at `offset`,
 * or the status that says why there is none. */
static int user_data_word(const buddy_range *range, uint64_t offset, uint64_t *word_out) {
    if (range == NULL || range->user_data_word == 0)
        return BUDDY_EINVAL;
    unsigned order = 0;
    uint64_t blocks = 0;
    int status = buddy_find_allocation(range, offset, &order, &blocks);
    if (status == BUDDY_OK)
        *word_out = range->user_data_word + (offset >> range->min_block_shift);
    return status;
}

static int unlocked_set_user_data(buddy_range *range, uint64_t offset, uint64_t value) {
    uint64_t word = 0;
    int status = user_data_word(range, offset, &word);
    if (status == BUDDY_OK)
        range_words(range)[word] = value;
    return status;
}

int buddy_range_set_user_data(buddy_range *range, uint64_t offset, uint64_t value) {
    BUDDY_SYNCED(int, range, unlocked_set_user_data(range, offset, value));
}

int buddy_unlocked_get_user_data(const buddy_range *range, uint64_t offset, uint64_t *value_out) {
    if (value_out == NULL)
        return BUDDY_EINVAL;
    uint64_t word = 0;
    int status = user_data_word(range, offset, &word);
    if (status == BUDDY_OK)
        *value_out = range_words_const(range)[word];
    return status;
}

int buddy_range_get_user_data(const buddy_range *range, uint64_t offset, uint64_t *value_out) {
    BUDDY_SYNCED(int, range, buddy_unlocked_get_user_data(range, offset, value_out));
}
