/* SPDX-License-Identifier: MIT */
/*
 * docs/bad_inputs.md as a test: one ROW per public function and class of bad
 * input, with the documented result. A row on a live range also proves the
 * range unchanged (its metadata bytes, all but the one counter the rejection
 * bumps); a row on a live heap proves its block list and statistics unchanged.
 */
#include <stdalign.h>
#include <stddef.h>

#include "buddy.h"
#include "check.h"
#include "layout.h"

static _Alignas(4096) unsigned char region[1 << 16];
static _Alignas(64) unsigned char range_memory[1 << 14];
static _Alignas(64) unsigned char engine_memory[1 << 14];
static unsigned char snapshot[1 << 14];
static buddy_range *range;
static buddy_heap *heap;
static unsigned rows;

/* The state of the range, without the two failure counters. */
static bool range_unchanged(void) {
    size_t counters = offsetof(struct buddy_range, alloc_failures);
    size_t after = offsetof(struct buddy_range, rejected_frees) + sizeof(uint64_t);
    size_t size = (size_t)range->metadata_size;
    return memcmp(snapshot, range, counters) == 0 &&
           memcmp(snapshot + after, (unsigned char *)range + after, size - after) == 0;
}

static int hash_block(void *pointer, size_t size, bool is_live, void *user) {
    uint64_t *hash = user;
    *hash = (*hash ^ (uint64_t)(uintptr_t)pointer ^ size ^ (uint64_t)is_live) * 0x100000001b3u;
    return 0;
}

/* The state of the heap: its block list and the statistics that are state. */
static uint64_t heap_state(void) {
    uint64_t hash = 0xcbf29ce484222325u;
    buddy_heap_walk(heap, hash_block, &hash);
    buddy_range_stats stats;
    buddy_heap_get_stats(heap, &stats);
    return hash ^ stats.free_bytes ^ (stats.live_blocks << 32);
}

#define ROW(call, expected)                                                                        \
    do {                                                                                           \
        memcpy(snapshot, range, (size_t)range->metadata_size);                                     \
        uint64_t heap_before = heap_state();                                                       \
        CHECK_EQ_INT(call, expected);                                                              \
        CHECK(range_unchanged());                                                                  \
        CHECK_EQ_U64(heap_state(), heap_before);                                                   \
        rows++;                                                                                    \
    } while (0)

static void range_rows(void) {
    uint64_t offset = 7, size = 7;
    buddy_range *out = NULL;
    /* Bad geometry and metadata buffers. */
    ROW(buddy_range_metadata_size(1024, 0), 0);
    ROW(buddy_range_metadata_size(1024, 3), 0);
    ROW(buddy_range_metadata_size(8, 16), 0);
    ROW(buddy_range_metadata_size(UINT64_MAX, 1), 0);
    ROW(buddy_range_init(NULL, region, 4096, 64, 1, BUDDY_BEST_FIT), BUDDY_EINVAL);
    ROW(buddy_range_init(&out, NULL, 4096, 64, 1, BUDDY_BEST_FIT), BUDDY_EINVAL);
    ROW(buddy_range_init(&out, region + 4, 8192, 64, 1, BUDDY_BEST_FIT), BUDDY_EINVAL);
    ROW(buddy_range_init(&out, region, 8192, 64, 1, (buddy_policy)2), BUDDY_EINVAL);
    ROW(buddy_range_init(&out, region, 8192, 64, 3, BUDDY_BEST_FIT), BUDDY_EGEOMETRY);
    ROW(buddy_range_init(&out, region, 64, 64, 1, BUDDY_BEST_FIT), BUDDY_ESMALL);
    ROW(buddy_range_attach(NULL, region, 8192), BUDDY_EINVAL);
    ROW(buddy_range_attach(&out, region + 4, 8192), BUDDY_ECORRUPT);
    ROW(buddy_range_attach(&out, region, 16), BUDDY_ECORRUPT);
    ROW(buddy_range_create(NULL, 64, 1, BUDDY_BEST_FIT), BUDDY_EINVAL);
    ROW(buddy_range_create(&out, 64, 3, BUDDY_BEST_FIT), BUDDY_EGEOMETRY);
    ROW(buddy_range_create(&out, 64, 1, (buddy_policy)2), BUDDY_EINVAL);
    /* Metadata that fits in size_t but not in memory (3 GiB on 32-bit, 1.7 EiB on 64-bit). */
    uint64_t huge = UINT64_C(1) << (SIZE_MAX > UINT32_MAX ? 62 : 33);
    ROW(buddy_range_create(&out, huge, 1, BUDDY_BEST_FIT), BUDDY_ENOMEM);
    CHECK(out == NULL);
    /* NULL handles and out-parameters. */
    ROW(buddy_range_alloc(NULL, 1, &offset), BUDDY_EINVAL);
    ROW(buddy_range_alloc(range, 1, NULL), BUDDY_EINVAL);
    ROW(buddy_range_alloc_exact(NULL, 1, &offset), BUDDY_EINVAL);
    ROW(buddy_range_alloc_exact(range, 1, NULL), BUDDY_EINVAL);
    ROW(buddy_range_alloc_packed(NULL, 1, &offset), BUDDY_EINVAL);
    ROW(buddy_range_alloc_packed(range, 1, NULL), BUDDY_EINVAL);
    ROW(buddy_range_alloc_aligned(NULL, 1, 16, &offset), BUDDY_EINVAL);
    ROW(buddy_range_alloc_aligned(range, 1, 16, NULL), BUDDY_EINVAL);
    ROW(buddy_range_alloc_aligned(range, 1, 0, &offset), BUDDY_EINVAL);
    ROW(buddy_range_alloc_aligned(range, 1, 48, &offset), BUDDY_EINVAL);
    uint64_t batch[4];
    ROW(buddy_range_alloc_batch(NULL, 1, 4, batch), BUDDY_EINVAL);
    ROW(buddy_range_alloc_batch(range, 1, 4, NULL), BUDDY_EINVAL);
    ROW(buddy_range_alloc_batch(range, 1, 0, batch), BUDDY_EINVAL);
    ROW(buddy_range_alloc_batch(range, 1, 3, batch), BUDDY_EINVAL);
    ROW(buddy_range_alloc_batch(range, UINT64_MAX, 1, batch), BUDDY_ETOOBIG);
    ROW(buddy_range_free(NULL, 0), BUDDY_EINVAL);
    ROW(buddy_range_size(NULL, 0, &size), BUDDY_EINVAL);
    ROW(buddy_range_size(range, 0, NULL), BUDDY_EINVAL);
    ROW(buddy_range_resize(NULL, 0, 1), BUDDY_EINVAL);
    ROW(buddy_range_reset(NULL), BUDDY_EINVAL);
    ROW(buddy_range_get_stats(NULL, NULL), BUDDY_EINVAL);
    ROW(buddy_range_get_free(NULL, NULL, NULL), BUDDY_EINVAL);
    ROW(buddy_range_check(NULL), BUDDY_EINVAL);
    ROW(buddy_range_walk(range, NULL, NULL), BUDDY_EINVAL);
    ROW((int)buddy_range_format(NULL, NULL, 0), 0);
    /* Sizes: 1024 units, min block 16, one live 64-unit block at 0. */
    ROW(buddy_range_alloc(range, 1025, &offset), BUDDY_ETOOBIG);
    ROW(buddy_range_alloc(range, UINT64_MAX, &offset), BUDDY_ETOOBIG);
    ROW(buddy_range_alloc_aligned(range, 1025, 16, &offset), BUDDY_ETOOBIG);
    ROW(buddy_range_alloc_exact(range, 1025, &offset), BUDDY_ETOOBIG);
    ROW(buddy_range_alloc_exact(range, UINT64_MAX, &offset), BUDDY_ETOOBIG);
    ROW(buddy_range_alloc_packed(range, 1025, &offset), BUDDY_ETOOBIG);
    ROW(buddy_range_resize(range, 0, 2048), BUDDY_ETOOBIG);
    /* Offsets: beyond, misaligned, interior (live and free), a free block. */
    ROW(buddy_range_free(range, 1024), BUDDY_ERANGE);
    ROW(buddy_range_free(range, UINT64_MAX), BUDDY_ERANGE);
    ROW(buddy_range_free(range, 8), BUDDY_EALIGN);
    ROW(buddy_range_free(range, 32), BUDDY_ENOTSTART);
    ROW(buddy_range_free(range, 512 + 16), BUDDY_ENOTSTART);
    ROW(buddy_range_free(range, 64), BUDDY_ENOTLIVE);
    ROW(buddy_range_size(range, 1024, &size), BUDDY_ERANGE);
    ROW(buddy_range_size(range, 32, &size), BUDDY_ENOTSTART);
    ROW(buddy_range_resize(range, 8, 16), BUDDY_EALIGN);
    ROW(buddy_range_resize(range, 64, 16), BUDDY_ENOTLIVE);
    CHECK_EQ_U64(offset, 7); /* out-parameters untouched by failures */
    CHECK_EQ_U64(size, 7);
    /* The seed face. */
    ROW(buddy_seed_create(&out, 0), BUDDY_EGEOMETRY);
    ROW(buddy_seed_create(&out, 48), BUDDY_EGEOMETRY);
    ROW((int)buddy_seed_malloc(range, -1), -1);
    ROW((int)buddy_seed_malloc(NULL, 1), -1);
    ROW(buddy_seed_free(range, -1), false);
    ROW(buddy_seed_free(range, 8), false);
    ROW((int)buddy_seed_size(range, -1), -1);
    ROW((int)buddy_seed_size(range, 32), -1);
}

static void no_op_hook(void *context) {
    (void)context;
}

/* The calls for engines, on a range of 1024 units (min block 16) that may grow
 * to 2048, with user data: a live 64-unit block at 0, reserved [512, 576). */
static void engine_rows(void) {
    buddy_range *out = NULL;
    uint64_t offset = 7, value = 7;
    char text[8] = "x";
    buddy_range_config config = {1024, 2048, 16,  BUDDY_BEST_FIT, BUDDY_RANGE_USER_DATA,
                                 NULL, NULL, NULL};
    buddy_range_config bad[] = {
        {1024, 2048, 16, BUDDY_BEST_FIT, 1u << 5, NULL, NULL, NULL}, /* unknown flag */
        {1024, 512, 16, BUDDY_BEST_FIT, 0, NULL, NULL, NULL},  /* capacity above max_capacity */
        {8, 64, 16, BUDDY_BEST_FIT, 0, NULL, NULL, NULL},      /* capacity below a min block */
        {1024, 2048, 24, BUDDY_BEST_FIT, 0, NULL, NULL, NULL}, /* min block not a power of two */
    };
    /* Sizing and building. */
    ROW((int)buddy_range_metadata_size_config(NULL), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ROW((int)buddy_range_metadata_size_config(&bad[i]), 0);
    ROW(buddy_range_init_config(&out, engine_memory, sizeof engine_memory, NULL), BUDDY_EINVAL);
    ROW(buddy_range_init_config(&out, engine_memory, sizeof engine_memory, &bad[0]), BUDDY_EINVAL);
    ROW(buddy_range_init_config(&out, engine_memory, sizeof engine_memory, &bad[1]),
        BUDDY_EGEOMETRY);
    ROW(buddy_range_init_config(&out, engine_memory, 64, &config), BUDDY_ESMALL);
    ROW(buddy_range_create_config(NULL, &config), BUDDY_EINVAL);
    ROW(buddy_range_create_config(&out, NULL), BUDDY_EINVAL);
    ROW(buddy_range_create_config(&out, &bad[0]), BUDDY_EINVAL);
    ROW(buddy_range_create_config(&out, &bad[3]), BUDDY_EGEOMETRY);
    buddy_range_config bad_policy = {1024, 2048, 16, (buddy_policy)2, 0, NULL, NULL, NULL};
    ROW(buddy_range_create_config(&out, &bad_policy), BUDDY_EINVAL);
    buddy_range_config one_hook = config;
    one_hook.lock = no_op_hook; /* without unlock */
    ROW(buddy_range_init_config(&out, engine_memory, sizeof engine_memory, &one_hook),
        BUDDY_EINVAL);
    buddy_range_config huge = {
        64, UINT64_C(1) << 62, 1, BUDDY_BEST_FIT, BUDDY_RANGE_USER_DATA, NULL, NULL, NULL};
    ROW((int)buddy_range_metadata_size_config(&huge), 0); /* its slots overflow 64 bits */
    CHECK(out == NULL);
    CHECK_STATUS(buddy_range_init_config(&range, engine_memory, sizeof engine_memory, &config),
                 BUDDY_OK);
    CHECK_STATUS(buddy_range_alloc(range, 64, &offset), BUDDY_OK);
    CHECK_STATUS(buddy_range_set_user_data(range, 0, 42), BUDDY_OK);
    CHECK_STATUS(buddy_range_reserve(range, 512, 64), BUDDY_OK);
    offset = 7;
    /* Exact and packed with an alignment. */
    ROW(buddy_range_alloc_exact_aligned(NULL, 1, 16, &offset), BUDDY_EINVAL);
    ROW(buddy_range_alloc_exact_aligned(range, 1, 16, NULL), BUDDY_EINVAL);
    ROW(buddy_range_alloc_exact_aligned(range, 1, 0, &offset), BUDDY_EINVAL);
    ROW(buddy_range_alloc_exact_aligned(range, 1, 48, &offset), BUDDY_EINVAL);
    ROW(buddy_range_alloc_exact_aligned(range, 1025, 16, &offset), BUDDY_ETOOBIG);
    ROW(buddy_range_alloc_packed_aligned(NULL, 1, 16, &offset), BUDDY_EINVAL);
    ROW(buddy_range_alloc_packed_aligned(range, 1, 16, NULL), BUDDY_EINVAL);
    ROW(buddy_range_alloc_packed_aligned(range, 1, 0, &offset), BUDDY_EINVAL);
    ROW(buddy_range_alloc_packed_aligned(range, 1, 48, &offset), BUDDY_EINVAL);
    ROW(buddy_range_alloc_packed_aligned(range, 1025, 16, &offset), BUDDY_ETOOBIG);
    /* An alignment beyond the capacity is met only at 0, which is live. */
    ROW(buddy_range_alloc_aligned(range, 16, (uint64_t)1 << 40, &offset), BUDDY_ENOMEM);
    ROW(buddy_range_alloc_exact_aligned(range, 48, (uint64_t)1 << 63, &offset), BUDDY_ENOMEM);
    ROW(buddy_range_alloc_packed_aligned(range, 80, (uint64_t)1 << 63, &offset), BUDDY_ENOMEM);
    ROW(buddy_range_alloc_packed_aligned(range, 16, (uint64_t)1 << 63, &offset), BUDDY_ENOMEM);
    /* Capacity. */
    ROW(buddy_range_set_capacity(NULL, 1024), BUDDY_EINVAL);
    ROW(buddy_range_set_capacity(range, 0), BUDDY_EGEOMETRY);
    ROW(buddy_range_set_capacity(range, 15), BUDDY_EGEOMETRY);
    ROW(buddy_range_set_capacity(range, 2048 + 16), BUDDY_ESMALL); /* beyond the metadata */
    ROW(buddy_range_set_capacity(range, UINT64_MAX), BUDDY_ESMALL);
    ROW(buddy_range_set_capacity(range, 32), BUDDY_EBUSY);  /* below the live block */
    ROW(buddy_range_set_capacity(range, 544), BUDDY_EBUSY); /* through the reservation */
    /* Reservations. */
    ROW(buddy_range_reserve(NULL, 0, 16), BUDDY_EINVAL);
    ROW(buddy_range_reserve(range, 64, 0), BUDDY_EINVAL);
    ROW(buddy_range_reserve(range, 1024, 16), BUDDY_ERANGE);
    ROW(buddy_range_reserve(range, 1020, 5), BUDDY_ERANGE); /* over the end */
    ROW(buddy_range_reserve(range, 64, UINT64_MAX), BUDDY_ERANGE);
    ROW(buddy_range_reserve(range, 60, 10), BUDDY_EBUSY);  /* over the live block */
    ROW(buddy_range_reserve(range, 570, 20), BUDDY_EBUSY); /* over the reservation */
    ROW(buddy_range_unreserve(NULL, 512, 64), BUDDY_EINVAL);
    ROW(buddy_range_unreserve(range, 512, 0), BUDDY_EINVAL);
    ROW(buddy_range_unreserve(range, 512, 32), BUDDY_ENOTLIVE); /* a part */
    ROW(buddy_range_unreserve(range, 496, 80), BUDDY_ENOTLIVE); /* more */
    ROW(buddy_range_unreserve(range, 0, 64), BUDDY_ENOTLIVE);   /* a live block */
    ROW(buddy_range_unreserve(range, 4096, 64), BUDDY_ENOTLIVE);
    ROW(buddy_range_free(range, 512), BUDDY_ERESERVED);
    ROW(buddy_range_free(range, 528), BUDDY_ERESERVED);
    ROW(buddy_range_free(range, 520), BUDDY_EALIGN);
    ROW(buddy_range_size(range, 512, &offset), BUDDY_ERESERVED);
    ROW(buddy_range_resize(range, 512, 16), BUDDY_ERESERVED);
    /* User data. */
    ROW(buddy_range_set_user_data(NULL, 0, 1), BUDDY_EINVAL);
    ROW(buddy_range_set_user_data(range, 512, 1), BUDDY_ERESERVED);
    ROW(buddy_range_set_user_data(range, 16, 1), BUDDY_ENOTSTART);
    ROW(buddy_range_set_user_data(range, 64, 1), BUDDY_ENOTLIVE);
    ROW(buddy_range_set_user_data(range, 2048, 1), BUDDY_ERANGE);
    ROW(buddy_range_get_user_data(range, 0, NULL), BUDDY_EINVAL);
    ROW(buddy_range_get_user_data(range, 16, &value), BUDDY_ENOTSTART);
    /* The dump. */
    ROW((int)buddy_range_dump_json(NULL, text, sizeof text, 0), 0);
    ROW((int)buddy_range_dump_json(range, NULL, 8, 0), 0);
    ROW((int)buddy_range_dump_json(range, text, sizeof text, 1u << 7), 0);
    CHECK(text[0] == 'x');
    CHECK_EQ_U64(offset, 7);
    CHECK_EQ_U64(value, 7);
    /* User data calls on a range without it. */
    buddy_range *engine = range;
    range = (buddy_range *)(void *)range_memory;
    ROW(buddy_range_set_user_data(range, 0, 1), BUDDY_EINVAL);
    ROW(buddy_range_get_user_data(range, 0, &value), BUDDY_EINVAL);
    CHECK_STATUS(buddy_range_get_user_data(engine, 0, &value), BUDDY_OK);
    CHECK_EQ_U64(value, 42);
    CHECK_STATUS(buddy_range_check(engine), BUDDY_OK);
}

static void heap_rows(void) {
    buddy_heap *out = NULL;
    void *pointer = &out;
    unsigned char *live = buddy_heap_malloc(heap, 64);
    /* Configurations and regions. */
    buddy_heap_config bad[] = {
        {3, 0, BUDDY_BEST_FIT, 0, NULL, NULL, NULL},                        /* min block not 2^k */
        {0, alignof(max_align_t) / 2, BUDDY_BEST_FIT, 0, NULL, NULL, NULL}, /* below max_align_t */
        {0, 3000, BUDDY_BEST_FIT, 0, NULL, NULL, NULL},                     /* not 2^k */
        {0, 0, (buddy_policy)2, 0, NULL, NULL, NULL},                       /* unknown policy */
        {0, 0, BUDDY_BEST_FIT, 1u << 9, NULL, NULL, NULL},                  /* unknown flag */
        {0, 0, BUDDY_BEST_FIT, 0, (void (*)(void *))free, NULL, NULL},      /* one hook */
        {0, 0, BUDDY_BEST_FIT, BUDDY_HEAP_THREAD_SAFE, (void (*)(void *))free,
         (void (*)(void *))free, NULL}, /* hooks and the internal mutex */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ROW(buddy_heap_init(&out, region, sizeof region, &bad[i]), BUDDY_EINVAL);
        ROW((int)buddy_heap_metadata_size(sizeof region, &bad[i]), 0);
    }
    ROW((int)buddy_heap_metadata_size(8, NULL), 0); /* smaller than a min block */
    ROW(buddy_heap_init(NULL, region, sizeof region, NULL), BUDDY_EINVAL);
    ROW(buddy_heap_init(&out, NULL, sizeof region, NULL), BUDDY_EINVAL);
    ROW(buddy_heap_init(&out, region, 200, NULL), BUDDY_ESMALL);
    ROW(buddy_heap_init(&out, region, SIZE_MAX, NULL), BUDDY_ESMALL); /* wraps around */
    ROW(buddy_heap_init_external(&out, region, 4096, NULL, 4096, NULL), BUDDY_EINVAL);
    ROW(buddy_heap_init_external(&out, region, SIZE_MAX, range_memory, 64, NULL), BUDDY_EINVAL);
    ROW(buddy_heap_init_external(&out, region, 8, range_memory, sizeof range_memory, NULL),
        BUDDY_ESMALL);
    ROW(buddy_heap_init_external(&out, region, 4096, range_memory, 64, NULL), BUDDY_ESMALL);
    ROW(buddy_heap_init_external(&out, region, 4096, range_memory, 64, &bad[0]), BUDDY_EINVAL);
    CHECK(out == NULL);
    /* NULL heaps. */
    ROW(buddy_heap_fini(NULL), BUDDY_EINVAL);
    ROW(buddy_heap_malloc(NULL, 1) == NULL, 1);
    ROW(buddy_heap_calloc(NULL, 1, 1) == NULL, 1);
    ROW(buddy_heap_realloc(NULL, live, 1) == NULL, 1);
    ROW(buddy_heap_reallocarray(NULL, live, 1, 1) == NULL, 1);
    ROW(buddy_heap_aligned_alloc(NULL, 16, 1) == NULL, 1);
    ROW(buddy_heap_posix_memalign(NULL, &pointer, 16, 1), BUDDY_EINVAL);
    ROW(buddy_heap_free(NULL, live), BUDDY_EINVAL);
    ROW((int)buddy_heap_usable_size(NULL, live), 0);
    ROW(buddy_heap_try_resize(NULL, live, 1), BUDDY_EINVAL);
    ROW(buddy_heap_try_resize(heap, NULL, 1), BUDDY_EINVAL);
    ROW(buddy_heap_reset(NULL), BUDDY_EINVAL);
    ROW(buddy_heap_walk(NULL, hash_block, NULL), BUDDY_EINVAL);
    ROW(buddy_heap_last_failure(NULL, NULL), BUDDY_EINVAL);
    ROW(buddy_heap_last_failure(heap, NULL), BUDDY_EINVAL);
    ROW(buddy_heap_get_stats(NULL, NULL), BUDDY_EINVAL);
    ROW(buddy_heap_check(NULL), BUDDY_EINVAL);
    ROW(buddy_heap_lock_all(NULL), BUDDY_EINVAL);
    ROW(buddy_heap_unlock_all(NULL), BUDDY_EINVAL);
    ROW((int)buddy_heap_dump_json(NULL, NULL, 0, 0), 0);
    /* Overflow, alignment, oversize. */
    ROW(buddy_heap_calloc(heap, SIZE_MAX / 2, 4) == NULL, 1);
    ROW(buddy_heap_reallocarray(heap, live, SIZE_MAX / 2, 4) == NULL, 1);
    ROW(buddy_heap_aligned_alloc(heap, 0, 1) == NULL, 1);
    ROW(buddy_heap_aligned_alloc(heap, 24, 1) == NULL, 1);
    ROW(buddy_heap_aligned_alloc(heap, 8192, 1) == NULL, 1);
    ROW(buddy_heap_posix_memalign(heap, NULL, 16, 1), BUDDY_EINVAL);
    ROW(buddy_heap_posix_memalign(heap, &pointer, 2, 1), BUDDY_EINVAL); /* < sizeof(void *) */
    ROW(buddy_heap_posix_memalign(heap, &pointer, 8192, 1), BUDDY_EINVAL);
    ROW(buddy_heap_posix_memalign(heap, &pointer, 16, sizeof region), BUDDY_ETOOBIG);
    ROW(buddy_heap_malloc(heap, SIZE_MAX) == NULL, 1);
    ROW(buddy_heap_try_resize(heap, live, SIZE_MAX), BUDDY_ETOOBIG);
    CHECK(pointer == &out);
    /* Pointers: foreign, below the area, misaligned, interior, free, double. */
    int local = 0;
    ROW(buddy_heap_free(heap, &local), BUDDY_ERANGE);
    ROW(buddy_heap_free(heap, region), BUDDY_ERANGE);
    ROW(buddy_heap_free(heap, live + 8), BUDDY_EALIGN);
    ROW(buddy_heap_free(heap, live + 32), BUDDY_ENOTSTART);
    ROW(buddy_heap_free(heap, live + 64), BUDDY_ENOTLIVE);
    ROW((int)buddy_heap_usable_size(heap, &local), 0);
    ROW((int)buddy_heap_usable_size(heap, NULL), 0);
    ROW(buddy_heap_try_resize(heap, live + 32, 16), BUDDY_ENOTSTART);
    ROW(buddy_heap_realloc(heap, live + 32, 16) == NULL, 1);
    ROW(buddy_heap_realloc(heap, &local, 16) == NULL, 1);
    CHECK_STATUS(buddy_heap_free(heap, live), BUDDY_OK);
    ROW(buddy_heap_free(heap, live), BUDDY_ENOTLIVE); /* a double free */
}

/* With the fill pattern, a rejected free takes the path that looks the size up. */
static void rejected_free_with_fill_changes_nothing(void) {
    buddy_heap_config config = {0, 0, BUDDY_FIRST_FIT, BUDDY_HEAP_FILL, NULL, NULL, NULL};
    CHECK_STATUS(buddy_heap_init(&heap, region, sizeof region, &config), BUDDY_OK);
    unsigned char *block = buddy_heap_malloc(heap, 100);
    ROW(buddy_heap_free(heap, block + 16), BUDDY_ENOTSTART);
    CHECK(buddy_heap_realloc(heap, block, 1000) == block); /* grows: the tail is filled */
    CHECK(block[999] == 0xAA);
    CHECK(buddy_heap_realloc(heap, block, 10) == block); /* shrinks: the tail is released */
    CHECK_EQ_U64(buddy_heap_usable_size(heap, block), 16);
    CHECK_STATUS(buddy_heap_free(heap, block), BUDDY_OK);
    buddy_heap_fini(heap);
}

/* Every region size from 0 to 20000 bytes at two alignments either makes a
 * working heap or says the region is too small. */
static void every_small_region_size_is_handled(void) {
    unsigned made = 0;
    for (size_t start = 0; start < 2; start++) {
        for (size_t size = 0; size <= 20000; size += check_scale(1, 97)) {
            buddy_heap *small = NULL;
            int status = buddy_heap_init(&small, region + start * 40, size, NULL);
            CHECK(status == BUDDY_OK || status == BUDDY_ESMALL);
            if (status != BUDDY_OK)
                continue;
            made++;
            void *block = buddy_heap_malloc(small, 1);
            CHECK(block != NULL && (unsigned char *)block + 16 <= region + start * 40 + size);
            CHECK_STATUS(buddy_heap_check(small), BUDDY_OK);
            buddy_heap_fini(small);
        }
    }
    CHECK(made > 0);
}

int main(void) {
    size_t needed = buddy_range_metadata_size(1024, 16);
    CHECK(needed <= sizeof range_memory);
    CHECK_STATUS(buddy_range_init(&range, range_memory, needed, 1024, 16, BUDDY_BEST_FIT),
                 BUDDY_OK);
    uint64_t live = 99;
    CHECK_STATUS(buddy_range_alloc(range, 64, &live), BUDDY_OK);
    CHECK_EQ_U64(live, 0);
    CHECK_STATUS(buddy_heap_init(&heap, region, sizeof region, NULL), BUDDY_OK);
    range_rows();
    engine_rows();
    heap_rows();
    buddy_heap_fini(heap);
    rejected_free_with_fill_changes_nothing();
    every_small_region_size_is_handled();
    printf("bad inputs: %u rows\n", rows);
    return check_exit_code("bad_inputs");
}
