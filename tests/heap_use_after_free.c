/* SPDX-License-Identifier: MIT */
/*
 * Reads a heap block after freeing it. Under AddressSanitizer (or Valgrind)
 * the heap has poisoned the block, so the read must be reported; the test
 * passes when the tool's report appears. Without a tool it would read freed
 * memory silently, which is why it only runs under one.
 */
#include <stdio.h>

#include "buddy.h"

static _Alignas(4096) unsigned char region[1 << 16];

int main(void) {
    buddy_heap *heap = NULL;
    if (buddy_heap_init(&heap, region, sizeof region, NULL) != BUDDY_OK)
        return 2;
    volatile char *block = buddy_heap_malloc(heap, 32);
    block[0] = 'b';
    buddy_heap_free(heap, (void *)block);
    char after = block[0]; /* the use after free */
    printf("read %d after free: not caught\n", after);
    return 1;
}
