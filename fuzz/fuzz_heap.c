/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the heap: the input is a configuration, a sub-range of a
 * static region (any alignment) and a program of malloc, calloc, realloc,
 * aligned allocations, valid and invalid frees (foreign, interior, double)
 * and in-place resizes. A shadow list keeps every live block's bounds and
 * the byte it was stamped with: blocks must lie in the region, be aligned,
 * never overlap, keep their contents, and every rejected free must leave the
 * block list unchanged. The invariant checker runs after every operation.
 * One flag gives the heap thread caches (one thread: the caches' own paths).
 */
#include <stdalign.h>
#include <stddef.h>
#include <string.h>

#include "buddy.h"
#include "fuzz_input.h"

#define MAX_LIVE 256

static _Alignas(4096) unsigned char region[1 << 16];
static _Alignas(64) unsigned char cache_metadata[1 << 19]; /* a heap with caches keeps its
                                                              metadata apart */

typedef struct live_block {
    unsigned char *pointer;
    size_t size; /* bytes asked for: all stamped */
    unsigned char stamp;
} live_block;

typedef struct session {
    buddy_heap *heap;
    live_block live[MAX_LIVE];
    size_t live_count;
    unsigned char next_stamp;
    void *last_freed;
    size_t max_alignment;
} session;

static int hash_block(void *pointer, size_t size, bool is_live, void *user) {
    uint64_t *hash = user;
    *hash =
        (*hash ^ (uint64_t)(uintptr_t)pointer ^ size ^ (uint64_t)is_live) * UINT64_C(0x100000001b3);
    return 0;
}

static uint64_t fingerprint(session *s) {
    uint64_t hash = UINT64_C(0xcbf29ce484222325);
    buddy_heap_walk(s->heap, hash_block, &hash);
    return hash;
}

static void require_stamped(const live_block *block) {
    for (size_t i = 0; i < block->size; i++)
        FUZZ_REQUIRE(block->pointer[i] == block->stamp);
}

/* A new block: inside the region, aligned, disjoint from every live block. */
static void adopt(session *s, unsigned char *pointer, size_t size, size_t alignment) {
    FUZZ_REQUIRE(pointer >= region && pointer + size <= region + sizeof region);
    FUZZ_REQUIRE((uintptr_t)pointer % alignof(max_align_t) == 0);
    FUZZ_REQUIRE(alignment == 0 || (uintptr_t)pointer % alignment == 0);
    FUZZ_REQUIRE(buddy_heap_usable_size(s->heap, pointer) >= size);
    for (size_t i = 0; i < s->live_count; i++) {
        const live_block *other = &s->live[i];
        FUZZ_REQUIRE(pointer + (size ? size : 1) <= other->pointer ||
                     other->pointer + (other->size ? other->size : 1) <= pointer);
    }
    if (s->live_count == MAX_LIVE) {
        FUZZ_REQUIRE(buddy_heap_free(s->heap, pointer) == BUDDY_OK);
        return;
    }
    live_block *block = &s->live[s->live_count++];
    *block = (live_block){pointer, size, ++s->next_stamp};
    memset(pointer, block->stamp, size);
}

static void drop(session *s, size_t index) {
    require_stamped(&s->live[index]);
    FUZZ_REQUIRE(buddy_heap_free(s->heap, s->live[index].pointer) == BUDDY_OK);
    s->last_freed = s->live[index].pointer;
    s->live[index] = s->live[--s->live_count];
}

static void do_realloc(session *s, size_t index, size_t size) {
    live_block old = s->live[index];
    require_stamped(&old);
    unsigned char *moved = buddy_heap_realloc(s->heap, old.pointer, size);
    if (size == 0) { /* realloc(p, 0) frees p */
        FUZZ_REQUIRE(moved == NULL && buddy_heap_usable_size(s->heap, old.pointer) == 0);
        s->live[index] = s->live[--s->live_count];
        return;
    }
    if (moved == NULL) {
        FUZZ_REQUIRE(buddy_heap_usable_size(s->heap, old.pointer) >= old.size); /* kept */
        return;
    }
    for (size_t i = 0; i < (old.size < size ? old.size : size); i++)
        FUZZ_REQUIRE(moved[i] == old.stamp); /* the contents came along */
    s->live[index] = s->live[--s->live_count];
    adopt(s, moved, size, 0);
}

static void do_bad_free(session *s, void *pointer) {
    uint64_t before = fingerprint(s);
    int status = buddy_heap_free(s->heap, pointer);
    if (status == BUDDY_OK) { /* it was a live block after all: forget it */
        for (size_t i = 0; i < s->live_count; i++)
            if (s->live[i].pointer == pointer) {
                s->live[i] = s->live[--s->live_count];
                return;
            }
        FUZZ_REQUIRE(!"freed a pointer the shadow does not know");
    }
    FUZZ_REQUIRE(fingerprint(s) == before);
}

static void step(session *s, fuzz_input *in) {
    uint8_t op = read_u8(in);
    size_t size = (size_t)(read_size(in) % (sizeof region + 64));
    size_t index = s->live_count ? (size_t)(read_bytes(in, 1) % s->live_count) : 0;
    unsigned char *block;
    switch (op % 9) {
    case 0:
    case 1:
        if ((block = buddy_heap_malloc(s->heap, size)) != NULL)
            adopt(s, block, size, 0);
        break;
    case 2: {
        size_t count = read_u8(in);
        size_t each = (op & 0x80) ? SIZE_MAX / 2 : size / (count + 1); /* overflow sometimes */
        if ((block = buddy_heap_calloc(s->heap, count, each)) != NULL) {
            for (size_t i = 0; i < count * each; i++)
                FUZZ_REQUIRE(block[i] == 0);
            adopt(s, block, count * each, 0);
        }
        break;
    }
    case 3: {
        size_t alignment = (size_t)1 << (read_u8(in) % 16); /* some beyond max_alignment */
        if ((block = buddy_heap_aligned_alloc(s->heap, alignment, size)) != NULL) {
            adopt(s, block, size, alignment);
        } else { /* an alignment above the maximum is invalid; others fail for space */
            buddy_heap_failure failure;
            buddy_heap_last_failure(s->heap, &failure);
            FUZZ_REQUIRE((alignment > s->max_alignment) ==
                         (failure.reason == BUDDY_FAILURE_INVALID));
        }
        break;
    }
    case 4:
        if (s->live_count > 0)
            drop(s, index);
        break;
    case 5:
        if (s->live_count > 0)
            do_realloc(s, index, size);
        break;
    case 6: /* interior, foreign or stale pointers */
        if (s->live_count > 0 && (op & 0x40))
            do_bad_free(s, s->live[index].pointer + 1 + read_u8(in) % 64);
        else if (op & 0x80)
            do_bad_free(s, region + read_bytes(in, 3) % sizeof region);
        else if (s->last_freed != NULL)
            do_bad_free(s, s->last_freed);
        break;
    case 7:
        if (s->live_count > 0 &&
            buddy_heap_try_resize(s->heap, s->live[index].pointer, size) == BUDDY_OK) {
            live_block *b = &s->live[index];
            b->size = b->size < size ? b->size : size;
            FUZZ_REQUIRE(buddy_heap_usable_size(s->heap, b->pointer) >= size);
            require_stamped(b);
        }
        break;
    default:
        buddy_heap_usable_size(s->heap, region + read_bytes(in, 3) % sizeof region);
        break;
    }
    FUZZ_REQUIRE(buddy_heap_check(s->heap) == BUDDY_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_input in = {data, size};
    buddy_heap_config config = {0};
    config.min_block_size = (size_t)1 << (3 + read_u8(&in) % 6); /* 8..256: keeps checks fast */
    config.max_alignment = (size_t)1 << (4 + read_u8(&in) % 9);
    config.policy = (read_u8(&in) & 1u) ? BUDDY_FIRST_FIT : BUDDY_BEST_FIT;
    uint8_t flags = read_u8(&in);
    config.flags = ((flags & 1u) ? BUDDY_HEAP_FILL : 0) | ((flags & 2u) ? BUDDY_HEAP_EXACT : 0) |
                   ((flags & 4u) ? BUDDY_HEAP_PACKED : 0) |
                   ((flags & 8u) ? BUDDY_HEAP_THREAD_SAFE : 0);
    size_t start = read_u8(&in) % 64;
    size_t length = sizeof region - start - (size_t)(read_bytes(&in, 3) % (sizeof region - start));
    session s = {0};
    s.max_alignment = config.max_alignment;
    int status = (config.flags & BUDDY_HEAP_THREAD_SAFE)
                     ? buddy_heap_init_external(&s.heap, region + start, length, cache_metadata,
                                                sizeof cache_metadata, &config)
                     : buddy_heap_init(&s.heap, region + start, length, &config);
    if (status != BUDDY_OK)
        return 0; /* too small a region for this configuration */
    while (in.size > 0)
        step(&s, &in);
    while (s.live_count > 0)
        drop(&s, s.live_count - 1);
    buddy_range_stats stats;
    buddy_heap_get_stats(s.heap, &stats);
    FUZZ_REQUIRE(stats.live_blocks == 0 && stats.free_bytes == stats.capacity);
    buddy_heap_fini(s.heap);
    return 0;
}
