/* SPDX-License-Identifier: MIT */
/*
 * W3's ceiling: how high the live fraction at the first failure can go when
 * every run must start at a multiple of its largest piece, as exact runs do.
 * An oracle, not an allocator: it keeps the free extents (maximal runs of free
 * min blocks) in address order and, for each request, searches all of them
 * for the smallest extent that holds the request at an aligned start (best
 * fit), taking the lowest aligned start in it. It runs W3's sequence (the
 * same seeds as bench_range) with that alignment, and without it for
 * reference. O(extents) per operation: about a minute for three seeds.
 *
 *   build/bench/w3_ceiling [--runs N]
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "workload.h"

typedef struct extent {
    uint64_t first, end; /* min blocks [first, end) */
} extent;

typedef struct oracle {
    extent *extents; /* sorted, disjoint, never touching */
    size_t count;
    bool aligned;
} oracle;

/* Gives min blocks [first, end) back, joining the neighbours they touch. */
static void give(oracle *o, uint64_t first, uint64_t end) {
    if (first == end)
        return;
    size_t low = 0, high = o->count;
    while (low < high) { /* the first extent that starts after `first` */
        size_t middle = (low + high) / 2;
        if (o->extents[middle].first < first)
            low = middle + 1;
        else
            high = middle;
    }
    bool joins_before = low > 0 && o->extents[low - 1].end == first;
    bool joins_after = low < o->count && o->extents[low].first == end;
    if (joins_before && joins_after) {
        o->extents[low - 1].end = o->extents[low].end;
        memmove(&o->extents[low], &o->extents[low + 1], (o->count - low - 1) * sizeof(extent));
        o->count--;
    } else if (joins_before) {
        o->extents[low - 1].end = end;
    } else if (joins_after) {
        o->extents[low].first = first;
    } else {
        memmove(&o->extents[low + 1], &o->extents[low], (o->count - low) * sizeof(extent));
        o->extents[low] = (extent){first, end};
        o->count++;
    }
}

/* Takes `count` min blocks from the best-fitting extent; false if none holds
 * them (at a multiple of the largest power of two <= count, if aligned). */
static bool take(oracle *o, uint64_t count, uint64_t *first_out) {
    uint64_t alignment = o->aligned ? (uint64_t)1 << (63 - __builtin_clzll(count)) : 1;
    size_t best = o->count;
    uint64_t best_length = UINT64_MAX, best_first = 0;
    for (size_t i = 0; i < o->count; i++) {
        uint64_t first = (o->extents[i].first + alignment - 1) & ~(alignment - 1);
        uint64_t length = o->extents[i].end - o->extents[i].first;
        if (first + count <= o->extents[i].end && length < best_length) {
            best = i;
            best_length = length;
            best_first = first;
        }
    }
    if (best == o->count)
        return false;
    extent taken = o->extents[best];
    memmove(&o->extents[best], &o->extents[best + 1], (o->count - best - 1) * sizeof(extent));
    o->count--;
    give(o, taken.first, best_first);
    give(o, best_first + count, taken.end);
    *first_out = best_first;
    return true;
}

/* W3 (bench_range.c) through the oracle: 1 GiB of 64 B min blocks, counts
 * rounded as exact runs round them (3 mod 4 takes one more). */
static double live_fraction(bool aligned, uint64_t seed) {
    const uint64_t capacity = UINT64_C(1) << 30, blocks = capacity / 64;
    const size_t most = 1u << 20;
    oracle o = {malloc(blocks / 2 * sizeof(extent)), 0, aligned};
    uint64_t *firsts = malloc(most * sizeof *firsts), *counts = malloc(most * sizeof *counts),
             *sizes = malloc(most * sizeof *sizes);
    if (o.extents == NULL || firsts == NULL || counts == NULL || sizes == NULL)
        exit(1);
    give(&o, 0, blocks);
    size_t live_count = 0;
    uint64_t live = 0;
    for (;;) {
        double unit = (double)(workload_random(&seed) >> 11) / 9007199254740992.0;
        uint64_t size = (uint64_t)(64.0 * pow(1024.0, unit)); /* 64 B .. 64 KiB */
        uint64_t count = (size + 63) / 64;
        count += (count & 3u) == 3u;
        if (live_count == most || !take(&o, count, &firsts[live_count]))
            break;
        counts[live_count] = count;
        sizes[live_count++] = size;
        live += size;
        if (workload_random(&seed) & 1u) {
            size_t victim = (size_t)(workload_random(&seed) % live_count);
            give(&o, firsts[victim], firsts[victim] + counts[victim]);
            live -= sizes[victim];
            live_count--;
            firsts[victim] = firsts[live_count];
            counts[victim] = counts[live_count];
            sizes[victim] = sizes[live_count];
        }
    }
    free(o.extents);
    free(firsts);
    free(counts);
    free(sizes);
    return (double)live / (double)capacity;
}

int main(int argc, char **argv) {
    size_t ops = 2;
    unsigned runs = 3;
    bench_parse_arguments(argc, argv, &ops, &runs, NULL, NULL);
    printf("W3 ceiling: an oracle best fit over all free extents (median of %u seeds)\n", runs);
    for (int aligned = 1; aligned >= 0; aligned--) {
        double fractions[31];
        for (unsigned run = 0; run < runs; run++)
            fractions[run] = live_fraction(aligned, 1000 + run);
        bench_sort(fractions, runs);
        printf("  %-34s %8.4f   (%.4f..%.4f)\n",
               aligned ? "aligned to the largest piece" : "unaligned (TLSF-like)",
               fractions[runs / 2], fractions[0], fractions[runs - 1]);
    }
    return 0;
}
