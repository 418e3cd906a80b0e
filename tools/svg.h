/* SPDX-License-Identifier: MIT */
/*
 * Plain SVG pictures of a replay: the memory map as a bar, the buddy tree as
 * an icicle (small ranges), and a time-vs-address map of every block's life.
 */
#ifndef BUDDY_TOOL_SVG_H
#define BUDDY_TOOL_SVG_H

#include <stdio.h>

#include "trace.h"

/* Writes the whole picture of a replay result to `out`. `title` heads it. */
void svg_write_replay(FILE *out, const char *title, const replay_result *result);

/* Writes the memory map of a range's state (a dump read by tool_read_dump). */
void svg_write_map(FILE *out, const char *title, const replay_result *result);

#endif /* BUDDY_TOOL_SVG_H */
