/* SPDX-License-Identifier: MIT */
/*
 * Range benchmark: W1 (churn), W2 (fill + pairs) and W4 (the seed's fuzz)
 * through our range under both policies, the seed-algorithm baseline and glibc
 * malloc, side by side, and the harness alone (its own cost is in every row).
 * One warm-up, then `runs` measurements; prints the
 * median ns/op, the spread, failed allocations and metadata bits per min
 * block. Then W3: the live fraction at the first failed allocation, for
 * each mode, exact and packed runs included. `--frag` instead compares the policies'
 * fragmentation.
 *
 *   build/bench/bench_range [--ops N] [--runs N] [--frag]
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "buddy.h"
#include "cached.h"
#include "harness.h"
#include "seed_tree.h"
#include "workload.h"

/* ---- Our range ---- */

static bench_buffer range_metadata;

static void *range_setup(const workload *w, buddy_policy policy) {
    size_t size = buddy_range_metadata_size(w->capacity, w->min_block_size);
    buddy_range *range = NULL;
    if (buddy_range_init(&range, bench_buffer_get(&range_metadata, size), size, w->capacity,
                         w->min_block_size, policy) != BUDDY_OK)
        exit(1);
    return range;
}
static void *best_fit_setup(const workload *w) {
    return range_setup(w, BUDDY_BEST_FIT);
}
static void *first_fit_setup(const workload *w) {
    return range_setup(w, BUDDY_FIRST_FIT);
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
/* Aligned to the largest power of two at most the size: never above the
 * block's own size, the case the target is about. */
static int range_alloc_aligned(void *state, uint64_t size, uint64_t *handle) {
    uint64_t alignment = (uint64_t)1 << (63 - __builtin_clzll(size | 1));
    return buddy_range_alloc_aligned(state, size, alignment, handle);
}
static void range_release(void *state, uint64_t handle) {
    buddy_range_free(state, handle);
}
static double range_bits(const workload *w) {
    return (double)buddy_range_metadata_size(w->capacity, w->min_block_size) * 8.0 /
           (double)(w->capacity / w->min_block_size);
}

/* The range's bits and the pool's tags (the caches themselves are per thread). */
static double cached_bits(const workload *w) {
    return range_bits(w) + (double)buddy_cache_pool_size(w->capacity, w->min_block_size, NULL) *
                               8.0 / (double)(w->capacity / w->min_block_size);
}

/* ---- The seed's algorithm ---- */

typedef struct seed_state {
    seed_tree tree;
    uint64_t min_block_size;
} seed_state;

static bench_buffer seed_storage;
static seed_state seed;

static void *seed_setup(const workload *w) {
    uint32_t leaves = (uint32_t)(w->capacity / w->min_block_size);
    seed_tree_init(&seed.tree, leaves,
                   bench_buffer_get(&seed_storage, seed_tree_storage_size(leaves)));
    seed.min_block_size = w->min_block_size;
    return &seed;
}
static int seed_alloc(void *state, uint64_t size, uint64_t *handle) {
    seed_state *s = state;
    uint64_t units = size == 0 ? 1 : (size + s->min_block_size - 1) / s->min_block_size;
    int64_t start = seed_tree_alloc(&s->tree, (uint32_t)units);
    *handle = (uint64_t)start;
    return start < 0 ? -1 : 0;
}
static void seed_release(void *state, uint64_t handle) {
    seed_tree_free(&((seed_state *)state)->tree, (uint32_t)handle);
}
static double seed_bits(const workload *w) {
    (void)w;
    return 2.0 * 32.0; /* two nodes per leaf, 32 bits each */
}

/* ---- glibc malloc ---- */

static void *libc_setup(const workload *w) {
    (void)w;
    return NULL;
}
static int libc_alloc(void *state, uint64_t size, uint64_t *handle) {
    (void)state;
    void *pointer = malloc(size == 0 ? 1 : size);
    *handle = (uint64_t)(uintptr_t)pointer;
    return pointer == NULL ? -1 : 0;
}
static void libc_release(void *state, uint64_t handle) {
    (void)state;
    free((void *)(uintptr_t)handle);
}

/* ---- The shared range: one process, no contention (its robust mutex and
 * undo log are the cost); with owners, a pid stored per allocation. */

static bench_buffer shared_segment;

static void *shared_setup_with(const workload *w, unsigned flags) {
    size_t size = buddy_shared_size(w->capacity, w->min_block_size, flags);
    buddy_shared *shared = NULL;
    if (buddy_shared_create(&shared, bench_buffer_get(&shared_segment, size), size, w->capacity,
                            w->min_block_size, flags) != BUDDY_OK)
        exit(1);
    return shared;
}
static void *shared_setup(const workload *w) {
    return shared_setup_with(w, 0);
}
static void *shared_owners_setup(const workload *w) {
    return shared_setup_with(w, BUDDY_SHARED_OWNERS);
}
static int shared_alloc(void *state, uint64_t size, uint64_t *handle) {
    return buddy_shared_alloc(state, size, handle);
}
static void shared_release(void *state, uint64_t handle) {
    buddy_shared_free(state, handle);
}
static double shared_bits(const workload *w) {
    return (double)buddy_shared_size(w->capacity, w->min_block_size, 0) * 8.0 /
           (double)(w->capacity / w->min_block_size);
}
static double shared_owners_bits(const workload *w) {
    return (double)buddy_shared_size(w->capacity, w->min_block_size, BUDDY_SHARED_OWNERS) * 8.0 /
           (double)(w->capacity / w->min_block_size);
}

#ifdef BUDDY_BENCH_MEMSYS5
/* ---- SQLite's memsys5 (bench/CMakeLists.txt: BUDDY_SQLITE_SOURCE), a buddy
 * allocator that keeps its free lists in the blocks: a pool of the capacity
 * in atoms of the min block (8 bytes at least, so W4's units scale), plus
 * its control bytes. ---- */

#include "sqlite3.h"

static bench_buffer memsys5_heap;
static uint64_t memsys5_scale;

static void *memsys5_setup(const workload *w) {
    memsys5_scale = w->min_block_size < 8 ? 8 / w->min_block_size : 1;
    uint64_t atom = w->min_block_size * memsys5_scale;
    size_t size = (size_t)((w->capacity / w->min_block_size) * (atom + 1)); /* a byte an atom */
    sqlite3_shutdown();
    if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK ||
        sqlite3_config(SQLITE_CONFIG_HEAP, bench_buffer_get(&memsys5_heap, size), (int)size,
                       (int)atom) != SQLITE_OK ||
        sqlite3_initialize() != SQLITE_OK) {
        fprintf(stderr, "memsys5 refused the pool\n");
        exit(1);
    }
    return NULL;
}
static int memsys5_alloc(void *state, uint64_t size, uint64_t *handle) {
    (void)state;
    void *pointer = sqlite3_malloc64(size == 0 ? memsys5_scale : size * memsys5_scale);
    *handle = (uint64_t)(uintptr_t)pointer;
    return pointer == NULL ? -1 : 0;
}
static void memsys5_release(void *state, uint64_t handle) {
    (void)state;
    sqlite3_free((void *)(uintptr_t)handle);
}
#endif

static const allocator allocators[] = {
    /* The range's and the seed's memory stays mapped for the next run. */
    {"buddy best-fit", best_fit_setup, range_alloc, range_release, NULL, range_bits},
    {"buddy first-fit", first_fit_setup, range_alloc, range_release, NULL, range_bits},
    {"buddy exact", best_fit_setup, range_alloc_exact, range_release, NULL, range_bits},
    {"buddy packed", best_fit_setup, range_alloc_packed, range_release, NULL, range_bits},
    {"buddy aligned", best_fit_setup, range_alloc_aligned, range_release, NULL, range_bits},
    {"buddy cached", cached_range_setup, cached_range_alloc, cached_range_release,
     cached_range_teardown, cached_bits},
    {"buddy shared", shared_setup, shared_alloc, shared_release, NULL, shared_bits},
    {"buddy shared+owners", shared_owners_setup, shared_alloc, shared_release, NULL,
     shared_owners_bits},
    /* The first row again: how much a row's place in the run moves its figure. */
    {"buddy best-fit #2", best_fit_setup, range_alloc, range_release, NULL, range_bits},
    {"seed algorithm", seed_setup, seed_alloc, seed_release, NULL, seed_bits},
    {"glibc malloc", libc_setup, libc_alloc, libc_release, NULL, NULL},
#ifdef BUDDY_BENCH_MEMSYS5
    {"sqlite memsys5", memsys5_setup, memsys5_alloc, memsys5_release, NULL, NULL},
#endif
    {"(harness alone)", bench_harness_setup, bench_harness_alloc, bench_harness_release, NULL,
     NULL},
};
#define ALLOCATOR_COUNT (sizeof allocators / sizeof allocators[0])

/* Fragmentation of the two policies under W1's size mix at rising load, on a
 * 16 MiB range (64 KiB blocks are 1/256 of it, so placement matters):
 * failed allocations, and the mean of 1 - largest free block / free bytes. */
static void compare_fragmentation(size_t op_count) {
    printf("\nFragmentation, W1 sizes on 16 MiB with 64 B min blocks, %zu ops per load\n",
           op_count);
    printf("  %-6s %-16s %12s %16s\n", "load", "policy", "failed", "mean ext. frag.");
    const double loads[] = {0.5, 0.75, 0.85, 0.9, 0.95};
    for (size_t l = 0; l < sizeof loads / sizeof loads[0]; l++) {
        workload w;
        workload_churn(&w, UINT64_C(16) << 20, 64, loads[l], op_count, 7);
        uint64_t *handles = malloc(w.slot_count * sizeof *handles);
        for (int policy = 0; policy < 2; policy++) {
            buddy_range *range = range_setup(&w, (buddy_policy)policy);
            uint64_t failures = 0;
            double frag_sum = 0;
            size_t samples = 0;
            for (uint32_t slot = 0; slot < w.slot_count; slot++)
                handles[slot] = NO_HANDLE;
            for (size_t i = 0; i < w.op_count; i++) {
                const op *o = &w.ops[i];
                if (o->is_free) {
                    if (handles[o->slot] != NO_HANDLE)
                        buddy_range_free(range, handles[o->slot]);
                    handles[o->slot] = NO_HANDLE;
                } else if (buddy_range_alloc(range, o->size, &handles[o->slot]) != BUDDY_OK) {
                    handles[o->slot] = NO_HANDLE;
                    failures++;
                }
                if (i % 1000 == 999) {
                    buddy_range_stats s;
                    buddy_range_get_stats(range, &s);
                    frag_sum += s.free_bytes
                                    ? 1.0 - (double)s.largest_free_block / (double)s.free_bytes
                                    : 0;
                    samples++;
                }
            }
            printf("  %-6.2f %-16s %12llu %16.4f\n", loads[l], allocators[policy].name,
                   (unsigned long long)failures, frag_sum / (double)samples);
        }
        free(handles);
        workload_destroy(&w);
    }
}

/* W3: on a 1 GiB range of 64 B min blocks, allocate log-uniform sizes of 64 B
 * to 64 KiB (not rounded) until the first failure, freeing a random live
 * block with probability 0.5 after each allocation. Returns the requested
 * live bytes then, as a fraction of the capacity. */
static double w3_live_fraction(const allocator *a, uint64_t seed) {
    workload w = {"W3", UINT64_C(1) << 30, 64, NULL, 0, 0, 0, 1};
    void *state = a->setup(&w);
    size_t capacity = 1u << 20, count = 0;
    uint64_t *handles = malloc(capacity * sizeof *handles), *sizes = malloc(capacity * 8);
    uint64_t live = 0;
    for (;;) {
        double unit = (double)(workload_random(&seed) >> 11) / 9007199254740992.0;
        uint64_t size = (uint64_t)(64.0 * pow(1024.0, unit)); /* 64 B .. 64 KiB */
        if (count == capacity || a->alloc(state, size, &handles[count]) != 0)
            break;
        sizes[count++] = size;
        live += size;
        if (workload_random(&seed) & 1u) {
            size_t victim = (size_t)(workload_random(&seed) % count);
            a->release(state, handles[victim]);
            live -= sizes[victim];
            handles[victim] = handles[--count];
            sizes[victim] = sizes[count];
        }
    }
    for (size_t i = 0; i < count; i++)
        a->release(state, handles[i]);
    if (a->teardown != NULL)
        a->teardown(state);
    free(handles);
    free(sizes);
    return (double)live / (double)w.capacity;
}

static void compare_w3(unsigned runs) {
    printf("\nW3: live fraction at the first failure, 1 GiB, 64 B min blocks, log-uniform "
           "64 B..64 KiB, free half (median of %u seeds)\n",
           runs);
    static const size_t modes[] = {0, 1, 2, 3, 5}; /* best fit, first fit, exact, packed, cached */
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        size_t a = modes[m];
        double fractions[31];
        for (unsigned run = 0; run < runs; run++)
            fractions[run] = w3_live_fraction(&allocators[a], 1000 + run);
        bench_sort(fractions, runs);
        printf("  %-18s %8.4f   (%.4f..%.4f)\n", allocators[a].name, fractions[runs / 2],
               fractions[0], fractions[runs - 1]);
    }
}

int main(int argc, char **argv) {
    size_t ops = 10000000;
    unsigned runs = 5;
    int frag = 0;
    bench_parse_arguments(argc, argv, &ops, &runs, "--frag", &frag);
    printf("buddy %s range benchmark (median of %u runs after one warm-up)\n", buddy_version(),
           runs);
    if (frag) {
        compare_fragmentation(ops);
        return 0;
    }
    enum { SEED_BASELINE = 9 }; /* allocators[9], the seed's algorithm */
    workload w;
    workload_churn(&w, UINT64_C(1) << 30, 64, 0.5, ops, 1);
    bench_compare(allocators, ALLOCATOR_COUNT, &w, runs, SEED_BASELINE, "seed / this");
    workload_destroy(&w);
    workload_fill_pairs(&w, UINT64_C(64) << 20, 64, 0.9, ops / 2, 2);
    bench_compare(allocators, ALLOCATOR_COUNT, &w, runs, SEED_BASELINE, "seed / this");
    workload_destroy(&w);
    workload_seed_fuzz(&w, 3, 100);
    bench_compare(allocators, ALLOCATOR_COUNT, &w, runs, SEED_BASELINE, "seed / this");
    workload_destroy(&w);
    compare_w3(runs);
    return 0;
}
