/* SPDX-License-Identifier: MIT */
/*
 * The door from the shared range (src/shared/) into the core: every store
 * that the range's mutating paths make to its words and its header is
 * announced by WILL_STORE(range, address) just before it happens, `range`
 * being the range's start. A normal build announces nothing, so the core is
 * unchanged. src/shared/logged.c and logged_run.c compile those paths again
 * with BUDDY_RANGE_STORE_HOOK naming a function, declared before this header,
 *
 *     const uint64_t *hook(void *range, uint64_t *address);
 *
 * that saves the word's old value in the segment's undo log first, so that a
 * process killed between two stores can be undone. The hook returns the
 * entry's last stored word, and an empty asm that reads it and rewrites
 * *address keeps the store after the entry without ordering any other
 * memory. A store this header does not see would make that undo incomplete:
 * the shared range's crash-point test compares every byte after recovery,
 * so it would fail.
 */
#ifndef BUDDY_RANGE_STORE_H
#define BUDDY_RANGE_STORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef BUDDY_RANGE_STORE_HOOK
/* Logs `word` (the 64-bit word that holds *address) and keeps the store to
 * *address after the entry. */
#define WILL_STORE_IN(range, word, address)                                                        \
    do {                                                                                           \
        const uint64_t *record_ = BUDDY_RANGE_STORE_HOOK((void *)(range), (word));                 \
        __asm__ __volatile__("" : "+m"(*(address)) : "m"(*record_));                               \
    } while (0)
#define WILL_STORE(range, address) WILL_STORE_IN(range, address, address)
/* The same for a 32-bit field: the log takes the aligned word that holds it. */
#define WILL_STORE_32(range, address)                                                              \
    do {                                                                                           \
        _Static_assert(sizeof *(address) == 4, "a 32-bit field");                                  \
        WILL_STORE_IN(                                                                             \
            range, (uint64_t *)(void *)((unsigned char *)(address) - ((uintptr_t)(address)&7u)),   \
            address);                                                                              \
    } while (0)
#else
#define WILL_STORE(range, address) ((void)0)
#define WILL_STORE_32(range, address) ((void)0)
#endif

/* A store to a summary word or an order's first group, which a recovery can
 * compute again from the free bits (I6, I10). With
 * BUDDY_RANGE_SUMMARIES_REBUILT the caller recomputes them for every group
 * whose free bits it restores, so these stores are not logged; the core logs
 * a free bit's word before it changes what is computed from it.
 * BUDDY_RANGE_SUMMARY_HOOK, if defined, still sees each such store (the
 * crash-point test counts it). */
#if defined(BUDDY_RANGE_SUMMARIES_REBUILT) && defined(BUDDY_RANGE_SUMMARY_HOOK)
#define WILL_STORE_SUMMARY(range, address) BUDDY_RANGE_SUMMARY_HOOK()
#elif defined(BUDDY_RANGE_SUMMARIES_REBUILT)
#define WILL_STORE_SUMMARY(range, address) ((void)0)
#else
#define WILL_STORE_SUMMARY(range, address) WILL_STORE(range, address)
#endif

/* A store to the range's state words (nonempty_orders, allocated_blocks,
 * live_blocks, peak_allocated_blocks: layout.h keeps them together), which
 * most operations change. With BUDDY_RANGE_STATE_SAVED the caller saves
 * them whole before an operation (32 bytes, cheaper than logging two or
 * three stores), so their stores are not announced. */
#ifdef BUDDY_RANGE_STATE_SAVED
#define WILL_STORE_STATE(range, address) ((void)0)
#else
#define WILL_STORE_STATE(range, address) WILL_STORE(range, address)
#endif

#endif /* BUDDY_RANGE_STORE_H */
