/* SPDX-License-Identifier: MIT */
/* Shared pieces of the `buddy` command's subcommands. */
#ifndef BUDDY_TOOL_H
#define BUDDY_TOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "buddy.h"

struct replay_options; /* trace.h */
struct replay_result;

/* Exit codes of the command (documented in `buddy --help`). */
enum { TOOL_OK = 0, TOOL_FAILED = 1, TOOL_USAGE = 2, TOOL_BAD_TRACE = 3 };

bool tool_is_help(const char *argument);
/* Prints "buddy WHAT: <status name>" on stderr; returns TOOL_FAILED. */
int tool_fail(const char *what, int status);
void tool_print_stats(const buddy_range_stats *stats);

/* Prints "buddy WHAT: bad usage" and the usage on stderr; returns TOOL_USAGE. */
int tool_usage_error(const char *what, const char *usage);
/* Parses a size with an optional K, M, G or T suffix (powers of 1024). */
bool tool_parse_size(const char *text, uint64_t *value_out);

int tool_demo(int argc, char **argv);
int tool_sizes(int argc, char **argv);
int tool_replay(int argc, char **argv);
int tool_draw(int argc, char **argv);
int tool_record(int argc, char **argv);

/* Writes the SVG picture of a replay to `path`; TOOL_OK or TOOL_FAILED. */
int tool_write_picture(const char *path, const char *title, const struct replay_result *result);

/* The options `replay` and `draw` share (draw adds --out); returns the index
 * of the trace argument, or 0 for bad usage. */
/* Replays the trace at `path` ('-': standard input) as replay_run does;
 * TOOL_FAILED (after perror) if it cannot be opened. */
int tool_replay_file(const char *path, const struct replay_options *options,
                     struct replay_result *result);
int tool_parse_replay_options(int argc, char **argv, struct replay_options *options, bool *json,
                              const char **out_path);

#endif
