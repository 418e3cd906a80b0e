/* SPDX-License-Identifier: MIT */
/*
 * The pointer allocators the heap benchmarks share (pointers.c): our heap and
 * the malloc a benchmark binary is linked with, as harness allocators. Every
 * allocation's first byte is written, as a real program would.
 */
#ifndef BUDDY_BENCH_POINTERS_H
#define BUDDY_BENCH_POINTERS_H

#include "harness.h"

/* Our heap over w->capacity bytes of a region mapped once and reused by every
 * run, as a long-running program's heap would be; each run builds a fresh
 * heap in it, with `flags` (enum buddy_heap_flags, or POINTERS_MUTEX: one
 * pthread mutex as the heap's lock hooks). Exits on failure. */
#define POINTERS_MUTEX (1u << 31)
void *pointers_heap_setup(const workload *w, unsigned flags);
int pointers_heap_alloc(void *state, uint64_t size, uint64_t *handle);
void pointers_heap_release(void *state, uint64_t handle);
void pointers_heap_teardown(void *state);

/* The linked malloc: no state. */
void *pointers_malloc_setup(const workload *w);
int pointers_malloc_alloc(void *state, uint64_t size, uint64_t *handle);
void pointers_malloc_release(void *state, uint64_t handle);

#endif /* BUDDY_BENCH_POINTERS_H */
