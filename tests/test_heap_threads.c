/* SPDX-License-Identifier: MIT */
/*
 * Two threads share one heap, first with BUDDY_HEAP_THREAD_SAFE and then with
 * the caller's lock hooks. Each keeps up to 64 blocks, stamps every byte of a
 * block with its own tag and checks the stamp before freeing it: a block
 * handed out twice would be overwritten by the other thread. Bounded: 200000
 * operations per thread (20000 in quick mode). Afterwards every byte is free again.
 */
#include <pthread.h>
#include <stdint.h>

#include "buddy.h"
#include "check.h"

#define LIVE 64

static _Alignas(4096) unsigned char region[1 << 22];

typedef struct worker {
    buddy_heap *heap;
    unsigned char tag;
    uint64_t seed;
    unsigned long corrupted, failed;
} worker;

static void *run_worker(void *argument) {
    worker *w = argument;
    unsigned char *blocks[LIVE] = {0};
    size_t sizes[LIVE] = {0};
    for (unsigned long step = 0; step < check_scale(200000, 20000); step++) {
        size_t slot = (size_t)check_below(&w->seed, LIVE);
        if (blocks[slot] != NULL) {
            for (size_t i = 0; i < sizes[slot]; i++)
                w->corrupted += blocks[slot][i] != (unsigned char)(w->tag + slot);
            if (buddy_heap_free(w->heap, blocks[slot]) != BUDDY_OK)
                w->corrupted++;
            blocks[slot] = NULL;
        } else {
            sizes[slot] = 1 + (size_t)check_below(&w->seed, 4096);
            blocks[slot] = buddy_heap_malloc(w->heap, sizes[slot]);
            if (blocks[slot] == NULL)
                w->failed++;
            else
                memset(blocks[slot], (unsigned char)(w->tag + slot), sizes[slot]);
        }
    }
    for (size_t slot = 0; slot < LIVE; slot++)
        buddy_heap_free(w->heap, blocks[slot]);
    return NULL;
}

static void two_threads_share(buddy_heap *heap, uint64_t seed) {
    worker workers[2] = {{heap, 0x10, seed, 0, 0}, {heap, 0x80, seed + 1, 0, 0}};
    pthread_t threads[2];
    for (int t = 0; t < 2; t++)
        CHECK_EQ_INT(pthread_create(&threads[t], NULL, run_worker, &workers[t]), 0);
    for (int t = 0; t < 2; t++)
        pthread_join(threads[t], NULL);
    for (int t = 0; t < 2; t++) {
        CHECK_EQ_U64(workers[t].corrupted, 0);
        CHECK_EQ_U64(workers[t].failed, 0); /* 2 x 64 x 4 KiB never fills 4 MiB */
    }
    buddy_range_stats stats;
    buddy_heap_get_stats(heap, &stats);
    CHECK_EQ_U64(stats.live_blocks, 0); /* nothing lost */
    CHECK_EQ_U64(stats.free_bytes, stats.capacity);
    CHECK_STATUS(buddy_heap_check(heap), BUDDY_OK);
}

static pthread_mutex_t caller_mutex = PTHREAD_MUTEX_INITIALIZER;
static void caller_lock(void *mutex) {
    pthread_mutex_lock(mutex);
}
static void caller_unlock(void *mutex) {
    pthread_mutex_unlock(mutex);
}

int main(void) {
    uint64_t seed = check_seed("heap_threads", 99);
    buddy_heap *heap = NULL;
    buddy_heap_config config = {0, 0, BUDDY_BEST_FIT, BUDDY_HEAP_THREAD_SAFE, NULL, NULL, NULL};
    CHECK_STATUS(buddy_heap_init(&heap, region, sizeof region, &config), BUDDY_OK);
    two_threads_share(heap, seed);
    CHECK_STATUS(buddy_heap_fini(heap), BUDDY_OK);

    config =
        (buddy_heap_config){0, 0, BUDDY_FIRST_FIT, 0, caller_lock, caller_unlock, &caller_mutex};
    CHECK_STATUS(buddy_heap_init(&heap, region, sizeof region, &config), BUDDY_OK);
    two_threads_share(heap, seed + 2);
    CHECK_STATUS(buddy_heap_fini(heap), BUDDY_OK);
    return check_exit_code("heap_threads");
}
