/* SPDX-License-Identifier: MIT */
/*
 * A pool's sizes, resizes and statistics (the range's, with every cached
 * block counted free), under the locks in the order of cache.c, which has
 * the rest of the caches.
 */
#include <stdbool.h>
#include <stdint.h>

#include "cache_internal.h"

/* The tag at `offset` under the pool's lock, TAG_NONE beyond the tags. */
static enum tag tag_at(const buddy_cache_pool *pool, uint64_t offset) {
    uint64_t index = offset >> pool->min_block_shift;
    return index < pool->tag_count ? tag_of(pool, index) : TAG_NONE;
}

int buddy_cache_pool_block_size(buddy_cache_pool *pool, uint64_t offset, uint64_t *size_out) {
    if (pool == NULL || size_out == NULL)
        return BUDDY_EINVAL;
    pool_lock(pool);
    int status = tag_at(pool, offset) == TAG_CACHED
                     ? BUDDY_ENOTLIVE
                     : buddy_range_size(pool->range, offset, size_out);
    pool_unlock(pool);
    return status;
}

/* buddy_cache_pool_resize's work, under the pool's lock, with no thread
 * writing the block's tag word with plain stores meanwhile (4 and 5 at the
 * top of cache.c): `cache`, if not NULL, is in, and NEEDS_UNBIAS, with
 * nothing changed, says that the word is in another's granule. */
static int resize_block(buddy_cache_pool *pool, buddy_cache *cache, uint64_t offset,
                        uint64_t new_size) {
    pool_lock(pool);
    enum tag tag = tag_at(pool, offset);
    if (tag == TAG_LIVE && cache != NULL &&
        cache_tag_write(cache, offset >> pool->min_block_shift) == WRITE_FOREIGN) {
        pool_unlock(pool);
        return NEEDS_UNBIAS;
    }
    int status = BUDDY_ENOTLIVE;
    if (tag != TAG_CACHED)
        status = buddy_range_resize(pool->range, offset, new_size);
    if (tag == TAG_LIVE && status == BUDDY_OK) {
        uint64_t index = offset >> pool->min_block_shift, size = 0;
        uint32_t *word = tag_word(pool, index);
        unsigned old_order = tag_order(__atomic_load_n(word, __ATOMIC_RELAXED), tag_shift(index));
        (void)buddy_range_size(pool->range, offset, &size);
        if (bits_log2_floor(size >> pool->min_block_shift) != old_order)
            clear_tags(pool, index, old_order, TAG_LIVE); /* its free goes to the range now */
    }
    pool_unlock(pool);
    return status;
}

int buddy_cache_pool_resize(buddy_cache_pool *pool, uint64_t offset, uint64_t new_size) {
    if (pool == NULL)
        return BUDDY_EINVAL;
    registry_lock(pool);
    buddy_cache *only = pool->list.registry.caches;
    if (only != NULL && !only->plain) {
        only = NULL;
        buddy_cache_end_bias_locked(pool); /* it may write tags in any cache's granule */
    }
    if (only != NULL)
        remote_lock(only);
    int status = resize_block(pool, NULL, offset, new_size);
    if (only != NULL)
        remote_unlock(only);
    registry_unlock(pool);
    return status;
}

int buddy_cache_resize(buddy_cache *cache, uint64_t offset, uint64_t new_size) {
    if (cache == NULL)
        return BUDDY_EINVAL;
    int status;
    do {
        bool locked = owner_enter(cache);
        status = resize_block(cache->pool, cache, offset, new_size);
        owner_exit(cache, locked);
    } while (buddy_cache_unbiased_to_retry(cache->pool, status));
    return status;
}

int buddy_cache_pool_get_stats(buddy_cache_pool *pool, buddy_range_stats *stats_out) {
    if (pool == NULL || stats_out == NULL)
        return BUDDY_EINVAL;
    uint64_t cached[BUDDY_CACHE_MAX_ORDERS] = {0};
    registry_lock(pool);
    remote_lock_every(pool); /* every cache and the range at one moment */
    for (buddy_cache *cache = pool->list.registry.caches; cache != NULL; cache = cache->next)
        for (unsigned order = 0; order < pool->orders; order++)
            cached[order] += cache->count[order];
    pool_lock(pool);
    buddy_range_stats stats;
    (void)buddy_range_get_stats(pool->range, &stats);
    pool_unlock(pool);
    remote_unlock_every(pool);
    registry_unlock(pool);
    for (unsigned order = 0; order < pool->orders; order++) {
        uint64_t bytes = cached[order] << (order + pool->min_block_shift);
        stats.free_bytes += bytes;
        stats.allocated_bytes -= bytes;
        stats.live_blocks -= cached[order];
        stats.free_blocks[order] += cached[order];
        if (cached[order] != 0 && stats.largest_free_block < bytes / cached[order])
            stats.largest_free_block = bytes / cached[order];
    }
    stats.rejected_frees += __atomic_load_n(&pool->list.registry.rejected_frees, __ATOMIC_RELAXED);
    *stats_out = stats;
    return BUDDY_OK;
}
