/* SPDX-License-Identifier: MIT */
/*
 * Thread safety of a range (sync.c). A range made with
 * BUDDY_RANGE_THREAD_SAFE, or with lock hooks, serialises every public call
 * that takes it: the public function runs its unlocked body under the lock.
 * The bodies call each other, never the public functions, so the lock is
 * never taken twice.
 */
#ifndef BUDDY_SYNC_H
#define BUDDY_SYNC_H

#include "layout.h"

/* True iff the range's sync mode is known and has what its lock needs: what
 * attach and check verify before anything takes the lock. */
bool buddy_sync_valid(const buddy_range *range);

/* Stores the caller's hooks in the header and makes them its lock. */
void buddy_sync_set_hooks(buddy_range *range, void (*lock)(void *), void (*unlock)(void *),
                          void *context);

/* Takes and releases the range's lock: the caller's hooks or the built-in
 * lock word. Only for a range whose sync is not SYNC_NONE. */
void buddy_sync_lock(const buddy_range *range);
void buddy_sync_unlock(const buddy_range *range);

/* The body of a public function that returns `type`: `call` (its unlocked
 * body) under the range's lock if it has one, else `call` alone. */
#define BUDDY_SYNCED(type, range, call)                                                            \
    do {                                                                                           \
        if ((range) != NULL && (range)->sync != SYNC_NONE) {                                       \
            buddy_sync_lock(range);                                                                \
            type synced_result = (call);                                                           \
            buddy_sync_unlock(range);                                                              \
            return synced_result;                                                                  \
        }                                                                                          \
        return (call);                                                                             \
    } while (0)

/* Unlocked bodies that other bodies call (dump.c). */
int buddy_unlocked_get_stats(const buddy_range *range, buddy_range_stats *stats_out);
int buddy_unlocked_get_user_data(const buddy_range *range, uint64_t offset, uint64_t *value_out);
int buddy_unlocked_walk(const buddy_range *range, buddy_range_visitor visitor, void *user);

#endif /* BUDDY_SYNC_H */
