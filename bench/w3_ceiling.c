/* SPDX-License-Identifier: MIT */
/*
 * W3's ceiling: how high the live fraction at the first failure can go when
 * every run must start at a multiple of its largest piece, as exact runs do.
 * An oracle, not an allocator: it keeps the free extents (maximal runs of free
 * min blocks) in address order and, for each request, searches all of them
 * for the smallest extent that holds the request at an aligned start (best
 * fit; or the lowest such extent, first fit), taking the lowest aligned start
 * in it. It runs W3's sequence (the same seeds as bench_range) with that
 * alignment, and without it for reference. O(extents) per operation: about a
 * minute for three seeds.
 *
 * With --trace it reads a trace (buddy replay's format, plain text) on
 * standard input instead and prints the smallest capacity that serves it at
 * 16-byte min blocks, aligned as runs and unaligned, by binary search as
 * `buddy report` does. A resize stays in place when the oracle can (shrink;
 * grow over free min blocks from an aligned start), else it allocates, then
 * frees.
 *
 *   build/bench/w3_ceiling [--runs N]
 *   zcat bench/traces/python3.trace.gz | build/bench/w3_ceiling --trace
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
    bool aligned, first_fit;
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

/* The alignment of a request of `count` min blocks: its largest piece if
 * aligned as runs are, and at least `at_least`. */
static uint64_t alignment_of(const oracle *o, uint64_t count, uint64_t at_least) {
    uint64_t alignment = o->aligned ? (uint64_t)1 << (63 - __builtin_clzll(count)) : 1;
    return alignment > at_least ? alignment : at_least;
}

/* Takes `count` min blocks at a multiple of `alignment` from the best-fitting
 * (or the lowest) extent that holds them; false if none does. */
static bool take(oracle *o, uint64_t count, uint64_t alignment, uint64_t *first_out) {
    size_t best = o->count;
    uint64_t best_length = UINT64_MAX, best_first = 0;
    for (size_t i = 0; i < o->count; i++) {
        uint64_t first = (o->extents[i].first + alignment - 1) & ~(alignment - 1);
        uint64_t length = o->extents[i].end - o->extents[i].first;
        if (first + count <= o->extents[i].end && length < best_length) {
            best = i;
            best_length = length;
            best_first = first;
            if (o->first_fit)
                break;
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

/* Takes min blocks [first, end) iff one extent starts at `first` and holds
 * them (a block grown in place over the free min blocks after it). */
static bool take_at(oracle *o, uint64_t first, uint64_t end) {
    size_t low = 0, high = o->count;
    while (low < high) {
        size_t middle = (low + high) / 2;
        if (o->extents[middle].first < first)
            low = middle + 1;
        else
            high = middle;
    }
    if (low == o->count || o->extents[low].first != first || o->extents[low].end < end)
        return false;
    if (o->extents[low].end == end) {
        memmove(&o->extents[low], &o->extents[low + 1], (o->count - low - 1) * sizeof(extent));
        o->count--;
    } else {
        o->extents[low].first = end;
    }
    return true;
}

/* W3 (bench_range.c) through the oracle: 1 GiB of 64 B min blocks, counts
 * rounded as exact runs round them (3 mod 4 takes one more). */
static double live_fraction(bool aligned, bool first_fit, uint64_t seed) {
    const uint64_t capacity = UINT64_C(1) << 30, blocks = capacity / 64;
    const size_t most = 1u << 20;
    oracle o = {malloc(blocks / 2 * sizeof(extent)), 0, aligned, first_fit};
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
        if (live_count == most || !take(&o, count, alignment_of(&o, count, 1), &firsts[live_count]))
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

/* ---- Traces ------------------------------------------------------------ */

#define TRACE_MIN_BLOCK 16u

typedef struct trace_line {
    char kind;         /* 'a', 'f' or 'r' */
    uint32_t id, next; /* slots: the block's name, and after a moving resize */
    uint64_t size, alignment;
} trace_line;

typedef struct trace {
    trace_line *lines;
    size_t count;
    uint32_t slots;
} trace;

typedef struct name_table {
    char (*names)[64];
    uint32_t *slots;
    size_t capacity, used;
} name_table;

static uint32_t slot_of(name_table *t, trace *tr, const char *name) {
    uint64_t hash = 1469598103934665603u;
    for (const char *c = name; *c != 0; c++)
        hash = (hash ^ (unsigned char)*c) * 1099511628211u;
    size_t i = (size_t)hash & (t->capacity - 1);
    while (t->names[i][0] != 0 && strcmp(t->names[i], name) != 0)
        i = (i + 1) & (t->capacity - 1);
    if (t->names[i][0] == 0) {
        if (++t->used * 2 > t->capacity) {
            (void)fprintf(stderr, "too many names\n");
            exit(1);
        }
        (void)snprintf(t->names[i], sizeof t->names[i], "%s", name);
        t->slots[i] = tr->slots++;
    }
    return t->slots[i];
}

static void read_trace(FILE *in, trace *tr) {
    const size_t most = (size_t)1 << 20; /* names, twice as many as a trace may hold */
    name_table names = {calloc(most, 64), calloc(most, 4), most, 0};
    size_t capacity = (size_t)1 << 16;
    tr->lines = malloc(capacity * sizeof *tr->lines);
    if (names.names == NULL || names.slots == NULL || tr->lines == NULL)
        exit(1);
    char line[256], kind = 0, id[64], extra[64];
    unsigned long long size = 0;
    while (fgets(line, sizeof line, in) != NULL) {
        char *comment = strchr(line, '#');
        if (comment != NULL)
            *comment = 0;
        extra[0] = 0;
        int fields = sscanf(line, " %c %63s %llu %63s", &kind, id, &size, extra);
        if (fields < 2)
            continue;
        if (tr->count == capacity) {
            capacity *= 2;
            tr->lines = realloc(tr->lines, capacity * sizeof *tr->lines);
            if (tr->lines == NULL)
                exit(1);
        }
        trace_line *l = &tr->lines[tr->count++];
        *l = (trace_line){kind, slot_of(&names, tr, id), 0, fields >= 3 ? size : 0, 0};
        l->next = l->id;
        if (kind == 'a' && fields == 4)
            l->alignment = strtoull(extra, NULL, 10);
        else if (kind == 'r' && fields == 4)
            l->next = slot_of(&names, tr, extra);
    }
    free(names.names);
    free(names.slots);
}

static uint64_t blocks_of(const oracle *o, uint64_t size) {
    uint64_t count = size == 0 ? 1 : (size - 1) / TRACE_MIN_BLOCK + 1;
    return o->aligned ? count + ((count & 3u) == 3u) : count; /* as runs round */
}

/* True iff the trace runs on `capacity` min blocks with no failed allocation.
 * `extents` has room for two more extents than the trace has names: free
 * extents are never more than the live blocks plus one, and a moving resize
 * holds two blocks under one name. */
static bool serves(const trace *tr, bool aligned, uint64_t capacity, extent *extents,
                   uint64_t *firsts, uint64_t *counts) {
    oracle o = {extents, 0, aligned, false};
    memset(counts, 0, tr->slots * sizeof *counts); /* 0: not live */
    give(&o, 0, capacity);
    bool served = true;
    for (size_t i = 0; i < tr->count && served; i++) {
        const trace_line *l = &tr->lines[i];
        uint64_t first = firsts[l->id], count = counts[l->id];
        if (l->kind == 'f') {
            give(&o, first, first + count);
            counts[l->id] = 0;
            continue;
        }
        uint64_t want = blocks_of(&o, l->size);
        uint64_t alignment =
            alignment_of(&o, want, (l->alignment + TRACE_MIN_BLOCK - 1) / TRACE_MIN_BLOCK);
        if (l->kind == 'r' && count != 0) {
            counts[l->id] = 0;
            bool aligned_start = (first & (alignment_of(&o, want, 1) - 1)) == 0;
            uint64_t taken = 0;
            if (aligned_start && want <= count) {
                give(&o, first + want, first + count); /* shrinks in place */
            } else if (aligned_start && take_at(&o, first + count, first + want)) {
                /* grows in place */
            } else if (take(&o, want, alignment, &taken)) {
                give(&o, first, first + count); /* moved */
                first = taken;
            } else {
                served = false;
            }
        } else if (!take(&o, want, alignment, &first)) {
            served = false;
        }
        firsts[l->next] = first;
        counts[l->next] = want;
    }
    return served;
}

static void trace_capacities(void) {
    trace tr = {NULL, 0, 0};
    read_trace(stdin, &tr);
    uint64_t *firsts = calloc((size_t)tr.slots + 1, sizeof *firsts),
             *counts = calloc((size_t)tr.slots + 1, sizeof *counts);
    extent *extents = malloc(((size_t)tr.slots + 2) * sizeof *extents);
    if (firsts == NULL || counts == NULL || extents == NULL)
        exit(1);
    printf("smallest capacity that serves the trace, %u-byte min blocks (oracle best fit):\n",
           TRACE_MIN_BLOCK);
    for (int aligned = 1; aligned >= 0; aligned--) {
        uint64_t low = 1, high = UINT64_C(1) << 28;
        while (low < high) {
            uint64_t middle = low + (high - low) / 2;
            if (serves(&tr, aligned, middle, extents, firsts, counts))
                high = middle;
            else
                low = middle + 1;
        }
        printf("  %-34s %12llu bytes\n", aligned ? "aligned to the largest piece" : "unaligned",
               (unsigned long long)low * TRACE_MIN_BLOCK);
    }
    free(firsts);
    free(counts);
    free(extents);
    free(tr.lines);
}

int main(int argc, char **argv) {
    size_t ops = 2;
    unsigned runs = 3;
    int from_trace = 0;
    bench_parse_arguments(argc, argv, &ops, &runs, "--trace", &from_trace);
    if (from_trace) {
        trace_capacities();
        return 0;
    }
    printf("W3 ceiling: an oracle over all free extents (median of %u seeds)\n", runs);
    static const struct {
        bool aligned, first_fit;
        const char *name;
    } rows[] = {{true, false, "aligned to the largest piece"},
                {true, true, "aligned, first fit"},
                {false, false, "unaligned (TLSF-like)"}};
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        double fractions[31];
        for (unsigned run = 0; run < runs; run++)
            fractions[run] = live_fraction(rows[r].aligned, rows[r].first_fit, 1000 + run);
        bench_sort(fractions, runs);
        printf("  %-34s %8.4f   (%.4f..%.4f)\n", rows[r].name, fractions[runs / 2], fractions[0],
               fractions[runs - 1]);
    }
    return 0;
}
