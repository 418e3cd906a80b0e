/* SPDX-License-Identifier: MIT */
/*
 * A lock that is one 32-bit word (lock.c): 0 free, 1 held, 2 held with
 * waiters that may sleep (the three-state mutex of Drepper's "Futexes Are
 * Tricky"). It needs no init or destroy and holds no pointer, so it works in
 * a copy of its memory or in a mapping that several processes share. The
 * range's built-in lock and the cache pool's locks are words of this kind.
 */
#ifndef BUDDY_LOCK_H
#define BUDDY_LOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Tells the CPU that this thread spins on a word. */
static inline void buddy_cpu_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Sleeps while *word is `value`, at most most_ns nanoseconds (below a
 * second; 0: no limit), or until a wake: a futex on Linux, which works
 * across processes sharing the word's mapping; sched_yield elsewhere. May
 * return early. */
void buddy_futex_wait(uint32_t *word, uint32_t value, long most_ns);
/* Wakes one thread sleeping in buddy_futex_wait on `word`. */
void buddy_futex_wake(uint32_t *word);

/* Takes the lock: spins briefly, then sleeps on the word (a futex on Linux,
 * sched_yield elsewhere). */
void buddy_lock_take(uint32_t *word);

/* Takes the lock iff it is free; never waits. */
static inline bool buddy_lock_try(uint32_t *word) {
    uint32_t expected = 0;
    return __atomic_compare_exchange_n(word, &expected, 1u, false, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

/* Releases the lock, waking one sleeper if any may wait. */
void buddy_lock_release(uint32_t *word);

/* A spin lock on a word of the same kind, for sections so short that a
 * waiter never needs to sleep: it spins, yielding the CPU now and then, and
 * its release is a plain store (one atomic operation a pair, not two). Never
 * mix the two kinds on one word. */
void buddy_spin_take(uint32_t *word);

static inline void buddy_spin_release(uint32_t *word) {
    __atomic_store_n(word, 0u, __ATOMIC_RELEASE);
}

/* Asymmetric fences for a word that one thread owns (the caches' owner
 * protocol, cache_internal.h): true iff this process can run a memory
 * barrier on all of its threads at once (Linux's membarrier, private
 * expedited), registering for it on the first call. */
bool buddy_barrier_available(void);

/* Runs that barrier: every thread of the process executes a full memory
 * barrier before this returns. Only after buddy_barrier_available said true. */
void buddy_barrier_all_threads(void);

/* The calling process's id on Linux (a fork's child tells itself from its
 * parent by it); 0 elsewhere, where the barrier is never available. A system
 * call. */
uint32_t buddy_process_id(void);

#endif /* BUDDY_LOCK_H */
