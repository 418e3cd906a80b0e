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
    CHECK_AFTER = 256   /* sleeps before a waiter checks that the holder exists */
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
        pid = (uint32_t)getpid();
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

/* Names `lock` as the entry the kernel checks if this thread dies. */
static inline void set_pending(const thread_self *me, robust_lock *lock) {
    if (me->head != NULL)
        me->head->list_op_pending =
            (struct robust_list *)(void *)((char *)&lock->word - me->head->futex_offset);
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* named before the word is taken */
}

/* True unless thread `tid` of process `pid` is known to be gone. */
static bool holder_exists(uint32_t pid, uint32_t tid) {
    return syscall(SYS_tgkill, (pid_t)pid, (pid_t)tid, 0) == 0 || errno != ESRCH;
}

static BUDDY_NOINLINE enum robust_take take_slow(robust_lock *lock, const thread_self *me,
                                                 uint32_t seen) {
    unsigned spins = 0, sleeps = 0;
    for (;;) {
        uint32_t holder = seen & FUTEX_TID_MASK;
        uint32_t waiters = (seen & FUTEX_WAITERS) | (sleeps != 0 ? FUTEX_WAITERS : 0u);
        bool dead = holder == me->tid || /* a holder we cannot be: the id is reused */
                    (sleeps >= CHECK_AFTER &&
                     !holder_exists(__atomic_load_n(&lock->holder_pid, __ATOMIC_RELAXED), holder));
        if (holder == 0 || dead) {
            if (__atomic_compare_exchange_n(&lock->word, &seen, me->tid | waiters, false,
                                            __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
                return dead || (seen & FUTEX_OWNER_DIED) ? ROBUST_OWNER_DIED : ROBUST_TAKEN;
            continue; /* seen is the word's new value */
        }
        if (spins < SPINS) {
            spins++;
            buddy_cpu_pause();
        } else if ((seen & FUTEX_WAITERS) != 0 ||
                   __atomic_compare_exchange_n(&lock->word, &seen, seen | FUTEX_WAITERS, false,
                                               __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            buddy_futex_wait(&lock->word, seen | FUTEX_WAITERS, SLEEP_NS);
            sleeps++;
        } else {
            continue; /* seen is the word's new value */
        }
        seen = __atomic_load_n(&lock->word, __ATOMIC_RELAXED);
    }
}

enum robust_take buddy_robust_lock_take(robust_lock *lock) {
    const thread_self *me = self_get();
    set_pending(me, lock);
    uint32_t seen = 0;
    enum robust_take taken = ROBUST_TAKEN;
    if (!__atomic_compare_exchange_n(&lock->word, &seen, me->tid, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        taken = take_slow(lock, me, seen);
    uint32_t pid = buddy_robust_lock_process_id();
    if (__atomic_load_n(&lock->holder_pid, __ATOMIC_RELAXED) != pid) /* stored on a change */
        __atomic_store_n(&lock->holder_pid, pid, __ATOMIC_RELAXED);
    return taken;
}

void buddy_robust_lock_release(robust_lock *lock) {
    uint32_t seen = __atomic_load_n(&lock->word, __ATOMIC_RELAXED);
    __atomic_store_n(&lock->word, 0u, __ATOMIC_RELEASE);
    if ((seen & FUTEX_WAITERS) != 0)
        buddy_futex_wake(&lock->word);
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* released before the entry is cleared */
    if (self.head != NULL)
        self.head->list_op_pending = NULL;
}

void buddy_robust_lock_reclaim(robust_lock *lock) {
    set_pending(self_get(), lock);
}
