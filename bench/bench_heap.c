/* SPDX-License-Identifier: MIT */
/*
 * Heap benchmark: W1 and W2 through buddy_heap_malloc/free and through the
 * malloc this binary is linked with (glibc, jemalloc or mimalloc: the same
 * source is built once per allocator), interleaved run by run by the shared
 * harness. Every allocation's first byte is written, as a real program would.
 *
 *   build-rel/bench/bench_heap_glibc [--ops N] [--runs N]   (also _jemalloc, _mimalloc)
 */
#include <stdio.h>
#include <stdlib.h>

#include "buddy.h"
#include "harness.h"
#include "workload.h"

#ifndef MALLOC_NAME
#define MALLOC_NAME "glibc"
#endif

/* ---- Our heap ---- */

/* The region is mapped once and reused by every run (bench_buffer_get), as a
 * long-running program's heap would be; each run builds a fresh heap in it. */
static bench_buffer region;

static void *heap_setup(const workload *w) {
    /* The capacity plus the heap's metadata and alignment. */
    size_t needed = (size_t)w->capacity + (size_t)w->capacity / 64 + (1u << 20);
    void *memory = bench_buffer_get(&region, needed);
    buddy_heap *heap = NULL;
    buddy_heap_config config = {
        (size_t)w->min_block_size, 0, BUDDY_DEFAULT_POLICY, 0, NULL, NULL, NULL};
    if (buddy_heap_init(&heap, memory, needed, &config) != BUDDY_OK) {
        fprintf(stderr, "cannot set up the heap\n");
        exit(1);
    }
    return heap;
}

static int heap_alloc(void *state, uint64_t size, uint64_t *handle) {
    char *pointer = buddy_heap_malloc(state, (size_t)size);
    if (pointer == NULL)
        return -1;
    *(volatile char *)pointer = 1;
    *handle = (uint64_t)(uintptr_t)pointer;
    return 0;
}

static void heap_release(void *state, uint64_t handle) {
    buddy_heap_free(state, (void *)(uintptr_t)handle);
}

static void heap_teardown(void *state) {
    buddy_heap_fini(state);
}

/* ---- The linked malloc ---- */

static void *malloc_setup(const workload *w) {
    (void)w;
    return NULL;
}

static int malloc_alloc(void *state, uint64_t size, uint64_t *handle) {
    (void)state;
    char *pointer = malloc((size_t)size);
    if (pointer == NULL)
        return -1;
    *(volatile char *)pointer = 1;
    *handle = (uint64_t)(uintptr_t)pointer;
    return 0;
}

static void malloc_release(void *state, uint64_t handle) {
    (void)state;
    free((void *)(uintptr_t)handle);
}

static const allocator allocators[] = {
    {"buddy heap", heap_setup, heap_alloc, heap_release, heap_teardown, NULL},
    {MALLOC_NAME " malloc", malloc_setup, malloc_alloc, malloc_release, NULL, NULL},
};

int main(int argc, char **argv) {
    size_t ops = 10000000;
    unsigned runs = 5;
    bench_parse_arguments(argc, argv, &ops, &runs, NULL, NULL);
    printf("buddy %s heap benchmark against %s malloc (median of %u runs after a warm-up)\n",
           buddy_version(), MALLOC_NAME, runs);
    workload w;
    workload_churn(&w, UINT64_C(1) << 30, 64, 0.5, ops, 1);
    bench_compare(allocators, 2, &w, runs, 1, MALLOC_NAME " / this");
    workload_destroy(&w);
    workload_fill_pairs(&w, UINT64_C(64) << 20, 64, 0.9, ops / 2, 2);
    bench_compare(allocators, 2, &w, runs, 1, MALLOC_NAME " / this");
    workload_destroy(&w);
    return 0;
}
