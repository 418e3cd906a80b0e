/* SPDX-License-Identifier: MIT */
/* The benchmarks' measuring harness (harness.h). */
#define _DEFAULT_SOURCE /* clock_gettime, MAP_ANONYMOUS */
#include "harness.h"

#include "buddy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

void *bench_buffer_get(bench_buffer *buffer, size_t size) {
    if (size > buffer->size) {
        if (buffer->base != NULL)
            munmap(buffer->base, buffer->size);
        buffer->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (buffer->base == MAP_FAILED) {
            fprintf(stderr, "cannot map %zu bytes\n", size);
            exit(1);
        }
        buffer->size = size;
    }
    return buffer->base;
}

typedef struct measurement {
    double ns_per_op;
    uint64_t failures;
} measurement;

/* Runs the workload once; only ops from timed_from on are timed. */
static measurement run_once(const allocator *a, const workload *w, uint64_t *handles) {
    measurement m = {0, 0};
    void *state = a->setup(w);
    double elapsed = 0;
    for (unsigned round = 0; round < w->repeat; round++) {
        for (uint32_t slot = 0; slot < w->slot_count; slot++)
            handles[slot] = NO_HANDLE;
        double started = 0;
        for (size_t i = 0; i < w->op_count; i++) {
            if (i == w->timed_from)
                started = now_ns();
            const op *o = &w->ops[i];
            if (o->is_free) {
                if (handles[o->slot] != NO_HANDLE)
                    a->release(state, handles[o->slot]);
                handles[o->slot] = NO_HANDLE;
            } else if (a->alloc(state, o->size, &handles[o->slot]) != 0) {
                handles[o->slot] = NO_HANDLE;
                m.failures++;
            }
        }
        elapsed += now_ns() - started;
        for (uint32_t slot = 0; slot < w->slot_count; slot++)
            if (handles[slot] != NO_HANDLE)
                a->release(state, handles[slot]);
    }
    if (a->teardown != NULL)
        a->teardown(state);
    m.ns_per_op = elapsed / ((double)(w->op_count - w->timed_from) * w->repeat);
    return m;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void *bench_range_setup(const workload *w, unsigned flags) {
    static bench_buffer metadata;
    buddy_range_config config = {
        w->capacity, w->capacity, w->min_block_size, BUDDY_BEST_FIT, flags, NULL, NULL, NULL};
    size_t size = buddy_range_metadata_size_config(&config);
    buddy_range *range = NULL;
    if (buddy_range_init_config(&range, bench_buffer_get(&metadata, size), size, &config) !=
        BUDDY_OK)
        exit(1);
    return range;
}

static uint64_t next_handle;

void *bench_harness_setup(const workload *w) {
    (void)w;
    next_handle = 0;
    return &next_handle;
}

int bench_harness_alloc(void *state, uint64_t size, uint64_t *handle) {
    (void)size;
    *handle = (*(uint64_t *)state)++;
    return 0;
}

void bench_harness_release(void *state, uint64_t handle) {
    (void)state;
    (void)handle;
}

void bench_sort(double *values, size_t count) {
    qsort(values, count, sizeof values[0], compare_doubles);
}

/* Measures every allocator on the workload, interleaved: each run measures
 * them all in turn, so a noisy moment of the machine hits all of them alike
 * and the ratios stay meaningful. */
void bench_compare(const allocator *allocators, size_t count, const workload *w, unsigned runs,
                   size_t baseline, const char *ratio_title) {
    uint64_t *handles = malloc(w->slot_count * sizeof *handles);
    enum { MOST = 16 };
    double samples[MOST][32];
    uint64_t failures[MOST];
    if (count > MOST) {
        fprintf(stderr, "bench_compare: at most %d allocators\n", MOST);
        exit(2);
    }
    printf("\n%s: capacity %llu, min block %llu, %zu timed ops x %u, %u runs\n", w->name,
           (unsigned long long)w->capacity, (unsigned long long)w->min_block_size,
           w->op_count - w->timed_from, w->repeat, runs);
    for (size_t a = 0; a < count; a++) /* warm-up */
        failures[a] = run_once(&allocators[a], w, handles).failures;
    for (unsigned r = 0; r < runs; r++)
        for (size_t a = 0; a < count; a++)
            samples[a][r] = run_once(&allocators[a], w, handles).ns_per_op;

    int width = 16; /* the longest allocator name */
    for (size_t a = 0; a < count; a++)
        if ((int)strlen(allocators[a].name) > width)
            width = (int)strlen(allocators[a].name);
    printf("  %-*s %10s %19s %9s %10s %12s\n", width, "allocator", "ns/op", "(min..max)", "failed",
           "bits/minb", ratio_title);
    double medians[MOST];
    for (size_t a = 0; a < count; a++) {
        bench_sort(samples[a], runs);
        medians[a] = samples[a][runs / 2];
    }
    for (size_t a = 0; a < count; a++) {
        char bits_text[16] = "-";
        if (allocators[a].bits_per_min_block != NULL)
            snprintf(bits_text, sizeof bits_text, "%.3f", allocators[a].bits_per_min_block(w));
        printf("  %-*s %10.1f %8.1f..%-8.1f %9llu %10s %11.2fx\n", width, allocators[a].name,
               medians[a], samples[a][0], samples[a][runs - 1], (unsigned long long)failures[a],
               bits_text, medians[baseline] / medians[a]);
    }
    free(handles);
}

void bench_parse_arguments(int argc, char **argv, size_t *ops, unsigned *runs, const char *flag,
                           int *flag_given) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc)
            *ops = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            *runs = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (flag != NULL && strcmp(argv[i], flag) == 0)
            *flag_given = 1;
        else {
            fprintf(stderr, "usage: %s [--ops N] [--runs N (1..31)]%s%s\n", argv[0],
                    flag ? " " : "", flag ? flag : "");
            exit(2);
        }
    }
    if (*runs < 1 || *runs > 31 || *ops < 2) {
        fprintf(stderr, "runs must be 1..31 and ops at least 2\n");
        exit(2);
    }
}
