/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the range: the input is a geometry and a program of
 * operations, valid and invalid (random offsets, interior offsets, double
 * frees, huge sizes). Every result is compared with the reference model, the
 * invariant checker runs after every operation, and every rejected call must
 * leave the metadata bytes identical (all but its one diagnostic counter).
 */
#include <stddef.h>
#include <string.h>

#include "buddy.h"
#include "fuzz_input.h"
#include "layout.h"
#include "model.h"

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
    size_t counters = offsetof(struct buddy_range, alloc_failures);
    size_t after = offsetof(struct buddy_range, rejected_frees) + sizeof(uint64_t);
    const unsigned char *now = (const unsigned char *)s->range;
    FUZZ_REQUIRE(memcmp(s->snapshot, now, counters) == 0);
    FUZZ_REQUIRE(
        memcmp(s->snapshot + after, now + after, (size_t)s->range->metadata_size - after) == 0);
}

static void forget_live(session *s, uint64_t offset) {
    for (size_t i = 0; i < s->live_count; i++)
        if (s->live[i] == offset) {
            s->live[i] = s->live[--s->live_count];
            return;
        }
}

#define EXACT_RUN UINT64_MAX /* do_alloc's `alignment` for buddy_range_alloc_exact */

/* alloc; alloc_aligned when `alignment` is not 0 (it may be invalid); an exact
 * run when it is EXACT_RUN. */
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

static void run_program(session *s, fuzz_input *in) {
    while (in->size > 0) {
        uint8_t op = read_u8(in);
        switch (op % 8) {
        case 0: /* op bit 3: an exact run */
            do_alloc(s, read_size(in), (op & 8u) ? EXACT_RUN : 0);
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
        case 6:
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
    buddy_policy policy = (read_u8(&in) & 1u) ? BUDDY_FIRST_FIT : BUDDY_BEST_FIT;
    session s = {0};
    s.capacity = blocks * min_block + read_u8(&in) % min_block; /* a ragged tail too */
    FUZZ_REQUIRE(buddy_range_create(&s.range, s.capacity, min_block, policy) == BUDDY_OK);
    FUZZ_REQUIRE(model_init(&s.reference, s.capacity, min_block, policy));
    s.snapshot = malloc((size_t)s.range->metadata_size);
    FUZZ_REQUIRE(s.snapshot != NULL);
    run_program(&s, &in);
    while (s.live_count > 0)
        do_free(&s, s.live[s.live_count - 1]);
    buddy_range_stats stats;
    buddy_range_get_stats(s.range, &stats);
    FUZZ_REQUIRE(stats.free_bytes == stats.capacity && stats.live_blocks == 0);
    free(s.snapshot);
    model_destroy(&s.reference);
    buddy_range_destroy(s.range);
    return 0;
}
