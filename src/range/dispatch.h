/* SPDX-License-Identifier: MIT */
/*
 * Runtime dispatch of the range's hot paths. On x86-64 with GCC or Clang, the
 * build (CMake option BUDDY_DISPATCH) compiles alloc and free twice from
 * range_core.h: for any x86-64 CPU, and for x86-64-v3 (AVX2, BMI1/2, LZCNT,
 * ...), where they run about 10% faster. range.c checks the CPU once, before
 * main, and its alloc and free call the v3 copy where the CPU can run it; so
 * do the shared range's logged alloc and free (src/shared/).
 */
#ifndef BUDDY_DISPATCH_H
#define BUDDY_DISPATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "buddy.h"

#ifndef BUDDY_HAVE_X86_64_V3
#define BUDDY_HAVE_X86_64_V3 0 /* the build sets it to 1 with range_x86_64_v3.c */
#endif

#if BUDDY_HAVE_X86_64_V3
extern bool buddy_cpu_has_x86_64_v3; /* set before main; false until then */
int buddy_range_alloc_x86_64_v3(buddy_range *range, uint64_t size, uint64_t *offset_out);
int buddy_range_alloc_aligned_x86_64_v3(buddy_range *range, uint64_t size, uint64_t alignment,
                                        uint64_t *offset_out);
int buddy_range_free_x86_64_v3(buddy_range *range, uint64_t offset);
/* The shared range's logged copies (src/shared/logged_x86_64_v3.c). */
int buddy_shared_logged_alloc_x86_64_v3(buddy_range *range, uint64_t size, uint64_t *offset_out);
int buddy_shared_logged_free_x86_64_v3(buddy_range *range, uint64_t offset);
#endif

#endif /* BUDDY_DISPATCH_H */
