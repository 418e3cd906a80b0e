/* SPDX-License-Identifier: MIT */
/*
 * Two threads through the caches, explored over many schedules. This test
 * builds src/cache/cache.c with a yield hook before every store another
 * thread can see (tags, lock words); the hook is a baton: one thread runs at
 * a time, and at each hook a schedule (bits of a seeded generator) says
 * whether the baton passes to the other thread. A schedule is thus replayed
 * exactly by its number.
 *
 * The script races what the caches must get right, in four steps between
 * barriers. Thread 0 starts with the pool's only cache, whose owner stores
 * tags without atomic operations, while thread 1 resizes one of its blocks
 * through the pool and then joins with a cache of its own, which ends that;
 * meanwhile both threads free the same block: one must win, the other get
 * BUDDY_ENOTLIVE. Each allocates and frees small blocks through its own cache
 * and frees one of the other's: thread 1 frees an order-2 block of thread 0's
 * while thread 0 takes the next block of the same tag word from its stack
 * (the free's compare-and-swap against the pop's byte store). Each takes a large block: the range
 * has room for one, and for the second only once the caches are drained, which the refused
 * allocation does while the other thread runs; and one drains the pool while the other allocates
 * and frees through its cache, whose owner goes in without a lock (cache_internal.h; in
 * odd-numbered schedules, with its lock, as where membarrier is missing). In every other pair
 * of schedules the marks make granules, so the pool starts biased (cache.c, 5) and the first
 * cross-thread free ends the bias while the other thread writes its own tags plainly. At each
 * barrier the pool's checker passes (a lost tag store shows there); after each schedule, no
 * block was handed out twice, no call failed, every cache is given back, and the range is empty
 * and whole. Then random programs (below) run under the same baton.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "buddy.h"
#include "cache_internal.h"
#include "check.h"

#define MIN_BLOCK 16u
#define BLOCKS 128u
#define CAPACITY (BLOCKS * MIN_BLOCK)

static _Alignas(64) unsigned char range_memory[1 << 14];
static _Alignas(64) unsigned char pool_memory[1024];
static _Alignas(64) unsigned char cache_memory[2][1024];

/* ---- The baton ----------------------------------------------------------- */

static pthread_mutex_t baton_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t baton_moved = PTHREAD_COND_INITIALIZER;
static int baton;         /* the thread that may run: 0 or 1 */
static int finished[2];   /* a finished thread never gets the baton back */
static int parked[2];     /* nor one that waits at the barrier */
static uint64_t schedule; /* the generator's state */
static unsigned long yields;
static int arrived;                 /* threads at the barrier */
static int passes;                  /* barriers passed */
static _Thread_local int self = -1; /* -1: the main thread, which never yields */

static void wait_for_baton(void) {
    while (baton != self)
        pthread_cond_wait(&baton_moved, &baton_mutex);
}

void interleave_yield(void); /* the hook cache.c calls */
void interleave_yield(void) {
    if (self < 0)
        return;
    pthread_mutex_lock(&baton_mutex);
    yields++;
    if (!finished[1 - self] && !parked[1 - self] && (check_random(&schedule) & 1u)) {
        baton = 1 - self;
        pthread_cond_broadcast(&baton_moved);
        wait_for_baton();
    }
    pthread_mutex_unlock(&baton_mutex);
}

static buddy_cache_pool *pool;
static unsigned long broken; /* checks of the pool at a barrier that failed */

/* Waits for the other thread; the second to arrive checks the pool and
 * keeps the baton. */
static void barrier(void) {
    pthread_mutex_lock(&baton_mutex);
    int pass = passes;
    if (++arrived < 2) {
        parked[self] = 1;
        baton = 1 - self;
        pthread_cond_broadcast(&baton_moved);
        while (passes == pass || baton != self)
            pthread_cond_wait(&baton_moved, &baton_mutex);
    } else {
        pthread_mutex_unlock(&baton_mutex);
        /* Both threads are between calls: every invariant holds. */
        broken += buddy_cache_pool_check(pool) != BUDDY_OK;
        pthread_mutex_lock(&baton_mutex);
        arrived = 0;
        passes++;
        parked[1 - self] = 0;
    }
    pthread_mutex_unlock(&baton_mutex);
}

/* ---- The script ---------------------------------------------------------- */

static buddy_range *range;
static buddy_cache *caches[2];
static uint64_t shared_block; /* both threads free it */
static uint64_t resized;      /* thread 1 shrinks it from 32 to 16 bytes while thread 0 is plain */
static int shared_status[2];
static uint64_t passed[2]; /* thread t frees passed[t], the other's block */
static const uint64_t passed_size[2] = {32, 64};
static unsigned char owner[BLOCKS]; /* 1 + the thread that holds each min block */
static unsigned long twice, failed;

static void take(int thread, uint64_t offset, uint64_t size) {
    pthread_mutex_lock(&baton_mutex); /* the main thread reads owner[] after a join */
    for (uint64_t i = offset / MIN_BLOCK; i < (offset + size) / MIN_BLOCK; i++) {
        twice += owner[i] != 0;
        owner[i] = (unsigned char)(thread + 1);
    }
    pthread_mutex_unlock(&baton_mutex);
}

static void give(uint64_t offset, uint64_t size) {
    pthread_mutex_lock(&baton_mutex);
    memset(&owner[offset / MIN_BLOCK], 0, (size_t)(size / MIN_BLOCK));
    pthread_mutex_unlock(&baton_mutex);
}

static uint64_t alloc_in(int thread, uint64_t size) {
    uint64_t offset = 0;
    int status = buddy_cache_alloc(caches[thread], size, &offset);
    if (status != BUDDY_OK) {
        failed++;
        return UINT64_MAX;
    }
    take(thread, offset, size);
    return offset;
}

static void free_in(int thread, uint64_t offset, uint64_t size) {
    if (offset == UINT64_MAX)
        return;
    give(offset, size);
    failed += buddy_cache_free(caches[thread], offset) != BUDDY_OK;
}

/* A script's first and last steps: wait for the baton; give it up for good. */
static void enter(void *argument) {
    self = (int)(intptr_t)argument;
    pthread_mutex_lock(&baton_mutex);
    wait_for_baton();
    pthread_mutex_unlock(&baton_mutex);
}

static void *leave(void) {
    pthread_mutex_lock(&baton_mutex);
    finished[self] = 1;
    baton = 1 - self;
    pthread_cond_broadcast(&baton_moved);
    pthread_mutex_unlock(&baton_mutex);
    return NULL;
}

static void *script(void *argument) {
    enter(argument);

    if (self == 0) {                           /* the pool's only cache, then one of two */
        free_in(self, alloc_in(self, 32), 32); /* beside `resized` */
        free_in(self, alloc_in(self, 16), 16);
        shared_status[self] = buddy_cache_free(caches[self], shared_block);
    } else {
        failed += buddy_cache_pool_resize(pool, resized, 16) != BUDDY_OK;
        give(resized + 16, 16);
        failed +=
            buddy_cache_init(&caches[1], cache_memory[1], sizeof cache_memory[1], pool) != BUDDY_OK;
        shared_status[self] = buddy_cache_free(caches[self], shared_block);
        passed[0] = alloc_in(self, passed_size[0]); /* not the shared block: of another order */
        free_in(self, resized, 16);                 /* no longer the caches': to the range */
    }
    barrier(); /* else the winner could reuse the block before the loser's free */
    uint64_t a = alloc_in(self, 16), b = alloc_in(self, 32), e = alloc_in(self, 64);
    free_in(self, a, 16);
    free_in(self, passed[self], passed_size[self]);
    free_in(self, e, 64);
    free_in(self, b, 32);
    barrier();
    if (self == 0) { /* drains thread 1's cache from outside while its owner uses it */
        failed += buddy_cache_pool_drain(pool) != BUDDY_OK;
    } else {
        uint64_t c = alloc_in(self, 16), d = alloc_in(self, 16);
        free_in(self, c, 16);
        free_in(self, d, 16);
    }
    barrier();
    uint64_t large = alloc_in(self, CAPACITY / 4); /* uncached: from the range */
    free_in(self, large, CAPACITY / 4);
    return leave();
}

/* A range and a pool with thread 0's cache. Orders 0 to 2 with marks of 16
 * (spans of 8 min blocks: too small for granules, so never biased), or, in
 * every other pair of numbers, a mark of 32 at order 0: granules of 16 min
 * blocks, a biased pool; in odd numbers the owners take their locks, as
 * without membarrier. */
static void set_up(uint64_t number) {
    buddy_cache_config config = {3, number / 2 % 2 == 0 ? 4u : 32u};
    CHECK_STATUS(buddy_range_init(&range, range_memory, sizeof range_memory, CAPACITY, MIN_BLOCK,
                                  BUDDY_BEST_FIT),
                 BUDDY_OK);
    CHECK_STATUS(buddy_cache_pool_init(&pool, pool_memory, sizeof pool_memory, range, &config),
                 BUDDY_OK);
    CHECK_EQ_U64(pool->biased, number / 2 % 2);
    if (number % 2 == 1)
        pool->barriers = false;
    CHECK_STATUS(buddy_cache_init(&caches[0], cache_memory[0], sizeof cache_memory[0], pool),
                 BUDDY_OK);
    memset(owner, 0, sizeof owner);
}

/* Runs `body` on two threads, the baton first where the schedule says. */
static void run_threads(void *(*body)(void *), uint64_t schedule_seed) {
    schedule = schedule_seed;
    baton = (int)(check_random(&schedule) & 1u);
    finished[0] = finished[1] = arrived = passes = 0;
    pthread_t threads[2];
    for (int t = 0; t < 2; t++)
        pthread_create(&threads[t], NULL, body, (void *)(intptr_t)t);
    for (int t = 0; t < 2; t++)
        pthread_join(threads[t], NULL);
}

/* After the threads: both caches given back, the range empty and whole. */
static void tear_down(void) {
    twice = failed = broken = 0;
    CHECK_STATUS(buddy_cache_pool_check(pool), BUDDY_OK);
    for (int t = 0; t < 2; t++)
        CHECK_STATUS(buddy_cache_fini(caches[t]), BUDDY_OK);
    CHECK_STATUS(buddy_cache_pool_fini(pool), BUDDY_OK);
    buddy_range_stats stats;
    buddy_range_get_stats(range, &stats);
    CHECK_EQ_U64(stats.live_blocks, 0);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
}

static void run_schedule(uint64_t number) {
    set_up(number);
    /* Set-up on the main thread: a shared block, a block for thread 1 to
     * resize, and one of thread 0's that thread 1 frees (thread 1 takes the
     * one thread 0 frees), all in the first quarter of the range; the second
     * half is taken, so the second large block needs the first quarter,
     * which only drained caches leave free. */
    shared_block = alloc_in(0, 16);
    give(shared_block, 16);
    resized = alloc_in(0, 32);
    passed[1] = alloc_in(0, passed_size[1]);
    uint64_t filler = 0;
    CHECK_STATUS(buddy_range_alloc(range, CAPACITY / 2, &filler), BUDDY_OK);
    CHECK_EQ_U64(filler, CAPACITY / 2);
    take(0, filler, CAPACITY / 2);
    run_threads(script, number);

    int won = (shared_status[0] == BUDDY_OK) + (shared_status[1] == BUDDY_OK);
    int lost = (shared_status[0] == BUDDY_ENOTLIVE) + (shared_status[1] == BUDDY_ENOTLIVE);
    if (won != 1 || lost != 1 || twice != 0 || failed != 0 || broken != 0) {
        fprintf(stderr,
                "schedule %" PRIu64 ": frees of one block gave %s and %s; %lu handed out "
                "twice, %lu calls failed, %lu checks failed\n",
                number, buddy_status_str(shared_status[0]), buddy_status_str(shared_status[1]),
                twice, failed, broken);
        check_failures++;
    }
    give(filler, CAPACITY / 2);
    CHECK_STATUS(buddy_cache_free(caches[1], filler), BUDDY_OK);
    tear_down();
}

/* ---- Random programs ----------------------------------------------------- */

/* Each thread runs a program drawn from the number, in phases between
 * barriers: allocations of every cached order and larger ones, exact runs
 * from the range under the pool's lock, frees, resizes and sizes of its own
 * blocks, blocks passed through a mailbox and freed by the other thread,
 * drains and statistics (one moment's: every byte free or allocated).
 * Thread 1 joins the pool with a cache and leaves it at steps of its
 * program, so thread 0's cache goes from the only one, plain, to one of two
 * and back. The programs' own data needs no lock: a thread runs only while it
 * holds the baton. Made to drain without taking the caches from their
 * owners, or to turn a tag CACHED with an exchange instead of a
 * compare-and-swap, they fail within the first 1000 programs; the script
 * above is what catches a join that does not wait for the plain owner. */

#define PROGRAM_PHASES 4
#define PROGRAM_STEPS 8
#define MAX_HELD 8

typedef struct held_block {
    uint64_t offset, size;
} held_block;

static held_block held[2][MAX_HELD], mailbox[MAX_HELD];
static unsigned held_count[2], mailbox_count;
static uint64_t program; /* the number: the seed of both programs */

static const uint64_t program_sizes[] = {16, 16, 32, 64, 128, CAPACITY / 8};

/* Exact runs from the range under the pool's lock: 4 + 1, 4 + 2, 8 + 2 and
 * 8 + 4 + 1 min blocks. Their frees go through a cache to the range. */
static const uint64_t run_sizes[] = {80, 96, 160, 208};

/* Allocates `size` bytes through the thread's cache, or an exact run of them
 * from the range, and holds the block. */
static void hold(int thread, uint64_t size, bool exact) {
    uint64_t offset = 0;
    int status;
    if (exact) {
        buddy_cache_pool_lock(pool);
        status = buddy_range_alloc_exact(range, size, &offset);
        buddy_cache_pool_unlock(pool);
    } else {
        status = buddy_cache_alloc(caches[thread], size, &offset);
    }
    if (status != BUDDY_OK) {
        failed += status != BUDDY_ENOMEM; /* the range may be full */
        return;
    }
    take(thread, offset, size);
    if (held_count[thread] == MAX_HELD)
        free_in(thread, offset, size);
    else
        held[thread][held_count[thread]++] = (held_block){offset, size};
}

/* Takes block i off a list of `count`, keeping the others. */
static held_block unlist(held_block *list, unsigned *count, unsigned i) {
    held_block block = list[i];
    list[i] = list[--*count];
    return block;
}

static void resize_held(int thread, unsigned i, uint64_t size) {
    held_block *block = &held[thread][i];
    give(block->offset, block->size); /* a shrink frees the tail during the call */
    int status = buddy_cache_resize(caches[thread], block->offset, size);
    failed += status != BUDDY_OK && status != BUDDY_ENOMEM;
    if (status == BUDDY_OK)
        block->size = size;
    take(thread, block->offset, block->size);
}

/* Thread 1 joins the pool with its cache, or leaves it: with thread 0's alone
 * again, its owner goes back to plain stores. */
static void toggle_membership(void) {
    if (caches[1] == NULL) {
        failed +=
            buddy_cache_init(&caches[1], cache_memory[1], sizeof cache_memory[1], pool) != BUDDY_OK;
    } else {
        failed += buddy_cache_fini(caches[1]) != BUDDY_OK;
        caches[1] = NULL;
    }
}

static void program_step(int thread, uint64_t *random) {
    unsigned count = held_count[thread];
    unsigned i = count != 0 ? (unsigned)check_below(random, count) : 0;
    uint64_t size =
        program_sizes[check_below(random, sizeof program_sizes / sizeof *program_sizes)];
    unsigned op = (unsigned)check_below(random, 10);
    if (thread == 1 && (op == 8 || caches[1] == NULL)) {
        if (op >= 6) /* leaving, or joining again */
            toggle_membership();
        return;
    }
    switch (op) {
    case 0:
    case 1:
        hold(thread, size, false);
        break;
    case 9:
        hold(thread, run_sizes[check_below(random, sizeof run_sizes / sizeof *run_sizes)], true);
        break;
    case 2:
        if (count != 0) {
            held_block block = unlist(held[thread], &held_count[thread], i);
            free_in(thread, block.offset, block.size);
        }
        break;
    case 3: /* to the mailbox, for the other thread to free */
        if (count != 0 && mailbox_count < MAX_HELD)
            mailbox[mailbox_count++] = unlist(held[thread], &held_count[thread], i);
        break;
    case 4:
        if (mailbox_count != 0) {
            held_block block =
                unlist(mailbox, &mailbox_count, (unsigned)check_below(random, mailbox_count));
            free_in(thread, block.offset, block.size);
        }
        break;
    case 5:
        if (count != 0)
            resize_held(thread, i, size);
        break;
    case 6: {
        uint64_t block_size = 0;
        if (count != 0)
            failed += buddy_cache_pool_block_size(pool, held[thread][i].offset, &block_size) !=
                          BUDDY_OK ||
                      block_size != held[thread][i].size;
        break;
    }
    default: { /* a drain, or one moment's statistics: every byte free or allocated */
        buddy_range_stats stats;
        if (check_below(random, 2) == 0)
            failed += buddy_cache_pool_drain(pool) != BUDDY_OK;
        else
            failed += buddy_cache_pool_get_stats(pool, &stats) != BUDDY_OK ||
                      stats.free_bytes + stats.allocated_bytes != CAPACITY;
        break;
    }
    }
}

static void *random_script(void *argument) {
    enter(argument);
    uint64_t random = program * 2 + (uint64_t)self;
    for (int phase = 0; phase < PROGRAM_PHASES; phase++) {
        for (int step = 0; step < PROGRAM_STEPS; step++)
            program_step(self, &random);
        barrier();
    }
    if (caches[self] == NULL)
        toggle_membership();
    while (held_count[self] != 0) {
        held_block block = unlist(held[self], &held_count[self], 0);
        free_in(self, block.offset, block.size);
    }
    return leave();
}

static void run_program(uint64_t number) {
    set_up(number);
    caches[1] = NULL; /* thread 1 joins at a step of its program */
    program = number;
    run_threads(random_script, number ^ UINT64_C(0x5eed));
    while (mailbox_count != 0) {
        held_block block = unlist(mailbox, &mailbox_count, 0);
        free_in(0, block.offset, block.size);
    }
    if (twice != 0 || failed != 0 || broken != 0) {
        fprintf(stderr,
                "program %" PRIu64 ": %lu handed out twice, %lu calls failed, %lu checks "
                "failed\n",
                number, twice, failed, broken);
        check_failures++;
    }
    tear_down();
}

int main(void) {
    uint64_t first = check_seed("cache_interleave", 1);
    unsigned long schedules = check_scale(3000, 200), programs = check_scale(1000, 60);
    for (uint64_t number = first; number < first + schedules && check_failures == 0; number++)
        run_schedule(number);
    for (uint64_t number = first; number < first + programs && check_failures == 0; number++)
        run_program(number);
    printf("cache_interleave: %lu schedules, %lu random programs, %lu hook calls\n", schedules,
           programs, yields);
    return check_exit_code("cache_interleave");
}
