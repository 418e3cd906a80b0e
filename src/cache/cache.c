/* SPDX-License-Identifier: MIT */
/*
 * Per-thread caches in front of a range, on the range's public API (sizes.c
 * has their sizes, resizes and statistics).
 *
 * 1. A cache keeps, per cached order, a stack of offsets of blocks that the
 *    range counts as live. alloc pops the top (the block freed last, still
 *    warm); free pushes. Past the order's high-water mark, free drains the
 *    bottom half (the coldest blocks) to the range; an empty stack refills
 *    with one batch, a span of the range that is this cache's alone. Each
 *    refill and drain runs under one acquisition of the pool's lock, which
 *    serialises everything the caches do to the range.
 * 2. The pool's tags, 2 bits per min block, 16 to a 32-bit word, say what
 *    each min block is to the caches:
 *      NONE    nothing of theirs starts here;
 *      LIVE    the start of an order-k block a cache handed out;
 *      CACHED  the start of an order-k block sitting in a cache;
 *      INSIDE  min blocks 1..k of such a block (its order, in unary).
 *    The tag after the unary run is never INSIDE: it is inside the block and
 *    NONE (k >= 2), or the start of the next block (k <= 1). A block of order
 *    k is aligned to 2^k, so its tags 0..k share one word. Worked example: an
 *    order-2 block at min block 4 tags 4..7 as LIVE, INSIDE, INSIDE, NONE.
 * 3. free reads the tag: LIVE becomes CACHED in one compare-and-swap (of two
 *    racing frees of one block, one wins and the other sees CACHED: a double
 *    free); CACHED and INSIDE are rejected at once; NONE is freed by the
 *    range under the pool's lock, after the tag is read again under it. Tags
 *    go from NONE to CACHED (refill) and back (drain) only under that lock,
 *    so the range never sees a cached block freed.
 * 4. While the pool has one cache, that cache is `plain`: its owner's alloc
 *    and free write the tag word with a plain load and store. Every other
 *    thread that writes tags takes that cache from its owner first (a drain,
 *    the pool's resize), so no store is lost, and an atomic operation would
 *    only cost a memory barrier. A second cache ends it before it joins:
 *    buddy_cache_init clears the first cache's `plain`, then takes that
 *    cache from its owner and gives it back, so the owner has left any call
 *    that read 1, and reads 0 after.
 * 5. With more caches, the pool is *biased* while no thread writes a tag in
 *    another cache's granule. A granule is the smallest span a refill takes
 *    (at least one tag word); a byte per granule names the cache (ids 1 to
 *    255, never reused) whose refill took it last. A cache's owner writes
 *    the tags of its own granules plainly: no other thread writes them, as
 *    a free of such a LIVE block from another cache, a resize from another
 *    or a refill of single blocks (which may share a granule) first ends the
 *    bias for good, taking every cache from its owner with one barrier.
 *    While biased, the blocks on a cache's stacks lie in its own granules
 *    (C4): a cache alone owns nothing of what it frees, so a second cache
 *    joining makes the granules of the first's cached blocks the first's.
 *    The 256th cache made ends the bias too.
 * 6. An allocation the range refuses drains every cache and tries again.
 *
 * Locks, always taken in this order: the registry lock (the list of caches),
 * a cache's own spin lock (its stacks; uncontended unless another thread
 * drains it), the pool's lock. A cache's alloc and free take its own lock
 * and do one atomic operation on a tag word (a plain store while plain or
 * in a granule of its own while biased): O(1). A refill is O(batch + log
 * capacity); a drain moves half a mark, O(log capacity) each.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cache_internal.h"

/* ---- Pool ---------------------------------------------------------------- */

static int normalize(const buddy_cache_config *given, buddy_cache_config *config) {
    static const buddy_cache_config defaults = {DEFAULT_ORDERS, DEFAULT_HIGH_WATER};
    *config = given != NULL ? *given : defaults;
    if (config->orders == 0)
        config->orders = DEFAULT_ORDERS;
    if (config->high_water == 0)
        config->high_water = DEFAULT_HIGH_WATER;
    return config->orders <= BUDDY_CACHE_MAX_ORDERS && config->high_water <= MAX_HIGH_WATER
               ? BUDDY_OK
               : BUDDY_EINVAL;
}

/* An order's high-water mark. */
static unsigned limit_of(const buddy_cache_config *config, unsigned order) {
    unsigned limit = config->high_water >> order;
    return limit < MIN_HIGH_WATER ? MIN_HIGH_WATER : limit;
}

/* log2 of the min blocks a refill of `order` takes in one span. */
static unsigned span_shift(const buddy_cache_config *config, unsigned order) {
    return bits_log2_floor(limit_of(config, order) / 2u) + order;
}

/* log2 of the min blocks of a granule: the smallest span. */
static unsigned granule_shift_of(const buddy_cache_config *config) {
    unsigned least = span_shift(config, 0);
    for (unsigned order = 1; order < config->orders; order++) {
        unsigned shift = span_shift(config, order);
        least = shift < least ? shift : least;
    }
    return least;
}

/* The tag words and owner bytes of `blocks` min blocks, in bytes; 0 if
 * size_t cannot hold them. */
static size_t pool_arrays_size(uint64_t blocks, const buddy_cache_config *config) {
    uint64_t words = bits_div_ceil_pow2(blocks, 4),
             owners = (blocks >> granule_shift_of(config)) + 1;
    if (words > (SIZE_MAX - POOL_HEADER_SIZE) / 8u)
        return 0; /* GCOVR_EXCL_LINE: only a 32-bit target's huge range */
    return (size_t)words * sizeof(uint32_t) + (size_t)owners;
}

size_t buddy_cache_pool_size(uint64_t max_capacity, uint64_t min_block_size,
                             const buddy_cache_config *given) {
    buddy_cache_config config;
    if (!bits_is_pow2(min_block_size) || max_capacity < min_block_size ||
        normalize(given, &config) != BUDDY_OK)
        return 0;
    size_t arrays = pool_arrays_size(max_capacity >> bits_ctz(min_block_size), &config);
    return arrays == 0 ? 0 : POOL_HEADER_SIZE + arrays;
}

int buddy_cache_pool_init(buddy_cache_pool **pool_out, void *memory, size_t memory_size,
                          buddy_range *range, const buddy_cache_config *given) {
    buddy_cache_config config;
    if (pool_out == NULL || memory == NULL || range == NULL || (uintptr_t)memory % 8u != 0 ||
        normalize(given, &config) != BUDDY_OK)
        return BUDDY_EINVAL;
    buddy_range_stats stats;
    (void)buddy_range_get_stats(range, &stats);
    size_t needed = buddy_cache_pool_size(stats.max_capacity, stats.min_block_size, &config);
    if (memory_size < needed)
        return BUDDY_ESMALL;
    memset(memory, 0, needed);
    buddy_cache_pool *pool = memory;
    pool->range = range;
    pool->barriers = buddy_barrier_available();
    pool->tag_count = stats.max_capacity / stats.min_block_size;
    pool->min_block_shift = bits_ctz(stats.min_block_size);
    pool->orders = config.orders;
    unsigned top = config.orders - 1u + pool->min_block_shift;
    pool->max_cached_size = top < 64u ? UINT64_C(1) << top : UINT64_MAX;
    for (unsigned order = 0; order < config.orders; order++) {
        pool->limit[order] = limit_of(&config, order);
        pool->first[order] = pool->entries;
        pool->entries += pool->limit[order];
    }
    pool->tags = (uint32_t *)(void *)((unsigned char *)memory + POOL_HEADER_SIZE);
    pool->owners = (uint8_t *)(pool->tags + bits_div_ceil_pow2(pool->tag_count, 4));
    pool->granule_shift = granule_shift_of(&config);
    pool->biased = pool->granule_shift >= MIN_GRANULE_SHIFT;
    pool->next_id = 1;
    pool->magic = POOL_MAGIC;
    *pool_out = pool;
    return BUDDY_OK;
}

int buddy_cache_pool_fini(buddy_cache_pool *pool) {
    if (pool == NULL)
        return BUDDY_EINVAL;
    registry_lock(pool);
    bool busy = pool->list.registry.caches != NULL;
    registry_unlock(pool);
    if (busy)
        return BUDDY_EBUSY;
    pool->magic = 0;
    return BUDDY_OK;
}

void buddy_cache_pool_lock(buddy_cache_pool *pool) {
    if (pool != NULL)
        pool_lock(pool);
}

void buddy_cache_pool_unlock(buddy_cache_pool *pool) {
    if (pool != NULL)
        pool_unlock(pool);
}

/* ---- Ownership (5. at the top of the file) ------------------------------- */

void buddy_cache_end_bias_locked(buddy_cache_pool *pool) {
    if (!__atomic_load_n(&pool->biased, __ATOMIC_RELAXED))
        return;
    remote_lock_every(pool);
    __atomic_store_n(&pool->biased, 0u, __ATOMIC_RELAXED);
    for (buddy_cache *cache = pool->list.registry.caches; cache != NULL; cache = cache->next)
        __atomic_store_n(&cache->biased, 0u, __ATOMIC_RELAXED);
    remote_unlock_every(pool);
}

bool buddy_cache_unbiased_to_retry(buddy_cache_pool *pool, int status) {
    if (status != NEEDS_UNBIAS)
        return false;
    registry_lock(pool);
    buddy_cache_end_bias_locked(pool);
    registry_unlock(pool);
    return true;
}

/* Makes the granules of min blocks [first, first + count) the cache's, while
 * no other thread writes their tags or owner bytes. */
static void claim(buddy_cache *cache, uint64_t first, uint64_t count) {
    for (uint64_t granule = first >> cache->granule_shift;
         granule <= (first + count - 1u) >> cache->granule_shift; granule++) {
        YIELD();
        __atomic_store_n(&cache->owners[granule], (uint8_t)cache->id, __ATOMIC_RELAXED);
    }
}

void buddy_cache_pool_lock_all(buddy_cache_pool *pool) {
    if (pool == NULL)
        return;
    registry_lock(pool);
    remote_lock_every(pool);
    pool_lock(pool);
    if (pool->barriers)
        pool->locked_all_by = buddy_process_id();
}

void buddy_cache_pool_unlock_all(buddy_cache_pool *pool) {
    if (pool == NULL)
        return;
    /* In the child of a fork, every other cache's owner is a thread it does
     * not have; one may have been between its mark and its look (it found the
     * cache wanted, owner_try_enter), and nothing would clear that mark. */
    if (pool->barriers && buddy_process_id() != pool->locked_all_by)
        for (buddy_cache *cache = pool->list.registry.caches; cache != NULL; cache = cache->next)
            __atomic_store_n(&cache->busy, 0u, __ATOMIC_RELAXED);
    pool->locked_all_by = 0;
    pool_unlock(pool);
    remote_unlock_every(pool);
    registry_unlock(pool);
}

/* ---- A cache's stacks ---------------------------------------------------- */

/* Moves the bottom `count` blocks of an order's stack to the range; under the
 * cache's lock and the pool's. */
static void drain_bottom(buddy_cache *cache, unsigned order, unsigned count) {
    buddy_cache_pool *pool = cache->pool;
    uint64_t *stack = cache->stack[order];
    for (unsigned slot = 0; slot < count; slot++) {
        uint64_t index = stack[slot] >> pool->min_block_shift;
        clear_tags(pool, index, order, TAG_CACHED);
        int status = buddy_range_free(pool->range, stack[slot]);
        assert(status == BUDDY_OK); /* the range counts a cached block as live */
        (void)status;
    }
    cache->count[order] -= count;
    memmove(stack, stack + count, cache->count[order] * sizeof *stack);
}

/* Refills an empty stack with half its mark (a power of two) from the range,
 * lowest offset on top; the owner in. The blocks come as one batch, a span of
 * the range that is this cache's alone until they drain (so threads do not
 * share tag words or lines of memory; while biased, its granules become the
 * cache's, and a span of one granule will do), or one by one if no span is
 * free. BUDDY_OK iff at least one block came; NEEDS_UNBIAS, with nothing
 * taken, iff blocks must come one by one while the pool is biased and has
 * other caches. (Each failed batch counts as an allocation failure in the
 * range's statistics.) */
static int refill(buddy_cache *cache, unsigned order) {
    buddy_cache_pool *pool = cache->pool;
    uint64_t *taken = cache->stack[order], size = UINT64_C(1) << (order + pool->min_block_shift);
    unsigned want = 1u << bits_log2_floor(pool->limit[order] / 2), got = 0;
    bool biased = __atomic_load_n(&cache->biased, __ATOMIC_RELAXED);
    /* The least span that is whole granules, if less than `want` blocks. */
    unsigned least = order < pool->granule_shift ? 1u << (pool->granule_shift - order) : 1u;
    pool_lock(pool);
    int status = buddy_range_alloc_batch(pool->range, size, want, taken);
    if (status == BUDDY_OK)
        got = want;
    else if (biased && least < want &&
             buddy_range_alloc_batch(pool->range, size, least, taken) == BUDDY_OK)
        got = least;
    bool span = got != 0;
    if (span) {
        if (biased)
            claim(cache, taken[0] >> pool->min_block_shift, (uint64_t)got << order);
    } else if (biased && !__atomic_load_n(&cache->plain, __ATOMIC_RELAXED)) {
        pool_unlock(pool); /* single blocks may share granules with other caches' */
        return NEEDS_UNBIAS;
    } else { /* no free span, or none so large */
        for (status = BUDDY_OK; got < want && status == BUDDY_OK; got += status == BUDDY_OK)
            status = buddy_range_alloc(pool->range, size, &taken[got]);
    }
    for (unsigned slot = 0; slot < got; slot++) {
        uint64_t index = taken[slot] >> pool->min_block_shift;
        if (biased && !span) /* one by one, into the pool's only cache */
            claim(cache, index, UINT64_C(1) << order);
        YIELD();
        __atomic_fetch_or(tag_word(pool, index), tag_pattern(index, order, TAG_CACHED),
                          __ATOMIC_RELEASE);
    }
    pool_unlock(pool);
    for (unsigned slot = 0; slot < got / 2; slot++) {
        uint64_t swapped = taken[slot];
        taken[slot] = taken[got - 1 - slot];
        taken[got - 1 - slot] = swapped;
    }
    cache->count[order] = got;
    return got > 0 ? BUDDY_OK : status;
}

/* Gives every block of the cache back; under the cache's lock. */
static void drain_cache(buddy_cache *cache) {
    pool_lock(cache->pool);
    for (unsigned order = 0; order < cache->pool->orders; order++)
        drain_bottom(cache, order, cache->count[order]);
    pool_unlock(cache->pool);
}

/* Drains every cache of the pool; takes the registry lock. */
static void drain_all(buddy_cache_pool *pool) {
    registry_lock(pool);
    remote_lock_every(pool);
    for (buddy_cache *cache = pool->list.registry.caches; cache != NULL; cache = cache->next)
        drain_cache(cache);
    remote_unlock_every(pool);
    registry_unlock(pool);
}

int buddy_cache_pool_drain(buddy_cache_pool *pool) {
    if (pool == NULL)
        return BUDDY_EINVAL;
    drain_all(pool);
    return BUDDY_OK;
}

int buddy_cache_pool_reset(buddy_cache_pool *pool) {
    if (pool == NULL)
        return BUDDY_EINVAL;
    drain_all(pool);
    pool_lock(pool);
    int status = buddy_range_reset(pool->range);
    memset(pool->tags, 0, (size_t)bits_div_ceil_pow2(pool->tag_count, 4) * sizeof(uint32_t));
    pool_unlock(pool);
    return status;
}

/* ---- Caches -------------------------------------------------------------- */

size_t buddy_cache_size(const buddy_cache_config *given) {
    buddy_cache_config config;
    if (normalize(given, &config) != BUDDY_OK)
        return 0;
    size_t entries = 0;
    for (unsigned order = 0; order < config.orders; order++)
        entries += limit_of(&config, order);
    return sizeof(struct buddy_cache) + entries * sizeof(uint64_t);
}

int buddy_cache_init(buddy_cache **cache_out, void *memory, size_t memory_size,
                     buddy_cache_pool *pool) {
    if (cache_out == NULL || memory == NULL || pool == NULL || (uintptr_t)memory % 8u != 0)
        return BUDDY_EINVAL;
    if (memory_size < sizeof(struct buddy_cache) + pool->entries * sizeof(uint64_t))
        return BUDDY_ESMALL;
    buddy_cache *cache = memory;
    memset(cache, 0, sizeof *cache);
    cache->pool = pool;
    cache->magic = CACHE_MAGIC;
    cache->wanted = !pool->barriers;
    cache->tags = pool->tags;
    cache->owners = pool->owners;
    cache->granule_shift = pool->granule_shift;
    cache->tag_count = pool->tag_count;
    cache->min_block_shift = pool->min_block_shift;
    cache->orders = pool->orders;
    for (unsigned order = 0; order < pool->orders; order++) {
        cache->limit[order] = pool->limit[order];
        cache->stack[order] = &cache->entry[pool->first[order]];
    }
    registry_lock(pool);
    buddy_cache *first = pool->list.registry.caches;
    cache->plain = first == NULL;
    if (pool->next_id > MAX_OWNER_ID)
        buddy_cache_end_bias_locked(pool); /* 5. at the top of the file */
    cache->biased = __atomic_load_n(&pool->biased, __ATOMIC_RELAXED);
    cache->id = cache->biased ? pool->next_id++ : 0;
    if (first != NULL && first->plain) { /* 4. at the top of the file */
        __atomic_store_n(&first->plain, 0u, __ATOMIC_RELAXED);
        remote_lock(first);
        if (first->biased) /* what it freed alone may lie in no granule of its own */
            for (unsigned order = 0; order < pool->orders; order++)
                for (unsigned slot = 0; slot < first->count[order]; slot++)
                    claim(first, first->stack[order][slot] >> pool->min_block_shift,
                          UINT64_C(1) << order);
        remote_unlock(first);
    }
    cache->next = first;
    pool->list.registry.caches = cache;
    registry_unlock(pool);
    *cache_out = cache;
    return BUDDY_OK;
}

int buddy_cache_fini(buddy_cache *cache) {
    if (cache == NULL)
        return BUDDY_EINVAL;
    buddy_cache_pool *pool = cache->pool;
    registry_lock(pool);
    remote_lock(cache);
    drain_cache(cache);
    buddy_cache **link = &pool->list.registry.caches;
    while (*link != cache)
        link = &(*link)->next;
    *link = cache->next;
    cache->magic = 0;
    remote_unlock(cache);
    buddy_cache *rest = pool->list.registry.caches; /* no other thread writes tags now */
    if (rest != NULL && rest->next == NULL)
        __atomic_store_n(&rest->plain, 1u, __ATOMIC_RELAXED);
    registry_unlock(pool);
    return BUDDY_OK;
}

/* buddy_range_alloc under the pool's lock, draining every cache and trying
 * again if the range has no room. */
static int alloc_from_range(buddy_cache_pool *pool, uint64_t size, uint64_t *offset_out) {
    pool_lock(pool);
    int status = buddy_range_alloc(pool->range, size, offset_out);
    pool_unlock(pool);
    if (status != BUDDY_ENOMEM)
        return status;
    drain_all(pool);
    pool_lock(pool);
    status = buddy_range_alloc(pool->range, size, offset_out);
    pool_unlock(pool);
    return status;
}

/* buddy_cache_alloc past its fast path: the owner by the lock if need be, a
 * refill, or the range. */
static BUDDY_NOINLINE int alloc_slow(buddy_cache *cache, unsigned order, uint64_t size,
                                     uint64_t *offset_out) {
    buddy_cache_pool *pool = cache->pool;
    if (order < pool->orders) {
        int status;
        do {
            bool locked = owner_enter(cache);
            status = cache->count[order] != 0 ? BUDDY_OK : refill(cache, order);
            if (status == BUDDY_OK)
                *offset_out = cache_pop(cache, order);
            owner_exit(cache, locked);
        } while (buddy_cache_unbiased_to_retry(pool, status));
        if (status != BUDDY_ENOMEM)
            return status;
    }
    return alloc_from_range(pool, size, offset_out);
}

/* The fast path makes no call, so it saves no registers. */
int buddy_cache_alloc(buddy_cache *cache, uint64_t size, uint64_t *offset_out) {
    if (cache == NULL || offset_out == NULL)
        return BUDDY_EINVAL;
    unsigned order = cache_order_of(cache, size);
    if (order < cache->orders && cache_alloc_hit(cache, order, offset_out))
        return BUDDY_OK;
    return alloc_slow(cache, order, size, offset_out);
}

/* Counts a free the tags rejected, and returns its status. */
static int reject(buddy_cache_pool *pool, int status) {
    __atomic_fetch_add(&pool->list.registry.rejected_frees, 1u, __ATOMIC_RELAXED);
    return status;
}

/* Drains the bottom half of a full stack to the range. */
static BUDDY_NOINLINE void drain_half(buddy_cache *cache, unsigned order) {
    buddy_cache_pool *pool = cache->pool;
    pool_lock(pool);
    drain_bottom(cache, order, cache->limit[order] / 2);
    pool_unlock(pool);
}

/* The same on any stack, draining its bottom half if it is full. */
static void push(buddy_cache *cache, uint64_t offset, unsigned order) {
    if (cache->count[order] == cache->limit[order])
        drain_half(cache, order);
    cache_push_below_mark(cache, offset, order);
}

/* A free whose tag was NONE (or that has no tag, index = tag_count): the
 * range decides, under the pool's lock, if the tag is still NONE there.
 * Returns its status, or 1 if a refill tagged the block meanwhile. */
static int free_by_range(buddy_cache_pool *pool, uint64_t offset, uint64_t index) {
    pool_lock(pool);
    int status = 1;
    if (index >= pool->tag_count || tag_of(pool, index) == TAG_NONE)
        status = buddy_range_free(pool->range, offset);
    pool_unlock(pool);
    return status;
}

/* buddy_cache_free's work on a tagged offset, the owner in (so a block is
 * never CACHED outside a stack while the checker holds every cache), or
 * NEEDS_UNBIAS with nothing changed iff the tag is in another's granule. */
static int free_tagged(buddy_cache *cache, uint64_t offset, uint64_t index) {
    buddy_cache_pool *pool = cache->pool;
    uint32_t *word = tag_word(pool, index);
    unsigned shift = tag_shift(index);
    uint32_t seen = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    for (;;) {
        switch ((seen >> shift) & 3u) {
        case TAG_LIVE: {
            enum tag_write write = cache_tag_write(cache, index);
            if (write == WRITE_FOREIGN)
                return NEEDS_UNBIAS;
            if (cache_tag(word, &seen, shift, write)) {
                push(cache, offset, tag_order(seen, shift));
                return BUDDY_OK;
            }
            break; /* another tag of the word changed: look again */
        }
        case TAG_CACHED:
            return reject(pool, BUDDY_ENOTLIVE);
        case TAG_INSIDE:
            return reject(pool, BUDDY_ENOTSTART);
        default: {
            int status = free_by_range(pool, offset, index);
            if (status <= 0)
                return status;
            /* A refill tagged it meanwhile: a bogus free racing a refill. */
            seen = __atomic_load_n(word, __ATOMIC_ACQUIRE); /* GCOVR_EXCL_LINE */
        }
        }
    }
}

/* buddy_cache_free past its fast path. */
static BUDDY_NOINLINE int free_slow(buddy_cache *cache, uint64_t offset) {
    buddy_cache_pool *pool = cache->pool;
    uint64_t index = offset >> pool->min_block_shift;
    if ((offset & bits_low_mask(pool->min_block_shift)) != 0 || index >= pool->tag_count)
        return free_by_range(pool, offset, pool->tag_count);
    int status;
    do {
        bool locked = owner_enter(cache);
        status = free_tagged(cache, offset, index);
        owner_exit(cache, locked);
    } while (buddy_cache_unbiased_to_retry(pool, status));
    return status;
}

/* The fast path makes no call. */
int buddy_cache_free(buddy_cache *cache, uint64_t offset) {
    if (cache == NULL)
        return BUDDY_EINVAL;
    if (cache_free_hit(cache, offset))
        return BUDDY_OK;
    return free_slow(cache, offset);
}
