/* SPDX-License-Identifier: MIT */
/*
 * buddy_range_dump_json: a range's statistics, and optionally its map, as one
 * JSON object of schema "buddy-range/1" (docs/json.md describes every field).
 */
#include "layout.h"
#include "text.h"
#include "sync.h"

static void put_field(text *out, const char *name, uint64_t value) {
    text_string(out, ", \"");
    text_string(out, name);
    text_string(out, "\": ");
    text_number(out, value);
}

typedef struct dump_context {
    text *out;
    const buddy_range *range;
    bool first;
} dump_context;

static int put_block(uint64_t offset, uint64_t size, buddy_block_state state, void *user) {
    static const char *const state_names[] = {"free", "live", "reserved"};
    dump_context *dump = user;
    text *out = dump->out;
    text_string(out, dump->first ? "\n  {\"offset\": " : ",\n  {\"offset\": ");
    dump->first = false;
    text_number(out, offset);
    put_field(out, "size", size);
    text_string(out, ", \"state\": \"");
    text_string(out, state_names[state]);
    text_char(out, '"');
    uint64_t value = 0;
    if (state == BUDDY_BLOCK_LIVE && buddy_unlocked_get_user_data(dump->range, offset, &value) ==
                                         BUDDY_OK) /* fails iff the range has none */
        put_field(out, "user_data", value);
    text_char(out, '}');
    return 0;
}

static size_t unlocked_dump_json(const buddy_range *range, char *buffer, size_t buffer_size,
                                 unsigned flags) {
    buddy_range_stats stats;
    if (range == NULL || (buffer == NULL && buffer_size > 0) ||
        (flags & ~(unsigned)BUDDY_DUMP_BLOCKS) != 0 ||
        buddy_unlocked_get_stats(range, &stats) != BUDDY_OK)
        return 0;
    text out = {buffer, buffer_size, 0};
    text_string(&out, "{\"schema\": \"buddy-range/1\"");
    put_field(&out, "capacity", stats.capacity);
    put_field(&out, "max_capacity", stats.max_capacity);
    put_field(&out, "min_block_size", stats.min_block_size);
    text_string(&out, stats.policy == BUDDY_FIRST_FIT ? ", \"policy\": \"first_fit\""
                                                      : ", \"policy\": \"best_fit\"");
    put_field(&out, "live_blocks", stats.live_blocks);
    put_field(&out, "allocated", stats.allocated_bytes);
    put_field(&out, "free", stats.free_bytes);
    put_field(&out, "reserved", stats.reserved_bytes);
    put_field(&out, "reservations", stats.reservations);
    put_field(&out, "largest_free_block", stats.largest_free_block);
    put_field(&out, "peak_allocated", stats.peak_allocated_bytes);
    put_field(&out, "alloc_failures", stats.alloc_failures);
    put_field(&out, "rejected_frees", stats.rejected_frees);
    text_string(&out, ", \"free_blocks\": [");
    for (unsigned order = 0; order <= stats.max_order; order++) {
        if (order > 0)
            text_string(&out, ", ");
        text_number(&out, stats.free_blocks[order]);
    }
    text_char(&out, ']');
    if (flags & BUDDY_DUMP_BLOCKS) {
        text_string(&out, ",\n \"blocks\": [");
        dump_context dump = {&out, range, true};
        (void)buddy_unlocked_walk(range, put_block, &dump);
        text_char(&out, ']');
    }
    text_string(&out, "}\n");
    return text_end(&out);
}

size_t buddy_range_dump_json(const buddy_range *range, char *buffer, size_t buffer_size,
                             unsigned flags) {
    BUDDY_SYNCED(size_t, range, unlocked_dump_json(range, buffer, buffer_size, flags));
}
