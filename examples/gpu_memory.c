/* Suballocate 256 MiB of device memory: alignment, a reservation, user data, a JSON dump. */
#include <stdio.h>
#include <stdlib.h>

#include "buddy.h"

int main(void) {
    buddy_range_config config = {
        .capacity = 256u << 20,      /* the heap we have now */
        .max_capacity = 1024u << 20, /* it may grow to 1 GiB: set_capacity */
        .min_block_size = 4096,
        .policy = BUDDY_BEST_FIT,
        .flags = BUDDY_RANGE_USER_DATA, /* a 64-bit value per allocation */
    };
    buddy_range *heap = NULL;
    int status = buddy_range_create_config(&heap, &config);
    if (status != BUDDY_OK) {
        fprintf(stderr, "create: %s\n", buddy_status_str(status));
        return 1;
    }
    buddy_range_reserve(heap, 0, 8u << 20); /* a framebuffer the firmware owns */

    uint64_t texture = 0, buffer = 0;
    buddy_range_alloc_exact_aligned(heap, 3u << 20, 64u << 10,
                                    &texture);        /* 3 MiB, 64 KiB-aligned */
    buddy_range_set_user_data(heap, texture, 0x7e47); /* say, the resource's handle */
    buddy_range_alloc_exact(heap, 100000, &buffer);

    status = buddy_range_free(heap, 0); /* the reservation is not an allocation */
    printf("free(framebuffer): %s\n", buddy_status_str(status));
    buddy_range_set_capacity(heap, 512u << 20); /* the driver gave us more */

    size_t length = buddy_range_dump_json(heap, NULL, 0, BUDDY_DUMP_BLOCKS);
    char *dump = malloc(length + 1);
    if (dump == NULL)
        return 1;
    buddy_range_dump_json(heap, dump, length + 1, BUDDY_DUMP_BLOCKS); /* buddy draw --dump */
    fputs(dump, stdout);
    free(dump);
    status = buddy_range_check(heap);
    buddy_range_destroy(heap);
    return status == BUDDY_OK ? 0 : 1;
}
