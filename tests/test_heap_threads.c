/* SPDX-License-Identifier: MIT */
/*
 * Two threads share one heap, first with BUDDY_HEAP_THREAD_SAFE (a cache
 * per thread) and then with the caller's lock hooks. Each keeps up to 64
 * blocks, stamps every byte of a block with its own tag and checks the stamp
 * before freeing it: a block handed out twice would be overwritten by the
 * other thread. Bounded: 200000 operations per thread (20000 in quick mode).
 * Afterwards every byte is free again, and with caches the range itself
 * holds no block: the exiting threads gave their caches back. Then 24
 * threads at once, more than the heap has cache slots, and the checks that
 * caches must keep: a double free, also of a block another thread freed and
 * still holds in its cache, and an interior pointer; a failure through a
 * cache, and a heap made where an old one was.
 */
#define _POSIX_C_SOURCE 200809L /* pthread_barrier_t */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buddy.h"
#include "check.h"

#define LIVE 64

static _Alignas(4096) unsigned char region[1 << 22];

typedef struct worker {
    buddy_heap *heap;
    unsigned char tag;
    uint64_t seed;
    unsigned long corrupted, failed;
    pthread_barrier_t *together; /* run_worker_briefly: every thread has its cache first */
} worker;

static void *run_worker(void *argument) {
    worker *w = argument;
    unsigned char *blocks[LIVE] = {0};
    size_t sizes[LIVE] = {0};
    for (unsigned long step = 0; step < check_scale(200000, 20000); step++) {
        size_t slot = (size_t)check_below(&w->seed, LIVE);
        if (blocks[slot] != NULL) {
            for (size_t i = 0; i < sizes[slot]; i++)
                w->corrupted += blocks[slot][i] != (unsigned char)(w->tag + slot);
            if (buddy_heap_free(w->heap, blocks[slot]) != BUDDY_OK)
                w->corrupted++;
            blocks[slot] = NULL;
        } else {
            sizes[slot] = 1 + (size_t)check_below(&w->seed, 4096);
            blocks[slot] = buddy_heap_malloc(w->heap, sizes[slot]);
            if (blocks[slot] == NULL)
                w->failed++;
            else
                memset(blocks[slot], (unsigned char)(w->tag + slot), sizes[slot]);
        }
    }
    for (size_t slot = 0; slot < LIVE; slot++)
        buddy_heap_free(w->heap, blocks[slot]);
    return NULL;
}

static void *run_worker_briefly(void *argument) {
    worker *w = argument;
    /* The first call gives the thread a cache (or the shared one): all of
     * them at once, so threads beyond the slots share, whatever the timing. */
    buddy_heap_free(w->heap, buddy_heap_malloc(w->heap, 48));
    pthread_barrier_wait(w->together);
    unsigned char *blocks[8] = {0};
    for (unsigned long step = 0; step < check_scale(20000, 2000); step++) {
        size_t slot = (size_t)check_below(&w->seed, 8);
        if (blocks[slot] != NULL) {
            for (size_t i = 0; i < 48; i++)
                w->corrupted += blocks[slot][i] != (unsigned char)(w->tag + slot);
            w->corrupted += buddy_heap_free(w->heap, blocks[slot]) != BUDDY_OK;
            blocks[slot] = NULL;
        } else if ((blocks[slot] = buddy_heap_malloc(w->heap, 48)) != NULL) {
            memset(blocks[slot], (unsigned char)(w->tag + slot), 48);
        }
    }
    for (size_t slot = 0; slot < 8; slot++)
        buddy_heap_free(w->heap, blocks[slot]);
    return NULL;
}

static int count_live(void *pointer, size_t size, bool is_live, void *user) {
    (void)pointer;
    (void)size;
    *(unsigned long *)user += is_live;
    return 0;
}

static void two_threads_share(buddy_heap *heap, uint64_t seed) {
    worker workers[2] = {{heap, 0x10, seed, 0, 0, NULL}, {heap, 0x80, seed + 1, 0, 0, NULL}};
    pthread_t threads[2];
    for (int t = 0; t < 2; t++)
        CHECK_EQ_INT(pthread_create(&threads[t], NULL, run_worker, &workers[t]), 0);
    for (int t = 0; t < 2; t++)
        pthread_join(threads[t], NULL);
    for (int t = 0; t < 2; t++) {
        CHECK_EQ_U64(workers[t].corrupted, 0);
        CHECK_EQ_U64(workers[t].failed, 0); /* 2 x 64 x 4 KiB never fills 4 MiB */
    }
    buddy_range_stats stats;
    buddy_heap_get_stats(heap, &stats);
    CHECK_EQ_U64(stats.live_blocks, 0); /* nothing lost */
    CHECK_EQ_U64(stats.free_bytes, stats.capacity);
    CHECK_STATUS(buddy_heap_check(heap), BUDDY_OK);
    unsigned long held = 0; /* what the range holds: cached blocks count */
    CHECK_STATUS(buddy_heap_walk(heap, count_live, &held), BUDDY_OK);
    CHECK_EQ_U64(held, 0);
}

/* ---- More threads than cache slots -------------------------------------- */

static void many_threads_share(buddy_heap *heap, uint64_t seed) {
    enum { THREADS = 24 };
    worker workers[THREADS];
    pthread_t threads[THREADS];
    pthread_barrier_t together;
    pthread_barrier_init(&together, NULL, THREADS);
    for (int t = 0; t < THREADS; t++) {
        workers[t] = (worker){heap, (unsigned char)(t * 8), seed + (uint64_t)t, 0, 0, &together};
        CHECK_EQ_INT(pthread_create(&threads[t], NULL, run_worker_briefly, &workers[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    pthread_barrier_destroy(&together);
    for (int t = 0; t < THREADS; t++)
        CHECK_EQ_U64(workers[t].corrupted, 0);
    buddy_range_stats stats; /* the shared cache may keep blocks: they count as free */
    buddy_heap_get_stats(heap, &stats);
    CHECK_EQ_U64(stats.live_blocks, 0);
    CHECK_STATUS(buddy_heap_check(heap), BUDDY_OK);
}

/* ---- Checks through caches ---------------------------------------------- */

typedef struct handoff {
    buddy_heap *heap;
    void *block;
    pthread_barrier_t *barrier;
    int status;
} handoff;

static void *free_and_wait(void *argument) {
    handoff *h = argument;
    h->status = buddy_heap_free(h->heap, h->block); /* into this thread's cache */
    pthread_barrier_wait(h->barrier);
    pthread_barrier_wait(h->barrier); /* the main thread has tried its double free */
    return NULL;
}

static void caches_keep_every_check(buddy_heap *heap) {
    unsigned char *block = buddy_heap_malloc(heap, 64);
    CHECK(block != NULL);
    CHECK_STATUS(buddy_heap_free(heap, block + 16), BUDDY_ENOTSTART);
    CHECK_STATUS(buddy_heap_free(heap, block), BUDDY_OK);
    CHECK_STATUS(buddy_heap_free(heap, block), BUDDY_ENOTLIVE);
    CHECK_EQ_U64(buddy_heap_usable_size(heap, block), 0);
    CHECK(buddy_heap_realloc(heap, block, 128) == NULL);
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    handoff h = {heap, buddy_heap_malloc(heap, 64), &barrier, BUDDY_EINVAL};
    pthread_t thread;
    CHECK_EQ_INT(pthread_create(&thread, NULL, free_and_wait, &h), 0);
    pthread_barrier_wait(&barrier);
    CHECK_STATUS(h.status, BUDDY_OK);
    CHECK_STATUS(buddy_heap_free(heap, h.block), BUDDY_ENOTLIVE); /* in the other's cache */
    pthread_barrier_wait(&barrier);
    pthread_join(thread, NULL);
    pthread_barrier_destroy(&barrier);
    unsigned char *kept = buddy_heap_malloc(heap, 64);
    CHECK_STATUS(buddy_heap_try_resize(heap, kept, 32), BUDDY_OK);
    CHECK_EQ_U64(buddy_heap_usable_size(heap, kept), 32);
    CHECK_STATUS(buddy_heap_free(heap, kept), BUDDY_OK);
    buddy_range_stats stats;
    buddy_heap_get_stats(heap, &stats);
    CHECK_EQ_U64(stats.live_blocks, 0);
    CHECK_EQ_U64(stats.rejected_frees, 3);
}

/* An exact heap with caches: a run the range cannot place drains the caches
 * and is placed. */
static void an_exact_run_drains_the_caches(void) {
    static _Alignas(4096) unsigned char small[1 << 18];
    buddy_heap *heap = NULL;
    buddy_heap_config config = {
        0, 0, BUDDY_BEST_FIT, BUDDY_HEAP_THREAD_SAFE | BUDDY_HEAP_EXACT, NULL, NULL, NULL};
    CHECK_STATUS(buddy_heap_init(&heap, small, sizeof small, &config), BUDDY_OK);
    enum { MOST = 1 << 14 };
    static unsigned char *blocks[MOST];
    size_t count = 0;
    while (count < MOST && (blocks[count] = buddy_heap_malloc(heap, 16)) != NULL)
        count++;
    CHECK(count > 4 && count < MOST);
    size_t first = 0; /* eight blocks in a row on a 128-byte boundary */
    while (((uintptr_t)blocks[first] & 127u) != 0 || blocks[first + 7] != blocks[first] + 112)
        first++;
    for (size_t i = first; i < first + 8; i++)
        CHECK_STATUS(buddy_heap_free(heap, blocks[i]), BUDDY_OK); /* into the cache */
    unsigned char *run = buddy_heap_malloc(heap, 96);             /* 6 min blocks: a run */
    CHECK(run == blocks[first]);
    CHECK_STATUS(buddy_heap_free(heap, run), BUDDY_OK);
    for (size_t i = 0; i < count; i++)
        if (i < first || i >= first + 8)
            CHECK_STATUS(buddy_heap_free(heap, blocks[i]), BUDDY_OK);
    CHECK_STATUS(buddy_heap_check(heap), BUDDY_OK);
    CHECK_STATUS(buddy_heap_fini(heap), BUDDY_OK);
}

/* A heap with caches and exact or packed sizing, or a fill pattern: an
 * allocation of up to 4 min blocks is one block (an exact run of 3 takes 4),
 * which the thread's cache serves (past the fast path with a fill pattern,
 * filled over its whole size). Its refill takes a span of the range, so the
 * range's peak is the span, not the block. */
static void small_blocks_come_from_the_cache(unsigned flags) {
    static _Alignas(4096) unsigned char small[1 << 18];
    buddy_heap *heap = NULL;
    buddy_heap_config config = {0,    0,   BUDDY_BEST_FIT, BUDDY_HEAP_THREAD_SAFE | flags, NULL,
                                NULL, NULL};
    CHECK_STATUS(buddy_heap_init(&heap, small, sizeof small, &config), BUDDY_OK);
    unsigned char *block = buddy_heap_malloc(heap, 48);
    CHECK(block != NULL);
    CHECK_EQ_U64(buddy_heap_usable_size(heap, block), 64);
    if (flags & BUDDY_HEAP_FILL)
        CHECK(block[0] == 0xAA && block[63] == 0xAA);
    buddy_range_stats stats;
    CHECK_STATUS(buddy_heap_get_stats(heap, &stats), BUDDY_OK);
    CHECK(stats.peak_allocated_bytes > 64);
    CHECK_STATUS(buddy_heap_free(heap, block), BUDDY_OK);
    CHECK(buddy_heap_malloc(heap, 40) == block); /* the block freed last */
    CHECK_STATUS(buddy_heap_free(heap, block), BUDDY_OK);
    CHECK_STATUS(buddy_heap_free(heap, block), BUDDY_ENOTLIVE);
    if (flags & (BUDDY_HEAP_EXACT | BUDDY_HEAP_PACKED)) {
        /* Past 4 min blocks a run: a cached block of 8 does not serve 5. */
        CHECK_STATUS(buddy_heap_free(heap, buddy_heap_malloc(heap, 128)), BUDDY_OK);
        block = buddy_heap_malloc(heap, 80);
        CHECK_EQ_U64(buddy_heap_usable_size(heap, block), 80);
        CHECK_STATUS(buddy_heap_free(heap, block), BUDDY_OK);
    }
    CHECK_STATUS(buddy_heap_check(heap), BUDDY_OK);
    CHECK_STATUS(buddy_heap_fini(heap), BUDDY_OK);
}

/* A malloc the thread's cache serves straight (up to 32 KiB here) fails as
 * any other: NULL, and the reason recorded. */
static void a_cached_malloc_fails_cleanly(buddy_heap *heap) {
    enum { MOST = 256, SIZE = 32768 };
    static unsigned char *blocks[MOST];
    size_t count = 0;
    while (count < MOST && (blocks[count] = buddy_heap_malloc(heap, SIZE)) != NULL)
        count++;
    CHECK(count > 0 && count < MOST);
    buddy_heap_failure failure;
    CHECK_STATUS(buddy_heap_last_failure(heap, &failure), BUDDY_OK);
    CHECK_EQ_INT(failure.reason, BUDDY_FAILURE_NOT_ENOUGH_FREE);
    CHECK_EQ_U64(failure.requested, SIZE);
    for (size_t i = 0; i < count; i++)
        CHECK_STATUS(buddy_heap_free(heap, blocks[i]), BUDDY_OK);
}

/* A thread that used a heap remembers its cache; a heap made later in the
 * same memory, with its metadata laid out otherwise, is not taken for it
 * (the remembered cache would sit in the new heap's metadata or usable
 * area). */
static void a_new_heap_in_old_memory(void) {
    buddy_heap *heap = NULL;
    buddy_heap_config config = {256, 0, BUDDY_BEST_FIT, BUDDY_HEAP_THREAD_SAFE, NULL, NULL, NULL};
    CHECK_STATUS(buddy_heap_init(&heap, region, sizeof region, &config), BUDDY_OK);
    CHECK_STATUS(buddy_heap_free(heap, buddy_heap_malloc(heap, 100)), BUDDY_OK);
    CHECK_STATUS(buddy_heap_fini(heap), BUDDY_OK);
    config.min_block_size = 16;
    CHECK_STATUS(buddy_heap_init(&heap, region, sizeof region, &config), BUDDY_OK);
    unsigned char *block = buddy_heap_malloc(heap, 100);
    CHECK_EQ_U64(buddy_heap_usable_size(heap, block), 128);
    buddy_range_stats stats;
    buddy_heap_get_stats(heap, &stats);
    CHECK_EQ_U64(stats.live_blocks, 1);
    CHECK_STATUS(buddy_heap_free(heap, block), BUDDY_OK);
    CHECK_STATUS(buddy_heap_check(heap), BUDDY_OK);
    CHECK_STATUS(buddy_heap_fini(heap), BUDDY_OK);
}

static pthread_mutex_t caller_mutex = PTHREAD_MUTEX_INITIALIZER;
static void caller_lock(void *mutex) {
    pthread_mutex_lock(mutex);
}
static void caller_unlock(void *mutex) {
    pthread_mutex_unlock(mutex);
}

/* With its metadata in a buffer of its own, a heap with caches writes only
 * the buddy_heap_metadata_size bytes it is given, wherever in a line they
 * start (the header's alignment takes up to 56 of them). */
static void external_metadata_holds_the_caches(void) {
    static _Alignas(64) unsigned char metadata[1 << 19];
    buddy_heap_config config = {0, 0, BUDDY_BEST_FIT, BUDDY_HEAP_THREAD_SAFE, NULL, NULL, NULL};
    size_t needed = buddy_heap_metadata_size(sizeof region, &config);
    CHECK(needed > 0 && needed + 64 <= sizeof metadata);
    for (size_t skew = 0; skew < 64; skew += 8) {
        memset(metadata, 0xA5, sizeof metadata);
        buddy_heap *heap = NULL;
        CHECK_STATUS(buddy_heap_init_external(&heap, region, sizeof region, metadata + skew, needed,
                                              &config),
                     BUDDY_OK);
        buddy_heap_free(heap, buddy_heap_malloc(heap, 64)); /* through this thread's cache */
        CHECK_STATUS(buddy_heap_fini(heap), BUDDY_OK);
        size_t outside = 0;
        for (size_t i = 0; i < sizeof metadata; i++)
            outside += (i < skew || i >= skew + needed) && metadata[i] != 0xA5;
        CHECK_EQ_U64(outside, 0);
    }
}

int main(void) {
    uint64_t seed = check_seed("heap_threads", 99);
    buddy_heap *heap = NULL;
    buddy_heap_config config = {0, 0, BUDDY_BEST_FIT, BUDDY_HEAP_THREAD_SAFE, NULL, NULL, NULL};
    CHECK_STATUS(buddy_heap_init(&heap, region, sizeof region, &config), BUDDY_OK);
    two_threads_share(heap, seed);
    many_threads_share(heap, seed + 4);
    caches_keep_every_check(heap);
    a_cached_malloc_fails_cleanly(heap);
    CHECK_STATUS(buddy_heap_fini(heap), BUDDY_OK);
    an_exact_run_drains_the_caches();
    small_blocks_come_from_the_cache(BUDDY_HEAP_EXACT);
    small_blocks_come_from_the_cache(BUDDY_HEAP_PACKED);
    small_blocks_come_from_the_cache(BUDDY_HEAP_FILL);
    a_new_heap_in_old_memory();
    external_metadata_holds_the_caches();

    config =
        (buddy_heap_config){0, 0, BUDDY_FIRST_FIT, 0, caller_lock, caller_unlock, &caller_mutex};
    CHECK_STATUS(buddy_heap_init(&heap, region, sizeof region, &config), BUDDY_OK);
    two_threads_share(heap, seed + 2);
    CHECK_STATUS(buddy_heap_fini(heap), BUDDY_OK);
    return check_exit_code("heap_threads");
}
