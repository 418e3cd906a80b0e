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

#include <assert.h>
#include <stdint.h>

#include "buddy.h"

#define SHARED_MAGIC UINT64_C(0x62756464795f7331) /* "buddy_s1" */
/* 1 had a pthread mutex for a lock; 2 a count of whole entries in the log;
 * 3 logged the summaries, which 4 computes again when it recovers (a log of 4
 * written back by 3 would leave them stale). */
#define SHARED_VERSION 4u
/* Stores one operation announces at most: a split or a merge per order, each
 * with its summary levels and counters, is under 16; 64 orders. */
#define LOG_ENTRIES 1024u

enum log_state { LOG_IDLE = 0, LOG_ACTIVE = 1 };

/* An entry's `where`: the offset of the stored word from the segment's
 * start (segments are at most 2^40 bytes) and the epoch, the number of the
 * operation that logged it. */
#define LOG_OFFSET_BITS 40u
#define LOG_EPOCH_SHIFT LOG_OFFSET_BITS
#define LOG_EPOCH_MAX ((UINT32_C(1) << (64u - LOG_EPOCH_SHIFT)) - 1u)
#define LOG_OFFSET_MASK ((UINT64_C(1) << LOG_OFFSET_BITS) - 1u)

typedef struct log_entry {
    uint64_t old;   /* the word's value before the store */
    uint64_t where; /* stored after `old`, before the word: see above */
} log_entry;

/* An operation's entries are the first ones that carry its epoch: recovery
 * needs no count of them, and the writer stores none in order. Epochs run
 * from 1 to LOG_EPOCH_MAX; at the wrap the entries are zeroed first, so no
 * entry left by an earlier operation carries the running one's epoch. */
typedef struct undo_log {
    uint32_t state;          /* enum log_state: LOG_ACTIVE while an operation may have stored */
    uint32_t next;           /* the running operation's next entry: the writer's, not recovery's */
    uint64_t tag;            /* the running or the last operation's epoch << LOG_EPOCH_SHIFT */
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

static inline undo_log *log_of_range(void *range) {
    return (undo_log *)(void *)((unsigned char *)range - (SHARED_RANGE_OFFSET - SHARED_LOG_OFFSET));
}

#ifdef BUDDY_SHARED_CRASH_HOOK
/* The crash-point test's: called at each store, after its entry is logged
 * (a summary's store has none) and before the store, and may end the
 * process there. */
void BUDDY_SHARED_CRASH_HOOK(void);
#endif

/* Logs the word at `address`, in the range that starts at `range`, before a
 * store (range_store.h's hook); returns the word that completes the entry,
 * which the store must follow. Under the lock, in an operation. */
static inline const uint64_t *buddy_shared_will_store(void *range, uint64_t *address) {
    undo_log *log = log_of_range(range);
    uint32_t next = log->next;
    assert(log->state == LOG_ACTIVE && next < LOG_ENTRIES);
    log->next = next + 1u;
    log_entry *entry = &log->entry[next];
    entry->old = *address;
    __asm__ __volatile__("" : "+m"(entry->where) : "m"(entry->old)); /* `old` is whole first */
    entry->where =
        ((uint64_t)((unsigned char *)address - (unsigned char *)range) + SHARED_RANGE_OFFSET) |
        log->tag;
#ifdef BUDDY_SHARED_CRASH_HOOK
    BUDDY_SHARED_CRASH_HOOK();
#endif
    return &entry->where;
}

/* buddy_shared_will_store out of line (logged.c), for shared.c's stores: the
 * crash-point test's copy of logged.c numbers them too. */
const uint64_t *buddy_shared_log_store(void *range, uint64_t *address);

/* Opens the log for an operation on `range`: its state words saved, a new
 * epoch, then LOG_ACTIVE (logged.c). Under the lock. */
void buddy_shared_log_open(undo_log *log, const buddy_range *range);
/* After a cut operation's words are restored: sets the summary bits above
 * range word `word` again from the free bits below them, if `word` holds free
 * bits (logged.c). Touches no word at or past `word_count`. O(log n). */
void buddy_shared_refresh_summaries(buddy_range *range, uint64_t word_count, uint64_t word);
/* Puts the state words saved by buddy_shared_log_open back (logged.c). */
void buddy_shared_restore_state(const undo_log *log, buddy_range *range);

/* The core's alloc and free with every store logged first (logged.c). */
int buddy_shared_logged_alloc(buddy_range *range, uint64_t size, uint64_t *offset_out);
int buddy_shared_logged_free(buddy_range *range, uint64_t offset);
/* The range's alloc_exact(_aligned), alloc_packed(_aligned) and resize with every store logged
 * first (logged_run.c, under the names of logged_names.h). */
int buddy_shared_logged_alloc_exact(buddy_range *range, uint64_t size, uint64_t *offset_out);
int buddy_shared_logged_alloc_packed(buddy_range *range, uint64_t size, uint64_t *offset_out);
int buddy_shared_logged_alloc_exact_aligned(buddy_range *range, uint64_t size, uint64_t alignment,
                                            uint64_t *offset_out);
int buddy_shared_logged_alloc_packed_aligned(buddy_range *range, uint64_t size, uint64_t alignment,
                                             uint64_t *offset_out);
int buddy_shared_logged_resize(buddy_range *range, uint64_t offset, uint64_t new_size);

#endif /* BUDDY_SHARED_INTERNAL_H */
