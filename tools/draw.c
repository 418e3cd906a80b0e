/* SPDX-License-Identifier: MIT */
/*
 * `buddy draw TRACE --out FILE.svg`: replays a trace like `buddy replay` and
 * draws the result: the memory map at the end, the buddy tree (small ranges)
 * and every block's life on a time-vs-address map.
 */
#include <stdio.h>
#include <string.h>

#include "svg.h"
#include "tool.h"
#include "trace.h"

static const char *const usage_text =
    "usage: buddy draw [OPTIONS] TRACE [--out FILE.svg]\n\n"
    "Replays TRACE (see buddy replay --help for the format and the options --capacity,\n"
    "--min-block, --policy, --heap and --every) and writes an SVG picture (default\n"
    "buddy.svg): the memory map at the end, the buddy tree for ranges of at most 256\n"
    "min blocks, and each block's life on a time-vs-address map with the failed\n"
    "allocations marked, to watch fragmentation grow; each block shows the part the\n"
    "trace asked for and its rounding waste. It prints what replay's summary says.\n\n"
    "exit codes: as buddy replay's; 1 also if the picture cannot be written\n";

/* Writes the picture of a replay to `path`; TOOL_OK or TOOL_FAILED. */
int tool_write_picture(const char *path, const char *title, const replay_result *result) {
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
    svg_write_replay(out, safe, result);
    return fclose(out) == 0 ? TOOL_OK : TOOL_FAILED;
}

int tool_draw(int argc, char **argv) {
    if (argc == 2 && tool_is_help(argv[1])) {
        fputs(usage_text, stdout);
        return TOOL_OK;
    }
    tool_args args = {"draw", argc, argv, 1, NULL, NULL, TOOL_OK};
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
