/* SPDX-License-Identifier: MIT */
/*
 * Workloads as pre-generated operation lists, so every allocator under test
 * runs exactly the same calls. An op allocates `size` units into a slot or
 * frees the slot; ops before `timed_from` are set-up and are not timed.
 */
#ifndef BUDDY_BENCH_WORKLOAD_H
#define BUDDY_BENCH_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

typedef struct op {
    uint32_t slot;
    uint32_t is_free;
    uint64_t size;
} op;

typedef struct workload {
    const char *name;
    uint64_t capacity;
    uint64_t min_block_size;
    op *ops;
    size_t op_count;
    size_t timed_from;
    uint32_t slot_count; /* slots used: size the handle table with it */
    unsigned repeat;     /* times the op list runs per measurement */
} workload;

/* W1: churn on `capacity` with log-uniform sizes 64 B..64 KiB (rounded to
 * powers of two of min blocks, about `live_fraction` of the capacity live). */
void workload_churn(workload *w, uint64_t capacity, uint64_t min_block, double live_fraction,
                    size_t op_count, uint64_t seed);
/* W2: fill with min blocks to `fill_fraction`, then random free/alloc pairs. */
void workload_fill_pairs(workload *w, uint64_t capacity, uint64_t min_block, double fill_fraction,
                         size_t pair_count, uint64_t seed);
/* W4: the seed's test_fuzz pattern on 1024 units (sizes 1..largest free
 * block, alloc biases 0.25, 0.5, 0.75, then free all), replayed `repeat`
 * times. Sizes come from a first-fit range, which is the seed's placement. */
void workload_seed_fuzz(workload *w, uint64_t seed, unsigned repeat);
void workload_destroy(workload *w);

uint64_t workload_random(uint64_t *state);

#endif /* BUDDY_BENCH_WORKLOAD_H */
