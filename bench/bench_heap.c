/* SPDX-License-Identifier: MIT */
/*
 * Heap benchmark: W1 and W2 through buddy_heap_malloc/free (plain, and with
 * BUDDY_HEAP_THREAD_SAFE's thread cache on one thread) and through the
 * malloc this binary is linked with (glibc, jemalloc or mimalloc: the same
 * source is built once per allocator), interleaved run by run by the shared
 * harness (pointers.c).
 *
 *   build-rel/bench/bench_heap_glibc [--ops N] [--runs N]   (also _jemalloc, _mimalloc)
 */
#include <stdio.h>
#include <stdlib.h>

#include "buddy.h"
#include "harness.h"
#include "pointers.h"
#include "workload.h"

#ifndef MALLOC_NAME
#define MALLOC_NAME "glibc"
#endif

static void *heap_setup(const workload *w) {
    return pointers_heap_setup(w, 0);
}
static void *cached_heap_setup(const workload *w) {
    return pointers_heap_setup(w, BUDDY_HEAP_THREAD_SAFE);
}

static const allocator allocators[] = {
    {"buddy heap", heap_setup, pointers_heap_alloc, pointers_heap_release, pointers_heap_teardown,
     NULL},
    {"buddy heap (caches)", cached_heap_setup, pointers_heap_alloc, pointers_heap_release,
     pointers_heap_teardown, NULL},
    {MALLOC_NAME " malloc", pointers_malloc_setup, pointers_malloc_alloc, pointers_malloc_release,
     NULL, NULL},
};

int main(int argc, char **argv) {
    size_t ops = 10000000;
    unsigned runs = 5;
    bench_parse_arguments(argc, argv, &ops, &runs, NULL, NULL);
    printf("buddy %s heap benchmark against %s malloc (median of %u runs after a warm-up)\n",
           buddy_version(), MALLOC_NAME, runs);
    workload w;
    workload_churn(&w, UINT64_C(1) << 30, 64, 0.5, ops, 1);
    bench_compare(allocators, 3, &w, runs, 2, MALLOC_NAME " / this");
    workload_destroy(&w);
    workload_fill_pairs(&w, UINT64_C(64) << 20, 64, 0.9, ops / 2, 2);
    bench_compare(allocators, 3, &w, runs, 2, MALLOC_NAME " / this");
    workload_destroy(&w);
    return 0;
}
