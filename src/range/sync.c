/* SPDX-License-Identifier: MIT */
/*
 * The range's lock: the caller's hooks, or the built-in one, a lock word
 * (lock.h) in the metadata, so it works wherever the metadata does (a copy,
 * or a mapping shared with other processes). Critical sections are one range
 * call.
 */
#include "lock.h"
#include "sync.h"

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
    buddy_lock_take(lock_word(range));
}

void buddy_sync_unlock(const buddy_range *range) {
    if (range->sync == SYNC_HOOKS) {
        hook_at(range->unlock_hook)(context_at(range->lock_context));
        return;
    }
    buddy_lock_release(lock_word(range));
}
