/* SPDX-License-Identifier: MIT */
/*
 * Reads a range's dump (schema buddy-range/1, docs/json.md), as
 * buddy_range_dump_json writes it with BUDDY_DUMP_BLOCKS, into the final
 * state of a replay result, for `buddy draw --dump`. A small JSON parser:
 * the members it knows are read, any other value is skipped, and the blocks
 * must tile the capacity from 0.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "trace.h"

typedef struct parser {
    const char *at, *end;
    const char *error; /* the first problem found, or NULL */
} parser;

static void skip_space(parser *p) {
    while (p->at < p->end && strchr(" \t\r\n", *p->at) != NULL)
        p->at++;
}

/* Consumes `c` after any space; false (noting the problem) if it is not there. */
static bool expect(parser *p, char c, const char *problem) {
    skip_space(p);
    if (p->at < p->end && *p->at == c) {
        p->at++;
        return true;
    }
    if (p->error == NULL)
        p->error = problem;
    return false;
}

static bool peek(parser *p, char c) {
    skip_space(p);
    return p->at < p->end && *p->at == c;
}

/* A string into `out` (cut to its size; escapes kept as they are). */
static bool parse_string(parser *p, char *out, size_t size) {
    if (!expect(p, '"', "a string was expected"))
        return false;
    size_t length = 0;
    while (p->at < p->end && *p->at != '"') {
        if (*p->at == '\\' && p->at + 1 < p->end)
            p->at++;
        if (length + 1 < size)
            out[length++] = *p->at;
        p->at++;
    }
    out[size > 0 ? length : 0] = '\0';
    return expect(p, '"', "a string does not end");
}

static bool parse_number(parser *p, uint64_t *value_out) {
    skip_space(p);
    const char *end = NULL;
    if (p->at >= p->end || !tool_parse_decimal(p->at, &end, value_out) || end > p->end) {
        if (p->error == NULL)
            p->error = "a whole number was expected";
        return false;
    }
    p->at = end;
    return true;
}

/* Skips any JSON value (nested up to 32 deep). */
static bool skip_value(parser *p, unsigned depth) {
    skip_space(p);
    if (p->at >= p->end || depth > 32) {
        p->error = p->error != NULL ? p->error : "a value was expected";
        return false;
    }
    char c = *p->at;
    if (c == '"') {
        char ignored[2];
        return parse_string(p, ignored, sizeof ignored);
    }
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        p->at++;
        if (peek(p, close))
            return expect(p, close, "");
        do {
            if (c == '{') {
                char ignored[2];
                if (!parse_string(p, ignored, sizeof ignored) || !expect(p, ':', "':' expected"))
                    return false;
            }
            if (!skip_value(p, depth + 1))
                return false;
        } while (peek(p, ',') && expect(p, ',', ""));
        return expect(p, close, "a list or object does not end");
    }
    while (p->at < p->end && strchr(",]} \t\r\n", *p->at) == NULL) /* number or literal */
        p->at++;
    return true;
}

/* One block object into result->blocks. */
static bool parse_block(parser *p, replay_result *result, size_t *room) {
    replay_block block = {0, 0, 0, false, false};
    char state[16] = "";
    if (!expect(p, '{', "a block must be an object"))
        return false;
    do {
        char key[32];
        if (!parse_string(p, key, sizeof key) || !expect(p, ':', "':' expected"))
            return false;
        bool ok = strcmp(key, "offset") == 0  ? parse_number(p, &block.offset)
                  : strcmp(key, "size") == 0  ? parse_number(p, &block.size)
                  : strcmp(key, "state") == 0 ? parse_string(p, state, sizeof state)
                                              : skip_value(p, 0);
        if (!ok)
            return false;
    } while (peek(p, ',') && expect(p, ',', ""));
    if (!expect(p, '}', "a block does not end"))
        return false;
    block.is_live = strcmp(state, "live") == 0;
    block.is_reserved = strcmp(state, "reserved") == 0;
    block.requested = block.is_live ? block.size : 0;
    if (!block.is_live && !block.is_reserved && strcmp(state, "free") != 0) {
        p->error = "a block's state is not free, live or reserved";
        return false;
    }
    if (result->block_count == *room) {
        *room = *room != 0 ? *room * 2 : 64;
        replay_block *grown = realloc(result->blocks, *room * sizeof *grown);
        if (grown == NULL) {
            p->error = "out of memory";
            return false;
        }
        result->blocks = grown;
    }
    result->blocks[result->block_count++] = block;
    return true;
}

/* The top-level object: the statistics the picture shows, and the blocks. */
static bool parse_dump(parser *p, replay_result *result, bool *has_blocks) {
    buddy_range_stats *end = &result->end;
    char schema[32] = "", policy[16] = "";
    size_t room = 0;
    if (!expect(p, '{', "not a JSON object"))
        return false;
    do {
        char key[32];
        if (!parse_string(p, key, sizeof key) || !expect(p, ':', "':' expected"))
            return false;
        bool ok;
        if (strcmp(key, "schema") == 0) {
            ok = parse_string(p, schema, sizeof schema);
            if (ok && strcmp(schema, "buddy-range/1") != 0) {
                p->error = "its schema is not buddy-range/1";
                return false;
            }
        } else if (strcmp(key, "policy") == 0) {
            ok = parse_string(p, policy, sizeof policy);
            end->policy = strcmp(policy, "first_fit") == 0 ? BUDDY_FIRST_FIT : BUDDY_BEST_FIT;
        } else if (strcmp(key, "blocks") == 0) {
            *has_blocks = true;
            ok = expect(p, '[', "blocks must be a list");
            if (ok && !peek(p, ']')) {
                do
                    ok = parse_block(p, result, &room);
                while (ok && peek(p, ',') && expect(p, ',', ""));
            }
            ok = ok && expect(p, ']', "the block list does not end");
        } else {
            uint64_t *field = strcmp(key, "capacity") == 0             ? &end->capacity
                              : strcmp(key, "min_block_size") == 0     ? &end->min_block_size
                              : strcmp(key, "allocated") == 0          ? &end->allocated_bytes
                              : strcmp(key, "free") == 0               ? &end->free_bytes
                              : strcmp(key, "reserved") == 0           ? &end->reserved_bytes
                              : strcmp(key, "largest_free_block") == 0 ? &end->largest_free_block
                              : strcmp(key, "live_blocks") == 0        ? &end->live_blocks
                              : strcmp(key, "peak_allocated") == 0     ? &end->peak_allocated_bytes
                                                                       : NULL;
            ok = field != NULL ? parse_number(p, field) : skip_value(p, 0);
        }
        if (!ok)
            return false;
    } while (peek(p, ',') && expect(p, ',', ""));
    if (!expect(p, '}', "the object does not end"))
        return false;
    if (schema[0] == '\0')
        p->error = "it has no schema";
    return p->error == NULL;
}

/* The blocks must tile [0, capacity) in address order. */
static const char *check_tiling(const replay_result *result) {
    const buddy_range_stats *end = &result->end;
    if (end->capacity == 0 || end->min_block_size == 0 ||
        (end->min_block_size & (end->min_block_size - 1)) != 0)
        return "capacity or min_block_size is missing or not a power of two";
    uint64_t next = 0;
    for (size_t i = 0; i < result->block_count; i++) {
        const replay_block *b = &result->blocks[i];
        if (b->offset != next || b->size == 0 || b->size > end->capacity - next)
            return "its blocks do not tile the capacity in address order";
        next += b->size;
    }
    return next == end->capacity ? NULL : "its blocks do not cover the capacity";
}

int tool_read_dump(const char *path, replay_result *result) {
    memset(result, 0, sizeof *result);
    FILE *in = fopen(path, "rb");
    if (in == NULL) {
        fprintf(stderr, "buddy draw: --dump %s: %s\n", path, strerror(errno));
        return TOOL_USAGE;
    }
    char *text = NULL;
    size_t length = 0, room = 0;
    for (;;) {
        if (length == room) {
            room = room != 0 ? room * 2 : 1 << 16;
            char *grown = realloc(text, room);
            if (grown == NULL)
                break;
            text = grown;
        }
        size_t got = fread(text + length, 1, room - length, in);
        length += got;
        if (got == 0)
            break;
    }
    char *ended = text != NULL ? realloc(text, length + 1) : NULL; /* NUL-terminated */
    if (ended != NULL) {
        text = ended;
        text[length] = '\0';
    }
    bool read_error = ferror(in) || ended == NULL;
    fclose(in);
    if (read_error) {
        free(text);
        fprintf(stderr, "buddy draw: %s: a read error\n", path);
        return TOOL_FAILED;
    }
    parser p = {text, text + length, NULL};
    bool has_blocks = false;
    if (parse_dump(&p, result, &has_blocks) && !has_blocks)
        p.error = "it has no block map (dump with BUDDY_DUMP_BLOCKS, or buddy replay "
                  "--write-dump)";
    if (p.error == NULL)
        p.error = check_tiling(result);
    free(text);
    if (p.error != NULL) {
        fprintf(stderr, "buddy draw: %s: not a range dump: %s\n", path, p.error);
        return TOOL_BAD_TRACE;
    }
    return TOOL_OK;
}
