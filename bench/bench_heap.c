/* SPDX-License-Identifier: MIT */
/*
 * Heap benchmark: W1 and W2 through buddy_heap_malloc/free and through the
 * malloc this binary is linked with (glibc, jemalloc or mimalloc: the same
 * source is built once per allocator), interleaved run by run. Every
 * allocation's first byte is written, as a real program would. One warm-up,
 * then `runs` measurements; prints median ns/op.
 *
 *   build-rel/bench/bench_heap_glibc [--ops N] [--runs N]   (also _jemalloc, _mimalloc)
 */
#define _DEFAULT_SOURCE /* mmap's MAP_ANONYMOUS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "buddy.h"
#include "workload.h"

#ifndef MALLOC_NAME
#define MALLOC_NAME "glibc"
#endif

#define NO_HANDLE NULL

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

typedef struct heap_under_test {
    buddy_heap *heap; /* NULL: the linked malloc */
} heap_under_test;

static void *take(const heap_under_test *h, size_t size) {
    return h->heap != NULL ? buddy_heap_malloc(h->heap, size) : malloc(size);
}

static void give_back(const heap_under_test *h, void *pointer) {
    if (h->heap != NULL)
        buddy_heap_free(h->heap, pointer);
    else
        free(pointer);
}

/* One pass over the workload; returns ns per timed op, counts failures. */
static double run_once(const heap_under_test *h, const workload *w, void **handles,
                       unsigned long *failures) {
    for (uint32_t slot = 0; slot < w->slot_count; slot++)
        handles[slot] = NO_HANDLE;
    double started = 0;
    for (size_t i = 0; i < w->op_count; i++) {
        if (i == w->timed_from)
            started = now_ns();
        const op *o = &w->ops[i];
        if (o->is_free) {
            if (handles[o->slot] != NO_HANDLE)
                give_back(h, handles[o->slot]);
            handles[o->slot] = NO_HANDLE;
        } else if ((handles[o->slot] = take(h, (size_t)o->size)) != NULL) {
            *(volatile char *)handles[o->slot] = 1;
        } else {
            (*failures)++;
        }
    }
    double elapsed = now_ns() - started;
    for (uint32_t slot = 0; slot < w->slot_count; slot++)
        if (handles[slot] != NO_HANDLE)
            give_back(h, handles[slot]);
    return elapsed / (double)(w->op_count - w->timed_from);
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void bench(const workload *w, unsigned runs) {
    /* The region holds the capacity plus the heap's metadata and alignment. */
    size_t region_size = (size_t)w->capacity + (size_t)w->capacity / 64 + (1u << 20);
    void *region =
        mmap(NULL, region_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    buddy_heap_config config = {
        (size_t)w->min_block_size, 0, BUDDY_DEFAULT_POLICY, 0, NULL, NULL, NULL};
    heap_under_test ours = {NULL}, theirs = {NULL};
    if (region == MAP_FAILED ||
        buddy_heap_init(&ours.heap, region, region_size, &config) != BUDDY_OK) {
        fprintf(stderr, "cannot set up the heap\n");
        exit(1);
    }
    void **handles = malloc(w->slot_count * sizeof *handles);
    double samples[2][32];
    unsigned long failures[2] = {0, 0};
    run_once(&ours, w, handles, &failures[0]); /* warm-up: also faults the pages in */
    run_once(&theirs, w, handles, &failures[1]);
    failures[0] = failures[1] = 0;
    for (unsigned r = 0; r < runs; r++) {
        samples[0][r] = run_once(&ours, w, handles, &failures[0]);
        samples[1][r] = run_once(&theirs, w, handles, &failures[1]);
    }
    printf("\n%s: capacity %llu, min block %llu, %zu timed ops, %u runs\n", w->name,
           (unsigned long long)w->capacity, (unsigned long long)w->min_block_size,
           w->op_count - w->timed_from, runs);
    const char *names[2] = {"buddy heap", MALLOC_NAME " malloc"};
    for (int a = 0; a < 2; a++) {
        qsort(samples[a], runs, sizeof samples[a][0], compare_doubles);
        printf("  %-18s %8.1f ns/op  (%.1f..%.1f)  failed %lu\n", names[a], samples[a][runs / 2],
               samples[a][0], samples[a][runs - 1], failures[a] / runs);
    }
    free(handles);
    buddy_heap_fini(ours.heap);
    munmap(region, region_size);
}

int main(int argc, char **argv) {
    size_t ops = 10000000;
    unsigned runs = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc)
            ops = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = (unsigned)strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: %s [--ops N] [--runs N (1..31)]\n", argv[0]);
            return 2;
        }
    }
    if (runs < 1 || runs > 31 || ops < 2) {
        fprintf(stderr, "runs must be 1..31 and ops at least 2\n");
        return 2;
    }
    printf("buddy %s heap benchmark against %s malloc (median of %u runs after a warm-up)\n",
           buddy_version(), MALLOC_NAME, runs);
    workload w;
    workload_churn(&w, UINT64_C(1) << 30, 64, 0.5, ops, 1);
    bench(&w, runs);
    workload_destroy(&w);
    workload_fill_pairs(&w, UINT64_C(64) << 20, 64, 0.9, ops / 2, 2);
    bench(&w, runs);
    workload_destroy(&w);
    return 0;
}
