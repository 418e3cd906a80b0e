/* SPDX-License-Identifier: MIT */
/*
 * Four threads, each with its own cache, over one pool and one range. Each
 * allocates (mostly cached orders, some larger blocks), stamps every unit of
 * its block in a shadow of the range with its own tag, checks the stamp
 * before freeing, and hands every eighth block to the next thread, which
 * frees it through its own cache. A block handed out twice would carry its
 * other owner's stamp. A fifth thread reads the pool's statistics (one
 * moment's: never more live than the workers hold) and drains every cache
 * now and then meanwhile. Bounded: 30000 operations per thread
 * (1000 in quick mode). Afterwards nothing is lost: every cache given back,
 * the range is empty and whole. (Double frees racing with each other are the
 * interleaving test's: here a drain could hand a freed block to another
 * thread before a second free.)
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "buddy.h"
#include "check.h"
#include "lock.h"

#define WORKERS 4
#define LIVE 48
#define CAPACITY (UINT64_C(1) << 21)
#define MIN_BLOCK 16u

static _Alignas(64) unsigned char range_memory[1 << 18];
static _Alignas(64) unsigned char pool_memory[1 << 17];
static _Alignas(64) unsigned char cache_memory[WORKERS][1 << 14];
static unsigned char shadow[CAPACITY];

typedef struct worker {
    buddy_cache_pool *pool;
    buddy_cache *cache;
    _Atomic uint64_t *inbox, *outbox; /* one offset on its way, UINT64_MAX if none */
    unsigned char tag;
    uint64_t seed;
    unsigned long operations, corrupted, enomem;
} worker;

static _Atomic int workers_running;

static uint64_t block_size(buddy_cache_pool *pool, uint64_t offset) {
    uint64_t size = 0;
    if (buddy_cache_pool_block_size(pool, offset, &size) != BUDDY_OK)
        return 0;
    return size;
}

/* Checks the stamp of the block and frees it through the worker's cache. */
static void check_and_free(worker *w, uint64_t offset, unsigned char tag) {
    uint64_t size = block_size(w->pool, offset);
    w->corrupted += size == 0;
    for (uint64_t i = 0; i < size; i++)
        w->corrupted += shadow[offset + i] != tag;
    memset(&shadow[offset], 0, (size_t)size);
    w->corrupted += buddy_cache_free(w->cache, offset) != BUDDY_OK;
}

static void *work(void *argument) {
    worker *w = argument;
    uint64_t held[LIVE];
    unsigned count = 0;
    unsigned long steps = check_scale(30000, 1000);
    for (unsigned long step = 0; step < steps; step++) {
        uint64_t passed = atomic_exchange(w->inbox, UINT64_MAX);
        if (passed != UINT64_MAX)
            check_and_free(w, passed, (unsigned char)(w->tag == 1 ? WORKERS : w->tag - 1));
        if (count == LIVE || (count > 0 && check_below(&w->seed, 2) == 0)) {
            unsigned pick = (unsigned)check_below(&w->seed, count);
            uint64_t offset = held[pick];
            held[pick] = held[--count];
            uint64_t expected = UINT64_MAX;
            if (step % 8 == 0 && atomic_compare_exchange_strong(w->outbox, &expected, offset))
                continue; /* the next worker frees it */
            check_and_free(w, offset, w->tag);
        } else {
            uint64_t size = check_below(&w->seed, 16) == 0 ? 1024 + check_below(&w->seed, 4096)
                                                           : 1 + check_below(&w->seed, 256);
            uint64_t offset = 0;
            int status = buddy_cache_alloc(w->cache, size, &offset);
            if (status == BUDDY_ENOMEM) {
                w->enomem++;
                continue;
            }
            w->corrupted += status != BUDDY_OK;
            uint64_t rounded = block_size(w->pool, offset);
            for (uint64_t i = 0; i < rounded; i++)
                w->corrupted += shadow[offset + i] != 0;
            memset(&shadow[offset], w->tag, (size_t)rounded);
            held[count++] = offset;
        }
        w->operations++;
    }
    while (count > 0)
        check_and_free(w, held[--count], w->tag);
    atomic_fetch_sub(&workers_running, 1);
    return NULL;
}

static void *watch(void *argument) {
    buddy_cache_pool *pool = argument;
    buddy_range_stats stats;
    unsigned long rounds = 0;
    while (atomic_load(&workers_running) > 0 || rounds == 0) {
        CHECK_STATUS(buddy_cache_pool_get_stats(pool, &stats), BUDDY_OK);
        CHECK(stats.free_bytes + stats.allocated_bytes == CAPACITY);
        /* One moment's figures: no more than the workers can hold at once
         * (a mixed reading of caches and range could say more, or wrap). */
        CHECK(stats.live_blocks <= WORKERS * (LIVE + 1));
        CHECK(stats.allocated_bytes <= WORKERS * (LIVE + 1) * UINT64_C(8192));
        if (++rounds % 16 == 0)
            CHECK_STATUS(buddy_cache_pool_drain(pool), BUDDY_OK);
        if (rounds % 1024 == 0) /* a scan of every tag: slow under Valgrind */
            CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_OK);
    }
    return NULL;
}

static void *alloc_and_free(void *argument) {
    buddy_cache *cache = argument;
    uint64_t offset = 0;
    int status = buddy_cache_alloc(cache, MIN_BLOCK, &offset);
    if (status == BUDDY_OK)
        status = buddy_cache_free(cache, offset);
    return (void *)(intptr_t)status;
}

static void *read_stats(void *argument) {
    buddy_range_stats stats;
    return (void *)(intptr_t)buddy_cache_pool_get_stats(argument, &stats);
}

static int joined(pthread_t thread) {
    void *status = NULL;
    pthread_join(thread, &status);
    return (int)(intptr_t)status;
}

static void pause_ms(long ms) {
    struct timespec pause = {0, ms * 1000000};
    nanosleep(&pause, NULL);
}

static uint32_t lock_word;

static void *take_and_release(void *unused) {
    buddy_lock_take(&lock_word); /* spins, then sleeps until the release wakes it */
    buddy_lock_release(&lock_word);
    return unused;
}

/* The one-word lock: a second taker marks the word as having waiters and
 * sleeps; the release wakes it, and it takes the lock. The holder waits
 * until the word says so (at most 10 s), whatever the scheduler does. */
static void a_waiter_sleeps_until_the_release(void) {
    pthread_t waiter;
    buddy_lock_take(&lock_word);
    pthread_create(&waiter, NULL, take_and_release, NULL);
    for (unsigned ms = 0; ms < 10000 && __atomic_load_n(&lock_word, __ATOMIC_ACQUIRE) != 2u; ms++)
        pause_ms(1);
    CHECK_EQ_U64(__atomic_load_n(&lock_word, __ATOMIC_ACQUIRE), 2);
    buddy_lock_release(&lock_word);
    CHECK_EQ_INT(joined(waiter), 0);
    CHECK_EQ_U64(lock_word, 0);
}

/* A cache's owner goes in without its lock unless another thread wants the
 * cache (cache_internal.h). Both ways round, on purpose: an owner that finds
 * the cache wanted (everything held by lock_all) waits for the lock; and a
 * thread that wants the cache (statistics) waits while its owner is inside,
 * held in a refill by the pool's lock. */
static void owner_and_others_wait_for_each_other(buddy_cache_pool *pool, buddy_cache *cache) {
    pthread_t owner, other;
    CHECK_STATUS(buddy_cache_pool_drain(pool), BUDDY_OK); /* so the allocation refills */
    buddy_cache_pool_lock_all(pool);
    pthread_create(&owner, NULL, alloc_and_free, cache);
    pause_ms(20);
    buddy_cache_pool_unlock_all(pool);
    CHECK_STATUS(joined(owner), BUDDY_OK);
    CHECK_STATUS(buddy_cache_pool_drain(pool), BUDDY_OK);
    buddy_cache_pool_lock(pool);
    pthread_create(&owner, NULL, alloc_and_free, cache);
    pause_ms(20);
    pthread_create(&other, NULL, read_stats, pool);
    pause_ms(20);
    buddy_cache_pool_unlock(pool);
    CHECK_STATUS(joined(owner), BUDDY_OK);
    CHECK_STATUS(joined(other), BUDDY_OK);
    CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_OK);
}

int main(void) {
    uint64_t seed = check_seed("cache_threads", 41);
    buddy_range *range = NULL;
    buddy_cache_pool *pool = NULL;
    CHECK_STATUS(buddy_range_init(&range, range_memory, sizeof range_memory, CAPACITY, MIN_BLOCK,
                                  BUDDY_BEST_FIT),
                 BUDDY_OK);
    CHECK_STATUS(buddy_cache_pool_init(&pool, pool_memory, sizeof pool_memory, range, NULL),
                 BUDDY_OK);
    if (check_failures != 0)
        return check_exit_code("cache_threads");
    _Atomic uint64_t mailboxes[WORKERS];
    worker workers[WORKERS];
    pthread_t threads[WORKERS + 1];
    atomic_store(&workers_running, WORKERS);
    for (unsigned i = 0; i < WORKERS; i++) {
        atomic_store(&mailboxes[i], UINT64_MAX);
        workers[i] = (worker){pool,
                              NULL,
                              &mailboxes[i],
                              &mailboxes[(i + 1) % WORKERS],
                              (unsigned char)(i + 1),
                              seed + i,
                              0,
                              0,
                              0};
        CHECK_STATUS(
            buddy_cache_init(&workers[i].cache, cache_memory[i], sizeof cache_memory[i], pool),
            BUDDY_OK);
    }
    for (unsigned i = 0; i < WORKERS; i++)
        pthread_create(&threads[i], NULL, work, &workers[i]);
    pthread_create(&threads[WORKERS], NULL, watch, pool);
    for (unsigned i = 0; i <= WORKERS; i++)
        pthread_join(threads[i], NULL);
    unsigned long operations = 0, enomem = 0;
    for (unsigned i = 0; i < WORKERS; i++) {
        uint64_t left = atomic_load(&mailboxes[(i + 1) % WORKERS]);
        if (left != UINT64_MAX)
            check_and_free(&workers[(i + 1) % WORKERS], left, workers[i].tag);
    }
    CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_OK);
    owner_and_others_wait_for_each_other(pool, workers[0].cache);
    a_waiter_sleeps_until_the_release();
    for (unsigned i = 0; i < WORKERS; i++) {
        CHECK_EQ_U64(workers[i].corrupted, 0);
        operations += workers[i].operations;
        enomem += workers[i].enomem;
        CHECK_STATUS(buddy_cache_fini(workers[i].cache), BUDDY_OK);
    }
    CHECK_STATUS(buddy_cache_pool_fini(pool), BUDDY_OK);
    buddy_range_stats stats;
    buddy_range_get_stats(range, &stats);
    CHECK_EQ_U64(stats.live_blocks, 0);
    CHECK_EQ_U64(stats.largest_free_block, CAPACITY);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    CHECK_EQ_U64(enomem, 0);
    printf("cache_threads: %lu operations\n", operations);
    return check_exit_code("cache_threads");
}
