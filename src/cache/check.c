/* SPDX-License-Identifier: MIT */
/*
 * The caches' invariants, C1..C4 of docs/design.md: every tag that starts a
 * block starts a live block of its order in the range, the tags inside a
 * block follow the order's code, the stacks hold exactly the cached blocks,
 * and, while the pool is biased, in granules of their own cache's. For
 * tests and debugging: it takes every lock.
 */
#include <stdbool.h>

#include "cache_internal.h"

/* Checks the tags from `index` on against the range: one block of tags, or
 * a NONE tag. Returns the next index, or 0 (never a next index) if broken. */
static uint64_t check_tag_block(const buddy_cache_pool *pool, uint64_t index, uint64_t *cached,
                                uint64_t *sum) {
    uint32_t word = __atomic_load_n(tag_word(pool, index), __ATOMIC_RELAXED);
    unsigned shift = tag_shift(index), tag = (word >> shift) & 3u;
    if (tag == TAG_NONE)
        return index + 1;
    unsigned order = tag_order(word, shift);
    uint64_t size = 0, offset = index << pool->min_block_shift;
    if (tag == TAG_INSIDE || order >= pool->orders || (index & bits_low_mask(order)) != 0 ||
        buddy_range_size(pool->range, offset, &size) != BUDDY_OK ||
        size != UINT64_C(1) << (order + pool->min_block_shift))
        return 0; /* C1, C2 */
    for (uint64_t after = index + order + 1; after < index + (UINT64_C(1) << order); after++)
        if (tag_of(pool, after) != TAG_NONE)
            return 0; /* C2 */
    if (tag == TAG_CACHED) {
        ++*cached;
        *sum += offset * 2654435761u ^ offset;
    }
    return index + (UINT64_C(1) << order);
}

/* C3: the caches' stacks hold exactly the CACHED blocks, each of its order;
 * C4: while the pool is biased, a cache not alone holds blocks of its own
 * granules only. */
static bool stacks_match(buddy_cache_pool *pool, uint64_t cached, uint64_t sum) {
    uint64_t entries = 0, entry_sum = 0;
    for (buddy_cache *cache = pool->list.registry.caches; cache != NULL; cache = cache->next) {
        bool own_granules = pool->biased && !cache->plain; /* C4 */
        if (cache->magic != CACHE_MAGIC || cache->pool != pool || cache->tags != pool->tags ||
            cache->tag_count != pool->tag_count || cache->orders != pool->orders ||
            cache->min_block_shift != pool->min_block_shift || cache->owners != pool->owners ||
            cache->granule_shift != pool->granule_shift || cache->biased != pool->biased ||
            (pool->biased && (cache->id == 0 || cache->id >= pool->next_id)))
            return false;
        for (unsigned order = 0; order < pool->orders; order++) {
            if (cache->stack[order] != &cache->entry[pool->first[order]] ||
                cache->limit[order] != pool->limit[order] ||
                cache->count[order] > pool->limit[order])
                return false;
            for (unsigned slot = 0; slot < cache->count[order]; slot++) {
                uint64_t offset = cache->stack[order][slot];
                uint64_t index = offset >> pool->min_block_shift;
                uint32_t word = __atomic_load_n(tag_word(pool, index), __ATOMIC_RELAXED);
                if (index >= pool->tag_count || ((word >> tag_shift(index)) & 3u) != TAG_CACHED ||
                    tag_order(word, tag_shift(index)) != order ||
                    (own_granules &&
                     *owner_byte(pool->owners, pool->granule_shift, index) != cache->id))
                    return false;
                entries++;
                entry_sum += offset * 2654435761u ^ offset;
            }
        }
    }
    return entries == cached && entry_sum == sum;
}

int buddy_cache_pool_check(buddy_cache_pool *pool) {
    if (pool == NULL)
        return BUDDY_EINVAL;
    if (pool->magic != POOL_MAGIC)
        return BUDDY_ECORRUPT;
    buddy_cache_pool_lock_all(pool);
    int status = buddy_range_check(pool->range);
    uint64_t cached = 0, sum = 0;
    for (uint64_t index = 0; index < pool->tag_count && status == BUDDY_OK;) {
        index = check_tag_block(pool, index, &cached, &sum);
        if (index == 0)
            status = BUDDY_ECORRUPT;
    }
    if (status == BUDDY_OK && !stacks_match(pool, cached, sum))
        status = BUDDY_ECORRUPT;
    buddy_cache_pool_unlock_all(pool);
    return status;
}
