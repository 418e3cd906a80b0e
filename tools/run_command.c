/* SPDX-License-Identifier: MIT */
/*
 * `buddy run [OPTIONS] -- PROGRAM ARGS`: runs PROGRAM (and every program it
 * starts) on libbuddy_malloc.so, then prints each process's statistics:
 * peak, rounding waste, failures, reallocs done in place; and the largest
 * process's peak RSS.
 */
#define _DEFAULT_SOURCE /* setenv, mkstemp, wait4 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tool.h"

static const char *const usage_text =
    "usage: buddy run [--exact | --packed] [--arena-size SIZE] [--invalid-free abort|count] -- "
    "PROGRAM [ARGS...]\n\n"
    "Runs PROGRAM, and the programs it starts, with libbuddy_malloc.so preloaded, then\n"
    "prints on stderr one line per process that allocated: its peak in blocks and in\n"
    "requested bytes (the difference is rounding), allocations, failures, reallocs and\n"
    "how many were done in place; and the peak RSS of the largest process.\n\n"
    "  --exact             exact sizing (BUDDY_MALLOC_EXACT=1): whole min blocks, not powers of "
    "two\n"
    "  --packed            exact sizing with packed runs (BUDDY_MALLOC_EXACT=packed)\n"
    "  --arena-size SIZE   the first arena's size (BUDDY_MALLOC_ARENA_SIZE; default 32M)\n"
    "  --invalid-free WHAT abort (the default, as glibc) or count an invalid free\n\n"
    "exit codes: PROGRAM's own; 1 if it could not be started, 2 bad usage\n";

/* Prints the statistics lines the processes appended to `path`. */
static void print_lines(const char *path) {
    FILE *lines = fopen(path, "r");
    char line[1024];
    unsigned count = 0;
    while (lines != NULL && fgets(line, sizeof line, lines) != NULL) {
        fputs(line, stderr);
        count++;
    }
    if (lines != NULL)
        fclose(lines);
    if (count == 0)
        fprintf(stderr, "buddy run: no process allocated through buddy\n");
}

/* What the options set: each a variable of libbuddy_malloc.so, NULL or empty if not given. */
typedef struct run_settings {
    const char *sizing;       /* BUDDY_MALLOC_EXACT */
    char arena_size[32];      /* BUDDY_MALLOC_ARENA_SIZE */
    const char *invalid_free; /* BUDDY_MALLOC_INVALID_FREE */
} run_settings;

/* Reads the options up to `--`: TOOL_OK with PROGRAM's index in *program_out
 * (0 after --help, which it prints), or the usage error it reported. */
static int parse_options(tool_args *args, run_settings *settings, int *program_out) {
    int program = 0;
    while (program == 0 && args->status == TOOL_OK && tool_args_next(args)) {
        if (tool_is_help(args->arg)) {
            fputs(usage_text, stdout);
            *program_out = 0;
            return TOOL_OK;
        }
        if (tool_args_is(args, "--exact", false)) {
            settings->sizing = "1";
        } else if (tool_args_is(args, "--packed", false)) {
            settings->sizing = "packed";
        } else if (tool_args_is(args, "--arena-size", true)) {
            uint64_t size = 0;
            tool_args_size(args, "--arena-size", &size);
            if (args->status == TOOL_OK && args->value != NULL &&
                (size < (UINT64_C(1) << 20) || size > (UINT64_C(1) << 30)))
                return tool_args_error(args, "--arena-size '%s' is not from 1M to 1G", args->value);
            snprintf(settings->arena_size, sizeof settings->arena_size, "%llu",
                     (unsigned long long)size);
        } else if (tool_args_is(args, "--invalid-free", true)) {
            if (args->value != NULL && strcmp(args->value, "abort") != 0 &&
                strcmp(args->value, "count") != 0)
                return tool_args_error(args, "--invalid-free '%s': expected abort or count",
                                       args->value);
            settings->invalid_free = args->value;
        } else if (strcmp(args->arg, "--") == 0) {
            program = args->next;
        } else {
            tool_args_unknown(args,
                              "--exact, --packed, --arena-size, --invalid-free, then -- PROGRAM");
        }
    }
    if (args->status != TOOL_OK)
        return args->status;
    if (program == 0 || program >= args->argc)
        return tool_args_error(args, "PROGRAM is missing (buddy run [OPTIONS] -- PROGRAM "
                                     "[ARGS...])");
    *program_out = program;
    return TOOL_OK;
}

/* Runs argv[program] with `library` preloaded and the settings in its
 * environment, then prints what the processes wrote to `stats`: PROGRAM's
 * exit status, or TOOL_FAILED. */
static int run_program(char **argv, int program, const run_settings *settings, const char *library,
                       const char *stats) {
    pid_t child = fork();
    if (child == 0) {
        setenv("LD_PRELOAD", library, 1);
        setenv("BUDDY_MALLOC_STATS", stats, 1);
        if (settings->sizing != NULL)
            setenv("BUDDY_MALLOC_EXACT", settings->sizing, 1);
        if (settings->arena_size[0] != '\0')
            setenv("BUDDY_MALLOC_ARENA_SIZE", settings->arena_size, 1);
        if (settings->invalid_free != NULL)
            setenv("BUDDY_MALLOC_INVALID_FREE", settings->invalid_free, 1);
        execvp(argv[program], argv + program);
        fprintf(stderr, "buddy run: %s: %s\n", argv[program], strerror(errno));
        _exit(127);
    }
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) < 0) {
        perror("buddy run");
        return TOOL_FAILED;
    }
    print_lines(stats);
    struct rusage usage;
    if (getrusage(RUSAGE_CHILDREN, &usage) == 0)
        fprintf(stderr, "buddy run: peak RSS of the largest process: %ld KiB\n", usage.ru_maxrss);
    if (WIFEXITED(status))
        return WEXITSTATUS(status) == 127 ? TOOL_FAILED : WEXITSTATUS(status);
    return TOOL_FAILED;
}

int tool_run(int argc, char **argv) {
    tool_args args = {"run", argc, argv, 1, NULL, NULL, TOOL_OK};
    run_settings settings = {NULL, "", NULL};
    int program = 0;
    int status = parse_options(&args, &settings, &program);
    if (status != TOOL_OK || program == 0)
        return status;
    char stats[] = "/tmp/buddy-run-XXXXXX";
    int fd = mkstemp(stats);
    if (fd < 0) {
        perror("buddy run: a file for the statistics");
        return TOOL_FAILED;
    }
    close(fd);
    tool_preload library;
    status = TOOL_FAILED;
    if (tool_preload_open(&library, "run", "libbuddy_malloc.so", BUDDY_MALLOC_FROM_BIN)) {
        status = run_program(argv, program, &settings, library.path, stats);
        tool_preload_close(&library);
    }
    unlink(stats);
    return status;
}
