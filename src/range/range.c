/* SPDX-License-Identifier: MIT */
/*
 * The buddy range allocator: init, alloc, free, size, reset and statistics
 * over the metadata that layout.c plans. The code of alloc and free, and of
 * the helpers they share, is in range_core.h (dispatch.h says why).
 *
 * The algorithm. The range has n min blocks. A block of order k is 2^k min
 * blocks, aligned to its own size; node (k, i) is the block that starts at min
 * block i << k. Every node is in one of four states, kept in two bits (free,
 * split): a free block (1, 0), a split block (0, 1), a live block (0, 0) whose
 * parent is split or which is the root, or a node inside a block (0, 0).
 *
 *   1. alloc(size): round size up to 2^k min blocks (0 counts as one).
 *   2. Choose a free block of order j >= k. nonempty_orders has bit j set iff
 *      order j has a free block, so ctz(nonempty_orders >> k) is the smallest
 *      j that fits (BEST_FIT). FIRST_FIT instead takes the lowest address over
 *      every such j. Each order keeps its first group, the lowest group with
 *      a free node, so its lowest free node is one ctz inside that group.
 *      When that group empties, a ctz descent of the order's summary finds
 *      the next one.
 *   3. Split: while j > k, mark (j, i) split, step to its left child
 *      (j-1, 2i) and make the right child (j-1, 2i+1) a free block.
 *   4. free(offset): find the block that holds the offset: the node just
 *      below its lowest split ancestor. The block must start at the offset,
 *      so its order is at most ctz(offset) and that ancestor is in the band
 *      of order ctz(offset) + 1 or below: start in that band's tile, whose
 *      8 ancestors give the lowest split one in a few operations, and go
 *      down a band only while the band's lowest ancestor is split. The block
 *      must also be live; otherwise the free is rejected (interior, or a
 *      double free).
 *   5. Merge: while the buddy is a free block, take it off the free bits,
 *      clear the parent's split bit and go up. Mark the last node free.
 *
 * The buddy of node (k, i) is (k, i ^ 1): for example a 4-min-block block at
 * min block 12 is node (2, 3); its buddy is (2, 2), the block at min block 8,
 * and their parent is (3, 1), the 8-min-block block at min block 8.
 *
 * Complexity: alloc and free do O(log n) word operations at most: one step
 * per order they split or merge, a summary walk of ceil(log64 groups) words,
 * and for free one tile per band from the block's alignment down. Typically
 * they split or merge almost never (0.02 times per call in the W1 benchmark),
 * and the orders 1..8 around a block share one 64-byte tile, so an operation
 * touches few cache lines. FIRST_FIT reads the first group of each order that
 * has a free block, at most log n of them.
 */
#include <string.h>

#include "dispatch.h"
#include "range_core.h"
#include "sync.h"

/* ---- Public API --------------------------------------------------------- */

void buddy_free_below(buddy_range *range, uint64_t count, unsigned from) {
    if (count == (uint64_t)1 << from) {
        free_insert(range, from, 0);
        return;
    }
    for (unsigned order = from; order >= 1; order--) {
        if ((count & bits_low_mask(order)) == 0)
            continue; /* the node at n starts at n: it is beyond the capacity */
        node_set(range, order, count >> order, SPLIT_BIT);
        if ((count >> (order - 1)) & 1u)
            free_insert(range, order - 1, (count >> order) << 1);
    }
}

/* Plans the layout of `config` (valid) into *plan, with metadata_size, the
 * policy and slow_free set. Returns the metadata bytes, 0 for an impossible
 * geometry. */
static size_t plan_range(struct buddy_range *plan, const buddy_range_config *config) {
    size_t needed = buddy_range_metadata_size_config(config);
    if (needed == 0)
        return 0;
    (void)buddy_layout_plan(plan, config->capacity,
                            config->max_capacity != 0 ? config->max_capacity : config->capacity,
                            config->min_block_size, (config->flags & BUDDY_RANGE_USER_DATA) != 0);
    plan->metadata_size = needed;
    plan->policy = (uint32_t)config->policy;
    update_slow_free(plan);
    return needed;
}

/* Lays `plan` over the range and frees every min block: the words after the
 * header are zeroed, and the header takes the plan's fields up to the sync
 * tail, which stays as it is (reset holds the lock there). */
static void build_range(buddy_range *range, const struct buddy_range *plan) {
    memset(range_words(range) + HEADER_WORDS, 0, (size_t)plan->metadata_size - HEADER_WORDS * 8u);
    memcpy(range, plan, offsetof(struct buddy_range, lock_hook));
    buddy_free_below(range, range->block_count, range->top_order);
}

int buddy_range_init_config(buddy_range **range_out, void *metadata, size_t metadata_size,
                            const buddy_range_config *config) {
    if (range_out == NULL || metadata == NULL || config == NULL ||
        (uintptr_t)metadata % sizeof(uint64_t) != 0 ||
        (config->policy != BUDDY_BEST_FIT && config->policy != BUDDY_FIRST_FIT) ||
        (config->flags & ~(unsigned)(BUDDY_RANGE_USER_DATA | BUDDY_RANGE_THREAD_SAFE)) != 0 ||
        (config->lock == NULL) != (config->unlock == NULL))
        return BUDDY_EINVAL;
    struct buddy_range plan;
    size_t needed = plan_range(&plan, config);
    if (needed == 0)
        return BUDDY_EGEOMETRY;
    if (metadata_size < needed)
        return BUDDY_ESMALL;
    buddy_range *range = (buddy_range *)metadata;
    memset(range, 0, HEADER_WORDS * 8u);
    build_range(range, &plan);
    if (config->lock != NULL) {
        buddy_sync_set_hooks(range, config->lock, config->unlock, config->lock_context);
    } else if (config->flags & BUDDY_RANGE_THREAD_SAFE) {
        range->sync = SYNC_BUILT_IN;
    }
    *range_out = range;
    return BUDDY_OK;
}

int buddy_range_init(buddy_range **range_out, void *metadata, size_t metadata_size,
                     uint64_t capacity, uint64_t min_block_size, buddy_policy policy) {
    buddy_range_config config = {capacity, capacity, min_block_size, policy, 0, NULL, NULL, NULL};
    return buddy_range_init_config(range_out, metadata, metadata_size, &config);
}

int buddy_range_attach(buddy_range **range_out, void *metadata, size_t metadata_size) {
    if (range_out == NULL || metadata == NULL)
        return BUDDY_EINVAL;
    if ((uintptr_t)metadata % sizeof(uint64_t) != 0 || metadata_size < sizeof(struct buddy_range))
        return BUDDY_ECORRUPT;
    const buddy_range *range = (const buddy_range *)metadata;
    struct buddy_range plan;
    unsigned shift = range->min_block_shift & 63u;
    uint64_t words = buddy_layout_plan(&plan, range->capacity, range->max_block_count << shift,
                                       (uint64_t)1 << shift, range->user_data_word != 0);
    if (range->magic != RANGE_MAGIC || words == 0 || range->metadata_size != words * 8u ||
        range->metadata_size > metadata_size || range->block_count != plan.block_count ||
        range->max_block_count != plan.max_block_count ||
        range->user_data_word != plan.user_data_word || range->policy > BUDDY_FIRST_FIT ||
        range->reservation_count > MAX_RESERVATIONS || !buddy_sync_valid(range))
        return BUDDY_ECORRUPT;
    *range_out = (buddy_range *)metadata;
    return BUDDY_OK;
}

static int unlocked_reset(buddy_range *range) {
    if (range == NULL)
        return BUDDY_EINVAL;
    struct buddy_range plan;
    unsigned shift = range->min_block_shift;
    buddy_range_config config = {range->capacity,
                                 range->max_block_count << shift,
                                 (uint64_t)1 << shift,
                                 (buddy_policy)range->policy,
                                 range->user_data_word != 0 ? BUDDY_RANGE_USER_DATA : 0u,
                                 NULL,
                                 NULL,
                                 NULL};
    size_t needed = plan_range(&plan, &config);
    assert(needed != 0); /* the range's own geometry */
    (void)needed;
    plan.sync = range->sync; /* the history stays, and build_range keeps the sync tail */
    plan.peak_allocated_blocks = range->peak_allocated_blocks;
    plan.alloc_failures = range->alloc_failures;
    plan.rejected_frees = range->rejected_frees;
    build_range(range, &plan);
    return BUDDY_OK;
}

int buddy_range_reset(buddy_range *range) {
    BUDDY_SYNCED(int, range, unlocked_reset(range));
}

#if BUDDY_HAVE_X86_64_V3
#include <cpuid.h>

bool buddy_cpu_has_x86_64_v3;

/* x86-64-v3 as the compilers define it: AVX, AVX2, BMI1, BMI2, F16C, FMA,
 * LZCNT and MOVBE on top of v2, and an OS that saves the AVX registers. */
static bool cpu_has_x86_64_v3(void) {
    unsigned a, b, c, d;
    const unsigned leaf1_ecx = bit_SSE3 | bit_SSSE3 | bit_FMA | bit_CMPXCHG16B | bit_SSE4_1 |
                               bit_SSE4_2 | bit_MOVBE | bit_POPCNT | bit_OSXSAVE | bit_AVX |
                               bit_F16C;
    const unsigned leaf7_ebx = bit_AVX2 | bit_BMI | bit_BMI2;
    if (!__get_cpuid(1, &a, &b, &c, &d) || (c & leaf1_ecx) != leaf1_ecx)
        return false;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || (b & leaf7_ebx) != leaf7_ebx)
        return false;
    if (!__get_cpuid(0x80000001u, &a, &b, &c, &d) || !(c & bit_LZCNT))
        return false;
    unsigned xcr0_low, xcr0_high;
    __asm__("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
    (void)xcr0_high;
    return (xcr0_low & 6u) == 6u; /* the OS saves SSE and AVX state */
}

__attribute__((constructor)) static void detect_cpu(void) {
    buddy_cpu_has_x86_64_v3 = cpu_has_x86_64_v3();
}
#endif

/* The portable copies. With dispatch they stay out of line, so that the public
 * functions below are a compare and a jump with no registers to save; without
 * it, they are inlined there. */
#if BUDDY_HAVE_X86_64_V3
#define PORTABLE_COPY BUDDY_NOINLINE
#else
#define PORTABLE_COPY inline
#endif

static PORTABLE_COPY int range_alloc_portable(buddy_range *range, uint64_t size,
                                              uint64_t *offset_out) {
    return range_alloc(range, size, offset_out);
}

static PORTABLE_COPY int range_free_portable(buddy_range *range, uint64_t offset) {
    return range_free(range, offset);
}

/* alloc, aligned alloc and free under the range's lock: out of line, so that
 * a range without one pays a test of the header's first line. */
static BUDDY_NOINLINE int synced_alloc(buddy_range *range, uint64_t size, uint64_t alignment,
                                       uint64_t *offset_out) {
    buddy_sync_lock(range);
    int status = range_alloc_aligned(range, size, alignment, offset_out);
    buddy_sync_unlock(range);
    return status;
}

static BUDDY_NOINLINE int synced_free(buddy_range *range, uint64_t offset) {
    buddy_sync_lock(range);
    int status = range_free(range, offset);
    buddy_sync_unlock(range);
    return status;
}

int buddy_range_alloc(buddy_range *range, uint64_t size, uint64_t *offset_out) {
    if (range != NULL && range->sync != SYNC_NONE)
        return synced_alloc(range, size, 1, offset_out);
#if BUDDY_HAVE_X86_64_V3
    if (buddy_cpu_has_x86_64_v3)
        return buddy_range_alloc_x86_64_v3(range, size, offset_out);
#endif
    return range_alloc_portable(range, size, offset_out);
}

int buddy_range_free(buddy_range *range, uint64_t offset) {
    if (range != NULL && range->sync != SYNC_NONE)
        return synced_free(range, offset);
#if BUDDY_HAVE_X86_64_V3
    if (buddy_cpu_has_x86_64_v3)
        return buddy_range_free_x86_64_v3(range, offset);
#endif
    return range_free_portable(range, offset);
}

BUDDY_NOINLINE int buddy_alloc_above_alignment(buddy_range *range, uint64_t size,
                                               uint64_t alignment, uint64_t *offset_out) {
    unsigned shift = range->min_block_shift;
    if (exceeds_largest_block(range, size)) {
        count_failure(range);
        return BUDDY_ETOOBIG;
    }
    unsigned order = order_for_size(size, shift);
    unsigned least = buddy_aligned_order(range, order, alignment);
    unsigned found = 0;
    uint64_t index = 0;
    if (!take_fitting_block(range, least, &found, &index))
        return BUDDY_ENOMEM;
    if (found != order)
        shrink_in_place(range, found, index, order); /* keeps the lowest, aligned part */
    count_allocation(range, (uint64_t)1 << order);
    *offset_out = (index << found) << shift;
    return BUDDY_OK;
}

static PORTABLE_COPY int range_alloc_aligned_portable(buddy_range *range, uint64_t size,
                                                      uint64_t alignment, uint64_t *offset_out) {
    return range_alloc_aligned(range, size, alignment, offset_out);
}

int buddy_range_alloc_aligned(buddy_range *range, uint64_t size, uint64_t alignment,
                              uint64_t *offset_out) {
    if (range != NULL && range->sync != SYNC_NONE)
        return synced_alloc(range, size, alignment, offset_out);
#if BUDDY_HAVE_X86_64_V3
    if (buddy_cpu_has_x86_64_v3)
        return buddy_range_alloc_aligned_x86_64_v3(range, size, alignment, offset_out);
#endif
    return range_alloc_aligned_portable(range, size, alignment, offset_out);
}

/* A batch is an ordinary allocation of the whole span, whose subtree is then
 * split down to the pieces: the state `count` allocations from that free
 * span would leave. */
static int unlocked_alloc_batch(buddy_range *range, uint64_t size, uint32_t count,
                                uint64_t *offsets_out) {
    if (range == NULL || offsets_out == NULL || !bits_is_pow2(count))
        return BUDDY_EINVAL;
    unsigned shift = range->min_block_shift, batch = bits_ctz(count);
    unsigned order = order_for_size(size, shift);
    if (exceeds_largest_block(range, size) || order + batch > range->max_free_order) {
        count_failure(range);
        return BUDDY_ETOOBIG;
    }
    uint64_t span = 0;
    int status = range_alloc(range, (uint64_t)1 << (order + batch + shift), &span);
    if (status != BUDDY_OK)
        return status;
    uint64_t first = span >> shift;
    for (unsigned level = order + batch; level > order; level--)
        for (uint64_t node = 0; node < (uint64_t)1 << (order + batch - level); node++)
            node_set(range, level, (first >> level) + node, SPLIT_BIT);
    range->live_blocks += count - 1u;
    for (uint32_t piece = 0; piece < count; piece++)
        offsets_out[piece] = span + ((uint64_t)piece << (order + shift));
    return BUDDY_OK;
}

int buddy_range_alloc_batch(buddy_range *range, uint64_t size, uint32_t count,
                            uint64_t *offsets_out) {
    BUDDY_SYNCED(int, range, unlocked_alloc_batch(range, size, count, offsets_out));
}

int buddy_find_allocation(const buddy_range *range, uint64_t offset, unsigned *order_out,
                          uint64_t *blocks_out) {
    node_ref ref;
    int status = find_live_block(range, offset, order_out, &ref);
    *blocks_out = (uint64_t)1 << *order_out;
    if (range->slow_free != 0)
        status = buddy_reservation_check(range, offset, status);
    if (status == BUDDY_OK && range->run_marks != 0)
        status = buddy_run_check_start(range, offset, *order_out, blocks_out);
    return status;
}

static int unlocked_resize(buddy_range *range, uint64_t offset, uint64_t new_size) {
    return range == NULL ? BUDDY_EINVAL : buddy_resize(range, offset, new_size);
}

int buddy_range_resize(buddy_range *range, uint64_t offset, uint64_t new_size) {
    BUDDY_SYNCED(int, range, unlocked_resize(range, offset, new_size));
}

static int unlocked_size(const buddy_range *range, uint64_t offset, uint64_t *size_out) {
    if (range == NULL || size_out == NULL)
        return BUDDY_EINVAL;
    unsigned order = 0;
    uint64_t blocks = 0;
    int status = buddy_find_allocation(range, offset, &order, &blocks);
    if (status == BUDDY_OK)
        *size_out = blocks << range->min_block_shift;
    return status;
}

int buddy_range_size(const buddy_range *range, uint64_t offset, uint64_t *size_out) {
    BUDDY_SYNCED(int, range, unlocked_size(range, offset, size_out));
}

/* The two figures get_stats and get_free share. */
static uint64_t free_units(const buddy_range *range) {
    return range->capacity -
           ((range->allocated_blocks + range->reserved_blocks) << range->min_block_shift);
}
static uint64_t largest_free_units(const buddy_range *range) {
    if (range->nonempty_orders == 0)
        return 0;
    return (uint64_t)1 << (bits_log2_floor(range->nonempty_orders) + range->min_block_shift);
}

static int unlocked_get_free(const buddy_range *range, uint64_t *free_out, uint64_t *largest_out) {
    if (range == NULL)
        return BUDDY_EINVAL;
    if (free_out != NULL)
        *free_out = free_units(range);
    if (largest_out != NULL)
        *largest_out = largest_free_units(range);
    return BUDDY_OK;
}

int buddy_range_get_free(const buddy_range *range, uint64_t *free_out, uint64_t *largest_out) {
    BUDDY_SYNCED(int, range, unlocked_get_free(range, free_out, largest_out));
}

int buddy_unlocked_get_stats(const buddy_range *range, buddy_range_stats *stats_out) {
    if (range == NULL || stats_out == NULL)
        return BUDDY_EINVAL;
    unsigned shift = range->min_block_shift;
    buddy_range_stats stats;
    memset(&stats, 0, sizeof stats);
    stats.capacity = range->capacity;
    stats.max_capacity = range->max_block_count << shift;
    stats.min_block_size = (uint64_t)1 << shift;
    stats.allocated_bytes = range->allocated_blocks << shift;
    stats.reserved_bytes = range->reserved_blocks << shift;
    stats.reservations = range->reservation_count;
    stats.free_bytes = free_units(range);
    stats.largest_free_block = largest_free_units(range);
    stats.live_blocks = range->live_blocks;
    stats.peak_allocated_bytes = range->peak_allocated_blocks << shift;
    stats.alloc_failures = range->alloc_failures;
    stats.rejected_frees = range->rejected_frees;
    stats.policy = (buddy_policy)range->policy;
    stats.max_order = range->max_free_order;
    for (unsigned order = 0; order <= range->top_order; order++)
        stats.free_blocks[order] = range->orders[order].free_count;
    *stats_out = stats;
    return BUDDY_OK;
}

int buddy_range_get_stats(const buddy_range *range, buddy_range_stats *stats_out) {
    BUDDY_SYNCED(int, range, buddy_unlocked_get_stats(range, stats_out));
}
