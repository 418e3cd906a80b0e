/* SPDX-License-Identifier: MIT */
/*
 * The calls for engines that suballocate device memory, by hand: a
 * reservation's blocks and how walk, format, stats and the dump show it, the
 * table's limit, a capacity that shrinks and grows back, user data through
 * resize and free, an exact run with an alignment, a copy that keeps it all,
 * and batches, which must leave the bytes that one-by-one allocations leave.
 * The model-based tests cover the other calls at random.
 */
#include <string.h>

#include "buddy.h"
#include "check.h"
#include "layout.h"

static _Alignas(64) unsigned char memory[1 << 15], copy[1 << 15];

static buddy_range *make(uint64_t capacity, uint64_t max_capacity, unsigned flags) {
    buddy_range *range = NULL;
    buddy_range_config config = {capacity, max_capacity, 16,   BUDDY_BEST_FIT,
                                 flags,    NULL,         NULL, NULL};
    size_t size = buddy_range_metadata_size_config(&config);
    CHECK(size != 0 && size <= sizeof memory);
    CHECK_STATUS(buddy_range_init_config(&range, memory, size, &config), BUDDY_OK);
    return range;
}

static void format_is(const buddy_range *range, const char *expected) {
    char tree[512];
    buddy_range_format(range, tree, sizeof tree);
    CHECK_EQ_STR(tree, expected);
}

typedef struct seen {
    char text[256];
} seen;

static int note_block(uint64_t offset, uint64_t size, buddy_block_state state, void *user) {
    seen *s = user;
    static const char *const names[] = {"free", "live", "reserved"};
    size_t used = strlen(s->text);
    snprintf(s->text + used, sizeof s->text - used, "%s%s %llu+%llu", used ? ", " : "",
             names[state], (unsigned long long)offset, (unsigned long long)size);
    return 0;
}

static void walk_is(const buddy_range *range, const char *expected) {
    seen s = {""};
    CHECK_STATUS(buddy_range_walk(range, note_block, &s), BUDDY_OK);
    CHECK_EQ_STR(s.text, expected);
}

/* Units [20, 100) at min block 16 widen to min blocks 1..6 (16..112): pieces
 * of 1, 2, 2 and 1 min blocks, shown as one reserved block. */
static void a_reservation(void) {
    buddy_range *range = make(256, 256, 0);
    CHECK_STATUS(buddy_range_reserve(range, 20, 80), BUDDY_OK);
    format_is(range, "(((((0:1)[#1:1])[#2:2])([#4:2]([#6:1](7:1))))(8:8))");
    walk_is(range, "free 0+16, reserved 16+96, free 112+16, free 128+128");
    buddy_range_stats stats;
    CHECK_STATUS(buddy_range_get_stats(range, &stats), BUDDY_OK);
    CHECK_EQ_U64(stats.reserved_bytes, 96);
    CHECK_EQ_U64(stats.reservations, 1);
    CHECK_EQ_U64(stats.free_bytes, 256 - 96);
    CHECK_EQ_U64(stats.live_blocks, 0);
    uint64_t offset = 0;
    CHECK_STATUS(buddy_range_alloc(range, 32, &offset), BUDDY_OK); /* around it */
    CHECK(offset >= 112 || offset + 32 <= 16);
    CHECK_STATUS(buddy_range_free(range, offset), BUDDY_OK);
    CHECK_STATUS(buddy_range_free(range, 32), BUDDY_ERESERVED);
    CHECK_STATUS(buddy_range_unreserve(range, 16, 96), BUDDY_OK); /* the same min blocks */
    format_is(range, "(0:16)");
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);

    /* At both edges, and the limit of the table. */
    CHECK_STATUS(buddy_range_reserve(range, 0, 1), BUDDY_OK);
    CHECK_STATUS(buddy_range_reserve(range, 255, 1), BUDDY_OK);
    for (uint64_t i = 1; i + 1 < BUDDY_MAX_RESERVATIONS; i++)
        CHECK_STATUS(buddy_range_reserve(range, i * 16, 16), BUDDY_OK);
    CHECK_STATUS(buddy_range_unreserve(range, 224, 16), BUDDY_OK);
    CHECK_STATUS(buddy_range_reserve(range, 224, 16), BUDDY_OK);     /* the 16th */
    CHECK_STATUS(buddy_range_reserve(range, 224, 16), BUDDY_ENOMEM); /* the table first */
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    CHECK_STATUS(buddy_range_reset(range), BUDDY_OK); /* frees reservations too */
    format_is(range, "(0:16)");
}

/* A range made for 1024 units that manages 640, then 320, then all of it. The
 * tree is always the one of 64 min blocks; beyond the capacity is "<s:n>". */
static void a_capacity_that_moves(void) {
    buddy_range *range = make(640, 1024, 0);
    format_is(range, "((0:32)(((32:8)<40:8>)<48:16>))");
    uint64_t low = 0, high = 0;
    CHECK_STATUS(buddy_range_alloc(range, 128, &high), BUDDY_OK);
    CHECK_EQ_U64(high, 512); /* best fit: the 8-min-block block */
    CHECK_STATUS(buddy_range_alloc(range, 128, &low), BUDDY_OK);
    CHECK_EQ_U64(low, 0);
    CHECK_STATUS(buddy_range_set_capacity(range, 320), BUDDY_EBUSY);
    CHECK_STATUS(buddy_range_free(range, high), BUDDY_OK);
    CHECK_STATUS(buddy_range_set_capacity(range, 320), BUDDY_OK);
    format_is(range, "((([0:8](8:8))(((16:4)<20:4>)<24:8>))<32:32>)");
    buddy_range_stats stats;
    CHECK_STATUS(buddy_range_get_stats(range, &stats), BUDDY_OK);
    CHECK_EQ_U64(stats.capacity, 320);
    CHECK_EQ_U64(stats.max_capacity, 1024);
    CHECK_EQ_U64(stats.free_bytes, 320 - 128);
    CHECK_STATUS(buddy_range_alloc(range, 256, &high), BUDDY_ENOMEM);
    CHECK_STATUS(buddy_range_set_capacity(range, 1024 + 16), BUDDY_ESMALL);
    CHECK_STATUS(buddy_range_set_capacity(range, 1024 + 15), BUDDY_OK); /* whole min blocks */
    format_is(range, "((([0:8](8:8))(16:16))(32:32))");
    CHECK_STATUS(buddy_range_free(range, low), BUDDY_OK);
    format_is(range, "(0:64)");
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
}

/* A value per allocation: kept through an in-place resize, gone with a free. */
static void user_data(void) {
    buddy_range *range = make(1024, 1024, BUDDY_RANGE_USER_DATA);
    uint64_t run = 0, value = 0;
    CHECK_STATUS(buddy_range_alloc_exact(range, 5 * 16, &run), BUDDY_OK);
    CHECK_STATUS(buddy_range_get_user_data(range, run, &value), BUDDY_OK);
    CHECK_EQ_U64(value, 0);
    CHECK_STATUS(buddy_range_set_user_data(range, run, 0xfeedull), BUDDY_OK);
    CHECK_STATUS(buddy_range_set_user_data(range, run + 64, 1), BUDDY_ENOTSTART); /* a piece */
    CHECK_STATUS(buddy_range_resize(range, run, 6 * 16), BUDDY_OK);
    CHECK_STATUS(buddy_range_get_user_data(range, run, &value), BUDDY_OK);
    CHECK_EQ_U64(value, 0xfeed);
    char dump[512];
    buddy_range_dump_json(range, dump, sizeof dump, BUDDY_DUMP_BLOCKS);
    CHECK(
        strstr(dump, "{\"offset\": 0, \"size\": 96, \"state\": \"live\", \"user_data\": 65261}") !=
        NULL);
    CHECK_STATUS(buddy_range_free(range, run), BUDDY_OK);
    CHECK_STATUS(buddy_range_alloc(range, 16, &run), BUDDY_OK);
    CHECK_STATUS(buddy_range_get_user_data(range, run, &value), BUDDY_OK);
    CHECK_EQ_U64(value, 0); /* a new allocation reads 0 */
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
}

/* An exact run with an alignment above its size takes no more memory. */
static void an_aligned_run(void) {
    buddy_range *range = make(1024, 1024, 0);
    uint64_t first = 0, run = 0;
    CHECK_STATUS(buddy_range_alloc(range, 16, &first), BUDDY_OK);
    CHECK_STATUS(buddy_range_alloc_exact_aligned(range, 3 * 16, 256, &run), BUDDY_OK);
    CHECK_EQ_U64(run, 256);
    uint64_t size = 0;
    CHECK_STATUS(buddy_range_size(range, run, &size), BUDDY_OK);
    CHECK_EQ_U64(size, 4 * 16); /* 3 takes 4 (docs/design.md) */
    buddy_range_stats stats;
    CHECK_STATUS(buddy_range_get_stats(range, &stats), BUDDY_OK);
    CHECK_EQ_U64(stats.allocated_bytes, 16 + 64);
}

/* The dump: every statistic, the map, and snprintf's contract. */
static void the_dump(void) {
    buddy_range *range = make(512, 1024, BUDDY_RANGE_USER_DATA);
    uint64_t offset = 0;
    CHECK_STATUS(buddy_range_alloc(range, 128, &offset), BUDDY_OK); /* the peak */
    CHECK_STATUS(buddy_range_free(range, offset), BUDDY_OK);
    CHECK_STATUS(buddy_range_alloc(range, 64, &offset), BUDDY_OK);
    CHECK_STATUS(buddy_range_reserve(range, 256, 256), BUDDY_OK);
    char dump[1024];
    size_t length = buddy_range_dump_json(range, dump, sizeof dump, BUDDY_DUMP_BLOCKS);
    CHECK_EQ_U64(length, strlen(dump));
    CHECK_EQ_STR(dump,
                 "{\"schema\": \"buddy-range/1\", \"capacity\": 512, \"max_capacity\": 1024, "
                 "\"min_block_size\": 16, \"policy\": \"best_fit\", \"live_blocks\": 1, "
                 "\"allocated\": 64, \"free\": 192, \"reserved\": 256, \"reservations\": 1, "
                 "\"largest_free_block\": 128, \"peak_allocated\": 128, \"alloc_failures\": 0, "
                 "\"rejected_frees\": 0, \"free_blocks\": [0, 0, 1, 1, 0, 0],\n"
                 " \"blocks\": [\n"
                 "  {\"offset\": 0, \"size\": 64, \"state\": \"live\", \"user_data\": 0},\n"
                 "  {\"offset\": 64, \"size\": 64, \"state\": \"free\"},\n"
                 "  {\"offset\": 128, \"size\": 128, \"state\": \"free\"},\n"
                 "  {\"offset\": 256, \"size\": 256, \"state\": \"reserved\"}]}\n");
    char small[10];
    CHECK_EQ_U64(buddy_range_dump_json(range, small, sizeof small, BUDDY_DUMP_BLOCKS), length);
    CHECK_EQ_STR(small, "{\"schema\"");
    CHECK_EQ_U64(buddy_range_dump_json(range, NULL, 0, BUDDY_DUMP_BLOCKS), length);
    CHECK(buddy_range_dump_json(range, dump, sizeof dump, 0) < length); /* no map */
    CHECK(strstr(dump, "\"blocks\"") == NULL);
}

/* A copy of the metadata, attached, keeps reservations, capacity and user data. */
static void a_copy(void) {
    buddy_range *range = make(512, 1024, BUDDY_RANGE_USER_DATA);
    uint64_t offset = 0;
    CHECK_STATUS(buddy_range_alloc(range, 64, &offset), BUDDY_OK);
    CHECK_STATUS(buddy_range_set_user_data(range, offset, 7), BUDDY_OK);
    CHECK_STATUS(buddy_range_reserve(range, 256, 100), BUDDY_OK);
    memcpy(copy, memory, sizeof memory);
    buddy_range *again = NULL;
    CHECK_STATUS(buddy_range_attach(&again, copy, sizeof copy), BUDDY_OK);
    uint64_t value = 0;
    CHECK_STATUS(buddy_range_get_user_data(again, offset, &value), BUDDY_OK);
    CHECK_EQ_U64(value, 7);
    CHECK_STATUS(buddy_range_free(again, 256), BUDDY_ERESERVED);
    CHECK_STATUS(buddy_range_set_capacity(again, 1024), BUDDY_OK);
    CHECK_STATUS(buddy_range_check(again), BUDDY_OK);
}

/* The checker: a free block inside a reservation is corrupt. */
static void a_free_block_in_a_reservation_is_corrupt(void) {
    buddy_range *range = make(256, 256, 0);
    CHECK_STATUS(buddy_range_reserve(range, 16, 16), BUDDY_OK); /* min block 1 */
    range->reservations[0][0] = 0;                              /* min block 0 is free */
    range->reserved_blocks = 2;
    CHECK_STATUS(buddy_range_check(range), BUDDY_ECORRUPT);
}

/* A batch from an empty range equals `count` allocs (which fill the lowest
 * span): the same offsets and the same metadata bytes; its pieces free one
 * by one. On a range with smaller holes the batch takes a whole span. */
static void batches(void) {
    static const struct {
        uint64_t size;
        uint32_t count;
    } cases[] = {{16, 1}, {16, 2}, {16, 32}, {48, 8}, {1024, 64}, {256, 16}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint64_t batch[64], single[64];
        buddy_range *range = make(UINT64_C(1) << 16, 0, 0);
        for (uint32_t i = 0; i < cases[c].count; i++)
            CHECK_STATUS(buddy_range_alloc(range, cases[c].size, &single[i]), BUDDY_OK);
        memcpy(copy, memory, sizeof memory);
        range = make(UINT64_C(1) << 16, 0, 0);
        CHECK_STATUS(buddy_range_alloc_batch(range, cases[c].size, cases[c].count, batch),
                     BUDDY_OK);
        CHECK(memcmp(batch, single, cases[c].count * sizeof batch[0]) == 0);
        CHECK(memcmp(copy, memory, sizeof memory) == 0);
        CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
        for (uint32_t i = 0; i < cases[c].count; i++)
            CHECK_STATUS(buddy_range_free(range, batch[(i * 7u) % cases[c].count]), BUDDY_OK);
        buddy_range_stats stats;
        buddy_range_get_stats(range, &stats);
        CHECK_EQ_U64(stats.largest_free_block, UINT64_C(1) << 16);
    }
    buddy_range *range = make(1024, 0, 0);
    uint64_t offsets[64], held = 0;
    CHECK_STATUS(buddy_range_alloc(range, 16, &held), BUDDY_OK);
    CHECK_STATUS(buddy_range_alloc_batch(range, 16, 4, offsets), BUDDY_OK);
    CHECK_EQ_U64(offsets[0], 64); /* a whole span, past the holes at 16..63 */
    for (int i = 0; i < 4; i++)
        CHECK_STATUS(buddy_range_free(range, offsets[i]), BUDDY_OK);
    CHECK_STATUS(buddy_range_free(range, held), BUDDY_OK);
    CHECK_STATUS(buddy_range_alloc_batch(NULL, 16, 4, offsets), BUDDY_EINVAL);
    CHECK_STATUS(buddy_range_alloc_batch(range, 16, 4, NULL), BUDDY_EINVAL);
    CHECK_STATUS(buddy_range_alloc_batch(range, 16, 0, offsets), BUDDY_EINVAL);
    CHECK_STATUS(buddy_range_alloc_batch(range, 16, 3, offsets), BUDDY_EINVAL);
    CHECK_STATUS(buddy_range_alloc_batch(range, 2048, 1, offsets), BUDDY_ETOOBIG);
    CHECK_STATUS(buddy_range_alloc_batch(range, 32, 64, offsets), BUDDY_ETOOBIG);
    CHECK_STATUS(buddy_range_alloc_batch(range, 512, 2, offsets), BUDDY_OK);
    CHECK_STATUS(buddy_range_alloc_batch(range, 16, 1, offsets), BUDDY_ENOMEM);
    buddy_range_stats stats;
    buddy_range_get_stats(range, &stats);
    CHECK_EQ_U64(stats.live_blocks, 2);
    CHECK_EQ_U64(stats.alloc_failures, 3);
}

int main(void) {
    batches();
    a_free_block_in_a_reservation_is_corrupt();
    a_reservation();
    a_capacity_that_moves();
    user_data();
    an_aligned_run();
    the_dump();
    a_copy();
    return check_exit_code("range_engine");
}
