/* SPDX-License-Identifier: MIT */
/*
 * Bit helpers for 64-bit words: count trailing/leading zeros and powers of two.
 * GCC and Clang builtins where available, portable loops elsewhere.
 */
#ifndef BUDDY_BITS_H
#define BUDDY_BITS_H

#include <stdbool.h>
#include <stdint.h>

/* Index of the lowest set bit; word must not be 0. */
static inline unsigned bits_ctz(uint64_t word) {
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(word);
#else
    unsigned index = 0;
    while (!(word & 1u)) {
        word >>= 1;
        index++;
    }
    return index;
#endif
}

/* Index of the highest set bit (floor of log2); word must not be 0. */
static inline unsigned bits_log2_floor(uint64_t word) {
#if defined(__GNUC__) || defined(__clang__)
    return 63u - (unsigned)__builtin_clzll(word);
#else
    unsigned index = 0;
    while (word >>= 1)
        index++;
    return index;
#endif
}

/* Ceiling of log2; word must not be 0 (log2 of 1 is 0). */
static inline unsigned bits_log2_ceil(uint64_t word) {
    return word == 1 ? 0u : bits_log2_floor(word - 1) + 1u;
}

static inline bool bits_is_pow2(uint64_t word) {
    return word != 0 && (word & (word - 1)) == 0;
}

/* A mask of the low `count` bits, for count in 0..64. */
static inline uint64_t bits_low_mask(unsigned count) {
    return count >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << count) - 1);
}

/* Ceiling of value / 2^shift without overflow, for any shift. */
static inline uint64_t bits_div_ceil_pow2(uint64_t value, unsigned shift) {
    if (shift >= 64)
        return value != 0;
    return (value >> shift) + ((value & bits_low_mask(shift)) != 0);
}

#endif /* BUDDY_BITS_H */
