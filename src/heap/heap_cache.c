/* SPDX-License-Identifier: MIT */
/*
 * The thread caches of a BUDDY_HEAP_THREAD_SAFE heap: a cache pool in front
 * of the heap's range, and a slot per thread, found through a pthread key.
 * The metadata after the range's holds the pool and HEAP_SLOTS + 1 slots:
 *
 *   range metadata | pool (header, tags, owners) | slot 0 | ... | slot 15 | shared slot
 *
 * A slot is a 64-byte header and a cache. A thread takes a free slot on its
 * first call; when it exits, the key's destructor gives the cache's blocks
 * back and frees the slot. Threads beyond HEAP_SLOTS share the last slot's
 * cache under the heap's mutex, made when the first of them comes (a heap
 * that one thread uses has one cache, whose tags need no atomic operation).
 * No malloc: everything lives in the heap's metadata.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "heap_debug.h"
#include "heap_internal.h"

#define SLOT_HEADER_SIZE 64u

typedef struct slot {
    buddy_heap *heap;
    buddy_cache *cache;
    bool used;
} slot;

static const buddy_cache_config heap_cache_config = {12,
                                                     256}; /* 16 B .. 32 KiB at 16 B min blocks */

static size_t align64(size_t size) {
    return (size + 63u) & ~(size_t)63u;
}

size_t buddy_heap_cache_metadata_size(size_t capacity, const buddy_heap_config *config) {
    if (!(config->flags & BUDDY_HEAP_THREAD_SAFE))
        return 0;
    size_t pool = buddy_cache_pool_size(capacity, config->min_block_size, &heap_cache_config);
    size_t slot_size = SLOT_HEADER_SIZE + align64(buddy_cache_size(&heap_cache_config));
    if (pool == 0 || pool > SIZE_MAX / 2)
        return SIZE_MAX; /* GCOVR_EXCL_LINE: a 32-bit target's huge region */
    return align64(pool) + (HEAP_SLOTS + 1u) * slot_size;
}

static slot *slot_at(const buddy_heap *heap, unsigned index) {
    return (slot *)(void *)(heap->slots + (size_t)index * heap->slot_size);
}

/* Where a slot's cache lives, made or not: known without reading the slot,
 * which another thread may be claiming. */
static unsigned char *cache_memory(slot *s) {
    return (unsigned char *)s + SLOT_HEADER_SIZE;
}

/* Claims a slot's cache for a thread; under the heap's mutex. */
static void claim(buddy_heap *heap, slot *s) {
    int status = buddy_cache_init(&s->cache, cache_memory(s), heap->slot_size - SLOT_HEADER_SIZE,
                                  heap->pool);
    (void)status; /* the slot was sized for the pool's config */
    s->heap = heap;
    s->used = true;
}

#ifdef BUDDY_HAVE_PTHREAD
_Thread_local heap_thread_cache buddy_heap_thread_cache;

/* Numbers the heaps, so a heap made where an old one was is not taken for
 * it by a thread that used the old one. */
static uint64_t heap_serials;

/* Makes `s` the thread's cache that heap_cache_mine finds, if the heap has
 * the fast path (fast_limit). */
static void remember(buddy_heap *heap, const slot *s) {
    heap_thread_cache *mine = &buddy_heap_thread_cache;
    if (heap->fast_limit == 0)
        return;
    mine->heap = heap;
    mine->serial = heap->serial;
    mine->cache = s->cache;
}

/* The key's destructor: a thread with a slot exits. */
static void give_back(void *value) {
    slot *s = value;
    if (buddy_heap_thread_cache.cache == s->cache)
        buddy_heap_thread_cache.heap = NULL;
    buddy_cache_fini(s->cache);
    pthread_mutex_lock(&s->heap->mutex);
    s->used = false;
    pthread_mutex_unlock(&s->heap->mutex);
}
#endif

int buddy_heap_cache_init(buddy_heap *heap, unsigned char *memory) {
    buddy_range_stats stats;
    (void)buddy_range_get_stats(heap->range, &stats);
    size_t pool_size =
        buddy_cache_pool_size(stats.max_capacity, stats.min_block_size, &heap_cache_config);
    if (buddy_cache_pool_init(&heap->pool, memory, pool_size, heap->range, &heap_cache_config) !=
        BUDDY_OK)
        return BUDDY_EINVAL; /* GCOVR_EXCL_LINE: sized by buddy_heap_cache_metadata_size */
    heap->slots = memory + align64(pool_size);
    heap->slot_size = SLOT_HEADER_SIZE + align64(buddy_cache_size(&heap_cache_config));
    memset(heap->slots, 0, (HEAP_SLOTS + 1u) * heap->slot_size);
#ifdef BUDDY_HAVE_PTHREAD
    if (pthread_mutex_init(&heap->mutex, NULL) != 0)
        return BUDDY_ENOMEM; /* GCOVR_EXCL_LINE: cannot fail for default attributes on Linux */
    if (pthread_key_create(&heap->key, give_back) != 0) {
        pthread_mutex_destroy(&heap->mutex); /* GCOVR_EXCL_LINE: 1024 keys a process */
        return BUDDY_ENOMEM;                 /* GCOVR_EXCL_LINE */
    }
    heap->serial = __atomic_add_fetch(&heap_serials, 1u, __ATOMIC_RELAXED);
#endif
    /* Constant in a build without ASan or Valgrind, hence the suppression. */
    // cppcheck-suppress knownConditionTrueFalse
    if (!(heap->flags & BUDDY_HEAP_FILL) && !debug_tools_active())
        heap->fast_limit = heap->flags & BUDDY_HEAP_EXACT
                               ? (size_t)heap->min_block_size * 4u /* a run of 1 to 4 is a block */
                               : (size_t)heap->min_block_size << (heap_cache_config.orders - 1u);
    return BUDDY_OK;
}

void buddy_heap_cache_fini(buddy_heap *heap) {
#ifdef BUDDY_HAVE_PTHREAD
    pthread_key_delete(heap->key);
    pthread_mutex_destroy(&heap->mutex);
#endif
    for (unsigned index = 0; index <= HEAP_SLOTS; index++)
        if (slot_at(heap, index)->used)
            buddy_cache_fini(slot_at(heap, index)->cache);
    buddy_cache_pool_fini(heap->pool);
}

buddy_cache *buddy_heap_cache_take(buddy_heap *heap) {
#ifdef BUDDY_HAVE_PTHREAD
    slot *mine = pthread_getspecific(heap->key);
    if (mine != NULL) {
        remember(heap, mine);
        return mine->cache;
    }
    pthread_mutex_lock(&heap->mutex);
    for (unsigned index = 0; index < HEAP_SLOTS; index++) {
        slot *s = slot_at(heap, index);
        if (!s->used && pthread_setspecific(heap->key, s) == 0) {
            claim(heap, s);
            remember(heap, s);
            pthread_mutex_unlock(&heap->mutex);
            return s->cache;
        }
    }
#endif
    slot *shared = slot_at(heap, HEAP_SLOTS); /* the mutex stays held */
    if (!shared->used)
        claim(heap, shared);
    return shared->cache;
}

void buddy_heap_cache_put(buddy_heap *heap, const buddy_cache *cache) {
#ifdef BUDDY_HAVE_PTHREAD
    if ((const unsigned char *)cache == cache_memory(slot_at(heap, HEAP_SLOTS)))
        pthread_mutex_unlock(&heap->mutex);
#else
    (void)heap;
    (void)cache;
#endif
}
