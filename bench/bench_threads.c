/* SPDX-License-Identifier: MIT */
/*
 * W6: threads churn W1-style (log-uniform 64 B..64 KiB, about half live),
 * each on its own handles, against one shared allocator: the malloc this
 * binary is linked with (glibc, jemalloc or mimalloc, as bench_heap), our heap
 * with one mutex as its lock hooks, our heap with BUDDY_HEAP_THREAD_SAFE (a
 * cache per thread), our range with
 * BUDDY_RANGE_THREAD_SAFE (its futex lock word) and our range with a cache
 * per thread in front of it. Each thread runs its own
 * pre-generated op list on 1 GiB / threads of the capacity, so the work per
 * thread is the same at every thread count. Prints the total throughput with
 * 1 and with N threads (medians of interleaved runs) and their ratio.
 *
 *   build-rel/bench/bench_threads_glibc [--ops N per thread] [--runs N] [--threads N]
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buddy.h"
#include "cached.h"
#include "harness.h"
#include "pointers.h"
#include "workload.h"

#ifndef MALLOC_NAME
#define MALLOC_NAME "glibc"
#endif

#define MAX_THREADS 16
#define CAPACITY (UINT64_C(1) << 30)
#define MIN_BLOCK 64u

static void *locked_heap_setup(const workload *w) {
    return pointers_heap_setup(w, POINTERS_MUTEX);
}
static void *heap_setup(const workload *w) {
    return pointers_heap_setup(w, BUDDY_HEAP_THREAD_SAFE);
}

static void *range_setup(const workload *w) {
    return bench_range_setup(w, BUDDY_RANGE_THREAD_SAFE);
}
static int range_alloc(void *state, uint64_t size, uint64_t *handle) {
    return buddy_range_alloc(state, size, handle);
}
static void range_release(void *state, uint64_t handle) {
    buddy_range_free(state, handle);
}

static const allocator allocators[] = {
    {MALLOC_NAME " malloc", pointers_malloc_setup, pointers_malloc_alloc, pointers_malloc_release,
     NULL, NULL},
    {"buddy heap (mutex)", locked_heap_setup, pointers_heap_alloc, pointers_heap_release,
     pointers_heap_teardown, NULL},
    {"buddy heap (caches)", heap_setup, pointers_heap_alloc, pointers_heap_release,
     pointers_heap_teardown, NULL},
    {"buddy range (lock)", range_setup, range_alloc, range_release, NULL, NULL},
    {"buddy range (caches)", cached_range_setup, cached_range_alloc, cached_range_release,
     cached_range_teardown, NULL},
};
#define ALLOCATOR_COUNT (sizeof allocators / sizeof allocators[0])

typedef struct thread_run {
    const allocator *a;
    void *state;
    const workload *w;
    uint64_t *handles;
    pthread_barrier_t *start;
} thread_run;

static void *run_thread(void *argument) {
    thread_run *t = argument;
    for (uint32_t s = 0; s < t->w->slot_count; s++)
        t->handles[s] = NO_HANDLE;
    pthread_barrier_wait(t->start);
    for (size_t i = 0; i < t->w->op_count; i++) {
        const op *o = &t->w->ops[i];
        if (!o->is_free) {
            if (t->a->alloc(t->state, o->size, &t->handles[o->slot]) != 0)
                t->handles[o->slot] = NO_HANDLE;
        } else if (t->handles[o->slot] != NO_HANDLE) {
            t->a->release(t->state, t->handles[o->slot]);
            t->handles[o->slot] = NO_HANDLE;
        }
    }
    pthread_barrier_wait(t->start); /* the end of the timed part */
    for (uint32_t s = 0; s < t->w->slot_count; s++)
        if (t->handles[s] != NO_HANDLE)
            t->a->release(t->state, t->handles[s]);
    return NULL;
}

static double seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

/* One measurement: `threads` threads, each with its own list; Mops/s total,
 * from the start barrier to the last op of the slowest thread (the end
 * barrier; each thread frees what it still holds after it). */
static double measure(const allocator *a, workload *lists, unsigned threads) {
    workload whole = lists[0];
    whole.capacity = CAPACITY;
    void *state = a->setup(&whole);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, threads + 1);
    thread_run runs[MAX_THREADS];
    pthread_t ids[MAX_THREADS];
    size_t ops = 0;
    for (unsigned t = 0; t < threads; t++) {
        runs[t] = (thread_run){a, state, &lists[t], malloc(lists[t].slot_count * sizeof(uint64_t)),
                               &start};
        ops += lists[t].op_count;
        if (runs[t].handles == NULL || pthread_create(&ids[t], NULL, run_thread, &runs[t]) != 0)
            exit(1);
    }
    pthread_barrier_wait(&start);
    double begin = seconds();
    pthread_barrier_wait(&start);
    double elapsed = seconds() - begin;
    for (unsigned t = 0; t < threads; t++) {
        pthread_join(ids[t], NULL);
        free(runs[t].handles);
    }
    pthread_barrier_destroy(&start);
    if (a->teardown != NULL)
        a->teardown(state);
    return (double)ops / elapsed / 1e6;
}

int main(int argc, char **argv) {
    size_t ops = 2000000;
    unsigned runs = 5, most = 2;
    for (int i = 1; i < argc; i++) { /* --threads N, then the common options */
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            most = (unsigned)strtoul(argv[i + 1], NULL, 10);
            memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 2) * sizeof argv[0]);
            argc -= 2;
            i--;
        }
    }
    bench_parse_arguments(argc, argv, &ops, &runs, NULL, NULL);
    if (most < 1 || most > MAX_THREADS) {
        fprintf(stderr, "threads must be 1..%d\n", MAX_THREADS);
        return 2;
    }
    printf("W6: threads churning W1 on one shared allocator, %zu ops per thread, 1 GiB, "
           "median of %u interleaved runs\n",
           ops, runs);
    unsigned counts[2] = {1, most};
    workload lists[2][MAX_THREADS];
    for (unsigned c = 0; c < 2; c++)
        for (unsigned t = 0; t < counts[c]; t++)
            workload_churn(&lists[c][t], CAPACITY / counts[c], MIN_BLOCK, 0.5, ops, 1 + t);
    double samples[ALLOCATOR_COUNT][2][31];
    for (unsigned run = 0; run <= runs; run++) /* run 0 warms up */
        for (size_t a = 0; a < ALLOCATOR_COUNT; a++)
            for (unsigned c = 0; c < 2; c++) {
                double mops = measure(&allocators[a], lists[c], counts[c]);
                if (run > 0)
                    samples[a][c][run - 1] = mops;
            }
    printf("  %-22s %12s %12s %8s\n", "allocator", "1 thread", "threads", "ratio");
    for (size_t a = 0; a < ALLOCATOR_COUNT; a++) {
        double median[2];
        for (unsigned c = 0; c < 2; c++) {
            bench_sort(samples[a][c], runs);
            median[c] = samples[a][c][runs / 2];
        }
        printf("  %-22s %9.1f M/s %6.1f M/s %7.2fx  (%u threads)\n", allocators[a].name, median[0],
               median[1], median[1] / median[0], most);
    }
    for (unsigned c = 0; c < 2; c++)
        for (unsigned t = 0; t < counts[c]; t++)
            workload_destroy(&lists[c][t]);
    return 0;
}
