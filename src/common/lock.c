/* SPDX-License-Identifier: MIT */
/*
 * The one-word locks of lock.h. A waiter spins briefly, then marks the word
 * contended (2) and sleeps until a swap finds it free; unlock wakes one
 * sleeper only if the word was 2, so an uncontended lock and unlock are two
 * atomic swaps and no system call.
 */
#include <sched.h>

#include "lock.h"

#if defined(__linux__)
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long membarrier(int command) {
    return syscall(SYS_membarrier, command, 0, 0);
}

bool buddy_barrier_available(void) {
    static int state; /* 0 not known yet, 1 available, 2 not */
    int known = __atomic_load_n(&state, __ATOMIC_RELAXED);
    if (known == 0) {
        long commands = membarrier(MEMBARRIER_CMD_QUERY);
        known = commands > 0 && (commands & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 &&
                        membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0
                    ? 1
                    : 2;
        __atomic_store_n(&state, known, __ATOMIC_RELAXED);
    }
    return known == 1;
}

uint32_t buddy_process_id(void) {
    return (uint32_t)getpid();
}

void buddy_barrier_all_threads(void) {
    /* A child of fork may need to register again; nothing else refuses it once
     * the query and the registration succeeded. */
    while (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0)
        (void)membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED); /* GCOVR_EXCL_LINE */
}

/* Shared futexes (not FUTEX_PRIVATE_FLAG): the word may be in a mapping that
 * several processes share. */
void buddy_futex_wait(uint32_t *word, uint32_t value, long most_ns) {
    struct timespec most = {0, most_ns};
    (void)syscall(SYS_futex, word, FUTEX_WAIT, value, most_ns > 0 ? &most : NULL, NULL, 0);
}
void buddy_futex_wake(uint32_t *word) {
    (void)syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}
#else
bool buddy_barrier_available(void) {
    return false;
}
void buddy_barrier_all_threads(void) {}
uint32_t buddy_process_id(void) {
    return 0;
}
void buddy_futex_wait(uint32_t *word, uint32_t value, long most_ns) {
    (void)word;
    (void)value;
    (void)most_ns;
    sched_yield();
}
void buddy_futex_wake(uint32_t *word) {
    (void)word;
}
#endif

#define SPINS_BEFORE_SLEEP 100u

void buddy_lock_take(uint32_t *word) {
    uint32_t seen = 0;
    for (unsigned spins = 0; spins < SPINS_BEFORE_SLEEP; spins++) {
        seen = __atomic_load_n(word, __ATOMIC_RELAXED);
        if (seen == 0 && buddy_lock_try(word))
            return;
        buddy_cpu_pause();
    }
    if (seen != 2u)
        seen = __atomic_exchange_n(word, 2u, __ATOMIC_ACQUIRE);
    while (seen != 0) {
        buddy_futex_wait(word, 2u, 0);
        seen = __atomic_exchange_n(word, 2u, __ATOMIC_ACQUIRE);
    }
}

void buddy_lock_release(uint32_t *word) {
    if (__atomic_exchange_n(word, 0u, __ATOMIC_RELEASE) == 2u)
        buddy_futex_wake(word);
}

void buddy_spin_take(uint32_t *word) {
    unsigned spins = 0;
    while (!buddy_lock_try(word)) {
        while (__atomic_load_n(word, __ATOMIC_RELAXED) != 0) {
            if (++spins % SPINS_BEFORE_SLEEP == 0)
                sched_yield();
            else
                buddy_cpu_pause();
        }
    }
}
