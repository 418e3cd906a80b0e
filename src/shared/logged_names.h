/* SPDX-License-Identifier: MIT */
/*
 * Names of their own for the functions of src/range/run.c and place.c in
 * their logged copy (logged_run.c), included first by the files that compile
 * or call that copy: the logged alloc and free's inline paths (range_core.h)
 * then reach the logged run paths, and both copies link into one library. A
 * function of those files missing here is a duplicate symbol at link time.
 */
#ifndef BUDDY_SHARED_LOGGED_NAMES_H
#define BUDDY_SHARED_LOGGED_NAMES_H

#define buddy_run_free buddy_shared_logged_run_free
#define buddy_run_check_start buddy_shared_logged_run_check_start
#define buddy_run_resize buddy_shared_logged_run_resize
#define buddy_checked_free buddy_shared_logged_checked_free
#define buddy_free_block_holding buddy_shared_logged_free_block_holding
#define buddy_all_free buddy_shared_logged_all_free
#define buddy_carve_piece buddy_shared_logged_carve_piece
#define buddy_run_mark buddy_shared_logged_run_mark
#define buddy_run_carve buddy_shared_logged_run_carve
#define buddy_run_carve_region buddy_shared_logged_run_carve_region
#define buddy_resize buddy_shared_logged_resize
#define buddy_range_alloc_exact buddy_shared_logged_alloc_exact
#define buddy_range_alloc_exact_aligned buddy_shared_logged_alloc_exact_aligned
#define buddy_range_alloc_packed buddy_shared_logged_alloc_packed
#define buddy_range_alloc_packed_aligned buddy_shared_logged_alloc_packed_aligned

#endif /* BUDDY_SHARED_LOGGED_NAMES_H */
