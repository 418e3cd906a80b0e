/* SPDX-License-Identifier: MIT */
/*
 * The SVG pictures (svg.h), written by hand: rectangles and text only, so any
 * viewer renders them. Colours: live blocks by order (hue), free blocks grey.
 */
#include "svg.h"

#include <inttypes.h>
#include <string.h>

#define WIDTH 960.0
#define MARGIN 20.0
#define PLOT (WIDTH - 2 * MARGIN)
#define MAX_LIVES_DRAWN 20000

static unsigned order_of(uint64_t size, uint64_t min_block_size) {
    unsigned order = 0;
    while ((min_block_size << order) < size && order < 63)
        order++;
    return order;
}

static void colour_of(char *out, size_t size, unsigned order, bool is_live) {
    if (is_live)
        snprintf(out, size, "hsl(%u,55%%,52%%)", (order * 37u) % 360u);
    else
        snprintf(out, size, "#e6e6e6");
}

/* "512", "4K", "3M": a short label for a size in units. */
static void short_size(char *out, size_t size, uint64_t value) {
    static const char suffixes[] = " KMGTPE";
    unsigned step = 0;
    while (value >= 1024 && value % 1024 == 0 && step < 6) {
        value /= 1024;
        step++;
    }
    if (step == 0)
        snprintf(out, size, "%" PRIu64, value);
    else
        snprintf(out, size, "%" PRIu64 "%c", value, suffixes[step]);
}

static void rect(FILE *out, double x, double y, double w, double h, const char *fill) {
    fprintf(out,
            "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\" "
            "stroke=\"#555\" stroke-width=\"0.5\"/>\n",
            x, y, w > 0.3 ? w : 0.3, h, fill);
}

static void text(FILE *out, double x, double y, const char *anchor, const char *content) {
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">%s</text>\n", x, y, anchor,
            content);
}

/* The memory map: every block of the final state as one bar. */
static double draw_memory_map(FILE *out, const replay_result *r, double y) {
    text(out, MARGIN, y, "start", "Memory map at the end (address left to right; grey is free)");
    y += 8;
    double scale = PLOT / (double)r->end.capacity;
    for (size_t i = 0; i < r->block_count; i++) {
        const replay_block *b = &r->blocks[i];
        char fill[32], label[32];
        colour_of(fill, sizeof fill, order_of(b->size, r->end.min_block_size), b->is_live);
        double x = MARGIN + (double)b->offset * scale, w = (double)b->size * scale;
        rect(out, x, y, w, 36, fill);
        short_size(label, sizeof label, b->size);
        if (w >= 8.0 * (double)strlen(label) + 4)
            text(out, x + w / 2, y + 23, "middle", label);
    }
    return y + 60;
}

/* The buddy tree as an icicle: one row per order, blocks coloured, split
 * nodes white. Only for ranges of at most 256 min blocks. */
static double draw_tree(FILE *out, const replay_result *r, double y) {
    uint64_t blocks = r->end.capacity / r->end.min_block_size;
    if (blocks > 256)
        return y;
    unsigned top = order_of(r->end.capacity, r->end.min_block_size);
    double scale = PLOT / (double)((uint64_t)1 << top), row = 22;
    text(out, MARGIN, y, "start", "The buddy tree (white: split; one row per order)");
    y += 8;
    for (size_t i = 0; i < r->block_count; i++) {
        const replay_block *b = &r->blocks[i];
        uint64_t first = b->offset / r->end.min_block_size;
        unsigned order = order_of(b->size, r->end.min_block_size);
        for (unsigned above = order + 1; above <= top; above++) /* the split ancestors */
            rect(out, MARGIN + (double)((first >> above) << above) * scale, y + row * (top - above),
                 (double)((uint64_t)1 << above) * scale, row, "#fff");
        char fill[32];
        colour_of(fill, sizeof fill, order, b->is_live);
        rect(out, MARGIN + (double)first * scale, y + row * (top - order),
             (double)((uint64_t)1 << order) * scale, row, fill);
    }
    return y + row * (top + 1) + 30;
}

/* Time against address: each block from its allocation to its free. */
static double draw_lives(FILE *out, const replay_result *r, double y) {
    double height = 320;
    char caption[160];
    snprintf(caption, sizeof caption,
             "Live blocks over time (%" PRIu64 " operations left to right, address top to bottom)",
             r->ops);
    text(out, MARGIN, y, "start", caption);
    y += 8;
    rect(out, MARGIN, y, PLOT, height, "#fafafa");
    size_t stride = r->life_count > MAX_LIVES_DRAWN ? r->life_count / MAX_LIVES_DRAWN + 1 : 1;
    double time_scale = PLOT / (double)(r->ops ? r->ops : 1);
    double address_scale = height / (double)r->end.capacity;
    for (size_t i = 0; i < r->life_count; i += stride) {
        const replay_life *l = &r->lives[i];
        uint64_t died = l->died == UINT64_MAX ? r->ops : l->died;
        char fill[32];
        colour_of(fill, sizeof fill, order_of(l->size, r->end.min_block_size), true);
        fprintf(out, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>\n",
                MARGIN + (double)l->born * time_scale, y + (double)l->offset * address_scale,
                (double)(died - l->born) * time_scale + 0.3, (double)l->size * address_scale + 0.2,
                fill);
    }
    return y + height + 24;
}

void svg_write_replay(FILE *out, const char *title, const replay_result *result) {
    double y = 30;
    uint64_t blocks = result->end.capacity / result->end.min_block_size;
    unsigned top = order_of(result->end.capacity, result->end.min_block_size);
    double height = y + 12 + 60 + (blocks <= 256 ? 8 + 22.0 * (top + 1) + 30 : 0) + 8 + 320 + 24;
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n",
            WIDTH, height);
    fprintf(out, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"15\" font-weight=\"bold\">%s</text>\n",
            MARGIN, y - 8, title);
    y = draw_memory_map(out, result, y + 12);
    y = draw_tree(out, result, y);
    draw_lives(out, result, y);
    fprintf(out, "</svg>\n");
}
