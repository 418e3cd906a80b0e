/* SPDX-License-Identifier: MIT */
/*
 * The range's alloc and free for the shared range: the core (range_core.h)
 * compiled again with BUDDY_RANGE_STORE_HOOK=buddy_shared_will_store, which
 * appends each store's old bytes to the running operation's undo log before
 * the store happens. An entry is whole before the count covers it, and the
 * count covers it before the store: a process killed between any two
 * instructions leaves a log that undoes exactly what it stored.
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

void buddy_shared_will_store(void *address, size_t bytes) {
    undo_log *log = buddy_shared_target.log;
    unsigned char *at = address;
    assert(log != NULL && at >= buddy_shared_target.segment && bytes <= 8u);
    assert(log->count < LOG_ENTRIES); /* LOG_ENTRIES bounds an operation's stores */
    log_entry *entry = &log->entry[log->count];
    entry->offset = (uint64_t)(at - buddy_shared_target.segment);
    entry->bytes = bytes;
    entry->old = 0;
    memcpy(&entry->old, at, bytes);
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* the entry, then the count */
    log->count++;
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* the count, then the store */
#ifdef BUDDY_SHARED_CRASH_HOOK
    BUDDY_SHARED_CRASH_HOOK(log->count);
#endif
}

int buddy_shared_logged_alloc(buddy_range *range, uint64_t size, uint64_t *offset_out) {
    return range_alloc(range, size, offset_out);
}

int buddy_shared_logged_free(buddy_range *range, uint64_t offset) {
    return range_free(range, offset);
}
