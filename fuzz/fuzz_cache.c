/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the caches, on one thread: the input is a geometry, a
 * pool's configuration (small high-water marks, so that refills and drains
 * are frequent) and a program for up to four caches: allocations through any
 * of them and through the range under the pool's lock, frees of live blocks
 * through any cache, rejected frees (double, interior, any offset), resizes
 * through the pool and through a cache, sizes, drains, resets, and caches
 * made and ended on the way (a pool with one cache writes its tags without
 * atomic operations; the second one ends that, as a foreign free ends the
 * bias). A shadow list keeps every live block: blocks lie in the range,
 * never overlap and keep their sizes; after every operation the pool's
 * statistics count exactly the shadow's bytes and blocks, and the checker
 * passes; a rejected free changes nothing but its counter; and an allocation
 * fails only when no free block is large enough with every cache drained.
 */
#include <stdlib.h>
#include <string.h>

#include "buddy.h"
#include "fuzz_input.h"
#include "range_snapshot.h"

#define MAX_LIVE 256
#define MAX_CACHES 4

typedef struct live_block {
    uint64_t offset, size; /* size: the block's (a run's) bytes */
} live_block;

typedef struct session {
    buddy_range *range;
    buddy_cache_pool *pool;
    buddy_cache *caches[MAX_CACHES]; /* NULL: a free slot */
    void *cache_memory[MAX_CACHES];
    size_t cache_size;
    uint64_t capacity, min_block;
    live_block live[MAX_LIVE];
    size_t live_count;
    uint64_t last_freed;
    unsigned char *snapshot;
} session;

/* The first cache in use (there is always one). */
static buddy_cache *first_cache(const session *s) {
    unsigned i = 0;
    while (s->caches[i] == NULL)
        i++;
    return s->caches[i];
}

/* A cache in use, picked by the input. */
static buddy_cache *pick_cache(session *s, fuzz_input *in) {
    unsigned i = read_u8(in) % MAX_CACHES;
    while (s->caches[i] == NULL)
        i = (i + 1) % MAX_CACHES;
    return s->caches[i];
}

static size_t find_live(const session *s, uint64_t offset) {
    for (size_t i = 0; i < s->live_count; i++)
        if (s->live[i].offset == offset)
            return i;
    return MAX_LIVE;
}

static void forget_live(session *s, size_t i) {
    s->live[i] = s->live[--s->live_count];
}

static uint64_t block_size(session *s, uint64_t offset) {
    uint64_t size = 0;
    FUZZ_REQUIRE(buddy_cache_pool_block_size(s->pool, offset, &size) == BUDDY_OK);
    return size;
}

/* A new block of `size` bytes, asked for `asked`: in the range, disjoint
 * from every live block. */
static void adopt(session *s, uint64_t offset, uint64_t asked) {
    uint64_t size = block_size(s, offset);
    FUZZ_REQUIRE(size >= asked && offset % s->min_block == 0 && offset + size <= s->capacity);
    for (size_t i = 0; i < s->live_count; i++)
        FUZZ_REQUIRE(offset + size <= s->live[i].offset ||
                     s->live[i].offset + s->live[i].size <= offset);
    if (s->live_count < MAX_LIVE) {
        s->live[s->live_count].offset = offset;
        s->live[s->live_count++].size = size;
    } else {
        FUZZ_REQUIRE(buddy_cache_free(first_cache(s), offset) == BUDDY_OK);
    }
}

/* The pool's statistics count the shadow's blocks and bytes exactly. */
static void require_exact_stats(session *s, buddy_range_stats *stats) {
    FUZZ_REQUIRE(buddy_cache_pool_get_stats(s->pool, stats) == BUDDY_OK);
    uint64_t bytes = 0;
    for (size_t i = 0; i < s->live_count; i++)
        bytes += s->live[i].size;
    FUZZ_REQUIRE(stats->live_blocks == s->live_count && stats->allocated_bytes == bytes &&
                 stats->free_bytes + bytes == stats->capacity);
}

static void do_alloc(session *s, buddy_cache *cache, uint64_t size) {
    uint64_t offset = 0;
    int status = buddy_cache_alloc(cache, size, &offset);
    if (status == BUDDY_OK) {
        adopt(s, offset, size);
        return;
    }
    FUZZ_REQUIRE(status == BUDDY_ENOMEM || status == BUDDY_ETOOBIG);
    if (status == BUDDY_ENOMEM) { /* every cache drained: no free block holds it */
        uint64_t rounded = s->min_block;
        while (rounded < size && rounded < (UINT64_C(1) << 63))
            rounded <<= 1;
        buddy_range_stats pool_stats, stats;
        FUZZ_REQUIRE(buddy_cache_pool_get_stats(s->pool, &pool_stats) == BUDDY_OK);
        buddy_range_get_stats(s->range, &stats);
        FUZZ_REQUIRE(stats.free_bytes == pool_stats.free_bytes); /* no block in a cache */
        FUZZ_REQUIRE(stats.largest_free_block < rounded);
    }
}

/* An exact, packed or aligned allocation from the range, under the pool's
 * lock; its free goes through a cache. */
static void do_range_alloc(session *s, unsigned kind, uint64_t size, fuzz_input *in) {
    uint64_t offset = 0, alignment = (uint64_t)1 << (read_u8(in) % 16);
    buddy_cache_pool_lock(s->pool);
    int status = kind == 0   ? buddy_range_alloc_exact(s->range, size, &offset)
                 : kind == 1 ? buddy_range_alloc_packed(s->range, size, &offset)
                             : buddy_range_alloc_aligned(s->range, size, alignment, &offset);
    buddy_cache_pool_unlock(s->pool);
    if (status == BUDDY_OK) {
        FUZZ_REQUIRE(kind != 2 || offset % alignment == 0);
        adopt(s, offset, size);
    }
}

/* A free that must be rejected: every byte of the range as before but its
 * counters, and the pool's statistics as before but one more rejected free. */
static void require_rejected(session *s, buddy_cache *cache, uint64_t offset) {
    buddy_range_stats before, after;
    require_exact_stats(s, &before);
    memcpy(s->snapshot, s->range, (size_t)s->range->metadata_size);
    FUZZ_REQUIRE(buddy_cache_free(cache, offset) != BUDDY_OK);
    FUZZ_REQUIRE(range_same_but_counters(s->snapshot, s->range));
    require_exact_stats(s, &after);
    FUZZ_REQUIRE(after.rejected_frees == before.rejected_frees + 1);
    before.rejected_frees = after.rejected_frees;
    FUZZ_REQUIRE(memcmp(&before, &after, sizeof before) == 0);
}

static void do_free_any(session *s, buddy_cache *cache, uint64_t offset) {
    size_t i = find_live(s, offset);
    if (i == MAX_LIVE) {
        require_rejected(s, cache, offset);
    } else {
        FUZZ_REQUIRE(buddy_cache_free(cache, offset) == BUDDY_OK);
        forget_live(s, i);
        s->last_freed = offset;
    }
}

static void do_resize(session *s, fuzz_input *in, bool through_cache) {
    if (s->live_count == 0)
        return;
    size_t i = read_bytes(in, 2) % s->live_count;
    uint64_t size = read_size(in);
    buddy_cache *cache = pick_cache(s, in);
    int status = through_cache ? buddy_cache_resize(cache, s->live[i].offset, size)
                               : buddy_cache_pool_resize(s->pool, s->live[i].offset, size);
    if (status == BUDDY_OK) {
        live_block block = s->live[i];
        forget_live(s, i);
        adopt(s, block.offset, size);
    } else {
        FUZZ_REQUIRE(status == BUDDY_ENOMEM || status == BUDDY_ETOOBIG);
        FUZZ_REQUIRE(block_size(s, s->live[i].offset) == s->live[i].size);
    }
}

/* Ends the cache in slot i (its blocks go back) or makes one there. */
static void toggle_cache(session *s, unsigned i) {
    unsigned in_use = 0;
    for (unsigned k = 0; k < MAX_CACHES; k++)
        in_use += s->caches[k] != NULL;
    if (s->caches[i] != NULL) {
        if (in_use == 1)
            return; /* keep one */
        FUZZ_REQUIRE(buddy_cache_fini(s->caches[i]) == BUDDY_OK);
        s->caches[i] = NULL;
    } else {
        memset(s->cache_memory[i], 0xa5, s->cache_size); /* no help from zeros */
        FUZZ_REQUIRE(buddy_cache_init(&s->caches[i], s->cache_memory[i], s->cache_size, s->pool) ==
                     BUDDY_OK);
    }
}

/* An offset to free that is rarely a live block's start: the last one freed,
 * any offset, or one inside a live block (min-block aligned, or not). */
static uint64_t suspect_offset(const session *s, uint8_t op, fuzz_input *in) {
    if (op & 16u)
        return s->last_freed;
    if ((op & 32u) || s->live_count == 0)
        return read_bytes(in, 3) % (s->capacity + 64);
    uint64_t start = s->live[read_bytes(in, 2) % s->live_count].offset;
    return start + ((op & 64u) ? 1 + read_u8(in) % 64 : (1 + read_u8(in) % 8) * s->min_block);
}

static void run_program(session *s, fuzz_input *in) {
    while (in->size > 0) {
        uint8_t op = read_u8(in);
        switch (op % 10) {
        case 0:
        case 1: /* mostly small sizes: the cached orders */
            do_alloc(s, pick_cache(s, in), read_size(in) >> (op & 8u ? 0 : 4));
            break;
        case 2:
            do_range_alloc(s, (op >> 4) % 3, read_size(in), in);
            break;
        case 3:
        case 4: /* a live block, through any cache */
            if (s->live_count > 0)
                do_free_any(s, pick_cache(s, in),
                            s->live[read_bytes(in, 2) % s->live_count].offset);
            break;
        case 5:
            do_free_any(s, pick_cache(s, in), suspect_offset(s, op, in));
            break;
        case 6:
            do_resize(s, in, (op & 16u) != 0);
            break;
        case 7: { /* a live block's size, or any offset's */
            uint64_t offset = read_bytes(in, 3) % (s->capacity + 64), size = 0;
            size_t i = find_live(s, offset);
            int status = buddy_cache_pool_block_size(s->pool, offset, &size);
            FUZZ_REQUIRE(i == MAX_LIVE ? status != BUDDY_OK : size == s->live[i].size);
            if (s->live_count > 0)
                FUZZ_REQUIRE(block_size(s, s->live[0].offset) == s->live[0].size);
            break;
        }
        case 8:
            toggle_cache(s, (op >> 4) % MAX_CACHES);
            break;
        default:
            if (op & 16u) {
                FUZZ_REQUIRE(buddy_cache_pool_drain(s->pool) == BUDDY_OK);
                buddy_range_stats stats;
                buddy_range_get_stats(s->range, &stats);
                FUZZ_REQUIRE(stats.live_blocks == s->live_count);
            } else if ((op & 32u) && (op & 64u)) {
                FUZZ_REQUIRE(buddy_cache_pool_reset(s->pool) == BUDDY_OK);
                s->live_count = 0;
            }
            break;
        }
        buddy_range_stats stats;
        require_exact_stats(s, &stats);
        FUZZ_REQUIRE(buddy_cache_pool_check(s->pool) == BUDDY_OK);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_input in = {data, size};
    session s = {0};
    s.min_block = (uint64_t)1 << (read_u8(&in) % 8);
    uint64_t blocks = 16 + read_bytes(&in, 2) % 4096;
    uint8_t flags = read_u8(&in); /* bit 0: policy; 1..2: the caches at the start, less one */
    s.capacity = blocks * s.min_block;
    buddy_cache_config config = {read_u8(&in) % (BUDDY_CACHE_MAX_ORDERS + 1),
                                 read_u8(&in) % 80}; /* 0 is the default: 8 orders, 512 */
    buddy_range_config range_config = {
        s.capacity, s.capacity, s.min_block, (flags & 1u) ? BUDDY_FIRST_FIT : BUDDY_BEST_FIT,
        0,          NULL,       NULL,        NULL};
    FUZZ_REQUIRE(buddy_range_create_config(&s.range, &range_config) == BUDDY_OK);
    size_t pool_size = buddy_cache_pool_size(s.capacity, s.min_block, &config);
    s.cache_size = buddy_cache_size(&config);
    FUZZ_REQUIRE(pool_size != 0 && s.cache_size != 0);
    void *pool_memory = aligned_alloc(64, (pool_size + 63) & ~(size_t)63);
    s.snapshot = malloc((size_t)s.range->metadata_size);
    FUZZ_REQUIRE(pool_memory != NULL && s.snapshot != NULL);
    FUZZ_REQUIRE(buddy_cache_pool_init(&s.pool, pool_memory, pool_size, s.range, &config) ==
                 BUDDY_OK);
    for (unsigned i = 0; i < MAX_CACHES; i++) {
        s.cache_memory[i] = aligned_alloc(64, (s.cache_size + 63) & ~(size_t)63);
        FUZZ_REQUIRE(s.cache_memory[i] != NULL);
        if (i <= ((flags >> 1) & 3u))
            toggle_cache(&s, i);
    }
    run_program(&s, &in);

    /* Everything back through the first cache in use, then every cache ended:
     * the range is empty. */
    while (s.live_count > 0)
        do_free_any(&s, first_cache(&s), s.live[s.live_count - 1].offset);
    FUZZ_REQUIRE(buddy_cache_pool_fini(s.pool) == BUDDY_EBUSY);
    for (unsigned i = 0; i < MAX_CACHES; i++) {
        if (s.caches[i] != NULL)
            FUZZ_REQUIRE(buddy_cache_fini(s.caches[i]) == BUDDY_OK);
        free(s.cache_memory[i]);
    }
    FUZZ_REQUIRE(buddy_cache_pool_fini(s.pool) == BUDDY_OK);
    buddy_range_stats stats;
    buddy_range_get_stats(s.range, &stats);
    FUZZ_REQUIRE(stats.free_bytes == stats.capacity && stats.live_blocks == 0);
    FUZZ_REQUIRE(buddy_range_check(s.range) == BUDDY_OK);
    free(pool_memory);
    free(s.snapshot);
    buddy_range_destroy(s.range);
    return 0;
}
