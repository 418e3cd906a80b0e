/* SPDX-License-Identifier: MIT */
/*
 * `buddy replay TRACE`: runs an allocation trace (format in trace.h and
 * README) on a range or a heap and reports what happened: operation counts,
 * the first failure and why, the statistics at the end, and fragmentation
 * over time, as text or as JSON.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tool.h"
#include "trace.h"

static const char *const usage_text =
    "usage: buddy replay [OPTIONS] TRACE      (TRACE '-' reads standard input)\n\n"
    "Runs an allocation trace and reports the statistics, fragmentation over time and\n"
    "the first failed allocation with its reason. Trace lines (# starts a comment):\n"
    "  a ID SIZE [ALIGN]   allocate SIZE units for ID (ALIGN: a power of two)\n"
    "  f ID                free ID\n"
    "  r ID SIZE           resize ID (in place when the buddy allows, else moved)\n\n"
    "options:\n"
    "  --capacity BYTES    units to manage (default 1M; K, M, G, T suffixes)\n"
    "  --min-block BYTES   the min block size, a power of two (default 16)\n"
    "  --policy best|first placement (default best)\n"
    "  --heap              replay through buddy_heap (pointers) instead of a range\n"
    "  --every N           sample the statistics every N operations (default 1000)\n"
    "  --step              print the tree after every operation (at most 1024 min blocks)\n"
    "  --json              print the report as JSON\n\n"
    "exit codes: 0 replayed (failed allocations are results), 1 the allocator could not\n"
    "be set up, 2 bad usage, 3 a malformed or inconsistent trace (its line is named)\n";

int tool_parse_replay_options(int argc, char **argv, replay_options *options, bool *json,
                              const char **out_path) {
    *options = (replay_options){UINT64_C(1) << 20, 16, BUDDY_BEST_FIT, false, false, 1000, NULL};
    *json = false;
    int trace = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true;
        if (out_path != NULL && strcmp(arg, "--out") == 0 && value)
            *out_path = argv[++i];
        else if (strcmp(arg, "--capacity") == 0 && value)
            ok = tool_parse_size(argv[++i], &options->capacity);
        else if (strcmp(arg, "--min-block") == 0 && value)
            ok = tool_parse_size(argv[++i], &options->min_block_size);
        else if (strcmp(arg, "--every") == 0 && value)
            ok = tool_parse_size(argv[++i], &options->sample_every) && options->sample_every > 0;
        else if (strcmp(arg, "--policy") == 0 && value) {
            ok = strcmp(value, "best") == 0 || strcmp(value, "first") == 0;
            options->policy = strcmp(argv[++i], "first") == 0 ? BUDDY_FIRST_FIT : BUDDY_BEST_FIT;
        } else if (strcmp(arg, "--heap") == 0)
            options->heap = true;
        else if (strcmp(arg, "--step") == 0)
            options->step = true;
        else if (strcmp(arg, "--json") == 0)
            *json = true;
        else if (trace == 0 && (arg[0] != '-' || strcmp(arg, "-") == 0))
            trace = i;
        else
            ok = false;
        if (!ok)
            return 0;
    }
    return trace;
}

static double fragmentation(uint64_t free_bytes, uint64_t largest) {
    return free_bytes == 0 ? 0.0 : 1.0 - (double)largest / (double)free_bytes;
}

static void print_text(const char *name, const replay_options *o, const replay_result *r) {
    printf("buddy replay %s: %s, capacity %" PRIu64 ", min block %" PRIu64 ", %s\n", name,
           o->heap ? "heap" : "range", r->end.capacity, r->end.min_block_size,
           o->policy == BUDDY_FIRST_FIT ? "first-fit" : "best-fit");
    printf("  operations %" PRIu64 ": allocations %" PRIu64 ", frees %" PRIu64 ", resizes %" PRIu64
           " (%" PRIu64 " in place)\n",
           r->ops, r->allocs, r->frees, r->resizes, r->resized_in_place);
    printf("  failed allocations %" PRIu64 "\n", r->failures);
    if (r->first_failure_line != 0)
        printf("  first failure at line %" PRIu64 ": %s\n", r->first_failure_line,
               r->first_failure);
    printf("  peak allocated %" PRIu64 " (%.1f%% of the capacity)\n", r->end.peak_allocated_bytes,
           100.0 * (double)r->end.peak_allocated_bytes / (double)r->end.capacity);
    printf("  at the end: live blocks %" PRIu64 ", allocated %" PRIu64 ", free %" PRIu64
           ", largest free block %" PRIu64 "\n",
           r->end.live_blocks, r->end.allocated_bytes, r->end.free_bytes,
           r->end.largest_free_block);
    printf("\n  fragmentation over time (1 - largest free block / free bytes):\n");
    printf("  %12s %14s %14s %14s %10s\n", "operation", "allocated", "free", "largest free",
           "ext. frag.");
    size_t stride = r->sample_count > 20 ? (r->sample_count + 19) / 20 : 1;
    for (size_t i = 0; i < r->sample_count; i += stride) {
        const replay_sample *s =
            &r->samples[i == 0 || i + stride < r->sample_count ? i : r->sample_count - 1];
        printf("  %12" PRIu64 " %14" PRIu64 " %14" PRIu64 " %14" PRIu64 " %10.3f\n", s->op,
               s->allocated, s->free_bytes, s->largest_free,
               fragmentation(s->free_bytes, s->largest_free));
    }
}

static void print_json(const replay_options *o, const replay_result *r) {
    printf("{\"mode\": \"%s\", \"policy\": \"%s\", \"capacity\": %" PRIu64
           ", \"min_block_size\": %" PRIu64 ",\n",
           o->heap ? "heap" : "range", o->policy == BUDDY_FIRST_FIT ? "first_fit" : "best_fit",
           r->end.capacity, r->end.min_block_size);
    printf(" \"operations\": %" PRIu64 ", \"allocations\": %" PRIu64 ", \"frees\": %" PRIu64
           ", \"resizes\": %" PRIu64 ", \"resized_in_place\": %" PRIu64
           ", \"failed_allocations\": %" PRIu64 ",\n",
           r->ops, r->allocs, r->frees, r->resizes, r->resized_in_place, r->failures);
    if (r->first_failure_line != 0) {
        printf(" \"first_failure\": {\"line\": %" PRIu64 ", \"what\": \"", r->first_failure_line);
        for (const char *c = r->first_failure; *c; c++)
            printf(*c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
        printf("\"},\n");
    } else {
        printf(" \"first_failure\": null,\n");
    }
    printf(" \"end\": {\"live_blocks\": %" PRIu64 ", \"allocated\": %" PRIu64 ", \"free\": %" PRIu64
           ", \"largest_free_block\": %" PRIu64 ", \"peak_allocated\": %" PRIu64 "},\n",
           r->end.live_blocks, r->end.allocated_bytes, r->end.free_bytes, r->end.largest_free_block,
           r->end.peak_allocated_bytes);
    printf(" \"samples\": [");
    for (size_t i = 0; i < r->sample_count; i++) {
        const replay_sample *s = &r->samples[i];
        printf("%s\n  {\"operation\": %" PRIu64 ", \"allocated\": %" PRIu64 ", \"free\": %" PRIu64
               ", \"largest_free_block\": %" PRIu64 ", \"fragmentation\": %.4f}",
               i ? "," : "", s->op, s->allocated, s->free_bytes, s->largest_free,
               fragmentation(s->free_bytes, s->largest_free));
    }
    printf("]}\n");
}

int tool_replay_file(const char *path, const replay_options *options, replay_result *result) {
    FILE *input = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (input == NULL) {
        perror(path);
        memset(result, 0, sizeof *result);
        return TOOL_FAILED;
    }
    int status = replay_run(input, path, options, result);
    if (input != stdin)
        fclose(input);
    return status;
}

int tool_replay(int argc, char **argv) {
    replay_options options;
    bool json = false;
    if (argc == 2 && tool_is_help(argv[1])) {
        fputs(usage_text, stdout);
        return TOOL_OK;
    }
    int trace = tool_parse_replay_options(argc, argv, &options, &json, NULL);
    if (trace == 0)
        return tool_usage_error("replay", usage_text);
    if (options.step && (options.heap || options.min_block_size == 0 ||
                         options.capacity / options.min_block_size > 1024)) {
        fprintf(stderr, "buddy replay: --step needs a range of at most 1024 min blocks\n");
        return TOOL_USAGE;
    }
    replay_result result;
    int status = tool_replay_file(argv[trace], &options, &result);
    if (status == TOOL_OK) {
        if (json)
            print_json(&options, &result);
        else
            print_text(argv[trace], &options, &result);
    }
    replay_result_free(&result);
    return status;
}
