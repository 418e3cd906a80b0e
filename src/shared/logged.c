/* SPDX-License-Identifier: MIT */
/*
 * The range's alloc and free for the shared range: the core (range_core.h)
 * compiled again with BUDDY_RANGE_STORE_HOOK=buddy_shared_will_store, which
 * appends each store's old bytes to the running operation's undo log before
 * the store happens. An entry is whole before the count covers it (a release
 * store), and the count covers it before the store (WILL_STORE's empty asm,
 * which reads the count and writes the stored bytes): a process killed
 * between any two instructions leaves a log that undoes exactly what it
 * stored. Only those bytes are ordered, so the compiler keeps everything
 * else in registers across the hook.
 *
 * BUDDY_RANGE_STATE_SAVED is defined too: the four state words that most
 * operations change are saved whole when an operation begins (shared.c),
 * not logged store by store.
 *
 * The crash-point test compiles this file again with BUDDY_SHARED_CRASH_HOOK
 * naming a function called with each store's number, after its entry is
 * logged and before the store, which may end the process there.
 */
#include <assert.h>
#include <string.h>

#include "shared_internal.h"

#include "logged_names.h"

#include "range_core.h"

_Thread_local log_target buddy_shared_target;

#ifdef BUDDY_SHARED_CRASH_HOOK
void BUDDY_SHARED_CRASH_HOOK(unsigned store_number);
#endif

const void *buddy_shared_will_store(void *address, size_t bytes) {
    undo_log *log = buddy_shared_target.log;
    const unsigned char *at = address;
    assert(log != NULL && at >= buddy_shared_target.segment && bytes <= 8u);
    uint32_t count = log->count;
    assert(count < LOG_ENTRIES); /* LOG_ENTRIES bounds an operation's stores */
    uint64_t old = 0;
    memcpy(&old, at, bytes);
    log_entry *entry = &log->entry[count];
    entry->offset = (uint64_t)(at - buddy_shared_target.segment);
    entry->bytes = bytes;
    entry->old = old;
    /* The entry, then the count: no store before a release store moves after it. */
    __atomic_store_n(&log->count, count + 1u, __ATOMIC_RELEASE);
#ifdef BUDDY_SHARED_CRASH_HOOK
    BUDDY_SHARED_CRASH_HOOK(count + 1u);
#endif
    return &log->count; /* WILL_STORE keeps the store after this */
}

static_assert(offsetof(struct buddy_range, peak_allocated_blocks) ==
                  offsetof(struct buddy_range, nonempty_orders) + 3 * sizeof(uint64_t),
              "the state words follow each other");

void buddy_shared_save_state(undo_log *log, const buddy_range *range) {
    memcpy(log->saved_state, &range->nonempty_orders, sizeof log->saved_state);
}

void buddy_shared_restore_state(const undo_log *log, buddy_range *range) {
    memcpy(&range->nonempty_orders, log->saved_state, sizeof log->saved_state);
}

int buddy_shared_logged_alloc(buddy_range *range, uint64_t size, uint64_t *offset_out) {
    return range_alloc(range, size, offset_out);
}

int buddy_shared_logged_free(buddy_range *range, uint64_t offset) {
    return range_free(range, offset);
}
