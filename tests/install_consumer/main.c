/* SPDX-License-Identifier: MIT */
/* A program outside the tree that finds buddy through its CMake package. */
#include <buddy.h>
#include <stdio.h>

int main(void) {
    buddy_range *range = NULL;
    if (buddy_range_create(&range, 1024, 1, BUDDY_BEST_FIT) != BUDDY_OK)
        return 1;
    uint64_t offset = 99;
    int status = buddy_range_alloc(range, 10, &offset);
    printf("installed buddy %s: alloc at %llu\n", buddy_version(), (unsigned long long)offset);
    buddy_range_destroy(range);
    return status == BUDDY_OK && offset == 0 ? 0 : 1;
}
