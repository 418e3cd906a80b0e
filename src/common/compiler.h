/* SPDX-License-Identifier: MIT */
/*
 * Inlining hints for the hot paths, where GCC and Clang take them.
 */
#ifndef BUDDY_COMPILER_H
#define BUDDY_COMPILER_H

/* For the few helpers on the alloc and free paths whose call overhead shows. */
#if defined(__GNUC__) || defined(__clang__)
#define BUDDY_HOT_INLINE static inline __attribute__((always_inline))
#else
#define BUDDY_HOT_INLINE static inline
#endif

/* For rare paths, which would otherwise take registers from the hot ones. */
#if defined(__GNUC__) || defined(__clang__)
#define BUDDY_NOINLINE __attribute__((noinline))
#else
#define BUDDY_NOINLINE
#endif

#endif /* BUDDY_COMPILER_H */
