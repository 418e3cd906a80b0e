/* SPDX-License-Identifier: MIT */
/*
 * `buddy record [--output FILE] -- PROGRAM ARGS`: runs PROGRAM with the
 * recording library (libbuddy_record.so, next to the buddy binary) preloaded,
 * so its allocations become a trace, then says how to replay it.
 */
#define _DEFAULT_SOURCE /* setenv, readlink */
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
    "realloc, free, aligned_alloc, posix_memalign and memalign calls as a trace\n"
    "(default buddy.trace) for buddy replay and buddy draw. Only PROGRAM's own process\n"
    "records, not its children. The exit code is PROGRAM's (1 if it could not start).\n";

/* The recording library: next to this program's executable. */
static bool find_library(char *path, size_t size) {
    ssize_t length = readlink("/proc/self/exe", path, size - 1);
    if (length <= 0)
        return false;
    path[length] = '\0';
    char *slash = strrchr(path, '/');
    if (slash == NULL || (size_t)(slash - path) + sizeof "/libbuddy_record.so" > size)
        return false;
    strcpy(slash, "/libbuddy_record.so");
    return access(path, R_OK) == 0;
}

/* Counts the operations and the peak of live bytes, for the replay hint. */
static void summarize(const char *path) {
    FILE *trace = fopen(path, "r");
    if (trace == NULL)
        return;
    char line[1024], error[128];
    uint64_t ops = 0, live = 0, peak = 0;
    while (fgets(line, sizeof line, trace)) {
        trace_op op;
        if (trace_parse_line(line, &op, error, sizeof error) == 1)
            ops++;
        if (op.kind == 'a' && (live += op.size) > peak) /* frees are not sized: an upper bound */
            peak = live;
    }
    fclose(trace);
    printf("buddy record: %" PRIu64 " operations in %s (at most %" PRIu64 " bytes requested\n"
           "in total); replay with: buddy replay --capacity SIZE %s\n",
           ops, path, peak, path);
}

int tool_record(int argc, char **argv) {
    const char *output = "buddy.trace";
    int program = 0;
    for (int i = 1; i < argc && program == 0; i++) {
        if (tool_is_help(argv[i])) {
            fputs(usage_text, stdout);
            return TOOL_OK;
        }
        if (strcmp(argv[i], "--output") == 0 && i + 1 < argc)
            output = argv[++i];
        else if (strcmp(argv[i], "--") == 0 && i + 1 < argc)
            program = i + 1;
        else
            return tool_usage_error("record", usage_text);
    }
    char library[PATH_MAX], trace[PATH_MAX];
    if (program == 0)
        return tool_usage_error("record", usage_text);
    if (!find_library(library, sizeof library)) {
        fprintf(stderr, "buddy record: libbuddy_record.so is not next to the buddy program\n");
        return TOOL_FAILED;
    }
    FILE *truncate = fopen(output, "w");
    if (truncate == NULL || realpath(output, trace) == NULL) {
        perror(output);
        return TOOL_FAILED;
    }
    fclose(truncate);
    pid_t child = fork();
    if (child == 0) {
        setenv("LD_PRELOAD", library, 1);
        setenv("BUDDY_TRACE", trace, 1);
        execvp(argv[program], argv + program);
        perror(argv[program]);
        _exit(127);
    }
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) < 0) {
        perror("buddy record");
        return TOOL_FAILED;
    }
    summarize(output);
    if (WIFEXITED(status))
        return WEXITSTATUS(status) == 127 ? TOOL_FAILED : WEXITSTATUS(status);
    return TOOL_FAILED;
}
