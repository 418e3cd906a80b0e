/* SPDX-License-Identifier: MIT */
/*
 * Random kills: four worker processes hammer one shared range (allocate
 * blocks, exact and packed runs, write their pid and the offset at both ends, verify,
 * resize in place, free)
 * while the parent kills one of them with SIGKILL at a random moment, sweeps
 * the dead worker's blocks (owners) and starts another, BUDDY_KILL_TRIALS
 * times (10,000 by default, 300 in quick mode). A worker that finds its
 * pattern overwritten (a block handed out twice) exits with status 2.
 * Afterwards, with every worker killed and swept: no block is live (none
 * lost), and the checker passes.
 *
 *   BUDDY_KILL_TRIALS=100000 build/tests/test_shared_kills   (the long run)
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buddy.h"
#include "check.h"

#define WORKERS 4
#define CAPACITY (UINT64_C(1) << 22)
#define HELD 64

static buddy_shared *shared;
static unsigned char *data; /* the memory the range's offsets point into */

static uint64_t next_random(uint64_t *seed) {
    *seed = *seed * 6364136223846793005u + 1442695040888963407u;
    return *seed >> 33;
}

static void mark(uint64_t offset, uint64_t size, uint64_t stamp) {
    memcpy(data + offset, &stamp, sizeof stamp);
    memcpy(data + offset + size - sizeof stamp, &stamp, sizeof stamp);
}

static bool marked(uint64_t offset, uint64_t size, uint64_t stamp) {
    uint64_t first = 0, last = 0;
    memcpy(&first, data + offset, sizeof first);
    memcpy(&last, data + offset + size - sizeof last, sizeof last);
    return first == stamp && last == stamp;
}

static void worker(uint64_t seed) {
    uint64_t offsets[HELD], sizes[HELD];
    unsigned held = 0;
    uint64_t pid = (uint64_t)getpid();
    for (;;) {
        uint64_t choice = next_random(&seed);
        if (held < HELD && (held == 0 || choice % 3 != 0)) {
            uint64_t size = UINT64_C(64) << (choice % 9), offset = 0;
            unsigned kind = (unsigned)(choice >> 8) % 4u; /* a quarter each exact and packed runs */
            if (kind >= 2)
                size = 64u * (1u + (choice >> 10) % 300u);
            int status = kind == 2   ? buddy_shared_alloc_exact(shared, size, &offset)
                         : kind == 3 ? buddy_shared_alloc_packed(shared, size, &offset)
                                     : buddy_shared_alloc(shared, size, &offset);
            if (status == BUDDY_OK) {
                mark(offset, size, pid << 32 ^ offset);
                offsets[held] = offset;
                sizes[held++] = size;
            }
        } else {
            unsigned victim = (unsigned)(choice % held);
            if (!marked(offsets[victim], sizes[victim], pid << 32 ^ offsets[victim]))
                _exit(2);                 /* someone else was handed this block */
            if ((choice >> 8) % 4 == 0) { /* a resize, in place or not at all */
                uint64_t size = 64u * (1u + (choice >> 10) % 300u);
                if (buddy_shared_resize(shared, offsets[victim], size) == BUDDY_OK) {
                    sizes[victim] = size;
                    mark(offsets[victim], size, pid << 32 ^ offsets[victim]);
                }
                continue;
            }
            if (buddy_shared_free(shared, offsets[victim]) != BUDDY_OK)
                _exit(3);
            offsets[victim] = offsets[--held];
            sizes[victim] = sizes[held];
        }
    }
}

static pid_t start_worker(uint64_t seed) {
    pid_t child = fork();
    if (child == 0) {
        /* Below the parent, which then runs as soon as its pause ends: four
         * busy workers on two cores would otherwise make each trial wait for
         * a time slice. */
        if (nice(10) == -1)
            _exit(4);
        worker(seed);
    }
    CHECK(child > 0);
    return child;
}

/* Kills `victim`, which must die of the signal, and sweeps its blocks. */
static void kill_and_sweep(pid_t victim, uint64_t *swept) {
    int status = 0;
    kill(victim, SIGKILL);
    CHECK(waitpid(victim, &status, 0) == victim);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
        fprintf(stderr, "worker %ld ended with status %d, not by the kill\n", (long)victim,
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        check_failures++;
    }
    uint64_t freed = 0;
    CHECK_EQ_INT(buddy_shared_sweep(shared, (uint32_t)victim, &freed), BUDDY_OK);
    *swept += freed;
}

int main(void) {
    const char *trials_text = getenv("BUDDY_KILL_TRIALS");
    unsigned trials = trials_text != NULL ? (unsigned)strtoul(trials_text, NULL, 10)
                      : getenv("BUDDY_TEST_QUICK") != NULL ? 300u
                                                           : 10000u;
    uint64_t seed = 20261201u;
    size_t size = buddy_shared_size(CAPACITY, 64, BUDDY_SHARED_OWNERS);
    void *segment = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    data = mmap(NULL, CAPACITY, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (segment == MAP_FAILED || data == MAP_FAILED)
        return 1;
    CHECK_EQ_INT(buddy_shared_create(&shared, segment, size, CAPACITY, 64, BUDDY_SHARED_OWNERS),
                 BUDDY_OK);
    pid_t workers[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        workers[i] = start_worker(next_random(&seed));
    uint64_t swept = 0;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (unsigned trial = 0; trial < trials && check_failures == 0; trial++) {
        struct timespec pause = {0, (long)(next_random(&seed) % 400000)}; /* 0 .. 0.4 ms */
        nanosleep(&pause, NULL);
        int victim = (int)(next_random(&seed) % WORKERS);
        kill_and_sweep(workers[victim], &swept);
        workers[victim] = start_worker(next_random(&seed));
    }
    for (int i = 0; i < WORKERS; i++)
        kill_and_sweep(workers[i], &swept);
    clock_gettime(CLOCK_MONOTONIC, &end);
    buddy_range_stats stats;
    uint64_t recoveries = 0;
    CHECK_EQ_INT(buddy_shared_get_stats(shared, &stats), BUDDY_OK);
    CHECK_EQ_INT(buddy_shared_recoveries(shared, &recoveries), BUDDY_OK);
    CHECK_EQ_U64(stats.live_blocks, 0); /* every block a dead worker held was swept */
    CHECK_EQ_U64(stats.free_bytes, CAPACITY);
    CHECK_EQ_INT(buddy_shared_check(shared), BUDDY_OK);
    printf("test_shared_kills: %u kill -9 trials of %d workers in %.1f s; %llu blocks swept; %llu "
           "operations cut and recovered\n",
           trials, WORKERS,
           (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9,
           (unsigned long long)swept, (unsigned long long)recoveries);
    CHECK(recoveries > 0);
    return check_exit_code("test_shared_kills");
}
