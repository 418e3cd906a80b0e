/* SPDX-License-Identifier: MIT */
/*
 * The baseline: a straightforward implementation of the seed's algorithm (the
 * wuwenbin/buddy2 max-tree), written from its description. Node i of a heap-
 * ordered tree of 2n-1 entries holds `longest`, the size of the largest free
 * block below it; alloc descends left-first, free climbs from the leaf. 32-bit
 * entries: 64 bits of metadata per min block, as the brief counts it.
 */
#ifndef BUDDY_BENCH_SEED_TREE_H
#define BUDDY_BENCH_SEED_TREE_H

#include <stddef.h>
#include <stdint.h>

typedef struct seed_tree {
    uint32_t leaf_count; /* a power of two */
    uint32_t *longest;
} seed_tree;

/* Bytes of `longest` for leaf_count leaves. */
size_t seed_tree_storage_size(uint32_t leaf_count);
/* Builds an empty tree in `storage` (seed_tree_storage_size bytes). */
void seed_tree_init(seed_tree *tree, uint32_t leaf_count, uint32_t *storage);
/* The first leaf of a block of at least `units` leaves, or -1. */
int64_t seed_tree_alloc(seed_tree *tree, uint32_t units);
/* Frees the block at `start`; 0 on success, -1 if it is not a block start. */
int seed_tree_free(seed_tree *tree, uint32_t start);

#endif
