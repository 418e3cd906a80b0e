/* SPDX-License-Identifier: MIT */
/*
 * The cached range of cached.h. A setup's caches are numbered by a
 * generation, so a thread's cache from an earlier setup is never reused.
 */
#include <pthread.h>
#include <stdlib.h>

#include "buddy.h"
#include "cached.h"

#define MAX_CACHES 64
#define CACHED_ORDERS 11 /* W1's 64 B..64 KiB at 64 B min blocks: every size */

typedef struct cached_range {
    buddy_cache_pool *pool;
    unsigned long generation;
    pthread_mutex_t mutex; /* caches[] */
    buddy_cache *caches[MAX_CACHES];
    void *memory[MAX_CACHES];
    unsigned count;
} cached_range;

static cached_range state;
static _Thread_local struct {
    unsigned long generation;
    buddy_cache *cache;
} mine;

void *cached_range_setup(const workload *w) {
    static bench_buffer pool_memory;
    buddy_range *range = bench_range_setup(w, 0);
    buddy_cache_config config = {CACHED_ORDERS, 0};
    size_t size = buddy_cache_pool_size(w->capacity, w->min_block_size, &config);
    if (buddy_cache_pool_init(&state.pool, bench_buffer_get(&pool_memory, size), size, range,
                              &config) != BUDDY_OK)
        exit(1);
    state.generation++;
    state.count = 0;
    pthread_mutex_init(&state.mutex, NULL);
    return &state;
}

/* This thread's cache, made on its first call. */
static buddy_cache *cache_of(cached_range *c) {
    if (mine.generation == c->generation)
        return mine.cache;
    pthread_mutex_lock(&c->mutex);
    buddy_cache_config config = {CACHED_ORDERS, 0};
    size_t size = buddy_cache_size(&config);
    void *memory = aligned_alloc(64, (size + 63) / 64 * 64);
    if (c->count == MAX_CACHES || memory == NULL ||
        buddy_cache_init(&c->caches[c->count], memory, size, c->pool) != BUDDY_OK)
        exit(1);
    c->memory[c->count] = memory;
    mine.cache = c->caches[c->count++];
    mine.generation = c->generation;
    pthread_mutex_unlock(&c->mutex);
    return mine.cache;
}

int cached_range_alloc(void *state_pointer, uint64_t size, uint64_t *handle) {
    return buddy_cache_alloc(cache_of(state_pointer), size, handle);
}

void cached_range_release(void *state_pointer, uint64_t handle) {
    buddy_cache_free(cache_of(state_pointer), handle);
}

void cached_range_teardown(void *state_pointer) {
    cached_range *c = state_pointer;
    for (unsigned i = 0; i < c->count; i++) {
        buddy_cache_fini(c->caches[i]);
        free(c->memory[i]);
    }
    buddy_cache_pool_fini(c->pool);
    pthread_mutex_destroy(&c->mutex);
}
