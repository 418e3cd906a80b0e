/* SPDX-License-Identifier: MIT */
/*
 * `buddy draw TRACE --out FILE.svg`: replays a trace like `buddy replay` and
 * draws the result: the memory map at the end, the buddy tree (small ranges)
 * and every block's life on a time-vs-address map. `buddy draw --dump FILE`
 * draws the memory map of a range's dump (buddy_range_dump_json).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "svg.h"
#include "tool.h"
#include "trace.h"

static const char *const usage_text =
    "usage: buddy draw [OPTIONS] TRACE [--out FILE.svg]\n"
    "       buddy draw --dump FILE [--out FILE.svg]\n\n"
    "Replays TRACE (see buddy replay --help for the format and the options --capacity,\n"
    "--min-block, --policy, --heap and --every) and writes an SVG picture (default\n"
    "buddy.svg): the memory map at the end, the buddy tree for ranges of at most 256\n"
    "min blocks, and each block's life on a time-vs-address map with the failed\n"
    "allocations marked, to watch fragmentation grow; each block shows the part the\n"
    "trace asked for and its rounding waste. It prints what replay's summary says.\n\n"
    "With --dump, it draws the memory map of a range's state as the library dumps it\n"
    "(buddy_range_dump_json with BUDDY_DUMP_BLOCKS, schema buddy-range/1; buddy replay\n"
    "--write-dump writes one): live, free and reserved blocks.\n\n"
    "exit codes: as buddy replay's (3 also for a file that is not such a dump); 1 also\n"
    "if the picture cannot be written\n";

/* Writes the picture of a replay (or with `map_only`, of a dump) to `path`;
 * TOOL_OK or TOOL_FAILED. */
static int write_picture(const char *path, const char *title, const replay_result *result,
                         bool map_only) {
    FILE *out = fopen(path, "w");
    if (out == NULL) {
        perror(path);
        return TOOL_FAILED;
    }
    char safe[200];
    size_t i = 0;
    for (; title[i] != '\0' && i + 1 < sizeof safe; i++) /* nothing that XML would read */
        safe[i] = strchr("<>&\"", title[i]) ? '_' : title[i];
    safe[i] = '\0';
    if (map_only)
        svg_write_map(out, safe, result);
    else
        svg_write_replay(out, safe, result);
    return fclose(out) == 0 ? TOOL_OK : TOOL_FAILED;
}

int tool_write_picture(const char *path, const char *title, const replay_result *result) {
    return write_picture(path, title, result, false);
}

/* `buddy draw --dump FILE [--out FILE.svg]`. */
static int draw_dump(tool_args *args) {
    const char *dump = NULL, *out_path = "buddy.svg";
    while (args->status == TOOL_OK && tool_args_next(args)) {
        if (tool_args_is(args, "--dump", true))
            dump = args->value;
        else if (tool_args_is(args, "--out", true))
            out_path = args->value != NULL ? args->value : out_path;
        else
            tool_args_unknown(args, "with --dump: --out");
    }
    if (args->status != TOOL_OK)
        return args->status;
    FILE *probe = fopen(dump, "rb");
    if (probe == NULL)
        return tool_args_error(args, "--dump '%s': %s", dump, strerror(errno));
    fclose(probe);
    replay_result result;
    int status = tool_read_dump(dump, &result);
    if (status == TOOL_OK) {
        char title[256];
        snprintf(title, sizeof title, "buddy: the range dumped in %s, %llu units", dump,
                 (unsigned long long)result.end.capacity);
        status = write_picture(out_path, title, &result, true);
        if (status == TOOL_OK)
            printf("buddy draw: wrote %s\n", out_path);
    }
    replay_result_free(&result);
    return status;
}

int tool_draw(int argc, char **argv) {
    if (argc == 2 && tool_is_help(argv[1])) {
        fputs(usage_text, stdout);
        return TOOL_OK;
    }
    tool_args args = {"draw", argc, argv, 1, NULL, NULL, TOOL_OK};
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--dump", 6) == 0 && (argv[i][6] == '\0' || argv[i][6] == '='))
            return draw_dump(&args);
    replay_options options;
    const char *out_path = "buddy.svg", *trace = NULL;
    if (tool_parse_replay_options(&args, &options, NULL, &out_path, &trace) != TOOL_OK)
        return TOOL_USAGE;
    if (options.step)
        return tool_args_error(&args, "--step is for buddy replay, not draw");
    replay_result result;
    uint64_t smallest = 0;
    int status = tool_replay_file(&args, trace, &options, &result, &smallest);
    if (status == TOOL_OK) {
        char title[256];
        snprintf(title, sizeof title, "buddy: %s on a %s of %llu units", trace,
                 options.heap ? "heap" : "range", (unsigned long long)result.end.capacity);
        status = tool_write_picture(out_path, title, &result);
        if (status == TOOL_OK) {
            printf("buddy draw: wrote %s\n", out_path);
            tool_print_summary(&result, smallest);
        }
    }
    replay_result_free(&result);
    return status;
}
