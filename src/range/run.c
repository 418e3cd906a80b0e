/* SPDX-License-Identifier: MIT */
/*
 * The mutating paths off the hot ones: exact and packed runs
 * (buddy_range_alloc_exact, _alloc_packed, and what free, size and resize do
 * with the runs they make), the checked free, and resize. Every store is
 * announced (range_store.h): the shared range compiles this file again with
 * its stores logged (src/shared/logged_run.c).
 *
 * A run of c min blocks is the binary decomposition of c laid out from an
 * offset aligned to its largest piece: pieces of strictly decreasing order,
 * each a live block of the tree as any other, one after the other (a run
 * grown in place keeps its offset, so its pieces may rise first). It goes
 * across free blocks that follow each other where one of the lowest free
 * blocks of its largest order is followed by enough free min blocks, else it
 * is carved from the start of a block of the next order, whose rest stays
 * free (docs/design.md, "Placement"). Only the links are new:
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
 *     back-marked piece is found inside its own left half, as the first case.
 * Each costs a tile per band; alloc_exact and the free of a run do O(log n)
 * word operations (a split or a merge per order, a lookup per piece), and
 * alloc_exact O(log n) node tests per free block it tries.
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

static void set_mark(buddy_range *range, unsigned order, uint64_t index, bool on) {
    store_mark(range, order, index, on);
    count_marks(range, on ? 1 : (uint64_t)-1);
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
 * piece iff a marked piece ends at `first`: then that piece's mark is the
 * lowest split ancestor of min block first - 1, the one split node whose
 * parent is not split (I3), and the piece is at most of order ctz(first). */
static int check_starts_allocation(const buddy_range *range, uint64_t first, unsigned order) {
    unsigned top = range->top_order;
    if (order + 2 <= top && !node_test(range, order + 2, first >> (order + 2), SPLIT_BIT))
        return BUDDY_ENOTSTART; /* the split node above it is a mark, inside a piece */
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

/* The min blocks a run of `size` units takes: ceil(size / min block), 0
 * counting as one, plus one when that count is 3 mod 4 (see above). */
static uint64_t run_blocks(uint64_t size, unsigned shift) {
    uint64_t count = size == 0 ? 1 : ((size - 1) >> shift) + 1;
    return (count & 3u) == 3u ? count + 1 : count;
}

/* True iff a run of `count` min blocks (run_blocks') can start at min block
 * `first`, an even one. At an odd multiple of 2 a longer run's head is of
 * order 1, whose mark is the next piece's back mark: that piece must be of
 * order 2 or more (count >= 6), and the run must not end in 2 + 1 (count not
 * 1 mod 4). A count of 1 or 2 is a plain block. */
static bool run_fits_start(uint64_t first, uint64_t count) {
    return (first & 3u) == 0 || count <= 2 || (count >= 6 && (count & 3u) != 1);
}

/* The least count of at least `count` that a run can have at `first`. */
static uint64_t run_blocks_at(uint64_t first, uint64_t count) {
    if (run_fits_start(first, count))
        return count;
    return count < 6 ? 6 : count + 1;
}

/* The lowest multiple of `step` (a power of two) at or above `first` where a
 * run of `count` min blocks can start. */
static uint64_t run_start_from(uint64_t first, uint64_t step, uint64_t count) {
    uint64_t start = (first + step - 1u) & ~(step - 1u);
    return run_fits_start(start, count) ? start : start + 2u;
}

/* Carves a run of `count` min blocks from the start of free block (order,
 * index), already taken off the free bits: while the remaining count is not
 * the whole node, split it; a left half that the count covers is a piece (and
 * the run goes on in the right half), else the right half is freed and the
 * run goes on in the left. Each freed half's buddy is live or split, so
 * nothing merges. */
static void carve_run(buddy_range *range, unsigned order, uint64_t index, uint64_t count) {
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

/* Makes free min blocks [first, first + count) a run: each piece is carved,
 * and every piece but the last is marked. run_fits_start(first, count) holds,
 * so each of those is of order 2 or more, or an order-1 head that the next
 * piece, of order 2 or more, back-marks; or `count` is 1, 2 or 4 and `first`
 * a multiple of it: one plain block. */
static void carve_region(buddy_range *range, uint64_t first, uint64_t count) {
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
            set_mark(range, piece, index, true);
        }
        first += (uint64_t)1 << piece;
    }
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
    carve_region(range, first, count);
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
                set_mark(range, order, index, true);
                index |= 1u;
            }
            if (node_test(range, order, index, FREE_BIT))
                break;
        }
        free_remove(range, order, index);
    } else {
        buddy_carve_piece(range, index << order, order); /* inside a free block */
    }
    carve_run(range, order, index, need);
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
    set_mark(range, piece, index, true);
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
    carve_region(range, best_first, count);
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
    carve_region(range, first, count);
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
    carve_run(range, found, index, count);
    count_allocation(range, count);
    *offset_out = (index << found) << range->min_block_shift;
    return BUDDY_OK;
}

/* The min blocks of an exact or packed run of `size`, or 0 with the
 * status in *status_out. */
static uint64_t checked_run_blocks(buddy_range *range, uint64_t size, int *status_out) {
    if (exceeds_largest_block(range, size)) {
        count_failure(range);
        *status_out = BUDDY_ETOOBIG;
        return 0;
    }
    return run_blocks(size, range->min_block_shift);
}

static int unlocked_alloc_exact_aligned(buddy_range *range, uint64_t size, uint64_t alignment,
                                        uint64_t *offset_out) {
    if (range == NULL || offset_out == NULL || !bits_is_pow2(alignment))
        return BUDDY_EINVAL;
    int status = BUDDY_OK;
    uint64_t count = checked_run_blocks(range, size, &status), first = 0;
    if (count == 0)
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
    if (range == NULL || offset_out == NULL || !bits_is_pow2(alignment))
        return BUDDY_EINVAL;
    int status = BUDDY_OK;
    uint64_t count = checked_run_blocks(range, size, &status), first = 0;
    if (count == 0)
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
