/* SPDX-License-Identifier: MIT */
/*
 * Every expected output of ../shared/SPEC.md through the C seed face: the
 * 1024-unit table, cloudwu's 32-unit sequence, and the seed's random property
 * (random malloc/free, then free all, gives "(0:1024)").
 */
#include "buddy.h"
#include "check.h"
#include "tree.h"

static buddy_range *new_manager(uint64_t size) {
    buddy_range *range = NULL;
    CHECK_STATUS(buddy_seed_create(&range, size), BUDDY_OK);
    CHECK_EQ_INT(buddy_range_check(range), BUDDY_OK);
    return range;
}

static void table_of_1024(void) {
    buddy_range *m = new_manager(1024);
    CHECK_EQ_STR(tree_of(m), "(0:1024)");
    CHECK_EQ_INT(buddy_seed_malloc(m, 512), 0);
    CHECK_EQ_STR(tree_of(m), "([0:512](512:512))");
    buddy_range_destroy(m);

    m = new_manager(1024);
    CHECK_EQ_INT(buddy_seed_malloc(m, 10000), -1);
    CHECK_EQ_STR(tree_of(m), "(0:1024)");
    buddy_range_destroy(m);

    m = new_manager(1024);
    buddy_seed_malloc(m, 512);
    CHECK(buddy_seed_free(m, 0));
    CHECK_EQ_STR(tree_of(m), "(0:1024)");
    buddy_range_destroy(m);

    m = new_manager(1024);
    buddy_seed_malloc(m, 512);
    CHECK(!buddy_seed_free(m, 1));
    CHECK_EQ_STR(tree_of(m), "([0:512](512:512))");
    buddy_range_destroy(m);

    m = new_manager(1024);
    CHECK_EQ_INT(buddy_seed_malloc(m, 512), 0);
    CHECK_EQ_INT(buddy_seed_malloc(m, 120), 512);
    CHECK_EQ_STR(tree_of(m), "([0:512](([512:128](640:128))(768:256)))");
    CHECK(buddy_seed_free(m, 0));
    CHECK_EQ_STR(tree_of(m), "((0:512)(([512:128](640:128))(768:256)))");
    CHECK_EQ_INT(buddy_seed_malloc(m, 520), -1); /* enough units in total, no block */
    CHECK_EQ_STR(tree_of(m), "((0:512)(([512:128](640:128))(768:256)))");
    CHECK(buddy_seed_free(m, 512));
    CHECK_EQ_STR(tree_of(m), "(0:1024)");
    CHECK_EQ_INT(buddy_range_check(m), BUDDY_OK);
    buddy_range_destroy(m);
}

static void cloudwu_sequence_on_32(void) {
    buddy_range *b = new_manager(32);
    CHECK_EQ_STR(tree_of(b), "(0:32)");
    struct step {
        char call; /* 'm' malloc, 'f' free */
        int64_t arg;
        int64_t result; /* malloc: the offset; free: 1 for true */
        int64_t size;   /* size() after a malloc */
        const char *tree;
    } steps[] = {
        {'m', 4, 0, 4, "((([0:4](4:4))(8:8))(16:16))"},
        {'m', 9, 16, 16, "((([0:4](4:4))(8:8))[16:16])"},
        {'m', 3, 4, 4, "(({[0:4][4:4]}(8:8))[16:16])"},
        {'m', 7, 8, 8, "{{{[0:4][4:4]}[8:8]}[16:16]}"},
        {'f', 4, 1, 0, "((([0:4](4:4))[8:8])[16:16])"},
        {'f', 0, 1, 0, "(((0:8)[8:8])[16:16])"},
        {'f', 8, 1, 0, "((0:16)[16:16])"},
        {'f', 16, 1, 0, "(0:32)"},
        {'m', 32, 0, 32, "[0:32]"},
        {'f', 0, 1, 0, "(0:32)"},
        {'m', 0, 0, 1, "((((([0:1](1:1))(2:2))(4:4))(8:8))(16:16))"},
        {'f', 0, 1, 0, "(0:32)"},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (steps[i].call == 'm') {
            int64_t start = buddy_seed_malloc(b, steps[i].arg);
            CHECK_EQ_INT(start, steps[i].result);
            CHECK_EQ_INT(buddy_seed_size(b, start), steps[i].size);
        } else {
            CHECK_EQ_INT(buddy_seed_free(b, steps[i].arg), steps[i].result);
        }
        CHECK_EQ_STR(tree_of(b), steps[i].tree);
        CHECK_EQ_INT(buddy_range_check(b), BUDDY_OK);
    }
    buddy_range_destroy(b);
}

/* Deviation from the seed, by the contract: size() of an interior offset. */
static void size_of_interior_offset_is_minus_one(void) {
    buddy_range *m = new_manager(32);
    CHECK_EQ_INT(buddy_seed_malloc(m, 8), 0);
    CHECK_EQ_INT(buddy_seed_size(m, 0), 8);
    CHECK_EQ_INT(buddy_seed_size(m, 4), -1);
    CHECK_EQ_INT(buddy_seed_size(m, 8), -1); /* a free block */
    CHECK_EQ_INT(buddy_seed_size(m, -1), -1);
    CHECK_EQ_INT(buddy_seed_size(m, 32), -1);
    CHECK(!buddy_seed_free(m, -3));
    CHECK(!buddy_seed_free(m, 32));
    CHECK(!buddy_seed_free(m, 8));
    CHECK_EQ_INT(buddy_seed_malloc(m, -1), -1);
    CHECK_EQ_STR(tree_of(m), "(([0:8](8:8))(16:16))");
    buddy_range_destroy(m);
}

/* The seed's fuzz: biased random malloc/free, sizes 1..largest free block,
 * then free everything in random order: the tree is whole again. */
static void random_churn_then_free_all_restores_the_root(uint64_t seed) {
    buddy_range *m = new_manager(1024);
    int64_t starts[20000];
    size_t live = 0;
    const double thresholds[] = {0.25, 0.5, 0.75};
    for (size_t t = 0; t < 3; t++) {
        for (int i = 0; i < 10000; i++) {
            buddy_range_stats stats;
            buddy_range_get_stats(m, &stats);
            double coin = (double)check_below(&seed, 1u << 20) / (double)(1u << 20);
            if (stats.largest_free_block > 0 && (live == 0 || coin <= thresholds[t])) {
                int64_t size = 1 + (int64_t)check_below(&seed, stats.largest_free_block);
                int64_t start = buddy_seed_malloc(m, size);
                CHECK(start >= 0);
                starts[live++] = start;
            } else {
                size_t victim = (size_t)check_below(&seed, live);
                CHECK(buddy_seed_free(m, starts[victim]));
                starts[victim] = starts[--live];
            }
        }
        CHECK_EQ_INT(buddy_range_check(m), BUDDY_OK);
    }
    while (live > 0) {
        size_t victim = (size_t)check_below(&seed, live);
        CHECK(buddy_seed_free(m, starts[victim]));
        starts[victim] = starts[--live];
    }
    CHECK_EQ_STR(tree_of(m), "(0:1024)");
    buddy_range_destroy(m);
}

static void seed_create_rejects_what_the_seed_rejects(void) {
    buddy_range *m = NULL;
    CHECK_STATUS(buddy_seed_create(&m, 0), BUDDY_EGEOMETRY);
    CHECK_STATUS(buddy_seed_create(&m, 1000), BUDDY_EGEOMETRY);
    CHECK(m == NULL);
    m = new_manager(1);
    CHECK_EQ_STR(tree_of(m), "(0:1)");
    CHECK_EQ_INT(buddy_seed_malloc(m, 2), -1);
    CHECK_EQ_INT(buddy_seed_malloc(m, 1), 0);
    CHECK_EQ_STR(tree_of(m), "[0:1]");
    CHECK(buddy_seed_free(m, 0));
    buddy_range_destroy(m);
}

int main(void) {
    uint64_t seed = check_seed("seed_spec", 20261125);
    table_of_1024();
    cloudwu_sequence_on_32();
    size_of_interior_offset_is_minus_one();
    random_churn_then_free_all_restores_the_root(seed);
    seed_create_rejects_what_the_seed_rejects();
    return check_exit_code("seed_spec");
}
