/* SPDX-License-Identifier: MIT */
/*
 * The trace parser (trace.h): one line of a trace into an operation, or a
 * message that says what is wrong with it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "trace.h"

static const char *const expected_forms =
    "expected 'a ID SIZE [ALIGN]', 'f ID' or 'r ID SIZE [NEWID]'";

/* Splits `line` (up to its newline or a '#') into at most `most` words; returns
 * the count, or most + 1 if there are more. */
static int split_words(const char *line, const char *words[], size_t lengths[], int most) {
    int count = 0;
    for (const char *at = line; *at != '\0' && *at != '\n' && *at != '#';) {
        size_t blanks = strspn(at, " \t\r");
        at += blanks;
        size_t length = strcspn(at, " \t\r\n#");
        if (length == 0)
            continue;
        if (count == most)
            return most + 1;
        words[count] = at;
        lengths[count++] = length;
        at += length;
    }
    return count;
}

/* Reads a decimal number that is a whole word; false with a message if not. */
static bool parse_number(const char *word, size_t length, const char *what, uint64_t *value,
                         char *error, size_t error_size) {
    const char *end = NULL;
    if (tool_parse_decimal(word, &end, value) && end == word + length)
        return true;
    snprintf(error, error_size, "%s '%.*s' is not a decimal number from 0 to 2^64-1", what,
             (int)(length > 40 ? 40 : length), word);
    return false;
}

static bool copy_id(char *id, const char *word, size_t length, char *error, size_t error_size) {
    if (length >= TRACE_ID_SIZE) {
        snprintf(error, error_size, "an ID has at most %d characters ('%.20s...' has %zu)",
                 TRACE_ID_SIZE - 1, word, length);
        return false;
    }
    memcpy(id, word, length);
    id[length] = '\0';
    return true;
}

int trace_parse_line(const char *line, trace_op *op, char *error, size_t error_size) {
    const char *words[4];
    size_t lengths[4];
    int count = split_words(line, words, lengths, 4);
    if (count == 0)
        return 0;
    op->kind = words[0][0];
    op->size = op->alignment = 0;
    op->new_id[0] = '\0';
    if (lengths[0] != 1 || strchr("afr", op->kind) == NULL) {
        snprintf(error, error_size, "'%.*s' is not an operation: %s",
                 (int)(lengths[0] > 20 ? 20 : lengths[0]), words[0], expected_forms);
        return -1;
    }
    int needed = op->kind == 'f' ? 2 : 3, allowed = op->kind == 'f' ? 2 : 4;
    if (count < needed || count > allowed) {
        snprintf(error, error_size, "%s",
                 op->kind == 'a'   ? "expected 'a ID SIZE [ALIGN]'"
                 : op->kind == 'f' ? "expected 'f ID'"
                                   : "expected 'r ID SIZE [NEWID]'");
        return -1;
    }
    if (!copy_id(op->id, words[1], lengths[1], error, error_size))
        return -1;
    if (needed == 3 && !parse_number(words[2], lengths[2], "SIZE", &op->size, error, error_size))
        return -1;
    if (count == 4 && op->kind == 'r')
        return copy_id(op->new_id, words[3], lengths[3], error, error_size) ? 1 : -1;
    if (count == 4) {
        if (!parse_number(words[3], lengths[3], "ALIGN", &op->alignment, error, error_size))
            return -1;
        if (op->alignment == 0 || (op->alignment & (op->alignment - 1)) != 0) {
            snprintf(error, error_size, "ALIGN %llu is not a power of two",
                     (unsigned long long)op->alignment);
            return -1;
        }
    }
    return 1;
}
