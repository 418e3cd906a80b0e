/* SPDX-License-Identifier: MIT */
/* The seed-algorithm baseline (seed_tree.h). */
#include "seed_tree.h"

static uint32_t max_u32(uint32_t a, uint32_t b) {
    return a > b ? a : b;
}

size_t seed_tree_storage_size(uint32_t leaf_count) {
    return sizeof(uint32_t) * (2 * (size_t)leaf_count - 1);
}

void seed_tree_init(seed_tree *tree, uint32_t leaf_count, uint32_t *storage) {
    tree->leaf_count = leaf_count;
    tree->longest = storage;
    uint32_t node_size = leaf_count;
    for (size_t i = 0, level_end = 1; i < 2 * (size_t)leaf_count - 1; i++) {
        if (i == level_end) { /* the next level starts at 2^depth - 1 */
            node_size /= 2;
            level_end = 2 * level_end + 1;
        }
        tree->longest[i] = node_size;
    }
}

int64_t seed_tree_alloc(seed_tree *tree, uint32_t units) {
    uint32_t size = 1;
    while (size < units)
        size <<= 1;
    if (tree->longest[0] < size)
        return -1;
    size_t node = 0;
    uint32_t node_size = tree->leaf_count;
    while (node_size != size) {
        node = tree->longest[2 * node + 1] >= size ? 2 * node + 1 : 2 * node + 2;
        node_size /= 2;
    }
    tree->longest[node] = 0;
    int64_t start = (int64_t)((node + 1) * node_size) - tree->leaf_count;
    while (node != 0) {
        node = (node - 1) / 2;
        tree->longest[node] = max_u32(tree->longest[2 * node + 1], tree->longest[2 * node + 2]);
    }
    return start;
}

int seed_tree_free(seed_tree *tree, uint32_t start) {
    size_t node = (size_t)start + tree->leaf_count - 1;
    uint32_t node_size = 1;
    while (tree->longest[node] != 0) {
        if (node == 0)
            return -1;
        node = (node - 1) / 2;
        node_size *= 2;
    }
    if ((node + 1) * node_size - tree->leaf_count != start)
        return -1;
    tree->longest[node] = node_size;
    while (node != 0) {
        node = (node - 1) / 2;
        node_size *= 2;
        uint32_t left = tree->longest[2 * node + 1], right = tree->longest[2 * node + 2];
        tree->longest[node] = left + right == node_size ? node_size : max_u32(left, right);
    }
    return 0;
}
