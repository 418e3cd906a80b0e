/* SPDX-License-Identifier: MIT */
/*
 * `buddy sizes`: the metadata a range needs, computed by the library, for a
 * grid of capacities and min block sizes (or the ones given).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static const char *const usage_text =
    "usage: buddy sizes [--capacity SIZE]... [--min-block SIZE]...\n\n"
    "Prints the range metadata for each capacity and min block size: bytes and bits\n"
    "per min block, header included. SIZE: a decimal number with an optional unit,\n"
    "any case: K or KiB (1024), KB (1000), M, MiB, MB, G, GiB, GB, T, TiB, TB.\n"
    "Without options: capacities 1K 1M 64M 1G 64G 1T, min blocks 1 16 64 4096.\n";

int tool_sizes(int argc, char **argv) {
    uint64_t capacities[32], min_blocks[32];
    size_t capacity_count = 0, min_block_count = 0;
    tool_args args = {"sizes", argc, argv, 1, NULL, NULL, TOOL_OK};
    while (args.status == TOOL_OK && tool_args_next(&args)) {
        if (tool_is_help(args.arg)) {
            fputs(usage_text, stdout);
            return TOOL_OK;
        }
        bool is_capacity = tool_args_is(&args, "--capacity", true);
        if (!is_capacity && !tool_args_is(&args, "--min-block", true)) {
            tool_args_unknown(&args, "--capacity, --min-block");
            break;
        }
        size_t *count = is_capacity ? &capacity_count : &min_block_count;
        if (args.status == TOOL_OK && *count == 32)
            return tool_args_error(&args, "at most 32 values of %s",
                                   is_capacity ? "--capacity" : "--min-block");
        if (args.status == TOOL_OK)
            tool_args_size(&args, is_capacity ? "--capacity" : "--min-block",
                           is_capacity ? &capacities[*count] : &min_blocks[*count]);
        *count += args.status == TOOL_OK;
    }
    if (args.status != TOOL_OK)
        return args.status;
    static const uint64_t default_capacities[] = {UINT64_C(1) << 10, UINT64_C(1) << 20,
                                                  UINT64_C(1) << 26, UINT64_C(1) << 30,
                                                  UINT64_C(1) << 36, UINT64_C(1) << 40};
    static const uint64_t default_min_blocks[] = {1, 16, 64, 4096};
    if (capacity_count == 0)
        for (; capacity_count < 6; capacity_count++)
            capacities[capacity_count] = default_capacities[capacity_count];
    if (min_block_count == 0)
        for (; min_block_count < 4; min_block_count++)
            min_blocks[min_block_count] = default_min_blocks[min_block_count];

    printf("%16s %10s %16s %18s %12s\n", "capacity", "min block", "min blocks", "metadata bytes",
           "bits/block");
    for (size_t c = 0; c < capacity_count; c++) {
        for (size_t m = 0; m < min_block_count; m++) {
            size_t bytes = buddy_range_metadata_size(capacities[c], min_blocks[m]);
            printf("%16" PRIu64 " %10" PRIu64, capacities[c], min_blocks[m]);
            if (bytes == 0) {
                printf(" %16s %18s %12s\n", "-", "impossible", "-");
                continue;
            }
            uint64_t count = capacities[c] / min_blocks[m];
            printf(" %16" PRIu64 " %18zu %12.3f\n", count, bytes,
                   (double)bytes * 8.0 / (double)count);
        }
    }
    return TOOL_OK;
}
