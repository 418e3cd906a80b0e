/* SPDX-License-Identifier: MIT */
/*
 * libbuddy_malloc.so, linked in (so it is this process's malloc): every
 * entry point's contract, errno, threads, fork, RSS falling after a peak,
 * more arenas, and the reaction to invalid frees (in child processes that
 * run this program again with other options).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* Values the compiler cannot see through, so it lets the bad calls be made. */
static volatile size_t half_of_everything = SIZE_MAX / 2;
static void *launder(void *pointer) {
    void *volatile copy = pointer;
    return copy;
}

static bool aligned(const void *pointer, size_t alignment) {
    return ((uintptr_t)pointer & (alignment - 1)) == 0;
}

static bool filled(const unsigned char *block, size_t size, unsigned char value) {
    for (size_t i = 0; i < size; i++)
        if (block[i] != value)
            return false;
    return true;
}

static void entry_points_keep_their_contracts(void) {
    unsigned char *block = malloc(100);
    CHECK(block != NULL && aligned(block, 16) && malloc_usable_size(block) >= 100);
    memset(block, 7, 100);
    block = realloc(block, 5000); /* grows, in place or not, keeping the bytes */
    CHECK(block != NULL && filled(block, 100, 7));
    block = realloc(block, 3u << 20); /* becomes a mapping of its own */
    CHECK(block != NULL && filled(block, 100, 7) && malloc_usable_size(block) >= (3u << 20));
    block = realloc(block, 8u << 20); /* the mapping grows */
    CHECK(block != NULL && filled(block, 100, 7));
    block = realloc(block, 50); /* back to an arena */
    CHECK(block != NULL && filled(block, 50, 7));
    CHECK(realloc(block, 0) == NULL); /* glibc's choice: frees it */
    CHECK(malloc_usable_size(NULL) == 0);

    unsigned char *zeroes = calloc(1000, 10);
    CHECK(zeroes != NULL && filled(zeroes, 10000, 0));
    free(zeroes);
    errno = 0;
    CHECK(calloc(half_of_everything, 3) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(reallocarray(NULL, half_of_everything, 3) == NULL && errno == ENOMEM);
    unsigned char *array = reallocarray(NULL, 10, 10);
    CHECK(array != NULL && malloc_usable_size(array) >= 100);
    free(array);
    errno = 0;
    CHECK(malloc(half_of_everything * 2 - 4096) == NULL && errno == ENOMEM);

    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (size_t alignment = 1; alignment <= (4u << 20); alignment *= 2) {
        void *a = aligned_alloc(alignment, 3 * alignment);
        void *m = memalign(alignment, 100);
        void *p = NULL;
        int status = posix_memalign(&p, alignment < sizeof(void *) ? sizeof(void *) : alignment, 1);
        CHECK(a != NULL && aligned(a, alignment) && m != NULL && aligned(m, alignment));
        CHECK(status == 0 && aligned(p, alignment));
        free(a);
        free(m);
        free(p);
    }
    void *p = NULL;
    CHECK(posix_memalign(&p, 24, 10) == EINVAL && posix_memalign(&p, 2, 10) == EINVAL && p == NULL);
    void *m = memalign(48, 10); /* rounds up to 64, as glibc's does */
    CHECK(m != NULL && aligned(m, 64));
    free(m);
    errno = 0;
    CHECK(memalign(SIZE_MAX, 10) == NULL && errno == EINVAL);
    void *v = valloc(10), *pv = pvalloc(page + 1), *pv0 = pvalloc(0);
    CHECK(v != NULL && aligned(v, page) && pv != NULL && aligned(pv, page));
    CHECK(malloc_usable_size(pv) >= 2 * page && pv0 != NULL && malloc_usable_size(pv0) >= page);
    free(v);
    free(pv);
    free(pv0);
    errno = 0;
    CHECK(pvalloc(SIZE_MAX) == NULL && errno == ENOMEM);
}

static void free_keeps_errno(void) {
    void *small = malloc(10), *large = malloc(5u << 20);
    errno = 1234;
    free(small);
    free(large);
    free(NULL);
    CHECK(errno == 1234);
}

/* ---- Threads: blocks made in one thread, checked and freed in another --- */

#define THREADS 8
#define ROUNDS 20000
#define HANDOFF 64

typedef struct mailbox {
    pthread_mutex_t lock;
    unsigned char *blocks[HANDOFF];
    size_t sizes[HANDOFF];
    unsigned count;
} mailbox;

static mailbox boxes[THREADS];
static unsigned failures;

static void *worker(void *argument) {
    unsigned self = (unsigned)(uintptr_t)argument;
    uint64_t seed = 0x9E3779B97F4A7C15u * (self + 1);
    for (unsigned round = 0; round < ROUNDS; round++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        size_t size = 1 + (size_t)(seed >> 33) % 3000;
        unsigned char *block = malloc(size);
        if (block == NULL) {
            __atomic_fetch_add(&failures, 1u, __ATOMIC_RELAXED);
            continue;
        }
        memset(block, (int)(size & 0xFF), size);
        mailbox *to = &boxes[(self + 1 + round % (THREADS - 1)) % THREADS];
        pthread_mutex_lock(&to->lock);
        unsigned char *old = NULL;
        size_t old_size = 0;
        if (to->count == HANDOFF) {
            old = to->blocks[--to->count];
            old_size = to->sizes[to->count];
        }
        to->blocks[to->count] = block;
        to->sizes[to->count++] = size;
        pthread_mutex_unlock(&to->lock);
        if (old != NULL) {
            if (!filled(old, old_size, (unsigned char)(old_size & 0xFF)))
                __atomic_fetch_add(&failures, 1u, __ATOMIC_RELAXED);
            free(old);
        }
    }
    return NULL;
}

static void threads_pass_blocks_and_lose_nothing(void) {
    pthread_t threads[THREADS];
    for (unsigned i = 0; i < THREADS; i++)
        pthread_mutex_init(&boxes[i].lock, NULL);
    for (unsigned i = 0; i < THREADS; i++)
        CHECK(pthread_create(&threads[i], NULL, worker, (void *)(uintptr_t)i) == 0);
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    for (unsigned i = 0; i < THREADS; i++)
        for (unsigned k = 0; k < boxes[i].count; k++) {
            CHECK(filled(boxes[i].blocks[k], boxes[i].sizes[k], (unsigned char)(boxes[i].sizes[k])));
            free(boxes[i].blocks[k]);
        }
    CHECK(failures == 0);
}

/* ---- Fork while other threads allocate ----------------------------------- */

static volatile int stop_churn;

static void *churn(void *argument) {
    (void)argument;
    while (!stop_churn) {
        void *blocks[32];
        for (int i = 0; i < 32; i++)
            blocks[i] = malloc((size_t)(16 << (i % 12)));
        for (int i = 0; i < 32; i++)
            free(blocks[i]);
    }
    return NULL;
}

static void fork_never_inherits_a_held_lock(void) {
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, churn, NULL) == 0);
    for (int i = 0; i < 50; i++) {
        pid_t child = fork();
        if (child == 0) {
            alarm(10); /* a lock held by a thread the child lacks would hang it */
            for (int k = 0; k < 1000; k++)
                free(malloc((size_t)(16 << (k % 12))));
            _exit(0);
        }
        int status = 0;
        CHECK(child > 0 && waitpid(child, &status, 0) == child);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    stop_churn = 1;
    pthread_join(thread, NULL);
}

/* ---- RSS after a peak ------------------------------------------------------ */

static size_t resident_bytes(void) {
    FILE *statm = fopen("/proc/self/statm", "r");
    unsigned long pages = 0, resident = 0;
    if (statm == NULL)
        return 0;
    if (fscanf(statm, "%lu %lu", &pages, &resident) != 2)
        resident = 0;
    fclose(statm);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

static void rss_falls_after_a_peak(void) {
    enum { COUNT = 160000, SIZE = 1000 }; /* 160 MB of small blocks, then one 64 MiB block */
    static unsigned char *blocks[COUNT];
    size_t before = resident_bytes();
    if (before == 0) {
        printf("SKIP rss_falls_after_a_peak: /proc/self/statm cannot be read\n");
        return;
    }
    for (size_t i = 0; i < COUNT; i++) {
        blocks[i] = malloc(SIZE);
        CHECK(blocks[i] != NULL);
        memset(blocks[i], 1, SIZE);
    }
    unsigned char *large = malloc(64u << 20);
    CHECK(large != NULL);
    memset(large, 1, 64u << 20);
    size_t peak = resident_bytes();
    for (size_t i = 0; i < COUNT; i++)
        free(blocks[i]);
    free(large);
    size_t after = resident_bytes();
    printf("rss: %zu KiB before, %zu KiB at the peak, %zu KiB after\n", before >> 10, peak >> 10,
           after >> 10);
    CHECK(peak > before + (200u << 20));
    CHECK(after < before + (peak - before) / 4);
}

/* ---- Other options, in a child process ------------------------------------ */

/* Runs this program with `mode` and `environment` (NAME=VALUE, may be NULL);
 * returns its wait status and its stderr in `output`. */
static int run_child(const char *mode, const char *environment, char *output, size_t size) {
    int pipe_ends[2];
    CHECK(pipe(pipe_ends) == 0);
    pid_t child = fork();
    if (child == 0) {
        dup2(pipe_ends[1], STDERR_FILENO);
        close(pipe_ends[0]);
        if (environment != NULL)
            putenv((char *)environment);
        setenv("BUDDY_MALLOC_STATS", "1", 1);
        execl("/proc/self/exe", "test_malloc", mode, (char *)NULL);
        _exit(127);
    }
    close(pipe_ends[1]);
    size_t used = 0;
    ssize_t got;
    while (used + 1 < size && (got = read(pipe_ends[0], output + used, size - 1 - used)) > 0)
        used += (size_t)got;
    output[used] = '\0';
    close(pipe_ends[0]);
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    return status;
}

static int child_main(const char *mode) {
    if (strcmp(mode, "--invalid-frees") == 0) {
        static volatile uintptr_t address;
        address = (uintptr_t)launder(malloc(64));
        free((void *)address);
        free((void *)address); /* a double free */
        free(launder(&mode)); /* a pointer no allocation made */
        free(launder((char *)malloc(100) + 16)); /* an interior pointer */
        return 0;
    }
    if (strcmp(mode, "--arenas") == 0) { /* 1 MiB arenas: many of them */
        enum { COUNT = 20000 };
        static unsigned char *blocks[COUNT];
        for (size_t i = 0; i < COUNT; i++) {
            blocks[i] = malloc(1000);
            if (blocks[i] == NULL)
                return 1;
            memset(blocks[i], (int)(i & 0xFF), 1000);
        }
        for (size_t i = 0; i < COUNT; i++)
            if (!filled(blocks[i], 1000, (unsigned char)(i & 0xFF)))
                return 1;
        for (size_t i = 0; i < COUNT; i++)
            free(blocks[i]);
        return 0;
    }
    return 2;
}

static void options_change_what_they_say(void) {
    char output[4096];
    int status = run_child("--invalid-frees", NULL, output, sizeof output);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(strstr(output, "buddy malloc: free(") != NULL && strstr(output, "invalid pointer"));
    status = run_child("--invalid-frees", "BUDDY_MALLOC_INVALID_FREE=count", output, sizeof output);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && strstr(output, "; 3 invalid frees"));
    status = run_child("--arenas", "BUDDY_MALLOC_ARENA_SIZE=1M", output, sizeof output);
    unsigned arenas = 0;
    const char *at = strstr(output, " arenas of ");
    while (at != NULL && at > output && at[-1] >= '0' && at[-1] <= '9')
        at--;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && at != NULL &&
          sscanf(at, "%u", &arenas) == 1 && arenas >= 3);
    status = run_child("--arenas", "BUDDY_MALLOC_ARENA_SIZE=lots", output, sizeof output);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(strstr(output, "BUDDY_MALLOC_ARENA_SIZE='lots' is not a size") != NULL);
    status = run_child("--arenas", "BUDDY_MALLOC_EXACT=yes", output, sizeof output);
    CHECK(strstr(output, "BUDDY_MALLOC_EXACT='yes' is neither '1' nor '0'") != NULL);
    status = run_child("--arenas", "BUDDY_MALLOC_EXACT=1", output, sizeof output);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && strstr(output, "(rounding 2.3%)"));
}

int main(int argc, char **argv) {
    if (argc > 1)
        return child_main(argv[1]);
    entry_points_keep_their_contracts();
    free_keeps_errno();
    threads_pass_blocks_and_lose_nothing();
    fork_never_inherits_a_held_lock();
    rss_falls_after_a_peak();
    options_change_what_they_say();
    return check_exit_code("test_malloc");
}
