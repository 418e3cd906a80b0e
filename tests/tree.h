/* SPDX-License-Identifier: MIT */
/* Test helpers over the public API: the tree string of a range. */
#ifndef BUDDY_TESTS_TREE_H
#define BUDDY_TESTS_TREE_H

#include "buddy.h"

/* The range's seed-notation tree in a static buffer (long trees truncate). */
static inline const char *tree_of(const buddy_range *range) {
    static char text[1 << 16];
    buddy_range_format(range, text, sizeof text);
    return text;
}

#endif /* BUDDY_TESTS_TREE_H */
