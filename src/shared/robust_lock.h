/* SPDX-License-Identifier: MIT */
/*
 * The shared range's lock (robust_lock.c): one 32-bit futex word in the
 * segment that the Linux kernel marks when its holder dies, as it marks a
 * robust pthread mutex, at under a third of its cost (4.5 ns a take and
 * release against 15: docs/design.md, "The shared range").
 *
 * The word is 0 when free, else the holder's thread id (FUTEX_TID_MASK) with
 * FUTEX_WAITERS set while a waiter may sleep on it. While a thread takes and
 * holds it, the word is the list_op_pending entry of the thread's robust
 * list (the one its C library registered), so if the thread dies, the
 * kernel replaces the id with FUTEX_OWNER_DIED and wakes a waiter. A release
 * is a plain store, so a wake can be missed in a race of a few instructions:
 * waiters sleep at most a millisecond at a time. A waiter that has waited
 * 16 ms or more checks that the holder still exists, and takes the lock as
 * from a dead holder if not: for a word the kernel could not mark (a holder
 * whose entry was replaced, a segment file kept across a reboot, corrupt
 * bytes, a system with no robust futex list, as qemu's user mode).
 */
#ifndef BUDDY_SHARED_ROBUST_LOCK_H
#define BUDDY_SHARED_ROBUST_LOCK_H

#include <stdbool.h>
#include <stdint.h>

/* The lock's bytes in the segment: the futex word in bytes 0..3, the holder's
 * process id in bytes 4..7, taken and changed together by 64-bit operations,
 * so that a waiter never pairs one holder's thread id with another's process
 * (and finds a live holder gone). */
typedef struct robust_lock {
    _Alignas(8) uint64_t state; /* robust_lock_state(word, holder's process id) */
} robust_lock;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define ROBUST_WORD_SHIFT 32u
#else
#define ROBUST_WORD_SHIFT 0u
#endif

/* The state whose futex word is `word` and whose holder is in process `pid`. */
static inline uint64_t robust_lock_state(uint32_t word, uint32_t pid) {
    return (uint64_t)word << ROBUST_WORD_SHIFT | (uint64_t)pid << (32u - ROBUST_WORD_SHIFT);
}
static inline uint32_t robust_lock_word(uint64_t state) {
    return (uint32_t)(state >> ROBUST_WORD_SHIFT);
}
static inline uint32_t robust_lock_pid(uint64_t state) {
    return (uint32_t)(state >> (32u - ROBUST_WORD_SHIFT));
}

/* What buddy_robust_lock_take found: the lock free or released, or its holder
 * dead (the caller now holds it and must repair what the holder left). */
enum robust_take { ROBUST_TAKEN = 0, ROBUST_OWNER_DIED = 1 };

/* Takes `lock` (in memory any process may map; zeroed bytes are a free
 * lock). Not recursive. */
enum robust_take buddy_robust_lock_take(robust_lock *lock);

/* Releases it; the caller holds it. */
void buddy_robust_lock_release(robust_lock *lock);

/* Makes the calling thread's robust-list entry point at the lock again,
 * which it holds: after code that may have used the thread's robust list
 * (a robust pthread mutex) while the lock was held. */
void buddy_robust_lock_reclaim(robust_lock *lock);

/* The calling process's id, read once per process (and again after fork). */
uint32_t buddy_robust_lock_process_id(void);

#endif /* BUDDY_SHARED_ROBUST_LOCK_H */
