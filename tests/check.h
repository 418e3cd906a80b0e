/* SPDX-License-Identifier: MIT */
/*
 * Minimal test macros: each check prints both values on failure and counts
 * it; a test's main returns check_exit_code(). Random tests take their seed
 * from BUDDY_SEED (or a fixed default) and print it, so a failure replays.
 */
#ifndef BUDDY_TESTS_CHECK_H
#define BUDDY_TESTS_CHECK_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;

#define CHECK(condition)                                                                           \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #condition);          \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(actual, expected)                                                             \
    do {                                                                                           \
        long long check_a = (long long)(actual), check_e = (long long)(expected);                  \
        if (check_a != check_e) {                                                                  \
            fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__,        \
                    #actual, check_a, #expected, check_e);                                         \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_U64(actual, expected)                                                             \
    do {                                                                                           \
        uint64_t check_a = (uint64_t)(actual), check_e = (uint64_t)(expected);                     \
        if (check_a != check_e) {                                                                  \
            fprintf(stderr, "%s:%d: %s == %" PRIu64 ", expected %s == %" PRIu64 "\n", __FILE__,    \
                    __LINE__, #actual, check_a, #expected, check_e);                               \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_STR(actual, expected)                                                             \
    do {                                                                                           \
        const char *check_a = (actual), *check_e = (expected);                                     \
        if (strcmp(check_a, check_e) != 0) {                                                       \
            fprintf(stderr, "%s:%d: %s ==\n  \"%s\"\nexpected\n  \"%s\"\n", __FILE__, __LINE__,    \
                    #actual, check_a, check_e);                                                    \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

/* Status checks name both codes. */
#define CHECK_STATUS(actual, expected)                                                             \
    do {                                                                                           \
        int check_a = (actual), check_e = (expected);                                              \
        if (check_a != check_e) {                                                                  \
            fprintf(stderr, "%s:%d: %s gave %s, expected %s\n", __FILE__, __LINE__, #actual,       \
                    buddy_status_str(check_a), buddy_status_str(check_e));                         \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

static inline int check_exit_code(const char *test_name) {
    if (check_failures != 0) {
        fprintf(stderr, "%s: %d check(s) failed\n", test_name, check_failures);
        return EXIT_FAILURE;
    }
    printf("%s: all checks passed\n", test_name);
    return EXIT_SUCCESS;
}

/* The seed for a random test: BUDDY_SEED if set, else `fallback`; printed. */
static inline uint64_t check_seed(const char *test_name, uint64_t fallback) {
    const char *text = getenv("BUDDY_SEED");
    uint64_t seed = text != NULL ? strtoull(text, NULL, 0) : fallback;
    printf("%s: seed %" PRIu64 " (set BUDDY_SEED to replay)\n", test_name, seed);
    return seed;
}

/* `full`, or `quick` when BUDDY_TEST_QUICK is set (as under Valgrind). */
static inline unsigned long check_scale(unsigned long full, unsigned long quick) {
    return getenv("BUDDY_TEST_QUICK") != NULL ? quick : full;
}

/* splitmix64: a small, well-mixed generator for reproducible tests. */
static inline uint64_t check_random(uint64_t *state) {
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Whether the `size` bytes at `bytes` all hold `value` (a fill pattern). */
static inline bool check_filled(const unsigned char *bytes, size_t size, unsigned char value) {
    for (size_t i = 0; i < size; i++)
        if (bytes[i] != value)
            return false;
    return true;
}

/* A uniform value in [0, bound) for bound > 0. */
static inline uint64_t check_below(uint64_t *state, uint64_t bound) {
    return check_random(state) % bound;
}

#endif /* BUDDY_TESTS_CHECK_H */
