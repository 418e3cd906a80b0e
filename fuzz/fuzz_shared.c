/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the shared range's attach: the input is an undo log (its
 * state, count and entries, whose offsets, sizes and old values may be
 * anything) and then a list of edits (an offset and a byte each) to a valid
 * segment image, made once: a small range with owners, live blocks and a run, whose
 * lock was held by a process that died, so that attach recovers from that
 * log. The edits reach the header, the log, the range's metadata and
 * the owners' table, never the lock (a word naming a live thread as its
 * holder is rightly waited for: docs/design.md). Attach must answer a status and never crash
 * or read outside the image. When it accepts the image, alloc, exact runs,
 * resize, free, sweep and the checker must work on it, and the checker must pass after each.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buddy.h"
#include "fuzz_input.h"
#include "robust_lock.h"
#include "shared_internal.h"

#define CAPACITY 4096u
#define MIN_BLOCK 16u

static unsigned char *base;  /* the image the edits start from */
static unsigned char *image; /* 64-byte aligned copy for each input */
static size_t image_size;

/* The image: made in a shared mapping, a child takes the lock and exits. */
static void make_base(void) {
    image_size = buddy_shared_size(CAPACITY, MIN_BLOCK, BUDDY_SHARED_OWNERS);
    unsigned char *segment =
        mmap(NULL, image_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    buddy_shared *shared = NULL;
    FUZZ_REQUIRE(segment != MAP_FAILED);
    FUZZ_REQUIRE(buddy_shared_create(&shared, segment, image_size, CAPACITY, MIN_BLOCK,
                                     BUDDY_SHARED_OWNERS) == BUDDY_OK);
    uint64_t offset = 0;
    for (unsigned i = 0; i < 12; i++)
        FUZZ_REQUIRE(buddy_shared_alloc(shared, 16u << (i % 5), &offset) == BUDDY_OK);
    FUZZ_REQUIRE(buddy_shared_free(shared, offset) == BUDDY_OK);
    FUZZ_REQUIRE(buddy_shared_alloc_exact(shared, 13u * MIN_BLOCK, &offset) ==
                 BUDDY_OK); /* a run */
    pid_t child = fork();
    if (child == 0) {
        buddy_robust_lock_take((robust_lock *)(void *)(segment + SHARED_LOCK_OFFSET));
        _exit(0); /* dies holding it: the next holder recovers */
    }
    int status = 0;
    FUZZ_REQUIRE(child > 0 && waitpid(child, &status, 0) == child);
    /* The saved state words are the range's, as at the start of an operation. */
    undo_log *log = (undo_log *)(void *)(segment + SHARED_LOG_OFFSET);
    buddy_shared_log_open(log, (buddy_range *)(void *)(segment + shared->range_offset));
    log->state = LOG_IDLE;
    base = malloc(image_size);
    image = aligned_alloc(64, (image_size + 63) / 64 * 64);
    FUZZ_REQUIRE(base != NULL && image != NULL);
    memcpy(base, segment, image_size);
    munmap(segment, image_size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (base == NULL)
        make_base();
    fuzz_input in = {data, size};
    memcpy(image, base, image_size);
    size_t cut = image_size; /* a smaller segment size, sometimes */
    if (read_u8(&in) < 16)
        cut = (size_t)read_bytes(&in, 3) % (image_size + 1);
    undo_log *log = (undo_log *)(void *)(image + SHARED_LOG_OFFSET);
    unsigned entries = read_u8(&in) % 8u;
    if (entries != 0) {
        log->state = read_u8(&in) < 200 ? LOG_ACTIVE : read_u8(&in);
        if (read_u8(&in) >= 200)
            log->tag = read_bytes(&in, 8);
        for (unsigned i = 0; i < entries; i++) {
            log_entry *entry = &log->entry[i];
            uint64_t offset = read_u8(&in) < 200 ? read_bytes(&in, 3) : read_bytes(&in, 5);
            entry->where = read_u8(&in) < 200 ? offset | log->tag : read_bytes(&in, 8);
            entry->old = read_bytes(&in, 8);
        }
    }
    while (in.size >= 4) {
        size_t at = (size_t)read_bytes(&in, 3) % image_size;
        uint8_t value = read_u8(&in);
        if (at >= SHARED_LOCK_OFFSET && at < SHARED_LOG_OFFSET)
            continue; /* the lock */
        image[at] = value;
    }
    buddy_shared *shared = NULL;
    int status = buddy_shared_attach(&shared, image, cut);
    FUZZ_REQUIRE(status == BUDDY_OK || status == BUDDY_ECORRUPT || status == BUDDY_EVERSION ||
                 status == BUDDY_EGEOMETRY);
    if (status != BUDDY_OK)
        return 0;
    uint64_t offset = 0, freed = 0;
    for (unsigned i = 0; i < 8; i++) {
        if (buddy_shared_alloc(shared, 16u << i, &offset) == BUDDY_OK)
            FUZZ_REQUIRE(buddy_shared_free(shared, offset) == BUDDY_OK);
        FUZZ_REQUIRE(buddy_shared_check(shared) == BUDDY_OK);
        status = (i & 1u) ? buddy_shared_alloc_packed(shared, 16u * (5u + 3u * i), &offset)
                          : buddy_shared_alloc_exact(shared, 16u * (5u + 3u * i), &offset);
        if (status == BUDDY_OK) {
            (void)buddy_shared_resize(shared, offset, 16u * (9u + i)); /* may not fit */
            FUZZ_REQUIRE(buddy_shared_check(shared) == BUDDY_OK);
            FUZZ_REQUIRE(buddy_shared_free(shared, offset) == BUDDY_OK);
        }
        FUZZ_REQUIRE(buddy_shared_check(shared) == BUDDY_OK);
    }
    FUZZ_REQUIRE(buddy_shared_sweep(shared, (uint32_t)getpid(), &freed) == BUDDY_OK);
    FUZZ_REQUIRE(buddy_shared_check(shared) == BUDDY_OK);
    return 0;
}
