/* SPDX-License-Identifier: MIT */
/*
 * The heap's internals, shared by init.c (set-up), heap.c (malloc's family)
 * and heap_cache.c (the thread caches of BUDDY_HEAP_THREAD_SAFE).
 */
#ifndef BUDDY_HEAP_INTERNAL_H
#define BUDDY_HEAP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef BUDDY_HAVE_PTHREAD
#include <pthread.h>
#endif

#include "buddy.h"

#define HEADER_ALIGNMENT 64u
#define HEAP_MAGIC UINT64_C(0x62756464795f6831) /* "buddy_h1" */

/* `value` rounded up to a multiple of `alignment`, a power of two. */
static inline uintptr_t align_up(uintptr_t value, size_t alignment) {
    return (value + (alignment - 1)) & ~(uintptr_t)(alignment - 1);
}

struct buddy_heap {
    uint64_t magic;
    unsigned char *base; /* the usable area: offset 0 of the range */
    size_t capacity;     /* bytes of the usable area the range manages */
    size_t min_request;  /* requests round up to this: alignof(max_align_t) at least */
    size_t min_block_size;
    size_t max_alignment;
    unsigned flags;
    void (*lock)(void *lock_context); /* the caller's hooks; NULL with thread caches */
    void (*unlock)(void *lock_context);
    void *lock_context;
    buddy_heap_failure last_failure;
    buddy_range *range; /* its metadata follows this header */
    /* BUDDY_HEAP_THREAD_SAFE: caches in front of the range (heap_cache.c). */
    buddy_cache_pool *pool;
    unsigned char *slots; /* HEAP_SLOTS thread slots, then the shared slot */
    size_t slot_size;
    uint64_t serial;   /* this heap's number in the process (the thread's cache below) */
    size_t fast_limit; /* malloc and free go straight to the thread's cache up to this
                          size: with caches, and no fill pattern or memory tool (with exact
                          sizing, up to 4 min blocks, which an exact run takes as one block) */
#ifdef BUDDY_HAVE_PTHREAD
    pthread_mutex_t mutex; /* last_failure, the slots, the shared slot's cache */
    pthread_key_t key;     /* a thread's slot */
#endif
};

#define HEAP_HEADER_SIZE                                                                           \
    ((sizeof(struct buddy_heap) + HEADER_ALIGNMENT - 1) / HEADER_ALIGNMENT * HEADER_ALIGNMENT)

/* Threads that get a cache of their own; later ones share one under the
 * heap's mutex until a thread with a cache exits. */
#define HEAP_SLOTS 16u

#ifdef BUDDY_HAVE_PTHREAD
/* The calling thread's own cache of the heap it used last. */
typedef struct heap_thread_cache {
    const buddy_heap *heap;
    uint64_t serial;
    buddy_cache *cache;
} heap_thread_cache;

/* The default TLS model: libbuddy.so must load with dlopen (Python does),
 * where initial-exec would claim static TLS for all its thread-locals. */
extern _Thread_local heap_thread_cache buddy_heap_thread_cache;
#endif

/* The calling thread's own cache of `heap` if the heap has the fast path
 * and the thread used it last, else NULL (buddy_heap_cache_take finds it).
 * O(1). */
static inline buddy_cache *heap_cache_mine(const buddy_heap *heap) {
#ifdef BUDDY_HAVE_PTHREAD
    const heap_thread_cache *mine = &buddy_heap_thread_cache;
    return mine->heap == heap && mine->serial == heap->serial ? mine->cache : NULL;
#else
    (void)heap;
    return NULL;
#endif
}

/* Bytes of the pool and the slots after the range's metadata for a heap of
 * this capacity: 0 without BUDDY_HEAP_THREAD_SAFE, SIZE_MAX if too many. */
size_t buddy_heap_cache_metadata_size(size_t capacity, const buddy_heap_config *config);

/* Builds the pool and the slots in `memory` (64-aligned, as sized above) and
 * the key; BUDDY_ENOMEM iff the mutex or the key cannot be made. */
int buddy_heap_cache_init(buddy_heap *heap, unsigned char *memory);

/* Gives every cache back and deletes the key. */
void buddy_heap_cache_fini(buddy_heap *heap);

/* The calling thread's cache: its own (made on its first call, and then the
 * one heap_cache_mine gives), or the shared one with the heap's mutex held;
 * buddy_heap_cache_put releases it. */
buddy_cache *buddy_heap_cache_take(buddy_heap *heap);
void buddy_heap_cache_put(buddy_heap *heap, const buddy_cache *cache);

#endif /* BUDDY_HEAP_INTERNAL_H */
