/* SPDX-License-Identifier: MIT */
/*
 * The logged alloc and free (logged.c) compiled for x86-64-v3, as
 * src/range/range_x86_64_v3.c compiles the plain ones: the build adds
 * -march=x86-64-v3 to this file, and shared.c calls these where the CPU has
 * it (src/range/dispatch.h). Same hook, same logging, other instructions.
 */
#include "shared_internal.h"

#include "logged_names.h"

#include "dispatch.h"
#include "range_core.h"

#if BUDDY_HAVE_X86_64_V3
int buddy_shared_logged_alloc_x86_64_v3(buddy_range *range, uint64_t size, uint64_t *offset_out) {
    return range_alloc(range, size, offset_out);
}

int buddy_shared_logged_free_x86_64_v3(buddy_range *range, uint64_t offset) {
    return range_free(range, offset);
}
#endif
