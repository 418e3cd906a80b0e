/* SPDX-License-Identifier: MIT */
/*
 * Allocates a heap block and loses its pointer. Under Valgrind the heap is a
 * mempool, so memcheck's leak check must report the block as definitely lost.
 * (Memcheck skips its leak search when no ordinary malloc block is in use at
 * exit, so this program keeps one reachable, as any real program does.)
 */
#include <stdint.h>
#include <stdlib.h>

#include "buddy.h"

static _Alignas(4096) unsigned char region[1 << 16];
static void *volatile reachable;

int main(void) {
    buddy_heap *heap = NULL;
    if (buddy_heap_init(&heap, region, sizeof region, NULL) != BUDDY_OK)
        return 2;
    volatile uintptr_t address = (uintptr_t)buddy_heap_malloc(heap, 100);
    address = 0; /* the only pointer to the block is gone */
    reachable = malloc(8);
    return (int)address;
}
