/* SPDX-License-Identifier: MIT */
/*
 * The door from the shared range (src/shared/) into the core: every store
 * that alloc and free make to a range's metadata, its words and its header,
 * is announced by WILL_STORE(address) just before it happens. A normal build
 * announces nothing, so the core is unchanged. src/shared/logged.c compiles
 * alloc and free again with BUDDY_RANGE_STORE_HOOK naming a function that
 * saves the old bytes in the segment's undo log first, so that a process
 * killed between two stores can be undone. The hook returns the last byte
 * it stored, and an empty asm that reads that byte and rewrites *address
 * keeps the store after the log without ordering any other memory. A store this header does not see
 * would make that undo incomplete: the shared range's crash-point test
 * compares every byte after recovery, so it would fail.
 */
#ifndef BUDDY_RANGE_STORE_H
#define BUDDY_RANGE_STORE_H

#include <stddef.h>

#ifdef BUDDY_RANGE_STORE_HOOK
const void *BUDDY_RANGE_STORE_HOOK(void *address, size_t bytes);
#define WILL_STORE(address)                                                                        \
    do {                                                                                           \
        const void *record_ = BUDDY_RANGE_STORE_HOOK((void *)(address), sizeof *(address));        \
        __asm__ __volatile__("" : "+m"(*(address)) : "m"(*(const unsigned char *)record_));        \
    } while (0)
#else
#define WILL_STORE(address) ((void)0)
#endif

/* A store to the range's state words (nonempty_orders, allocated_blocks,
 * live_blocks, peak_allocated_blocks: layout.h keeps them together), which
 * most operations change. With BUDDY_RANGE_STATE_SAVED the caller saves
 * them whole before an operation (32 bytes, cheaper than logging two or
 * three stores), so their stores are not announced. */
#ifdef BUDDY_RANGE_STATE_SAVED
#define WILL_STORE_STATE(address) ((void)0)
#else
#define WILL_STORE_STATE(address) WILL_STORE(address)
#endif

#endif /* BUDDY_RANGE_STORE_H */
