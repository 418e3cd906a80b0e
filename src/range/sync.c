/* SPDX-License-Identifier: MIT */
/*
 * The range's lock. The built-in one is a word in the metadata, so it needs no
 * init or destroy, holds no pointer, and works wherever the metadata does (a
 * copy, or a mapping shared with other processes). The word is 0 when free,
 * 1 when held, 2 when held with waiters that may sleep (the three-state mutex
 * of Drepper's "Futexes Are Tricky"). A waiter spins briefly, then sleeps on
 * the word: a futex on Linux, sched_yield elsewhere. Unlock wakes one sleeper
 * only if the word was 2. Critical sections are one range call.
 */
#include <sched.h>

#include "sync.h"

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Shared futexes (not FUTEX_PRIVATE_FLAG): the metadata may be mapped by
 * several processes. */
static void sleep_while(uint32_t *word, uint32_t value) {
    (void)syscall(SYS_futex, word, FUTEX_WAIT, value, NULL, NULL, 0);
}
static void wake_one(uint32_t *word) {
    (void)syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}
#else
static void sleep_while(uint32_t *word, uint32_t value) {
    (void)word;
    (void)value;
    sched_yield();
}
static void wake_one(uint32_t *word) {
    (void)word;
}
#endif

#define SPINS_BEFORE_SLEEP 100u

static inline void cpu_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* The lock word lives in metadata a const range may point to; the lock is
 * the one thing that a const call changes there. */
static uint32_t *lock_word(const buddy_range *range) {
    return (uint32_t *)&range->lock_word;
}

typedef void (*hook)(void *);

/* A stored hook or context, back as what it was; the value fits (valid).
 * The header keeps them as integers so its layout is the same on every
 * target, hence the casts. */
static hook hook_at(uint64_t stored) {
    return (hook)(uintptr_t)stored; /* NOLINT(performance-no-int-to-ptr) */
}
static void *context_at(uint64_t stored) {
    return (void *)(uintptr_t)stored; /* NOLINT(performance-no-int-to-ptr) */
}

/* True iff a stored value came from a pointer of this target. */
static bool fits(uint64_t stored) {
    return (uint64_t)(uintptr_t)stored == stored;
}

void buddy_sync_set_hooks(buddy_range *range, void (*lock)(void *), void (*unlock)(void *),
                          void *context) {
    range->lock_hook = (uint64_t)(uintptr_t)lock;
    range->unlock_hook = (uint64_t)(uintptr_t)unlock;
    range->lock_context = (uint64_t)(uintptr_t)context;
    range->sync = SYNC_HOOKS;
}

bool buddy_sync_valid(const buddy_range *range) {
    if (range->sync != SYNC_HOOKS)
        return range->sync < SYNC_HOOKS;
    return range->lock_hook != 0 && range->unlock_hook != 0 && fits(range->lock_hook) &&
           fits(range->unlock_hook) && fits(range->lock_context);
}

void buddy_sync_lock(const buddy_range *range) {
    if (range->sync == SYNC_HOOKS) {
        hook_at(range->lock_hook)(context_at(range->lock_context));
        return;
    }
    uint32_t *word = lock_word(range);
    uint32_t seen = 0;
    for (unsigned spins = 0; spins < SPINS_BEFORE_SLEEP; spins++) {
        seen = __atomic_load_n(word, __ATOMIC_RELAXED);
        if (seen == 0 &&
            __atomic_compare_exchange_n(word, &seen, 1u, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return;
        cpu_pause();
    }
    /* Mark the word contended (2) and sleep until a swap finds it free. */
    if (seen != 2u)
        seen = __atomic_exchange_n(word, 2u, __ATOMIC_ACQUIRE);
    while (seen != 0) {
        sleep_while(word, 2u);
        seen = __atomic_exchange_n(word, 2u, __ATOMIC_ACQUIRE);
    }
}

void buddy_sync_unlock(const buddy_range *range) {
    if (range->sync == SYNC_HOOKS) {
        hook_at(range->unlock_hook)(context_at(range->lock_context));
        return;
    }
    uint32_t *word = lock_word(range);
    if (__atomic_exchange_n(word, 0u, __ATOMIC_RELEASE) == 2u)
        wake_one(word);
}
