/* SPDX-License-Identifier: MIT */
/*
 * The `buddy` command: shows what a buddy allocator does, on the public API
 * only. Subcommands live in their own files; this one dispatches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"demo", tool_demo, "cloudwu's sequence step by step, then a churn and its statistics"},
    {"sizes", tool_sizes, "the metadata table for a grid of capacities and min block sizes"},
    {"replay", tool_replay, "runs an allocation trace and reports fragmentation over time"},
    {"draw", tool_draw, "an SVG picture of a trace: memory map, buddy tree, blocks over time"},
    {"report", tool_report,
     "the fragmentation report card of traces: each policy's smallest capacity"},
    {"record", tool_record, "records a program's allocations as a trace (LD_PRELOAD)"},
    {"run", tool_run, "runs a program on libbuddy_malloc.so and prints its statistics"},
    {"shared", tool_shared, "makes and inspects a shared range's segment (stat, check, draw...)"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: buddy COMMAND [ARGS]   (buddy COMMAND --help for more)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nexit codes: 0 success, 1 the work failed, 2 bad usage, 3 a malformed trace;\n"
                 "buddy record and buddy run exit with the program's own code\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "buddy: COMMAND is missing (commands: demo, sizes, replay, draw, report, "
                        "record, run, shared)\n"
                        "Try 'buddy --help' for more.\n");
        return TOOL_USAGE;
    }
    if (tool_is_help(argv[1])) {
        usage(stdout);
        return TOOL_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("buddy %s\n", buddy_version());
        return TOOL_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr,
            "buddy: unknown command '%s' (commands: demo, sizes, replay, draw, report, record, "
            "run, shared)\n"
            "Try 'buddy --help' for more.\n",
            argv[1]);
    return TOOL_USAGE;
}
