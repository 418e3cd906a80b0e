/* SPDX-License-Identifier: MIT */
/*
 * The replay engine (trace.h; trace_parse.c reads the lines). It keeps a
 * table from trace IDs to live blocks, samples the statistics as it goes,
 * and records each block's life for the time-vs-address picture.
 */
#define _POSIX_C_SOURCE 200809L /* getline */
#include "trace.h"

#include <stdlib.h>
#include <string.h>

#include "ideal.h"
#include "tool.h"

/* ---- The ID table ------------------------------------------------------------ */

enum slot_state { SLOT_EMPTY, SLOT_LIVE, SLOT_FAILED, SLOT_FREED };

/* SLOT_LIVE and SLOT_FAILED are both live in the trace's own terms, so whether
 * a trace is consistent never depends on the capacity it is replayed at. */
typedef struct slot {
    char id[TRACE_ID_SIZE];
    uint8_t state;
    uint64_t handle;    /* the offset, or the pointer in heap mode */
    uint64_t requested; /* the size the trace asked for */
    size_t life;        /* index into result->lives */
} slot;

static bool is_live_in_trace(const slot *s) {
    return s->state == SLOT_LIVE || s->state == SLOT_FAILED;
}

typedef struct table {
    slot *slots;
    size_t capacity, used;
} table;

static uint64_t hash_id(const char *id) {
    uint64_t hash = UINT64_C(0xcbf29ce484222325);
    for (; *id != '\0'; id++)
        hash = (hash ^ (unsigned char)*id) * UINT64_C(0x100000001b3);
    return hash;
}

static slot *table_probe(const table *t, const char *id) {
    size_t i = (size_t)hash_id(id) & (t->capacity - 1);
    while (t->slots[i].state != SLOT_EMPTY && strcmp(t->slots[i].id, id) != 0)
        i = (i + 1) & (t->capacity - 1);
    return &t->slots[i];
}

/* The slot of `id`, inserted (not live) if new; NULL only if memory runs out.
 * Only an insertion may grow the table, so a slot found for a known ID stays
 * where it is. */
static slot *table_find(table *t, const char *id) {
    slot *found = t->capacity != 0 ? table_probe(t, id) : NULL;
    if (found != NULL && found->state != SLOT_EMPTY)
        return found;
    if (t->used * 2 >= t->capacity) {
        size_t grown = t->capacity ? t->capacity * 2 : 1024;
        table bigger = {calloc(grown, sizeof(slot)), grown, t->used};
        if (bigger.slots == NULL)
            return NULL;
        for (size_t i = 0; i < t->capacity; i++)
            if (t->slots[i].state != SLOT_EMPTY)
                *table_probe(&bigger, t->slots[i].id) = t->slots[i];
        free(t->slots);
        *t = bigger;
        found = table_probe(t, id);
    }
    strcpy(found->id, id);
    found->state = SLOT_FREED; /* known, not live */
    t->used++;
    return found;
}

/* ---- The allocator under replay ---------------------------------------------- */

typedef struct engine {
    const replay_options *options;
    replay_result *result;
    buddy_range *range;
    buddy_heap *heap;
    ideal *ideal; /* the reference, instead of range and heap */
    unsigned char *region;
    void *heap_metadata;
    size_t lives_capacity, samples_capacity, failures_capacity;
} engine;

static bool push(void **array, size_t *count, size_t *capacity, size_t size) {
    if (*count == *capacity) {
        size_t grown = *capacity ? *capacity * 2 : 256;
        void *bigger = realloc(*array, grown * size);
        if (bigger == NULL)
            return false;
        *array = bigger;
        *capacity = grown;
    }
    (*count)++;
    return true;
}

static void get_stats(const engine *e, buddy_range_stats *stats) {
    if (e->ideal != NULL)
        ideal_get_stats(e->ideal, stats);
    else if (e->heap != NULL)
        buddy_heap_get_stats(e->heap, stats);
    else
        buddy_range_get_stats(e->range, stats);
}

static void describe_failure(engine *e, uint64_t line, const trace_op *op, int status) {
    replay_result *r = e->result;
    r->failures++;
    if (!e->options->counts_only && push((void **)&r->failure_ops, &r->failure_count,
                                         &e->failures_capacity, sizeof *r->failure_ops))
        r->failure_ops[r->failure_count - 1] = r->ops;
    if (r->first_failure_line != 0)
        return;
    r->first_failure_line = line;
    buddy_range_stats stats;
    get_stats(e, &stats);
    const char *reason = "too fragmented: enough free bytes, no block that large";
    if (e->heap != NULL && status != BUDDY_ETOOBIG) { /* else past SIZE_MAX: never asked */
        buddy_heap_failure failure;
        buddy_heap_last_failure(e->heap, &failure);
        status = failure.reason == BUDDY_FAILURE_TOO_LARGE ? BUDDY_ETOOBIG : BUDDY_ENOMEM;
        if (failure.reason == BUDDY_FAILURE_NOT_ENOUGH_FREE)
            reason = "not enough free bytes";
    } else if (status == BUDDY_ENOMEM) {
        /* What the request takes: whole min blocks for a run, else a power of two. */
        uint64_t rounded = stats.min_block_size;
        if (e->options->sizing != TOOL_ROUNDED || e->ideal != NULL)
            rounded *= op->size == 0 ? 1 : (op->size - 1) / stats.min_block_size + 1;
        else
            while (rounded < op->size)
                rounded <<= 1;
        if (stats.free_bytes < rounded)
            reason = "not enough free bytes";
    }
    if (status == BUDDY_ETOOBIG)
        reason = "larger than the largest block the capacity holds";
    snprintf(r->first_failure, sizeof r->first_failure,
             "'%c %s %llu': %s (free %llu bytes, largest free block %llu)", op->kind, op->id,
             (unsigned long long)op->size, reason, (unsigned long long)stats.free_bytes,
             (unsigned long long)stats.largest_free_block);
}

/* Allocates for `op`; on success stores the handle and the block's offset and size. */
static int allocate(engine *e, const trace_op *op, uint64_t size, uint64_t *handle,
                    uint64_t *offset, uint64_t *block_size) {
    if (e->ideal != NULL) {
        int status = ideal_alloc(e->ideal, size, op->alignment, offset);
        *block_size = status == BUDDY_OK ? ideal_size(e->ideal, *offset) : 0;
        *handle = *offset;
        return status;
    }
    if (e->heap == NULL) {
        uint64_t alignment = op->alignment != 0 ? op->alignment : 1;
        int status = e->options->sizing == TOOL_EXACT
                         ? buddy_range_alloc_exact_aligned(e->range, size, alignment, offset)
                     : e->options->sizing == TOOL_PACKED
                         ? buddy_range_alloc_packed_aligned(e->range, size, alignment, offset)
                         : buddy_range_alloc_aligned(e->range, size, alignment, offset);
        if (status == BUDDY_OK)
            buddy_range_size(e->range, *offset, block_size);
        *handle = *offset;
        return status;
    }
    if (size > SIZE_MAX || op->alignment > SIZE_MAX)
        return BUDDY_ETOOBIG;
    void *pointer = op->alignment > 0
                        ? buddy_heap_aligned_alloc(e->heap, (size_t)op->alignment, (size_t)size)
                        : buddy_heap_malloc(e->heap, (size_t)size);
    if (pointer == NULL)
        return BUDDY_ENOMEM;
    *handle = (uint64_t)(uintptr_t)pointer;
    *offset = (uint64_t)((unsigned char *)pointer - e->region);
    *block_size = buddy_heap_usable_size(e->heap, pointer);
    return BUDDY_OK;
}

static void release(engine *e, uint64_t handle) {
    if (e->ideal != NULL)
        ideal_free(e->ideal, handle);
    else if (e->heap != NULL)
        buddy_heap_free(e->heap, (void *)(uintptr_t)handle);
    else
        buddy_range_free(e->range, handle);
}

/* Counts `requested` as live for slot s (now LIVE), and keeps its block's life. */
static bool begin_life(engine *e, slot *s, uint64_t offset, uint64_t size, uint64_t requested) {
    replay_result *r = e->result;
    s->state = SLOT_LIVE;
    s->requested = requested;
    r->requested_live += requested;
    if (r->requested_live > r->requested_peak)
        r->requested_peak = r->requested_live;
    if (e->options->counts_only)
        return true;
    if (!push((void **)&r->lives, &r->life_count, &e->lives_capacity, sizeof *r->lives))
        return false;
    s->life = r->life_count - 1;
    r->lives[s->life] = (replay_life){offset, size, r->ops, UINT64_MAX, requested};
    return true;
}

/* Ends the life of live slot s (its block was freed or moved). */
static void end_life(engine *e, slot *s) {
    e->result->requested_live -= s->requested;
    if (!e->options->counts_only)
        e->result->lives[s->life].died = e->result->ops;
}

/* Resizes a live slot: in place if the allocator can, else allocate, copy, free. */
static bool resize(engine *e, slot *s, const trace_op *op, uint64_t line) {
    replay_result *r = e->result;
    uint64_t offset = 0, block_size = 0, handle = s->handle;
    bool in_place;
    if (e->heap != NULL) {
        void *moved = op->size > SIZE_MAX ? NULL
                                          : buddy_heap_realloc(e->heap, (void *)(uintptr_t)handle,
                                                               (size_t)op->size);
        if (moved == NULL && op->size != 0) {
            describe_failure(e, line, op, BUDDY_ENOMEM);
            return true;
        }
        in_place = moved == (void *)(uintptr_t)handle;
        handle = (uint64_t)(uintptr_t)moved;
        offset = moved ? (uint64_t)((unsigned char *)moved - e->region) : 0;
        block_size = moved ? buddy_heap_usable_size(e->heap, moved) : 0;
    } else {
        in_place = e->ideal != NULL ? ideal_resize(e->ideal, handle, op->size) == BUDDY_OK
                                    : buddy_range_resize(e->range, handle, op->size) == BUDDY_OK;
        if (in_place) {
            offset = handle;
            if (e->ideal != NULL)
                block_size = ideal_size(e->ideal, handle);
            else
                buddy_range_size(e->range, handle, &block_size);
        } else {
            int status = allocate(e, op, op->size, &handle, &offset, &block_size);
            if (status != BUDDY_OK) {
                describe_failure(e, line, op, status);
                return true;
            }
            release(e, s->handle);
        }
    }
    r->resized_in_place += in_place;
    end_life(e, s);
    s->handle = handle;
    if (block_size == 0) { /* the heap's realloc(p, 0) freed it */
        s->state = SLOT_FREED;
        return true;
    }
    return begin_life(e, s, offset, block_size, op->size);
}

static bool out_of_memory(char *error, size_t error_size) {
    snprintf(error, error_size, "out of memory for the replay's records");
    return false;
}

/* A resized block goes by `new_id` from now on (a recorded realloc that
 * moved): whether its resize (or, for an ID whose allocation had failed, its
 * allocation) worked here or not, the new ID takes the old one's place. */
static bool rename_slot(table *t, const slot *old, const char *new_id, char *error,
                        size_t error_size) {
    slot moved = *old; /* `old` moves if the table grows */
    if (strcmp(new_id, moved.id) == 0)
        return true;
    slot *renamed = table_find(t, new_id); /* may grow the table */
    if (renamed == NULL)
        return out_of_memory(error, error_size);
    if (is_live_in_trace(renamed)) {
        snprintf(error, error_size, "'%s' is already live: free it first", new_id);
        return false;
    }
    table_find(t, moved.id)->state = SLOT_FREED; /* known: found in place, nothing grows */
    strcpy(moved.id, new_id);
    *renamed = moved;
    return true;
}

/* Applies one operation; false (with a message) for an inconsistent trace. */
static bool apply(engine *e, table *t, const trace_op *op, uint64_t line, char *error,
                  size_t error_size) {
    replay_result *r = e->result;
    slot *s = table_find(t, op->id);
    if (s == NULL)
        return out_of_memory(error, error_size);
    if (op->kind == 'a' && is_live_in_trace(s)) {
        snprintf(error, error_size, "'%s' is already live: free it first", op->id);
        return false;
    }
    if (op->kind != 'a' && !is_live_in_trace(s)) {
        snprintf(error, error_size, "'%s' is not live", op->id);
        return false;
    }
    r->ops++;
    if (op->kind == 'f') {
        r->frees++;
        if (s->state == SLOT_LIVE) {
            release(e, s->handle);
            end_life(e, s);
        }
        s->state = SLOT_FREED;
        return true;
    }
    if (op->kind == 'r' && s->state == SLOT_LIVE) {
        r->resizes++;
        if (!resize(e, s, op, line))
            return out_of_memory(error, error_size);
    } else { /* 'a', or 'r' of an ID whose allocation had failed */
        r->allocs++;
        uint64_t offset = 0, block_size = 0;
        int status = allocate(e, op, op->size, &s->handle, &offset, &block_size);
        if (status != BUDDY_OK) {
            describe_failure(e, line, op, status);
            s->state = SLOT_FAILED;
        } else if (!begin_life(e, s, offset, block_size, op->size)) {
            return out_of_memory(error, error_size);
        }
    }
    return op->kind != 'r' || op->new_id[0] == '\0' ||
           rename_slot(t, s, op->new_id, error, error_size);
}

static bool take_sample(engine *e) {
    replay_result *r = e->result;
    if (!push((void **)&r->samples, &r->sample_count, &e->samples_capacity, sizeof *r->samples))
        return false;
    buddy_range_stats stats;
    get_stats(e, &stats);
    r->samples[r->sample_count - 1] =
        (replay_sample){r->ops, stats.allocated_bytes, stats.free_bytes, stats.largest_free_block};
    return true;
}

typedef struct block_list {
    replay_result *result;
    size_t capacity;
    const unsigned char *region; /* heap mode: offsets are from here */
} block_list;

static bool add_block(block_list *list, uint64_t offset, uint64_t size, bool is_live) {
    replay_result *r = list->result;
    if (!push((void **)&r->blocks, &r->block_count, &list->capacity, sizeof *r->blocks))
        return false;
    r->blocks[r->block_count - 1] = (replay_block){offset, size, 0, is_live, false};
    return true;
}

static int by_offset(const void *a, const void *b) {
    uint64_t left = ((const replay_life *)a)->offset, right = ((const replay_life *)b)->offset;
    return (left > right) - (left < right);
}

/* Gives each live block of the final state what the trace asked for, from the
 * lives that have not ended (both lists in address order). */
static void add_requested(replay_result *r) {
    replay_life *live = malloc((r->life_count ? r->life_count : 1) * sizeof *live);
    if (live == NULL)
        return;
    size_t count = 0;
    for (size_t i = 0; i < r->life_count; i++)
        if (r->lives[i].died == UINT64_MAX)
            live[count++] = r->lives[i];
    qsort(live, count, sizeof *live, by_offset);
    size_t next = 0;
    for (size_t i = 0; i < r->block_count && next < count; i++) {
        if (r->blocks[i].is_live && r->blocks[i].offset == live[next].offset)
            r->blocks[i].requested = live[next++].requested;
    }
    free(live);
}

static int add_range_block(uint64_t offset, uint64_t size, buddy_block_state state, void *user) {
    return !add_block(user, offset, size, state != BUDDY_BLOCK_FREE);
}

static int add_heap_block(void *pointer, size_t size, bool is_live, void *user) {
    block_list *list = user;
    return !add_block(list, (uint64_t)((const unsigned char *)pointer - list->region), size,
                      is_live);
}

/* The library's dump of the engine's range (or heap), malloc'd; NULL if out of
 * memory. */
static char *dump_engine(const engine *e, unsigned flags) {
    size_t length = e->heap != NULL ? buddy_heap_dump_json(e->heap, NULL, 0, flags)
                                    : buddy_range_dump_json(e->range, NULL, 0, flags);
    char *dump = malloc(length + 1);
    if (dump == NULL)
        return NULL;
    if (e->heap != NULL)
        buddy_heap_dump_json(e->heap, dump, length + 1, flags);
    else
        buddy_range_dump_json(e->range, dump, length + 1, flags);
    return dump;
}

/* Writes the dump with its map to `path`; false (after a message) on failure. */
static bool write_dump(const engine *e, const char *path) {
    char *dump = dump_engine(e, BUDDY_DUMP_BLOCKS);
    FILE *out = dump != NULL ? fopen(path, "w") : NULL;
    bool written = out != NULL && fputs(dump, out) >= 0;
    if (out != NULL && fclose(out) != 0)
        written = false;
    if (!written)
        fprintf(stderr, "buddy: %s: cannot write the dump\n", path);
    free(dump);
    return written;
}

/* Keeps the final state: every block, and whether the invariants hold. */
static void keep_final_state(engine *e) {
    if (e->ideal != NULL)
        return; /* the reference has no blocks to show */
    e->result->end_dump = dump_engine(e, 0);
    block_list list = {e->result, 0, e->region};
    if (e->heap != NULL) {
        buddy_heap_walk(e->heap, add_heap_block, &list);
        e->result->check_status = buddy_heap_check(e->heap);
    } else {
        buddy_range_walk(e->range, add_range_block, &list);
        e->result->check_status = buddy_range_check(e->range);
    }
    add_requested(e->result);
}

static int set_up(engine *e) {
    const replay_options *o = e->options;
    if (o->ideal) {
        e->ideal = ideal_create(o->capacity, o->min_block_size);
        return e->ideal != NULL ? BUDDY_OK : BUDDY_ENOMEM;
    }
    if (!o->heap)
        return buddy_range_create(&e->range, o->capacity, o->min_block_size, o->policy);
    buddy_heap_config config = {(size_t)o->min_block_size,
                                0,
                                o->policy,
                                o->sizing == TOOL_EXACT    ? BUDDY_HEAP_EXACT
                                : o->sizing == TOOL_PACKED ? BUDDY_HEAP_PACKED
                                                           : 0u,
                                NULL,
                                NULL,
                                NULL};
    size_t metadata = buddy_heap_metadata_size((size_t)o->capacity, &config);
    size_t region = ((size_t)o->capacity + 4095) / 4096 * 4096;
    if (metadata == 0 || o->capacity > SIZE_MAX - 4096)
        return BUDDY_EGEOMETRY;
    e->region = aligned_alloc(4096, region);
    e->heap_metadata = malloc(metadata);
    if (e->region == NULL || e->heap_metadata == NULL)
        return BUDDY_ENOMEM;
    return buddy_heap_init_external(&e->heap, e->region, (size_t)o->capacity, e->heap_metadata,
                                    metadata, &config);
}

static void tear_down(engine *e) {
    ideal_destroy(e->ideal);
    if (e->heap != NULL)
        buddy_heap_fini(e->heap);
    free(e->region);
    free(e->heap_metadata);
    buddy_range_destroy(e->range);
}

static void print_step(const engine *e, const trace_op *op) {
    static char tree[1 << 16];
    buddy_range_format(e->range, tree, sizeof tree);
    printf("%c %-10s %-8llu %s\n", op->kind, op->id, (unsigned long long)op->size, tree);
}

int replay_run(FILE *input, const char *name, const replay_options *options,
               replay_result *result) {
    memset(result, 0, sizeof *result);
    engine e = {options, result, NULL, NULL, NULL, NULL, NULL, 0, 0, 0};
    int status = set_up(&e);
    if (status != BUDDY_OK) {
        tear_down(&e);
        return options->counts_only ? TOOL_FAILED : tool_fail("replay", status);
    }
    table ids = {NULL, 0, 0};
    char *line = NULL, error[256];
    size_t line_capacity = 0;
    ssize_t length = 0;
    int outcome = TOOL_OK;
    for (uint64_t number = 1; (length = getline(&line, &line_capacity, input)) >= 0; number++) {
        trace_op op;
        int parsed = -1;
        if (memchr(line, '\0', (size_t)length) != NULL)
            snprintf(error, sizeof error, "a NUL byte in the line");
        else
            parsed = trace_parse_line(line, &op, error, sizeof error);
        if (parsed == 0)
            continue;
        if (parsed < 0 || !apply(&e, &ids, &op, number, error, sizeof error)) {
            fprintf(options->errors ? options->errors : stderr, "%s:%llu: %s\n", name,
                    (unsigned long long)number, error);
            outcome = TOOL_BAD_TRACE;
            break;
        }
        if (options->counts_only) {
            if (result->failures != 0)
                break;
            continue;
        }
        if (options->step)
            print_step(&e, &op);
        if (result->ops % options->sample_every == 0 && !take_sample(&e)) {
            outcome = TOOL_FAILED;
            break;
        }
    }
    if (outcome == TOOL_OK && ferror(input)) {
        fprintf(stderr, "buddy: %s: a read error\n", name);
        outcome = TOOL_FAILED;
    }
    free(line);
    if (outcome == TOOL_OK && !options->counts_only && !take_sample(&e))
        outcome = TOOL_FAILED;
    get_stats(&e, &result->end);
    if (!options->counts_only)
        keep_final_state(&e);
    if (outcome == TOOL_OK && options->dump_path != NULL && !write_dump(&e, options->dump_path))
        outcome = TOOL_FAILED;
    free(ids.slots);
    tear_down(&e);
    return outcome;
}

/* Replays the whole trace at `capacity`: 1 if it served every allocation, 0 if
 * not (or the allocator could not be set up), or -TOOL_BAD_TRACE. */
static int serves(FILE *input, const replay_options *options, uint64_t capacity) {
    replay_options quiet = *options;
    quiet.capacity = capacity;
    quiet.counts_only = true;
    quiet.step = false;
    quiet.dump_path = NULL;
    replay_result result;
    rewind(input);
    int status = replay_run(input, "trace", &quiet, &result);
    replay_result_free(&result);
    if (status == TOOL_BAD_TRACE)
        return -TOOL_BAD_TRACE;
    return status == TOOL_OK && result.failures == 0;
}

uint64_t replay_search_limit(uint64_t min_block_size) {
    const unsigned most = 28; /* 2^28 min blocks */
    if (min_block_size > (UINT64_MAX >> most))
        return UINT64_MAX / min_block_size * min_block_size;
    return min_block_size << most;
}

int replay_smallest_capacity(FILE *input, const replay_options *options, uint64_t *capacity_out) {
    const uint64_t limit = replay_search_limit(options->min_block_size),
                   unit = options->min_block_size;
    uint64_t failing = options->capacity / unit, serving = failing; /* in min blocks */
    int result = 0;
    *capacity_out = 0;
    if (unit == 0 || failing == 0)
        return TOOL_FAILED;
    do { /* double until it serves */
        failing = serving;
        serving = failing * 2;
        if (serving > limit / unit)
            return TOOL_OK;
        result = serves(input, options, serving * unit);
    } while (result == 0);
    while (result >= 0 && serving - failing > 1) {
        uint64_t middle = failing + (serving - failing) / 2;
        result = serves(input, options, middle * unit);
        *(result > 0 ? &serving : &failing) = middle;
    }
    if (result < 0)
        return -result;
    *capacity_out = serving * unit;
    return TOOL_OK;
}

void replay_result_free(replay_result *result) {
    free(result->end_dump);
    free(result->failure_ops);
    free(result->samples);
    free(result->lives);
    free(result->blocks);
}
