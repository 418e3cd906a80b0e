/* SPDX-License-Identifier: MIT */
/*
 * Seeded differential test: random geometries (powers of two and not), both
 * policies, with and without room to grow and user data; random allocs
 * (plain, exact, packed, aligned), resizes, valid and invalid frees, reservations,
 * capacity changes and user data, against the naive model. After every step
 * the statuses, offsets, statistics and the invariant checker must agree;
 * every few steps, the walk and size() and user data of every offset too.
 */
#include "bits.h"
#include "buddy.h"
#include "check.h"
#include "model.h"

#define MAX_LIVE 4096

typedef struct run {
    buddy_range *range;
    model reference;
    uint64_t live[MAX_LIVE];
    size_t live_count;
    uint64_t last_freed;
    char last_step[64]; /* printed with a failure */
} run;

static uint64_t random_size(uint64_t *seed, uint64_t capacity) {
    /* Log-uniform up to a bit past the capacity, sometimes 0. */
    unsigned bits = 0;
    while (((uint64_t)1 << bits) <= capacity)
        bits++;
    uint64_t limit = (uint64_t)1 << check_below(seed, bits + 2);
    return check_below(seed, limit + 1);
}

typedef struct walk_check {
    const model *reference;
    uint64_t next; /* the offset the next block must start at */
    unsigned mismatches;
} walk_check;

/* Each block the walk reports must be the model's block at that offset, or
 * the model's whole run there. */
static int check_walked_block(uint64_t offset, uint64_t size, buddy_block_state state, void *user) {
    bool is_live = state == BUDDY_BLOCK_LIVE;
    walk_check *walk = user;
    const model *m = walk->reference;
    uint64_t first = offset >> m->min_block_shift, blocks = 0;
    if (state == BUDDY_BLOCK_RESERVED) {
        walk->mismatches += offset != walk->next || first >= m->block_count ||
                            model_reservation_at(m, first) != size >> m->min_block_shift;
        walk->next = offset + size;
        return 0;
    }
    if (first < m->block_count && model_reservation_at(m, first) != 0)
        walk->mismatches++;
    bool same = offset == walk->next && first < m->block_count && m->order_at[first] >= 0 &&
                is_live == !m->free_at[first];
    for (uint64_t at = first; same; at += (uint64_t)1 << m->order_at[at]) {
        blocks += (uint64_t)1 << m->order_at[at];
        if (!m->continues[at])
            break;
    }
    same = same && (size >> m->min_block_shift) == blocks;
    walk->mismatches += !same;
    walk->next = offset + size;
    return 0;
}

static void compare_all_offsets(run *r, const buddy_range_stats *stats) {
    walk_check walk = {&r->reference, 0, 0};
    CHECK_STATUS(buddy_range_walk(r->range, check_walked_block, &walk), BUDDY_OK);
    CHECK_EQ_INT(walk.mismatches, 0);
    CHECK_EQ_U64(walk.next, stats->capacity);
    uint64_t step = stats->min_block_size > 1 ? stats->min_block_size / 2 : 1;
    for (uint64_t offset = 0; offset <= stats->capacity; offset += step) {
        uint64_t got = 0, want = 0;
        int status = buddy_range_size(r->range, offset, &got);
        CHECK_STATUS(status, model_size(&r->reference, offset, &want));
        if (status == BUDDY_OK)
            CHECK_EQ_U64(got, want);
        status = buddy_range_get_user_data(r->range, offset, &got);
        CHECK_STATUS(status, model_get_user_data(&r->reference, offset, &want));
        if (status == BUDDY_OK)
            CHECK_EQ_U64(got, want);
    }
}

static void compare_stats(run *r, buddy_range_stats *stats) {
    CHECK_STATUS(buddy_range_get_stats(r->range, stats), BUDDY_OK);
    CHECK_EQ_U64(stats->live_blocks, r->live_count);
    CHECK_EQ_U64(stats->capacity, r->reference.block_count << r->reference.min_block_shift);
    CHECK_EQ_U64(stats->reservations, r->reference.reservation_count);
    CHECK_EQ_U64(stats->largest_free_block, model_largest_free(&r->reference));
    uint64_t free_units = 0, largest = 0;
    CHECK_STATUS(buddy_range_get_free(r->range, &free_units, &largest), BUDDY_OK);
    CHECK_EQ_U64(free_units, stats->free_bytes);
    CHECK_EQ_U64(largest, stats->largest_free_block);
    CHECK_STATUS(buddy_range_get_free(r->range, NULL, NULL), BUDDY_OK);
    for (unsigned order = 0; order <= stats->max_order; order++) {
        CHECK_EQ_U64(stats->free_blocks[order], model_free_blocks(&r->reference, order));
        if (stats->free_blocks[order] != model_free_blocks(&r->reference, order))
            fprintf(stderr, "  at order %u\n", order);
    }
    CHECK_STATUS(buddy_range_check(r->range), BUDDY_OK);
}

/* A random region: mostly small and inside the capacity, sometimes not. */
static void random_region(uint64_t *seed, uint64_t capacity, uint64_t *offset, uint64_t *size) {
    *offset = check_below(seed, capacity + capacity / 8 + 2);
    *size = check_below(seed, 8) == 0 ? check_below(seed, capacity + 2)
                                      : check_below(seed, capacity / 8 + 2);
}

/* Reservations, capacity changes and user data. */
static void engine_step(run *r, uint64_t *seed, const buddy_range_stats *stats) {
    uint64_t choice = check_below(seed, 6), offset = 0, size = 0;
    if (choice == 0) {
        random_region(seed, stats->capacity, &offset, &size);
        snprintf(r->last_step, sizeof r->last_step, "reserve(%llu, %llu)",
                 (unsigned long long)offset, (unsigned long long)size);
        CHECK_STATUS(buddy_range_reserve(r->range, offset, size),
                     model_reserve(&r->reference, offset, size));
    } else if (choice == 1) {
        const model *m = &r->reference;
        if (m->reservation_count > 0 && check_below(seed, 4) != 0) { /* an existing one */
            unsigned i = (unsigned)check_below(seed, m->reservation_count);
            offset = (m->reservations[i][0] << m->min_block_shift) +
                     check_below(seed, (uint64_t)1 << m->min_block_shift);
            size = ((m->reservations[i][1] - m->reservations[i][0]) << m->min_block_shift) -
                   (offset & (((uint64_t)1 << m->min_block_shift) - 1));
        } else {
            random_region(seed, stats->capacity, &offset, &size);
        }
        snprintf(r->last_step, sizeof r->last_step, "unreserve(%llu, %llu)",
                 (unsigned long long)offset, (unsigned long long)size);
        CHECK_STATUS(buddy_range_unreserve(r->range, offset, size),
                     model_unreserve(&r->reference, offset, size));
    } else if (choice == 2) {
        uint64_t capacity = check_below(seed, stats->max_capacity + stats->min_block_size + 1);
        snprintf(r->last_step, sizeof r->last_step, "set_capacity(%llu)",
                 (unsigned long long)capacity);
        CHECK_STATUS(buddy_range_set_capacity(r->range, capacity),
                     model_set_capacity(&r->reference, capacity));
    } else {
        offset = r->live_count > 0 && choice != 5 ? r->live[check_below(seed, r->live_count)]
                                                  : check_below(seed, stats->capacity + 8);
        uint64_t value = check_below(seed, 1000) + 1, got = 0, want = 0;
        snprintf(r->last_step, sizeof r->last_step, "set_user_data(%llu)",
                 (unsigned long long)offset);
        CHECK_STATUS(buddy_range_set_user_data(r->range, offset, value),
                     model_set_user_data(&r->reference, offset, value));
        int status = buddy_range_get_user_data(r->range, offset, &got);
        CHECK_STATUS(status, model_get_user_data(&r->reference, offset, &want));
        if (status == BUDDY_OK)
            CHECK_EQ_U64(got, want);
    }
}

static void one_step(run *r, uint64_t *seed, const buddy_range_stats *stats) {
    uint64_t choice = check_below(seed, 110);
    if (choice >= 100) {
        engine_step(r, seed, stats);
    } else if (choice < 50 && r->live_count < MAX_LIVE) {
        uint64_t size = random_size(seed, stats->capacity);
        uint64_t got = 0, want = 0;
        int status = 0;
        if (choice < 25) {
            snprintf(r->last_step, sizeof r->last_step, "alloc(%llu)", (unsigned long long)size);
            status = buddy_range_alloc(r->range, size, &got);
            CHECK_STATUS(status, model_alloc(&r->reference, size, &want));
        } else if (choice < 35) {
            snprintf(r->last_step, sizeof r->last_step, "alloc_exact(%llu)",
                     (unsigned long long)size);
            status = buddy_range_alloc_exact(r->range, size, &got);
            CHECK_STATUS(status, model_alloc_exact(&r->reference, size, &want));
        } else if (choice < 40) {
            snprintf(r->last_step, sizeof r->last_step, "alloc_packed(%llu)",
                     (unsigned long long)size);
            status = buddy_range_alloc_packed(r->range, size, &got);
            CHECK_STATUS(status, model_alloc_packed(&r->reference, size, &want));
        } else { /* a power of two up to twice the capacity, or now and then not one */
            uint64_t alignment =
                choice == 49 ? check_below(seed, 4) * 3 : random_size(seed, 2 * stats->capacity);
            if (choice != 49)
                alignment = alignment == 0 ? 1 : (uint64_t)1 << bits_log2_floor(alignment);
            static const char *const kinds[3] = {"", "_exact", "_packed"};
            uint64_t kind = check_below(seed, 3);
            snprintf(r->last_step, sizeof r->last_step, "alloc%s_aligned(%llu, %llu)", kinds[kind],
                     (unsigned long long)size, (unsigned long long)alignment);
            if (kind == 1) {
                status = buddy_range_alloc_exact_aligned(r->range, size, alignment, &got);
                CHECK_STATUS(status,
                             model_alloc_exact_aligned(&r->reference, size, alignment, &want));
            } else if (kind == 2) {
                status = buddy_range_alloc_packed_aligned(r->range, size, alignment, &got);
                CHECK_STATUS(status,
                             model_alloc_packed_aligned(&r->reference, size, alignment, &want));
            } else {
                status = buddy_range_alloc_aligned(r->range, size, alignment, &got);
                CHECK_STATUS(status, model_alloc_aligned(&r->reference, size, alignment, &want));
            }
            if (status == BUDDY_OK)
                CHECK_EQ_U64(got % alignment, 0);
        }
        if (status == BUDDY_OK) {
            CHECK_EQ_U64(got, want);
            r->live[r->live_count++] = got;
        }
    } else if (choice < 60 && r->live_count > 0) {
        size_t victim = (size_t)check_below(seed, r->live_count);
        uint64_t offset = r->live[victim], size = random_size(seed, stats->capacity);
        snprintf(r->last_step, sizeof r->last_step, "resize(%llu, %llu)",
                 (unsigned long long)offset, (unsigned long long)size);
        CHECK_STATUS(buddy_range_resize(r->range, offset, size),
                     model_resize(&r->reference, offset, size));
    } else if (choice < 85 && r->live_count > 0) {
        size_t victim = (size_t)check_below(seed, r->live_count);
        uint64_t offset = r->live[victim];
        snprintf(r->last_step, sizeof r->last_step, "free(%llu)", (unsigned long long)offset);
        CHECK_STATUS(buddy_range_free(r->range, offset), model_free(&r->reference, offset));
        r->live[victim] = r->live[--r->live_count];
        r->last_freed = offset;
    } else {
        /* An invalid or doubtful free: a random offset or the last freed one. */
        uint64_t offset = choice < 92 ? r->last_freed : check_below(seed, stats->capacity + 8);
        snprintf(r->last_step, sizeof r->last_step, "bad free(%llu)", (unsigned long long)offset);
        int want = model_free(&r->reference, offset);
        CHECK_STATUS(buddy_range_free(r->range, offset), want);
        if (want == BUDDY_OK) { /* a random offset may hit a live block */
            for (size_t i = 0; i < r->live_count; i++)
                if (r->live[i] == offset) {
                    r->live[i] = r->live[--r->live_count];
                    break;
                }
        }
    }
}

static void one_run(uint64_t *seed, buddy_policy policy) {
    static const uint64_t min_blocks[] = {1, 2, 16, 4096};
    uint64_t min_block = min_blocks[check_below(seed, 4)];
    uint64_t count = 1 + check_below(seed, check_below(seed, 2) ? 64 : 1500);
    uint64_t capacity = count * min_block + check_below(seed, min_block); /* ragged tail */
    run r = {0};
    buddy_range_config config = {capacity,
                                 capacity + check_below(seed, 3) * capacity,
                                 min_block,
                                 policy,
                                 check_below(seed, 2) ? BUDDY_RANGE_USER_DATA : 0u,
                                 NULL,
                                 NULL,
                                 NULL};
    CHECK_STATUS(buddy_range_create_config(&r.range, &config), BUDDY_OK);
    CHECK(model_init_config(&r.reference, &config));
    buddy_range_stats stats;
    compare_stats(&r, &stats);
    for (int step = 0; step < 1500; step++) {
        one_step(&r, seed, &stats);
        compare_stats(&r, &stats);
        if (step % 97 == 0)
            compare_all_offsets(&r, &stats);
        if (check_failures != 0) {
            fprintf(stderr, "first failure: policy %d capacity %llu min block %llu step %d: %s\n",
                    (int)policy, (unsigned long long)capacity, (unsigned long long)min_block, step,
                    r.last_step);
            break;
        }
    }
    while (r.live_count > 0) {
        uint64_t offset = r.live[--r.live_count];
        CHECK_STATUS(buddy_range_free(r.range, offset), model_free(&r.reference, offset));
    }
    while (r.reference.reservation_count > 0) {
        const model *m = &r.reference;
        uint64_t offset = m->reservations[0][0] << m->min_block_shift;
        uint64_t size = (m->reservations[0][1] - m->reservations[0][0]) << m->min_block_shift;
        CHECK_STATUS(buddy_range_unreserve(r.range, offset, size),
                     model_unreserve(&r.reference, offset, size));
    }
    compare_stats(&r, &stats);
    if (check_failures != 0)
        fprintf(stderr, "failure while freeing all: policy %d capacity %llu min block %llu\n",
                (int)policy, (unsigned long long)capacity, (unsigned long long)min_block);
    CHECK_EQ_U64(stats.free_bytes, stats.capacity);
    model_destroy(&r.reference);
    buddy_range_destroy(r.range);
}

int main(void) {
    uint64_t seed = check_seed("differential", 1);
    for (unsigned long i = 0; i < check_scale(60, 4) && check_failures == 0; i++) {
        one_run(&seed, BUDDY_BEST_FIT);
        one_run(&seed, BUDDY_FIRST_FIT);
    }
    return check_exit_code("differential");
}
