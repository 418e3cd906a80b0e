/* SPDX-License-Identifier: MIT */
/*
 * The SVG pictures (svg.h), written by hand: rectangles, lines and text only,
 * so any viewer renders them. A live block's colour says its size (one hue per
 * block size, named in the legend); its solid part is what the trace asked
 * for and its pale part the rounding waste. Free blocks are grey; failed
 * allocations are red marks on the time axis.
 */
#include "svg.h"

#include <inttypes.h>
#include <string.h>

#include "tool.h"

#define WIDTH 960.0
#define LEFT 84.0 /* room for the address axis's labels */
#define RIGHT 20.0
#define PLOT (WIDTH - LEFT - RIGHT)
#define MAP_HEIGHT 36.0
#define LIVES_HEIGHT 320.0
#define TREE_ROW 22.0
#define MAX_LIVES_DRAWN 20000
#define MAX_FAILURES_DRAWN 2000
#define FREE_FILL "#e6e6e6"
#define RESERVED_FILL "#6b6b6b"
#define FAILURE_STROKE "#d62728"

static unsigned order_of(uint64_t size, uint64_t min_block_size) {
    unsigned order = 0;
    while ((min_block_size << order) < size && order < 63)
        order++;
    return order;
}

/* The block size's hue; the solid shade for what was asked, the pale one for waste. */
static void colour_of(char *out, size_t size, unsigned order, bool waste) {
    /* The golden angle apart: blocks of neighbouring sizes get distant hues. */
    snprintf(out, size, "hsl(%u,%s)", (order * 137u) % 360u, waste ? "60%,86%" : "55%,50%");
}

static void rect(FILE *out, double x, double y, double w, double h, const char *fill,
                 bool outlined) {
    fprintf(out, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"%s/>\n", x,
            y, w > 0.3 ? w : 0.3, h, fill, outlined ? " stroke=\"#555\" stroke-width=\"0.5\"" : "");
}

static void line(FILE *out, double x1, double y1, double x2, double y2, const char *stroke) {
    fprintf(out,
            "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" "
            "stroke-width=\"1.5\"/>\n",
            x1, y1, x2, y2, stroke);
}

static void text(FILE *out, double x, double y, const char *anchor, const char *content) {
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">%s</text>\n", x, y, anchor,
            content);
}

/* A block drawn as its requested part (solid) and its rounding waste (pale),
 * along x (the memory map) or along y (the lives map). */
static void block_parts(FILE *out, double x, double y, double w, double h, unsigned order,
                        double requested_share, bool along_x) {
    char solid[32], pale[32];
    colour_of(solid, sizeof solid, order, false);
    colour_of(pale, sizeof pale, order, true);
    rect(out, x, y, w, h, pale, false);
    if (along_x)
        rect(out, x, y, w * requested_share, h, solid, false);
    else
        rect(out, x, y, w, h * requested_share, solid, false);
}

static double requested_share(uint64_t requested, uint64_t size) {
    return size == 0 || requested >= size ? 1.0 : (double)requested / (double)size;
}

/* The legend: a swatch per block size present, then free, waste and failures. */
static double draw_legend(FILE *out, const replay_result *r, double y) {
    bool present[64] = {false};
    for (size_t i = 0; i < r->life_count; i++)
        present[order_of(r->lives[i].size, r->end.min_block_size)] = true;
    text(out, LEFT, y, "start",
         "Colour = block size (solid: the bytes the trace asked for; pale: rounding waste)");
    y += 8;
    double x = LEFT;
    char label[32], fill[32];
    for (unsigned order = 0; order < 64; order++) {
        if (!present[order])
            continue;
        if (x > WIDTH - RIGHT - 70) {
            x = LEFT;
            y += 18;
        }
        colour_of(fill, sizeof fill, order, false);
        rect(out, x, y, 12, 12, fill, true);
        colour_of(fill, sizeof fill, order, true);
        rect(out, x + 12, y, 6, 12, fill, true);
        tool_format_size(label, sizeof label, r->end.min_block_size << order);
        text(out, x + 22, y + 10, "start", label);
        x += 86;
    }
    y += 22;
    rect(out, LEFT, y, 18, 12, FREE_FILL, true);
    text(out, LEFT + 22, y + 10, "start", "free block");
    line(out, LEFT + 120, y, LEFT + 120, y + 12, FAILURE_STROKE);
    text(out, LEFT + 126, y + 10, "start", "failed allocation (on the time axis)");
    return y + 34;
}

/* Ticks along one axis: `count` + 1 labels of values 0..whole at x (or y). */
static void axis_ticks(FILE *out, double from, double length, double at, uint64_t whole,
                       bool horizontal, bool sizes) {
    const int count = 4;
    for (int i = 0; i <= count; i++) {
        double where = from + length * i / count;
        uint64_t value = (uint64_t)((double)whole * i / count);
        char label[32];
        if (sizes)
            tool_format_size(label, sizeof label, value);
        else
            snprintf(label, sizeof label, "%" PRIu64, value);
        if (horizontal) {
            line(out, where, at, where, at + 4, "#333");
            text(out, where, at + 15, i == 0 ? "start" : i == count ? "end" : "middle", label);
        } else {
            line(out, at - 4, where, at, where, "#333");
            text(out, at - 6, where + 4, "end", label);
        }
    }
}

/* The memory map: every block of the final state along the address axis. */
static double draw_memory_map(FILE *out, const replay_result *r, double y, const char *caption) {
    text(out, LEFT, y, "start", caption);
    y += 8;
    double scale = PLOT / (double)r->end.capacity;
    for (size_t i = 0; i < r->block_count; i++) {
        const replay_block *b = &r->blocks[i];
        double x = LEFT + (double)b->offset * scale, w = (double)b->size * scale;
        if (b->is_live)
            block_parts(out, x, y, w, MAP_HEIGHT, order_of(b->size, r->end.min_block_size),
                        requested_share(b->requested, b->size), true);
        else
            rect(out, x, y, w, MAP_HEIGHT, b->is_reserved ? RESERVED_FILL : FREE_FILL, false);
    }
    rect(out, LEFT, y, PLOT, MAP_HEIGHT, "none", true);
    axis_ticks(out, LEFT, PLOT, y + MAP_HEIGHT, r->end.capacity, true, true);
    text(out, LEFT + PLOT / 2, y + MAP_HEIGHT + 30, "middle", "address (units)");
    return y + MAP_HEIGHT + 56;
}

/* The buddy tree as an icicle: one row per order, blocks coloured, split
 * nodes white. Only for ranges of at most 256 min blocks. */
static double draw_tree(FILE *out, const replay_result *r, double y) {
    uint64_t blocks = r->end.capacity / r->end.min_block_size;
    if (blocks > 256)
        return y;
    unsigned top = order_of(r->end.capacity, r->end.min_block_size);
    double scale = PLOT / (double)((uint64_t)1 << top);
    text(out, LEFT, y, "start",
         "The buddy tree (one row per block size, largest on top; white: split)");
    y += 8;
    for (unsigned order = 0; order <= top; order++) {
        char label[32];
        tool_format_size(label, sizeof label, r->end.min_block_size << order);
        text(out, LEFT - 6, y + TREE_ROW * (top - order) + 15, "end", label);
    }
    for (size_t i = 0; i < r->block_count; i++) {
        const replay_block *b = &r->blocks[i];
        uint64_t first = b->offset / r->end.min_block_size;
        unsigned order = order_of(b->size, r->end.min_block_size);
        for (unsigned above = order + 1; above <= top; above++) /* the split ancestors */
            rect(out, LEFT + (double)((first >> above) << above) * scale,
                 y + TREE_ROW * (top - above), (double)((uint64_t)1 << above) * scale, TREE_ROW,
                 "#fff", true);
        char fill[32];
        colour_of(fill, sizeof fill, order, false);
        rect(out, LEFT + (double)first * scale, y + TREE_ROW * (top - order),
             (double)((uint64_t)1 << order) * scale, TREE_ROW, b->is_live ? fill : FREE_FILL, true);
    }
    return y + TREE_ROW * (top + 1) + 30;
}

/* Time against address: each block from its allocation to its free. */
static double draw_lives(FILE *out, const replay_result *r, double y) {
    char caption[200];
    snprintf(caption, sizeof caption,
             "Blocks over time: each live block from its allocation to its free "
             "(failed allocations, in red below the plot: %zu)",
             r->failure_count);
    text(out, LEFT, y, "start", caption);
    y += 8;
    rect(out, LEFT, y, PLOT, LIVES_HEIGHT, "#fafafa", false);
    size_t stride = r->life_count > MAX_LIVES_DRAWN ? r->life_count / MAX_LIVES_DRAWN + 1 : 1;
    double time_scale = PLOT / (double)(r->ops ? r->ops : 1);
    double address_scale = LIVES_HEIGHT / (double)r->end.capacity;
    for (size_t i = 0; i < r->life_count; i += stride) {
        const replay_life *l = &r->lives[i];
        uint64_t died = l->died == UINT64_MAX ? r->ops : l->died;
        block_parts(out, LEFT + (double)l->born * time_scale, y + (double)l->offset * address_scale,
                    (double)(died - l->born) * time_scale + 0.3,
                    (double)l->size * address_scale + 0.2, order_of(l->size, r->end.min_block_size),
                    requested_share(l->requested, l->size), false);
    }
    rect(out, LEFT, y, PLOT, LIVES_HEIGHT, "none", true);
    axis_ticks(out, y, LIVES_HEIGHT, LEFT, r->end.capacity, false, true);
    fprintf(out,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 %.1f "
            "%.1f)\">address (units)</text>\n",
            14.0, y + LIVES_HEIGHT / 2, 14.0, y + LIVES_HEIGHT / 2);
    double axis = y + LIVES_HEIGHT;
    size_t failure_stride =
        r->failure_count > MAX_FAILURES_DRAWN ? r->failure_count / MAX_FAILURES_DRAWN + 1 : 1;
    for (size_t i = 0; i < r->failure_count; i += failure_stride) {
        double x = LEFT + (double)r->failure_ops[i] * time_scale;
        line(out, x, axis + 1, x, axis + 10, FAILURE_STROKE);
    }
    axis_ticks(out, LEFT, PLOT, axis + 10, r->ops, true, false);
    text(out, LEFT + PLOT / 2, axis + 40, "middle", "time (operations of the trace)");
    return axis + 56;
}

/* The header of a picture `height` high, with its title. */
static void begin_picture(FILE *out, double height, const char *title) {
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n",
            WIDTH, height);
    fprintf(out, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"15\" font-weight=\"bold\">%s</text>\n",
            LEFT, 22.0, title);
}

void svg_write_map(FILE *out, const char *title, const replay_result *result) {
    const buddy_range_stats *end = &result->end;
    begin_picture(out, 66 + 22 + 34 + 8 + MAP_HEIGHT + 56, title);
    char live[32], free_bytes[32], reserved[32], largest[32], summary[256];
    tool_format_size(live, sizeof live, end->allocated_bytes);
    tool_format_size(free_bytes, sizeof free_bytes, end->free_bytes);
    tool_format_size(reserved, sizeof reserved, end->reserved_bytes);
    tool_format_size(largest, sizeof largest, end->largest_free_block);
    snprintf(summary, sizeof summary,
             "%" PRIu64 " live blocks: %s; free %s (largest block %s); reserved %s",
             end->live_blocks, live, free_bytes, largest, reserved);
    text(out, LEFT, 42, "start", summary);
    double y = 66;
    text(out, LEFT, y, "start", "Colour = block size (live blocks and exact runs)");
    rect(out, LEFT, y + 8, 18, 12, FREE_FILL, true);
    text(out, LEFT + 22, y + 18, "start", "free block");
    rect(out, LEFT + 120, y + 8, 18, 12, RESERVED_FILL, true);
    text(out, LEFT + 142, y + 18, "start", "reserved");
    draw_memory_map(out, result, y + 22 + 34, "Memory map (address left to right)");
    fprintf(out, "</svg>\n");
}

void svg_write_replay(FILE *out, const char *title, const replay_result *result) {
    uint64_t blocks = result->end.capacity / result->end.min_block_size;
    unsigned top = order_of(result->end.capacity, result->end.min_block_size);
    double height = 66 + 8 + 18 + 22 + 34 + 8 + MAP_HEIGHT + 56 +
                    (blocks <= 256 ? 8 + TREE_ROW * (top + 1) + 30 : 0) + 8 + LIVES_HEIGHT + 56;
    begin_picture(out, height, title);
    char requested[32], taken[32], summary[256];
    tool_format_size(requested, sizeof requested, result->requested_peak);
    tool_format_size(taken, sizeof taken, result->end.peak_allocated_bytes);
    uint64_t peak = result->end.peak_allocated_bytes;
    snprintf(summary, sizeof summary,
             "Peak: %s asked for, %s of blocks (rounding waste %.1f%%); %" PRIu64
             " allocations failed",
             requested, taken,
             peak > result->requested_peak
                 ? 100.0 * (double)(peak - result->requested_peak) / (double)peak
                 : 0.0,
             result->failures);
    text(out, LEFT, 42, "start", summary);
    double y = draw_legend(out, result, 66);
    y = draw_memory_map(out, result, y, "Memory map at the end (address left to right)");
    y = draw_tree(out, result, y);
    draw_lives(out, result, y);
    fprintf(out, "</svg>\n");
}
