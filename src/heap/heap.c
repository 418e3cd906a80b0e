/* SPDX-License-Identifier: MIT */
/*
 * The pointer heap: malloc and its family over a caller's region, built on
 * the range's public API only. A pointer is `base + offset`, where base is
 * the start of the usable area, aligned to the heap's max_alignment. Since a
 * buddy block's offset is a multiple of its size, a block of at least A bytes
 * (A <= max_alignment) starts on an absolute multiple of A: aligned
 * allocation is allocation of max(size, A) bytes. init.c sets the heap up.
 *
 * Locking wraps every public call in the caller's hooks. With
 * BUDDY_HEAP_THREAD_SAFE there is no global lock: each thread allocates and
 * frees through a cache of its own in front of the range (heap_cache.c), and
 * the pool's lock serialises what reaches the range.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bits.h"
#include "buddy.h"
#include "cache_internal.h"
#include "compiler.h"
#include "heap_debug.h"
#include "heap_internal.h"

#define FILL_ALLOCATED 0xAA
#define FILL_FREED 0xDD

static bool is_pow2(size_t value) {
    return value != 0 && (value & (value - 1)) == 0;
}

/* ---- Locking ------------------------------------------------------------- */

static void heap_lock(buddy_heap *heap) {
    if (heap->lock != NULL)
        heap->lock(heap->lock_context);
}

static void heap_unlock(buddy_heap *heap) {
    if (heap->unlock != NULL)
        heap->unlock(heap->lock_context);
}

/* With thread caches: the pool's lock, around calls on the whole range. */
static void range_lock(buddy_heap *heap) {
    if (heap->pool != NULL)
        buddy_cache_pool_lock(heap->pool);
}

static void range_unlock(buddy_heap *heap) {
    if (heap->pool != NULL)
        buddy_cache_pool_unlock(heap->pool);
}

/* With thread caches: the heap's mutex, around the last failure. */
static void failure_lock(buddy_heap *heap) {
#ifdef BUDDY_HAVE_PTHREAD
    if (heap->pool != NULL)
        pthread_mutex_lock(&heap->mutex);
#else
    (void)heap;
#endif
}

static void failure_unlock(buddy_heap *heap) {
#ifdef BUDDY_HAVE_PTHREAD
    if (heap->pool != NULL)
        pthread_mutex_unlock(&heap->mutex);
#else
    (void)heap;
#endif
}

/* ---- Allocation ---------------------------------------------------------- */

/* The min blocks a request of `request` bytes asks for, and with
 * BUDDY_HEAP_EXACT those its exact run takes: one more for a count of 3 mod
 * 4, as buddy_range_alloc_exact. */
static size_t request_blocks(const buddy_heap *heap, size_t request) {
    size_t blocks = (request + heap->min_block_size - 1) / heap->min_block_size;
    return (heap->flags & BUDDY_HEAP_EXACT) && (blocks & 3u) == 3u ? blocks + 1 : blocks;
}

/* The block size a request of `request` bytes (>= min_request) gets: a power
 * of two of min blocks, or with BUDDY_HEAP_EXACT the min blocks of an exact
 * run. */
static size_t block_size_for(const buddy_heap *heap, size_t request) {
    size_t blocks = request_blocks(heap, request);
    if (heap->flags & BUDDY_HEAP_EXACT)
        return heap->min_block_size * blocks;
    return heap->min_block_size << bits_log2_ceil(blocks);
}

/* Records why an allocation failed, from the status that refused it:
 * BUDDY_EINVAL (a bad request), BUDDY_ETOOBIG, or BUDDY_ENOMEM, which means
 * not enough free bytes if they are below `rounded` (the block size the
 * request needed), else fragmentation. O(1). */
static void record_failure(buddy_heap *heap, int status, size_t requested, size_t rounded) {
    uint64_t free_bytes = 0, largest = 0;
    range_lock(heap);
    buddy_range_get_free(heap->range, &free_bytes, &largest);
    range_unlock(heap);
    buddy_failure_reason reason = BUDDY_FAILURE_INVALID;
    if (status == BUDDY_ETOOBIG)
        reason = BUDDY_FAILURE_TOO_LARGE;
    else if (status == BUDDY_ENOMEM)
        reason = free_bytes < rounded ? BUDDY_FAILURE_NOT_ENOUGH_FREE : BUDDY_FAILURE_FRAGMENTED;
    failure_lock(heap);
    heap->last_failure.reason = reason;
    heap->last_failure.requested = requested;
    heap->last_failure.free_bytes = (size_t)free_bytes;
    heap->last_failure.largest_free_block = (size_t)largest;
    failure_unlock(heap);
}

/* ---- The range's calls: straight, or through the thread's cache ---------- */

/* An exact run of `request` bytes at a multiple of `at`, packed with
 * BUDDY_HEAP_PACKED; under the range's lock. */
static int range_alloc_run(buddy_heap *heap, size_t request, uint64_t at, uint64_t *offset) {
    range_lock(heap);
    int status = (heap->flags & BUDDY_HEAP_PACKED)
                     ? buddy_range_alloc_packed_aligned(heap->range, request, at, offset)
                     : buddy_range_alloc_exact_aligned(heap->range, request, at, offset);
    range_unlock(heap);
    return status;
}

/* Allocates `request` bytes (>= min_request) at `alignment` (0 or a power of
 * two): a power-of-two block, or an exact run with BUDDY_HEAP_EXACT (packed
 * with BUDDY_HEAP_PACKED: range_alloc_run). With thread caches, a
 * power-of-two block comes through the thread's cache, as does an exact run
 * that takes a power of two of min blocks (request_blocks: 3 takes 4), and
 * any other run from the range under the pool's lock, after draining every
 * cache if the range has no room. */
static int range_alloc(buddy_heap *heap, size_t request, size_t alignment, uint64_t *offset) {
    bool exact = (heap->flags & BUDDY_HEAP_EXACT) != 0;
    size_t blocks = request_blocks(heap, request);
    if (!exact || (heap->pool != NULL && is_pow2(blocks) && alignment <= request)) {
        request = request < alignment ? alignment : request; /* a block is aligned to its size */
        if (heap->pool == NULL)
            return buddy_range_alloc(heap->range, request, offset);
        buddy_cache *cache = buddy_heap_cache_take(heap);
        int status = buddy_cache_alloc(cache, request, offset);
        buddy_heap_cache_put(heap, cache);
        return status;
    }
    uint64_t at = alignment ? alignment : 1;
    int status = range_alloc_run(heap, request, at, offset);
    if (status == BUDDY_ENOMEM && heap->pool != NULL) {
        buddy_cache_pool_drain(heap->pool);
        status = range_alloc_run(heap, request, at, offset);
    }
    return status;
}

static int range_free(buddy_heap *heap, uint64_t offset) {
    if (heap->pool == NULL)
        return buddy_range_free(heap->range, offset);
    buddy_cache *cache = buddy_heap_cache_take(heap);
    int status = buddy_cache_free(cache, offset);
    buddy_heap_cache_put(heap, cache);
    return status;
}

static int range_size(buddy_heap *heap, uint64_t offset, uint64_t *size_out) {
    if (heap->pool == NULL)
        return buddy_range_size(heap->range, offset, size_out);
    return buddy_cache_pool_block_size(heap->pool, offset, size_out);
}

static int range_resize(buddy_heap *heap, uint64_t offset, size_t size) {
    if (heap->pool == NULL)
        return buddy_range_resize(heap->range, offset, size);
    buddy_cache *cache = buddy_heap_cache_take(heap);
    int status = buddy_cache_resize(cache, offset, size);
    buddy_heap_cache_put(heap, cache);
    return status;
}

/* Records the failure of malloc's request for `size` bytes (`request`
 * after its rounding to min_request and alignment). */
static void allocation_failed(buddy_heap *heap, int status, size_t size, size_t request) {
    /* Only a request that fits the range is rounded. */
    record_failure(heap, status, size, status == BUDDY_ENOMEM ? block_size_for(heap, request) : 0);
}

/* malloc's work under the lock: `alignment` 0 or a power of two <=
 * max_alignment. Stores the status in *status_out. */
static void *allocate(buddy_heap *heap, size_t size, size_t alignment, int *status_out) {
    size_t request = size < heap->min_request ? heap->min_request : size;
    uint64_t offset = 0;
    int status = range_alloc(heap, request, alignment, &offset);
    *status_out = status;
    if (!(heap->flags & BUDDY_HEAP_EXACT) && request < alignment)
        request = alignment;
    if (status != BUDDY_OK) {
        allocation_failed(heap, status, size, request);
        return NULL;
    }
    unsigned char *block = heap->base + offset;
    size_t usable = block_size_for(heap, request);
    debug_block_live(heap, block, usable);
    if (heap->flags & BUDDY_HEAP_FILL)
        memset(block, FILL_ALLOCATED, usable);
    return block;
}

/* The offset of `pointer`, or UINT64_MAX (which the range rejects as out of
 * range) for a pointer below the usable area. */
static uint64_t offset_of(const buddy_heap *heap, const void *pointer) {
    uintptr_t address = (uintptr_t)pointer, base = (uintptr_t)heap->base;
    return address < base ? UINT64_MAX : (uint64_t)(address - base);
}

/* free's work under the lock. The block's size is looked up only when a
 * fill pattern or a memory tool needs it. */
static int release(buddy_heap *heap, void *pointer) {
    uint64_t offset = offset_of(heap, pointer);
    /* Constant in a build without ASan or Valgrind, hence the suppression. */
    // cppcheck-suppress knownConditionTrueFalse
    if (!(heap->flags & BUDDY_HEAP_FILL) && !debug_tools_active())
        return range_free(heap, offset);
    uint64_t size = 0;
    int status = range_size(heap, offset, &size);
    if (status != BUDDY_OK)
        return range_free(heap, offset); /* rejects it the same way, and counts it */
    if (heap->flags & BUDDY_HEAP_FILL)
        memset(pointer, FILL_FREED, (size_t)size);
    debug_block_free(heap, pointer, (size_t)size);
    return range_free(heap, offset);
}

/* malloc past its fast path: through the thread's cache (a miss; `cache`,
 * if the fast path had one), else under the lock, through the range or any
 * cache. */
static BUDDY_NOINLINE void *malloc_slow(buddy_heap *heap, size_t size, buddy_cache *cache) {
    if (heap == NULL)
        return NULL;
    if (cache != NULL) {
        size_t request = size < heap->min_request ? heap->min_request : size;
        uint64_t offset = 0;
        int status = buddy_cache_alloc(cache, request, &offset);
        if (status == BUDDY_OK)
            return heap->base + offset;
        allocation_failed(heap, status, size, request);
        return NULL;
    }
    int status;
    heap_lock(heap);
    void *block = allocate(heap, size, 0, &status);
    heap_unlock(heap);
    return block;
}

/* The fast path, a hit of the thread's cache, calls no function (a heap with
 * caches has no lock). fast_limit and min_request are at most the largest
 * cached size. */
void *buddy_heap_malloc(buddy_heap *heap, size_t size) {
    buddy_cache *cache = NULL;
    uint64_t offset;
    if (heap != NULL && size <= heap->fast_limit && (cache = heap_cache_mine(heap)) != NULL) {
        size_t request = size < heap->min_request ? heap->min_request : size;
        if (cache_alloc_hit(cache, cache_order_below(cache, request), &offset))
            return heap->base + offset;
    }
    return malloc_slow(heap, size, cache);
}

void *buddy_heap_calloc(buddy_heap *heap, size_t count, size_t size) {
    if (heap == NULL)
        return NULL;
    int status;
    heap_lock(heap);
    void *block = NULL;
    if (size != 0 && count > SIZE_MAX / size)
        record_failure(heap, BUDDY_EINVAL, SIZE_MAX, 0);
    else if ((block = allocate(heap, count * size, 0, &status)) != NULL)
        memset(block, 0, count * size);
    heap_unlock(heap);
    return block;
}

/* aligned_alloc's work under the lock; *status_out says why it failed. */
static void *allocate_aligned(buddy_heap *heap, size_t alignment, size_t size, int *status_out) {
    if (!is_pow2(alignment) || alignment > heap->max_alignment) {
        record_failure(heap, BUDDY_EINVAL, size, 0);
        *status_out = BUDDY_EINVAL;
        return NULL;
    }
    return allocate(heap, size, alignment, status_out);
}

void *buddy_heap_aligned_alloc(buddy_heap *heap, size_t alignment, size_t size) {
    if (heap == NULL)
        return NULL;
    int status;
    heap_lock(heap);
    void *block = allocate_aligned(heap, alignment, size, &status);
    heap_unlock(heap);
    return block;
}

int buddy_heap_posix_memalign(buddy_heap *heap, void **pointer_out, size_t alignment, size_t size) {
    if (heap == NULL || pointer_out == NULL || alignment < sizeof(void *))
        return BUDDY_EINVAL;
    int status;
    heap_lock(heap);
    void *block = allocate_aligned(heap, alignment, size, &status);
    heap_unlock(heap);
    if (block != NULL)
        *pointer_out = block;
    return status;
}

/* free past its fast path: a miss of the thread's cache (`cache`, if the
 * fast path had one), else under the lock. */
static BUDDY_NOINLINE int free_slow(buddy_heap *heap, void *pointer, buddy_cache *cache) {
    if (heap == NULL)
        return BUDDY_EINVAL;
    if (pointer == NULL)
        return BUDDY_OK;
    if (cache != NULL)
        return buddy_cache_free(cache, offset_of(heap, pointer));
    heap_lock(heap);
    int status = release(heap, pointer);
    heap_unlock(heap);
    return status;
}

/* The fast path, as malloc's. */
int buddy_heap_free(buddy_heap *heap, void *pointer) {
    buddy_cache *cache = NULL;
    if (heap != NULL && heap->fast_limit != 0 && (cache = heap_cache_mine(heap)) != NULL &&
        cache_free_hit(cache, offset_of(heap, pointer)))
        return BUDDY_OK;
    return free_slow(heap, pointer, cache);
}

/* ---- Resizing ------------------------------------------------------------ */

/* Resizes the block at `pointer` (of `old_size` bytes) in place, under the lock. */
static int resize_in_place(buddy_heap *heap, void *pointer, size_t old_size, size_t size) {
    size_t request = size < heap->min_request ? heap->min_request : size;
    uint64_t offset = offset_of(heap, pointer), resized = 0;
    int status = range_resize(heap, offset, request);
    if (status != BUDDY_OK)
        return status;
    /* What the range made of it: a run stays exact, a block a power of two. */
    (void)range_size(heap, offset, &resized);
    size_t new_size = (size_t)resized;
    if (new_size < old_size && (heap->flags & BUDDY_HEAP_FILL))
        memset((unsigned char *)pointer + new_size, FILL_FREED, old_size - new_size);
    debug_block_resized(heap, pointer, old_size, new_size);
    if (new_size > old_size && (heap->flags & BUDDY_HEAP_FILL))
        memset((unsigned char *)pointer + old_size, FILL_ALLOCATED, new_size - old_size);
    return BUDDY_OK;
}

int buddy_heap_try_resize(buddy_heap *heap, void *pointer, size_t size) {
    if (heap == NULL || pointer == NULL)
        return BUDDY_EINVAL;
    heap_lock(heap);
    uint64_t old_size = 0;
    int status = range_size(heap, offset_of(heap, pointer), &old_size);
    if (status == BUDDY_OK)
        status = resize_in_place(heap, pointer, (size_t)old_size, size);
    heap_unlock(heap);
    return status;
}

void *buddy_heap_realloc(buddy_heap *heap, void *pointer, size_t size) {
    if (heap == NULL)
        return NULL;
    if (pointer == NULL)
        return buddy_heap_malloc(heap, size);
    if (size == 0) {
        buddy_heap_free(heap, pointer);
        return NULL;
    }
    heap_lock(heap);
    void *result = NULL;
    uint64_t old_size = 0;
    int status;
    if (range_size(heap, offset_of(heap, pointer), &old_size) != BUDDY_OK) {
        record_failure(heap, BUDDY_EINVAL, size, 0);
    } else if (resize_in_place(heap, pointer, (size_t)old_size, size) == BUDDY_OK) {
        result = pointer;
    } else if ((result = allocate(heap, size, 0, &status)) != NULL) {
        memcpy(result, pointer, (size_t)old_size < size ? (size_t)old_size : size);
        release(heap, pointer);
    }
    heap_unlock(heap);
    return result;
}

void *buddy_heap_reallocarray(buddy_heap *heap, void *pointer, size_t count, size_t size) {
    if (heap == NULL)
        return NULL;
    if (size != 0 && count > SIZE_MAX / size) {
        heap_lock(heap);
        record_failure(heap, BUDDY_EINVAL, SIZE_MAX, 0);
        heap_unlock(heap);
        return NULL;
    }
    return buddy_heap_realloc(heap, pointer, count * size);
}

/* ---- Queries ------------------------------------------------------------- */

size_t buddy_heap_usable_size(buddy_heap *heap, const void *pointer) {
    if (heap == NULL || pointer == NULL)
        return 0;
    heap_lock(heap);
    uint64_t size = 0;
    if (range_size(heap, offset_of(heap, pointer), &size) != BUDDY_OK)
        size = 0;
    heap_unlock(heap);
    return (size_t)size;
}

int buddy_heap_reset(buddy_heap *heap) {
    if (heap == NULL)
        return BUDDY_EINVAL;
    heap_lock(heap);
    int status =
        heap->pool != NULL ? buddy_cache_pool_reset(heap->pool) : buddy_range_reset(heap->range);
    VALGRIND_DESTROY_MEMPOOL(heap);
    VALGRIND_CREATE_MEMPOOL(heap, 0, 0);
    debug_area_free(heap, heap->base, heap->capacity);
    heap_unlock(heap);
    return status;
}

typedef struct walk_adapter {
    unsigned char *base;
    buddy_heap_visitor visitor;
    void *user;
} walk_adapter;

static int visit_block(uint64_t offset, uint64_t size, buddy_block_state state, void *user) {
    const walk_adapter *adapter = user;
    return adapter->visitor(adapter->base + offset, (size_t)size, state != BUDDY_BLOCK_FREE,
                            adapter->user);
}

int buddy_heap_walk(buddy_heap *heap, buddy_heap_visitor visitor, void *user) {
    if (heap == NULL || visitor == NULL)
        return BUDDY_EINVAL;
    heap_lock(heap);
    range_lock(heap);
    walk_adapter adapter = {heap->base, visitor, user};
    int status = buddy_range_walk(heap->range, visit_block, &adapter);
    range_unlock(heap);
    heap_unlock(heap);
    return status;
}

int buddy_heap_last_failure(buddy_heap *heap, buddy_heap_failure *failure_out) {
    if (heap == NULL || failure_out == NULL)
        return BUDDY_EINVAL;
    heap_lock(heap);
    failure_lock(heap);
    *failure_out = heap->last_failure;
    failure_unlock(heap);
    heap_unlock(heap);
    return BUDDY_OK;
}

int buddy_heap_get_stats(buddy_heap *heap, buddy_range_stats *stats_out) {
    if (heap == NULL || stats_out == NULL)
        return BUDDY_EINVAL;
    heap_lock(heap);
    int status = heap->pool != NULL ? buddy_cache_pool_get_stats(heap->pool, stats_out)
                                    : buddy_range_get_stats(heap->range, stats_out);
    heap_unlock(heap);
    return status;
}

int buddy_heap_lock_all(buddy_heap *heap) {
    if (heap == NULL)
        return BUDDY_EINVAL;
    heap_lock(heap);
    failure_lock(heap);
    buddy_cache_pool_lock_all(heap->pool);
    return BUDDY_OK;
}

int buddy_heap_unlock_all(buddy_heap *heap) {
    if (heap == NULL)
        return BUDDY_EINVAL;
    buddy_cache_pool_unlock_all(heap->pool);
    failure_unlock(heap);
    heap_unlock(heap);
    return BUDDY_OK;
}

size_t buddy_heap_dump_json(buddy_heap *heap, char *buffer, size_t buffer_size, unsigned flags) {
    if (heap == NULL)
        return 0;
    heap_lock(heap);
    range_lock(heap);
    size_t length = buddy_range_dump_json(heap->range, buffer, buffer_size, flags);
    range_unlock(heap);
    heap_unlock(heap);
    return length;
}

int buddy_heap_check(buddy_heap *heap) {
    if (heap == NULL)
        return BUDDY_EINVAL;
    heap_lock(heap);
    int status = BUDDY_ECORRUPT;
    if (heap->magic == HEAP_MAGIC && ((uintptr_t)heap->base % heap->max_alignment) == 0 &&
        (unsigned char *)heap->range == (unsigned char *)heap + HEAP_HEADER_SIZE) {
        range_lock(heap);
        status = buddy_range_check(heap->range);
        range_unlock(heap);
    }
    heap_unlock(heap);
    return status;
}
