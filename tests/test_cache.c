/* SPDX-License-Identifier: MIT */
/*
 * Caches in front of a range, on one thread: LIFO reuse, batches and the
 * high-water mark, every rejected free (a block in this cache or another,
 * an offset inside a small block, foreign offsets) with the range's and the
 * pool's bytes unchanged, drain and retry before ENOMEM, exact statistics,
 * sizes and resizes, a pool with one cache (no atomic operations on the
 * tags), a fork, and the calls' bad arguments. All of it twice: with
 * the owners going in without their lock where the system has the barrier
 * that needs, and with the lock, as where it has none.
 */
#define _POSIX_C_SOURCE 200809L /* fork, alarm */
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buddy.h"
#include "cache_internal.h"
#include "check.h"
#include "layout.h"

#define MIN_BLOCK 16u
#define CAPACITY (UINT64_C(1) << 16) /* 4096 min blocks */

static _Alignas(64) unsigned char range_memory[1 << 16];
static _Alignas(64) unsigned char pool_memory[4096];
static _Alignas(64) unsigned char cache_memory[2][16384];
static unsigned char range_before[sizeof range_memory], pool_before[sizeof pool_memory];

static buddy_range *range;
static buddy_cache_pool *pool;
static buddy_cache *caches[2];
static bool owners_lock; /* the second pass: every owner takes its lock */

static void set_up(uint64_t capacity, const buddy_cache_config *config) {
    CHECK_STATUS(buddy_range_init(&range, range_memory, sizeof range_memory, capacity, MIN_BLOCK,
                                  BUDDY_BEST_FIT),
                 BUDDY_OK);
    CHECK(buddy_cache_pool_size(capacity, MIN_BLOCK, config) <= sizeof pool_memory);
    CHECK_STATUS(buddy_cache_pool_init(&pool, pool_memory, sizeof pool_memory, range, config),
                 BUDDY_OK);
    if (owners_lock)
        pool->barriers = false;
    memset(cache_memory, 0, sizeof cache_memory); /* no stale stack entries */
    for (int i = 0; i < 2; i++)
        CHECK_STATUS(buddy_cache_init(&caches[i], cache_memory[i], sizeof cache_memory[i], pool),
                     BUDDY_OK);
}

static void tear_down(void) {
    CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_OK);
    CHECK_STATUS(buddy_cache_pool_fini(pool), BUDDY_EBUSY);
    for (int i = 0; i < 2; i++)
        CHECK_STATUS(buddy_cache_fini(caches[i]), BUDDY_OK);
    CHECK_STATUS(buddy_cache_pool_fini(pool), BUDDY_OK);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
}

static uint64_t alloc_ok(buddy_cache *cache, uint64_t size) {
    uint64_t offset = UINT64_MAX;
    CHECK_STATUS(buddy_cache_alloc(cache, size, &offset), BUDDY_OK);
    return offset;
}

/* A free that must be rejected with `expected`, leaving the range's and the
 * pool's tag bytes as they were. */
static void check_rejected_at(int line, buddy_cache *cache, uint64_t offset, int expected) {
    memcpy(range_before, range_memory, sizeof range_memory);
    memcpy(pool_before, pool_memory, sizeof pool_memory);
    buddy_range_stats before, after;
    CHECK_STATUS(buddy_cache_pool_get_stats(pool, &before), BUDDY_OK);
    int status = buddy_cache_free(cache, offset);
    if (status != expected)
        fprintf(stderr, "line %d: ", line);
    CHECK_STATUS(status, expected);
    CHECK_STATUS(buddy_cache_pool_get_stats(pool, &after), BUDDY_OK);
    CHECK_EQ_U64(after.rejected_frees, before.rejected_frees + 1);
    CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_OK);
    /* Only the counters of rejected frees (the range's or the pool's) move. */
    const size_t counter = offsetof(struct buddy_range, rejected_frees);
    CHECK(memcmp(range_before, range_memory, counter) == 0);
    CHECK(memcmp(range_before + counter + 8, range_memory + counter + 8,
                 sizeof range_memory - counter - 8) == 0);
    CHECK(memcmp(pool_before + 128, pool_memory + 128, sizeof pool_memory - 128) == 0);
}

#define check_rejected(cache, offset, expected) check_rejected_at(__LINE__, cache, offset, expected)

static void lifo_batches_and_high_water(void) {
    buddy_cache_config config = {4, 32}; /* order 0 holds 32, refills 16 */
    set_up(CAPACITY, &config);
    uint64_t first = alloc_ok(caches[0], 1);
    buddy_range_stats range_stats, pool_stats;
    buddy_range_get_stats(range, &range_stats);
    CHECK_EQ_U64(range_stats.live_blocks, 16); /* one refill: half the mark */
    CHECK_EQ_U64(first, 0);                    /* the lowest offset comes first */
    CHECK_EQ_U64(alloc_ok(caches[0], 16), 16);
    CHECK_STATUS(buddy_cache_free(caches[0], 0), BUDDY_OK);
    CHECK_EQ_U64(alloc_ok(caches[0], 0), 0); /* LIFO: the block freed last */
    CHECK_STATUS(buddy_cache_pool_get_stats(pool, &pool_stats), BUDDY_OK);
    CHECK_EQ_U64(pool_stats.live_blocks, 2);
    CHECK_EQ_U64(pool_stats.allocated_bytes, 32);
    CHECK_EQ_U64(pool_stats.free_bytes, CAPACITY - 32);
    CHECK_EQ_U64(pool_stats.free_blocks[0], range_stats.free_blocks[0] + 14);

    /* Past the mark, free drains the oldest half. */
    uint64_t held[80];
    for (int i = 0; i < 80; i++)
        held[i] = alloc_ok(caches[0], 16);
    for (int i = 0; i < 72; i++)
        CHECK_STATUS(buddy_cache_free(caches[0], held[i]), BUDDY_OK);
    /* The allocations left 14 of their last batch cached; from there each
     * push onto the full stack (32) drained 16 first: 14 + 72 - 4 * 16. */
    CHECK_EQ_U64(caches[0]->count[0], 22);
    buddy_range_get_stats(range, &range_stats);
    CHECK_EQ_U64(range_stats.live_blocks, 2 + 8 + 22);
    for (int i = 72; i < 80; i++)
        CHECK_STATUS(buddy_cache_free(caches[0], held[i]), BUDDY_OK);
    CHECK_STATUS(buddy_cache_pool_get_stats(pool, &pool_stats), BUDDY_OK);
    CHECK_EQ_U64(pool_stats.live_blocks, 2);
    CHECK_STATUS(buddy_cache_free(caches[0], 0), BUDDY_OK);
    CHECK_STATUS(buddy_cache_free(caches[0], 16), BUDDY_OK);
    tear_down();
    buddy_range_get_stats(range, &range_stats);
    CHECK_EQ_U64(range_stats.live_blocks, 0);
    CHECK_EQ_U64(range_stats.largest_free_block, CAPACITY);
}

static void every_rejected_free(void) {
    set_up(CAPACITY, NULL);
    uint64_t small = alloc_ok(caches[0], 64); /* order 2 */
    uint64_t large = alloc_ok(caches[0], 8192);
    CHECK_STATUS(buddy_cache_free(caches[0], small), BUDDY_OK);
    check_rejected(caches[0], small, BUDDY_ENOTLIVE);      /* in this cache */
    check_rejected(caches[1], small, BUDDY_ENOTLIVE);      /* through another */
    check_rejected(caches[0], small + 64, BUDDY_ENOTLIVE); /* refilled, never handed out */
    uint64_t live = alloc_ok(caches[0], 64);
    CHECK_EQ_U64(live, small);
    check_rejected(caches[0], live + 16, BUDDY_ENOTSTART); /* inside: an INSIDE tag */
    check_rejected(caches[0], live + 32, BUDDY_ENOTSTART); /* inside: a NONE tag */
    check_rejected(caches[1], large + 16, BUDDY_ENOTSTART);
    check_rejected(caches[0], CAPACITY, BUDDY_ERANGE);
    check_rejected(caches[0], live + 1, BUDDY_EALIGN);
    check_rejected(caches[0], CAPACITY - 16, BUDDY_ENOTSTART); /* inside a free block */
    CHECK_STATUS(buddy_cache_free(caches[1], large), BUDDY_OK);
    check_rejected(caches[1], large, BUDDY_ENOTLIVE);
    /* A block freed through another cache goes on that one's stack. */
    CHECK_STATUS(buddy_cache_free(caches[1], live), BUDDY_OK);
    CHECK_EQ_U64(alloc_ok(caches[1], 50), live);
    CHECK_STATUS(buddy_cache_free(caches[1], live), BUDDY_OK);
    /* Past the capacity, where tags would be, the pool keeps other bytes
     * (owner bytes, then nothing): no offset there has a tag to read. */
    for (uint64_t past = CAPACITY; past < 2 * CAPACITY; past += MIN_BLOCK)
        check_rejected(caches[past % 32 == 0 ? 0 : 1], past, BUDDY_ERANGE);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    tear_down();
}

static void drain_and_retry_before_enomem(void) {
    set_up(1024, NULL); /* 64 min blocks */
    uint64_t held[64];
    for (int i = 0; i < 64; i++)
        held[i] = alloc_ok(caches[0], 16);
    uint64_t offset = 0;
    CHECK_STATUS(buddy_cache_alloc(caches[1], 16, &offset), BUDDY_ENOMEM);
    CHECK_STATUS(buddy_cache_alloc(caches[0], 16, &offset), BUDDY_ENOMEM);
    for (int i = 0; i < 64; i++)
        CHECK_STATUS(buddy_cache_free(caches[0], held[i]), BUDDY_OK);
    buddy_range_stats pool_stats;
    CHECK_STATUS(buddy_cache_pool_get_stats(pool, &pool_stats), BUDDY_OK);
    CHECK_EQ_U64(pool_stats.largest_free_block, 16); /* the range has none: a cached one */
    CHECK_EQ_U64(pool_stats.free_bytes, 1024);
    CHECK_EQ_U64(alloc_ok(caches[1], 1024), 0); /* the whole range, once cache 0 drains */
    CHECK_STATUS(buddy_cache_alloc(caches[1], 2048, &offset), BUDDY_ETOOBIG);
    CHECK_STATUS(buddy_cache_free(caches[0], 0), BUDDY_OK);
    for (int i = 0; i < 32; i++)
        held[i] = alloc_ok(caches[1], 32); /* order 1, now cache 1's */
    for (int i = 0; i < 32; i++)
        CHECK_STATUS(buddy_cache_free(caches[0], held[i]), BUDDY_OK);
    CHECK_EQ_U64(alloc_ok(caches[1], 512), 0); /* from the range after another drain */
    CHECK_STATUS(buddy_cache_free(caches[1], 0), BUDDY_OK);
    buddy_range_stats stats;
    CHECK_STATUS(buddy_cache_pool_drain(pool), BUDDY_OK);
    buddy_range_get_stats(range, &stats);
    CHECK_EQ_U64(stats.live_blocks, 0);
    /* A reset forgets what was handed out: its offsets are free blocks again. */
    uint64_t kept = alloc_ok(caches[0], 16);
    CHECK_STATUS(buddy_cache_pool_reset(pool), BUDDY_OK);
    check_rejected(caches[0], kept, BUDDY_ENOTLIVE);
    CHECK_EQ_U64(alloc_ok(caches[1], 16), 0);
    CHECK_STATUS(buddy_cache_free(caches[1], 0), BUDDY_OK);
    tear_down();
}

static void sizes_and_resizes(void) {
    set_up(CAPACITY, NULL);
    uint64_t block = alloc_ok(caches[0], 32), size = 0;
    CHECK_STATUS(buddy_cache_pool_block_size(pool, block, &size), BUDDY_OK);
    CHECK_EQ_U64(size, 32);
    CHECK_STATUS(buddy_cache_pool_block_size(pool, block + 32, &size), BUDDY_ENOTLIVE);
    CHECK_STATUS(buddy_cache_pool_block_size(pool, CAPACITY * 2, &size), BUDDY_ERANGE);
    CHECK_STATUS(buddy_cache_pool_resize(pool, block + 32, 64), BUDDY_ENOTLIVE);
    CHECK_STATUS(buddy_cache_pool_resize(pool, block, 17), BUDDY_OK); /* same order */
    CHECK_STATUS(buddy_cache_free(caches[0], block), BUDDY_OK);
    CHECK_STATUS(buddy_cache_free(caches[0], block), BUDDY_ENOTLIVE);
    block = alloc_ok(caches[0], 32);
    CHECK_STATUS(buddy_cache_pool_resize(pool, block, 16), BUDDY_OK); /* no longer cached */
    check_rejected(caches[0], block + 16, BUDDY_ENOTLIVE);
    CHECK_STATUS(buddy_cache_free(caches[0], block), BUDDY_OK); /* by the range */
    CHECK_STATUS(buddy_cache_free(caches[0], block), BUDDY_ENOTLIVE);
    block = alloc_ok(caches[1], 32); /* the same by a cache's owner */
    CHECK_STATUS(buddy_cache_resize(caches[0], block + 32, 64), BUDDY_ENOTLIVE);
    CHECK_STATUS(buddy_cache_resize(caches[0], block, 16), BUDDY_OK);
    CHECK_STATUS(buddy_cache_free(caches[0], block), BUDDY_OK);
    uint64_t large = alloc_ok(caches[1], 8192);
    CHECK_STATUS(buddy_cache_pool_resize(pool, large, 4096), BUDDY_OK);
    CHECK_STATUS(buddy_cache_pool_block_size(pool, large, &size), BUDDY_OK);
    CHECK_EQ_U64(size, 4096);
    CHECK_STATUS(buddy_cache_free(caches[1], large), BUDDY_OK);
    buddy_cache_pool_lock(pool);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    buddy_cache_pool_unlock(pool);
    tear_down();
}

/* A pool with one cache, whose owner writes tags with plain stores: the
 * same checks, resizes by the owner and by the pool, and the mode ending
 * when a second cache joins and coming back when it leaves. */
static void one_cache_alone(void) {
    set_up(CAPACITY, NULL);
    CHECK_STATUS(buddy_cache_fini(caches[1]), BUDDY_OK);
    buddy_cache *alone = caches[0];
    CHECK_EQ_U64(alone->plain, 1);
    uint64_t block = alloc_ok(alone, 16);
    CHECK_STATUS(buddy_cache_free(alone, block), BUDDY_OK);
    check_rejected(alone, block, BUDDY_ENOTLIVE);
    CHECK_EQ_U64(alloc_ok(alone, 16), block); /* LIFO */
    uint64_t pair = alloc_ok(alone, 32);
    check_rejected(alone, pair + 16, BUDDY_ENOTSTART);
    CHECK_STATUS(buddy_cache_resize(alone, pair, 16), BUDDY_OK); /* no longer cached */
    CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_OK);
    CHECK_STATUS(buddy_cache_free(alone, pair), BUDDY_OK); /* by the range */
    pair = alloc_ok(alone, 32);
    CHECK_STATUS(buddy_cache_pool_resize(pool, pair, 16), BUDDY_OK); /* the same from outside */
    CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_OK);
    CHECK_STATUS(buddy_cache_free(alone, pair), BUDDY_OK);
    CHECK_STATUS(buddy_cache_init(&caches[1], cache_memory[1], sizeof cache_memory[1], pool),
                 BUDDY_OK);
    CHECK_EQ_U64(alone->plain, 0);
    CHECK_EQ_U64(caches[1]->plain, 0);
    CHECK_STATUS(buddy_cache_free(caches[1], block), BUDDY_OK);
    check_rejected(alone, block, BUDDY_ENOTLIVE);
    CHECK_STATUS(buddy_cache_fini(caches[1]), BUDDY_OK);
    CHECK_EQ_U64(alone->plain, 1);
    CHECK_STATUS(buddy_cache_init(&caches[1], cache_memory[1], sizeof cache_memory[1], pool),
                 BUDDY_OK);
    CHECK_EQ_U64(alone->plain, 0);
    tear_down();
}

static bool biased(void) {
    bool on = pool->biased != 0;
    for (int i = 0; i < 2; i++)
        CHECK_EQ_U64(caches[i]->biased, on);
    return on;
}

static unsigned owner_of(uint64_t offset) {
    return *owner_byte(pool->owners, pool->granule_shift, offset / MIN_BLOCK);
}

/* While no cache writes a tag in another's granule, the pool is biased: each
 * refill's span becomes its cache's, whose owner writes its tags plainly.
 * The first write in another's granule ends that for good, from any of the
 * three calls that write tags (free, resize, a refill of single blocks). */
static void bias_until_a_foreign_write(void) {
    set_up(CAPACITY, NULL);
    CHECK(biased());
    uint64_t mine = alloc_ok(caches[0], 16), theirs = alloc_ok(caches[1], 16);
    CHECK_EQ_U64(owner_of(mine), caches[0]->id);
    CHECK_EQ_U64(owner_of(theirs), caches[1]->id);
    CHECK(caches[0]->id != caches[1]->id);
    CHECK_STATUS(buddy_cache_free(caches[0], mine), BUDDY_OK);
    CHECK_STATUS(buddy_cache_free(caches[1], theirs), BUDDY_OK);
    CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_OK);
    CHECK(biased());
    mine = alloc_ok(caches[0], 16);
    CHECK_STATUS(buddy_cache_free(caches[1], mine), BUDDY_OK); /* another's granule */
    CHECK(!biased());
    check_rejected(caches[0], mine, BUDDY_ENOTLIVE);
    CHECK_EQ_U64(alloc_ok(caches[1], 16), mine); /* atomically from now on */
    CHECK_STATUS(buddy_cache_free(caches[0], mine), BUDDY_OK);
    tear_down();

    set_up(CAPACITY, NULL);
    uint64_t pair = alloc_ok(caches[0], 32);
    CHECK_STATUS(buddy_cache_resize(caches[0], pair, 16), BUDDY_OK); /* its own */
    CHECK(biased());
    CHECK_STATUS(buddy_cache_free(caches[0], pair), BUDDY_OK);
    pair = alloc_ok(caches[0], 32);
    CHECK_STATUS(buddy_cache_resize(caches[1], pair, 16), BUDDY_OK);
    CHECK(!biased());
    CHECK_STATUS(buddy_cache_free(caches[1], pair), BUDDY_OK);
    tear_down();

    /* Granules of 16 min blocks; order 2's spans are 32. With no free span
     * of 32, a refill takes one granule. */
    buddy_cache_config marks_of_32 = {3, 32};
    set_up(64 * MIN_BLOCK, &marks_of_32);
    CHECK_EQ_U64(pool->granule_shift, 4);
    CHECK_EQ_U64(alloc_ok(caches[0], 64), 0);
    uint64_t splinter = 0;
    CHECK_STATUS(buddy_range_alloc(range, MIN_BLOCK, &splinter), BUDDY_OK);
    CHECK_EQ_U64(splinter, 32 * MIN_BLOCK);
    uint64_t granule = alloc_ok(caches[1], 64);
    CHECK_EQ_U64(granule, 48 * MIN_BLOCK);
    CHECK_EQ_U64(owner_of(granule), caches[1]->id);
    CHECK(biased());
    CHECK_STATUS(buddy_range_free(range, splinter), BUDDY_OK);
    tear_down();

    /* No free span of 16 min blocks, single ones in each: a refill of single
     * blocks may share a granule with another cache's. */
    buddy_cache_config spans_of_16 = {1, 32};
    set_up(64 * MIN_BLOCK, &spans_of_16);
    CHECK_EQ_U64(pool->granule_shift, 4);
    CHECK_EQ_U64(alloc_ok(caches[0], 16), 0);
    uint64_t singles[48];
    for (int i = 0; i < 48; i++)
        CHECK_STATUS(buddy_range_alloc(range, MIN_BLOCK, &singles[i]), BUDDY_OK);
    for (int i = 0; i < 48; i++)
        if (singles[i] / MIN_BLOCK % 16 != 5)
            CHECK_STATUS(buddy_range_free(range, singles[i]), BUDDY_OK);
    CHECK(biased());
    uint64_t single = alloc_ok(caches[1], 16);
    CHECK(!biased());
    CHECK_STATUS(buddy_cache_free(caches[1], single), BUDDY_OK);
    for (int i = 0; i < 48; i++)
        if (singles[i] / MIN_BLOCK % 16 == 5)
            CHECK_STATUS(buddy_range_free(range, singles[i]), BUDDY_OK);
    tear_down();
}

/* A cache alone writes every tag plainly and owns no granule of what it
 * frees; when a second cache joins, the granules of its cached blocks become
 * its own (C4). 255 caches made, the next one ends the bias. */
static void bias_and_cache_lifetimes(void) {
    set_up(CAPACITY, NULL);
    CHECK_STATUS(buddy_cache_fini(caches[1]), BUDDY_OK);
    uint64_t block = alloc_ok(caches[0], 16);
    unsigned first_id = caches[0]->id;
    CHECK_STATUS(buddy_cache_fini(caches[0]), BUDDY_OK); /* `block` stays live */
    CHECK_STATUS(buddy_cache_init(&caches[0], cache_memory[0], sizeof cache_memory[0], pool),
                 BUDDY_OK);
    CHECK_STATUS(buddy_cache_free(caches[0], block), BUDDY_OK); /* plainly, alone */
    CHECK_EQ_U64(owner_of(block), first_id);
    CHECK_STATUS(buddy_cache_init(&caches[1], cache_memory[1], sizeof cache_memory[1], pool),
                 BUDDY_OK);
    CHECK_EQ_U64(owner_of(block), caches[0]->id);
    CHECK(biased());
    CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_OK);
    CHECK_EQ_U64(alloc_ok(caches[0], 16), block);
    CHECK_STATUS(buddy_cache_free(caches[0], block), BUDDY_OK);
    for (unsigned id = pool->next_id; id <= MAX_OWNER_ID; id++) {
        CHECK_STATUS(buddy_cache_fini(caches[1]), BUDDY_OK);
        CHECK_STATUS(buddy_cache_init(&caches[1], cache_memory[1], sizeof cache_memory[1], pool),
                     BUDDY_OK);
        CHECK(biased());
    }
    CHECK_STATUS(buddy_cache_fini(caches[1]), BUDDY_OK);
    CHECK_STATUS(buddy_cache_init(&caches[1], cache_memory[1], sizeof cache_memory[1], pool),
                 BUDDY_OK);
    CHECK(!biased());
    CHECK_EQ_U64(caches[1]->id, 0);
    tear_down();
}

/* The checker finds every flipped bit of the tags of a span of order-2
 * blocks, a stack entry that names another block, and a cache whose count,
 * stack or any field of its copy of the pool's geometry is wrong, or whose
 * count is past a limit that holds less, and a cache without an id in a
 * biased pool. */
static void corruption_is_found(void) {
    set_up(CAPACITY, NULL);
    uint64_t live = alloc_ok(caches[0], 64), cached = alloc_ok(caches[0], 64);
    CHECK_STATUS(buddy_cache_free(caches[0], cached), BUDDY_OK);
    CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_OK);
    unsigned char *tags = (unsigned char *)pool->tags;
    CHECK(live == 0 && tags[0] != 0); /* the span starts at offset 0 */
    unsigned long missed = 0;
    for (size_t byte = 0; byte < 16; byte++)
        for (unsigned bit = 0; bit < 8; bit++) {
            tags[byte] ^= (unsigned char)(1u << bit);
            missed += buddy_cache_pool_check(pool) != BUDDY_ECORRUPT;
            tags[byte] ^= (unsigned char)(1u << bit);
        }
    CHECK_EQ_U64(missed, 0);
    uint8_t *owner = owner_byte(pool->owners, pool->granule_shift, cached / MIN_BLOCK);
    *owner ^= 3u; /* C4: a cached block in another's granule */
    CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_ECORRUPT);
    *owner ^= 3u;
    uint64_t *entry = NULL; /* the stack slot that holds it */
    for (unsigned k = 0; k < caches[0]->orders; k++)
        for (unsigned i = 0; i < caches[0]->count[k]; i++)
            if (caches[0]->stack[k][i] == cached)
                entry = &caches[0]->stack[k][i];
    CHECK(entry != NULL);
    if (entry == NULL)
        return;
    *entry = cached + 64; /* a block the stack already holds */
    CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_ECORRUPT);
    *entry = live; /* a block a cache handed out */
    CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_ECORRUPT);
    *entry = cached;
    uint64_t magic;
    memcpy(&magic, cache_memory[0], sizeof magic); /* a cache's first field */
    memset(cache_memory[0], 0, sizeof magic);
    CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_ECORRUPT);
    memcpy(cache_memory[0], &magic, sizeof magic);
    unsigned count = caches[0]->count[0];
    caches[0]->count[0] = caches[0]->limit[0] + 1u; /* past the mark */
    CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_ECORRUPT);
    caches[0]->count[0] = count;
    unsigned order = bits_ctz(64 / MIN_BLOCK), limit = pool->limit[order];
    CHECK(caches[0]->count[order] != 0);
    pool->limit[order] = caches[0]->limit[order] = caches[1]->limit[order] =
        caches[0]->count[order] - 1u;
    CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_ECORRUPT); /* past a mark, all else right */
    pool->limit[order] = caches[0]->limit[order] = caches[1]->limit[order] = limit;
    CHECK(pool->biased && caches[1]->count[order] == 0);
    unsigned id = caches[1]->id;
    caches[1]->id = 0; /* the id of a plain cache, in a biased pool */
    CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_ECORRUPT);
    caches[1]->id = id;
    caches[0]->stack[1]++; /* a stack where another order's is */
    CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_ECORRUPT);
    caches[0]->stack[1]--;
    /* Each field of a cache's copy of the pool's geometry, changed alone. */
#define FOUND_THEN_UNDONE(change, undo)                                                            \
    do {                                                                                           \
        change;                                                                                    \
        CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_ECORRUPT);                                \
        undo;                                                                                      \
    } while (0)
    FOUND_THEN_UNDONE(caches[0]->tags++, caches[0]->tags--);
    FOUND_THEN_UNDONE(caches[0]->owners++, caches[0]->owners--);
    FOUND_THEN_UNDONE(caches[0]->tag_count++, caches[0]->tag_count--);
    FOUND_THEN_UNDONE(caches[0]->orders++, caches[0]->orders--);
    FOUND_THEN_UNDONE(caches[0]->min_block_shift++, caches[0]->min_block_shift--);
    FOUND_THEN_UNDONE(caches[0]->granule_shift++, caches[0]->granule_shift--);
    FOUND_THEN_UNDONE(caches[0]->biased ^= 1u, caches[0]->biased ^= 1u);
#undef FOUND_THEN_UNDONE
    CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_OK);
    memcpy(&magic, pool_memory + 128, sizeof magic); /* after the two lock lines */
    memset(pool_memory + 128, 0, sizeof magic);
    CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_ECORRUPT);
    memcpy(pool_memory + 128, &magic, sizeof magic);
    CHECK_STATUS(buddy_cache_free(caches[0], live), BUDDY_OK);
    CHECK_STATUS(buddy_cache_pool_check(NULL), BUDDY_EINVAL);
    tear_down();
}

static void bad_arguments(void) {
    set_up(CAPACITY, NULL);
    uint64_t offset = 0, size = 0;
    buddy_range_stats stats;
    buddy_cache_config too_many = {BUDDY_CACHE_MAX_ORDERS + 1, 0}, too_high = {0, 4097};
    CHECK_EQ_U64(buddy_cache_pool_size(CAPACITY, 24, NULL), 0);
    CHECK_EQ_U64(buddy_cache_pool_size(8, MIN_BLOCK, NULL), 0);
    CHECK_EQ_U64(buddy_cache_pool_size(CAPACITY, MIN_BLOCK, &too_many), 0);
    CHECK_EQ_U64(buddy_cache_pool_size(CAPACITY, MIN_BLOCK, &too_high), 0);
    CHECK_EQ_U64(buddy_cache_size(&too_high), 0);
    CHECK(buddy_cache_size(NULL) > 0);
    buddy_cache_config highest = {BUDDY_CACHE_MAX_ORDERS, 4096}; /* the largest that are valid */
    CHECK(buddy_cache_pool_size(CAPACITY, MIN_BLOCK, &highest) > 0);
    CHECK(buddy_cache_size(&highest) > 0);
    buddy_cache_pool *other = NULL;
    buddy_cache *cache = NULL;
    CHECK_STATUS(buddy_cache_pool_init(NULL, pool_memory, sizeof pool_memory, range, NULL),
                 BUDDY_EINVAL);
    CHECK_STATUS(buddy_cache_pool_init(&other, NULL, sizeof pool_memory, range, NULL),
                 BUDDY_EINVAL);
    CHECK_STATUS(buddy_cache_pool_init(&other, pool_memory, sizeof pool_memory, NULL, NULL),
                 BUDDY_EINVAL);
    CHECK_STATUS(buddy_cache_pool_init(&other, pool_memory + 4, 64, range, NULL), BUDDY_EINVAL);
    CHECK_STATUS(buddy_cache_pool_init(&other, pool_memory, sizeof pool_memory, range, &too_many),
                 BUDDY_EINVAL);
    CHECK_STATUS(buddy_cache_pool_init(&other, pool_memory, 64, range, NULL), BUDDY_ESMALL);
    /* One word short of the size, and the size (in memory of their own). */
    static _Alignas(64) unsigned char spare[sizeof cache_memory[0]];
    size_t needed = buddy_cache_pool_size(CAPACITY, MIN_BLOCK, NULL);
    CHECK(needed <= sizeof spare);
    CHECK_STATUS(buddy_cache_pool_init(&other, spare, needed - 8, range, NULL), BUDDY_ESMALL);
    CHECK_STATUS(buddy_cache_pool_init(&other, spare, needed, range, NULL), BUDDY_OK);
    CHECK_STATUS(buddy_cache_pool_fini(other), BUDDY_OK);
    CHECK_STATUS(buddy_cache_init(&cache, spare, buddy_cache_size(NULL) - 8, pool), BUDDY_ESMALL);
    CHECK_STATUS(buddy_cache_pool_fini(NULL), BUDDY_EINVAL);
    CHECK_STATUS(buddy_cache_pool_drain(NULL), BUDDY_EINVAL);
    CHECK_STATUS(buddy_cache_pool_reset(NULL), BUDDY_EINVAL);
    CHECK_STATUS(buddy_cache_pool_get_stats(NULL, &stats), BUDDY_EINVAL);
    CHECK_STATUS(buddy_cache_pool_get_stats(pool, NULL), BUDDY_EINVAL);
    CHECK_STATUS(buddy_cache_pool_block_size(NULL, 0, &size), BUDDY_EINVAL);
    CHECK_STATUS(buddy_cache_pool_block_size(pool, 0, NULL), BUDDY_EINVAL);
    CHECK_STATUS(buddy_cache_pool_resize(NULL, 0, 16), BUDDY_EINVAL);
    CHECK_STATUS(buddy_cache_resize(NULL, 0, 16), BUDDY_EINVAL);
    buddy_cache_pool_lock(NULL); /* ignored */
    buddy_cache_pool_unlock(NULL);
    buddy_cache_pool_lock_all(NULL);
    buddy_cache_pool_unlock_all(NULL);
    CHECK_STATUS(buddy_cache_init(NULL, cache_memory[0], sizeof cache_memory[0], pool),
                 BUDDY_EINVAL);
    CHECK_STATUS(buddy_cache_init(&cache, NULL, sizeof cache_memory[0], pool), BUDDY_EINVAL);
    CHECK_STATUS(buddy_cache_init(&cache, cache_memory[0], sizeof cache_memory[0], NULL),
                 BUDDY_EINVAL);
    CHECK_STATUS(buddy_cache_init(&cache, cache_memory[0] + 4, 64, pool), BUDDY_EINVAL);
    CHECK_STATUS(buddy_cache_init(&cache, cache_memory[0], 64, pool), BUDDY_ESMALL);
    CHECK_STATUS(buddy_cache_fini(NULL), BUDDY_EINVAL);
    CHECK_STATUS(buddy_cache_alloc(NULL, 16, &offset), BUDDY_EINVAL);
    CHECK_STATUS(buddy_cache_alloc(caches[0], 16, NULL), BUDDY_EINVAL);
    CHECK_STATUS(buddy_cache_alloc(caches[0], CAPACITY + 1, &offset), BUDDY_ETOOBIG);
    CHECK_STATUS(buddy_cache_alloc(caches[0], UINT64_MAX, &offset), BUDDY_ETOOBIG);
    CHECK_STATUS(buddy_cache_free(NULL, 0), BUDDY_EINVAL);
    tear_down();
    /* A range whose largest block is below the cached orders. */
    set_up(64, NULL);
    CHECK_STATUS(buddy_cache_alloc(caches[0], 128, &offset), BUDDY_ETOOBIG);
    CHECK_EQ_U64(alloc_ok(caches[0], 64), 0);
    CHECK_STATUS(buddy_cache_free(caches[0], 0), BUDDY_OK);
    tear_down();
}

/* A fork while another cache's owner is between its mark and its look
 * (owner_try_enter, finding the cache wanted by the fork's lock_all): the
 * child has no such thread, and must not wait for it to leave. */
static void a_fork_inherits_no_busy_owner(void) {
    set_up(CAPACITY, NULL);
    CHECK_STATUS(buddy_cache_free(caches[1], alloc_ok(caches[1], 64)), BUDDY_OK);
    buddy_cache_pool_lock_all(pool);
    __atomic_store_n(&caches[1]->busy, 1u, __ATOMIC_RELAXED); /* the owner's mark */
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) { /* it ends with exit, so that a coverage build counts its lines */
        alarm(10);    /* a wait for the owner would never end */
        buddy_cache_pool_unlock_all(pool);
        buddy_range_stats stats;
        bool counted =
            buddy_cache_pool_get_stats(pool, &stats) == BUDDY_OK && stats.live_blocks == 0;
        exit(counted && buddy_cache_pool_drain(pool) == BUDDY_OK ? 0 : 1);
    }
    __atomic_store_n(&caches[1]->busy, 0u, __ATOMIC_RELAXED); /* the owner's look, and out */
    buddy_cache_pool_unlock_all(pool);
    int status = 0;
    CHECK(child > 0 && waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    tear_down();
}

int main(void) {
    for (int pass = 0; pass < 2; pass++) {
        owners_lock = pass == 1;
        lifo_batches_and_high_water();
        every_rejected_free();
        drain_and_retry_before_enomem();
        sizes_and_resizes();
        one_cache_alone();
        bias_until_a_foreign_write();
        bias_and_cache_lifetimes();
        corruption_is_found();
        a_fork_inherits_no_busy_owner();
        bad_arguments();
    }
    return check_exit_code("cache");
}
