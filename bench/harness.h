/* SPDX-License-Identifier: MIT */
/*
 * The measuring harness the benchmarks share: an allocator under test is a
 * small table of functions; a workload runs through it with only its timed
 * ops timed; bench_compare measures several allocators interleaved (each run
 * measures them all in turn, so a noisy moment of the machine hits all of
 * them alike) and prints medians with ratios to a baseline.
 */
#ifndef BUDDY_BENCH_HARNESS_H
#define BUDDY_BENCH_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "workload.h"

#define NO_HANDLE UINT64_MAX

typedef struct allocator {
    const char *name;
    void *(*setup)(const workload *w);
    int (*alloc)(void *state, uint64_t size, uint64_t *handle); /* 0 on success */
    void (*release)(void *state, uint64_t handle);
    void (*teardown)(void *state);                   /* NULL: nothing to undo */
    double (*bits_per_min_block)(const workload *w); /* NULL: not applicable */
} allocator;

/* Memory an allocator under test keeps for the whole process: mapped on first
 * use, remapped larger if a workload needs more, and otherwise reused by every
 * run, as a long-running program keeps its heap. The warm-up faults it in.
 * (Fresh memory per run made a run's speed depend on which pages the kernel
 * handed out: up to 1.8x on the test VM right after another run freed 128 MB.)
 * Exits if the memory cannot be mapped. */
typedef struct bench_buffer {
    void *base;
    size_t size;
} bench_buffer;
void *bench_buffer_get(bench_buffer *buffer, size_t size);

/* Prints a table of `count` allocators on `w`: median ns/op over `runs`
 * (1..31) after a warm-up, spread, failures, metadata bits, and the ratio
 * baseline / this, headed `ratio_title`. */
void bench_compare(const allocator *allocators, size_t count, const workload *w, unsigned runs,
                   size_t baseline, const char *ratio_title);

/* A best-fit range over w's capacity and min block with `flags` (enum
 * buddy_range_flags), its metadata in one buffer kept for the process.
 * Exits on failure. */
void *bench_range_setup(const workload *w, unsigned flags);

/* The harness alone, as an allocator: it hands out distinct handles and
 * frees nothing, so what its row measures is the harness's own cost (the op
 * list, the handle table, the calls), which every other row includes too. */
void *bench_harness_setup(const workload *w);
int bench_harness_alloc(void *state, uint64_t size, uint64_t *handle);
void bench_harness_release(void *state, uint64_t handle);

/* Sorts `count` values in increasing order (for medians and spreads). */
void bench_sort(double *values, size_t count);

/* Parses --ops N and --runs N (and reports whether `flag` was given, if not
 * NULL); exits with a usage message on anything else. */
void bench_parse_arguments(int argc, char **argv, size_t *ops, unsigned *runs, const char *flag,
                           int *flag_given);

#endif /* BUDDY_BENCH_HARNESS_H */
