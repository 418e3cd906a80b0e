/* SPDX-License-Identifier: MIT */
/*
 * The shared range's internals, shared by shared.c (segment, lock, recovery)
 * and logged.c and logged_run.c (the range's mutating paths compiled again
 * with their stores announced, range_store.h): the segment's layout and the
 * undo log.
 *
 *   header (128 B) | robust lock (64 B) | undo log | range metadata
 *   | owners (BUDDY_SHARED_OWNERS: a uint32_t pid per min block)
 */
#ifndef BUDDY_SHARED_INTERNAL_H
#define BUDDY_SHARED_INTERNAL_H

#include <stdint.h>

#include "buddy.h"

#define SHARED_MAGIC UINT64_C(0x62756464795f7331) /* "buddy_s1" */
#define SHARED_VERSION 2u                         /* 1 had a pthread mutex for a lock */
/* Stores one operation announces at most: a split or a merge per order, each
 * with its summary levels and counters, is under 16; 64 orders. */
#define LOG_ENTRIES 1024u

enum log_state { LOG_IDLE = 0, LOG_ACTIVE = 1 };

typedef struct log_entry {
    uint64_t offset; /* of the stored bytes, from the segment's start */
    uint64_t old;    /* their value before the store */
    uint64_t bytes;  /* 1 .. 8 */
} log_entry;

typedef struct undo_log {
    uint32_t state;          /* enum log_state: LOG_ACTIVE while an operation may have stored */
    uint32_t count;          /* entries that are whole */
    uint64_t saved_state[4]; /* the range's state words before the operation (range_store.h) */
    log_entry entry[LOG_ENTRIES];
} undo_log;

struct buddy_shared {
    uint64_t magic;
    uint32_t version;
    uint32_t header_bytes;
    uint64_t capacity;
    uint64_t min_block_size;
    uint64_t segment_bytes; /* what buddy_shared_size gave */
    uint32_t range_offset;  /* the range's metadata, from the segment's start */
    uint32_t flags;         /* enum buddy_shared_flags */
    uint64_t owners_offset; /* the owners' table, 0 without BUDDY_SHARED_OWNERS */
    uint64_t checksum;      /* of the fields above */
    uint64_t recoveries;    /* outside the checksum: it changes; under the lock */
};

#define SHARED_HEADER_BYTES 128u
_Static_assert(sizeof(struct buddy_shared) <= SHARED_HEADER_BYTES, "the header fits its bytes");
#define SHARED_LOCK_OFFSET SHARED_HEADER_BYTES
#define SHARED_LOCK_BYTES 64u /* a robust_lock, alone in its line */
#define SHARED_LOG_OFFSET (SHARED_LOCK_OFFSET + SHARED_LOCK_BYTES)
#define SHARED_RANGE_OFFSET ((SHARED_LOG_OFFSET + sizeof(undo_log) + 63u) / 64u * 64u)

/* The log that the running operation of this thread stores into, and the
 * segment its offsets count from; set by shared.c around a logged call. */
typedef struct log_target {
    undo_log *log;
    unsigned char *segment;
} log_target;
extern _Thread_local log_target buddy_shared_target;

/* Logs the old bytes at `address` before a store (logged.c). */
const void *buddy_shared_will_store(void *address, size_t bytes);

/* Saves the range's state words in the log, and puts them back (logged.c). */
void buddy_shared_save_state(undo_log *log, const buddy_range *range);
void buddy_shared_restore_state(const undo_log *log, buddy_range *range);

/* The core's alloc and free with every store logged first (logged.c). */
int buddy_shared_logged_alloc(buddy_range *range, uint64_t size, uint64_t *offset_out);
int buddy_shared_logged_free(buddy_range *range, uint64_t offset);
/* The range's alloc_exact(_aligned) and resize with every store logged first
 * (logged_run.c, under the names of logged_names.h). */
int buddy_shared_logged_alloc_exact(buddy_range *range, uint64_t size, uint64_t *offset_out);
int buddy_shared_logged_alloc_exact_aligned(buddy_range *range, uint64_t size, uint64_t alignment,
                                            uint64_t *offset_out);
int buddy_shared_logged_resize(buddy_range *range, uint64_t offset, uint64_t new_size);

#endif /* BUDDY_SHARED_INTERNAL_H */
