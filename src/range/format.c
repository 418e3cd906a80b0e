/* SPDX-License-Identifier: MIT */
/*
 * Renders a range's block tree in the seed's notation (buddy.h, at
 * buddy_range_format) over the shared traversal (walk.h). A split node opens
 * with "(" and, when no free block was written inside it, is patched to "{"
 * as it closes.
 */
#include "layout.h"
#include "text.h"
#include "walk.h"
#include "sync.h"

typedef struct output {
    text text;
    bool in_run;                            /* the leaf before was a piece of a run that goes on */
    size_t bracket_at[BUDDY_MAX_ORDER + 1]; /* where each open split's "(" is */
} output;

static void put_char(output *out, char c) {
    text_char(&out->text, c);
}

static void open_split(void *context, unsigned depth) {
    output *out = context;
    out->bracket_at[depth] = out->text.length;
    put_char(out, '(');
}

/* "(s:n)" free, "[s:n]" live, "<s:n>" beyond the capacity; a later piece of
 * an exact run is "[+s:n]", a reserved block "[#s:n]". */
static bool put_leaf(void *context, uint64_t start, uint64_t size, leaf_kind kind) {
    static const char brackets[][2] = {{'(', ')'}, {'[', ']'}, {'<', '>'}, {'[', ']'}, {'[', ']'}};
    output *out = context;
    put_char(out, brackets[kind][0]);
    if (out->in_run)
        put_char(out, '+');
    if (kind == LEAF_RESERVED)
        put_char(out, '#');
    out->in_run = kind == LEAF_RUN_PIECE;
    text_number(&out->text, start);
    put_char(out, ':');
    text_number(&out->text, size);
    put_char(out, brackets[kind][1]);
    return true;
}

static void close_split(void *context, unsigned depth, bool has_free) {
    output *out = context;
    if (!has_free && out->bracket_at[depth] + 1 < out->text.size)
        out->text.buffer[out->bracket_at[depth]] = '{';
    put_char(out, has_free ? ')' : '}');
}

static size_t unlocked_format(const buddy_range *range, char *buffer, size_t buffer_size) {
    if (range == NULL || (buffer == NULL && buffer_size > 0))
        return 0;
    output out;
    out.text.buffer = buffer;
    out.text.size = buffer_size;
    out.text.length = 0;
    out.in_run = false;
    const tree_visitor seed_notation = {open_split, put_leaf, close_split};
    buddy_tree_visit(range, &seed_notation, &out);
    return text_end(&out.text);
}

size_t buddy_range_format(const buddy_range *range, char *buffer, size_t buffer_size) {
    BUDDY_SYNCED(size_t, range, unlocked_format(range, buffer, buffer_size));
}
