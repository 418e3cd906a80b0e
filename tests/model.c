/* SPDX-License-Identifier: MIT */
/* The naive reference model (model.h). Linear scans everywhere, on purpose. */
#include "model.h"

#include <stdlib.h>

static unsigned floor_log2(uint64_t value) {
    unsigned order = 0;
    while ((value >> order) > 1)
        order++;
    return order;
}

bool model_init(model *m, uint64_t capacity, uint64_t min_block_size, buddy_policy policy) {
    buddy_range_config config = {capacity, capacity, min_block_size, policy, 0, NULL, NULL, NULL};
    return model_init_config(m, &config);
}

bool model_init_config(model *m, const buddy_range_config *config) {
    uint64_t min_block_size = config->min_block_size, capacity = config->capacity;
    uint64_t max_capacity = config->max_capacity != 0 ? config->max_capacity : capacity;
    if (min_block_size == 0 || (min_block_size & (min_block_size - 1)) != 0 ||
        capacity < min_block_size || max_capacity < capacity)
        return false;
    m->min_block_shift = floor_log2(min_block_size);
    m->block_count = capacity >> m->min_block_shift;
    m->max_block_count = max_capacity >> m->min_block_shift;
    m->policy = config->policy;
    size_t count = (size_t)m->max_block_count;
    m->order_at = malloc(count);
    m->free_at = malloc(count * sizeof(bool));
    m->continues = malloc(count * sizeof(bool));
    m->user_data = NULL;
    if (config->flags & BUDDY_RANGE_USER_DATA)
        m->user_data = calloc(count, sizeof(uint64_t));
    m->reservation_count = 0;
    if (m->order_at == NULL || m->free_at == NULL || m->continues == NULL ||
        ((config->flags & BUDDY_RANGE_USER_DATA) && m->user_data == NULL))
        abort();
    for (uint64_t i = 0; i < m->max_block_count; i++) {
        m->order_at[i] = -1;
        m->free_at[i] = false;
        m->continues[i] = false;
    }
    /* The binary decomposition, largest block first. */
    uint64_t start = 0;
    for (unsigned order = 63; order-- > 0;) {
        if ((m->block_count >> order) & 1u) {
            m->order_at[start] = (signed char)order;
            m->free_at[start] = true;
            start += (uint64_t)1 << order;
        }
    }
    return true;
}

void model_destroy(model *m) {
    free(m->order_at);
    free(m->free_at);
    free(m->continues);
    free(m->user_data);
}

/* The order a request rounds up to; false if it exceeds the largest block. */
static bool order_for(const model *m, uint64_t size, unsigned *order_out) {
    uint64_t blocks = size == 0 ? 1 : ((size - 1) >> m->min_block_shift) + 1;
    if (size > ((uint64_t)1 << floor_log2(m->block_count)) << m->min_block_shift)
        return false;
    unsigned order = 0;
    while (((uint64_t)1 << order) < blocks)
        order++;
    *order_out = order;
    return true;
}

/* Splits the block at `start` down to `order`, freeing the upper halves. */
static void split_down(model *m, uint64_t start, unsigned order) {
    while ((unsigned)m->order_at[start] > order) {
        signed char half = (signed char)(m->order_at[start] - 1);
        m->order_at[start] = half;
        m->order_at[start + ((uint64_t)1 << half)] = half;
        m->free_at[start + ((uint64_t)1 << half)] = true;
    }
}

/* The free block of order `least` or more that the policy picks: the lowest
 * of the smallest such order (best fit), or the lowest of all (first fit); -1
 * if none. */
static int64_t fitting_block(const model *m, unsigned least) {
    int64_t chosen = -1;
    for (uint64_t i = 0; i < m->block_count; i++) {
        if (m->order_at[i] < 0 || !m->free_at[i] || (unsigned)m->order_at[i] < least)
            continue;
        if (chosen < 0 || (m->policy == BUDDY_BEST_FIT && m->order_at[i] < m->order_at[chosen]))
            chosen = (int64_t)i;
    }
    return chosen;
}

/* The order of `alignment` in min blocks, capped at the largest order (whose
 * one block starts at 0, a multiple of anything). */
static unsigned alignment_order(const model *m, uint64_t alignment) {
    unsigned order = 0;
    while (order < floor_log2(m->block_count) &&
           ((uint64_t)1 << (order + m->min_block_shift)) < alignment)
        order++;
    return order;
}

int model_alloc(model *m, uint64_t size, uint64_t *offset_out) {
    return model_alloc_aligned(m, size, 1, offset_out);
}

/* The contract of buddy_range_alloc_aligned, plainly: a free block of an order
 * at least that of the size and that of the alignment (capped at the largest
 * order, whose only block starts at 0), chosen by the policy, split down to
 * the size's order, keeping its lowest part. */
int model_alloc_aligned(model *m, uint64_t size, uint64_t alignment, uint64_t *offset_out) {
    unsigned order = 0;
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        return BUDDY_EINVAL;
    if (!order_for(m, size, &order))
        return BUDDY_ETOOBIG;
    unsigned least = alignment_order(m, alignment);
    int64_t chosen = fitting_block(m, least > order ? least : order);
    if (chosen < 0)
        return BUDDY_ENOMEM;
    uint64_t start = (uint64_t)chosen;
    split_down(m, start, order);
    m->free_at[start] = false;
    *offset_out = start << m->min_block_shift;
    return BUDDY_OK;
}

/* The start of the block that holds min block `at`. */
static uint64_t block_holding(const model *m, uint64_t at) {
    uint64_t start = at;
    while (m->order_at[start] < 0)
        start--;
    return start;
}

/* The next piece of a run at `first` with `count` min blocks to go: the
 * largest block that starts there and that the count covers. */
static unsigned next_piece(uint64_t first, uint64_t count) {
    unsigned piece = floor_log2(count);
    while (piece > 0 && first % ((uint64_t)1 << piece) != 0)
        piece--;
    return piece;
}

/* Makes free min blocks [first, first + count) a run: each piece (next_piece)
 * is cut out of the free block holding it by halving. */
static void carve(model *m, uint64_t first, uint64_t count) {
    while (count != 0) {
        unsigned piece = next_piece(first, count);
        uint64_t start = block_holding(m, first);
        while (start != first || (unsigned)m->order_at[start] != piece) {
            signed char half = (signed char)(m->order_at[start] - 1);
            uint64_t upper = start + ((uint64_t)1 << half);
            m->order_at[start] = m->order_at[upper] = half;
            m->free_at[upper] = true;
            start = first >= upper ? upper : start;
        }
        m->free_at[first] = false;
        count -= (uint64_t)1 << piece;
        m->continues[first] = count != 0;
        first += (uint64_t)1 << piece;
    }
}

/* True iff every min block of [first, end) is in a free block. */
static bool all_free(const model *m, uint64_t first, uint64_t end) {
    for (uint64_t at = first; at < end; at++)
        if (!m->free_at[block_holding(m, at)])
            return false;
    return true;
}

/* The min blocks of a run of `size` units: ceil(size / min block), 0 counting
 * as one, and one more when that is 3 mod 4. */
static uint64_t run_count(const model *m, uint64_t size) {
    uint64_t count = size == 0 ? 1 : ((size - 1) >> m->min_block_shift) + 1;
    return count + (count % 4 == 3);
}

/* True iff a run of `count` min blocks (run_count's) can start at the even
 * min block `first`: at an odd multiple of 2, its order-1 head has no room
 * for a mark and the next piece takes it, so that piece must be of order 2
 * or more and the run must not end in 2 + 1; 1 or 2 is one block. */
static bool fits_start(uint64_t first, uint64_t count) {
    return first % 4 == 0 || count <= 2 || (count >= 6 && count % 4 != 1);
}

/* The lowest multiple of `step` at or above `first` where such a run fits. */
static uint64_t start_from(uint64_t first, uint64_t step, uint64_t count) {
    uint64_t start = (first + step - 1) / step * step;
    return fits_start(start, count) ? start : start + 2;
}

static int trim(model *m, uint64_t count, uint64_t alignment, uint64_t *offset_out);

/* The contract of buddy_range_alloc_exact: the count of min blocks (one more
 * when it is 3 mod 4). If it is not a power of two, the run goes at the first
 * of the lowest BUDDY_RUN_FIT_TRIES free blocks of its largest piece's order,
 * within the lowest one's group or the next (a group: 64 blocks of order 0,
 * else the 2^(7 - (order - 1) mod 8) of a tile's row), whose next min blocks
 * are free for the rest. Else it is carved from the start of
 * a free block of the count's power-of-two order chosen as alloc chooses:
 * each half the remaining count exceeds is a piece that continues; a half it
 * does not reach is freed. */
int model_alloc_exact(model *m, uint64_t size, uint64_t *offset_out) {
    return model_alloc_exact_aligned(m, size, 1, offset_out);
}

/* Across free blocks only if the alignment is at most the largest piece; else
 * carved from the block model_alloc_aligned would take for the count's power
 * of two. */
int model_alloc_exact_aligned(model *m, uint64_t size, uint64_t alignment, uint64_t *offset_out) {
    unsigned order = 0;
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        return BUDDY_EINVAL;
    if (!order_for(m, size, &order))
        return BUDDY_ETOOBIG;
    uint64_t count = run_count(m, size);
    unsigned piece = floor_log2(count);
    if (count != (uint64_t)1 << piece && alignment <= (uint64_t)1 << (piece + m->min_block_shift)) {
        unsigned tries = 0;               /* the lowest free blocks of the largest piece's order */
        uint64_t window_end = UINT64_MAX; /* in the lowest one's group or the next */
        unsigned shift = piece == 0 ? 6u : 7u - (piece - 1u) % 8u; /* nodes a group, log2 */
        for (uint64_t at = 0; at < m->block_count && tries < BUDDY_RUN_FIT_TRIES; at++) {
            if (m->order_at[at] != (signed char)piece || !m->free_at[at])
                continue;
            uint64_t index = at >> piece;
            if (tries == 0)
                window_end = ((index >> shift) + 2u) << shift;
            if (index >= window_end)
                break;
            tries++;
            if (at + count <= m->block_count && all_free(m, at, at + count)) {
                carve(m, at, count);
                *offset_out = at << m->min_block_shift;
                return BUDDY_OK;
            }
        }
    }
    return trim(m, count, alignment, offset_out);
}

/* The free extent around the free block at `at`: [*first_out, *end_out),
 * block by block. */
static void free_extent(const model *m, uint64_t at, uint64_t *first_out, uint64_t *end_out) {
    uint64_t first = at, end = at;
    while (first > 0 && m->free_at[block_holding(m, first - 1)])
        first = block_holding(m, first - 1);
    while (end < m->block_count && m->free_at[end])
        end += (uint64_t)1 << m->order_at[end];
    *first_out = first;
    *end_out = end;
}

int model_alloc_packed(model *m, uint64_t size, uint64_t *offset_out) {
    return model_alloc_packed_aligned(m, size, 1, offset_out);
}

/* The contract of buddy_range_alloc_packed_aligned, with `step` the larger of
 * the alignment in min blocks and the count if it is 1, 2 or 4, else 2 min
 * blocks (a start is then the lowest multiple of `step` where the run fits,
 * fits_start). A count of 1, 2 or 4 is a plain block: the lowest
 * free block of its order if the alignment is at most its size; else at the
 * lowest multiple of `step` in the free extent around the block that the
 * policy picks of an order above the count's and at least the alignment's
 * (capped at the largest order). A
 * larger count: of the lowest BUDDY_RUN_FIT_TRIES free blocks of its largest
 * piece's order less one, then of that order, the one whose free extent is
 * smallest among those that hold the run at their lowest multiple of `step`
 * (the first on a tie); else as a small count's second case. */
int model_alloc_packed_aligned(model *m, uint64_t size, uint64_t alignment, uint64_t *offset_out) {
    unsigned order = 0;
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        return BUDDY_EINVAL;
    if (!order_for(m, size, &order))
        return BUDDY_ETOOBIG;
    uint64_t count = run_count(m, size);
    unsigned piece = floor_log2(count), aligned = alignment_order(m, alignment);
    uint64_t step = count <= 4 ? count : 2, best_size = UINT64_MAX, best = 0;
    step = step > alignment >> m->min_block_shift ? step : alignment >> m->min_block_shift;
    for (uint64_t at = 0; count <= 4 && step == count && at < m->block_count; at++) {
        if (m->order_at[at] == (signed char)piece && m->free_at[at]) {
            m->free_at[at] = false;
            *offset_out = at << m->min_block_shift;
            return BUDDY_OK;
        }
    }
    for (unsigned candidate = piece - 1; count > 4 && candidate <= piece; candidate++) {
        unsigned tries = 0;
        for (uint64_t at = 0; at < m->block_count && tries < BUDDY_RUN_FIT_TRIES; at++) {
            if (m->order_at[at] != (signed char)candidate || !m->free_at[at])
                continue;
            tries++;
            uint64_t first = 0, end = 0;
            free_extent(m, at, &first, &end);
            uint64_t start = start_from(first, step, count);
            if (start + count <= end && end - first < best_size) {
                best_size = end - first;
                best = start;
            }
        }
    }
    if (best_size == UINT64_MAX) {
        int64_t chosen = fitting_block(m, piece + 1 > aligned ? piece + 1 : aligned);
        if (chosen < 0)
            return BUDDY_ENOMEM;
        uint64_t end = 0;
        free_extent(m, (uint64_t)chosen, &best, &end);
        best = start_from(best, step, count);
    }
    carve(m, best, count);
    *offset_out = best << m->min_block_shift;
    return BUDDY_OK;
}

/* A run of `count` min blocks carved from the start of the block that
 * model_alloc_aligned takes for its power of two: each half the remaining
 * count exceeds is a piece that continues; a half it does not reach is freed. */
static int trim(model *m, uint64_t count, uint64_t alignment, uint64_t *offset_out) {
    uint64_t offset = 0;
    int status = model_alloc_aligned(m, count << m->min_block_shift, alignment, &offset);
    if (status != BUDDY_OK)
        return status;
    uint64_t at = offset >> m->min_block_shift, remaining = count;
    for (unsigned have = (unsigned)m->order_at[at]; remaining != (uint64_t)1 << have;) {
        /* model_alloc took a block of this order; cut it again. */
        have--;
        uint64_t half = (uint64_t)1 << have;
        m->order_at[at] = (signed char)have;
        m->order_at[at + half] = (signed char)have;
        if (remaining > half) {
            m->continues[at] = true;
            remaining -= half;
            at += half;
        } else {
            m->free_at[at + half] = true;
        }
    }
    *offset_out = offset;
    return BUDDY_OK;
}

/* A later piece of a run: the block that ends at `first` continues into it. */
static bool is_later_piece(const model *m, uint64_t first) {
    for (uint64_t before = first; before-- > 0;)
        if (m->order_at[before] >= 0)
            return m->continues[before] && before + ((uint64_t)1 << m->order_at[before]) == first;
    return false;
}

/* The reservation that holds min block `at`, or reservation_count. */
static unsigned reservation_holding(const model *m, uint64_t at) {
    unsigned i = 0;
    while (i < m->reservation_count && !(at >= m->reservations[i][0] && at < m->reservations[i][1]))
        i++;
    return i;
}

uint64_t model_reservation_at(const model *m, uint64_t first) {
    unsigned i = reservation_holding(m, first);
    if (i == m->reservation_count || m->reservations[i][0] != first)
        return 0;
    return m->reservations[i][1] - first;
}

/* Status of a lookup of the live block starting at `offset`. */
static int model_find(const model *m, uint64_t offset, uint64_t *first_out) {
    if ((offset >> m->min_block_shift) >= m->block_count)
        return BUDDY_ERANGE;
    if ((offset & (((uint64_t)1 << m->min_block_shift) - 1)) != 0)
        return BUDDY_EALIGN;
    uint64_t first = offset >> m->min_block_shift;
    if (reservation_holding(m, first) < m->reservation_count)
        return BUDDY_ERESERVED;
    if (m->order_at[first] < 0)
        return BUDDY_ENOTSTART;
    if (m->free_at[first])
        return BUDDY_ENOTLIVE;
    if (is_later_piece(m, first))
        return BUDDY_ENOTSTART;
    *first_out = first;
    return BUDDY_OK;
}

/* Frees the block at `start` and merges it with its free buddies. */
static void free_block(model *m, uint64_t start) {
    m->free_at[start] = true;
    for (;;) {
        unsigned order = (unsigned)m->order_at[start];
        uint64_t buddy = start ^ ((uint64_t)1 << order);
        if (buddy >= m->block_count || m->order_at[buddy] != (signed char)order ||
            !m->free_at[buddy])
            break;
        uint64_t low = buddy < start ? buddy : start;
        uint64_t high = buddy < start ? start : buddy;
        m->order_at[high] = -1;
        m->free_at[high] = false;
        m->order_at[low] = (signed char)(order + 1);
        start = low;
    }
}

int model_free(model *m, uint64_t offset) {
    uint64_t start = 0;
    int status = model_find(m, offset, &start);
    if (status != BUDDY_OK)
        return status;
    if (m->user_data != NULL)
        m->user_data[start] = 0;
    for (bool more = true; more;) { /* the block, or every piece of its run */
        uint64_t next = start + ((uint64_t)1 << m->order_at[start]);
        more = m->continues[start];
        m->continues[start] = false;
        free_block(m, start);
        start = next;
    }
    return BUDDY_OK;
}

int model_size(const model *m, uint64_t offset, uint64_t *size_out) {
    uint64_t start = 0;
    int status = model_find(m, offset, &start);
    if (status != BUDDY_OK)
        return status;
    uint64_t blocks = 0;
    for (bool more = true; more; start += (uint64_t)1 << m->order_at[start]) {
        blocks += (uint64_t)1 << m->order_at[start];
        more = m->continues[start];
    }
    *size_out = blocks << m->min_block_shift;
    return BUDDY_OK;
}

/* A run resized in place to the run of new_size: its pieces are those of
 * [start, start + count) (next_piece), and a grow covers only free min blocks
 * after the run. */
static int resize_run(model *m, uint64_t start, uint64_t new_size) {
    uint64_t count = run_count(m, new_size);
    if (!fits_start(start, count))
        count = count < 6 ? 6 : count + 1; /* the least count that fits there */
    uint64_t blocks = 0, size = 0;
    model_size(m, start << m->min_block_shift, &size);
    blocks = size >> m->min_block_shift;
    if (count == blocks)
        return BUDDY_OK;
    for (uint64_t at = start + blocks; at < start + count; at++)
        if (at >= m->block_count || !m->free_at[block_holding(m, at)])
            return BUDDY_ENOMEM;
    uint64_t kept = m->user_data != NULL ? m->user_data[start] : 0;
    model_free(m, start << m->min_block_shift);
    carve(m, start, count);
    if (m->user_data != NULL)
        m->user_data[start] = kept; /* the allocation stays where it was */
    return BUDDY_OK;
}

int model_resize(model *m, uint64_t offset, uint64_t new_size) {
    uint64_t start = 0;
    int status = model_find(m, offset, &start);
    if (status != BUDDY_OK)
        return status;
    unsigned target = 0;
    if (!order_for(m, new_size, &target))
        return BUDDY_ETOOBIG;
    if (m->continues[start])
        return resize_run(m, start, new_size);
    unsigned order = (unsigned)m->order_at[start];
    if (target <= order) {
        split_down(m, start, target);
        return BUDDY_OK;
    }
    for (unsigned level = order; level < target; level++) { /* a lower half with a free buddy */
        uint64_t buddy = start + ((uint64_t)1 << level);
        if ((start >> level) & 1u || buddy >= m->block_count ||
            m->order_at[buddy] != (signed char)level || !m->free_at[buddy])
            return BUDDY_ENOMEM;
    }
    for (unsigned level = order; level < target; level++)
        m->order_at[start + ((uint64_t)1 << level)] = -1;
    for (unsigned level = order; level < target; level++)
        m->free_at[start + ((uint64_t)1 << level)] = false;
    m->order_at[start] = (signed char)target;
    return BUDDY_OK;
}

uint64_t model_free_blocks(const model *m, unsigned order) {
    uint64_t count = 0;
    for (uint64_t i = 0; i < m->block_count; i++)
        count += m->order_at[i] == (signed char)order && m->free_at[i];
    return count;
}

uint64_t model_largest_free(const model *m) {
    uint64_t largest = 0;
    for (uint64_t i = 0; i < m->block_count; i++)
        if (m->order_at[i] >= 0 && m->free_at[i] && ((uint64_t)1 << m->order_at[i]) > largest)
            largest = (uint64_t)1 << m->order_at[i];
    return largest << m->min_block_shift;
}

/* The contract of buddy_range_set_capacity: a grow frees each new min block
 * (merging as free does); a shrink splits the free block that straddles the
 * new end until a block starts there, and forgets everything from there on. */
int model_set_capacity(model *m, uint64_t new_capacity) {
    uint64_t count = new_capacity >> m->min_block_shift;
    if (count == 0)
        return BUDDY_EGEOMETRY;
    if (count > m->max_block_count)
        return BUDDY_ESMALL;
    if (count < m->block_count) {
        if (!all_free(m, count, m->block_count))
            return BUDDY_EBUSY;
        uint64_t start = block_holding(m, count);
        while (start != count) {
            signed char half = (signed char)(m->order_at[start] - 1);
            uint64_t upper = start + ((uint64_t)1 << half);
            m->order_at[start] = m->order_at[upper] = half;
            m->free_at[upper] = true;
            start = count >= upper ? upper : start;
        }
        for (uint64_t at = count; at < m->block_count; at++) {
            m->order_at[at] = -1;
            m->free_at[at] = false;
        }
        m->block_count = count;
    } else {
        uint64_t old = m->block_count;
        m->block_count = count;
        for (uint64_t at = old; at < count; at++) {
            m->order_at[at] = 0;
            free_block(m, at);
        }
    }
    return BUDDY_OK;
}

/* The min blocks of units [offset, offset + size), or false beyond the capacity. */
static bool region_of(const model *m, uint64_t offset, uint64_t size, uint64_t *first,
                      uint64_t *end) {
    uint64_t capacity = m->block_count << m->min_block_shift;
    if (offset >= capacity || size > capacity - offset)
        return false;
    *first = offset >> m->min_block_shift;
    *end = ((offset + size - 1) >> m->min_block_shift) + 1;
    return true;
}

/* The order of the largest block aligned at `first` that ends by `end`. */
static unsigned piece_at(uint64_t first, uint64_t end) {
    unsigned piece = 0;
    while (first % ((uint64_t)2 << piece) == 0 && ((uint64_t)2 << piece) <= end - first)
        piece++;
    return piece;
}

int model_reserve(model *m, uint64_t offset, uint64_t size) {
    uint64_t first = 0, end = 0;
    if (size == 0)
        return BUDDY_EINVAL;
    if (!region_of(m, offset, size, &first, &end))
        return BUDDY_ERANGE;
    if (m->reservation_count == BUDDY_MAX_RESERVATIONS)
        return BUDDY_ENOMEM;
    if (!all_free(m, first, end))
        return BUDDY_EBUSY;
    for (uint64_t at = first; at < end; at += (uint64_t)1 << piece_at(at, end)) {
        carve(m, at, (uint64_t)1 << piece_at(at, end)); /* a run of one piece */
    }
    m->reservations[m->reservation_count][0] = first;
    m->reservations[m->reservation_count][1] = end;
    m->reservation_count++;
    return BUDDY_OK;
}

int model_unreserve(model *m, uint64_t offset, uint64_t size) {
    uint64_t first = 0, end = 0;
    if (size == 0)
        return BUDDY_EINVAL;
    if (!region_of(m, offset, size, &first, &end) || model_reservation_at(m, first) != end - first)
        return BUDDY_ENOTLIVE;
    unsigned i = reservation_holding(m, first);
    m->reservation_count--;
    m->reservations[i][0] = m->reservations[m->reservation_count][0];
    m->reservations[i][1] = m->reservations[m->reservation_count][1];
    for (uint64_t at = first; at < end;) {
        uint64_t next = at + ((uint64_t)1 << m->order_at[at]);
        free_block(m, at);
        at = next;
    }
    return BUDDY_OK;
}

int model_set_user_data(model *m, uint64_t offset, uint64_t value) {
    uint64_t start = 0;
    if (m->user_data == NULL)
        return BUDDY_EINVAL;
    int status = model_find(m, offset, &start);
    if (status == BUDDY_OK)
        m->user_data[start] = value;
    return status;
}

int model_get_user_data(const model *m, uint64_t offset, uint64_t *value_out) {
    uint64_t start = 0;
    if (m->user_data == NULL)
        return BUDDY_EINVAL;
    int status = model_find(m, offset, &start);
    if (status == BUDDY_OK)
        *value_out = m->user_data[start];
    return status;
}
