/* SPDX-License-Identifier: MIT */
/*
 * The ideal best-fit reference of `buddy report`: an allocator that is not a
 * buddy system, written to be obviously correct, and slow.
 */
#ifndef BUDDY_TOOL_IDEAL_H
#define BUDDY_TOOL_IDEAL_H

#include <stdint.h>

#include "buddy.h"

typedef struct ideal ideal;

/* An empty allocator of `capacity` units, allocating whole min blocks; NULL if
 * out of memory. */
ideal *ideal_create(uint64_t capacity, uint64_t min_block_size);
void ideal_destroy(ideal *a);
/* Address-ordered best fit over exact sizes (rounded up to whole min blocks):
 * the smallest free extent that holds the size at a multiple of `alignment`
 * (0 or 1: none), the lowest of equals, used from its first aligned unit.
 * BUDDY_OK, BUDDY_ETOOBIG (above the capacity) or BUDDY_ENOMEM. */
int ideal_alloc(ideal *a, uint64_t size, uint64_t alignment, uint64_t *offset_out);
/* Frees the allocation at `offset` and coalesces it with free neighbours at
 * once. */
void ideal_free(ideal *a, uint64_t offset);
/* Resizes in place: a shrink gives back the tail, a grow takes the free
 * extent that follows if it is large enough. BUDDY_OK or BUDDY_ENOMEM. */
int ideal_resize(ideal *a, uint64_t offset, uint64_t size);
/* The allocation's size in units (whole min blocks), 0 if none is there. */
uint64_t ideal_size(const ideal *a, uint64_t offset);
/* The figures of buddy_range_stats that apply: capacity, min block, free and
 * allocated units, the largest free extent, live allocations, the peak. */
void ideal_get_stats(const ideal *a, buddy_range_stats *stats);

#endif /* BUDDY_TOOL_IDEAL_H */
