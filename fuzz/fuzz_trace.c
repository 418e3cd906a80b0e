/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the `buddy` command's trace parser and replay engine: the
 * input is a trace (the first byte picks range or heap and the policy, exact
 * runs included). A malformed or inconsistent trace must be reported, never
 * crash; a trace that replays must leave the allocator's invariants intact.
 */
#define _POSIX_C_SOURCE 200809L /* fmemopen */
#include <stdio.h>

#include "fuzz_input.h"
#include "tool.h"
#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0;
    static FILE *quiet;
    if (quiet == NULL)
        quiet = fopen("/dev/null", "w"); /* bad lines are reported there */
    replay_options options = {4096,
                              16,
                              (data[0] & 1) ? BUDDY_FIRST_FIT : BUDDY_BEST_FIT,
                              (data[0] & 2) != 0,
                              false,
                              64,
                              quiet,
                              false,
                              (data[0] & 6) == 4, /* exact runs on a range */
                              NULL,
                              (data[0] & 10) == 8}; /* the ideal best-fit reference */
    FILE *input = fmemopen((void *)(data + 1), size - 1, "r");
    if (input == NULL)
        return 0;
    replay_result result;
    int status = replay_run(input, "fuzz", &options, &result);
    fclose(input);
    FUZZ_REQUIRE(status == TOOL_OK || status == TOOL_BAD_TRACE);
    FUZZ_REQUIRE(status != TOOL_OK || result.check_status == BUDDY_OK);
    replay_result_free(&result);
    return 0;
}
