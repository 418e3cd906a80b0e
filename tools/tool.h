/* SPDX-License-Identifier: MIT */
/* Shared pieces of the `buddy` command's subcommands. */
#ifndef BUDDY_TOOL_H
#define BUDDY_TOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "buddy.h"

struct replay_options; /* trace.h */
struct replay_result;

/* Exit codes of the command (documented in `buddy --help`). */
enum { TOOL_OK = 0, TOOL_FAILED = 1, TOOL_USAGE = 2, TOOL_BAD_TRACE = 3 };

bool tool_is_help(const char *argument);
/* Prints "buddy WHAT: <status name>" on stderr; returns TOOL_FAILED. */
int tool_fail(const char *what, int status);
void tool_print_stats(const buddy_range_stats *stats);
/* "512 B", "256 KiB", "18.3 MiB": a short reading of a count of bytes. */
void tool_format_size(char *out, size_t size, uint64_t bytes);
/* Writes `text` as a JSON string: quotes, escapes, and U+FFFD for bytes that
 * are not UTF-8. */
void tool_print_json_string(FILE *out, const char *text);

/* ---- Words of the command line (options.c) ---- */

/* A decimal number, no sign, no other base; false if there is no digit or it
 * is above 2^64 - 1. *end is set to the first character after the digits. */
bool tool_parse_decimal(const char *text, const char **end, uint64_t *value_out);
/* A decimal size with an optional unit, any case: K, KiB (1024), KB (1000), M,
 * MiB, MB, G, GiB, GB, T, TiB, TB, B. NULL on success, else why it is not one. */
const char *tool_parse_size(const char *text, uint64_t *value_out);
/* How allocations are sized: a power of two of min blocks (the policy's
 * blocks), exact runs (buddy_range_alloc_exact, BUDDY_HEAP_EXACT) or packed
 * runs (buddy_range_alloc_packed, BUDDY_HEAP_PACKED). */
typedef enum tool_sizing { TOOL_ROUNDED, TOOL_EXACT, TOOL_PACKED } tool_sizing;
/* best_fit or first_fit (best, first, best-fit and first-fit are aliases),
 * rounded; or exact or packed: best fit with runs of that kind. */
bool tool_parse_policy(const char *text, buddy_policy *policy_out, tool_sizing *sizing_out);
/* The policy's one spelling in every output: "best_fit", "first_fit", "exact",
 * "packed". */
const char *tool_policy_name(buddy_policy policy, tool_sizing sizing);

/* Reads one command's arguments left to right. */
typedef struct tool_args {
    const char *command; /* "replay": names the command in messages */
    int argc;
    char **argv;
    int next;          /* the index of the next argument */
    const char *arg;   /* the current argument */
    const char *value; /* the current option's value, or NULL */
    int status;        /* TOOL_OK, or TOOL_USAGE once an error is printed */
} tool_args;

/* Prints "buddy COMMAND: <message>" and a line pointing to --help on stderr;
 * returns TOOL_USAGE. */
int tool_args_error(const tool_args *args, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* Moves to the next argument; false when there is none. */
bool tool_args_next(tool_args *args);
/* True iff the current argument is the option `name` (as --name, or
 * --name=value); takes its value from after '=' or from the next argument.
 * A missing or unexpected value sets status (with a message). */
bool tool_args_is(tool_args *args, const char *name, bool takes_value);
/* Reads the option's value as a size or a policy; a bad one sets status. */
void tool_args_size(tool_args *args, const char *name, uint64_t *value_out);
void tool_args_policy(tool_args *args, buddy_policy *policy_out, tool_sizing *sizing_out);
/* Reports the current argument as unknown (options: `accepted`); sets status. */
void tool_args_unknown(tool_args *args, const char *accepted);

/* A library the tool preloads into a program. (4096: Linux's PATH_MAX, which
 * <limits.h> hides under -std=c11.) */
typedef struct tool_preload {
    char path[4096];   /* what LD_PRELOAD carries */
    char folder[4096]; /* the folder of a link to the library, or "" */
} tool_preload;

/* Finds `file` next to this program's executable (a build tree), else in the
 * folder `from_bin` relative to it (an install), and sets preload->path.
 * LD_PRELOAD splits its list at spaces and colons and has no escape, so where
 * the library's path has one, preload->path is a symbolic link to it in a new
 * folder under /tmp. False after a message naming `command`. */
bool tool_preload_open(tool_preload *preload, const char *command, const char *file,
                       const char *from_bin);
/* Removes the link and its folder, if tool_preload_open made them. */
void tool_preload_close(const tool_preload *preload);

int tool_demo(int argc, char **argv);
int tool_run(int argc, char **argv);
int tool_shared(int argc, char **argv);
int tool_sizes(int argc, char **argv);
int tool_replay(int argc, char **argv);
int tool_draw(int argc, char **argv);
int tool_record(int argc, char **argv);

/* Opens a trace as a seekable file, so a capacity search can read it again:
 * standard input ('-') and gzip files ("*.gz") are copied to a temporary
 * file. NULL after a message naming the path. */
FILE *tool_open_trace(const tool_args *args, const char *path);
int tool_report(int argc, char **argv);

/* Writes the SVG picture of a replay to `path`; TOOL_OK or TOOL_FAILED. */
int tool_write_picture(const char *path, const char *title, const struct replay_result *result);

/* Replays the trace at `path` ('-': standard input) as replay_run does and,
 * if allocations failed, finds the smallest capacity that serves it (else 0).
 * TOOL_USAGE (after a message) if the file cannot be opened. */
int tool_replay_file(const tool_args *args, const char *path, const struct replay_options *options,
                     struct replay_result *result, uint64_t *smallest_capacity);
/* The lines replay and draw both print: requested against block bytes (peak
 * and end), the rounding waste, the failures and the smallest capacity. */
void tool_print_summary(const struct replay_result *result, uint64_t smallest_capacity);
/* The options `replay` and `draw` share (draw adds --out): TOOL_OK with the
 * trace's path in *trace_out, or TOOL_USAGE after a message. */
int tool_parse_replay_options(tool_args *args, struct replay_options *options, bool *json,
                              const char **out_path, const char **trace_out);

#endif
