/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the range: the input is a geometry (with room to grow and
 * user data, or not) and a program of operations, valid and invalid (random
 * offsets, interior offsets, double frees, huge sizes, reservations, capacity
 * changes, user data). Every result is compared with the reference model, the
 * invariant checker runs after every operation, and every rejected call must
 * leave the metadata bytes identical (all but its one diagnostic counter).
 */
#include <stddef.h>
#include <string.h>

#include "buddy.h"
#include "fuzz_input.h"
#include "model.h"
#include "range_snapshot.h"

#define MAX_LIVE 512

typedef struct session {
    buddy_range *range;
    model reference;
    uint64_t capacity;
    uint64_t live[MAX_LIVE];
    size_t live_count;
    uint64_t last_freed;
    unsigned char *snapshot;
} session;

/* Takes a copy of the metadata before a call that may be rejected. */
static void snapshot(session *s) {
    memcpy(s->snapshot, s->range, (size_t)s->range->metadata_size);
}

/* After a rejected call: every byte as before, but the counters. */
static void require_unchanged(const session *s) {
    FUZZ_REQUIRE(range_same_but_counters(s->snapshot, s->range));
}

static void forget_live(session *s, uint64_t offset) {
    for (size_t i = 0; i < s->live_count; i++)
        if (s->live[i] == offset) {
            s->live[i] = s->live[--s->live_count];
            return;
        }
}

#define EXACT_RUN UINT64_MAX        /* do_alloc's `alignment` for buddy_range_alloc_exact */
#define PACKED_RUN (UINT64_MAX - 1) /* and for buddy_range_alloc_packed */

/* alloc; alloc_aligned when `alignment` is not 0 (it may be invalid); an exact
 * run when it is EXACT_RUN, a packed one when it is PACKED_RUN. */
static void do_alloc(session *s, uint64_t size, uint64_t alignment) {
    uint64_t got = 0, want = 0;
    snapshot(s);
    int status, expected;
    if (alignment == 0) {
        status = buddy_range_alloc(s->range, size, &got);
        expected = model_alloc(&s->reference, size, &want);
    } else if (alignment == EXACT_RUN) {
        status = buddy_range_alloc_exact(s->range, size, &got);
        expected = model_alloc_exact(&s->reference, size, &want);
        alignment = 0;
    } else if (alignment == PACKED_RUN) {
        status = buddy_range_alloc_packed(s->range, size, &got);
        expected = model_alloc_packed(&s->reference, size, &want);
        alignment = 0;
    } else {
        status = buddy_range_alloc_aligned(s->range, size, alignment, &got);
        expected = model_alloc_aligned(&s->reference, size, alignment, &want);
    }
    FUZZ_REQUIRE(status == expected);
    if (status != BUDDY_OK) {
        require_unchanged(s);
        return;
    }
    FUZZ_REQUIRE(got == want && (alignment == 0 || got % alignment == 0));
    if (s->live_count < MAX_LIVE)
        s->live[s->live_count++] = got;
    else
        FUZZ_REQUIRE(buddy_range_free(s->range, got) == model_free(&s->reference, got));
}

static void do_free(session *s, uint64_t offset) {
    snapshot(s);
    int status = buddy_range_free(s->range, offset);
    FUZZ_REQUIRE(status == model_free(&s->reference, offset));
    if (status == BUDDY_OK) {
        forget_live(s, offset);
        s->last_freed = offset;
    } else {
        require_unchanged(s);
    }
}

static void do_resize(session *s, uint64_t offset, uint64_t size) {
    snapshot(s);
    int status = buddy_range_resize(s->range, offset, size);
    FUZZ_REQUIRE(status == model_resize(&s->reference, offset, size));
    if (status != BUDDY_OK)
        require_unchanged(s);
}

static void do_size(session *s, uint64_t offset) {
    uint64_t got = 0, want = 0;
    int status = buddy_range_size(s->range, offset, &got);
    FUZZ_REQUIRE(status == model_size(&s->reference, offset, &want));
    FUZZ_REQUIRE(status != BUDDY_OK || got == want);
}

static uint64_t pick_live(session *s, fuzz_input *in) {
    return s->live_count == 0 ? read_size(in) : s->live[read_bytes(in, 2) % s->live_count];
}

/* Compares a call's status with the model's; a rejected call changes nothing. */
static void compare(session *s, int status, int expected) {
    FUZZ_REQUIRE(status == expected);
    if (status != BUDDY_OK)
        require_unchanged(s);
}

/* The reservation calls, set_capacity, user data, exact with an alignment and
 * the dump: `kind` picks one. */
static void engine_op(session *s, unsigned kind, fuzz_input *in) {
    const model *m = &s->reference;
    uint64_t capacity = m->block_count << m->min_block_shift, offset = 0, size = 0, got = 0,
             want = 0;
    snapshot(s);
    switch (kind) {
    case 0: /* anywhere */
    case 1: /* up to the end */
        size = read_size(in);
        offset = kind == 0 ? read_bytes(in, 3) % (capacity + 64) : capacity - size % capacity;
        compare(s, buddy_range_reserve(s->range, offset, size),
                model_reserve(&s->reference, offset, size));
        break;
    case 2: /* an existing reservation or any region */
        if (m->reservation_count > 0 && (read_u8(in) & 1u)) {
            unsigned i = read_u8(in) % m->reservation_count;
            offset = m->reservations[i][0] << m->min_block_shift;
            size = (m->reservations[i][1] - m->reservations[i][0]) << m->min_block_shift;
        } else {
            offset = read_bytes(in, 3) % (capacity + 64);
            size = read_size(in);
        }
        compare(s, buddy_range_unreserve(s->range, offset, size),
                model_unreserve(&s->reference, offset, size));
        break;
    case 3:
        size = read_bytes(in, 3) % ((m->max_block_count << m->min_block_shift) + 64);
        compare(s, buddy_range_set_capacity(s->range, size),
                model_set_capacity(&s->reference, size));
        break;
    case 4:   /* set, then read back */
    case 5: { /* read */
        offset = (read_u8(in) & 1u) ? pick_live(s, in) : read_bytes(in, 3) % (capacity + 64);
        if (kind == 4) {
            uint64_t value = read_bytes(in, 8);
            compare(s, buddy_range_set_user_data(s->range, offset, value),
                    model_set_user_data(&s->reference, offset, value));
        }
        int status = buddy_range_get_user_data(s->range, offset, &got);
        FUZZ_REQUIRE(status == model_get_user_data(&s->reference, offset, &want));
        FUZZ_REQUIRE(status != BUDDY_OK || got == want);
        break;
    }
    case 6: { /* bit 6 of the alignment's byte: packed */
        unsigned byte = read_u8(in);
        uint64_t alignment = (uint64_t)1 << (byte & 63u);
        size = read_size(in);
        int status = (byte & 64u)
                         ? buddy_range_alloc_packed_aligned(s->range, size, alignment, &got)
                         : buddy_range_alloc_exact_aligned(s->range, size, alignment, &got);
        compare(s, status,
                (byte & 64u) ? model_alloc_packed_aligned(&s->reference, size, alignment, &want)
                             : model_alloc_exact_aligned(&s->reference, size, alignment, &want));
        if (status == BUDDY_OK) {
            FUZZ_REQUIRE(got == want && got % alignment == 0);
            if (s->live_count < MAX_LIVE)
                s->live[s->live_count++] = got;
            else
                FUZZ_REQUIRE(buddy_range_free(s->range, got) == BUDDY_OK &&
                             model_free(&s->reference, got) == BUDDY_OK);
        }
        break;
    }
    default: { /* the dump, whole and cut short, changes nothing */
        char small[64];
        size_t length = buddy_range_dump_json(s->range, NULL, 0, BUDDY_DUMP_BLOCKS);
        FUZZ_REQUIRE(length > 0 &&
                     buddy_range_dump_json(s->range, small, sizeof small, BUDDY_DUMP_BLOCKS) ==
                         length &&
                     strlen(small) == (length < sizeof small ? length : sizeof small - 1));
        require_unchanged(s);
        break;
    }
    }
}

static void run_program(session *s, fuzz_input *in) {
    while (in->size > 0) {
        uint8_t op = read_u8(in);
        switch (op % 8) {
        case 0: /* op bit 3: an exact run, packed if bit 4 is set too */
            do_alloc(s, read_size(in), (op & 8u) ? ((op & 16u) ? PACKED_RUN : EXACT_RUN) : 0);
            break;
        case 1: { /* an alignment of 2^0..2^63, or (op bit 3) 3 << that: not a power of two */
            uint64_t alignment = (uint64_t)((op & 8u) ? 3u : 1u) << (read_u8(in) & 63u);
            do_alloc(s, read_size(in), alignment);
            break;
        }
        case 2:
            do_free(s, pick_live(s, in));
            break;
        case 3:
            do_free(s, read_bytes(in, 3) % (s->capacity + 64));
            break; /* any offset */
        case 4:
            do_free(s, s->last_freed);
            break; /* double free */
        case 5:
            do_resize(s, pick_live(s, in), read_size(in));
            break;
        case 6: /* op bit 3: the calls for engines, bits 4..6 which */
            if (op & 8u)
                engine_op(s, (op >> 4) & 7u, in);
            else
                do_size(s, read_bytes(in, 3) % (s->capacity + 64));
            break;
        default:
            do_free(s, pick_live(s, in) + (read_u8(in) % 16));
            break; /* interior */
        }
        FUZZ_REQUIRE(buddy_range_check(s->range) == BUDDY_OK);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_input in = {data, size};
    uint64_t min_block = (uint64_t)1 << (read_u8(&in) % 8);
    uint64_t blocks = 1 + read_bytes(&in, 2) % 2048;
    uint8_t flags = read_u8(&in); /* bit 0: policy; 1, 2: room to grow; 3: user data;
                                     4: the built-in lock (taken and released by every call) */
    buddy_policy policy = (flags & 1u) ? BUDDY_FIRST_FIT : BUDDY_BEST_FIT;
    session s = {0};
    s.capacity = blocks * min_block + read_u8(&in) % min_block; /* a ragged tail too */
    buddy_range_config config = {s.capacity,
                                 s.capacity * (1u + ((flags >> 1) & 3u)),
                                 min_block,
                                 policy,
                                 ((flags & 8u) ? BUDDY_RANGE_USER_DATA : 0u) |
                                     ((flags & 16u) ? BUDDY_RANGE_THREAD_SAFE : 0u),
                                 NULL,
                                 NULL,
                                 NULL};
    FUZZ_REQUIRE(buddy_range_create_config(&s.range, &config) == BUDDY_OK);
    FUZZ_REQUIRE(model_init_config(&s.reference, &config));
    s.capacity = config.max_capacity; /* where offsets are drawn from */
    s.snapshot = malloc((size_t)s.range->metadata_size);
    FUZZ_REQUIRE(s.snapshot != NULL);
    run_program(&s, &in);
    while (s.live_count > 0)
        do_free(&s, s.live[s.live_count - 1]);
    while (s.reference.reservation_count > 0) {
        const model *m = &s.reference;
        uint64_t offset = m->reservations[0][0] << m->min_block_shift;
        uint64_t size = (m->reservations[0][1] - m->reservations[0][0]) << m->min_block_shift;
        FUZZ_REQUIRE(buddy_range_unreserve(s.range, offset, size) == BUDDY_OK &&
                     model_unreserve(&s.reference, offset, size) == BUDDY_OK);
    }
    buddy_range_stats stats;
    buddy_range_get_stats(s.range, &stats);
    FUZZ_REQUIRE(stats.free_bytes == stats.capacity && stats.live_blocks == 0);
    free(s.snapshot);
    model_destroy(&s.reference);
    buddy_range_destroy(s.range);
    return 0;
}
