/* SPDX-License-Identifier: MIT */
/*
 * A clean program of this build that runs the library's code the Valgrind
 * checks run: Valgrind must run it without a report before those checks can
 * mean anything (valgrind_reports.sh). A build whose flags let the compiler
 * use instructions Valgrind does not decode (AVX-512, from -march=native on a
 * CPU that has it) fails here, and the checks are skipped saying so.
 */
#include <stdio.h>

#include "buddy.h"

static _Alignas(4096) unsigned char region[1 << 16];

/* The script tells this failure of ours from Valgrind's by its prefix. */
static int failed(const char *call) {
    fprintf(stderr, "valgrind_probe: %s failed\n", call);
    return 1;
}

int main(void) {
    buddy_heap *heap = NULL;
    if (buddy_heap_init(&heap, region, sizeof region, NULL) != BUDDY_OK)
        return failed("buddy_heap_init");
    char *block = buddy_heap_malloc(heap, 100);
    if (block == NULL)
        return failed("buddy_heap_malloc");
    block[0] = 'b';
    if (buddy_heap_free(heap, block) != BUDDY_OK)
        return failed("buddy_heap_free");
    buddy_heap_fini(heap);
    return 0;
}
