/* SPDX-License-Identifier: MIT */
/*
 * The shared range: a segment made, used from two mappings at different
 * addresses, and rejected when corrupt, of another version or of another
 * geometry; a lock whose holder died in each way it can; then every crash
 * point. The shared range's logged alloc and free are compiled into this
 * test again with a hook that numbers every store; for each operation of a
 * seeded script (allocations that split 0 to 20 times, frees that merge 0
 * to 20 times, exact runs, resizes of blocks and runs, failures) and each
 * store k, a child process runs the operation and kills itself with SIGKILL
 * just before store k. The parent then takes the lock, which recovers, and
 * compares every byte of the range's metadata with the state before the
 * operation: it never happened. Without a kill, the bytes must equal a
 * reference run's. (In quick mode, under Valgrind, an emulator or TSan: 12
 * random operations, and every 8th store and the last of each.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buddy.h"
#include "check.h"
#include "layout.h"
#include "robust_lock.h"
#include "shared_internal.h"

/* ---- The crash hook the test's copy of logged.c calls ------------------- */

static unsigned crash_at;    /* the store to die before; 0: none */
static unsigned stores_seen; /* stores of the running operation, logged or summaries */

void crash_point(void);
void crash_point(void) {
    if (++stores_seen == crash_at)
        raise(SIGKILL);
}

static void *map_shared(size_t bytes) {
    void *memory = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(memory != MAP_FAILED);
    return memory == MAP_FAILED ? NULL : memory;
}

/* ---- Making, attaching, rejecting ---------------------------------------- */

static int count_live(uint64_t offset, uint64_t size, buddy_block_state state, uint32_t owner,
                      void *user) {
    (void)offset;
    (void)size;
    (void)owner;
    *(uint64_t *)user += state == BUDDY_BLOCK_LIVE;
    return 0;
}

/* The header's checksum as the format defines it (docs/design.md): FNV-1a
 * over the bytes before the checksum field. */
static uint64_t format_checksum(const buddy_shared *header) {
    const unsigned char *bytes = (const unsigned char *)header;
    uint64_t hash = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < offsetof(buddy_shared, checksum); i++)
        hash = (hash ^ bytes[i]) * UINT64_C(0x100000001b3);
    return hash;
}

static void segments_are_made_attached_and_checked(void) {
    const uint64_t capacity = 1u << 20;
    size_t size = buddy_shared_size(capacity, 64, 0);
    CHECK(size > 0 && buddy_shared_size(0, 64, 0) == 0 && buddy_shared_size(capacity, 3, 0) == 0 &&
          buddy_shared_size(capacity, 64, 2) == 0);
    /* A segment past 2^40 bytes (the log's offsets) is refused: 2^38 min
     * blocks with a 4-byte owner each; without owners it fits (on 64 bits). */
    CHECK(buddy_shared_size(UINT64_C(1) << 38, 1, BUDDY_SHARED_OWNERS) == 0);
    CHECK(sizeof(size_t) < 8 || buddy_shared_size(UINT64_C(1) << 38, 1, 0) != 0);
    /* The owners' table ends on a whole word, for the log: 3 owners take 16 bytes. */
    CHECK_EQ_U64(buddy_shared_size(192, 64, BUDDY_SHARED_OWNERS) % 8u, 0);
    int fd = memfd_create("buddy-shared-test", 0);
    CHECK(fd >= 0 && ftruncate(fd, (off_t)size) == 0);
    unsigned char *first = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    unsigned char *second = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(first != MAP_FAILED && second != MAP_FAILED && first != second);

    buddy_shared *made = NULL, *seen = NULL;
    CHECK_EQ_INT(buddy_shared_create(NULL, first, size, capacity, 64, 0), BUDDY_EINVAL);
    CHECK_EQ_INT(buddy_shared_create(&made, first + 8, size, capacity, 64, 0), BUDDY_EINVAL);
    CHECK_EQ_INT(buddy_shared_create(&made, first, size, capacity, 3, 0), BUDDY_EGEOMETRY);
    CHECK_EQ_INT(buddy_shared_create(&made, first, size - 1, capacity, 64, 0), BUDDY_ESMALL);
    CHECK_EQ_INT(buddy_shared_create(&made, first, size, capacity, 64, 2), BUDDY_EINVAL);
    CHECK_EQ_INT(buddy_shared_create(&made, first, size, capacity, 64, 0), BUDDY_OK);
    CHECK_EQ_INT(buddy_shared_attach(&seen, second, size), BUDDY_OK); /* another address */

    uint64_t a = 0, b = 0, block = 0, recoveries = 9;
    CHECK_EQ_INT(buddy_shared_alloc(made, 100, &a), BUDDY_OK);
    CHECK_EQ_INT(buddy_shared_alloc(seen, 1000, &b), BUDDY_OK);
    CHECK_EQ_INT(buddy_shared_block_size(seen, a, &block), BUDDY_OK);
    CHECK_EQ_U64(block, 128);
    CHECK_EQ_INT(buddy_shared_free(seen, a + 64), BUDDY_ENOTSTART); /* checked, as a range's */
    CHECK_EQ_INT(buddy_shared_free(seen, a), BUDDY_OK);
    CHECK_EQ_INT(buddy_shared_free(made, a), BUDDY_ENOTLIVE);
    CHECK_EQ_INT(buddy_shared_free(made, UINT64_MAX), BUDDY_ERANGE);
    buddy_range_stats stats;
    CHECK_EQ_INT(buddy_shared_get_stats(made, &stats), BUDDY_OK);
    CHECK(stats.live_blocks == 1 && stats.allocated_bytes == 1024 && stats.rejected_frees == 3);
    CHECK_EQ_INT(buddy_shared_recoveries(seen, &recoveries), BUDDY_OK);
    CHECK_EQ_U64(recoveries, 0);
    CHECK_EQ_INT(buddy_shared_check(made), BUDDY_OK);
    uint64_t live = 0;
    CHECK_EQ_INT(buddy_shared_walk(made, count_live, &live), BUDDY_OK);
    CHECK_EQ_U64(live, 1);
    CHECK_EQ_INT(buddy_shared_free(made, b), BUDDY_OK);

    /* An exact run from one mapping, sized, resized and freed from the other. */
    CHECK_EQ_INT(buddy_shared_alloc_exact(made, 13 * 64 - 5, &a), BUDDY_OK);
    CHECK_EQ_INT(buddy_shared_block_size(seen, a, &block), BUDDY_OK);
    CHECK_EQ_U64(block, 13 * 64);
    CHECK_EQ_INT(buddy_shared_free(seen, a + 8 * 64), BUDDY_ENOTSTART); /* its second piece */
    CHECK_EQ_INT(buddy_shared_resize(seen, a, 9 * 64), BUDDY_OK);
    CHECK_EQ_INT(buddy_shared_block_size(made, a, &block), BUDDY_OK);
    CHECK_EQ_U64(block, 9 * 64);
    CHECK_EQ_INT(buddy_shared_resize(seen, a + 64, 64), BUDDY_ENOTSTART);
    CHECK_EQ_INT(buddy_shared_resize(seen, a, capacity * 2), BUDDY_ETOOBIG);
    b = 12345;
    CHECK_EQ_INT(buddy_shared_alloc_exact(seen, capacity * 2, &b), BUDDY_ETOOBIG);
    CHECK_EQ_U64(b, 12345); /* a failed allocation leaves *offset_out alone */
    CHECK_EQ_INT(buddy_shared_free(seen, a), BUDDY_OK);
    CHECK_EQ_INT(buddy_shared_get_stats(made, &stats), BUDDY_OK);
    CHECK(stats.live_blocks == 0 && stats.allocated_bytes == 0);

    /* Bad arguments change nothing. */
    CHECK_EQ_INT(buddy_shared_alloc_exact(NULL, 1, &a), BUDDY_EINVAL);
    CHECK_EQ_INT(buddy_shared_alloc_exact(made, 1, NULL), BUDDY_EINVAL);
    CHECK_EQ_INT(buddy_shared_alloc_packed(NULL, 1, &a), BUDDY_EINVAL);
    CHECK_EQ_INT(buddy_shared_alloc_packed(made, 1, NULL), BUDDY_EINVAL);
    CHECK_EQ_INT(buddy_shared_resize(NULL, 0, 1), BUDDY_EINVAL);
    CHECK_EQ_INT(buddy_shared_alloc(NULL, 1, &a), BUDDY_EINVAL);
    CHECK_EQ_INT(buddy_shared_alloc(made, 1, NULL), BUDDY_EINVAL);
    CHECK_EQ_INT(buddy_shared_free(NULL, 0), BUDDY_EINVAL);
    CHECK_EQ_INT(buddy_shared_block_size(NULL, 0, &block), BUDDY_EINVAL);
    CHECK_EQ_INT(buddy_shared_get_stats(made, NULL), BUDDY_EINVAL);
    CHECK_EQ_INT(buddy_shared_recoveries(made, NULL), BUDDY_EINVAL);
    CHECK_EQ_INT(buddy_shared_check(NULL), BUDDY_EINVAL);
    uint32_t owner = 0;
    CHECK_EQ_INT(buddy_shared_owner(made, b, &owner), BUDDY_EINVAL); /* made without owners */
    CHECK_EQ_INT(buddy_shared_sweep(made, 1, NULL), BUDDY_EINVAL);
    CHECK_EQ_INT(buddy_shared_owner(NULL, b, &owner), BUDDY_EINVAL);
    CHECK_EQ_INT(buddy_shared_sweep(NULL, 1, NULL), BUDDY_EINVAL);
    CHECK_EQ_INT(buddy_shared_walk(NULL, count_live, NULL), BUDDY_EINVAL);
    CHECK_EQ_INT(buddy_shared_walk(made, NULL, NULL), BUDDY_EINVAL);

    CHECK_EQ_INT(buddy_shared_attach(NULL, second, size), BUDDY_EINVAL);
    CHECK_EQ_INT(buddy_shared_attach(&seen, second + 8, size), BUDDY_EINVAL);

    /* Corrupt, another version, another geometry. */
    buddy_shared *header = (buddy_shared *)(void *)second;
    CHECK_EQ_INT(buddy_shared_attach(&seen, second, 32), BUDDY_ECORRUPT);
    CHECK_EQ_INT(buddy_shared_attach(&seen, second, size - 1), BUDDY_EGEOMETRY);
    header->capacity++; /* the checksum no longer matches */
    CHECK_EQ_INT(buddy_shared_attach(&seen, second, size), BUDDY_ECORRUPT);
    CHECK_EQ_INT(buddy_shared_check(made), BUDDY_ECORRUPT);
    header->capacity--;
    header->version++; /* another version, with its checksum right */
    header->checksum = format_checksum(header);
    CHECK_EQ_INT(buddy_shared_attach(&seen, second, size), BUDDY_EVERSION);
    header->version--;
    header->checksum = format_checksum(header);
    CHECK_EQ_INT(buddy_shared_attach(&seen, second, size), BUDDY_OK);
    header->magic ^= 1u;
    CHECK_EQ_INT(buddy_shared_attach(&seen, second, size), BUDDY_ECORRUPT);
    header->magic ^= 1u;
    unsigned char *metadata = second + header->range_offset;
    metadata[4096] ^= 0x10u; /* a tree bit */
    CHECK_EQ_INT(buddy_shared_attach(&seen, second, size), BUDDY_ECORRUPT);
    metadata[4096] ^= 0x10u;
    /* A range with a built-in lock, held: rejected, not waited for (a fuzzer's hang). */
    buddy_range *inner = (buddy_range *)(void *)metadata;
    inner->sync = SYNC_BUILT_IN;
    inner->lock_word = 2;
    CHECK_EQ_INT(buddy_shared_attach(&seen, second, size), BUDDY_ECORRUPT);
    inner->sync = SYNC_NONE;
    inner->lock_word = 0;
    CHECK_EQ_INT(buddy_shared_attach(&seen, second, size), BUDDY_OK);
    munmap(first, size);
    munmap(second, size);
    close(fd);
}

/* ---- The lock's holder dies --------------------------------------------- */

/* A segment whose lock a process held in the middle of an operation (the
 * log ACTIVE) when it ended in `way`; the next call must recover once. */
enum death { EXITED, ID_REUSED, UNMARKED, IN_A_VISITOR };

static pthread_mutex_t *visitor_mutex; /* a robust pthread mutex, process-shared */

static int die_in_visitor(uint64_t offset, uint64_t size, buddy_block_state state, uint32_t owner,
                          void *user) {
    (void)offset, (void)size, (void)state, (void)owner, (void)user;
    pthread_mutex_lock(visitor_mutex); /* replaces the thread's pending robust entry */
    pthread_mutex_unlock(visitor_mutex);
    raise(SIGKILL); /* so the kernel cannot mark the shared range's lock */
    return 1;
}

static void recovers_after(enum death way) {
    size_t size = buddy_shared_size(4096, 16, 0);
    unsigned char *segment = map_shared(size);
    buddy_shared *shared = NULL;
    CHECK_EQ_INT(buddy_shared_create(&shared, segment, size, 4096, 16, 0), BUDDY_OK);
    robust_lock *lock = (robust_lock *)(void *)(segment + SHARED_LOCK_OFFSET);
    undo_log *log = (undo_log *)(void *)(segment + SHARED_LOG_OFFSET);
    buddy_range *range = (buddy_range *)(void *)(segment + shared->range_offset);
    pid_t child = fork();
    if (child == 0) {
        if (way == IN_A_VISITOR) {
            (void)buddy_shared_walk(shared, die_in_visitor, NULL);
            _exit(3);
        }
        buddy_robust_lock_take(lock);
        buddy_shared_log_open(log, range); /* inside an operation */
        _exit(0);
    }
    int status = 0;
    CHECK(child > 0 && waitpid(child, &status, 0) == child);
    if (way == ID_REUSED) { /* the id in the word is now this thread's */
        lock->state = robust_lock_state((uint32_t)syscall(SYS_gettid), (uint32_t)getpid());
    } else if (way == UNMARKED) { /* an id the kernel did not replace: a thread now gone */
        lock->state = robust_lock_state((uint32_t)child, (uint32_t)child);
    }
    if (way == IN_A_VISITOR) { /* as if inside an operation, to count the recovery */
        buddy_shared_log_open(log, range);
    }
    uint64_t recoveries = 0, offset = 0;
    CHECK_EQ_INT(buddy_shared_recoveries(shared, &recoveries), BUDDY_OK);
    CHECK_EQ_U64(recoveries, 1);
    CHECK_EQ_INT(buddy_shared_alloc(shared, 16, &offset), BUDDY_OK);
    CHECK_EQ_INT(buddy_shared_free(shared, offset), BUDDY_OK);
    CHECK_EQ_INT(buddy_shared_check(shared), BUDDY_OK);
    CHECK_EQ_U64(robust_lock_word(lock->state), 0);
    munmap(segment, size);
}

static void a_dead_holder_is_recovered(void) {
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
    visitor_mutex = map_shared(sizeof *visitor_mutex);
    CHECK_EQ_INT(pthread_mutex_init(visitor_mutex, &attributes), 0);
    pthread_mutexattr_destroy(&attributes);
    recovers_after(EXITED);       /* the kernel marks the word */
    recovers_after(ID_REUSED);    /* taken at once */
    recovers_after(UNMARKED);     /* taken once the holder is found gone */
    recovers_after(IN_A_VISITOR); /* the same, through a real robust mutex */
    munmap(visitor_mutex, sizeof *visitor_mutex);
}

/* ---- Owners and sweeps ---------------------------------------------------- */

static void a_dead_process_blocks_are_swept(void) {
    const uint64_t capacity = 1u << 16;
    size_t size = buddy_shared_size(capacity, 16, BUDDY_SHARED_OWNERS);
    CHECK(size > buddy_shared_size(capacity, 16, 0) + capacity / 16 * 4 - 64);
    unsigned char *segment = map_shared(size);
    buddy_shared *shared = NULL;
    CHECK_EQ_INT(buddy_shared_create(&shared, segment, size, capacity, 16, BUDDY_SHARED_OWNERS),
                 BUDDY_OK);
    uint64_t mine = 0, freed = 0;
    uint32_t owner = 0;
    CHECK_EQ_INT(buddy_shared_alloc(shared, 100, &mine), BUDDY_OK);
    pid_t child = fork();
    if (child == 0) { /* 600 blocks (more than a sweep's batch), then dies */
        uint64_t offset = 0;
        for (int i = 0; i < 600; i++)
            if (buddy_shared_alloc(shared, 16u << (i % 3), &offset) != BUDDY_OK)
                _exit(1);
        raise(SIGKILL);
    }
    int status = 0;
    CHECK(child > 0 && waitpid(child, &status, 0) == child && WIFSIGNALED(status));
    buddy_range_stats stats;
    CHECK_EQ_INT(buddy_shared_get_stats(shared, &stats), BUDDY_OK);
    CHECK_EQ_U64(stats.live_blocks, 601);
    CHECK_EQ_INT(buddy_shared_owner(shared, mine, &owner), BUDDY_OK);
    CHECK_EQ_U64(owner, (uint32_t)getpid());
    CHECK_EQ_INT(buddy_shared_owner(shared, mine + 16, &owner), BUDDY_ENOTSTART);
    CHECK_EQ_INT(buddy_shared_sweep(shared, (uint32_t)child, &freed), BUDDY_OK);
    CHECK_EQ_U64(freed, 600);
    CHECK_EQ_INT(buddy_shared_get_stats(shared, &stats), BUDDY_OK);
    CHECK_EQ_U64(stats.live_blocks, 1);
    CHECK_EQ_INT(buddy_shared_free(shared, mine), BUDDY_OK);
    child = fork(); /* a forked child owns what it allocates, not its parent */
    if (child == 0) {
        uint32_t found = 0;
        int failed = buddy_shared_alloc(shared, 16, &mine) != BUDDY_OK ||
                     buddy_shared_owner(shared, mine, &found) != BUDDY_OK ||
                     found != (uint32_t)getpid() || buddy_shared_free(shared, mine) != BUDDY_OK;
        exit(failed); /* exit, not _exit: a coverage build writes its counts */
    }
    CHECK(child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
          WEXITSTATUS(status) == 0);
    CHECK_EQ_INT(buddy_shared_sweep(shared, (uint32_t)getpid(), NULL), BUDDY_OK);
    CHECK_EQ_INT(buddy_shared_check(shared), BUDDY_OK);
    munmap(segment, size);
}

/* ---- Every crash point ----------------------------------------------------- */

enum op_kind { OP_ALLOC, OP_EXACT, OP_PACKED, OP_FREE, OP_RESIZE };
/* Special victims of a free: an offset inside the block, the start of its
 * second piece (of a run). */
enum { INTERIOR = 1000, SECOND_PIECE = 2000 };

typedef struct script_op {
    enum op_kind kind;
    uint64_t size;   /* alloc, exact: the size; resize: the new size */
    unsigned victim; /* free, resize: which live block (modulo their count), or a special */
} script_op;

typedef struct crash_run {
    unsigned char *segment, *before, *scratch;
    size_t size, range_offset;
    uint64_t live[256];
    unsigned live_count;
    unsigned crash_points, operations;
    unsigned stride; /* every store is a crash point; in quick mode every 8th and the last */
} crash_run;

static int run_op(buddy_shared *shared, const crash_run *run, const script_op *op,
                  uint64_t *offset_out) {
    if (op->kind == OP_ALLOC)
        return buddy_shared_alloc(shared, op->size, offset_out);
    if (op->kind == OP_EXACT)
        return buddy_shared_alloc_exact(shared, op->size, offset_out);
    if (op->kind == OP_PACKED)
        return buddy_shared_alloc_packed(shared, op->size, offset_out);
    uint64_t offset = run->live_count == 0 ? 5 : run->live[op->victim % run->live_count];
    if (op->kind == OP_RESIZE)
        return buddy_shared_resize(shared, offset, op->size);
    uint64_t size = 0;
    if (op->victim == SECOND_PIECE && buddy_shared_block_size(shared, offset, &size) == BUDDY_OK)
        offset += UINT64_C(1) << (63 - __builtin_clzll(size)); /* the largest piece's size */
    return buddy_shared_free(shared, op->victim == INTERIOR ? offset + 1 : offset);
}

/* The crash point after store k of `stores`: k + stride, the last store
 * always included; past the last, stores + 1. */
static unsigned next_crash_point(unsigned k, unsigned stores, unsigned stride) {
    if (k == stores)
        return stores + 1;
    return k + stride < stores ? k + stride : stores;
}

/* Kills a child at each store of `op` from the segment's state, recovers,
 * and compares; then runs `op` for real. */
static void sweep(crash_run *run, const script_op *op) {
    buddy_shared *shared = (buddy_shared *)(void *)run->segment;
    memcpy(run->before, run->segment, run->size);
    /* The reference: the op whole, in a copy, counting its stores. */
    memcpy(run->scratch, run->segment, run->size);
    buddy_shared *reference = NULL;
    CHECK_EQ_INT(buddy_shared_attach(&reference, run->scratch, run->size), BUDDY_OK);
    uint64_t offset = 0;
    crash_at = 0;
    stores_seen = 0;
    int expected = run_op(reference, run, op, &offset);
    unsigned stores = stores_seen;
    for (unsigned k = 1; k <= stores; k = next_crash_point(k, stores, run->stride)) {
        /* The header; the rest is as before, checked after the last recovery. */
        memcpy(run->segment, run->before, run->range_offset);
        pid_t child = fork();
        if (child == 0) {
            crash_at = k;
            stores_seen = 0;
            uint64_t ignored = 0;
            run_op(shared, run, op, &ignored);
            _exit(3); /* not reached: store k kills it */
        }
        int status = 0;
        CHECK(child > 0 && waitpid(child, &status, 0) == child);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        uint64_t recoveries = 0;
        CHECK_EQ_INT(buddy_shared_recoveries(shared, &recoveries), BUDDY_OK); /* recovers */
        CHECK_EQ_U64(recoveries, ((buddy_shared *)(void *)run->before)->recoveries + 1);
        if (memcmp(run->segment + run->range_offset, run->before + run->range_offset,
                   run->size - run->range_offset) != 0) {
            fprintf(stderr, "crash before store %u of %u: the metadata differs after recovery\n", k,
                    stores);
            check_failures++;
            memcpy(run->segment, run->before, run->size);
        }
        run->crash_points++;
    }
    /* For real: the same result and bytes as the reference. */
    memcpy(run->segment, run->before, run->size);
    crash_at = 0;
    uint64_t real_offset = 0;
    CHECK_EQ_INT(run_op(shared, run, op, &real_offset), expected);
    CHECK(memcmp(run->segment + run->range_offset, run->scratch + run->range_offset,
                 run->size - run->range_offset) == 0);
    CHECK_EQ_INT(buddy_shared_check(shared), BUDDY_OK);
    bool allocates = op->kind == OP_ALLOC || op->kind == OP_EXACT || op->kind == OP_PACKED;
    if (allocates && expected == BUDDY_OK && run->live_count < 256)
        run->live[run->live_count++] = real_offset;
    if (op->kind == OP_FREE && expected == BUDDY_OK && run->live_count > 0) {
        unsigned freed = op->victim % run->live_count;
        run->live[freed] = run->live[run->live_count - 1];
        run->live_count--;
    }
    run->operations++;
}

static void every_crash_point_recovers(void) {
    const uint64_t capacity = UINT64_C(1) << 20; /* 20 orders; summaries of 3 levels */
    crash_run run = {0};
    run.size = buddy_shared_size(capacity, 1, BUDDY_SHARED_OWNERS);
    run.segment = map_shared(run.size);
    run.before = map_shared(run.size); /* shared: no copy-on-write faults after each fork */
    run.scratch = map_shared(run.size);
    buddy_shared *shared = NULL;
    CHECK_EQ_INT(
        buddy_shared_create(&shared, run.segment, run.size, capacity, 1, BUDDY_SHARED_OWNERS),
        BUDDY_OK);
    run.range_offset = (size_t)shared->range_offset;
    /* The epochs wrap at the first operation, and every entry carries epoch
     * 1 with a wrong old value: unless the wrap zeroes them, recovery in that
     * operation or the next (which logs more entries) would write those values
     * back. */
    undo_log *log = (undo_log *)(void *)(run.segment + SHARED_LOG_OFFSET);
    log->tag = (uint64_t)LOG_EPOCH_MAX << LOG_EPOCH_SHIFT;
    for (unsigned i = 0; i < LOG_ENTRIES; i++)
        log->entry[i] = (log_entry){~UINT64_C(0), (run.range_offset + 8u * (i % 64u)) |
                                                      UINT64_C(1) << LOG_EPOCH_SHIFT};
    const char *seed_text = getenv("BUDDY_SEED");
    uint64_t seed = seed_text != NULL ? strtoull(seed_text, NULL, 10) : 20261201u;
    printf("test_shared: seed %llu (BUDDY_SEED replays)\n", (unsigned long long)seed);
    unsigned quick = getenv("BUDDY_TEST_QUICK") != NULL;
    run.stride = quick ? 8u : 1u;
    static const script_op fixed[] = {
        {OP_ALLOC, UINT64_C(1) << 21, 0}, /* too big: a counted failure */
        {OP_ALLOC, 1, 0},                 /* 20 splits */
        {OP_ALLOC, 1, 0},                 /* none */
        {OP_FREE, 0, INTERIOR},           /* an interior offset: a counted rejection */
        {OP_FREE, 0, 0},                  /* a free whose buddy is live */
        {OP_FREE, 0, 0},                  /* 20 merges */
        {OP_EXACT, (1u << 18) + (1u << 15) + (1u << 9) + 5, 0}, /* 5 pieces, 4 marks */
        {OP_FREE, 0, SECOND_PIECE},                  /* a later piece: a counted rejection */
        {OP_RESIZE, (1u << 18) + (1u << 16) + 3, 0}, /* a run grown in place */
        {OP_RESIZE, 1000, 0},                        /* shrunk */
        {OP_RESIZE, 1u << 19, 0},                    /* grown to a plain block */
        {OP_RESIZE, 1u << 21, 0},                    /* too big */
        {OP_FREE, 0, 0},                             /* 19 merges */
        {OP_ALLOC, 64, 0},                           /* a block grown and shrunk in place */
        {OP_RESIZE, 4096, 0},
        {OP_RESIZE, 16, 0},
        {OP_EXACT, 7, 0},               /* 7 = 3 mod 4: 8 min blocks */
        {OP_PACKED, (1u << 10) + 5, 0}, /* 1 mod 4 min blocks: at a multiple of 4, after the 16 */
        {OP_FREE, 0, 1},
        {OP_FREE, 0, 0},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        sweep(&run, &fixed[i]);
    for (unsigned step = 0; step < (quick ? 12u : 300u); step++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        unsigned draw = (unsigned)(seed >> 59); /* 0..31 */
        enum op_kind kind = run.live_count == 0 ? OP_ALLOC
                            : draw < 12         ? OP_FREE
                            : draw < 16         ? OP_RESIZE
                            : draw < 20         ? OP_EXACT
                            : draw < 24         ? OP_PACKED
                                                : OP_ALLOC;
        uint64_t power = UINT64_C(1) << ((seed >> 33) % 19);
        script_op op = {kind, kind == OP_ALLOC ? power : power + (seed >> 8) % power,
                        (unsigned)(seed >> 40) % 256u};
        sweep(&run, &op);
    }
    /* Fill the range, so that an allocation fails with ENOMEM, then free. */
    script_op whole = {OP_ALLOC, capacity, 0};
    sweep(&run, &whole);
    printf("test_shared: %u crash points over %u operations, each recovered to the bytes before\n",
           run.crash_points, run.operations);
    CHECK(run.crash_points > (quick ? 100u : 3000u));
    munmap(run.segment, run.size);
    munmap(run.scratch, run.size);
    munmap(run.before, run.size);
}

int main(void) {
    segments_are_made_attached_and_checked();
    a_dead_process_blocks_are_swept();
    a_dead_holder_is_recovered();
    every_crash_point_recovers();
    return check_exit_code("test_shared");
}
