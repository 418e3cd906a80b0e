/* SPDX-License-Identifier: MIT */
/*
 * The command line's words: decimal numbers, sizes with units, policy names,
 * and an argument reader that takes `--name value` and `--name=value` alike
 * and names the argument, the value and what it accepts in every error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tool.h"

bool tool_parse_decimal(const char *text, const char **end, uint64_t *value_out) {
    uint64_t value = 0;
    const char *digit = text;
    for (; *digit >= '0' && *digit <= '9'; digit++) {
        unsigned next = (unsigned)(*digit - '0');
        if (value > (UINT64_MAX - next) / 10)
            return false; /* above 2^64 - 1 */
        value = value * 10 + next;
    }
    if (digit == text)
        return false;
    *end = digit;
    *value_out = value;
    return true;
}

/* The units a size may carry, matched without regard to case. */
static const struct {
    const char *name;
    uint64_t factor;
} units[] = {
    {"", 1},
    {"b", 1},
    {"k", UINT64_C(1) << 10},
    {"kib", UINT64_C(1) << 10},
    {"kb", UINT64_C(1000)},
    {"m", UINT64_C(1) << 20},
    {"mib", UINT64_C(1) << 20},
    {"mb", UINT64_C(1000000)},
    {"g", UINT64_C(1) << 30},
    {"gib", UINT64_C(1) << 30},
    {"gb", UINT64_C(1000000000)},
    {"t", UINT64_C(1) << 40},
    {"tib", UINT64_C(1) << 40},
    {"tb", UINT64_C(1000000000000)},
};

const char *tool_parse_size(const char *text, uint64_t *value_out) {
    const char *unit = NULL;
    uint64_t value = 0;
    if (!tool_parse_decimal(text, &unit, &value))
        return text[0] >= '0' && text[0] <= '9' ? "is above 2^64-1"
                                                : "is not a size (a decimal number with an "
                                                  "optional unit: K, KiB, KB, M, MiB, MB, G, T)";
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(unit, units[i].name) != 0)
            continue;
        if (value > UINT64_MAX / units[i].factor)
            return "is above 2^64-1";
        *value_out = value * units[i].factor;
        return NULL;
    }
    return "has an unknown unit (expected K, KiB or KB, M, MiB or MB, G, GiB or GB, T; "
           "K and KiB are 1024, KB is 1000)";
}

bool tool_parse_policy(const char *text, buddy_policy *policy_out, tool_sizing *sizing_out) {
    bool exact = strcasecmp(text, "exact") == 0;
    if (exact || strcasecmp(text, "packed") == 0) {
        *policy_out = BUDDY_BEST_FIT;
        *sizing_out = exact ? TOOL_EXACT : TOOL_PACKED;
        return true;
    }
    static const struct {
        const char *name;
        buddy_policy policy;
    } names[] = {{"best_fit", BUDDY_BEST_FIT},   {"best-fit", BUDDY_BEST_FIT},
                 {"best", BUDDY_BEST_FIT},       {"first_fit", BUDDY_FIRST_FIT},
                 {"first-fit", BUDDY_FIRST_FIT}, {"first", BUDDY_FIRST_FIT}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(text, names[i].name) == 0) {
            *policy_out = names[i].policy;
            *sizing_out = TOOL_ROUNDED;
            return true;
        }
    }
    return false;
}

const char *tool_policy_name(buddy_policy policy, tool_sizing sizing) {
    return sizing == TOOL_EXACT        ? "exact"
           : sizing == TOOL_PACKED     ? "packed"
           : policy == BUDDY_FIRST_FIT ? "first_fit"
                                       : "best_fit";
}

int tool_args_error(const tool_args *args, const char *format, ...) {
    fprintf(stderr, "buddy %s: ", args->command);
    va_list list;
    va_start(list, format);
    vfprintf(stderr, format, list);
    va_end(list);
    fprintf(stderr, "\nTry 'buddy %s --help' for more.\n", args->command);
    return TOOL_USAGE;
}

bool tool_args_next(tool_args *args) {
    if (args->next >= args->argc)
        return false;
    args->arg = args->argv[args->next++];
    args->value = NULL;
    return true;
}

bool tool_args_is(tool_args *args, const char *name, bool takes_value) {
    size_t length = strlen(name);
    if (strncmp(args->arg, name, length) != 0 ||
        (args->arg[length] != '\0' && args->arg[length] != '='))
        return false;
    if (args->arg[length] == '=') {
        args->value = args->arg + length + 1;
        if (!takes_value)
            args->status = tool_args_error(args, "%s takes no value (got '%s')", name, args->value);
    } else if (takes_value) {
        if (args->next < args->argc)
            args->value = args->argv[args->next++];
        else
            args->status = tool_args_error(args, "%s needs a value", name);
    }
    return true;
}

void tool_args_size(tool_args *args, const char *name, uint64_t *value_out) {
    const char *why = args->value != NULL ? tool_parse_size(args->value, value_out) : NULL;
    if (why != NULL)
        args->status = tool_args_error(args, "%s '%s' %s", name, args->value, why);
}

void tool_args_policy(tool_args *args, buddy_policy *policy_out, tool_sizing *sizing_out) {
    if (args->value == NULL || tool_parse_policy(args->value, policy_out, sizing_out))
        return;
    args->status = tool_args_error(
        args,
        "--policy '%s' is not a policy (expected best_fit, first_fit, exact or packed; "
        "best, first, best-fit and first-fit also work)",
        args->value);
}

void tool_args_unknown(tool_args *args, const char *accepted) {
    if (args->arg[0] == '-' && args->arg[1] != '\0')
        args->status =
            tool_args_error(args, "unknown option '%s' (options: %s)", args->arg, accepted);
    else
        args->status = tool_args_error(args, "unexpected argument '%s'", args->arg);
}
