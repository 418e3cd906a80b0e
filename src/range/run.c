/* SPDX-License-Identifier: MIT */
/*
 * Runs, the allocations of buddy_range_alloc_exact and _alloc_packed: how a
 * run is laid out and linked, carved from free blocks, freed, measured and
 * resized; and the checked free and resize of any allocation. Where a run
 * goes is place.c's. Every store is announced (range_store.h): the shared
 * range compiles this file again with its stores logged
 * (src/shared/logged_run.c).
 *
 * A run of c min blocks is the binary decomposition of c laid out from an
 * offset aligned to its largest piece: pieces of strictly decreasing order,
 * each a live block of the tree as any other, one after the other (a run
 * grown in place keeps its offset, so its pieces may rise first, as a packed
 * run's do up to the next boundary). Only the links are new:
 * a piece that has a successor is *marked* by the split bit of its right
 * child. Under a live block those bits are otherwise blank (I3), so a mark
 * costs no metadata. A piece of order 1 has no split bit below it (its
 * children are order-0 bits), so a run may not continue after one: a count
 * whose decomposition ends in 2 + 1 (c = 3 mod 4) takes one min block more.
 * The one exception is the head of a packed run at an odd multiple of 2: the
 * piece after it, of order 2 or more, carries its mark as a *back mark*, the
 * split bit of its own left child (back_marked_order, layout.h).
 *
 * Worked example: c = 13 = 8 + 4 + 1 at min block 16 (min blocks 16..28).
 * Pieces (3, 2) [16, 24), (2, 6) [24, 28) and (0, 28) [28, 29). (3, 2) is
 * marked at (2, 5), the right child, and (2, 6) at (1, 13); (0, 28) ends the
 * run. Free(16) frees the three; free(24) and free(28) are rejected, as the
 * start of a later piece; free(20), inside (3, 2), is rejected too.
 *
 * What the marks change for the other calls, all while run_marks != 0 only:
 *   - find_live_block reads the lowest split ancestor of a min block. Inside
 *     the right half of a marked piece that ancestor is the mark, a split
 *     node whose parent is not split; such an offset is inside a piece.
 *   - A piece is a later piece of a run iff a marked piece ends where it
 *     starts; that piece's mark is then the lowest split ancestor of the min
 *     block before, the one split node whose parent is not split. A
 *     back-marked piece is found inside its own left half, as the first case,
 *     or (its start) by its left child's split bit.
 * Each costs a tile per band. Carving and freeing a run do O(log n) word
 * operations (a split or a merge per order, a lookup per piece).
 */
#include "range_core.h"
#include "sync.h"

/* Sets or clears the split bit of a child of piece (order, index): `child` 1
 * for its mark, 0 for its back mark. count_marks counts it. */
static void store_child_mark(buddy_range *range, unsigned order, uint64_t index, unsigned child,
                             bool on) {
    node_ref ref = node_locate(range, order - 1, (index << 1) | child);
    uint64_t *word = &range_words(range)[ref.word + HALF_WORDS];
    WILL_STORE(range, word);
    *word = on ? *word | ref.mask : *word & ~ref.mask;
}

/* Adds `change` (which may wrap, to subtract) to the marks. */
static void count_marks(buddy_range *range, uint64_t change) {
    WILL_STORE(range, &range->run_marks);
    range->run_marks += change;
    WILL_STORE_32(range, &range->slow_free);
    update_slow_free(range);
}

static void store_mark(buddy_range *range, unsigned order, uint64_t index, bool on) {
    store_child_mark(range, order, index, 1, on);
}

void buddy_run_mark(buddy_range *range, unsigned order, uint64_t index) {
    store_mark(range, order, index, true);
    count_marks(range, 1);
}

/* The order of the lowest split ancestor of min block `first` among orders
 * 1..`highest` (below the top order), or 0 if none of them is split: one
 * tile per band, as find_live_block reads them, but climbing. */
static unsigned lowest_split_order(const buddy_range *range, uint64_t first, unsigned highest) {
    for (unsigned band = 0; band * TILE_ORDERS < highest; band++) {
        uint64_t tile =
            range->band_word[band] + (first >> (band * TILE_ORDERS + TILE_ORDERS)) * TILE_WORDS;
        unsigned t = (unsigned)(first >> (band * TILE_ORDERS)) & 255u;
        unsigned row = lowest_split_row(&range_words_const(range)[tile + HALF_WORDS], t);
        if (row != TILE_ORDERS) {
            unsigned order = band * TILE_ORDERS + row + 1u;
            return order <= highest ? order : 0;
        }
    }
    return 0;
}

/* BUDDY_OK iff the live block of `order` that find_live_block found at min
 * block `first` starts an allocation: it is not under a mark (inside the
 * right half of a marked piece), nor a later piece of a run. It is a later
 * piece iff it is back-marked (its left child is split, I3), or a marked
 * piece ends at `first`: then that piece's mark is the lowest split ancestor
 * of min block first - 1, the one split node whose parent is not split, and
 * the piece is at most of order ctz(first). find_live_block sees a back mark
 * as the lowest split ancestor of `first`, except where the piece is in row 0
 * of a band (order 9, 17, ...) and its back mark in the band below, which it
 * does not read: hence the test of the left child here. */
static int check_starts_allocation(const buddy_range *range, uint64_t first, unsigned order) {
    unsigned top = range->top_order;
    if (order + 2 <= top && !node_test(range, order + 2, first >> (order + 2), SPLIT_BIT))
        return BUDDY_ENOTSTART; /* the split node above it is a mark, inside a piece */
    if (order >= 2 && node_test(range, order - 1, first >> (order - 1), SPLIT_BIT))
        return BUDDY_ENOTSTART; /* back-marked: the piece after an order-1 head */
    if (first == 0)
        return BUDDY_OK;
    unsigned highest = bits_ctz(first) < top ? bits_ctz(first) : top; /* the piece's order */
    if (highest < 2)
        return BUDDY_OK; /* no marked piece (order >= 2) can end here */
    unsigned mark = lowest_split_order(range, first - 1, highest - 1);
    if (mark != 0 && !node_test(range, mark + 1, (first - 1) >> (mark + 1), SPLIT_BIT))
        return BUDDY_ENOTSTART; /* a marked piece ends here: a later piece */
    return BUDDY_OK;
}

/* The order of the live piece that starts at min block `first` (the next
 * piece of a run). */
static unsigned piece_order(const buddy_range *range, uint64_t first, node_ref *ref_out) {
    unsigned order = 0;
    int status = find_live_block(range, first << range->min_block_shift, &order, ref_out);
    assert(status == BUDDY_OK);
    (void)status;
    return order;
}

/* The order of the piece after marked piece (order, index): the back-marked
 * one after an order-1 head, else the one find_live_block finds. */
static unsigned next_piece_order(const buddy_range *range, unsigned order, uint64_t index) {
    uint64_t next = (index + 1) << order;
    node_ref unused;
    return order == 1 ? back_marked_order(range, next) : piece_order(range, next, &unused);
}

/* The most pieces a run has: orders rise, then fall, so two per order. */
#define MAX_PIECES (2u * 64u)

/* Frees the run whose head (order, index) is marked: the marks
 * first, then the pieces from the tail. A piece's climb that meets the piece
 * before it (its buddy, still live) merges it at once, so that piece never
 * goes on the free bits only to come off them again, as it would freed
 * first; the merged tree is the same in any order. */
static void free_pieces(buddy_range *range, unsigned order, uint64_t index) {
    uint64_t pieces[MAX_PIECES];
    unsigned char orders[MAX_PIECES];
    unsigned count = 0;
    uint64_t blocks = 0;
    for (bool marked = true; marked; count++) {
        assert(count < MAX_PIECES);
        pieces[count] = index;
        orders[count] = (unsigned char)order;
        blocks += (uint64_t)1 << order;
        marked = piece_is_marked(range, order, index);
        if (marked) {
            uint64_t next = (index + 1) << order;
            unsigned next_order = next_piece_order(range, order, index);
            if (order == 1)
                store_child_mark(range, next_order, next >> next_order, 0, false);
            else
                store_mark(range, order, index, false);
            order = next_order;
            index = next >> order;
        }
    }
    count_marks(range, (uint64_t)0 - (count - 1u));
    WILL_STORE_STATE(range, &range->allocated_blocks);
    range->allocated_blocks -= blocks;
    const uint64_t *words = range_words(range);
    while (count > 0) {
        count--;
        order = orders[count];
        index = pieces[count];
        node_ref ref = node_locate(range, order, index);
        while ((index | 1u) < range->orders[order].node_count) {
            node_ref buddy = buddy_locate(range, order, index, ref);
            if (words[buddy.word] & buddy.mask)
                free_remove_at(range, order, index ^ 1u, buddy);
            else if (count > 0 && orders[count - 1] == order && pieces[count - 1] == (index ^ 1u))
                count--; /* the piece before: merged, never free on its own */
            else
                break;
            ref = merge_into_parent(range, &order, &index);
        }
        free_insert_at(range, order, index, ref);
    }
}

int buddy_run_free(buddy_range *range, uint64_t offset, unsigned order, node_ref ref) {
    uint64_t first = offset >> range->min_block_shift;
    int status = check_starts_allocation(range, first, order);
    if (status != BUDDY_OK) {
        WILL_STORE(range, &range->rejected_frees);
        range->rejected_frees++;
        return status;
    }
    uint64_t index = first >> order;
    if (piece_is_marked(range, order, index)) {
        free_pieces(range, order, index);
    } else { /* a block, or a run of one */
        WILL_STORE_STATE(range, &range->allocated_blocks);
        range->allocated_blocks -= (uint64_t)1 << order;
        release_block(range, order, index, ref);
    }
    WILL_STORE_STATE(range, &range->live_blocks);
    range->live_blocks--;
    return BUDDY_OK;
}

int buddy_checked_free(buddy_range *range, uint64_t offset, int status, unsigned order,
                       node_ref ref) {
    status = buddy_reservation_check(range, offset, status);
    if (status != BUDDY_OK) {
        WILL_STORE(range, &range->rejected_frees);
        range->rejected_frees++;
        return status;
    }
    status = buddy_run_free(range, offset, order, ref); /* a plain block is a run of one */
    if (status == BUDDY_OK && range->user_data_word != 0) {
        uint64_t *slot =
            &range_words(range)[range->user_data_word + (offset >> range->min_block_shift)];
        /* The shared range's copy has code here, and no user data to run it. */
        WILL_STORE(range, slot); /* GCOVR_EXCL_LINE */
        *slot = 0;
    }
    return status;
}

int buddy_run_check_start(const buddy_range *range, uint64_t offset, unsigned order,
                          uint64_t *blocks_out) {
    uint64_t first = offset >> range->min_block_shift;
    int status = check_starts_allocation(range, first, order);
    if (status != BUDDY_OK)
        return status;
    uint64_t blocks = 0;
    for (;;) {
        bool marked = piece_is_marked(range, order, first >> order);
        blocks += (uint64_t)1 << order;
        if (!marked)
            break;
        unsigned next_order = next_piece_order(range, order, first >> order);
        first += (uint64_t)1 << order;
        order = next_order;
    }
    *blocks_out = blocks;
    return BUDDY_OK;
}

/* The least count of at least `count` that a run can have at `first`. */
static uint64_t run_blocks_at(uint64_t first, uint64_t count) {
    if (run_fits_start(first, count))
        return count;
    return count < 6 ? 6 : count + 1;
}

void buddy_run_carve(buddy_range *range, unsigned order, uint64_t index, uint64_t count) {
    uint64_t remaining = count, marks = 0;
    while (remaining != (uint64_t)1 << order) {
        node_set(range, order, index, SPLIT_BIT);
        order--;
        index <<= 1;
        if (remaining > (uint64_t)1 << order) { /* the left half is a piece, not the last */
            assert(order >= 2);
            store_mark(range, order, index, true);
            marks++;
            remaining -= (uint64_t)1 << order;
            index |= 1u;
        } else {
            free_insert(range, order, index | 1u);
        }
    }
    if (marks != 0)
        count_marks(range, marks);
}

bool buddy_free_block_holding(const buddy_range *range, uint64_t first, unsigned *order_out,
                              uint64_t *index_out) {
    for (unsigned order = range->top_order;; order--) {
        uint64_t index = first >> order;
        if (node_test(range, order, index, FREE_BIT)) {
            *order_out = order;
            *index_out = index;
            return true;
        }
        if (order == 0 || !node_test(range, order, index, SPLIT_BIT))
            return false; /* live (or a piece) */
    }
}

bool buddy_all_free(const buddy_range *range, uint64_t first, uint64_t end) {
    while (first < end) {
        uint64_t index = 0;
        unsigned order = 0;
        if (first >= range->block_count || !buddy_free_block_holding(range, first, &order, &index))
            return false;
        first = (index + 1) << order;
    }
    return true;
}

void buddy_carve_piece(buddy_range *range, uint64_t first, unsigned piece) {
    /* The node lies in one free block, found by climbing from it: the nodes on
     * the way are blank (inside that block), never split. */
    unsigned order = piece;
    while (!node_test(range, order, first >> order, FREE_BIT)) {
        assert(order < range->top_order &&
               (order == 0 || !node_test(range, order, first >> order, SPLIT_BIT)));
        order++;
    }
    uint64_t index = first >> order;
    free_remove(range, order, index);
    for (unsigned level = order; level > piece; level--) {
        node_set(range, level, index, SPLIT_BIT);
        uint64_t child = first >> (level - 1); /* the half on the way to the piece */
        free_insert(range, level - 1, child ^ 1u);
        index = child;
    }
}

/* The order of the next piece of a run that goes on at min block `first`
 * with `count` min blocks left: the largest aligned block there that the
 * count covers, min(ctz(first), floor(log2 count)), in a form the analyzer
 * bounds. */
static unsigned next_piece(uint64_t first, uint64_t count) {
    unsigned piece = 0;
    while ((count >> piece) > 1 && ((first >> piece) & 1u) == 0)
        piece++;
    return piece;
}

void buddy_run_carve_region(buddy_range *range, uint64_t first, uint64_t count) {
    bool after_head = false; /* the piece before is an order-1 head */
    while (count != 0) {
        unsigned piece = next_piece(first, count);
        buddy_carve_piece(range, first, piece);
        uint64_t index = first >> piece;
        if (after_head) {
            assert(piece >= 2);
            store_child_mark(range, piece, index, 0, true);
            count_marks(range, 1);
        }
        count -= (uint64_t)1 << piece;
        after_head = count != 0 && piece == 1;
        if (count != 0 && !after_head) {
            assert(piece >= 2);
            buddy_run_mark(range, piece, index);
        }
        first += (uint64_t)1 << piece;
    }
}

int buddy_run_resize(buddy_range *range, uint64_t offset, uint64_t blocks, uint64_t new_size) {
    unsigned shift = range->min_block_shift;
    uint64_t first = offset >> shift;
    uint64_t count = run_blocks_at(first, run_blocks(new_size, shift));
    if (count == blocks)
        return BUDDY_OK;
    if (count > blocks && !buddy_all_free(range, first + blocks, first + count))
        return BUDDY_ENOMEM;
    node_ref ref = {0, 0};
    unsigned order = piece_order(range, first, &ref);
    int status = buddy_run_free(range, offset, order, ref); /* merges: all of it is free */
    assert(status == BUDDY_OK);
    (void)status;
    buddy_run_carve_region(range, first, count);
    count_allocation(range, count);
    return BUDDY_OK;
}

/* Grows live block (order, index) to `target` by absorbing its free buddies:
 * possible iff at each order below `target` the block is a lower half whose
 * buddy is a free block. Checks everything before it changes anything. */
static bool grow_in_place(buddy_range *range, unsigned order, uint64_t index, unsigned target) {
    uint64_t probe = index;
    for (unsigned level = order; level < target; level++, probe >>= 1)
        if ((probe & 1u) || (probe | 1u) >= range->orders[level].node_count ||
            !node_test(range, level, probe | 1u, FREE_BIT))
            return false;
    for (; order < target; order++, index >>= 1) {
        free_remove(range, order, index | 1u);
        node_ref parent = node_locate(range, order + 1, index >> 1);
        WILL_STORE(range, &range_words(range)[parent.word + HALF_WORDS]);
        range_words(range)[parent.word + HALF_WORDS] &= ~parent.mask;
    }
    return true;
}

int buddy_resize(buddy_range *range, uint64_t offset, uint64_t new_size) {
    unsigned order = 0;
    uint64_t blocks = 0;
    int status = buddy_find_allocation(range, offset, &order, &blocks);
    if (status != BUDDY_OK)
        return status;
    unsigned shift = range->min_block_shift;
    if (exceeds_largest_block(range, new_size))
        return BUDDY_ETOOBIG;
    if (blocks != (uint64_t)1 << order) /* a run stays a run of the exact new size */
        return buddy_run_resize(range, offset, blocks, new_size);
    unsigned target = order_for_size(new_size, shift);
    uint64_t index = (offset >> shift) >> order;
    if (target < order) {
        shrink_in_place(range, order, index, target);
    } else if (target > order) {
        if (!grow_in_place(range, order, index, target))
            return BUDDY_ENOMEM;
    }
    WILL_STORE_STATE(range, &range->allocated_blocks);
    range->allocated_blocks =
        range->allocated_blocks - ((uint64_t)1 << order) + ((uint64_t)1 << target);
    if (range->allocated_blocks > range->peak_allocated_blocks) {
        WILL_STORE_STATE(range, &range->peak_allocated_blocks);
        range->peak_allocated_blocks = range->allocated_blocks;
    }
    return BUDDY_OK;
}
