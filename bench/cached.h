/* SPDX-License-Identifier: MIT */
/*
 * A range with caches in front of it (cached.c), as a harness allocator:
 * each thread that calls it gets its own cache on its first call; teardown
 * gives every cache back and ends the pool. The range has no lock of its
 * own: the pool's lock serialises the caches' refills and drains.
 */
#ifndef BUDDY_BENCH_CACHED_H
#define BUDDY_BENCH_CACHED_H

#include "harness.h"

void *cached_range_setup(const workload *w);
int cached_range_alloc(void *state, uint64_t size, uint64_t *handle);
void cached_range_release(void *state, uint64_t handle);
void cached_range_teardown(void *state);

#endif /* BUDDY_BENCH_CACHED_H */
