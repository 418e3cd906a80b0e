/* A heap inside a buffer: malloc's family, in-place growth, checked free. */
#include <stdio.h>
#include <string.h>

#include "buddy.h"

static unsigned char region[1 << 20]; /* any memory: static, mmap'd, shared */

int main(void) {
    buddy_heap_config config = {.policy = BUDDY_FIRST_FIT}; /* zeros: the defaults */
    buddy_heap *heap = NULL;
    int status = buddy_heap_init(&heap, region, sizeof region, &config); /* metadata inside */
    if (status != BUDDY_OK) {
        fprintf(stderr, "init: %s\n", buddy_status_str(status));
        return 1;
    }

    char *name = buddy_heap_malloc(heap, 100); /* a 128-byte block */
    strcpy(name, "buddy");
    char *same = buddy_heap_realloc(heap, name, 1000); /* grows in place: its buddies are free */
    printf("grew in place: %s, usable %zu bytes\n", same == name ? "yes" : "no",
           buddy_heap_usable_size(heap, same));

    void *page = buddy_heap_aligned_alloc(heap, 4096, 512); /* 4 KiB-aligned address */
    printf("page aligned: %s\n", (size_t)page % 4096 == 0 ? "yes" : "no");

    printf("free(interior): %s\n", buddy_status_str(buddy_heap_free(heap, same + 16)));
    buddy_heap_free(heap, page);
    buddy_heap_free(heap, same);
    /* A double free is rejected; same's block has merged into a larger free block. */
    printf("free(again): %s\n", buddy_status_str(buddy_heap_free(heap, same)));

    if (buddy_heap_malloc(heap, sizeof region) == NULL) {
        buddy_heap_failure failure;
        buddy_heap_last_failure(heap, &failure);
        printf("too large: %s\n", failure.reason == BUDDY_FAILURE_TOO_LARGE ? "yes" : "no");
    }
    status = buddy_heap_check(heap);
    buddy_heap_fini(heap);
    return status == BUDDY_OK ? 0 : 1;
}
