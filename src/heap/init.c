/* SPDX-License-Identifier: MIT */
/*
 * The heap's set-up: its configuration, its layout, init and fini (heap.c
 * has malloc's family). Layout of the embedded form (the external form keeps
 * the first two parts in the caller's metadata buffer instead):
 *
 *   region | struct buddy_heap | range metadata | pad to max_alignment | usable area
 */
#include <assert.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bits.h"
#include "buddy.h"
#include "heap_debug.h"
#include "heap_internal.h"

/* ---- Configuration and layout ------------------------------------------- */

/* Fills the defaults in and validates; BUDDY_EINVAL if the config is bad. */
static int normalize_config(const buddy_heap_config *given, buddy_heap_config *config) {
    static const buddy_heap_config defaults = {BUDDY_HEAP_DEFAULT_MIN_BLOCK,
                                               BUDDY_HEAP_DEFAULT_MAX_ALIGNMENT,
                                               BUDDY_DEFAULT_POLICY,
                                               0,
                                               NULL,
                                               NULL,
                                               NULL};
    *config = given != NULL ? *given : defaults;
    if (config->min_block_size == 0)
        config->min_block_size = BUDDY_HEAP_DEFAULT_MIN_BLOCK;
    if (config->max_alignment == 0)
        config->max_alignment = BUDDY_HEAP_DEFAULT_MAX_ALIGNMENT;
    bool hooks_paired = (config->lock == NULL) == (config->unlock == NULL);
    bool thread_safe = (config->flags & BUDDY_HEAP_THREAD_SAFE) != 0;
    if (!bits_is_pow2(config->min_block_size) || !bits_is_pow2(config->max_alignment) ||
        config->max_alignment < alignof(max_align_t) ||
        (config->policy != BUDDY_BEST_FIT && config->policy != BUDDY_FIRST_FIT) ||
        (config->flags & ~(unsigned)(BUDDY_HEAP_FILL | BUDDY_HEAP_THREAD_SAFE | BUDDY_HEAP_EXACT |
                                     BUDDY_HEAP_PACKED)) != 0 ||
        !hooks_paired || (thread_safe && config->lock != NULL))
        return BUDDY_EINVAL;
#ifndef BUDDY_HAVE_PTHREAD
    if (thread_safe)
        return BUDDY_EINVAL;
#endif
    return BUDDY_OK;
}

/* Bytes of metadata after the header for a heap of `capacity` bytes: the
 * range's, then the thread caches' (64-aligned). 0 if impossible. */
static size_t metadata_after_header(size_t capacity, const buddy_heap_config *config) {
    size_t range = buddy_range_metadata_size(capacity, config->min_block_size);
    size_t caches = buddy_heap_cache_metadata_size(capacity, config);
    size_t range_room = (size_t)align_up(range, HEADER_ALIGNMENT);
    if (range == 0 || caches == SIZE_MAX || range_room < range || range_room > SIZE_MAX - caches)
        return 0;
    return caches == 0 ? range : range_room + caches;
}

/* The usable bytes between `metadata_end` and `end` once aligned, in whole
 * min blocks; 0 if not even one fits. */
static size_t usable_bytes(uintptr_t metadata_end, uintptr_t end, const buddy_heap_config *config) {
    uintptr_t start = align_up(metadata_end, config->max_alignment);
    if (start < metadata_end || start >= end)
        return 0;
    return (size_t)(end - start) & ~(config->min_block_size - 1);
}

/* Whether `capacity` bytes fit after `after_header` together with their own
 * range metadata. */
static bool capacity_fits(size_t capacity, uintptr_t after_header, uintptr_t end,
                          const buddy_heap_config *config) {
    size_t metadata = metadata_after_header(capacity, config);
    return metadata != 0 && after_header + metadata > after_header &&
           usable_bytes(after_header + metadata, end, config) >= capacity;
}

/* The capacity of an embedded heap: the largest that fits. Metadata grows
 * with capacity, so whether a capacity fits is monotone. Metadata sized for
 * the whole space leaves a capacity that surely fits; the usable bytes after
 * that capacity's own metadata bound every capacity that fits; a binary
 * search over whole min blocks between the two finds the largest:
 * O(log^2 region_size). */
static size_t embedded_capacity(uintptr_t after_header, uintptr_t end,
                                const buddy_heap_config *config) {
    size_t whole = (size_t)(end - after_header);
    size_t metadata = metadata_after_header(whole, config);
    if (metadata == 0 || metadata >= whole)
        return 0;
    size_t unit = config->min_block_size;
    size_t low = usable_bytes(after_header + metadata, end, config) / unit;
    if (low == 0)
        return 0;
    assert(capacity_fits(low * unit, after_header, end, config));
    size_t high =
        usable_bytes(after_header + metadata_after_header(low * unit, config), end, config) / unit;
    while (low < high) { /* low min blocks fit; more than high do not */
        size_t middle = low + (high - low + 1) / 2;
        if (capacity_fits(middle * unit, after_header, end, config))
            low = middle;
        else
            high = middle - 1;
    }
    return low * unit;
}

size_t buddy_heap_metadata_size(size_t region_size, const buddy_heap_config *given) {
    buddy_heap_config config;
    if (normalize_config(given, &config) != BUDDY_OK)
        return 0;
    size_t metadata = metadata_after_header(region_size, &config);
    if (metadata == 0 || metadata > SIZE_MAX - HEAP_HEADER_SIZE - HEADER_ALIGNMENT)
        return 0;
    return HEADER_ALIGNMENT + HEAP_HEADER_SIZE + metadata; /* the first term: alignment slack */
}

/* ---- Set-up -------------------------------------------------------------- */

/* Builds the heap header at `header` (64-aligned) and its range after it. */
static int build_heap(buddy_heap **heap_out, unsigned char *header, size_t metadata_room,
                      unsigned char *usable, size_t capacity, const buddy_heap_config *config) {
    buddy_heap *heap = (buddy_heap *)(void *)header;
    memset(heap, 0, sizeof *heap);
    size_t range_bytes = buddy_range_metadata_size(capacity, config->min_block_size);
    int status = buddy_range_init(&heap->range, header + HEAP_HEADER_SIZE, range_bytes, capacity,
                                  config->min_block_size, config->policy);
    assert(status == BUDDY_OK && metadata_room >= HEAP_HEADER_SIZE + range_bytes);
    (void)metadata_room; /* the caller sized the geometry and the room for it */
    heap->base = usable;
    heap->capacity = capacity;
    heap->min_block_size = config->min_block_size;
    heap->min_request = config->min_block_size < alignof(max_align_t) ? alignof(max_align_t)
                                                                      : config->min_block_size;
    heap->max_alignment = config->max_alignment;
    heap->flags =
        config->flags & BUDDY_HEAP_PACKED ? config->flags | BUDDY_HEAP_EXACT : config->flags;
    heap->lock = config->lock;
    heap->unlock = config->unlock;
    heap->lock_context = config->lock_context;
    if (config->flags & BUDDY_HEAP_THREAD_SAFE) {
        status = buddy_heap_cache_init(heap, header + HEAP_HEADER_SIZE +
                                                 align_up(range_bytes, HEADER_ALIGNMENT));
        if (status != BUDDY_OK)
            return status; /* GCOVR_EXCL_LINE: no key left */
    }
    heap->magic = HEAP_MAGIC;
    VALGRIND_CREATE_MEMPOOL(heap, 0, 0);
    debug_area_free(heap, usable, capacity);
    *heap_out = heap;
    return BUDDY_OK;
}

int buddy_heap_init(buddy_heap **heap_out, void *region, size_t region_size,
                    const buddy_heap_config *given) {
    buddy_heap_config config;
    if (heap_out == NULL || region == NULL || normalize_config(given, &config) != BUDDY_OK)
        return BUDDY_EINVAL;
    uintptr_t start = (uintptr_t)region;
    uintptr_t end = start + region_size;
    uintptr_t header = align_up(start, HEADER_ALIGNMENT);
    if (end < start || header < start || end - header <= HEAP_HEADER_SIZE)
        return BUDDY_ESMALL;
    size_t capacity = embedded_capacity(header + HEAP_HEADER_SIZE, end, &config);
    if (capacity == 0)
        return BUDDY_ESMALL;
    debug_memory_returned(region, region_size);
    size_t metadata = metadata_after_header(capacity, &config);
    uintptr_t usable = align_up(header + HEAP_HEADER_SIZE + metadata, config.max_alignment);
    unsigned char *bytes = region;
    return build_heap(heap_out, bytes + (header - start), HEAP_HEADER_SIZE + metadata,
                      bytes + (usable - start), capacity, &config);
}

int buddy_heap_init_external(buddy_heap **heap_out, void *region, size_t region_size,
                             void *metadata, size_t metadata_size, const buddy_heap_config *given) {
    buddy_heap_config config;
    if (heap_out == NULL || region == NULL || metadata == NULL ||
        normalize_config(given, &config) != BUDDY_OK)
        return BUDDY_EINVAL;
    uintptr_t start = (uintptr_t)region;
    if (start + region_size < start)
        return BUDDY_EINVAL;
    size_t capacity = usable_bytes(start, start + region_size, &config);
    if (capacity == 0)
        return BUDDY_ESMALL;
    uintptr_t header = align_up((uintptr_t)metadata, HEADER_ALIGNMENT);
    size_t slack = (size_t)(header - (uintptr_t)metadata);
    size_t needed = HEAP_HEADER_SIZE + metadata_after_header(capacity, &config);
    if (metadata_size < slack || metadata_size - slack < needed)
        return BUDDY_ESMALL;
    debug_memory_returned(region, region_size);
    debug_memory_returned(metadata, metadata_size);
    unsigned char *bytes = region;
    return build_heap(heap_out, (unsigned char *)metadata + slack, metadata_size - slack,
                      bytes + (align_up(start, config.max_alignment) - start), capacity, &config);
}

int buddy_heap_fini(buddy_heap *heap) {
    if (heap == NULL)
        return BUDDY_EINVAL;
    VALGRIND_DESTROY_MEMPOOL(heap);
    debug_memory_returned(heap->base, heap->capacity);
    if (heap->pool != NULL)
        buddy_heap_cache_fini(heap);
    heap->magic = 0;
    return BUDDY_OK;
}
