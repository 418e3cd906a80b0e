/* SPDX-License-Identifier: MIT */
/*
 * The pointer heap: set-up in both forms, the malloc family, in-place realloc,
 * absolute alignment, checked free, the fill patterns, failure reasons, walk,
 * reset, lock hooks and the check. Rejected calls are shown to leave the
 * block list as it was.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "buddy.h"
#include "check.h"
#include "heap_debug.h"
#include "heap_internal.h"

static _Alignas(4096) unsigned char region[1 << 20];

/* A fingerprint of the block list: every block's address, size and state. */
typedef struct fingerprint {
    uint64_t hash;
    size_t blocks;
} fingerprint;

static int hash_block(void *pointer, size_t size, bool is_live, void *user) {
    fingerprint *f = user;
    f->hash = (f->hash ^ (uint64_t)(uintptr_t)pointer) * UINT64_C(0x100000001b3);
    f->hash = (f->hash ^ size ^ (uint64_t)is_live) * UINT64_C(0x100000001b3);
    f->blocks++;
    return 0;
}

static fingerprint fingerprint_of(buddy_heap *heap) {
    fingerprint f = {UINT64_C(0xcbf29ce484222325), 0};
    buddy_heap_walk(heap, hash_block, &f);
    return f;
}

static buddy_heap *new_heap(unsigned flags) {
    buddy_heap_config config = {0, 0, BUDDY_BEST_FIT, flags, NULL, NULL, NULL};
    buddy_heap *heap = NULL;
    CHECK_STATUS(buddy_heap_init(&heap, region + 3, sizeof region - 3, &config), BUDDY_OK);
    return heap;
}

static void embedded_setup_aligns_and_fills_the_region(void) {
    buddy_heap *heap = new_heap(0);
    buddy_range_stats stats;
    CHECK_STATUS(buddy_heap_get_stats(heap, &stats), BUDDY_OK);
    CHECK(stats.capacity >= sizeof region / 2 && stats.capacity < sizeof region);
    CHECK_EQ_U64(stats.min_block_size, 16);
    void *first = buddy_heap_malloc(heap, 1);
    CHECK(first != NULL);
    CHECK_EQ_U64((uintptr_t)first % 4096, 0); /* the usable area starts on max_alignment */
    CHECK((unsigned char *)first > region && (unsigned char *)first < region + sizeof region);
    void *second = buddy_heap_malloc(heap, 0); /* malloc(0): a unique minimal block */
    CHECK(second != NULL && second != first);
    CHECK_EQ_U64((uintptr_t)second % alignof(max_align_t), 0);
    CHECK_EQ_U64(buddy_heap_usable_size(heap, second), 16);
    CHECK_STATUS(buddy_heap_free(heap, first), BUDDY_OK);
    CHECK_STATUS(buddy_heap_free(heap, second), BUDDY_OK);
    CHECK_STATUS(buddy_heap_free(heap, NULL), BUDDY_OK);
    CHECK_STATUS(buddy_heap_check(heap), BUDDY_OK);
    CHECK_STATUS(buddy_heap_fini(heap), BUDDY_OK);
}

/* The embedded heap takes the largest capacity that fits its region: with one
 * min block more, its header, metadata and usable area (aligned to 4096)
 * would pass the region's end. Over regions of 32 KiB to about 1 MiB. */
static void embedded_capacity_is_the_largest_that_fits(void) {
    for (size_t size = 32768; size <= sizeof region - 64; size += 9973) {
        buddy_heap *heap = NULL;
        CHECK_STATUS(buddy_heap_init(&heap, region, size, NULL), BUDDY_OK);
        buddy_range_stats stats;
        buddy_heap_get_stats(heap, &stats);
        size_t more = (size_t)stats.capacity + 16;
        size_t metadata = buddy_heap_metadata_size(more, NULL) - HEADER_ALIGNMENT;
        uintptr_t usable = align_up((uintptr_t)region + metadata, 4096); /* region: 64-aligned */
        CHECK(usable + more > (uintptr_t)region + size);
        buddy_heap_fini(heap);
    }
}

static void calloc_zeroes_and_checks_overflow(void) {
    buddy_heap *heap = new_heap(BUDDY_HEAP_FILL);
    unsigned char *bytes = buddy_heap_malloc(heap, 64);
    CHECK(bytes != NULL && bytes[0] == 0xAA && bytes[63] == 0xAA); /* the fill pattern */
    buddy_heap_free(heap, bytes);
    unsigned char *zeroed = buddy_heap_calloc(heap, 16, 4);
    CHECK(zeroed != NULL);
    for (int i = 0; i < 64; i++)
        CHECK(zeroed[i] == 0);
    /* Products that overflow to 2 bytes, which would be served. */
    CHECK(buddy_heap_calloc(heap, SIZE_MAX / 2 + 2, 2) == NULL);
    buddy_heap_failure failure;
    CHECK_STATUS(buddy_heap_last_failure(heap, &failure), BUDDY_OK);
    CHECK_EQ_INT(failure.reason, BUDDY_FAILURE_INVALID);
    CHECK(buddy_heap_reallocarray(heap, zeroed, SIZE_MAX / 2 + 2, 2) == NULL);
    CHECK_EQ_U64(buddy_heap_usable_size(heap, zeroed), 64); /* untouched by the failure */
    unsigned char *grown = buddy_heap_reallocarray(heap, zeroed, 32, 4); /* 128 bytes */
    CHECK(grown != NULL && grown[63] == 0);
    CHECK_EQ_U64(buddy_heap_usable_size(heap, grown), 128);
    zeroed = grown;
    buddy_heap_free(heap, zeroed);
    buddy_heap_fini(heap);
}

/* BUDDY_HEAP_FILL covers every usable byte: of an aligned block larger than
 * its request, of the tail a realloc grows in place (0xAA) and of the one it
 * gives back (0xDD); a rejected free is counted as without the fill. Each
 * block is freed (filled 0xDD) and taken again first, so no byte holds 0xAA
 * by chance. Freed bytes are read only where no memory tool forbids it. */
static void the_fill_covers_every_usable_byte(void) {
    bool watched = debug_tools_active() != 0;
    buddy_heap *heap = new_heap(BUDDY_HEAP_FILL);
    unsigned char *aligned = buddy_heap_aligned_alloc(heap, 256, 10);
    buddy_heap_free(heap, aligned);
    CHECK(buddy_heap_aligned_alloc(heap, 256, 10) == aligned);
    CHECK_EQ_U64(buddy_heap_usable_size(heap, aligned), 256);
    CHECK(check_filled(aligned, 256, 0xAA));
    unsigned char *grown = buddy_heap_malloc(heap, 64);
    CHECK(buddy_heap_realloc(heap, grown, 128) == grown); /* in place */
    buddy_heap_free(heap, grown);
    CHECK(buddy_heap_malloc(heap, 64) == grown);
    CHECK(watched || check_filled(grown + 64, 64, 0xDD)); /* freed */
    CHECK(buddy_heap_realloc(heap, grown, 128) == grown);
    CHECK(check_filled(grown, 128, 0xAA));
    CHECK(buddy_heap_realloc(heap, grown, 32) == grown);
    CHECK(check_filled(grown, 32, 0xAA) && (watched || check_filled(grown + 32, 96, 0xDD)));
    buddy_range_stats stats;
    CHECK_STATUS(buddy_heap_get_stats(heap, &stats), BUDDY_OK);
    CHECK_STATUS(buddy_heap_free(heap, grown + 16), BUDDY_ENOTSTART);
    uint64_t rejected = stats.rejected_frees;
    CHECK_STATUS(buddy_heap_get_stats(heap, &stats), BUDDY_OK);
    CHECK_EQ_U64(stats.rejected_frees, rejected + 1);
    buddy_heap_free(heap, grown);
    buddy_heap_free(heap, aligned);
    CHECK_STATUS(buddy_heap_check(heap), BUDDY_OK);
    buddy_heap_fini(heap);
}

static void realloc_grows_in_place_then_moves(void) {
    buddy_heap *heap = new_heap(0);
    char *text = buddy_heap_malloc(heap, 100); /* a 128-byte block at the bottom */
    strcpy(text, "buddy");
    CHECK(buddy_heap_realloc(heap, text, 1000) == text); /* its buddies are free: in place */
    CHECK_EQ_U64(buddy_heap_usable_size(heap, text), 1024);
    char *blocker = buddy_heap_malloc(heap, 1024); /* takes the buddy of the 1024 block */
    CHECK(blocker == text + 1024);
    char *moved = buddy_heap_realloc(heap, text, 2000);
    CHECK(moved != NULL && moved != text);
    CHECK_EQ_STR(moved, "buddy");                        /* the contents moved along */
    CHECK_EQ_U64(buddy_heap_usable_size(heap, text), 0); /* the old block is free */
    CHECK(buddy_heap_realloc(heap, moved, 20) == moved); /* shrinks in place */
    CHECK_EQ_U64(buddy_heap_usable_size(heap, moved), 32);
    CHECK_STATUS(buddy_heap_try_resize(heap, blocker, 1 << 19), BUDDY_ENOMEM); /* never moves */
    CHECK_EQ_U64(buddy_heap_usable_size(heap, blocker), 1024);
    CHECK(buddy_heap_realloc(heap, blocker, 0) == NULL); /* realloc(p, 0) frees p */
    CHECK_EQ_U64(buddy_heap_usable_size(heap, blocker), 0);
    char *fresh = buddy_heap_realloc(heap, NULL, 10); /* realloc(NULL, n) is malloc(n) */
    CHECK(fresh != NULL);
    CHECK(buddy_heap_realloc(heap, fresh + 1, 50) == NULL); /* not a block start */
    CHECK_EQ_U64(buddy_heap_usable_size(heap, fresh), 16);
    buddy_heap_failure failure;
    CHECK_STATUS(buddy_heap_last_failure(heap, &failure), BUDDY_OK);
    CHECK(failure.reason == BUDDY_FAILURE_INVALID && failure.requested == 50);
    buddy_heap_free(heap, fresh);
    buddy_heap_free(heap, moved);
    CHECK_STATUS(buddy_heap_check(heap), BUDDY_OK);
    buddy_heap_fini(heap);
}

/* With min blocks of half max_align_t's alignment (8 bytes on x86-64, 4 on
 * s390x), a request still takes that alignment, and so does a block that
 * realloc shrinks in place: the next block keeps malloc's alignment. */
static void a_shrink_keeps_the_smallest_request(void) {
    const size_t smallest = alignof(max_align_t);
    buddy_heap_config config = {smallest / 2, 0, BUDDY_BEST_FIT, 0, NULL, NULL, NULL};
    buddy_heap *heap = NULL;
    CHECK_STATUS(buddy_heap_init(&heap, region, sizeof region, &config), BUDDY_OK);
    char *block = buddy_heap_malloc(heap, 1);
    CHECK_EQ_U64(buddy_heap_usable_size(heap, block), smallest);
    block = buddy_heap_realloc(heap, block, 64);
    CHECK(buddy_heap_realloc(heap, block, 1) == block);
    CHECK_EQ_U64(buddy_heap_usable_size(heap, block), smallest);
    CHECK_STATUS(buddy_heap_try_resize(heap, block, 2), BUDDY_OK);
    CHECK_EQ_U64(buddy_heap_usable_size(heap, block), smallest);
    void *next = buddy_heap_malloc(heap, 1);
    CHECK_EQ_U64((uintptr_t)next % smallest, 0);
    buddy_heap_free(heap, next);
    buddy_heap_free(heap, block);
    CHECK_STATUS(buddy_heap_check(heap), BUDDY_OK);
    buddy_heap_fini(heap);
}

static void aligned_allocation_is_absolute(void) {
    buddy_heap *heap = new_heap(0);
    void *small = buddy_heap_malloc(heap, 16);
    void *page = buddy_heap_aligned_alloc(heap, 4096, 100);
    CHECK(page != NULL);
    CHECK_EQ_U64((uintptr_t)page % 4096, 0);
    void *line = NULL;
    CHECK_STATUS(buddy_heap_posix_memalign(heap, &line, 64, 10), BUDDY_OK);
    CHECK_EQ_U64((uintptr_t)line % 64, 0);
    CHECK(buddy_heap_aligned_alloc(heap, 8192, 10) == NULL); /* above max_alignment */
    CHECK(buddy_heap_aligned_alloc(heap, 48, 10) == NULL);   /* not a power of two */
    buddy_heap_failure failure;
    buddy_heap_last_failure(heap, &failure);
    CHECK_EQ_INT(failure.reason, BUDDY_FAILURE_INVALID);
    void *untouched = &failure;
    CHECK_STATUS(buddy_heap_posix_memalign(heap, &untouched, 3, 10), BUDDY_EINVAL);
    CHECK(untouched == &failure);
    buddy_heap_free(heap, small);
    buddy_heap_free(heap, page);
    buddy_heap_free(heap, line);
    buddy_heap_fini(heap);
}

static void bad_frees_change_nothing(void) {
    buddy_heap *heap = new_heap(0);
    char *block = buddy_heap_malloc(heap, 256);
    int local = 0;
    fingerprint before = fingerprint_of(heap);
    CHECK_STATUS(buddy_heap_free(heap, &local), BUDDY_ERANGE);        /* a foreign pointer */
    CHECK_STATUS(buddy_heap_free(heap, region), BUDDY_ERANGE);        /* below the usable area */
    CHECK_STATUS(buddy_heap_free(heap, block + 4), BUDDY_EALIGN);     /* not on a min block */
    CHECK_STATUS(buddy_heap_free(heap, block + 64), BUDDY_ENOTSTART); /* interior */
    CHECK_STATUS(buddy_heap_free(heap, block + 256), BUDDY_ENOTLIVE); /* a free block */
    CHECK_STATUS(buddy_heap_free(NULL, block), BUDDY_EINVAL);
    fingerprint after = fingerprint_of(heap);
    CHECK_EQ_U64(after.hash, before.hash);
    CHECK_EQ_U64(after.blocks, before.blocks);
    buddy_range_stats stats;
    buddy_heap_get_stats(heap, &stats);
    CHECK_EQ_U64(stats.rejected_frees, 5);
    CHECK_STATUS(buddy_heap_free(heap, block), BUDDY_OK);
    CHECK_STATUS(buddy_heap_free(heap, block), BUDDY_ENOTLIVE); /* double free */
    CHECK_EQ_U64(buddy_heap_usable_size(heap, &local), 0);
    buddy_heap_fini(heap);
}

static void failures_say_why(void) {
    buddy_heap *heap = new_heap(0);
    buddy_heap_failure failure;
    CHECK_STATUS(buddy_heap_last_failure(heap, &failure), BUDDY_OK);
    CHECK_EQ_INT(failure.reason, BUDDY_FAILURE_NONE);
    CHECK(buddy_heap_malloc(heap, sizeof region) == NULL);
    buddy_heap_last_failure(heap, &failure);
    CHECK_EQ_INT(failure.reason, BUDDY_FAILURE_TOO_LARGE);
    CHECK_EQ_U64(failure.requested, sizeof region);
    /* Fill with 16-byte blocks, then free every other one: half the bytes are
     * free, but no free block exceeds 16 bytes. */
    static void *blocks[1 << 16];
    size_t count = 0;
    while (count < sizeof blocks / sizeof blocks[0] &&
           (blocks[count] = buddy_heap_malloc(heap, 16)) != NULL)
        count++;
    buddy_heap_last_failure(heap, &failure);
    CHECK_EQ_INT(failure.reason, BUDDY_FAILURE_NOT_ENOUGH_FREE);
    CHECK_EQ_U64(failure.free_bytes, 0);
    for (size_t i = 0; i < count; i += 2)
        buddy_heap_free(heap, blocks[i]);
    CHECK(buddy_heap_malloc(heap, 32) == NULL);
    buddy_heap_last_failure(heap, &failure);
    CHECK_EQ_INT(failure.reason, BUDDY_FAILURE_FRAGMENTED);
    CHECK_EQ_U64(failure.largest_free_block, 16);
    CHECK(failure.free_bytes >= count / 2 * 16);
    CHECK_STATUS(buddy_heap_reset(heap), BUDDY_OK); /* frees everything at once */
    void *large = buddy_heap_malloc(heap, 1 << 18);
    CHECK(large != NULL);
    CHECK_STATUS(buddy_heap_check(heap), BUDDY_OK);
    buddy_heap_fini(heap);
    /* Free bytes exactly the block the request needs, in two holes that are
     * not buddies: fragmentation too. */
    static _Alignas(64) uint64_t metadata[2048];
    buddy_heap_config config = {16, 0, BUDDY_BEST_FIT, 0, NULL, NULL, NULL};
    size_t needed = buddy_heap_metadata_size(64, &config);
    CHECK(needed > 0 && needed <= sizeof metadata);
    CHECK_STATUS(buddy_heap_init_external(&heap, region, 64, metadata, needed, &config), BUDDY_OK);
    void *quarters[4];
    for (int i = 0; i < 4; i++)
        CHECK((quarters[i] = buddy_heap_malloc(heap, 16)) != NULL);
    buddy_heap_free(heap, quarters[1]);
    buddy_heap_free(heap, quarters[2]);
    CHECK(buddy_heap_malloc(heap, 32) == NULL);
    buddy_heap_last_failure(heap, &failure);
    CHECK_EQ_INT(failure.reason, BUDDY_FAILURE_FRAGMENTED);
    CHECK_EQ_U64(failure.free_bytes, 32);
    buddy_heap_fini(heap);
}

static int stop_at_second(void *pointer, size_t size, bool is_live, void *user) {
    (void)pointer, (void)size, (void)is_live;
    return ++*(int *)user == 2;
}

static void walk_visits_blocks_and_stops_early(void) {
    buddy_heap *heap = new_heap(0);
    void *block = buddy_heap_malloc(heap, 100);
    fingerprint all = fingerprint_of(heap);
    CHECK(all.blocks > 2);
    int visited = 0;
    CHECK_STATUS(buddy_heap_walk(heap, stop_at_second, &visited), BUDDY_OK);
    CHECK_EQ_INT(visited, 2);
    CHECK_STATUS(buddy_heap_walk(heap, NULL, NULL), BUDDY_EINVAL);
    buddy_heap_free(heap, block);
    buddy_heap_fini(heap);
}

static void external_metadata_leaves_the_region_whole(void) {
    static _Alignas(64) uint64_t metadata[8192];
    size_t needed = buddy_heap_metadata_size(sizeof region, NULL);
    CHECK(needed > 0 && needed <= sizeof metadata);
    buddy_heap *heap = NULL;
    CHECK_STATUS(buddy_heap_init_external(&heap, region, sizeof region, metadata, 64, NULL),
                 BUDDY_ESMALL);
    /* At a 64-byte boundary the header needs no slack: 64 bytes less are
     * enough, and 8 bytes fewer than that are not. */
    CHECK_STATUS(
        buddy_heap_init_external(&heap, region, sizeof region, metadata, needed - 72, NULL),
        BUDDY_ESMALL);
    CHECK_STATUS(
        buddy_heap_init_external(&heap, region, sizeof region, metadata, needed - 64, NULL),
        BUDDY_OK);
    buddy_heap_fini(heap);
    CHECK_STATUS(buddy_heap_init_external(&heap, region, sizeof region, metadata, needed, NULL),
                 BUDDY_OK);
    buddy_range_stats stats;
    buddy_heap_get_stats(heap, &stats);
    CHECK_EQ_U64(stats.capacity, sizeof region); /* nothing of the region is metadata */
    void *all = buddy_heap_malloc(heap, sizeof region);
    CHECK(all == (void *)region);
    buddy_heap_free(heap, all);
    buddy_heap_fini(heap);
}

/* The check finds a header that is not a heap's: another magic, a usable
 * area off the heap's alignment, a range that is not right after it. */
static void the_check_finds_a_bad_header(void) {
    buddy_heap *heap = new_heap(0);
    heap->magic ^= 1u;
    CHECK_STATUS(buddy_heap_check(heap), BUDDY_ECORRUPT);
    heap->magic ^= 1u;
    heap->base += 16;
    CHECK_STATUS(buddy_heap_check(heap), BUDDY_ECORRUPT);
    heap->base -= 16;
    buddy_range *range = heap->range;
    heap->range = (buddy_range *)(void *)((unsigned char *)range + 64);
    CHECK_STATUS(buddy_heap_check(heap), BUDDY_ECORRUPT);
    heap->range = range;
    CHECK_STATUS(buddy_heap_check(heap), BUDDY_OK);
    buddy_heap_fini(heap);
}

static void bad_configs_are_rejected(void) {
    buddy_heap *heap = NULL;
    buddy_heap_config config = {24, 0, BUDDY_BEST_FIT, 0, NULL, NULL, NULL};
    CHECK_STATUS(buddy_heap_init(&heap, region, sizeof region, &config), BUDDY_EINVAL);
    config = (buddy_heap_config){0, alignof(max_align_t) / 2, BUDDY_BEST_FIT, 0, NULL, NULL, NULL};
    CHECK_STATUS(buddy_heap_init(&heap, region, sizeof region, &config), BUDDY_EINVAL);
    config = (buddy_heap_config){0, 0, (buddy_policy)9, 0, NULL, NULL, NULL};
    CHECK_STATUS(buddy_heap_init(&heap, region, sizeof region, &config), BUDDY_EINVAL);
    config = (buddy_heap_config){0, 0, BUDDY_BEST_FIT, 1u << 7, NULL, NULL, NULL};
    CHECK_STATUS(buddy_heap_init(&heap, region, sizeof region, &config), BUDDY_EINVAL);
    CHECK_STATUS(buddy_heap_init(NULL, region, sizeof region, NULL), BUDDY_EINVAL);
    CHECK_STATUS(buddy_heap_init(&heap, NULL, sizeof region, NULL), BUDDY_EINVAL);
    CHECK_STATUS(buddy_heap_init(&heap, region, 100, NULL), BUDDY_ESMALL);
    CHECK(heap == NULL);
    CHECK_EQ_U64(buddy_heap_metadata_size(sizeof region, &config), 0);
    CHECK(buddy_heap_malloc(NULL, 1) == NULL);
    CHECK_EQ_U64(buddy_heap_usable_size(NULL, region), 0);
    CHECK_STATUS(buddy_heap_check(NULL), BUDDY_EINVAL);
}

static int lock_depth, lock_calls;
static void count_lock(void *context) {
    CHECK(context == &lock_depth);
    CHECK_EQ_INT(lock_depth++, 0); /* never re-entered */
    lock_calls++;
}
static void count_unlock(void *context) {
    (void)context;
    lock_depth--;
}

static void lock_hooks_wrap_every_call(void) {
    buddy_heap_config config = {0, 0, BUDDY_BEST_FIT, 0, count_lock, count_unlock, &lock_depth};
    buddy_heap *heap = NULL;
    CHECK_STATUS(buddy_heap_init(&heap, region, sizeof region, &config), BUDDY_OK);
    void *block = buddy_heap_calloc(heap, 2, 8);
    block = buddy_heap_realloc(heap, block, 100);
    buddy_heap_usable_size(heap, block);
    buddy_heap_free(heap, block);
    CHECK_EQ_INT(lock_calls, 4);
    CHECK_EQ_INT(lock_depth, 0);
    config.unlock = NULL; /* one hook without the other */
    CHECK_STATUS(buddy_heap_init(&heap, region, sizeof region, &config), BUDDY_EINVAL);
}

/* BUDDY_HEAP_EXACT: whole min blocks, not a power of two of them; realloc
 * grows a run over the free min blocks after it. */
static void exact_sizing_takes_what_is_asked(void) {
    buddy_heap *heap = new_heap(BUDDY_HEAP_EXACT | BUDDY_HEAP_FILL);
    unsigned char *block = buddy_heap_malloc(heap, 1033); /* 65 min blocks of 16 */
    CHECK(block != NULL);
    CHECK_EQ_U64(buddy_heap_usable_size(heap, block), 1040); /* not 2048 */
    CHECK(block[1039] == 0xAA);                              /* the fill covers the run */
    CHECK(buddy_heap_realloc(heap, block, 1500) == block);   /* the min blocks after it are free */
    CHECK_EQ_U64(buddy_heap_usable_size(heap, block), 1504);
    CHECK(block[1503] == 0xAA);
    CHECK(buddy_heap_realloc(heap, block, 700) == block); /* gives back its tail */
    CHECK_EQ_U64(buddy_heap_usable_size(heap, block), 704);
    void *aligned = buddy_heap_aligned_alloc(heap, 4096, 100);
    CHECK(aligned != NULL && (uintptr_t)aligned % 4096 == 0);
    CHECK_EQ_U64(buddy_heap_usable_size(heap, aligned), 128); /* 7 min blocks take 8 */
    buddy_heap_free(heap, aligned); /* filled 0xDD; taken again, filled 0xAA whole */
    CHECK(buddy_heap_aligned_alloc(heap, 4096, 100) == aligned);
    CHECK(check_filled(aligned, 128, 0xAA));
    buddy_range_stats stats;
    CHECK_STATUS(buddy_heap_get_stats(heap, &stats), BUDDY_OK);
    CHECK_EQ_U64(stats.allocated_bytes, 704 + 128);
    CHECK_STATUS(buddy_heap_free(heap, block + 16), BUDDY_ENOTSTART);
    CHECK_STATUS(buddy_heap_free(heap, block), BUDDY_OK);
    CHECK_STATUS(buddy_heap_free(heap, aligned), BUDDY_OK);
    CHECK_STATUS(buddy_heap_check(heap), BUDDY_OK);
    buddy_heap_fini(heap);
}

/* BUDDY_HEAP_PACKED: exact sizing at any multiple of 2 min blocks, so a run
 * of 65 min blocks goes right after a block of 4, where an exact run would
 * wait for the next 1 KiB boundary; the aligned allocs keep their alignment. */
static void packed_sizing_fills_what_rounding_skips(void) {
    buddy_heap *heap = new_heap(BUDDY_HEAP_PACKED);
    unsigned char *small = buddy_heap_malloc(heap, 64);
    unsigned char *run = buddy_heap_malloc(heap, 1033);
    CHECK(small != NULL && run != NULL);
    CHECK_EQ_U64((uint64_t)(run - small), 64);
    CHECK_EQ_U64(buddy_heap_usable_size(heap, run), 1040);
    CHECK(buddy_heap_realloc(heap, run, 3000) == run); /* its pieces now rise, then fall */
    CHECK_EQ_U64(buddy_heap_usable_size(heap, run), 3008);
    void *aligned = buddy_heap_aligned_alloc(heap, 4096, 100);
    CHECK(aligned != NULL && (uintptr_t)aligned % 4096 == 0);
    CHECK_STATUS(buddy_heap_free(heap, run + 1024), BUDDY_ENOTSTART);
    CHECK_STATUS(buddy_heap_check(heap), BUDDY_OK);
    CHECK_STATUS(buddy_heap_free(heap, run), BUDDY_OK);
    CHECK_STATUS(buddy_heap_free(heap, small), BUDDY_OK);
    CHECK_STATUS(buddy_heap_free(heap, aligned), BUDDY_OK);
    buddy_range_stats stats;
    CHECK_STATUS(buddy_heap_get_stats(heap, &stats), BUDDY_OK);
    CHECK_EQ_U64(stats.live_blocks, 0);
    buddy_heap_fini(heap);
}

int main(void) {
    exact_sizing_takes_what_is_asked();
    packed_sizing_fills_what_rounding_skips();
    embedded_setup_aligns_and_fills_the_region();
    embedded_capacity_is_the_largest_that_fits();
    calloc_zeroes_and_checks_overflow();
    the_fill_covers_every_usable_byte();
    realloc_grows_in_place_then_moves();
    a_shrink_keeps_the_smallest_request();
    aligned_allocation_is_absolute();
    bad_frees_change_nothing();
    failures_say_why();
    walk_visits_blocks_and_stops_early();
    external_metadata_leaves_the_region_whole();
    bad_configs_are_rejected();
    the_check_finds_a_bad_header();
    lock_hooks_wrap_every_call();
    return check_exit_code("heap");
}
