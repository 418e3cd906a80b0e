/* SPDX-License-Identifier: MIT */
/*
 * snprintf-style output for the renderers (format.c, dump.c): everything is
 * counted, and what fits in the buffer (NUL included) is written.
 */
#ifndef BUDDY_TEXT_H
#define BUDDY_TEXT_H

#include <stddef.h>
#include <stdint.h>

typedef struct text {
    char *buffer;
    size_t size;   /* bytes the buffer holds, NUL included */
    size_t length; /* bytes of the whole text so far */
} text;

static inline void text_char(text *out, char c) {
    if (out->length + 1 < out->size)
        out->buffer[out->length] = c;
    out->length++;
}

static inline void text_string(text *out, const char *string) {
    for (; *string != '\0'; string++)
        text_char(out, *string);
}

static inline void text_number(text *out, uint64_t value) {
    char digits[20];
    unsigned count = 0;
    do {
        digits[count++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    while (count > 0)
        text_char(out, digits[--count]);
}

/* Terminates the text (if the buffer has a byte) and returns its length. */
static inline size_t text_end(text *out) {
    if (out->size > 0)
        out->buffer[out->length < out->size ? out->length : out->size - 1] = '\0';
    return out->length;
}

#endif /* BUDDY_TEXT_H */
