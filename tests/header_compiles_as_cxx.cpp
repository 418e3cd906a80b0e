// SPDX-License-Identifier: MIT
// The public header compiles as C++ and links against the C library.
#include "buddy.h"

#include <cstdio>

int main() {
    buddy_range *range = nullptr;
    if (buddy_range_create(&range, 1024, 16, BUDDY_BEST_FIT) != BUDDY_OK)
        return 1;
    uint64_t offset = 0;
    int status = buddy_range_alloc(range, 100, &offset);
    std::printf("C++: alloc %s at %llu\n", buddy_status_str(status), (unsigned long long)offset);
    buddy_range_destroy(range);
    return status == BUDDY_OK ? 0 : 1;
}
