/* SPDX-License-Identifier: MIT */
/*
 * Every status code is produced by some call here, and every rejected call is
 * shown to change nothing: the metadata bytes are compared before and after,
 * all but the one diagnostic counter that counts the rejection (+1).
 */
#include <stddef.h>

#include "buddy.h"
#include "check.h"
#include "layout.h"
#include "range_core.h" /* free_insert, free_remove, node_set */

enum counter { ALLOC_FAILURES, REJECTED_FREES, NO_COUNTER };

typedef struct snapshot {
    unsigned char bytes[1 << 16];
    size_t size;
} snapshot;

static void take(snapshot *s, const buddy_range *range) {
    s->size = (size_t)range->metadata_size;
    memcpy(s->bytes, range, s->size);
}

/* The range equals the snapshot except that `counter` grew by one. */
static void check_unchanged(const snapshot *before, const buddy_range *range, enum counter counter,
                            int line) {
    const size_t counters = offsetof(struct buddy_range, alloc_failures);
    const size_t counters_end = offsetof(struct buddy_range, rejected_frees) + sizeof(uint64_t);
    const unsigned char *now = (const unsigned char *)range;
    if (memcmp(before->bytes, now, counters) != 0 ||
        memcmp(before->bytes + counters_end, now + counters_end, before->size - counters_end) !=
            0) {
        fprintf(stderr, "line %d: a rejected call changed the metadata\n", line);
        check_failures++;
    }
    const struct buddy_range *old = (const struct buddy_range *)(const void *)before->bytes;
    CHECK_EQ_U64(range->alloc_failures, old->alloc_failures + (counter == ALLOC_FAILURES));
    CHECK_EQ_U64(range->rejected_frees, old->rejected_frees + (counter == REJECTED_FREES));
}

#define REJECTS(range, call, status, counter)                                                      \
    do {                                                                                           \
        static snapshot before;                                                                    \
        take(&before, range);                                                                      \
        CHECK_STATUS(call, status);                                                                \
        check_unchanged(&before, range, counter, __LINE__);                                        \
    } while (0)

static void geometry_and_buffer_errors(void) {
    static uint64_t metadata[4096];
    buddy_range *range = NULL;
    CHECK_EQ_U64(buddy_range_metadata_size(1024, 0), 0);
    CHECK_EQ_U64(buddy_range_metadata_size(1024, 3), 0);
    CHECK_EQ_U64(buddy_range_metadata_size(8, 16), 0);
    CHECK_EQ_U64(buddy_range_metadata_size(UINT64_MAX, 1), 0); /* more than 2^62 min blocks */
    CHECK(buddy_range_metadata_size(UINT64_MAX, 4) != 0 || SIZE_MAX < UINT64_MAX);
    CHECK_STATUS(buddy_range_init(NULL, metadata, sizeof metadata, 1024, 1, BUDDY_BEST_FIT),
                 BUDDY_EINVAL);
    CHECK_STATUS(buddy_range_init(&range, NULL, sizeof metadata, 1024, 1, BUDDY_BEST_FIT),
                 BUDDY_EINVAL);
    CHECK_STATUS(buddy_range_init(&range, (char *)metadata + 1, 4000, 1024, 1, BUDDY_BEST_FIT),
                 BUDDY_EINVAL); /* misaligned metadata */
    CHECK_STATUS(buddy_range_init(&range, metadata, sizeof metadata, 1024, 1, (buddy_policy)7),
                 BUDDY_EINVAL);
    CHECK_STATUS(buddy_range_init(&range, metadata, sizeof metadata, 1024, 24, BUDDY_BEST_FIT),
                 BUDDY_EGEOMETRY);
    size_t needed = buddy_range_metadata_size(1024, 1);
    CHECK_STATUS(buddy_range_init(&range, metadata, needed - 1, 1024, 1, BUDDY_BEST_FIT),
                 BUDDY_ESMALL);
    CHECK(range == NULL); /* out-parameters are written only on success */
    CHECK_STATUS(buddy_range_init(&range, metadata, needed, 1024, 1, BUDDY_BEST_FIT), BUDDY_OK);
    CHECK_STATUS(buddy_range_create(NULL, 1024, 1, BUDDY_BEST_FIT), BUDDY_EINVAL);
    CHECK_STATUS(buddy_range_create(&range, 0, 1, BUDDY_BEST_FIT), BUDDY_EGEOMETRY);
    CHECK_STATUS(buddy_seed_create(&range, 24), BUDDY_EGEOMETRY);
}

static void alloc_errors_change_nothing(buddy_range *range) {
    uint64_t offset = 99;
    CHECK_STATUS(buddy_range_alloc(NULL, 1, &offset), BUDDY_EINVAL);
    REJECTS(range, buddy_range_alloc(range, 1, NULL), BUDDY_EINVAL, NO_COUNTER);
    REJECTS(range, buddy_range_alloc(range, 4097, &offset), BUDDY_ETOOBIG, ALLOC_FAILURES);
    REJECTS(range, buddy_range_alloc(range, UINT64_MAX, &offset), BUDDY_ETOOBIG, ALLOC_FAILURES);
    CHECK_EQ_U64(offset, 99); /* untouched on failure */
    uint64_t half = 0;
    CHECK_STATUS(buddy_range_alloc(range, 2048, &half), BUDDY_OK);
    uint64_t quarter = 0;
    CHECK_STATUS(buddy_range_alloc(range, 1024, &quarter), BUDDY_OK);
    REJECTS(range, buddy_range_alloc(range, 2048, &offset), BUDDY_ENOMEM, ALLOC_FAILURES);
    CHECK_STATUS(buddy_range_free(range, quarter), BUDDY_OK);
    CHECK_STATUS(buddy_range_free(range, half), BUDDY_OK);
}

static void free_errors_change_nothing(buddy_range *range) {
    /* capacity 4096, min block 16: one live 64-unit block at 0. */
    uint64_t live = 1;
    CHECK_STATUS(buddy_range_alloc(range, 64, &live), BUDDY_OK);
    CHECK_EQ_U64(live, 0);
    CHECK_STATUS(buddy_range_free(NULL, 0), BUDDY_EINVAL);
    REJECTS(range, buddy_range_free(range, 4096), BUDDY_ERANGE, REJECTED_FREES);
    REJECTS(range, buddy_range_free(range, UINT64_MAX), BUDDY_ERANGE, REJECTED_FREES);
    REJECTS(range, buddy_range_free(range, 8), BUDDY_EALIGN, REJECTED_FREES);
    REJECTS(range, buddy_range_free(range, 32), BUDDY_ENOTSTART, REJECTED_FREES); /* in live */
    REJECTS(range, buddy_range_free(range, 2048 + 16), BUDDY_ENOTSTART,
            REJECTED_FREES); /* in free */
    REJECTS(range, buddy_range_free(range, 64), BUDDY_ENOTLIVE, REJECTED_FREES);
    uint64_t size = 7;
    REJECTS(range, buddy_range_size(range, 32, &size), BUDDY_ENOTSTART, NO_COUNTER);
    REJECTS(range, buddy_range_size(range, 4096, &size), BUDDY_ERANGE, NO_COUNTER);
    REJECTS(range, buddy_range_size(range, 0, NULL), BUDDY_EINVAL, NO_COUNTER);
    CHECK_EQ_U64(size, 7);
    CHECK_STATUS(buddy_range_size(range, 0, &size), BUDDY_OK);
    CHECK_EQ_U64(size, 64);
    /* A failed resize changes nothing and counts nothing. */
    uint64_t upper = 0;
    CHECK_STATUS(buddy_range_alloc(range, 64, &upper), BUDDY_OK); /* 64..127, the buddy of 0 */
    CHECK_EQ_U64(upper, 64);
    REJECTS(range, buddy_range_resize(range, 0, 128), BUDDY_ENOMEM, NO_COUNTER);  /* buddy live */
    REJECTS(range, buddy_range_resize(range, 64, 128), BUDDY_ENOMEM, NO_COUNTER); /* upper half */
    REJECTS(range, buddy_range_resize(range, 0, 8192), BUDDY_ETOOBIG, NO_COUNTER);
    REJECTS(range, buddy_range_resize(range, 32, 16), BUDDY_ENOTSTART, NO_COUNTER);
    REJECTS(range, buddy_range_resize(range, 128, 16), BUDDY_ENOTLIVE, NO_COUNTER);
    CHECK_STATUS(buddy_range_resize(NULL, 0, 16), BUDDY_EINVAL);
    CHECK_STATUS(buddy_range_free(range, upper), BUDDY_OK);
    CHECK_STATUS(buddy_range_resize(range, 0, 1024), BUDDY_OK); /* absorbs 64, 128, 256, 512 */
    CHECK_STATUS(buddy_range_size(range, 0, &size), BUDDY_OK);
    CHECK_EQ_U64(size, 1024);
    CHECK_STATUS(buddy_range_resize(range, 0, 1), BUDDY_OK); /* releases the upper halves */
    CHECK_STATUS(buddy_range_size(range, 0, &size), BUDDY_OK);
    CHECK_EQ_U64(size, 16);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    CHECK_STATUS(buddy_range_walk(NULL, NULL, NULL), BUDDY_EINVAL);
    CHECK_STATUS(buddy_range_free(range, 0), BUDDY_OK);
    REJECTS(range, buddy_range_free(range, 0), BUDDY_ENOTLIVE, REJECTED_FREES); /* double free */
}

static void no_hook(void *context) {
    (void)context; /* never read: it may be any value */
}

static void corruption_is_detected(void) {
    static uint64_t metadata[4096];
    buddy_range *range = NULL;
    size_t size = buddy_range_metadata_size(4096, 16);
    CHECK_STATUS(buddy_range_init(&range, metadata, size, 4096, 16, BUDDY_BEST_FIT), BUDDY_OK);
    CHECK_STATUS(buddy_range_check(NULL), BUDDY_EINVAL);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    /* Flip one bit of each word of the metadata in turn: the checker must notice
     * every flip except in the history it cannot recompute (the failure
     * counters, and the peak, which may be any value >= the allocated bytes). */
    size_t words = size / sizeof(uint64_t);
    size_t counters = offsetof(struct buddy_range, alloc_failures) / sizeof(uint64_t);
    size_t peak = offsetof(struct buddy_range, peak_allocated_blocks) / sizeof(uint64_t);
    unsigned missed = 0;
    for (size_t word = 0; word < words; word++) {
        if (word == counters || word == counters + 1 || word == peak)
            continue;
        uint64_t *target = (uint64_t *)(void *)range + word;
        uint64_t saved = *target;
        *target ^= UINT64_C(1) << (word % 64);
        if (buddy_range_check(range) != BUDDY_ECORRUPT)
            missed++;
        *target = saved;
    }
    CHECK_EQ_INT(missed, 0);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);

    buddy_range *attached = NULL;
    CHECK_STATUS(buddy_range_attach(&attached, metadata, size), BUDDY_OK);
    CHECK(attached == range);
    CHECK_STATUS(buddy_range_attach(&attached, metadata, size - 8), BUDDY_ECORRUPT);
    CHECK_STATUS(buddy_range_attach(NULL, metadata, size), BUDDY_EINVAL);
    metadata[0] ^= 1;
    CHECK_STATUS(buddy_range_attach(&attached, metadata, size), BUDDY_ECORRUPT);
    metadata[0] ^= 1;
    /* A policy and a count of reservations that no range has. */
    range->policy = BUDDY_FIRST_FIT + 1;
    CHECK_STATUS(buddy_range_attach(&attached, metadata, size), BUDDY_ECORRUPT);
    range->policy = BUDDY_BEST_FIT;
    range->reservation_count = MAX_RESERVATIONS + 1;
    CHECK_STATUS(buddy_range_attach(&attached, metadata, size), BUDDY_ECORRUPT);
    range->reservation_count = 0;
    CHECK_STATUS(buddy_range_attach(&attached, metadata, size), BUDDY_OK);

    /* A sync mode with no lock behind it: rejected, never taken. */
    range->sync = SYNC_HOOKS + 1;
    CHECK_STATUS(buddy_range_check(range), BUDDY_ECORRUPT);
    CHECK_STATUS(buddy_range_attach(&attached, metadata, size), BUDDY_ECORRUPT);
    range->sync = SYNC_HOOKS; /* without hooks, or with one of the two */
    CHECK_STATUS(buddy_range_check(range), BUDDY_ECORRUPT);
    CHECK_STATUS(buddy_range_attach(&attached, metadata, size), BUDDY_ECORRUPT);
    range->unlock_hook = (uint64_t)(uintptr_t)no_hook;
    CHECK_STATUS(buddy_range_check(range), BUDDY_ECORRUPT);
    range->lock_hook = range->unlock_hook;
    range->unlock_hook = 0;
    CHECK_STATUS(buddy_range_check(range), BUDDY_ECORRUPT);
    range->lock_hook = range->unlock_hook = (uint64_t)(uintptr_t)no_hook;
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    range->lock_context = UINT64_C(1) << 40; /* not a pointer where pointers have 32 bits */
    CHECK_STATUS(buddy_range_check(range), sizeof(void *) < 8 ? BUDDY_ECORRUPT : BUDDY_OK);
    range->lock_hook = range->unlock_hook = range->lock_context = 0;
    range->sync = SYNC_BUILT_IN; /* a consistent mode: the check takes the lock */
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    range->lock_word = 1; /* held by nobody, where the check expects it free */
    range->sync = SYNC_NONE;
    CHECK_STATUS(buddy_range_check(range), BUDDY_ECORRUPT);
    range->lock_word = 0;
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);

    /* The peak below what is allocated now (I9), and a user data slot where
     * no allocation starts (I13): the flips above meet neither. */
    uint64_t offset = 0;
    CHECK_STATUS(buddy_range_alloc(range, 16, &offset), BUDDY_OK);
    range->peak_allocated_blocks = 0;
    CHECK_STATUS(buddy_range_check(range), BUDDY_ECORRUPT);
    range->peak_allocated_blocks = 1;
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    static uint64_t with_slots[8192];
    buddy_range_config config = {0};
    config.capacity = 256;
    config.max_capacity = 512; /* slots past the capacity, for its growth */
    config.min_block_size = 16;
    config.flags = BUDDY_RANGE_USER_DATA;
    CHECK(buddy_range_metadata_size_config(&config) <= sizeof with_slots);
    CHECK_STATUS(buddy_range_init_config(&range, with_slots, sizeof with_slots, &config), BUDDY_OK);
    CHECK_STATUS(buddy_range_alloc(range, 16, &offset), BUDDY_OK);
    CHECK_STATUS(buddy_range_set_user_data(range, offset, 7), BUDDY_OK);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    range->user_data_word++; /* the slots moved off the layout's place for them */
    CHECK_STATUS(buddy_range_attach(&attached, with_slots, sizeof with_slots), BUDDY_ECORRUPT);
    range->user_data_word--;
    CHECK_STATUS(buddy_range_attach(&attached, with_slots, sizeof with_slots), BUDDY_OK);
    uint64_t *slots = &range_words(range)[range->user_data_word];
    for (uint64_t first = 1; first < 32; first += 30) { /* free, then past the capacity */
        slots[first] = 7;
        CHECK_STATUS(buddy_range_check(range), BUDDY_ECORRUPT);
        slots[first] = 0;
    }

    /* Two free buddies left unmerged, every count and summary kept right:
     * I5 alone catches it. */
    static uint64_t small[2048];
    CHECK_STATUS(buddy_range_init(&range, small, sizeof small, 16, 1, BUDDY_BEST_FIT), BUDDY_OK);
    free_remove(range, 4, 0); /* the root, free */
    node_set(range, 4, 0, SPLIT_BIT);
    free_insert(range, 3, 0);
    free_insert(range, 3, 1);
    CHECK_STATUS(buddy_range_check(range), BUDDY_ECORRUPT);
}

/* Each status's text starts with its own name, then ": ". */
static void every_status_has_a_name(void) {
#define NAMED(status)                                                                              \
    { status, #status }
    static const struct {
        int status;
        const char *name;
    } names[] = {NAMED(BUDDY_OK),        NAMED(BUDDY_EINVAL),   NAMED(BUDDY_EGEOMETRY),
                 NAMED(BUDDY_ESMALL),    NAMED(BUDDY_ETOOBIG),  NAMED(BUDDY_ENOMEM),
                 NAMED(BUDDY_ERANGE),    NAMED(BUDDY_EALIGN),   NAMED(BUDDY_ENOTSTART),
                 NAMED(BUDDY_ENOTLIVE),  NAMED(BUDDY_ECORRUPT), NAMED(BUDDY_EBUSY),
                 NAMED(BUDDY_ERESERVED), NAMED(BUDDY_EVERSION)};
#undef NAMED
    CHECK_EQ_U64(sizeof names / sizeof names[0], (uint64_t)(BUDDY_OK - BUDDY_EVERSION + 1));
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *text = buddy_status_str(names[i].status);
        size_t length = strlen(names[i].name);
        CHECK(strncmp(text, names[i].name, length) == 0 && strncmp(text + length, ": ", 2) == 0);
    }
    CHECK_EQ_STR(buddy_status_str(BUDDY_EVERSION - 1), "unknown buddy status");
    CHECK_EQ_STR(buddy_status_str(1), "unknown buddy status");
}

static void the_version_is_the_headers(void) {
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", BUDDY_VERSION_MAJOR, BUDDY_VERSION_MINOR,
             BUDDY_VERSION_PATCH);
    CHECK_EQ_STR(buddy_version(), expected);
}

int main(void) {
    geometry_and_buffer_errors();
    buddy_range *range = NULL;
    CHECK_STATUS(buddy_range_create(&range, 4096, 16, BUDDY_FIRST_FIT), BUDDY_OK);
    alloc_errors_change_nothing(range);
    free_errors_change_nothing(range);
    buddy_range_stats stats;
    CHECK_STATUS(buddy_range_get_stats(range, &stats), BUDDY_OK);
    CHECK_EQ_U64(stats.alloc_failures, 3);
    CHECK_EQ_U64(stats.rejected_frees, 7);
    CHECK_STATUS(buddy_range_get_stats(range, NULL), BUDDY_EINVAL);
    CHECK_STATUS(buddy_range_check(range), BUDDY_OK);
    buddy_range_destroy(range);
    corruption_is_detected();
    every_status_has_a_name();
    the_version_is_the_headers();
    return check_exit_code("range_errors");
}
