/* Manage 1000 units of some external memory (GPU, file, shared segment). */
#include <stdio.h>

#include "buddy.h"

int main(void) {
    static _Alignas(64) unsigned char metadata[16384];
    size_t needed = buddy_range_metadata_size(1000, 1);
    if (needed == 0 || needed > sizeof metadata)
        return 1;

    buddy_range *range = NULL;
    int status = buddy_range_init(&range, metadata, sizeof metadata, 1000, 1, BUDDY_FIRST_FIT);
    if (status != BUDDY_OK) {
        fprintf(stderr, "init: %s\n", buddy_status_str(status));
        return 1;
    }

    uint64_t a = 0, b = 0, size = 0;
    buddy_range_alloc(range, 100, &a); /* rounds up to 128 units */
    buddy_range_alloc(range, 3, &b);   /* 4 units */
    buddy_range_size(range, a, &size);
    printf("a at %llu (%llu units), b at %llu\n", (unsigned long long)a, (unsigned long long)size,
           (unsigned long long)b);

    status = buddy_range_free(range, a + 1); /* not a block start: rejected, nothing changes */
    printf("free(a + 1): %s\n", buddy_status_str(status));

    buddy_range_free(range, a);
    buddy_range_free(range, b);
    char tree[256];
    buddy_range_format(range, tree, sizeof tree);
    printf("%s\n", tree);
    return buddy_range_check(range) == BUDDY_OK ? 0 : 1;
}
