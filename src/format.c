/* SPDX-License-Identifier: MIT */
/*
 * Renders a range's block tree in the seed's notation (buddy.h, at
 * buddy_range_format). The walk is iterative: a stack of the split nodes above
 * the current one, at most one per order. A split node opens with "(" and,
 * when no free block was written inside it, is patched to "{" as it closes.
 */
#include "layout.h"

typedef struct output {
    char *buffer;
    size_t size;   /* bytes the buffer holds, NUL included */
    size_t length; /* bytes of the whole rendering so far */
} output;

static void put_char(output *out, char c) {
    if (out->length + 1 < out->size)
        out->buffer[out->length] = c;
    out->length++;
}

static void put_number(output *out, uint64_t value) {
    char digits[20];
    unsigned count = 0;
    do {
        digits[count++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    while (count > 0)
        put_char(out, digits[--count]);
}

/* "(s:n)", "[s:n]" or "<s:n>" for a node that is not split. */
static void put_leaf(output *out, char open, char close, uint64_t start, uint64_t size) {
    put_char(out, open);
    put_number(out, start);
    put_char(out, ':');
    put_number(out, size);
    put_char(out, close);
}

typedef struct open_node {
    size_t bracket_at;       /* where its "(" was written */
    uint64_t free_leaves_at; /* free leaves written before it opened */
} open_node;

size_t buddy_range_format(const buddy_range *range, char *buffer, size_t buffer_size) {
    if (range == NULL || (buffer == NULL && buffer_size > 0)) {
        return 0;
    }
    output out = {buffer, buffer_size, 0};
    open_node stack[BUDDY_MAX_ORDER + 1];
    unsigned depth = 0;
    uint64_t free_leaves = 0;
    unsigned order = range->top_order;
    uint64_t index = 0;
    for (;;) {
        uint64_t start = index << order;
        uint64_t size = (uint64_t)1 << order;
        if (start >= range->block_count) {
            put_leaf(&out, '<', '>', start, size);
        } else if (order > 0 && node_test(range, order, index, SPLIT_BIT)) {
            stack[depth].bracket_at = out.length;
            stack[depth].free_leaves_at = free_leaves;
            depth++;
            put_char(&out, '(');
            order--;
            index <<= 1;
            continue;
        } else if (node_test(range, order, index, FREE_BIT)) {
            put_leaf(&out, '(', ')', start, size);
            free_leaves++;
        } else {
            put_leaf(&out, '[', ']', start, size);
        }
        /* Close every split node whose right child just finished. */
        while (depth > 0 && (index & 1u)) {
            depth--;
            bool has_free = free_leaves > stack[depth].free_leaves_at;
            if (!has_free && stack[depth].bracket_at + 1 < out.size)
                out.buffer[stack[depth].bracket_at] = '{';
            put_char(&out, has_free ? ')' : '}');
            order++;
            index >>= 1;
        }
        if (depth == 0)
            break;
        index |= 1u; /* on to the right sibling */
    }
    if (out.size > 0)
        out.buffer[out.length < out.size ? out.length : out.size - 1] = '\0';
    return out.length;
}
