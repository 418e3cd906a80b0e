/* SPDX-License-Identifier: MIT */
/*
 * Reading a fuzzer's bytes as numbers: every read succeeds (past the end it
 * gives zeros), so any input is a valid program of operations.
 */
#ifndef BUDDY_FUZZ_INPUT_H
#define BUDDY_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct fuzz_input {
    const uint8_t *data;
    size_t size;
} fuzz_input;

static inline uint8_t read_u8(fuzz_input *in) {
    if (in->size == 0)
        return 0;
    in->size--;
    return *in->data++;
}

static inline uint64_t read_bytes(fuzz_input *in, unsigned count) {
    uint64_t value = 0;
    for (unsigned i = 0; i < count; i++)
        value = value << 8 | read_u8(in);
    return value;
}

/* A size that favours small values but reaches every magnitude. */
static inline uint64_t read_size(fuzz_input *in) {
    uint8_t kind = read_u8(in);
    if (kind < 200)
        return read_bytes(in, 2) >> (kind % 16);
    if (kind < 250)
        return read_bytes(in, 4);
    return UINT64_MAX - read_u8(in);
}

/* A finding: report it where the fuzzer (or the replay test) will show it. */
#define FUZZ_REQUIRE(condition)                                                                    \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #condition);     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* BUDDY_FUZZ_INPUT_H */
