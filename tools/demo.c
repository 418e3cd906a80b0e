/* SPDX-License-Identifier: MIT */
/*
 * `buddy demo`: cloudwu's sequence on a 32-unit seed manager with the tree
 * after every call, then a seeded churn on a larger range and its statistics.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "buddy.h"
#include "tool.h"

static void print_tree(const buddy_range *range) {
    char tree[512];
    buddy_range_format(range, tree, sizeof tree);
    printf("%s\n", tree);
}

static int run_cloudwu_sequence(void) {
    buddy_range *range = NULL;
    int status = buddy_seed_create(&range, 32);
    if (status != BUDDY_OK)
        return tool_fail("demo", status);
    printf("1. cloudwu's sequence on a 32-unit seed manager (min block 1, first fit)\n\n");
    printf("   %-12s %-7s %-5s ", "new", "", "");
    print_tree(range);
    static const struct {
        char call;
        int64_t argument;
    } steps[] = {{'m', 4}, {'m', 9},  {'m', 3},  {'m', 7}, {'f', 4}, {'f', 0},
                 {'f', 8}, {'f', 16}, {'m', 32}, {'f', 0}, {'m', 0}, {'f', 0}};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char call[32], result[32], size[32] = "";
        if (steps[i].call == 'm') {
            int64_t start = buddy_seed_malloc(range, steps[i].argument);
            snprintf(call, sizeof call, "malloc(%" PRId64 ")", steps[i].argument);
            snprintf(result, sizeof result, "-> %" PRId64, start);
            snprintf(size, sizeof size, "[%" PRId64 "]", buddy_seed_size(range, start));
        } else {
            bool freed = buddy_seed_free(range, steps[i].argument);
            snprintf(call, sizeof call, "free(%" PRId64 ")", steps[i].argument);
            snprintf(result, sizeof result, "-> %s", freed ? "True" : "False");
        }
        printf("   %-12s %-7s %-5s ", call, result, size);
        print_tree(range);
    }
    printf("\n   (s:n) free block of n units at s, [s:n] live block, ( ) split with free\n"
           "   space below, { } split and full; [n] after malloc is size() of the block\n");
    buddy_range_destroy(range);
    return 0;
}

static uint64_t next_random(uint64_t *state) {
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void tool_print_stats(const buddy_range_stats *stats) {
    printf("   capacity %" PRIu64 ", min block %" PRIu64 ", policy %s\n", stats->capacity,
           stats->min_block_size, stats->policy == BUDDY_FIRST_FIT ? "first-fit" : "best-fit");
    printf(
        "   live blocks %" PRIu64 ", allocated %" PRIu64 ", free %" PRIu64 ", peak %" PRIu64 "\n",
        stats->live_blocks, stats->allocated_bytes, stats->free_bytes, stats->peak_allocated_bytes);
    double fragmentation = stats->free_bytes == 0 ? 0.0
                                                  : 1.0 - (double)stats->largest_free_block /
                                                              (double)stats->free_bytes;
    printf("   largest free block %" PRIu64 " (external fragmentation %.3f)\n",
           stats->largest_free_block, fragmentation);
    printf("   alloc failures %" PRIu64 ", rejected frees %" PRIu64 "\n", stats->alloc_failures,
           stats->rejected_frees);
    printf("   free blocks per order:");
    for (unsigned order = 0; order <= stats->max_order; order++)
        printf(" %" PRIu64, stats->free_blocks[order]);
    printf("\n");
}

static int run_churn(void) {
    const uint64_t capacity = UINT64_C(1) << 20, min_block = 64, seed = 1;
    const int steps = 100000;
    buddy_range *range = NULL;
    int status = buddy_range_create(&range, capacity, min_block, BUDDY_DEFAULT_POLICY);
    if (status != BUDDY_OK)
        return tool_fail("demo", status);
    printf("\n2. churn: %d random allocs and frees (64 B..16 KiB, about half live) on a\n"
           "   1 MiB range with 64 B min blocks, seed %" PRIu64 "\n\n",
           steps, seed);
    static uint64_t live[4096];
    size_t live_count = 0;
    uint64_t state = seed;
    for (int step = 0; step < steps; step++) {
        buddy_range_stats stats;
        buddy_range_get_stats(range, &stats);
        bool grow = stats.allocated_bytes < capacity / 2 ? next_random(&state) % 100 < 60
                                                         : next_random(&state) % 100 < 40;
        if ((grow || live_count == 0) && live_count < 4096) {
            uint64_t size = UINT64_C(64) << (next_random(&state) % 9);
            size -= next_random(&state) % (size / 2);
            if (buddy_range_alloc(range, size, &live[live_count]) == BUDDY_OK)
                live_count++;
        } else {
            size_t victim = (size_t)(next_random(&state) % live_count);
            status = buddy_range_free(range, live[victim]);
            if (status != BUDDY_OK)
                return tool_fail("demo", status);
            live[victim] = live[--live_count];
        }
    }
    buddy_range_stats stats;
    buddy_range_get_stats(range, &stats);
    tool_print_stats(&stats);
    size_t metadata = buddy_range_metadata_size(capacity, min_block);
    printf("   metadata %zu bytes (%.2f bits per min block); invariant check: %s\n", metadata,
           (double)metadata * 8.0 / (double)(capacity / min_block),
           buddy_status_str(buddy_range_check(range)));
    buddy_range_destroy(range);
    return 0;
}

int tool_demo(int argc, char **argv) {
    if (argc > 1) {
        printf("usage: buddy demo\n\nRuns cloudwu's sequence with the tree after each call, "
               "then a churn with its statistics.\n");
        return argc == 2 && tool_is_help(argv[1]) ? 0 : 2;
    }
    printf("buddy %s demo\n\n", buddy_version());
    int status = run_cloudwu_sequence();
    return status != 0 ? status : run_churn();
}
