/* SPDX-License-Identifier: MIT */
/*
 * The caches' internals, shared by cache.c (the caches), sizes.c (a pool's
 * sizes, resizes and statistics) and check.c (their invariants): the pool's
 * and a cache's layout, the tags, the locks.
 */
#ifndef BUDDY_CACHE_INTERNAL_H
#define BUDDY_CACHE_INTERNAL_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "bits.h"
#include "buddy.h"
#include "compiler.h"
#include "lock.h"

/* The deterministic interleaving test builds the caches with a hook that may
 * switch threads before every store other threads can see. */
#ifdef BUDDY_CACHE_YIELD_HOOK
void BUDDY_CACHE_YIELD_HOOK(void);
#define YIELD() BUDDY_CACHE_YIELD_HOOK()
#else
#define YIELD() ((void)0)
#endif

#define POOL_MAGIC UINT64_C(0x62756464795f7031)  /* "buddy_p1" */
#define CACHE_MAGIC UINT64_C(0x62756464795f6331) /* "buddy_c1" */
#define DEFAULT_ORDERS 8u
#define DEFAULT_HIGH_WATER 512u
#define MIN_HIGH_WATER 16u
#define MAX_HIGH_WATER 4096u

enum tag { TAG_NONE = 0, TAG_LIVE = 1, TAG_CACHED = 2, TAG_INSIDE = 3 };
#define MAX_OWNER_ID 255u   /* owner bytes name caches 1..255; 0 is no cache */
#define MIN_GRANULE_SHIFT 4 /* a granule holds whole tag words */
#define TAGS_PER_WORD 16u
#define PAIR_LOW_BITS 0x55555555u

struct buddy_cache_pool {
    /* The locks first, a 64-byte line each, apart from what every call reads
     * (when the pool's memory is 64-byte aligned). */
    union {
        uint32_t word;          /* the range and the NONE <-> CACHED tags */
        unsigned char line[64]; // cppcheck-suppress unusedStructMember
    } lock;
    union {
        struct {
            uint32_t word; /* caches */
            buddy_cache *caches;
            uint64_t rejected_frees; /* by the tags; atomic */
        } registry;
        unsigned char line[64]; // cppcheck-suppress unusedStructMember
    } list;
    uint64_t magic;
    buddy_range *range;
    uint32_t *tags;
    uint64_t tag_count;       /* min blocks of the range's max capacity */
    uint64_t max_cached_size; /* the largest request a cache serves */
    unsigned min_block_shift;
    unsigned orders;
    unsigned limit[BUDDY_CACHE_MAX_ORDERS]; /* each order's high-water mark */
    unsigned first[BUDDY_CACHE_MAX_ORDERS]; /* where its stack starts in a cache's entries */
    unsigned entries;                       /* offsets a cache holds in all */
    bool barriers; /* buddy_barrier_available(): owners go in without the lock */
    /* Ownership (cache.c, 5): a byte per granule of 2^granule_shift min blocks,
     * the smallest span a refill takes; `biased` until the first write of a
     * tag in another cache's granule, under the registry lock. */
    uint8_t *owners;
    unsigned granule_shift;
    uint32_t biased;        /* atomic */
    unsigned next_id;       /* the next cache's id, 1..MAX_OWNER_ID; under the registry lock */
    uint32_t locked_all_by; /* buddy_process_id() of lock_all's caller, until unlock_all */
};

struct buddy_cache {
    uint64_t magic;
    buddy_cache_pool *pool;
    buddy_cache *next;
    uint32_t lock;   /* other threads', and the owner's when it cannot go in freely */
    uint32_t busy;   /* 1 while the owner is in without the lock (owner_enter) */
    uint32_t wanted; /* 1 while another thread holds the lock or waits for the owner,
                        and for good where the barrier is not available */
    uint32_t plain;  /* 1 while this is the pool's only cache: its owner writes tags
                        with plain stores (cache.c, 4); atomic, set under the registry
                        lock */
    uint32_t biased; /* the pool's, while the cache is held by the thread that ends it */
    unsigned id;     /* the owner byte of the granules this cache's refills take */
    /* The pool's geometry, copied so that a hit reads this cache alone. */
    uint32_t *tags;
    uint8_t *owners;
    unsigned granule_shift;
    uint64_t tag_count;
    unsigned min_block_shift;
    unsigned orders;
    unsigned count[BUDDY_CACHE_MAX_ORDERS];
    unsigned limit[BUDDY_CACHE_MAX_ORDERS];  /* the pool's */
    uint64_t *stack[BUDDY_CACHE_MAX_ORDERS]; /* order k's stack, in `entry` */
    uint64_t entry[]; /* pool->entries offsets: order k's stack at pool->first[k] */
};

#define POOL_HEADER_SIZE ((sizeof(struct buddy_cache_pool) + 63u) / 64u * 64u)

/* ---- Tags ---------------------------------------------------------------- */

static inline uint32_t *tag_word(const buddy_cache_pool *pool, uint64_t block_index) {
    return &pool->tags[block_index / TAGS_PER_WORD];
}

/* The owner byte of the granule that holds min block `index`. */
static inline uint8_t *owner_byte(uint8_t *owners, unsigned granule_shift, uint64_t index) {
    return &owners[index >> granule_shift];
}

static inline unsigned tag_shift(uint64_t block_index) {
    return (unsigned)(block_index % TAGS_PER_WORD) * 2u;
}

/* The tag of min block `block_index` (below tag_count), read with no order
 * against other memory: callers that need one hold the pool's lock. */
static inline enum tag tag_of(const buddy_cache_pool *pool, uint64_t block_index) {
    uint32_t word = __atomic_load_n(tag_word(pool, block_index), __ATOMIC_RELAXED);
    return (enum tag)((word >> tag_shift(block_index)) & 3u);
}

/* The order of the block whose first tag is at `shift` in `word`: the INSIDE
 * tags that follow it. */
static inline unsigned tag_order(uint32_t word, unsigned shift) {
    uint32_t after = shift + 2u < 32u ? word >> (shift + 2u) : 0u;
    uint32_t inside_pairs = after & (after >> 1) & PAIR_LOW_BITS;
    return bits_ctz(~(uint64_t)(inside_pairs | ~PAIR_LOW_BITS)) / 2u; /* the first other pair */
}

/* The tag bits of an order-`order` block at `block_index` in its word, with
 * `start` as the first tag: start, then `order` INSIDE tags. */
static inline uint32_t tag_pattern(uint64_t block_index, unsigned order, enum tag start) {
    uint32_t inside = (uint32_t)bits_low_mask(2u * order) << 2;
    return ((uint32_t)start | inside) << tag_shift(block_index);
}

/* Clears the tags of an order-`order` block that starts with `start`. */
static inline void clear_tags(const buddy_cache_pool *pool, uint64_t index, unsigned order,
                              enum tag start) {
    YIELD();
    __atomic_fetch_and(tag_word(pool, index), ~tag_pattern(index, order, start), __ATOMIC_RELAXED);
}

/* ---- Locks ------------------------------------------------------------- */

/* Takes a lock word; in the interleaving test, a loop that lets the holder
 * run (a sleeping thread would keep the baton). */
static inline void lock_word(uint32_t *word, void (*take)(uint32_t *)) {
#ifdef BUDDY_CACHE_YIELD_HOOK
    (void)take;
    YIELD();
    while (!buddy_lock_try(word))
        YIELD();
#else
    take(word);
#endif
}

static inline void registry_lock(buddy_cache_pool *pool) {
    lock_word(&pool->list.registry.word, buddy_lock_take);
}

static inline void registry_unlock(buddy_cache_pool *pool) {
    YIELD();
    buddy_lock_release(&pool->list.registry.word);
}

static inline void pool_lock(buddy_cache_pool *pool) {
    lock_word(&pool->lock.word, buddy_lock_take);
}

static inline void pool_unlock(buddy_cache_pool *pool) {
    YIELD();
    buddy_lock_release(&pool->lock.word);
}

static inline void cache_lock(buddy_cache *cache) {
    lock_word(&cache->lock, buddy_spin_take);
}

static inline void cache_unlock(buddy_cache *cache) {
    YIELD();
    buddy_spin_release(&cache->lock);
}

/* A cache's owner goes in with a plain store and load: it marks itself busy,
 * then looks whether another thread wants the cache. Another thread takes
 * the lock, says it wants the cache, runs a memory barrier on every thread
 * of the process (which makes the owner's mark seen, or the owner see its
 * wish), and waits until the owner is not busy. Only the owner writes
 * `busy`. Where the barrier is not available, the owner takes the lock.
 *
 * owner_try_enter is the way in without the lock: true iff the owner is in
 * (leave with owner_leave), false with nothing changed if the barrier is not
 * available or another thread wants the cache. */
static inline bool owner_try_enter(buddy_cache *cache) {
    YIELD();
    __atomic_store_n(&cache->busy, 1u, __ATOMIC_RELAXED);
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* the mark, then the look */
    YIELD();
    if (__atomic_load_n(&cache->wanted, __ATOMIC_ACQUIRE) == 0)
        return true;
    YIELD();
    __atomic_store_n(&cache->busy, 0u, __ATOMIC_RELEASE);
    return false;
}

static inline void owner_leave(buddy_cache *cache) {
    YIELD();
    __atomic_store_n(&cache->busy, 0u, __ATOMIC_RELEASE);
}

/* The owner's way in, by the lock if need be. Returns whether it took the
 * lock, for owner_exit. */
static inline bool owner_enter(buddy_cache *cache) {
    if (owner_try_enter(cache))
        return false;
    cache_lock(cache);
    return true;
}

static inline void owner_exit(buddy_cache *cache, bool locked) {
    if (locked)
        cache_unlock(cache);
    else
        owner_leave(cache);
}

/* Another thread's way in, in three steps (see owner_enter): the lock and
 * the wish (remote_want), the barrier, then the owner out (remote_wait).
 * remote_lock takes one cache; remote_lock_every (below) takes every cache
 * with one barrier for all of them. */
static inline void remote_want(buddy_cache *cache) {
    cache_lock(cache);
    if (cache->pool->barriers) {
        YIELD();
        __atomic_store_n(&cache->wanted, 1u, __ATOMIC_RELAXED);
    }
}

static inline void remote_wait(buddy_cache *cache) {
    if (!cache->pool->barriers)
        return;
    for (unsigned spins = 0; __atomic_load_n(&cache->busy, __ATOMIC_ACQUIRE) != 0; spins++) {
        YIELD();
        if (spins % 64u == 63u)
            sched_yield();
        else
            buddy_cpu_pause();
    }
}

static inline void remote_lock(buddy_cache *cache) {
    remote_want(cache);
    if (cache->pool->barriers)
        buddy_barrier_all_threads();
    remote_wait(cache);
}

static inline void remote_unlock(buddy_cache *cache) {
    if (cache->pool->barriers) {
        YIELD();
        __atomic_store_n(&cache->wanted, 0u, __ATOMIC_RELEASE);
    }
    cache_unlock(cache);
}

/* Takes every cache of the pool from its owner, in list order, with one
 * barrier for all of them; under the registry lock. */
static inline void remote_lock_every(buddy_cache_pool *pool) {
    for (buddy_cache *cache = pool->list.registry.caches; cache != NULL; cache = cache->next)
        remote_want(cache);
    if (pool->barriers && pool->list.registry.caches != NULL)
        buddy_barrier_all_threads();
    for (buddy_cache *cache = pool->list.registry.caches; cache != NULL; cache = cache->next)
        remote_wait(cache);
}

static inline void remote_unlock_every(buddy_cache_pool *pool) {
    for (buddy_cache *cache = pool->list.registry.caches; cache != NULL; cache = cache->next)
        remote_unlock(cache);
}

/* A status of the calls that write a tag word under the pool's lock, which
 * the caller, out of its cache, answers by ending the bias and trying again. */
#define NEEDS_UNBIAS 2

/* Ends the pool's bias for good: every cache is taken from its owner, with
 * one barrier, and writes tags atomically from then on. Under the registry
 * lock. */
void buddy_cache_end_bias_locked(buddy_cache_pool *pool);
/* True iff `status` is NEEDS_UNBIAS, after ending the bias: the caller, out
 * of its cache, tries again. */
bool buddy_cache_unbiased_to_retry(buddy_cache_pool *pool, int status);

/* ---- The hit paths ------------------------------------------------------- */

/* Inline in buddy_cache_alloc and buddy_cache_free, and in the heap's malloc
 * and free, which call no function on a hit. */

/* The order of a request of at most the largest cached size: the bit length
 * of the min blocks past the first. cache_order_of is the same for any
 * request, the count of orders if it is not cached. */
static inline unsigned cache_order_below(const buddy_cache *cache, uint64_t size) {
    uint64_t above = (size - (size != 0)) >> cache->min_block_shift;
    return bits_log2_floor(2u * above + 1u);
}

static inline unsigned cache_order_of(const buddy_cache *cache, uint64_t size) {
    return size > cache->pool->max_cached_size ? cache->orders : cache_order_below(cache, size);
}

/* The tag word of min block `index`. */
static inline uint32_t *cache_tag_word(const buddy_cache *cache, uint64_t index) {
    return &cache->tags[index / TAGS_PER_WORD];
}

/* The byte of the tags that holds min block `index`'s tag (at its low bits,
 * for `index` a multiple of 4) and the next three. */
static inline uint8_t *cache_tag_byte(const buddy_cache *cache, uint64_t index) {
    unsigned lane = (unsigned)(index % TAGS_PER_WORD) / 4u;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    lane = 3u - lane;
#endif
    return (uint8_t *)cache_tag_word(cache, index) + lane;
}

/* Pops the top of a non-empty stack and tags it LIVE; the owner is in. */
BUDDY_HOT_INLINE uint64_t cache_pop(buddy_cache *cache, unsigned order) {
    unsigned count = cache->count[order] - 1u;
    uint64_t offset = cache->stack[order][count];
    YIELD(); /* as in cache_push_below_mark */
    cache->count[order] = count;
    uint64_t index = offset >> cache->min_block_shift;
    /* Only this cache's owner turns its CACHED tags LIVE, and no other thread
     * writes them meanwhile (a free of a CACHED block writes nothing). While
     * plain or biased, no other thread writes the word. A block of order 2 or more has
     * the byte of its first four tags to itself: a byte store leaves the
     * word's other tags to their threads' atomic read-modify-writes, which
     * never undo it (a compare-and-swap that read the old byte fails). */
    uint32_t *word = cache_tag_word(cache, index), flip = (uint32_t)3u << tag_shift(index);
    bool plain = __atomic_load_n(&cache->plain, __ATOMIC_RELAXED) ||
                 __atomic_load_n(&cache->biased, __ATOMIC_RELAXED); /* a granule of its own */
    if (plain || order < 2u) {
        uint32_t seen = __atomic_load_n(word, __ATOMIC_RELAXED);
        YIELD();
        if (plain)
            __atomic_store_n(word, seen ^ flip, __ATOMIC_RELEASE);
        else
            __atomic_fetch_xor(word, flip, __ATOMIC_RELEASE);
    } else {
        uint8_t *byte = cache_tag_byte(cache, index),
                seen = __atomic_load_n(byte, __ATOMIC_RELAXED);
        YIELD();
        __atomic_store_n(byte, (uint8_t)(seen ^ 3u), __ATOMIC_RELEASE);
    }
    return offset;
}

/* Pushes a block this cache just took from LIVE to CACHED on a stack with
 * room; the owner is in. */
BUDDY_HOT_INLINE void cache_push_below_mark(buddy_cache *cache, uint64_t offset, unsigned order) {
    unsigned count = cache->count[order];
    cache->stack[order][count] = offset;
    YIELD(); /* a drain from another thread reads the stack and its count */
    cache->count[order] = count + 1u;
}

/* How the owner, in, may write the tag word of min block `index`: plainly
 * while the pool has this cache alone or the word is in its granule while
 * the pool is biased; not at all while the pool is biased and the granule is
 * another's (the bias must end first, cache.c, 5); else atomically. Tags are
 * stored with release and a free loads them with acquire, so a free that
 * reads a tag a refill's cache wrote after claiming the granule also reads
 * the claim (even a stray free of a block that is live again). */
enum tag_write { WRITE_PLAIN, WRITE_ATOMIC, WRITE_FOREIGN };

BUDDY_HOT_INLINE enum tag_write cache_tag_write(const buddy_cache *cache, uint64_t index) {
    if (__atomic_load_n(&cache->plain, __ATOMIC_RELAXED))
        return WRITE_PLAIN;
    if (!__atomic_load_n(&cache->biased, __ATOMIC_RELAXED))
        return WRITE_ATOMIC;
    uint8_t owner =
        __atomic_load_n(owner_byte(cache->owners, cache->granule_shift, index), __ATOMIC_RELAXED);
    return owner == cache->id ? WRITE_PLAIN : WRITE_FOREIGN;
}

/* Turns the LIVE tag at `shift` of `word`, seen as `*seen`, CACHED, as
 * `write` (not WRITE_FOREIGN) says; the owner is in. True iff done; false
 * with `*seen` loaded again iff another tag of the word changed (never with a
 * plain write). */
BUDDY_HOT_INLINE bool cache_tag(uint32_t *word, uint32_t *seen, unsigned shift,
                                enum tag_write write) {
    uint32_t flip = (uint32_t)3u << shift;
    YIELD();
    if (write == WRITE_PLAIN) {
        __atomic_store_n(word, *seen ^ flip, __ATOMIC_RELEASE);
        return true;
    }
    return __atomic_compare_exchange_n(word, seen, *seen ^ flip, false, __ATOMIC_ACQ_REL,
                                       __ATOMIC_RELAXED);
}

/* buddy_cache_alloc's hit for a cached `order`: true with the block at
 * *offset_out iff its stack holds a block and the owner went in without the
 * lock; else false with nothing changed. */
BUDDY_HOT_INLINE bool cache_alloc_hit(buddy_cache *cache, unsigned order, uint64_t *offset_out) {
    if (!owner_try_enter(cache))
        return false;
    bool hit = cache->count[order] != 0;
    if (hit)
        *offset_out = cache_pop(cache, order);
    owner_leave(cache);
    return hit;
}

/* buddy_cache_free's hit: true iff `offset` starts a LIVE block, now CACHED
 * on its order's stack, which had room, the owner in without the lock and
 * the tag not another's to write; else false with nothing changed. */
BUDDY_HOT_INLINE bool cache_free_hit(buddy_cache *cache, uint64_t offset) {
    uint64_t index = offset >> cache->min_block_shift;
    if (index << cache->min_block_shift != offset || index >= cache->tag_count ||
        !owner_try_enter(cache))
        return false;
    uint32_t *word = cache_tag_word(cache, index);
    unsigned shift = tag_shift(index);
    uint32_t seen = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    bool hit = false;
    if (((seen >> shift) & 3u) == TAG_LIVE) {
        unsigned order = tag_order(seen, shift);
        enum tag_write write = cache_tag_write(cache, index);
        hit = cache->count[order] != cache->limit[order] && write != WRITE_FOREIGN &&
              cache_tag(word, &seen, shift, write);
        if (hit)
            cache_push_below_mark(cache, offset, order);
    }
    owner_leave(cache);
    return hit;
}

#endif /* BUDDY_CACHE_INTERNAL_H */
