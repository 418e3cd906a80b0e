/* SPDX-License-Identifier: MIT */
/*
 * `buddy demo`: cloudwu's sequence on a 32-unit seed manager with the tree
 * after every call, then a seeded churn on a larger range and its statistics.
 */
#define _DEFAULT_SOURCE /* realpath */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buddy.h"
#include "tool.h"
#include "trace.h"

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
           stats->min_block_size, tool_policy_name(stats->policy, false));
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

/* Writes the churn as a trace: random allocs (64 B..16 KiB) and frees around
 * half of the capacity live, from a fixed seed. */
static void write_churn_trace(FILE *trace, uint64_t capacity, int steps, uint64_t seed) {
    uint64_t live[4096], sizes[4096], allocated = 0, next_id = 0;
    size_t live_count = 0;
    for (int step = 0; step < steps; step++) {
        bool grow = next_random(&seed) % 100 < (allocated < capacity / 2 ? 60u : 40u);
        if ((grow || live_count == 0) && live_count < 4096) {
            uint64_t size = UINT64_C(64) << (next_random(&seed) % 9);
            size -= next_random(&seed) % (size / 2);
            live[live_count] = next_id;
            sizes[live_count++] = size;
            fprintf(trace, "a %" PRIu64 " %" PRIu64 "\n", next_id++, size);
            allocated += size;
        } else {
            size_t victim = (size_t)(next_random(&seed) % live_count);
            fprintf(trace, "f %" PRIu64 "\n", live[victim]);
            allocated -= sizes[victim];
            live[victim] = live[--live_count];
            sizes[victim] = sizes[live_count];
        }
    }
}

static int run_churn(const char *picture) {
    const uint64_t capacity = UINT64_C(1) << 20, min_block = 64, seed = 1;
    const int steps = 100000;
    printf("\n2. churn: %d random allocs and frees (64 B..16 KiB, about half live) on a\n"
           "   1 MiB range with 64 B min blocks, seed %" PRIu64 ", replayed as a trace\n\n",
           steps, seed);
    FILE *trace = tmpfile();
    if (trace == NULL) {
        perror("demo: tmpfile");
        return TOOL_FAILED;
    }
    write_churn_trace(trace, capacity, steps, seed);
    rewind(trace);
    replay_options options = {capacity, min_block, BUDDY_DEFAULT_POLICY, false, false, 1000,
                              NULL,     false,     TOOL_ROUNDED,         NULL,  false};
    replay_result result;
    int status = replay_run(trace, "churn", &options, &result);
    fclose(trace);
    if (status == TOOL_OK) {
        tool_print_stats(&result.end);
        tool_print_summary(&result, 0);
        size_t metadata = buddy_range_metadata_size(capacity, min_block);
        printf("   metadata %zu bytes (%.2f bits per min block); invariant check: %s\n", metadata,
               (double)metadata * 8.0 / (double)(capacity / min_block),
               buddy_status_str(result.check_status));
        status = tool_write_picture(picture, "buddy demo: the churn on 1 MiB", &result);
        char where[PATH_MAX];
        if (status == TOOL_OK)
            printf("\n3. picture: %s (memory map at the end, blocks over time)\n",
                   realpath(picture, where) != NULL ? where : picture);
    }
    replay_result_free(&result);
    return status;
}

int tool_demo(int argc, char **argv) {
    static const char *const usage_text =
        "usage: buddy demo [--out FILE.svg]\n\nRuns cloudwu's sequence with the tree after each "
        "call, then a churn with its\nstatistics, and draws the churn (default buddy-demo.svg "
        "in the current folder).\n";
    const char *picture = "buddy-demo.svg";
    if (argc == 2 && tool_is_help(argv[1])) {
        fputs(usage_text, stdout);
        return TOOL_OK;
    }
    tool_args args = {"demo", argc, argv, 1, NULL, NULL, TOOL_OK};
    while (args.status == TOOL_OK && tool_args_next(&args)) {
        if (tool_args_is(&args, "--out", true)) {
            if (args.value != NULL)
                picture = args.value;
        } else {
            tool_args_unknown(&args, "--out");
        }
    }
    if (args.status != TOOL_OK)
        return args.status;
    printf("buddy %s demo\n\n", buddy_version());
    int status = run_cloudwu_sequence();
    return status != 0 ? status : run_churn(picture);
}
