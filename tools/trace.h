/* SPDX-License-Identifier: MIT */
/*
 * Allocation traces: the line format, its parser, and a replay engine that
 * runs a trace on a range or a heap and keeps what `replay` and `draw` show.
 *
 * The format, one operation per line ('#' starts a comment that runs to the end
 * of the line; blank lines are ignored):
 *
 *   a ID SIZE [ALIGN]   allocate SIZE units for ID (ALIGN: a power of two)
 *   f ID                free ID
 *   r ID SIZE [NEWID]   resize ID to SIZE (in place when the buddy allows, else
 *                       moved); NEWID: the name it goes by afterwards (a recorded
 *                       realloc that moved)
 *
 * ID is any word of up to 63 characters without blanks or '#' (a recorded trace
 * uses the program's pointers). Numbers are decimal, 0 to 2^64-1. Lines may be
 * of any length; a NUL byte in a line is an error.
 */
#ifndef BUDDY_TOOL_TRACE_H
#define BUDDY_TOOL_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buddy.h"
#include "tool.h"

#define TRACE_ID_SIZE 64 /* an ID's characters, with the NUL */

typedef struct trace_op {
    char kind; /* 'a', 'f' or 'r' */
    char id[TRACE_ID_SIZE];
    char new_id[TRACE_ID_SIZE]; /* 'r' only: the ID afterwards, or "" */
    uint64_t size, alignment;
} trace_op;

/* Parses one line: 1 and *op for an operation, 0 for a blank or comment
 * line, -1 with a message saying what was expected. */
int trace_parse_line(const char *line, trace_op *op, char *error, size_t error_size);

typedef struct replay_sample {
    uint64_t op, allocated, free_bytes, largest_free;
} replay_sample;

/* A block's life, for the time-vs-address picture. */
typedef struct replay_life {
    uint64_t offset, size, born, died; /* died: UINT64_MAX while live */
    uint64_t requested;                /* of size, what the trace asked for */
} replay_life;

/* A block of the final state, in address order. */
typedef struct replay_block {
    uint64_t offset, size;
    uint64_t requested; /* live blocks: what the trace asked for; free: 0 */
    bool is_live;
    bool is_reserved; /* a reservation (only in a dump: buddy draw --dump) */
} replay_block;

typedef struct replay_options { /* also declared in tool.h */
    uint64_t capacity, min_block_size;
    buddy_policy policy;
    bool heap;             /* replay through buddy_heap instead of buddy_range */
    bool step;             /* print the tree after every operation (small ranges) */
    uint64_t sample_every; /* operations between samples */
    FILE *errors;          /* where bad lines are reported; NULL means stderr */
    bool counts_only;      /* keep no samples, lives or blocks; stop at the first failure */
    tool_sizing sizing;    /* rounded blocks, exact runs or packed runs */
    const char *dump_path; /* if not NULL, write the final dump, map included, there */
    bool ideal;            /* replay on the ideal best-fit reference (ideal.h), not a range */
} replay_options;

typedef struct replay_result {
    uint64_t ops, allocs, frees, resizes, resized_in_place, failures;
    uint64_t first_failure_line;
    char first_failure[256];
    uint64_t requested_live, requested_peak; /* bytes the trace asked for: now, highest */
    uint64_t *failure_ops;                   /* the operation of each failed allocation */
    size_t failure_count;
    buddy_range_stats end;
    replay_sample *samples;
    size_t sample_count;
    replay_life *lives;
    size_t life_count;
    replay_block *blocks; /* the final state */
    size_t block_count;
    int check_status; /* buddy_range_check (or buddy_heap_check) at the end */
    char *end_dump;   /* the library's dump (buddy-range/1) at the end, without the map */
} replay_result;

/* Runs the trace from `input`. Returns TOOL_OK, or TOOL_BAD_TRACE after
 * printing "NAME:LINE: ..." for a malformed or inconsistent line, or
 * TOOL_FAILED if the allocator cannot be set up. */
int replay_run(FILE *input, const char *name, const replay_options *options, replay_result *result);
void replay_result_free(replay_result *result);

/* Reads a dump of schema buddy-range/1 with its block map into result's
 * final state (end, blocks) for the picture; TOOL_OK, TOOL_USAGE if the file
 * cannot be opened, TOOL_FAILED on a read error, TOOL_BAD_TRACE (with a
 * message naming the file) if it is not such a dump. Free with
 * replay_result_free. */
int tool_read_dump(const char *path, replay_result *result);

/* The smallest capacity, a multiple of the min block size, at which the trace
 * (a seekable file) replays without a failed allocation, found by doubling the
 * capacity in `options` and then a binary search; the capacity below it was
 * seen to fail. Placement makes failure not strictly monotone in capacity, so
 * this is the search's answer. Returns TOOL_OK and *capacity_out (0 if no
 * capacity up to replay_search_limit serves the trace), TOOL_FAILED or
 * TOOL_BAD_TRACE. Each step replays until the first failure. */
int replay_smallest_capacity(FILE *input, const replay_options *options, uint64_t *capacity_out);
/* The largest capacity the search tries: 2^28 min blocks (about 100 MB of
 * metadata, so no step takes long). */
uint64_t replay_search_limit(uint64_t min_block_size);

#endif /* BUDDY_TOOL_TRACE_H */
