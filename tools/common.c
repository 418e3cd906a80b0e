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

void tool_format_size(char *out, size_t size, uint64_t bytes) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double value = (double)bytes;
    unsigned unit = 0;
    while (value >= 1024.0 && unit + 1 < sizeof units / sizeof units[0]) {
        value /= 1024.0;
        unit++;
    }
    if (unit == 0)
        snprintf(out, size, "%llu B", (unsigned long long)bytes);
    else if (value == (double)(uint64_t)value)
        snprintf(out, size, "%.0f %s", value, units[unit]);
    else
        snprintf(out, size, "%.1f %s", value, units[unit]);
}

/* The length of the UTF-8 sequence at `text` (1 to 4), or 0 if it is not one. */
static size_t utf8_length(const unsigned char *text) {
    static const struct {
        unsigned char lead_mask, lead, second_low, second_high;
        size_t length;
    } forms[] = {
        {0xe0, 0xc0, 0x80, 0xbf, 2}, /* C2..DF: C0 and C1 are excluded below */
        {0xf0, 0xe0, 0x80, 0xbf, 3}, /* overlongs and surrogates excluded below */
        {0xf8, 0xf0, 0x80, 0xbf, 4},
    };
    if (text[0] < 0x80)
        return 1;
    for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
        if ((text[0] & forms[f].lead_mask) != forms[f].lead)
            continue;
        for (size_t i = 1; i < forms[f].length; i++)
            if (text[i] < forms[f].second_low || text[i] > forms[f].second_high)
                return 0;
        unsigned point = text[0] & (0x7fu >> forms[f].length);
        for (size_t i = 1; i < forms[f].length; i++)
            point = (point << 6) | (text[i] & 0x3fu);
        static const unsigned least[] = {0, 0, 0x80, 0x800, 0x10000};
        bool surrogate = point >= 0xd800 && point <= 0xdfff;
        return point >= least[forms[f].length] && point <= 0x10ffff && !surrogate ? forms[f].length
                                                                                  : 0;
    }
    return 0;
}

void tool_print_json_string(FILE *out, const char *text) {
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0';) {
        size_t length = utf8_length(c);
        if (length == 0) {
            fputs("\\ufffd", out);
            c++;
        } else if (*c == '"' || *c == '\\') {
            fprintf(out, "\\%c", *c++);
        } else if (*c < 0x20) {
            fprintf(out, "\\u%04x", *c++);
        } else {
            fwrite(c, 1, length, out);
            c += length;
        }
    }
    fputc('"', out);
}
