/* SPDX-License-Identifier: MIT */
/*
 * `buddy record [--output FILE] -- PROGRAM ARGS`: runs PROGRAM with the
 * recording library (libbuddy_record.so, next to the buddy binary) preloaded,
 * so its allocations become a trace, then says how to replay it.
 */
#define _DEFAULT_SOURCE /* setenv, readlink */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tool.h"
#include "trace.h"

static const char *const usage_text =
    "usage: buddy record [--output FILE] -- PROGRAM [ARGS...]\n\n"
    "Runs PROGRAM with libbuddy_record.so preloaded and writes its malloc, calloc,\n"
    "realloc, free, aligned_alloc, posix_memalign, memalign, valloc and pvalloc calls\n"
    "as a trace (default buddy.trace) for buddy replay and buddy draw, then prints a\n"
    "summary on stderr. Only PROGRAM's own process records: not the programs it\n"
    "starts, nor the processes it forks.\n\n"
    "exit codes: PROGRAM's own; 1 if it could not be started or recorded, 2 bad usage\n";

/* Counts the operations and the bytes allocated, for the replay hint. */
static void summarize(const char *path) {
    FILE *trace = fopen(path, "r");
    if (trace == NULL)
        return;
    char line[1024], error[128];
    uint64_t ops = 0, allocated = 0;
    while (fgets(line, sizeof line, trace)) {
        trace_op op;
        if (trace_parse_line(line, &op, error, sizeof error) != 1)
            continue;
        ops++;
        if (op.kind == 'a' && allocated <= UINT64_MAX - op.size)
            allocated += op.size;
    }
    fclose(trace);
    fprintf(stderr,
            "buddy record: %" PRIu64 " operations in %s (%" PRIu64 " bytes allocated in all);\n"
            "replay with: buddy replay --capacity SIZE %s\n",
            ops, path, allocated, path);
}

int tool_record(int argc, char **argv) {
    const char *output = "buddy.trace";
    int program = 0;
    tool_args args = {"record", argc, argv, 1, NULL, NULL, TOOL_OK};
    while (program == 0 && args.status == TOOL_OK && tool_args_next(&args)) {
        if (tool_is_help(args.arg)) {
            fputs(usage_text, stdout);
            return TOOL_OK;
        }
        if (tool_args_is(&args, "--output", true)) {
            if (args.value != NULL)
                output = args.value;
        } else if (strcmp(args.arg, "--") == 0) {
            program = args.next;
        } else {
            tool_args_unknown(&args, "--output, then -- PROGRAM");
        }
    }
    if (args.status != TOOL_OK)
        return args.status;
    if (program == 0 || program >= argc)
        return tool_args_error(&args, "PROGRAM is missing (buddy record [--output FILE] -- "
                                      "PROGRAM [ARGS...])");
    char trace[PATH_MAX];
    FILE *truncate = fopen(output, "w");
    if (truncate == NULL || realpath(output, trace) == NULL) {
        if (truncate != NULL)
            fclose(truncate);
        return tool_args_error(&args, "--output '%s': %s", output, strerror(errno));
    }
    fclose(truncate);
    tool_preload library;
    if (!tool_preload_open(&library, "record", "libbuddy_record.so", BUDDY_RECORD_FROM_BIN))
        return TOOL_FAILED;
    pid_t child = fork();
    if (child == 0) {
        setenv("LD_PRELOAD", library.path, 1);
        setenv("BUDDY_TRACE", trace, 1);
        execvp(argv[program], argv + program);
        perror(argv[program]);
        _exit(127);
    }
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) < 0) {
        perror("buddy record");
        tool_preload_close(&library);
        return TOOL_FAILED;
    }
    tool_preload_close(&library);
    summarize(output);
    if (WIFEXITED(status))
        return WEXITSTATUS(status) == 127 ? TOOL_FAILED : WEXITSTATUS(status);
    return TOOL_FAILED;
}
