/* SPDX-License-Identifier: MIT */
/*
 * The range's alloc and free for the shared range: the core (range_core.h)
 * compiled again with BUDDY_RANGE_STORE_HOOK=buddy_shared_will_store, which
 * appends each store's old bytes to the running operation's undo log before
 * the store happens (shared_internal.h). An entry's `old` is stored before
 * its `where`, which carries the operation's epoch, and `where` before the
 * store (WILL_STORE's empty asm): a process killed between any two
 * instructions leaves a log whose entries of the running epoch undo exactly
 * what it stored. Only those bytes are ordered, so the compiler keeps
 * everything else in registers across the hook.
 *
 * BUDDY_RANGE_STATE_SAVED is defined too: the four state words that most
 * operations change are saved whole when an operation begins, not logged
 * store by store. So is BUDDY_RANGE_SUMMARIES_REBUILT: the summaries are not
 * logged either, and recovery computes those of each free word it restores
 * again (buddy_shared_refresh_summaries).
 *
 * The crash-point test compiles this file and logged_run.c again with
 * BUDDY_SHARED_CRASH_HOOK (and BUDDY_RANGE_SUMMARY_HOOK) naming a function
 * called before each store, logged or not.
 */
#include <assert.h>
#include <string.h>

#include "shared_internal.h"

#include "logged_names.h"

#include "range_core.h"

static_assert(offsetof(struct buddy_range, peak_allocated_blocks) ==
                  offsetof(struct buddy_range, nonempty_orders) + 3 * sizeof(uint64_t),
              "the state words follow each other");

/* At the wrap of the epochs: no entry carries epoch 1 any more (0 is no
 * operation's). Out of line: once in LOG_EPOCH_MAX operations. */
static BUDDY_NOINLINE uint64_t log_wrap(undo_log *log) {
    memset(log->entry, 0, sizeof log->entry);
    return 1;
}

void buddy_shared_log_open(undo_log *log, const buddy_range *range) {
    uint64_t epoch = (log->tag >> LOG_EPOCH_SHIFT) + 1u;
    if (epoch > LOG_EPOCH_MAX)
        epoch = log_wrap(log);
    /* Word by word: the last operation stored these words one by one, and a
     * wider load of them (a vectorized memcpy) cannot take its bytes from
     * those stores while they are in flight, which cost 1.8 ns an operation
     * on W1. Relaxed atomic loads are never merged into wider ones. */
    log->saved_state[0] = __atomic_load_n(&range->nonempty_orders, __ATOMIC_RELAXED);
    log->saved_state[1] = __atomic_load_n(&range->allocated_blocks, __ATOMIC_RELAXED);
    log->saved_state[2] = __atomic_load_n(&range->live_blocks, __ATOMIC_RELAXED);
    log->saved_state[3] = __atomic_load_n(&range->peak_allocated_blocks, __ATOMIC_RELAXED);
    log->next = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* the entries zeroed, then the epoch */
    log->tag = epoch << LOG_EPOCH_SHIFT;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    log->state = LOG_ACTIVE;
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* active before any store of the operation */
}

const uint64_t *buddy_shared_log_store(void *range, uint64_t *address) {
    return buddy_shared_will_store(range, address);
}

/* Sets the summary bits of (order, group) and above from the free bits, as
 * I6 has them, and the order's first group (I10). Every word index is
 * checked against `word_count` first, and the levels stop at the most a range
 * has: the geometry comes from a header that a cut operation may have left
 * anywhere. */
static void refresh_group(buddy_range *range, uint64_t word_count, unsigned order, uint64_t group) {
    uint64_t *words = range_words(range);
    const order_info *info = &range->orders[order];
    if (group >= info->group_count || info->stride_shift > 3u)
        return;
    uint64_t first = info->base_word + (group << info->stride_shift);
    if (first >= word_count || (first ^ 1u) >= word_count)
        return;
    bool filled = !group_is_empty_at(words, info, first);
    unsigned levels = info->summary_levels;
    for (unsigned level = 0; level < levels && level < MAX_SUMMARY_LEVELS; level++, group >>= 6) {
        uint64_t at = range->level_word[order][level] + (group >> 6);
        if (at >= word_count)
            return;
        uint64_t bit = (uint64_t)1 << (group & 63u);
        words[at] = filled ? words[at] | bit : words[at] & ~bit;
        filled = words[at] != 0;
    }
    /* The order's first group (I10), which is not logged either: a descent
     * from the top word, NO_GROUP if it is empty (or lies outside the range). */
    uint64_t first_group = 0;
    for (unsigned level = levels < MAX_SUMMARY_LEVELS ? levels : MAX_SUMMARY_LEVELS;
         level-- > 0 && first_group != NO_GROUP;) {
        uint64_t at = range->level_word[order][level] + first_group;
        first_group =
            at < word_count && words[at] != 0 ? first_group << 6 | bits_ctz(words[at]) : NO_GROUP;
    }
    range->orders[order].first_group = first_group;
}

void buddy_shared_refresh_summaries(buddy_range *range, uint64_t word_count, uint64_t word) {
    unsigned top = range->top_order < BUDDY_MAX_ORDER ? range->top_order : BUDDY_MAX_ORDER;
    if (word >= range->flat_word && word - range->flat_word < range->orders[0].group_count) {
        refresh_group(range, word_count, 0, word - range->flat_word);
        return;
    }
    for (unsigned band = 0; band < MAX_BANDS && band * TILE_ORDERS + 1u <= top; band++) {
        uint64_t into = word - range->band_word[band];
        if (word < range->band_word[band] || into % TILE_WORDS >= HALF_WORDS ||
            into / TILE_WORDS >= range->orders[band * TILE_ORDERS + 1u].group_count)
            continue; /* not a free word of this band's tiles */
        for (unsigned order = band * TILE_ORDERS + 1u;
             order <= top && order <= band * TILE_ORDERS + TILE_ORDERS; order++)
            refresh_group(range, word_count, order, into / TILE_WORDS);
    }
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
