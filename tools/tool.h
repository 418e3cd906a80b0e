/* SPDX-License-Identifier: MIT */
/* Shared pieces of the `buddy` command's subcommands. */
#ifndef BUDDY_TOOL_H
#define BUDDY_TOOL_H

#include <stdbool.h>

#include "buddy.h"

/* Exit codes of the command (documented in `buddy --help`). */
enum { TOOL_OK = 0, TOOL_FAILED = 1, TOOL_USAGE = 2 };

bool tool_is_help(const char *argument);
/* Prints "buddy WHAT: <status name>" on stderr; returns TOOL_FAILED. */
int tool_fail(const char *what, int status);
void tool_print_stats(const buddy_range_stats *stats);

int tool_demo(int argc, char **argv);

#endif
