/* SPDX-License-Identifier: MIT */
/*
 * Threads share one range: made with BUDDY_RANGE_THREAD_SAFE (the built-in
 * lock), then with the caller's lock hooks (a pthread mutex). Four workers
 * allocate (power-of-two blocks, aligned ones and exact runs), stamp every
 * unit of their block in a shadow of the range with their own tag, check the
 * stamp before freeing, and hand every eighth block to the next worker to
 * free, across threads. A block handed out twice would be overwritten by its
 * other owner. A fifth thread reads the statistics, checks the invariants
 * and walks the range meanwhile. Bounded: 30000 operations per worker
 * (5000 in quick mode). Afterwards everything is free again.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "buddy.h"
#include "check.h"

#define WORKERS 4
#define LIVE 64
#define CAPACITY (UINT64_C(1) << 20)
#define MIN_BLOCK 16u

static _Alignas(64) unsigned char metadata[1 << 19];
static unsigned char shadow[CAPACITY]; /* what each unit of the range holds */

/* A slot for blocks on their way to another worker: one offset at a time. */
typedef struct mailbox {
    _Atomic uint64_t offset; /* UINT64_MAX when empty */
    _Atomic uint64_t size;
} mailbox;

typedef struct worker {
    buddy_range *range;
    mailbox *inbox, *outbox;
    unsigned char tag;
    uint64_t seed;
    unsigned long corrupted, failed, passed;
} worker;

static _Atomic int workers_running;

/* Checks the stamp of [offset, offset + size) and frees it. */
static void check_and_free(worker *w, uint64_t offset, uint64_t size, unsigned char tag) {
    for (uint64_t i = 0; i < size; i++)
        w->corrupted += shadow[offset + i] != tag;
    memset(&shadow[offset], 0, (size_t)size);
    if (buddy_range_free(w->range, offset) != BUDDY_OK)
        w->corrupted++;
}

static int allocate(worker *w, uint64_t size, uint64_t *offset) {
    switch (check_below(&w->seed, 3)) {
    case 0:
        return buddy_range_alloc(w->range, size, offset);
    case 1:
        return buddy_range_alloc_aligned(w->range, size, MIN_BLOCK * 4, offset);
    default:
        return buddy_range_alloc_exact(w->range, size, offset);
    }
}

static void *run_worker(void *argument) {
    worker *w = argument;
    uint64_t offsets[LIVE], sizes[LIVE];
    bool live[LIVE] = {false};
    for (unsigned long step = 0; step < check_scale(30000, 5000); step++) {
        uint64_t mail = atomic_load(&w->inbox->offset);
        if (mail != UINT64_MAX) { /* another worker's block, stamped with its tag */
            uint64_t size = atomic_load(&w->inbox->size);
            check_and_free(w, mail, size, shadow[mail]);
            w->passed++;
            atomic_store(&w->inbox->offset, UINT64_MAX);
        }
        size_t slot = (size_t)check_below(&w->seed, LIVE);
        if (live[slot]) {
            live[slot] = false;
            if (slot % 8 == 0 && atomic_load(&w->outbox->offset) == UINT64_MAX) {
                atomic_store(&w->outbox->size, sizes[slot]);
                atomic_store(&w->outbox->offset, offsets[slot]);
            } else {
                check_and_free(w, offsets[slot], sizes[slot], w->tag);
            }
            continue;
        }
        uint64_t asked = 1 + check_below(&w->seed, 4096);
        if (allocate(w, asked, &offsets[slot]) != BUDDY_OK) {
            w->failed++;
            continue;
        }
        CHECK(buddy_range_size(w->range, offsets[slot], &sizes[slot]) == BUDDY_OK);
        for (uint64_t i = 0; i < sizes[slot]; i++)
            w->corrupted += shadow[offsets[slot] + i] != 0;
        memset(&shadow[offsets[slot]], w->tag, (size_t)sizes[slot]);
        live[slot] = true;
    }
    for (size_t slot = 0; slot < LIVE; slot++)
        if (live[slot])
            check_and_free(w, offsets[slot], sizes[slot], w->tag);
    atomic_fetch_sub(&workers_running, 1);
    return NULL;
}

static int count_block(uint64_t offset, uint64_t size, buddy_block_state state, void *user) {
    (void)offset;
    (void)size;
    (void)state;
    ++*(unsigned long *)user;
    return 0;
}

/* Reads while the workers write: every answer is of one moment, under the lock. */
static void *run_reader(void *argument) {
    buddy_range *range = argument;
    unsigned long *bad = malloc(sizeof *bad);
    *bad = 0;
    while (atomic_load(&workers_running) > 0) {
        buddy_range_stats stats;
        unsigned long blocks = 0;
        *bad += buddy_range_get_stats(range, &stats) != BUDDY_OK ||
                stats.free_bytes + stats.allocated_bytes != stats.capacity;
        *bad += buddy_range_check(range) != BUDDY_OK;
        *bad += buddy_range_walk(range, count_block, &blocks) != BUDDY_OK || blocks == 0;
        nanosleep(&(struct timespec){0, 200000}, NULL); /* let the workers work */
    }
    return bad;
}

static void share(buddy_range *range, uint64_t seed) {
    mailbox boxes[WORKERS];
    worker workers[WORKERS];
    pthread_t threads[WORKERS + 1];
    atomic_store(&workers_running, WORKERS);
    for (int t = 0; t < WORKERS; t++) {
        atomic_store(&boxes[t].offset, UINT64_MAX);
        atomic_store(&boxes[t].size, 0);
    }
    for (int t = 0; t < WORKERS; t++)
        workers[t] = (worker){range,
                              &boxes[t],
                              &boxes[(t + 1) % WORKERS],
                              (unsigned char)(0x10 * (t + 1)),
                              seed + (uint64_t)t,
                              0,
                              0,
                              0};
    for (int t = 0; t < WORKERS; t++)
        CHECK_EQ_INT(pthread_create(&threads[t], NULL, run_worker, &workers[t]), 0);
    CHECK_EQ_INT(pthread_create(&threads[WORKERS], NULL, run_reader, range), 0);
    for (int t = 0; t < WORKERS; t++)
        pthread_join(threads[t], NULL);
    void *reader_bad = NULL;
    pthread_join(threads[WORKERS], &reader_bad);
    CHECK_EQ_U64(*(unsigned long *)reader_bad, 0);
    free(reader_bad);
    unsigned long passed = 0;
    for (int t = 0; t < WORKERS; t++) {
        uint64_t left = atomic_load(&boxes[t].offset); /* still in a mailbox */
        if (left != UINT64_MAX)
            check_and_free(&workers[t], left, atomic_load(&boxes[t].size), shadow[left]);
        CHECK_EQ_U64(workers[t].corrupted, 0);
        passed += workers[t].passed;
    }
    CHECK(passed > 0); /* blocks did cross threads */
    buddy_range_stats stats;
    CHECK_STATUS(buddy_range_get_stats(range, &stats), BUDDY_OK);
    CHECK_EQ_U64(stats.live_blocks, 0);
    CHECK_EQ_U64(stats.free_bytes, CAPACITY);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
}

static void built_in_lock(void) {
    buddy_range_config config = {
        CAPACITY, CAPACITY, MIN_BLOCK, BUDDY_BEST_FIT, BUDDY_RANGE_THREAD_SAFE, NULL, NULL, NULL};
    buddy_range *range = NULL;
    CHECK(buddy_range_metadata_size_config(&config) <= sizeof metadata);
    CHECK_STATUS(buddy_range_init_config(&range, metadata, sizeof metadata, &config), BUDDY_OK);
    share(range, 1);
    CHECK_STATUS(buddy_range_reset(range), BUDDY_OK); /* keeps the lock */
    share(range, 100);
}

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static _Atomic unsigned long hook_calls;

static void lock_hook(void *context) {
    pthread_mutex_lock(context);
    atomic_fetch_add(&hook_calls, 1);
}
static void unlock_hook(void *context) {
    pthread_mutex_unlock(context);
}

static void caller_hooks(void) {
    buddy_range_config config = {CAPACITY, CAPACITY,  MIN_BLOCK,   BUDDY_FIRST_FIT,
                                 0,        lock_hook, unlock_hook, &mutex};
    buddy_range *range = NULL;
    CHECK_STATUS(buddy_range_init_config(&range, metadata, sizeof metadata, &config), BUDDY_OK);
    share(range, 200);
    CHECK(atomic_load(&hook_calls) > check_scale(30000, 5000)); /* every call took them */
}

int main(int argc, char **argv) {
    if (argc < 2 || argv[1][0] == 'b')
        built_in_lock();
    if (argc < 2 || argv[1][0] == 'h')
        caller_hooks();
    return check_exit_code("range_threads");
}
