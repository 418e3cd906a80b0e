/* SPDX-License-Identifier: MIT */
/*
 * The range's runs, checked free and resize (src/range/run.c and place.c)
 * compiled again for the shared range, as logged.c compiles alloc and free: with
 * BUDDY_RANGE_STORE_HOOK=buddy_shared_will_store, so that each store's old
 * bytes reach the undo log first, and under the names of logged_names.h.
 */
#include "shared_internal.h" /* buddy.h before the names change: the public ones stay */

#include "logged_names.h"

#include "../range/place.c" /* NOLINT(bugprone-suspicious-include): a second copy, on purpose */
#include "../range/run.c"   /* NOLINT(bugprone-suspicious-include): the same */
