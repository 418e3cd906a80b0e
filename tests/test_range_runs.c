/* SPDX-License-Identifier: MIT */
/*
 * Exact runs (buddy_range_alloc_exact), by hand: the worked example of
 * src/range/run.c, a run placed across free blocks, the rounding of counts that are 3 mod 4,
 * power-of-two counts that match buddy_range_alloc, the free remainder, and a rejected free of
 * every offset of a run other than its start, each leaving every metadata byte but the rejection
 * counter as it was.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "buddy.h"
#include "check.h"
#include "layout.h"

static _Alignas(64) unsigned char memory[1 << 16], before[1 << 16];

static buddy_range *make(uint64_t capacity, uint64_t min_block, buddy_policy policy) {
    buddy_range *range = NULL;
    size_t size = buddy_range_metadata_size(capacity, min_block);
    CHECK(size != 0 && size <= sizeof memory);
    CHECK_STATUS(buddy_range_init(&range, memory, size, capacity, min_block, policy), BUDDY_OK);
    return range;
}

static void format_is(const buddy_range *range, const char *expected) {
    char tree[512];
    buddy_range_format(range, tree, sizeof tree);
    CHECK_EQ_STR(tree, expected);
}

/* 13 min blocks of 16 units at min block 16: pieces 8 + 4 + 1. */
static void the_worked_example(void) {
    buddy_range *range = make(64 * 16, 16, BUDDY_BEST_FIT);
    uint64_t head = 0, size = 0;
    CHECK_STATUS(buddy_range_alloc(range, 16 * 16, &head), BUDDY_OK); /* takes [0, 16) */
    uint64_t run = 0;
    CHECK_STATUS(buddy_range_alloc_exact(range, 13 * 16 - 5, &run), BUDDY_OK);
    CHECK_EQ_U64(run, 16 * 16); /* the lowest free block of order 4 */
    CHECK_STATUS(buddy_range_size(range, run, &size), BUDDY_OK);
    CHECK_EQ_U64(size, 13 * 16);
    format_is(range, "(([0:16]([16:8]([+24:4](([+28:1](29:1))(30:2)))))(32:32))");
    buddy_range_stats stats;
    CHECK_STATUS(buddy_range_get_stats(range, &stats), BUDDY_OK);
    CHECK_EQ_U64(stats.live_blocks, 2);
    CHECK_EQ_U64(stats.allocated_bytes, (16 + 13) * 16);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);

    /* Every offset of the run but its start: rejected, nothing else changes. */
    size_t bytes = (size_t)range->metadata_size;
    size_t counter = offsetof(struct buddy_range, rejected_frees);
    for (uint64_t offset = run + 1; offset < run + 13 * 16; offset++) {
        memcpy(before, memory, bytes);
        int status = buddy_range_free(range, offset);
        CHECK(status == BUDDY_ENOTSTART || status == BUDDY_EALIGN);
        CHECK_EQ_INT(memcmp(before, memory, counter), 0);
        CHECK_EQ_INT(memcmp(before + counter + 8, memory + counter + 8, bytes - counter - 8), 0);
        CHECK_STATUS(buddy_range_size(range, offset, &size), status);
    }
    CHECK_STATUS(buddy_range_free(range, run + 8 * 16), BUDDY_ENOTSTART);  /* the second piece */
    CHECK_STATUS(buddy_range_free(range, run + 12 * 16), BUDDY_ENOTSTART); /* the third */
    CHECK_STATUS(buddy_range_resize(range, run + 8 * 16, 16), BUDDY_ENOTSTART);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);

    CHECK_STATUS(buddy_range_free(range, run), BUDDY_OK);
    CHECK_STATUS(buddy_range_free(range, run), BUDDY_ENOTLIVE); /* a double free */
    format_is(range, "(([0:16](16:16))(32:32))");
    CHECK_STATUS(buddy_range_free(range, head), BUDDY_OK);
    format_is(range, "(0:64)");
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
}

/* A count of 3 mod 4 would end in a piece of 2 and one of 1, and a piece of 2
 * has no split bit below it for a mark: it takes one min block more. */
static void counts_of_three_mod_four_take_one_more(void) {
    static const uint64_t counts[][2] = {{3, 4}, {7, 8}, {11, 12}, {5, 5}, {6, 6}, {9, 9}};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        buddy_range *range = make(32, 1, BUDDY_FIRST_FIT);
        uint64_t offset = 0, size = 0;
        CHECK_STATUS(buddy_range_alloc_exact(range, counts[i][0], &offset), BUDDY_OK);
        CHECK_STATUS(buddy_range_size(range, offset, &size), BUDDY_OK);
        CHECK_EQ_U64(size, counts[i][1]);
        CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    }
}

/* Power-of-two counts are plain blocks, exactly where alloc puts them. */
static void power_of_two_counts_match_alloc(void) {
    for (uint64_t size = 0; size <= 64; size++) {
        buddy_range *range = make(100, 1, BUDDY_BEST_FIT);
        uint64_t a = 0, b = 0, exact = 0, plain = 0;
        CHECK_STATUS(buddy_range_alloc(range, 3, &a), BUDDY_OK); /* something to place around */
        CHECK_STATUS(buddy_range_alloc(range, 10, &b), BUDDY_OK);
        uint64_t count = size == 0 ? 1 : size;
        if ((count & (count - 1)) != 0)
            continue;
        CHECK_STATUS(buddy_range_alloc_exact(range, size, &exact), BUDDY_OK);
        CHECK_STATUS(buddy_range_free(range, exact), BUDDY_OK);
        CHECK_STATUS(buddy_range_alloc(range, size, &plain), BUDDY_OK);
        CHECK_EQ_U64(exact, plain);
    }
}

/* The rest of the carved block stays free for others: 5 of 8. */
static void the_remainder_is_free(void) {
    buddy_range *range = make(16, 1, BUDDY_BEST_FIT);
    uint64_t run = 0, one = 0, two = 0;
    CHECK_STATUS(buddy_range_alloc_exact(range, 5, &run), BUDDY_OK);
    format_is(range, "(([0:4](([+4:1](5:1))(6:2)))(8:8))");
    CHECK_STATUS(buddy_range_alloc(range, 1, &one), BUDDY_OK);
    CHECK_EQ_U64(one, 5);
    CHECK_STATUS(buddy_range_alloc(range, 2, &two), BUDDY_OK);
    CHECK_EQ_U64(two, 6);
    buddy_range_stats stats;
    CHECK_STATUS(buddy_range_get_stats(range, &stats), BUDDY_OK);
    CHECK_EQ_U64(stats.allocated_bytes, 8);
    CHECK_EQ_U64(stats.live_blocks, 3);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    CHECK_STATUS(buddy_range_free(range, run), BUDDY_OK);
    CHECK_STATUS(buddy_range_free(range, one), BUDDY_OK);
    CHECK_STATUS(buddy_range_free(range, two), BUDDY_OK);
    format_is(range, "(0:16)");
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
}

/* Whether `byte` of the header holds the history (failure counters, peak),
 * which any value may have. */
static bool is_history(size_t byte) {
    size_t counters = offsetof(struct buddy_range, alloc_failures);
    size_t peak = offsetof(struct buddy_range, peak_allocated_blocks);
    return byte - counters < 16 || byte - peak < 8;
}

/* Whether `byte` is in one of the caller's choices (the policy, how calls are
 * serialised) and that now holds another valid value: a valid range, which no
 * checker can tell from the first. */
static bool is_another_choice(const struct buddy_range *range, size_t byte) {
    if (byte - offsetof(struct buddy_range, policy) < sizeof range->policy)
        return range->policy <= BUDDY_FIRST_FIT;
    if (byte - offsetof(struct buddy_range, sync) < sizeof range->sync)
        return range->sync <= SYNC_HOOKS;
    return false;
}

/* With runs in the range, the checker still notices a flip of any bit of the
 * metadata but the history and a choice's other valid values: marks, pieces,
 * counts. Every 7th bit, in memory order, so that the bits flipped are the
 * same on either byte order. */
static void corruption_with_runs_is_detected(void) {
    buddy_range *range = make(64, 1, BUDDY_BEST_FIT);
    uint64_t offset = 0;
    static const uint64_t sizes[] = {13, 5, 6, 2, 9};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        CHECK_STATUS(buddy_range_alloc_exact(range, sizes[i], &offset), BUDDY_OK);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    unsigned missed = 0;
    for (size_t bit = 0; bit < (size_t)range->metadata_size * 8; bit += 7) {
        size_t byte = bit / 8;
        if (is_history(byte))
            continue;
        unsigned char *target = (unsigned char *)(void *)range + byte;
        *target ^= (unsigned char)(1u << (bit % 8));
        missed += buddy_range_check(range) != BUDDY_ECORRUPT && !is_another_choice(range, byte);
        *target ^= (unsigned char)(1u << (bit % 8));
    }
    CHECK_EQ_INT(missed, 0);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);

    /* With a back mark (a packed run of 8 at 2, after a block of 2), every bit
     * of the tree and its summaries. */
    range = make(16, 1, BUDDY_BEST_FIT);
    CHECK_STATUS(buddy_range_alloc(range, 2, &offset), BUDDY_OK);
    CHECK_STATUS(buddy_range_alloc_packed(range, 8, &offset), BUDDY_OK);
    CHECK_EQ_U64(offset, 2);
    format_is(range, "({{[0:2][2:2]}[+4:4]}(([+8:2](10:2))(12:4)))");
    size_t words = (size_t)range->metadata_size / 8;
    for (size_t word = (size_t)range->flat_word; word < words; word++) {
        for (unsigned bit = 0; bit < 64; bit++) {
            uint64_t *target = (uint64_t *)(void *)range + word;
            *target ^= UINT64_C(1) << bit;
            missed += buddy_range_check(range) != BUDDY_ECORRUPT;
            *target ^= UINT64_C(1) << bit;
        }
    }
    CHECK_EQ_INT(missed, 0);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);

    /* A mark on the last piece of a run (nothing live follows it), with the
     * counts of marks and of live allocations kept right: I11 alone catches
     * it. */
    range = make(16, 1, BUDDY_BEST_FIT);
    CHECK_STATUS(buddy_range_alloc_exact(range, 12, &offset), BUDDY_OK); /* 8 + 4, [12, 16) free */
    node_ref mark = node_locate(range, 1, 5); /* the right child of the piece (2, 2) */
    range_words(range)[mark.word + HALF_WORDS] |= mark.mask;
    range->run_marks++;
    range->live_blocks--;
    CHECK_STATUS(buddy_range_check(range), BUDDY_ECORRUPT);

    /* The same on a block that ends where the range does. */
    range = make(32, 1, BUDDY_BEST_FIT);
    CHECK_STATUS(buddy_range_alloc_exact(range, 5, &offset), BUDDY_OK); /* [0, 4) [4, 5) */
    CHECK_STATUS(buddy_range_alloc(range, 16, &offset), BUDDY_OK);
    CHECK_EQ_U64(offset, 16);
    mark = node_locate(range, 3, 3); /* the right child of (4, 1) */
    range_words(range)[mark.word + HALF_WORDS] |= mark.mask;
    range->run_marks++;
    range->live_blocks--;
    CHECK_STATUS(buddy_range_check(range), BUDDY_ECORRUPT);
}

/* A free of each min block of the run at `run` but its start (min block 1)
 * is BUDDY_ENOTSTART and changes no metadata byte but the rejection counter. */
static void later_offsets_are_rejected(buddy_range *range, uint64_t run, uint64_t blocks) {
    size_t bytes = (size_t)range->metadata_size;
    size_t counter = offsetof(struct buddy_range, rejected_frees);
    for (uint64_t offset = run + 1; offset < run + blocks; offset++) {
        memcpy(before, memory, bytes);
        CHECK_STATUS(buddy_range_free(range, offset), BUDDY_ENOTSTART);
        CHECK_EQ_INT(memcmp(before, memory, counter), 0);
        CHECK_EQ_INT(memcmp(before + counter + 8, memory + counter + 8, bytes - counter - 8), 0);
    }
}

/* In place, a run grows over free min blocks after it and shrinks by giving
 * back its tail, staying a run of the new exact size; a failed grow changes
 * nothing. */
static void runs_resize_in_place(void) {
    buddy_range *range = make(16, 1, BUDDY_BEST_FIT);
    uint64_t run = 0, one = 0, size = 0;
    CHECK_STATUS(buddy_range_alloc_exact(range, 5, &run), BUDDY_OK); /* [0, 4) [4, 5) */
    CHECK_STATUS(buddy_range_alloc(range, 1, &one), BUDDY_OK);
    CHECK_EQ_U64(one, 5);
    size_t bytes = (size_t)range->metadata_size;
    memcpy(before, memory, bytes);
    CHECK_STATUS(buddy_range_resize(range, run, 6), BUDDY_ENOMEM); /* 5 is live */
    CHECK_EQ_INT(memcmp(before, memory, bytes), 0);
    CHECK_STATUS(buddy_range_free(range, one), BUDDY_OK);
    CHECK_STATUS(buddy_range_resize(range, run, 6), BUDDY_OK);
    format_is(range, "(([0:4]([+4:2](6:2)))(8:8))");
    CHECK_STATUS(buddy_range_resize(range, run, 13), BUDDY_OK);
    format_is(range, "([0:8]([+8:4](([+12:1](13:1))(14:2))))");
    CHECK_STATUS(buddy_range_size(range, run, &size), BUDDY_OK);
    CHECK_EQ_U64(size, 13);
    CHECK_STATUS(buddy_range_resize(range, run, 5), BUDDY_OK);
    format_is(range, "(([0:4](([+4:1](5:1))(6:2)))(8:8))");
    CHECK_STATUS(buddy_range_resize(range, run, 3), BUDDY_OK); /* 3 takes 4: a plain block */
    format_is(range, "(([0:4](4:4))(8:8))");
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    CHECK_STATUS(buddy_range_free(range, run), BUDDY_OK);
    format_is(range, "(0:16)");
}

/* A range of `count` min blocks of one unit, each allocated on its own. */
static buddy_range *make_full(uint64_t count) {
    buddy_range *range = make(count, 1, BUDDY_BEST_FIT);
    uint64_t offset = 0;
    for (uint64_t i = 0; i < count; i++)
        CHECK_STATUS(buddy_range_alloc(range, 1, &offset), BUDDY_OK);
    return range;
}

/* Frees min blocks [first, end) of such a range, one by one. */
static void free_each(buddy_range *range, uint64_t first, uint64_t end) {
    for (uint64_t i = first; i < end; i++)
        CHECK_STATUS(buddy_range_free(range, i), BUDDY_OK);
}

/* A run that ends near the end of the range cannot grow past it: nothing
 * changes. Past a power-of-two capacity lie nodes of no tile; with a free min
 * block in every group of 64, the words there have bits set. */
static void runs_do_not_grow_past_the_end(void) {
    for (unsigned shift = 8; shift <= 16; shift += 4) {
        uint64_t count = UINT64_C(1) << shift, run = 0, size = 0;
        buddy_range *range = make_full(count);
        for (uint64_t i = 1; i < count; i += 64)
            CHECK_STATUS(buddy_range_free(range, i), BUDDY_OK);
        free_each(range, count - 8, count);
        CHECK_STATUS(buddy_range_alloc_exact(range, 5, &run), BUDDY_OK);
        CHECK_EQ_U64(run, count - 8); /* [n - 8, n - 4) [n - 4, n - 3), then 3 free */
        size_t bytes = (size_t)range->metadata_size;
        memcpy(before, memory, bytes);
        CHECK_STATUS(buddy_range_resize(range, run, 9), BUDDY_ENOMEM);
        CHECK_EQ_INT(memcmp(before, memory, bytes), 0);
        CHECK_STATUS(buddy_range_resize(range, run, 8), BUDDY_OK); /* up to the end */
        CHECK_STATUS(buddy_range_size(range, run, &size), BUDDY_OK);
        CHECK_EQ_U64(size, 8);
        CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    }
}

/* With runs in the range, the checked free asks whether a live order-1
 * block is a run's head, which the piece after it would say. The last such
 * block of a power-of-two range has no piece after it: where that piece's
 * back mark would be lie other bits, a summary's or another band's (here
 * set by a free block of order 4 and the first half allocated whole). */
static void the_last_block_heads_no_run(void) {
    for (unsigned shift = 8; shift <= 16; shift += 4) {
        uint64_t count = UINT64_C(1) << shift, offset = 0, run = 0, size = 0;
        buddy_range *range = make(count, 1, BUDDY_BEST_FIT);
        CHECK_STATUS(buddy_range_alloc(range, count / 2, &offset), BUDDY_OK);
        for (uint64_t i = count / 2; i < count - 2; i++)
            CHECK_STATUS(buddy_range_alloc(range, 1, &offset), BUDDY_OK);
        CHECK_STATUS(buddy_range_alloc(range, 2, &offset), BUDDY_OK);
        CHECK_EQ_U64(offset, count - 2);
        free_each(range, count - 24, count - 16);
        CHECK_STATUS(buddy_range_alloc_exact(range, 5, &run), BUDDY_OK);
        CHECK_EQ_U64(run, count - 24);
        free_each(range, count - 48, count - 32);
        CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
        CHECK_STATUS(buddy_range_size(range, count - 2, &size), BUDDY_OK);
        CHECK_EQ_U64(size, 2);
        CHECK_STATUS(buddy_range_free(range, count - 2), BUDDY_OK);
        CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    }
}

/* A free extent that ends at the end of a power-of-two range ends there:
 * the node that would start at the capacity lies past the tiles, on words
 * that hold other bits (at 2^16 min blocks, a summary's bit that a free min
 * block at 16300 sets). A packed run of 5 at the extent's only start, 2
 * before the end, does not fit. */
static void free_extents_end_at_the_capacity(void) {
    for (unsigned shift = 8; shift <= 16; shift += 4) {
        uint64_t count = UINT64_C(1) << shift, offset = 0;
        buddy_range *range = make_full(count);
        if (count > 16300)
            CHECK_STATUS(buddy_range_free(range, 16300), BUDDY_OK);
        free_each(range, count - 6, count);
        size_t bytes = (size_t)range->metadata_size;
        memcpy(before, memory, bytes);
        CHECK_STATUS(buddy_range_alloc_packed(range, 5, &offset), BUDDY_ENOMEM);
        range->alloc_failures--; /* the one counter a failed allocation moves */
        CHECK_EQ_INT(memcmp(before, memory, bytes), 0);
        CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    }
}

/* A run grows in place whenever the min blocks after it are free, even where
 * its start is not a multiple of the new largest piece: its pieces then rise
 * to the next boundary, then fall. Free, size, format and the checker follow
 * them; every offset but the start is rejected and changes nothing. */
static void grown_runs_rise_then_fall(void) {
    buddy_range *range = make(32, 1, BUDDY_BEST_FIT);
    uint64_t plain = 0, run = 0, size = 0;
    CHECK_STATUS(buddy_range_alloc(range, 4, &plain), BUDDY_OK); /* [0, 4) */
    CHECK_STATUS(buddy_range_alloc_exact(range, 5, &run), BUDDY_OK);
    CHECK_EQ_U64(run, 4);                                       /* [4, 8) [8, 9), across */
    CHECK_STATUS(buddy_range_resize(range, run, 13), BUDDY_OK); /* [4, 8) [8, 16) [16, 17) */
    format_is(range, "({{[0:4][4:4]}[+8:8]}(((([+16:1](17:1))(18:2))(20:4))(24:8)))");
    CHECK_STATUS(buddy_range_size(range, run, &size), BUDDY_OK);
    CHECK_EQ_U64(size, 13);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    later_offsets_are_rejected(range, run, 13);
    CHECK_STATUS(buddy_range_resize(range, run, 9), BUDDY_OK); /* [4, 8) [8, 12) [12, 13) */
    format_is(range, "(({[0:4][4:4]}([+8:4](([+12:1](13:1))(14:2))))(16:16))");
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    CHECK_STATUS(buddy_range_free(range, run), BUDDY_OK);
    CHECK_STATUS(buddy_range_free(range, plain), BUDDY_OK);
    format_is(range, "(0:32)");
}

/* A range of `blocks` min blocks of 1 unit, every one allocated but those of
 * the holes [holes[i][0], holes[i][1]). */
static buddy_range *with_holes(uint64_t blocks, const uint64_t (*holes)[2], size_t count) {
    buddy_range *range = make(blocks, 1, BUDDY_BEST_FIT);
    uint64_t offset = 0;
    for (uint64_t i = 0; i < blocks; i++) {
        CHECK_STATUS(buddy_range_alloc(range, 1, &offset), BUDDY_OK);
        CHECK_EQ_U64(offset, i);
    }
    for (size_t h = 0; h < count; h++)
        for (uint64_t at = holes[h][0]; at < holes[h][1]; at++)
            CHECK_STATUS(buddy_range_free(range, at), BUDDY_OK);
    return range;
}

/* A packed run of `count` units (min blocks of 1) that must go at `expected`:
 * its size, the checker, and every other offset of it rejected. */
static void packed_run_at(buddy_range *range, uint64_t count, uint64_t expected) {
    uint64_t run = 0, size = 0;
    CHECK_STATUS(buddy_range_alloc_packed(range, count, &run), BUDDY_OK);
    CHECK_EQ_U64(run, expected);
    CHECK_STATUS(buddy_range_size(range, run, &size), BUDDY_OK);
    CHECK_EQ_U64(size, count);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    later_offsets_are_rejected(range, run, count);
}

/* A packed run starts at any multiple of 4: a hole of 9 min blocks at 4 has
 * no start for an exact run of 9 (a multiple of 8), and holds a packed one,
 * in pieces of 4, 4 and 1. Every other offset of it is rejected and changes
 * nothing; freeing it gives the hole back. */
static void packed_runs_start_at_multiples_of_four(void) {
    static const uint64_t hole[1][2] = {{4, 13}};
    buddy_range *range = with_holes(32, hole, 1);
    uint64_t exact = 0;
    CHECK_STATUS(buddy_range_alloc_exact(range, 9, &exact), BUDDY_ENOMEM);
    packed_run_at(range, 9, 4);
    buddy_range_stats stats;
    CHECK_STATUS(buddy_range_get_stats(range, &stats), BUDDY_OK);
    CHECK_EQ_U64(stats.free_bytes, 0);
    CHECK_STATUS(buddy_range_free(range, 4), BUDDY_OK);
    CHECK_STATUS(buddy_range_get_stats(range, &stats), BUDDY_OK);
    CHECK_EQ_U64(stats.free_bytes, 9);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
}

/* A packed run also starts at an odd multiple of 2 min blocks when it is 6
 * or more and does not end in 2 + 1. Its head is then of order 1, too small
 * for a mark, so the next piece carries it as a back mark (the split bit of
 * its left child): in the hole [2, 10), runs of 8 and 6 go at 2, in pieces
 * 2, 4, 2 and 2, 4. A run of 5 would end in 2 + 1 there, so it goes at 4.
 * Every other offset is rejected; size, resize, the checker and free follow
 * the back mark. */
static void packed_runs_start_at_odd_multiples_of_two(void) {
    static const uint64_t hole[1][2] = {{2, 10}};
    buddy_range *range = with_holes(16, hole, 1);
    packed_run_at(range, 8, 2);
    format_is(
        range,
        "{{{{[0:1][1:1]}[2:2]}[+4:4]}{{[+8:2]{[10:1][11:1]}}{{[12:1][13:1]}{[14:1][15:1]}}}}");
    CHECK_STATUS(buddy_range_free(range, 2), BUDDY_OK);
    CHECK_STATUS(buddy_range_free(range, 2), BUDDY_ENOTLIVE);
    packed_run_at(range, 6, 2);
    CHECK_STATUS(buddy_range_free(range, 2), BUDDY_OK);
    packed_run_at(range, 5, 4);
    CHECK_STATUS(buddy_range_free(range, 4), BUDDY_OK);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
}

/* The piece after an order-1 head is a later piece at any order, also in row
 * 0 of a band (order 9, 17, ...), whose back mark is in the band below, out of
 * the tiles that find a block's start: in the hole [1022, 1536), a run of 514
 * goes at 1022 in pieces of 2 and 512. */
static void back_marks_below_a_band_are_found(void) {
    static const uint64_t hole[1][2] = {{1022, 1536}};
    buddy_range *range = with_holes(2048, hole, 1);
    packed_run_at(range, 514, 1022);
    uint64_t size = 0;
    CHECK_STATUS(buddy_range_size(range, 1024, &size), BUDDY_ENOTSTART);
    CHECK_STATUS(buddy_range_free(range, 1022), BUDDY_OK);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
}

/* At an odd multiple of 2, a run resized to 3, 4 or 5 min blocks takes 6 (no
 * run of fewer fits there, but 1 or 2 is a plain block), and one resized to
 * a count that is 1 mod 4 takes one more. */
static void packed_runs_at_odd_multiples_of_two_resize(void) {
    static const uint64_t hole[1][2] = {{2, 16}};
    static const uint64_t resized[][2] = {{4, 6}, {9, 10}, {14, 14}, {3, 6}, {2, 2}};
    buddy_range *range = with_holes(16, hole, 1);
    uint64_t run = 0, size = 0;
    CHECK_STATUS(buddy_range_alloc_packed(range, 6, &run), BUDDY_OK);
    CHECK_EQ_U64(run, 2);
    for (size_t i = 0; i < sizeof resized / sizeof resized[0]; i++) {
        CHECK_STATUS(buddy_range_resize(range, run, resized[i][0]), BUDDY_OK);
        CHECK_STATUS(buddy_range_size(range, run, &size), BUDDY_OK);
        CHECK_EQ_U64(size, resized[i][1]);
        CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
        later_offsets_are_rejected(range, run, size);
    }
    CHECK_STATUS(buddy_range_free(range, run), BUDDY_OK);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
}

/* A packed run looks past the lowest free block of each order: on to the
 * next in the same group (here at 32) and in a group that another summary
 * word covers (at 40000). The lowest free blocks of orders 1 and 2, at 0
 * and 16, are in extents too small for it, and no larger block is free. */
static void packed_runs_look_past_the_lowest_blocks(void) {
    static const uint64_t holes[] = {32, 40000};
    for (unsigned i = 0; i < 2; i++) {
        uint64_t offset = 0;
        buddy_range *range = make_full(UINT64_C(1) << 16);
        free_each(range, 0, 2);
        free_each(range, 16, 20);
        free_each(range, holes[i], holes[i] + 6);
        CHECK_STATUS(buddy_range_alloc_packed(range, 5, &offset), BUDDY_OK);
        CHECK_EQ_U64(offset, holes[i]);
        CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    }
}

/* Of the holes that hold a packed run, the smallest wins, and the run goes
 * at its lowest multiple of 4: runs of 9 min blocks take the hole of 9 at 36,
 * then the 12 at 4, then the 13 at 17 (from 20); a power-of-two count is a
 * plain block, as buddy_range_alloc places it. */
static void packed_runs_take_the_smallest_hole(void) {
    static const uint64_t holes[3][2] = {{4, 16}, {17, 30}, {36, 45}};
    buddy_range *range = with_holes(64, holes, 3);
    uint64_t run = 0;
    CHECK_STATUS(buddy_range_alloc_packed(range, 9, &run), BUDDY_OK);
    CHECK_EQ_U64(run, 36);
    CHECK_STATUS(buddy_range_alloc_packed(range, 9, &run), BUDDY_OK);
    CHECK_EQ_U64(run, 4);
    CHECK_STATUS(buddy_range_alloc_packed(range, 9, &run), BUDDY_OK);
    CHECK_EQ_U64(run, 20);
    CHECK_STATUS(buddy_range_alloc_packed(range, 2, &run), BUDDY_OK);
    CHECK_EQ_U64(run, 14); /* as buddy_range_alloc: the free block [14, 16) */
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
}

/* When no candidate holds a packed run, it goes at the lowest multiple of 4
 * of the free extent around the block that alloc would split, not at that
 * block's start: the candidates for a run of 9 are the eight holes of order 2
 * and the eight of order 3 below 192, each too small; the block alloc takes
 * is [256, 512), and the run starts in the free min blocks before it, at 244. */
static void packed_runs_fill_the_extent_below_the_block(void) {
    static const uint64_t holes[17][2] = {
        {0, 4},     {8, 12},    {16, 20},   {24, 28},   {32, 36},  {40, 44},
        {48, 52},   {56, 60},   {64, 72},   {80, 88},   {96, 104}, {112, 120},
        {128, 136}, {144, 152}, {160, 168}, {176, 184}, {244, 512}};
    packed_run_at(with_holes(512, holes, 17), 9, 244);
}

/* A packed allocation never cuts a free extent in two. In the extent
 * [8, 22), blocks of 8, 4 and 2 min blocks, alloc would put 1 min block at
 * 20, the start of the smallest; packed, it goes at 8. A power-of-two count
 * of 8 is a run as any other: pieces 4 and 4 in a hole [4, 12), where alloc
 * finds no block of 8. */
static void packed_allocations_keep_extents_whole(void) {
    static const uint64_t extent[1][2] = {{8, 22}};
    buddy_range *range = with_holes(32, extent, 1);
    uint64_t offset = 0;
    CHECK_STATUS(buddy_range_alloc_packed(range, 1, &offset), BUDDY_OK);
    CHECK_EQ_U64(offset, 8);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    static const uint64_t hole[1][2] = {{4, 12}};
    range = with_holes(16, hole, 1);
    CHECK_STATUS(buddy_range_alloc(range, 8, &offset), BUDDY_ENOMEM);
    CHECK_STATUS(buddy_range_alloc_packed(range, 8, &offset), BUDDY_OK);
    CHECK_EQ_U64(offset, 4);
    format_is(range, "{{{{[0:1][1:1]}{[2:1][3:1]}}[4:4]}{[+8:4]{{[12:1][13:1]}{[14:1][15:1]}}}}");
    later_offsets_are_rejected(range, offset, 8);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
}

/* A run goes across free blocks that follow each other when the lowest free
 * block of its largest piece's order is followed by enough free min blocks,
 * here across an order-3 boundary, where rounding would have taken [8, 16). */
static void runs_fit_across_free_blocks(void) {
    buddy_range *range = make(16, 1, BUDDY_BEST_FIT);
    uint64_t offsets[3], run = 0;
    static const uint64_t sizes[3] = {4, 4, 8};
    for (int i = 0; i < 3; i++)
        CHECK_STATUS(buddy_range_alloc(range, sizes[i], &offsets[i]), BUDDY_OK);
    CHECK_STATUS(buddy_range_free(range, offsets[1]), BUDDY_OK); /* [4, 8) */
    CHECK_STATUS(buddy_range_free(range, offsets[2]), BUDDY_OK); /* [8, 16) */
    CHECK_STATUS(buddy_range_alloc_exact(range, 5, &run), BUDDY_OK);
    CHECK_EQ_U64(run, 4);
    format_is(range, "({[0:4][4:4]}((([+8:1](9:1))(10:2))(12:4)))");
    CHECK_STATUS(buddy_range_free(range, 8), BUDDY_ENOTSTART); /* the later piece */
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    CHECK_STATUS(buddy_range_free(range, run), BUDDY_OK);
    format_is(range, "(([0:4](4:4))(8:8))");
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
}

/* The candidates are the lowest free blocks of the largest piece's order in
 * address order, within the lowest one's group or the next (at order 2, 64
 * blocks: a tile's row), found through the order's summary. Seven that the
 * rest does not fit after (their buddies are live) in group 63: a place that
 * fits in group 66 is not tried, and the allocation fails; one in group 64,
 * in the next word of the summary, is the eighth and last try, and taken. */
static void runs_try_the_lowest_free_blocks(void) {
    enum {
        BLOCKS = 1 << 16,
        FOURS = BLOCKS / 4,
        LOW = 63 * 64,
        NEXT = 64 * 64 + 1,
        FAR = 66 * 64 + 1
    };
    buddy_range *range = make(BLOCKS, 1, BUDDY_BEST_FIT);
    uint64_t offset = 0;
    for (uint64_t i = 0; i < FOURS; i++) {
        CHECK_STATUS(buddy_range_alloc(range, 4, &offset), BUDDY_OK);
        CHECK_EQ_U64(offset, 4 * i);
    }
    for (uint64_t i = 0; i + 1 < BUDDY_RUN_FIT_TRIES; i++)
        CHECK_STATUS(buddy_range_free(range, 4 * (LOW + 2 * i)), BUDDY_OK);
    CHECK_STATUS(buddy_range_free(range, 4 * FAR), BUDDY_OK);
    CHECK_STATUS(buddy_range_free(range, 4 * FAR + 4), BUDDY_OK);
    CHECK_STATUS(buddy_range_alloc_exact(range, 5, &offset), BUDDY_ENOMEM);
    CHECK_STATUS(buddy_range_free(range, 4 * NEXT), BUDDY_OK);
    CHECK_STATUS(buddy_range_free(range, 4 * NEXT + 4), BUDDY_OK);
    CHECK_STATUS(buddy_range_alloc_exact(range, 5, &offset), BUDDY_OK);
    CHECK_EQ_U64(offset, 4 * NEXT);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    CHECK_STATUS(buddy_range_free(range, 4 * NEXT), BUDDY_OK);
    CHECK_STATUS(buddy_range_free(range, 4 * NEXT - 4), BUDDY_OK);
    CHECK_STATUS(buddy_range_alloc_exact(range, 5, &offset), BUDDY_OK); /* no candidate fits */
    CHECK_EQ_U64(offset, 4 * NEXT - 4); /* the merged order-3 block, trimmed */
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
}

int main(void) {
    the_worked_example();
    runs_fit_across_free_blocks();
    runs_try_the_lowest_free_blocks();
    counts_of_three_mod_four_take_one_more();
    power_of_two_counts_match_alloc();
    the_remainder_is_free();
    runs_resize_in_place();
    runs_do_not_grow_past_the_end();
    the_last_block_heads_no_run();
    free_extents_end_at_the_capacity();
    grown_runs_rise_then_fall();
    packed_runs_start_at_multiples_of_four();
    packed_runs_start_at_odd_multiples_of_two();
    back_marks_below_a_band_are_found();
    packed_runs_at_odd_multiples_of_two_resize();
    packed_runs_take_the_smallest_hole();
    packed_runs_look_past_the_lowest_blocks();
    packed_runs_fill_the_extent_below_the_block();
    packed_allocations_keep_extents_whole();
    corruption_with_runs_is_detected();
    return check_exit_code("range_runs");
}
