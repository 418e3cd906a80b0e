/* SPDX-License-Identifier: MIT */
/* A known allocation pattern for the `buddy record` test: 100 mallocs, 50
 * reallocs, an aligned allocation, then every block freed. */
#include <stdlib.h>

int main(void) {
    static void *blocks[100];
    for (int i = 0; i < 100; i++)
        blocks[i] = malloc((size_t)(16 + i * 8));
    for (int i = 0; i < 50; i++)
        blocks[i] = realloc(blocks[i], (size_t)(1000 + i));
    void *page = aligned_alloc(4096, 4096);
    free(page);
    for (int i = 0; i < 100; i++)
        free(blocks[i]);
    return 0;
}
