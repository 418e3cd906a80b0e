/* SPDX-License-Identifier: MIT */
/* Helpers every subcommand of the `buddy` command shares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

bool tool_is_help(const char *argument) {
    return strcmp(argument, "--help") == 0 || strcmp(argument, "-h") == 0;
}

int tool_fail(const char *what, int status) {
    fprintf(stderr, "buddy %s: %s\n", what, buddy_status_str(status));
    return TOOL_FAILED;
}

int tool_usage_error(const char *what, const char *usage) {
    fprintf(stderr, "buddy %s: bad usage\n%s", what, usage);
    return TOOL_USAGE;
}

bool tool_parse_size(const char *text, uint64_t *value_out) {
    char *end = NULL;
    if (text[0] < '0' || text[0] > '9')
        return false;
    unsigned long long value = strtoull(text, &end, 0);
    const char *suffixes = "KMGT";
    const char *suffix = *end != '\0' ? strchr(suffixes, *end) : NULL;
    if (suffix != NULL) {
        unsigned shift = 10u * (unsigned)(suffix - suffixes + 1);
        if (value > (UINT64_MAX >> shift))
            return false;
        value <<= shift;
        end++;
    }
    if (*end != '\0')
        return false;
    *value_out = value;
    return true;
}
