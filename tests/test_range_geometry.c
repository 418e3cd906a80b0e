/* SPDX-License-Identifier: MIT */
/*
 * Geometry: capacities that are not powers of two, min blocks above 1, 64-bit
 * offsets near the top of the address space, the format's snprintf contract,
 * reset, attach after a copy, and the metadata density.
 */
#include "buddy.h"
#include "check.h"
#include "tree.h"

static void capacity_1000_is_its_binary_decomposition(void) {
    buddy_range *range = NULL;
    CHECK_STATUS(buddy_range_create(&range, 1000, 1, BUDDY_FIRST_FIT), BUDDY_OK);
    CHECK_EQ_STR(tree_of(range),
                 "((0:512)((512:256)((768:128)((896:64)((960:32)(((992:8)<1000:8>)<1008:16>))))))");
    buddy_range_stats stats;
    buddy_range_get_stats(range, &stats);
    CHECK_EQ_U64(stats.capacity, 1000);
    CHECK_EQ_U64(stats.free_bytes, 1000);
    CHECK_EQ_U64(stats.largest_free_block, 512);
    CHECK_EQ_U64(stats.max_order, 9);
    /* Every unit is usable: 1000 allocations of one unit succeed, then none. */
    uint64_t offset = 0;
    for (uint64_t i = 0; i < 1000; i++) {
        CHECK_STATUS(buddy_range_alloc(range, 1, &offset), BUDDY_OK);
        CHECK_EQ_U64(offset, i); /* first fit fills from the bottom */
    }
    CHECK_STATUS(buddy_range_alloc(range, 1, &offset), BUDDY_ENOMEM);
    CHECK_STATUS(buddy_range_alloc(range, 513, &offset), BUDDY_ETOOBIG);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    CHECK_STATUS(buddy_range_reset(range), BUDDY_OK);
    buddy_range_get_stats(range, &stats);
    CHECK_EQ_U64(stats.free_bytes, 1000);
    CHECK_EQ_U64(stats.peak_allocated_bytes, 1000); /* reset keeps the history */
    CHECK_EQ_U64(stats.alloc_failures, 2);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    buddy_range_destroy(range);
}

/* At most 2^BUDDY_MAX_ORDER min blocks; one more is no geometry. (The
 * metadata of that many only has a size where size_t has 64 bits.) */
static void at_most_two_to_the_max_order_min_blocks(void) {
    const uint64_t most = UINT64_C(1) << BUDDY_MAX_ORDER;
    CHECK((buddy_range_metadata_size(most, 1) != 0) == (sizeof(size_t) == 8));
    CHECK_EQ_U64(buddy_range_metadata_size(most + 1, 1), 0);
}

static void offsets_near_two_to_the_64(void) {
    const uint64_t min_block = UINT64_C(1) << 44;
    buddy_range *range = NULL;
    CHECK_STATUS(buddy_range_create(&range, UINT64_MAX, min_block, BUDDY_BEST_FIT), BUDDY_OK);
    buddy_range_stats stats;
    buddy_range_get_stats(range, &stats);
    CHECK_EQ_U64(stats.capacity, UINT64_MAX - (min_block - 1)); /* the ragged tail is dropped */
    CHECK_EQ_U64(stats.largest_free_block, UINT64_C(1) << 63);
    uint64_t offset = 0;
    CHECK_STATUS(buddy_range_alloc(range, UINT64_C(1) << 63, &offset), BUDDY_OK);
    CHECK_EQ_U64(offset, 0);
    CHECK_STATUS(buddy_range_alloc(range, (UINT64_C(1) << 63) + 1, &offset), BUDDY_ETOOBIG);
    uint64_t last = 0;
    while (buddy_range_alloc(range, min_block, &offset) == BUDDY_OK)
        last = offset > last ? offset : last;
    CHECK_EQ_U64(last, stats.capacity - min_block);
    uint64_t size = 0;
    CHECK_STATUS(buddy_range_size(range, last, &size), BUDDY_OK);
    CHECK_EQ_U64(size, min_block);
    CHECK_STATUS(buddy_range_free(range, last + 1), BUDDY_EALIGN);
    CHECK_STATUS(buddy_range_free(range, last), BUDDY_OK);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    buddy_range_destroy(range);
}

static void format_works_like_snprintf(void) {
    buddy_range *range = NULL;
    CHECK_STATUS(buddy_seed_create(&range, 32), BUDDY_OK);
    uint64_t offset = 0;
    buddy_range_alloc(range, 4, &offset);
    const char *full = "((([0:4](4:4))(8:8))(16:16))";
    CHECK_EQ_U64(buddy_range_format(range, NULL, 0), strlen(full));
    char small[8];
    memset(small, 'x', sizeof small);
    CHECK_EQ_U64(buddy_range_format(range, small, sizeof small), strlen(full));
    CHECK_EQ_STR(small, "((([0:4");
    CHECK_EQ_U64(buddy_range_format(NULL, small, sizeof small), 0);
    CHECK_EQ_U64(buddy_range_format(range, NULL, 5), 0);
    /* A split node patched to "{" near the end of a short buffer stays inside it. */
    buddy_range_alloc(range, 4, &offset);
    char tiny[4];
    CHECK_EQ_U64(buddy_range_format(range, tiny, sizeof tiny),
                 strlen("(({[0:4][4:4]}(8:8))(16:16))"));
    CHECK_EQ_STR(tiny, "(({");
    buddy_range_destroy(range);
}

static void attach_finds_a_copied_range(void) {
    static uint64_t first[4096], second[4096];
    buddy_range *range = NULL;
    size_t size = buddy_range_metadata_size(1 << 12, 16);
    CHECK(size <= sizeof first);
    CHECK_STATUS(buddy_range_init(&range, first, size, 1 << 12, 16, BUDDY_BEST_FIT), BUDDY_OK);
    uint64_t offset = 0;
    CHECK_STATUS(buddy_range_alloc(range, 100, &offset), BUDDY_OK);
    memcpy(second, first, size);
    buddy_range *copy = NULL;
    CHECK_STATUS(buddy_range_attach(&copy, second, size), BUDDY_OK);
    CHECK_EQ_STR(tree_of(copy), tree_of(range));
    CHECK_STATUS(buddy_range_free(copy, offset), BUDDY_OK);
    CHECK_STATUS(buddy_range_check(copy), BUDDY_OK);
    CHECK_STATUS(buddy_range_size(range, offset, &offset), BUDDY_OK); /* the original is apart */
}

static void metadata_is_under_3_1_bits_per_min_block(void) {
    /* A layout fact, not a timing: at 2^24 min blocks, header included. */
    uint64_t blocks = UINT64_C(1) << 24;
    double bits = (double)buddy_range_metadata_size(blocks * 64, 64) * 8.0 / (double)blocks;
    printf("metadata at 2^24 min blocks: %.4f bits per min block\n", bits);
    CHECK(bits <= 3.1);
    CHECK_EQ_U64(buddy_range_metadata_size(blocks * 64, 64), buddy_range_metadata_size(blocks, 1));
}

int main(void) {
    capacity_1000_is_its_binary_decomposition();
    at_most_two_to_the_max_order_min_blocks();
    offsets_near_two_to_the_64();
    format_works_like_snprintf();
    attach_finds_a_copied_range();
    metadata_is_under_3_1_bits_per_min_block();
    return check_exit_code("range_geometry");
}
