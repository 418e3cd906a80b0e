/* SPDX-License-Identifier: MIT */
/*
 * `buddy replay TRACE`: runs an allocation trace (format in trace.h and
 * README) on a range or a heap and reports what happened: operation counts,
 * what the trace asked for beside what the blocks took (the rounding waste),
 * the failed allocations with the first one's reason and the smallest
 * capacity that would have served the trace, the statistics at the end, and
 * fragmentation over time, as text or as JSON (docs/json.md).
 */
#define _POSIX_C_SOURCE 200809L /* fileno */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#if BUDDY_HAVE_ZLIB
#include <zlib.h>
#endif

#include "tool.h"
#include "trace.h"

static const char *const usage_text =
    "usage: buddy replay [OPTIONS] TRACE      (TRACE '-' reads standard input)\n\n"
    "Runs an allocation trace and reports what it asked for beside what the blocks\n"
    "took (the rounding waste), the failed allocations (the first with its reason,\n"
    "and the smallest capacity that serves the trace), the statistics and\n"
    "fragmentation over time. Trace lines ('#' starts a comment to the end of the line):\n"
    "  a ID SIZE [ALIGN]   allocate SIZE units for ID (ALIGN: a power of two)\n"
    "  f ID                free ID\n"
    "  r ID SIZE [NEWID]   resize ID (in place when the buddy allows, else moved);\n"
    "                      NEWID: the name it goes by afterwards\n"
    "IDs are words of at most 63 characters; numbers are decimal, 0 to 2^64-1.\n\n"
    "options (--name VALUE or --name=VALUE):\n"
    "  --capacity SIZE     units to manage (default 1M)\n"
    "  --min-block SIZE    the min block size, a power of two (default 16)\n"
    "  --policy POLICY     best_fit (default), first_fit, exact (exact runs, no\n"
    "                      rounding to a power of two: buddy_range_alloc_exact, or a\n"
    "                      heap with BUDDY_HEAP_EXACT), or packed (exact runs at any\n"
    "                      multiple of 2 min blocks: buddy_range_alloc_packed,\n"
    "                      BUDDY_HEAP_PACKED)\n"
    "  --heap              replay through buddy_heap (pointers) instead of a range\n"
    "  --every N           sample the statistics every N operations (default 1000)\n"
    "  --step              print the tree after every operation (at most 1024 min blocks)\n"
    "  --json              print the report as JSON (schema buddy-replay/1, docs/json.md)\n"
    "  --write-dump FILE   write the library's dump of the final state, every block\n"
    "                      included, to FILE (buddy-range/1; buddy draw --dump reads it)\n"
    "SIZE: a decimal number with an optional unit, any case: K or KiB (1024), KB\n"
    "(1000), M, MiB, MB, G, GiB, GB, T, TiB, TB.\n\n"
    "exit codes: 0 replayed (failed allocations are results), 1 the allocator could not\n"
    "be set up or the trace could not be read, 2 bad usage (a trace that cannot be\n"
    "opened included), 3 a malformed or inconsistent trace (its line is named)\n";

static const char *const replay_option_names =
    "--capacity, --min-block, --policy, --heap, --every, --step, --json, --write-dump";

int tool_parse_replay_options(tool_args *args, replay_options *options, bool *json,
                              const char **out_path, const char **trace_out) {
    *options = (replay_options){
        UINT64_C(1) << 20, 16, BUDDY_BEST_FIT, false, false, 1000, NULL, false, false, NULL, false};
    if (json != NULL)
        *json = false;
    *trace_out = NULL;
    while (args->status == TOOL_OK && tool_args_next(args)) {
        if (out_path != NULL && tool_args_is(args, "--out", true)) {
            if (args->value != NULL)
                *out_path = args->value;
        } else if (tool_args_is(args, "--capacity", true)) {
            tool_args_size(args, "--capacity", &options->capacity);
        } else if (tool_args_is(args, "--min-block", true)) {
            tool_args_size(args, "--min-block", &options->min_block_size);
        } else if (tool_args_is(args, "--every", true)) {
            tool_args_size(args, "--every", &options->sample_every);
            if (args->status == TOOL_OK && options->sample_every == 0)
                args->status =
                    tool_args_error(args, "--every '%s' must be at least 1", args->value);
        } else if (tool_args_is(args, "--policy", true)) {
            tool_args_policy(args, &options->policy, &options->sizing);
        } else if (tool_args_is(args, "--heap", false)) {
            options->heap = true;
        } else if (tool_args_is(args, "--step", false)) {
            options->step = true;
        } else if (json != NULL && tool_args_is(args, "--json", false)) {
            *json = true;
        } else if (json != NULL && tool_args_is(args, "--write-dump", true)) {
            options->dump_path = args->value;
        } else if (*trace_out == NULL && (args->arg[0] != '-' || strcmp(args->arg, "-") == 0)) {
            *trace_out = args->arg;
        } else {
            tool_args_unknown(args, out_path != NULL ? "--out, --capacity, --min-block, --policy, "
                                                       "--heap, --every"
                                                     : replay_option_names);
        }
    }
    if (args->status != TOOL_OK)
        return args->status;
    uint64_t min_block = options->min_block_size;
    if (*trace_out == NULL)
        return tool_args_error(args, "TRACE is missing (a trace file, or - for stdin)");
    if (min_block == 0 || (min_block & (min_block - 1)) != 0)
        return tool_args_error(args, "--min-block %" PRIu64 " is not a power of two", min_block);
    if (options->capacity < min_block)
        return tool_args_error(args, "--capacity %" PRIu64 " is below the min block (%" PRIu64 ")",
                               options->capacity, min_block);
    if (buddy_range_metadata_size(options->capacity, min_block) == 0 ||
        (options->heap && options->capacity > SIZE_MAX / 2))
        return tool_args_error(args,
                               "--capacity %" PRIu64 " is too large for min block %" PRIu64
                               " (at most 2^62 min blocks; with --heap, half the address space)",
                               options->capacity, min_block);
    return TOOL_OK;
}

static double share(uint64_t part, uint64_t whole) {
    return whole == 0 ? 0.0 : (double)part / (double)whole;
}

/* The rounding waste: the share of the blocks' bytes the trace did not ask for. */
static double waste(uint64_t requested, uint64_t blocks) {
    return blocks <= requested ? 0.0 : share(blocks - requested, blocks);
}

void tool_print_summary(const replay_result *r, uint64_t smallest_capacity) {
    char requested_peak[32], blocks_peak[32], requested_end[32], blocks_end[32];
    tool_format_size(requested_peak, sizeof requested_peak, r->requested_peak);
    tool_format_size(blocks_peak, sizeof blocks_peak, r->end.peak_allocated_bytes);
    tool_format_size(requested_end, sizeof requested_end, r->requested_live);
    tool_format_size(blocks_end, sizeof blocks_end, r->end.allocated_bytes);
    printf("  %-22s %14s %14s\n", "", "at the peak", "at the end");
    printf("  %-22s %14s %14s\n", "requested by the trace", requested_peak, requested_end);
    printf("  %-22s %14s %14s\n", "taken by blocks", blocks_peak, blocks_end);
    printf("  %-22s %13.1f%% %13.1f%%\n", "rounding waste",
           100.0 * waste(r->requested_peak, r->end.peak_allocated_bytes),
           100.0 * waste(r->requested_live, r->end.allocated_bytes));
    printf("  failed allocations %" PRIu64 "\n", r->failures);
    if (r->first_failure_line == 0)
        return;
    printf("  first failure at line %" PRIu64 ": %s\n", r->first_failure_line, r->first_failure);
    char smallest[32];
    tool_format_size(smallest, sizeof smallest, smallest_capacity);
    if (smallest_capacity != 0)
        printf("  smallest capacity that serves the trace: %" PRIu64 " (%s; binary search)\n",
               smallest_capacity, smallest);
    else
        printf("  no capacity up to %" PRIu64 " serves the trace (the search stops at 2^28 min "
               "blocks)\n",
               replay_search_limit(r->end.min_block_size));
}

static void print_text(const char *name, const replay_options *o, const replay_result *r,
                       uint64_t smallest_capacity) {
    printf("buddy replay %s: %s, capacity %" PRIu64 ", min block %" PRIu64 ", %s\n", name,
           o->heap ? "heap" : "range", r->end.capacity, r->end.min_block_size,
           tool_policy_name(o->policy, o->sizing));
    printf("  operations %" PRIu64 ": allocations %" PRIu64 ", frees %" PRIu64 ", resizes %" PRIu64
           " (%" PRIu64 " in place)\n",
           r->ops, r->allocs, r->frees, r->resizes, r->resized_in_place);
    tool_print_summary(r, smallest_capacity);
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
               1.0 - share(s->largest_free, s->free_bytes));
    }
}

static void print_json(const char *name, const replay_options *o, const replay_result *r,
                       uint64_t smallest_capacity) {
    printf("{\"schema\": \"buddy-replay/1\", \"trace\": ");
    tool_print_json_string(stdout, name);
    printf(", \"mode\": \"%s\", \"policy\": \"%s\", \"capacity\": %" PRIu64
           ", \"min_block_size\": %" PRIu64 ",\n",
           o->heap ? "heap" : "range", tool_policy_name(o->policy, o->sizing), r->end.capacity,
           r->end.min_block_size);
    printf(" \"operations\": %" PRIu64 ", \"allocations\": %" PRIu64 ", \"frees\": %" PRIu64
           ", \"resizes\": %" PRIu64 ", \"resized_in_place\": %" PRIu64
           ", \"failed_allocations\": %" PRIu64 ",\n",
           r->ops, r->allocs, r->frees, r->resizes, r->resized_in_place, r->failures);
    printf(" \"requested\": {\"peak\": %" PRIu64 ", \"end\": %" PRIu64 "},"
           " \"blocks\": {\"peak\": %" PRIu64 ", \"end\": %" PRIu64 "},"
           " \"rounding_waste\": {\"peak\": %.4f, \"end\": %.4f},\n",
           r->requested_peak, r->requested_live, r->end.peak_allocated_bytes,
           r->end.allocated_bytes, waste(r->requested_peak, r->end.peak_allocated_bytes),
           waste(r->requested_live, r->end.allocated_bytes));
    if (r->first_failure_line != 0) {
        printf(" \"first_failure\": {\"line\": %" PRIu64 ", \"what\": ", r->first_failure_line);
        tool_print_json_string(stdout, r->first_failure);
        printf("},\n");
    } else {
        printf(" \"first_failure\": null,\n");
    }
    if (smallest_capacity != 0)
        printf(" \"smallest_capacity\": %" PRIu64 ",\n", smallest_capacity);
    else
        printf(" \"smallest_capacity\": null,\n");
    /* The library's own dump, whose newline ends the line. */
    printf(" \"end\": %s", r->end_dump != NULL ? r->end_dump : "null\n");
    printf(",\n");
    printf(" \"samples\": [");
    for (size_t i = 0; i < r->sample_count; i++) {
        const replay_sample *s = &r->samples[i];
        printf("%s\n  {\"operation\": %" PRIu64 ", \"allocated\": %" PRIu64 ", \"free\": %" PRIu64
               ", \"largest_free_block\": %" PRIu64 ", \"fragmentation\": %.4f}",
               i ? "," : "", s->op, s->allocated, s->free_bytes, s->largest_free,
               1.0 - share(s->largest_free, s->free_bytes));
    }
    printf("]}\n");
}

/* Copies a gzip file into a temporary one; NULL (errno set) if it cannot. */
static FILE *gunzip_to_temporary(const char *path) {
#if BUDDY_HAVE_ZLIB
    gzFile packed = gzopen(path, "rb");
    FILE *copy = packed != NULL ? tmpfile() : NULL;
    char buffer[1 << 16];
    int read = 0;
    while (copy != NULL && (read = gzread(packed, buffer, sizeof buffer)) > 0)
        fwrite(buffer, 1, (size_t)read, copy);
    if (copy != NULL && read < 0) {
        fclose(copy);
        copy = NULL;
        errno = EILSEQ; /* not gzip, or cut short */
    }
    if (packed != NULL)
        gzclose(packed);
    if (copy != NULL)
        rewind(copy);
    return copy;
#else
    (void)path;
    errno = ENOTSUP; /* this build found no zlib */
    return NULL;
#endif
}

FILE *tool_open_trace(const tool_args *args, const char *path) {
    size_t length = strlen(path);
    if (length > 3 && strcmp(path + length - 3, ".gz") == 0) {
        FILE *input = gunzip_to_temporary(path);
        if (input == NULL)
            tool_args_error(args, "TRACE '%s': %s", path,
                            errno == EILSEQ    ? "not a gzip file, or cut short"
                            : errno == ENOTSUP ? "this build reads no gzip (zlib was not found)"
                                               : strerror(errno));
        return input;
    }
    if (strcmp(path, "-") != 0) {
        FILE *input = fopen(path, "r");
        struct stat info;
        if (input != NULL && fstat(fileno(input), &info) == 0 && S_ISDIR(info.st_mode)) {
            fclose(input);
            input = NULL;
            errno = EISDIR;
        }
        if (input == NULL)
            tool_args_error(args, "TRACE '%s': %s (expected a trace file, or - for stdin)", path,
                            strerror(errno));
        return input;
    }
    FILE *copy = tmpfile();
    if (copy == NULL) {
        perror("buddy: a temporary file for standard input");
        return NULL;
    }
    char buffer[1 << 16];
    for (size_t read = 0; (read = fread(buffer, 1, sizeof buffer, stdin)) > 0;)
        fwrite(buffer, 1, read, copy);
    rewind(copy);
    return copy;
}

int tool_replay_file(const tool_args *args, const char *path, const replay_options *options,
                     replay_result *result, uint64_t *smallest_capacity) {
    memset(result, 0, sizeof *result);
    *smallest_capacity = 0;
    FILE *input = tool_open_trace(args, path);
    if (input == NULL)
        return strcmp(path, "-") == 0 ? TOOL_FAILED : TOOL_USAGE;
    int status = replay_run(input, path, options, result);
    if (status == TOOL_OK && result->failures != 0)
        status = replay_smallest_capacity(input, options, smallest_capacity);
    fclose(input);
    return status;
}

int tool_replay(int argc, char **argv) {
    if (argc == 2 && tool_is_help(argv[1])) {
        fputs(usage_text, stdout);
        return TOOL_OK;
    }
    tool_args args = {"replay", argc, argv, 1, NULL, NULL, TOOL_OK};
    replay_options options;
    bool json = false;
    const char *trace = NULL;
    if (tool_parse_replay_options(&args, &options, &json, NULL, &trace) != TOOL_OK)
        return TOOL_USAGE;
    if (options.step && (options.heap || options.min_block_size == 0 ||
                         options.capacity / options.min_block_size > 1024))
        return tool_args_error(&args, "--step needs a range (not --heap) of at most 1024 min "
                                      "blocks (--capacity / --min-block)");
    replay_result result;
    uint64_t smallest = 0;
    int status = tool_replay_file(&args, trace, &options, &result, &smallest);
    if (status == TOOL_OK) {
        if (json)
            print_json(trace, &options, &result, smallest);
        else
            print_text(trace, &options, &result, smallest);
    }
    replay_result_free(&result);
    return status;
}
