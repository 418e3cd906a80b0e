/* SPDX-License-Identifier: MIT */
/*
 * W5: the latency of each operation during W1, as percentiles: our range
 * (best fit, exact and packed runs, and best fit behind its built-in lock with one
 * thread), our heap, and the malloc this binary is linked with (glibc,
 * jemalloc or mimalloc, as bench_heap). Each operation is timed alone with
 * the CPU's time-stamp counter (clock_gettime where there is none), converted
 * to ns by a calibration against the monotonic clock; the cost of reading the
 * counter twice is measured and subtracted. One warm-up, then `runs` runs;
 * the percentiles are over all timed operations of all runs. The harness
 * alone is a row: its tail is this machine's (interrupts, the hypervisor),
 * under every other row's. It ends with what one cache miss costs on this
 * machine, the floor of a cold operation.
 *
 *   build-rel/bench/bench_latency_glibc [--ops N] [--runs N]   (also _jemalloc, _mimalloc)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "buddy.h"
#include "cached.h"
#include "harness.h"
#include "pointers.h"
#include "workload.h"

#ifndef MALLOC_NAME
#define MALLOC_NAME "glibc"
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
static inline uint64_t ticks(void) {
    return __rdtsc();
}
#else
static inline uint64_t ticks(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}
#endif

static double seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

/* Nanoseconds per tick, over 100 ms. */
static double calibrate(void) {
    double start = seconds();
    uint64_t first = ticks();
    while (seconds() - start < 0.1) {
    }
    return (seconds() - start) * 1e9 / (double)(ticks() - first);
}

static void *range_setup(const workload *w) {
    return bench_range_setup(w, 0);
}
static void *locked_range_setup(const workload *w) {
    return bench_range_setup(w, BUDDY_RANGE_THREAD_SAFE);
}
static int range_alloc(void *state, uint64_t size, uint64_t *handle) {
    return buddy_range_alloc(state, size, handle);
}
static int range_alloc_exact(void *state, uint64_t size, uint64_t *handle) {
    return buddy_range_alloc_exact(state, size, handle);
}
static int range_alloc_packed(void *state, uint64_t size, uint64_t *handle) {
    return buddy_range_alloc_packed(state, size, handle);
}
static void range_release(void *state, uint64_t handle) {
    buddy_range_free(state, handle);
}
static void *heap_setup(const workload *w) {
    return pointers_heap_setup(w, 0);
}
static void *cached_heap_setup(const workload *w) {
    return pointers_heap_setup(w, BUDDY_HEAP_THREAD_SAFE);
}

static const allocator allocators[] = {
    {"buddy best-fit", range_setup, range_alloc, range_release, NULL, NULL},
    {"buddy exact", range_setup, range_alloc_exact, range_release, NULL, NULL},
    {"buddy packed", range_setup, range_alloc_packed, range_release, NULL, NULL},
    {"buddy best-fit+lock", locked_range_setup, range_alloc, range_release, NULL, NULL},
    {"buddy cached", cached_range_setup, cached_range_alloc, cached_range_release,
     cached_range_teardown, NULL},
    {"buddy heap", heap_setup, pointers_heap_alloc, pointers_heap_release, pointers_heap_teardown,
     NULL},
    {"buddy heap (caches)", cached_heap_setup, pointers_heap_alloc, pointers_heap_release,
     pointers_heap_teardown, NULL},
    {MALLOC_NAME " malloc", pointers_malloc_setup, pointers_malloc_alloc, pointers_malloc_release,
     NULL, NULL},
    {"(harness alone)", bench_harness_setup, bench_harness_alloc, bench_harness_release, NULL,
     NULL},
};
#define ALLOCATOR_COUNT (sizeof allocators / sizeof allocators[0])

/* Runs w through a, storing each timed op's ticks (less `overhead`) at
 * samples[0..op_count). */
static void run(const allocator *a, const workload *w, uint64_t *handles, uint64_t *samples,
                uint64_t overhead) {
    void *state = a->setup(w);
    for (uint32_t s = 0; s < w->slot_count; s++)
        handles[s] = NO_HANDLE;
    for (size_t i = 0; i < w->op_count; i++) {
        const op *o = &w->ops[i];
        uint64_t before = ticks();
        if (!o->is_free) {
            if (a->alloc(state, o->size, &handles[o->slot]) != 0)
                handles[o->slot] = NO_HANDLE;
        } else if (handles[o->slot] != NO_HANDLE) {
            a->release(state, handles[o->slot]);
            handles[o->slot] = NO_HANDLE;
        }
        uint64_t spent = ticks() - before;
        samples[i] = spent > overhead ? spent - overhead : 0;
    }
    for (uint32_t s = 0; s < w->slot_count; s++)
        if (handles[s] != NO_HANDLE)
            a->release(state, handles[s]);
    if (a->teardown != NULL)
        a->teardown(state);
}

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static const double points[] = {0.5, 0.9, 0.99, 0.999, 0.9999};

/* Sorts `count` samples and prints the percentiles and the maximum in ns. */
static void print_percentiles(const char *name, uint64_t *samples, size_t count,
                              double ns_per_tick) {
    qsort(samples, count, sizeof(uint64_t), compare_u64);
    printf("  %-22s", name);
    for (size_t p = 0; p < sizeof points / sizeof points[0]; p++)
        printf(" %8.0f", (double)samples[(size_t)(points[p] * (double)(count - 1))] * ns_per_tick);
    printf(" %10.0f\n", (double)samples[count - 1] * ns_per_tick);
}

static volatile size_t chase_end; /* where miss_ns's chase ended */

/* The ns of one load that misses every cache: a chase of dependent loads
 * through `bytes` of memory, one per 64-byte line, in a random cycle. The
 * floor under any operation that must read a cold line of its metadata. */
static double miss_ns(size_t bytes) {
    size_t lines = bytes / 64, *next = malloc(lines * 64);
    if (next == NULL)
        return 0;
    size_t *order = malloc(lines * sizeof *order);
    if (order == NULL) {
        free(next);
        return 0;
    }
    uint64_t seed = 5;
    for (size_t i = 0; i < lines; i++)
        order[i] = i;
    for (size_t i = lines - 1; i > 0; i--) { /* Fisher-Yates */
        size_t j = (size_t)(workload_random(&seed) % (i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (size_t i = 0; i < lines; i++)
        next[order[i] * 8] = order[(i + 1) % lines] * 8;
    free(order);
    enum { LOADS = 4000000 };
    size_t at = 0;
    double start = seconds();
    for (int i = 0; i < LOADS; i++)
        at = next[at];
    double ns = (seconds() - start) * 1e9 / LOADS;
    chase_end = at; /* so that the chase is not optimised away */
    free(next);
    return ns;
}

static void print_header(const char *first) {
    printf("  %-22s %8s %8s %8s %8s %8s %10s   (ns)\n", first, "p50", "p90", "p99", "p99.9",
           "p99.99", "max");
}

int main(int argc, char **argv) {
    size_t ops = 2000000;
    unsigned runs = 3;
    bench_parse_arguments(argc, argv, &ops, &runs, NULL, NULL);
    double ns_per_tick = calibrate();
    uint64_t overhead = UINT64_MAX;
    for (int i = 0; i < 1000; i++) { /* the least cost of two reads */
        uint64_t before = ticks(), spent = ticks() - before;
        overhead = spent < overhead ? spent : overhead;
    }
    workload w;
    workload_churn(&w, UINT64_C(1) << 30, 64, 0.5, ops, 1);
    uint64_t *handles = malloc(w.slot_count * sizeof *handles);
    uint64_t *samples[ALLOCATOR_COUNT];
    for (size_t a = 0; a < ALLOCATOR_COUNT; a++) {
        samples[a] = malloc(ops * runs * sizeof(uint64_t));
        if (samples[a] == NULL || handles == NULL)
            return 1;
    }
    printf("W5: latency per operation during W1 (%zu ops x %u runs, %.3f ns per tick, "
           "%llu ticks of overhead subtracted)\n",
           ops, runs, ns_per_tick, (unsigned long long)overhead);
    for (unsigned r = 0; r <= runs; r++) /* run 0 warms up, overwritten by run 1 */
        for (size_t a = 0; a < ALLOCATOR_COUNT; a++)
            run(&allocators[a], &w, handles, samples[a] + (r == 0 ? 0 : (r - 1) * ops), overhead);
    print_header("allocator");
    for (size_t a = 0; a < ALLOCATOR_COUNT; a++)
        print_percentiles(allocators[a].name, samples[a], ops * runs, ns_per_tick);
    free(handles);
    workload_destroy(&w);

    /* Best fit's tail by capacity: the same size mix on smaller ranges, whose
     * metadata (3.06 bits a min block) stays in nearer caches. */
    printf("\nW5 for best fit by capacity (the same sizes and share live)\n");
    print_header("capacity");
    for (unsigned shift = 24; shift <= 30; shift += 2) {
        workload_churn(&w, UINT64_C(1) << shift, 64, 0.5, ops, 1);
        handles = malloc(w.slot_count * sizeof *handles);
        if (handles == NULL)
            return 1;
        for (unsigned r = 0; r <= runs; r++)
            run(&allocators[0], &w, handles, samples[0] + (r == 0 ? 0 : (r - 1) * ops), overhead);
        char name[32];
        snprintf(name, sizeof name, "%u MiB", 1u << (shift - 20));
        print_percentiles(name, samples[0], ops * runs, ns_per_tick);
        free(handles);
        workload_destroy(&w);
    }
    for (size_t a = 0; a < ALLOCATOR_COUNT; a++)
        free(samples[a]);
    printf("\nOne load that misses every cache (random dependent loads over 256 MiB): %.0f ns\n",
           miss_ns((size_t)256 << 20));
    return 0;
}
