/* SPDX-License-Identifier: MIT */
/*
 * The trace parser and the replay engine (trace.h). The engine keeps a table
 * from trace IDs to live blocks, samples the statistics as it goes, and
 * records each block's life for the time-vs-address picture.
 */
#include "trace.h"

#include <stdlib.h>
#include <string.h>

#include "tool.h"

/* ---- Parsing -------------------------------------------------------------- */

static bool parse_number(const char *word, uint64_t *value) {
    char *end = NULL;
    if (word == NULL || word[0] < '0' || word[0] > '9')
        return false;
    *value = strtoull(word, &end, 0);
    return *end == '\0';
}

int trace_parse_line(const char *line, trace_op *op, char *error, size_t error_size) {
    char copy[512];
    size_t length = strcspn(line, "\r\n");
    if (length >= sizeof copy) {
        snprintf(error, error_size, "a line of at most %zu characters", sizeof copy - 1);
        return -1;
    }
    memcpy(copy, line, length);
    copy[length] = '\0';
    char *words[5] = {0};
    int count = 0;
    for (char *word = strtok(copy, " \t"); word != NULL; word = strtok(NULL, " \t"))
        if (count < 5)
            words[count++] = word;
        else
            count = 6;
    if (count == 0 || words[0][0] == '#')
        return 0;
    op->kind = words[0][0];
    op->size = op->alignment = 0;
    op->new_id[0] = '\0';
    bool known = words[0][1] == '\0' && strchr("afr", op->kind) != NULL;
    int needed = op->kind == 'f' ? 2 : 3;
    int allowed = op->kind == 'f' ? 2 : 4;
    bool fourth_ok = count < 4 || (op->kind == 'a' ? parse_number(words[3], &op->alignment) &&
                                                         op->alignment != 0 &&
                                                         (op->alignment & (op->alignment - 1)) == 0
                                                   : strlen(words[3]) < sizeof op->new_id);
    if (!known || count < needed || count > allowed || strlen(words[1]) >= sizeof op->id ||
        (needed == 3 && !parse_number(words[2], &op->size)) || !fourth_ok) {
        snprintf(error, error_size,
                 "expected 'a ID SIZE [ALIGN]', 'f ID' or 'r ID SIZE [NEWID]' "
                 "(ALIGN a power of two)");
        return -1;
    }
    strcpy(op->id, words[1]);
    if (count == 4 && op->kind == 'r')
        strcpy(op->new_id, words[3]);
    return 1;
}

/* ---- The ID table ------------------------------------------------------------ */

enum slot_state { SLOT_EMPTY, SLOT_LIVE, SLOT_FAILED, SLOT_FREED };

typedef struct slot {
    char id[64];
    uint8_t state;
    uint64_t handle; /* the offset, or the pointer in heap mode */
    size_t life;     /* index into result->lives */
} slot;

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
    unsigned char *region;
    void *heap_metadata;
    size_t lives_capacity, samples_capacity;
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
    if (e->heap != NULL)
        buddy_heap_get_stats(e->heap, stats);
    else
        buddy_range_get_stats(e->range, stats);
}

static void describe_failure(engine *e, uint64_t line, const trace_op *op, int status) {
    replay_result *r = e->result;
    r->failures++;
    if (r->first_failure_line != 0)
        return;
    r->first_failure_line = line;
    buddy_range_stats stats;
    get_stats(e, &stats);
    const char *reason = "too fragmented: enough free bytes, no block that large";
    if (e->heap != NULL) {
        buddy_heap_failure failure;
        buddy_heap_last_failure(e->heap, &failure);
        status = failure.reason == BUDDY_FAILURE_TOO_LARGE ? BUDDY_ETOOBIG : BUDDY_ENOMEM;
        if (failure.reason == BUDDY_FAILURE_NOT_ENOUGH_FREE)
            reason = "not enough free bytes";
    } else if (status == BUDDY_ENOMEM) {
        uint64_t request = op->size > op->alignment ? op->size : op->alignment;
        uint64_t rounded = stats.min_block_size; /* the block the request rounds up to */
        while (rounded < request)
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
    uint64_t request = size > op->alignment ? size : op->alignment;
    if (e->heap == NULL) {
        int status = buddy_range_alloc(e->range, request, offset);
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
    if (e->heap != NULL)
        buddy_heap_free(e->heap, (void *)(uintptr_t)handle);
    else
        buddy_range_free(e->range, handle);
}

static bool begin_life(engine *e, slot *s, uint64_t offset, uint64_t size) {
    replay_result *r = e->result;
    if (!push((void **)&r->lives, &r->life_count, &e->lives_capacity, sizeof *r->lives))
        return false;
    s->life = r->life_count - 1;
    r->lives[s->life] = (replay_life){offset, size, r->ops, UINT64_MAX};
    return true;
}

/* Resizes a live slot: in place if the allocator can, else allocate, copy, free. */
static bool resize(engine *e, slot *s, const trace_op *op, uint64_t line) {
    replay_result *r = e->result;
    uint64_t offset = r->lives[s->life].offset, block_size = 0, handle = s->handle;
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
        offset = moved ? (uint64_t)((unsigned char *)moved - e->region) : offset;
        block_size = moved ? buddy_heap_usable_size(e->heap, moved) : 0;
    } else {
        in_place = buddy_range_resize(e->range, handle, op->size) == BUDDY_OK;
        if (in_place) {
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
    r->lives[s->life].died = r->ops;
    s->handle = handle;
    if (block_size == 0) { /* the heap's realloc(p, 0) freed it */
        s->state = SLOT_FREED;
        return true;
    }
    return begin_life(e, s, offset, block_size);
}

/* A resized block goes by `new_id` from now on (a recorded realloc that
 * moved). If the resize failed here, the new ID keeps the old block. */
static bool rename_slot(table *t, slot *old, const char *new_id, char *error, size_t error_size) {
    char old_id[64];
    strcpy(old_id, old->id);
    slot *renamed = table_find(t, new_id); /* may grow the table and move `old` */
    if (renamed == NULL || (renamed->state == SLOT_LIVE && strcmp(new_id, old_id) != 0)) {
        snprintf(error, error_size, "'%s' is already live: free it first", new_id);
        return false;
    }
    old = table_find(t, old_id); /* known: found where it is now, nothing grows */
    if (renamed == old)
        return true;
    renamed->state = old->state;
    renamed->handle = old->handle;
    renamed->life = old->life;
    old->state = SLOT_FREED;
    return true;
}

/* Applies one operation; false (with a message) for an inconsistent trace. */
static bool apply(engine *e, table *t, const trace_op *op, uint64_t line, char *error,
                  size_t error_size) {
    replay_result *r = e->result;
    slot *s = table_find(t, op->id);
    if (s == NULL) {
        snprintf(error, error_size, "out of memory for the ID table");
        return false;
    }
    if (op->kind == 'a' && s->state == SLOT_LIVE) {
        snprintf(error, error_size, "'%s' is already live: free it first", op->id);
        return false;
    }
    if (op->kind != 'a' && s->state == SLOT_FREED) {
        snprintf(error, error_size, "'%s' is not live", op->id);
        return false;
    }
    r->ops++;
    if (op->kind == 'f') {
        r->frees++;
        if (s->state == SLOT_LIVE) {
            release(e, s->handle);
            r->lives[s->life].died = r->ops;
        }
        s->state = SLOT_FREED;
        return true;
    }
    if (op->kind == 'r' && s->state == SLOT_LIVE) {
        r->resizes++;
        if (!resize(e, s, op, line))
            return false;
        return op->new_id[0] == '\0' || rename_slot(t, s, op->new_id, error, error_size);
    }
    r->allocs++; /* 'a', or 'r' of an ID whose allocation had failed */
    uint64_t offset = 0, block_size = 0;
    int status = allocate(e, op, op->size, &s->handle, &offset, &block_size);
    if (status != BUDDY_OK) {
        describe_failure(e, line, op, status);
        s->state = SLOT_FAILED;
        return true;
    }
    s->state = SLOT_LIVE;
    return begin_life(e, s, offset, block_size);
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
    r->blocks[r->block_count - 1] = (replay_block){offset, size, is_live};
    return true;
}

static int add_range_block(uint64_t offset, uint64_t size, bool is_live, void *user) {
    return !add_block(user, offset, size, is_live);
}

static int add_heap_block(void *pointer, size_t size, bool is_live, void *user) {
    block_list *list = user;
    return !add_block(list, (uint64_t)((const unsigned char *)pointer - list->region), size,
                      is_live);
}

/* Keeps the final state: every block, and whether the invariants hold. */
static void keep_final_state(engine *e) {
    block_list list = {e->result, 0, e->region};
    if (e->heap != NULL) {
        buddy_heap_walk(e->heap, add_heap_block, &list);
        e->result->check_status = buddy_heap_check(e->heap);
    } else {
        buddy_range_walk(e->range, add_range_block, &list);
        e->result->check_status = buddy_range_check(e->range);
    }
}

static int set_up(engine *e) {
    const replay_options *o = e->options;
    if (!o->heap)
        return buddy_range_create(&e->range, o->capacity, o->min_block_size, o->policy);
    buddy_heap_config config = {(size_t)o->min_block_size, 0, o->policy, 0, NULL, NULL, NULL};
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
    engine e = {options, result, NULL, NULL, NULL, NULL, 0, 0};
    int status = set_up(&e);
    if (status != BUDDY_OK) {
        tear_down(&e);
        return tool_fail("replay", status);
    }
    table ids = {NULL, 0, 0};
    char line[1024], error[256];
    int outcome = TOOL_OK;
    for (uint64_t number = 1; outcome == TOOL_OK && fgets(line, sizeof line, input); number++) {
        trace_op op;
        int parsed = trace_parse_line(line, &op, error, sizeof error);
        if (parsed == 0)
            continue;
        if (parsed < 0 || !apply(&e, &ids, &op, number, error, sizeof error)) {
            fprintf(options->errors ? options->errors : stderr, "%s:%llu: %s\n", name,
                    (unsigned long long)number, error);
            outcome = TOOL_BAD_TRACE;
            break;
        }
        if (options->step)
            print_step(&e, &op);
        if (result->ops % options->sample_every == 0 && !take_sample(&e))
            outcome = TOOL_FAILED;
    }
    if (outcome == TOOL_OK && !take_sample(&e))
        outcome = TOOL_FAILED;
    get_stats(&e, &result->end);
    keep_final_state(&e);
    free(ids.slots);
    tear_down(&e);
    return outcome;
}

void replay_result_free(replay_result *result) {
    free(result->samples);
    free(result->lives);
    free(result->blocks);
}
