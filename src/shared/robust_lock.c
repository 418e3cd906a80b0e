/* SPDX-License-Identifier: MIT */
/*
 * The shared range's robust lock (robust_lock.h). Linux only: it relies on
 * the kernel's robust futex list (set_robust_list(2)), whose
 * list_op_pending entry the kernel checks when a thread dies. The entry is
 * the thread's own; a C library sets it only inside its robust mutex calls,
 * which the shared range never makes while it holds this lock (and
 * buddy_shared_walk reclaims it after each visitor call).
 */
#include "robust_lock.h"

#include "compiler.h"
#include "lock.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

enum {
    SPINS = 20,         /* looks at the word before a waiter sleeps */
    SLEEP_NS = 1000000, /* the longest sleep, so that a missed wake costs at most this */
    CHECK_AFTER = 16    /* sleeps before a waiter checks that the holder exists */
};

/* This thread's id and robust list; tid 0 until first used, and again in
 * the child of a fork. */
typedef struct thread_self {
    uint32_t tid;
    struct robust_list_head *head; /* NULL: none, and none could be registered */
} thread_self;

static _Thread_local thread_self self;
static _Thread_local struct robust_list_head own_head; /* if the C library registered none */
static uint32_t process_id_cache;
static pthread_once_t fork_handler_once = PTHREAD_ONCE_INIT;

static void forget_after_fork(void) {
    self.tid = 0; /* the child's thread has an id of its own */
    __atomic_store_n(&process_id_cache, 0u, __ATOMIC_RELAXED);
}

static void register_fork_handler(void) {
    (void)pthread_atfork(NULL, NULL, forget_after_fork);
}

uint32_t buddy_robust_lock_process_id(void) {
    uint32_t pid = __atomic_load_n(&process_id_cache, __ATOMIC_RELAXED);
    if (pid == 0) {
        (void)pthread_once(&fork_handler_once, register_fork_handler);
        pid = buddy_process_id();
        __atomic_store_n(&process_id_cache, pid, __ATOMIC_RELAXED);
    }
    return pid;
}

static BUDDY_NOINLINE thread_self *self_init(void) {
    (void)buddy_robust_lock_process_id(); /* registers the fork handler */
    struct robust_list_head *head = NULL;
    size_t length = 0;
    if (syscall(SYS_get_robust_list, 0, &head, &length) != 0 || head == NULL) {
        /* GCOVR_EXCL_START: glibc and musl register a list for every thread */
        own_head.list.next = &own_head.list; /* an empty list */
        own_head.futex_offset = 0;
        own_head.list_op_pending = NULL;
        head = syscall(SYS_set_robust_list, &own_head, sizeof own_head) == 0 ? &own_head : NULL;
        /* GCOVR_EXCL_STOP */
    }
    self.head = head;
    self.tid = (uint32_t)syscall(SYS_gettid);
    return &self;
}

static inline thread_self *self_get(void) {
    return self.tid != 0 ? &self : self_init();
}

/* The futex word's address: bytes 0..3 of the state, for the kernel only
 * (this file reads and writes the state whole). */
static inline uint32_t *word_address(robust_lock *lock) {
    return (uint32_t *)(void *)&lock->state;
}

/* Names `lock` as the entry the kernel checks if this thread dies. */
static inline void set_pending(const thread_self *me, robust_lock *lock) {
    if (me->head != NULL)
        me->head->list_op_pending =
            (struct robust_list *)(void *)((char *)word_address(lock) - me->head->futex_offset);
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* named before the word is taken */
}

/* True unless thread `tid` of process `pid` is known to be gone. */
static bool holder_exists(uint32_t pid, uint32_t tid) {
    return syscall(SYS_tgkill, (pid_t)pid, (pid_t)tid, 0) == 0 || errno != ESRCH;
}

static BUDDY_NOINLINE enum robust_take take_slow(robust_lock *lock, const thread_self *me,
                                                 uint32_t pid, uint64_t seen) {
    unsigned spins = 0, sleeps = 0;
    for (;;) {
        uint32_t word = robust_lock_word(seen), holder = word & FUTEX_TID_MASK;
        uint32_t waiters = (word & FUTEX_WAITERS) | (sleeps != 0 ? FUTEX_WAITERS : 0u);
        bool dead = holder == me->tid || /* a holder we cannot be: the id is reused */
                    (sleeps >= CHECK_AFTER && !holder_exists(robust_lock_pid(seen), holder));
        if (holder == 0 || dead) {
            if (__atomic_compare_exchange_n(&lock->state, &seen,
                                            robust_lock_state(me->tid | waiters, pid), false,
                                            __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
                return dead || (word & FUTEX_OWNER_DIED) ? ROBUST_OWNER_DIED : ROBUST_TAKEN;
            continue; /* seen is the state's new value */
        }
        if (spins < SPINS) {
            spins++;
            buddy_cpu_pause();
        } else if ((word & FUTEX_WAITERS) != 0 ||
                   __atomic_compare_exchange_n(&lock->state, &seen,
                                               seen | robust_lock_state(FUTEX_WAITERS, 0), false,
                                               __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            buddy_futex_wait(word_address(lock), word | FUTEX_WAITERS, SLEEP_NS);
            sleeps++;
        } else {
            continue; /* seen is the state's new value */
        }
        seen = __atomic_load_n(&lock->state, __ATOMIC_RELAXED);
    }
}

enum robust_take buddy_robust_lock_take(robust_lock *lock) {
    const thread_self *me = self_get();
    set_pending(me, lock);
    uint32_t pid = buddy_robust_lock_process_id();
    uint64_t seen = robust_lock_state(0, pid); /* free, last held by this process */
    if (__atomic_compare_exchange_n(&lock->state, &seen, robust_lock_state(me->tid, pid), false,
                                    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return ROBUST_TAKEN;
    return take_slow(lock, me, pid, seen);
}

void buddy_robust_lock_release(robust_lock *lock) {
    uint64_t seen = __atomic_load_n(&lock->state, __ATOMIC_RELAXED);
    __atomic_store_n(&lock->state, robust_lock_state(0, robust_lock_pid(seen)), __ATOMIC_RELEASE);
    if ((robust_lock_word(seen) & FUTEX_WAITERS) != 0)
        buddy_futex_wake(word_address(lock));
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* released before the entry is cleared */
    if (self.head != NULL)
        self.head->list_op_pending = NULL;
}

void buddy_robust_lock_reclaim(robust_lock *lock) {
    set_pending(self_get(), lock);
}
