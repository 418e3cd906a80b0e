/* SPDX-License-Identifier: MIT */
/*
 * `buddy report TRACE...`: the fragmentation report card. For each trace, the
 * smallest capacity that serves it with no failed allocation under best fit,
 * first fit, exact runs, packed runs and the ideal best-fit reference (ideal.h), each
 * against the peak of the bytes the trace asked for; the waste at that
 * capacity, split into rounding and holes; and the reallocs done in place.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tool.h"
#include "trace.h"

static const char *const usage_text =
    "usage: buddy report [--min-block SIZE] [--json] TRACE...\n\n"
    "For each trace (a file, '-' for standard input, or a gzip-compressed *.gz), the\n"
    "smallest capacity (a multiple of the min block, by binary search) that serves\n"
    "the whole trace with no failed allocation, for best_fit, first_fit, exact (exact\n"
    "runs), packed (exact runs at any multiple of 2 min blocks) and an ideal best fit\n"
    "(address-ordered best fit over exact sizes in whole min blocks, with immediate\n"
    "coalescing: not a buddy system, the reference), each as a ratio to the peak of\n"
    "the bytes the trace asked for. At that capacity the\n"
    "waste, capacity - requested peak, splits into rounding (the blocks' peak - the\n"
    "requested peak) and holes (capacity - the blocks' peak). Then the reallocs done in\n"
    "place, of all the trace's reallocs.\n\n"
    "options:\n"
    "  --min-block SIZE    the min block size, a power of two (default 16)\n"
    "  --json              print the card as JSON (schema buddy-report/1, docs/json.md)\n\n"
    "exit codes: 0 done, 1 a replay could not be set up, 2 bad usage, 3 a malformed\n"
    "trace (its line is named)\n";

enum { POLICIES = 5, EXACT = 2, IDEAL = 4 }; /* rows EXACT..IDEAL-1 are compared with IDEAL */
static const struct {
    const char *name;
    buddy_policy policy;
    tool_sizing sizing;
} policies[POLICIES] = {{"best_fit", BUDDY_BEST_FIT, TOOL_ROUNDED},
                        {"first_fit", BUDDY_FIRST_FIT, TOOL_ROUNDED},
                        {"exact", BUDDY_BEST_FIT, TOOL_EXACT},
                        {"packed", BUDDY_BEST_FIT, TOOL_PACKED},
                        {"ideal_best_fit", BUDDY_BEST_FIT, TOOL_ROUNDED}};

typedef struct card_row {
    uint64_t capacity; /* 0: none up to the search's limit */
    uint64_t blocks_peak, resized_in_place;
} card_row;

typedef struct card {
    uint64_t requested_peak, resizes;
    card_row rows[POLICIES];
} card;

/* Fills the card of one trace; TOOL_OK or the replay's failure. */
static int fill_card(const tool_args *args, const char *path, uint64_t min_block, card *c) {
    FILE *input = tool_open_trace(args, path);
    if (input == NULL)
        return strcmp(path, "-") == 0 ? TOOL_FAILED : TOOL_USAGE;
    memset(c, 0, sizeof *c);
    int status = TOOL_OK;
    for (int p = 0; p < POLICIES && status == TOOL_OK; p++) {
        replay_options options = {min_block, min_block, policies[p].policy, false, false,     1000,
                                  NULL,      true,      policies[p].sizing, NULL,  p == IDEAL};
        card_row *row = &c->rows[p];
        replay_result result;
        rewind(input);
        status = replay_run(input, path, &options, &result); /* checks the trace */
        bool served = result.failures == 0;
        replay_result_free(&result);
        if (status == TOOL_OK && !served)
            status = replay_smallest_capacity(input, &options, &row->capacity);
        else
            row->capacity = min_block;
        if (status != TOOL_OK || row->capacity == 0)
            continue;
        options.capacity = row->capacity;
        rewind(input);
        status = replay_run(input, path, &options, &result);
        row->blocks_peak = result.end.peak_allocated_bytes;
        row->resized_in_place = result.resized_in_place;
        c->requested_peak = result.requested_peak;
        c->resizes = result.resizes;
        replay_result_free(&result);
    }
    fclose(input);
    return status;
}

static double ratio(uint64_t part, uint64_t whole) {
    return whole == 0 ? 0.0 : (double)part / (double)whole;
}

static void print_text(const char *path, const card *c) {
    char size[32];
    tool_format_size(size, sizeof size, c->requested_peak);
    printf("%s: %s asked for at the peak; %" PRIu64 " reallocs\n", path, size, c->resizes);
    printf("  %-15s %17s %8s %12s %12s %10s\n", "policy", "smallest capacity", "/ peak", "rounding",
           "holes", "in place");
    for (int p = 0; p < POLICIES; p++) {
        const card_row *row = &c->rows[p];
        if (row->capacity == 0) {
            printf("  %-15s %17s\n", policies[p].name, "none up to 2^28 min blocks");
            continue;
        }
        char capacity[32], rounding[32], holes[32];
        tool_format_size(capacity, sizeof capacity, row->capacity);
        tool_format_size(rounding, sizeof rounding, row->blocks_peak - c->requested_peak);
        tool_format_size(holes, sizeof holes, row->capacity - row->blocks_peak);
        printf("  %-15s %17s %7.3fx %12s %12s %10" PRIu64 "\n", policies[p].name, capacity,
               ratio(row->capacity, c->requested_peak), rounding, holes, row->resized_in_place);
    }
    for (int p = EXACT; p < IDEAL; p++)
        if (c->rows[p].capacity != 0 && c->rows[IDEAL].capacity != 0)
            printf("  %s / ideal best fit: %.3fx\n", policies[p].name,
                   ratio(c->rows[p].capacity, c->rows[IDEAL].capacity));
}

static void print_json(const char *path, const card *c, bool first) {
    printf("%s{\"trace\": ", first ? "" : ",\n  ");
    tool_print_json_string(stdout, path);
    printf(", \"requested_peak\": %" PRIu64 ", \"reallocs\": %" PRIu64 ", \"policies\": [",
           c->requested_peak, c->resizes);
    for (int p = 0; p < POLICIES; p++) {
        const card_row *row = &c->rows[p];
        printf("%s\n    {\"policy\": \"%s\", ", p == 0 ? "" : ",", policies[p].name);
        if (row->capacity == 0) {
            printf("\"smallest_capacity\": null}");
            continue;
        }
        printf("\"smallest_capacity\": %" PRIu64 ", \"ratio\": %.4f, \"rounding\": %" PRIu64
               ", \"holes\": %" PRIu64 ", \"reallocs_in_place\": %" PRIu64 "}",
               row->capacity, ratio(row->capacity, c->requested_peak),
               row->blocks_peak - c->requested_peak, row->capacity - row->blocks_peak,
               row->resized_in_place);
    }
    printf("]}");
}

int tool_report(int argc, char **argv) {
    if (argc == 2 && tool_is_help(argv[1])) {
        fputs(usage_text, stdout);
        return TOOL_OK;
    }
    tool_args args = {"report", argc, argv, 1, NULL, NULL, TOOL_OK};
    uint64_t min_block = 16;
    bool json = false;
    int traces = 0;
    while (args.status == TOOL_OK && tool_args_next(&args)) {
        if (tool_args_is(&args, "--min-block", true)) {
            tool_args_size(&args, "--min-block", &min_block);
        } else if (tool_args_is(&args, "--json", false)) {
            json = true;
        } else if (args.arg[0] != '-' || strcmp(args.arg, "-") == 0) {
            argv[1 + traces++] = (char *)args.arg; /* the traces, in order, over what was read */
        } else {
            tool_args_unknown(&args, "--min-block, --json");
        }
    }
    if (args.status != TOOL_OK)
        return args.status;
    if (traces == 0)
        return tool_args_error(&args, "TRACE is missing (trace files, or - for stdin)");
    if (min_block == 0 || (min_block & (min_block - 1)) != 0 || min_block > (UINT64_C(1) << 40))
        return tool_args_error(&args, "--min-block %" PRIu64 " is not a power of two up to 1 TiB",
                               min_block);
    if (json)
        printf("{\"schema\": \"buddy-report/1\", \"min_block_size\": %" PRIu64
               ", \"traces\": [\n  ",
               min_block);
    int status = TOOL_OK;
    for (int t = 0; t < traces && status == TOOL_OK; t++) {
        const char *path = argv[1 + t];
        card c;
        status = fill_card(&args, path, min_block, &c);
        if (status != TOOL_OK)
            break;
        if (json)
            print_json(path, &c, t == 0);
        else
            print_text(path, &c);
        fflush(stdout);
    }
    if (json && status == TOOL_OK)
        printf("]}\n");
    return status;
}
