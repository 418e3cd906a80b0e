/* SPDX-License-Identifier: MIT */
/*
 * The ideal best-fit reference (ideal.h). Free extents are kept in an array
 * sorted by address and searched from end to end for every allocation; live
 * allocations are an open-addressing table from offset to size. Nothing here
 * is clever on purpose: the report compares the range with it.
 */
#include "ideal.h"

#include <stdlib.h>
#include <string.h>

typedef struct extent {
    uint64_t start, size;
} extent;

typedef struct live {
    uint64_t offset, size; /* size 0: an empty slot */
} live;

struct ideal {
    uint64_t capacity, unit;
    extent *free;
    size_t free_count, free_room;
    live *lives;
    size_t live_count, live_room; /* live_room is a power of two */
    uint64_t allocated, peak;
};

ideal *ideal_create(uint64_t capacity, uint64_t min_block_size) {
    ideal *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    a->unit = min_block_size;
    a->capacity = capacity / min_block_size * min_block_size;
    a->free_room = 64;
    a->live_room = 1024;
    a->free = malloc(a->free_room * sizeof *a->free);
    a->lives = calloc(a->live_room, sizeof *a->lives);
    if (a->free == NULL || a->lives == NULL) {
        ideal_destroy(a);
        return NULL;
    }
    a->free[0] = (extent){0, a->capacity};
    a->free_count = a->capacity != 0;
    return a;
}

void ideal_destroy(ideal *a) {
    if (a == NULL)
        return;
    free(a->free);
    free(a->lives);
    free(a);
}

static live *live_probe(live *lives, size_t room, uint64_t offset) {
    size_t i = (size_t)((offset * UINT64_C(0x9e3779b97f4a7c15)) >> 20) & (room - 1);
    while (lives[i].size != 0 && lives[i].offset != offset)
        i = (i + 1) & (room - 1);
    return &lives[i];
}

/* Records a live allocation; false if out of memory. */
static bool live_add(ideal *a, uint64_t offset, uint64_t size) {
    if ((a->live_count + 1) * 2 > a->live_room) {
        size_t room = a->live_room * 2;
        live *grown = calloc(room, sizeof *grown);
        if (grown == NULL)
            return false;
        for (size_t i = 0; i < a->live_room; i++)
            if (a->lives[i].size != 0)
                *live_probe(grown, room, a->lives[i].offset) = a->lives[i];
        free(a->lives);
        a->lives = grown;
        a->live_room = room;
    }
    *live_probe(a->lives, a->live_room, offset) = (live){offset, size};
    a->live_count++;
    return true;
}

/* Removes a live allocation, re-placing the entries of its probe chain. */
static void live_remove(ideal *a, uint64_t offset) {
    live *slot = live_probe(a->lives, a->live_room, offset);
    if (slot->size == 0)
        return;
    slot->size = 0;
    a->live_count--;
    size_t i = (size_t)(slot - a->lives);
    for (i = (i + 1) & (a->live_room - 1); a->lives[i].size != 0;
         i = (i + 1) & (a->live_room - 1)) {
        live moved = a->lives[i];
        a->lives[i].size = 0;
        *live_probe(a->lives, a->live_room, moved.offset) = moved;
    }
}

static uint64_t whole_units(const ideal *a, uint64_t size) {
    return size == 0 ? a->unit : (size - 1) / a->unit * a->unit + a->unit;
}

/* The index of the first extent that starts at or after `offset`. */
static size_t extent_after(const ideal *a, uint64_t offset) {
    size_t low = 0, high = a->free_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (a->free[middle].start < offset)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

/* Puts extent `e` at index i, moving the later ones up; false if out of memory. */
static bool insert_extent(ideal *a, size_t i, extent e) {
    if (a->free_count == a->free_room) {
        extent *grown = realloc(a->free, a->free_room * 2 * sizeof *grown);
        if (grown == NULL)
            return false;
        a->free = grown;
        a->free_room *= 2;
    }
    memmove(&a->free[i + 1], &a->free[i], (a->free_count - i) * sizeof *a->free);
    a->free[i] = e;
    a->free_count++;
    return true;
}

static void remove_extent(ideal *a, size_t i) {
    memmove(&a->free[i], &a->free[i + 1], (a->free_count - i - 1) * sizeof *a->free);
    a->free_count--;
}

/* Marks units [start, start + size), inside extent i, used. */
static bool take(ideal *a, size_t i, uint64_t start, uint64_t size) {
    extent e = a->free[i];
    extent before = {e.start, start - e.start};
    extent after = {start + size, e.start + e.size - start - size};
    if (before.size != 0 && after.size != 0) { /* one extent becomes two */
        if (!insert_extent(a, i + 1, after))
            return false;
        a->free[i] = before;
    } else if (before.size != 0 || after.size != 0) {
        a->free[i] = before.size != 0 ? before : after;
    } else {
        remove_extent(a, i);
    }
    a->allocated += size;
    a->peak = a->allocated > a->peak ? a->allocated : a->peak;
    return true;
}

/* Gives units [start, start + size) back, merged with the extents beside them. */
static bool give(ideal *a, uint64_t start, uint64_t size) {
    size_t i = extent_after(a, start);
    bool joins_before = i > 0 && a->free[i - 1].start + a->free[i - 1].size == start;
    bool joins_after = i < a->free_count && a->free[i].start == start + size;
    if (joins_before && joins_after) {
        a->free[i - 1].size += size + a->free[i].size;
        remove_extent(a, i);
    } else if (joins_before) {
        a->free[i - 1].size += size;
    } else if (joins_after) {
        a->free[i].start = start;
        a->free[i].size += size;
    } else if (!insert_extent(a, i, (extent){start, size})) {
        return false;
    }
    a->allocated -= size;
    return true;
}

int ideal_alloc(ideal *a, uint64_t size, uint64_t alignment, uint64_t *offset_out) {
    if (size > a->capacity)
        return BUDDY_ETOOBIG;
    uint64_t need = whole_units(a, size), align = alignment > 1 ? alignment : 1;
    size_t best = a->free_count;
    uint64_t best_start = 0;
    for (size_t i = 0; i < a->free_count; i++) {
        const extent *e = &a->free[i];
        uint64_t start = (e->start + align - 1) / align * align;
        if (start < e->start || start - e->start > e->size || e->size - (start - e->start) < need)
            continue;
        if (best == a->free_count || e->size < a->free[best].size) {
            best = i;
            best_start = start;
        }
    }
    if (best == a->free_count)
        return BUDDY_ENOMEM;
    if (!live_add(a, best_start, need) || !take(a, best, best_start, need))
        return BUDDY_ENOMEM; /* out of memory for the records */
    *offset_out = best_start;
    return BUDDY_OK;
}

uint64_t ideal_size(const ideal *a, uint64_t offset) {
    return live_probe(a->lives, a->live_room, offset)->size;
}

void ideal_free(ideal *a, uint64_t offset) {
    uint64_t size = ideal_size(a, offset);
    if (size == 0)
        return;
    live_remove(a, offset);
    (void)give(a, offset, size); /* out of memory: the units stay used */
}

int ideal_resize(ideal *a, uint64_t offset, uint64_t size) {
    live *slot = live_probe(a->lives, a->live_room, offset);
    uint64_t have = slot->size, need = whole_units(a, size);
    if (have == 0)
        return BUDDY_ENOMEM;
    if (need < have) {
        if (!give(a, offset + need, have - need))
            return BUDDY_ENOMEM;
    } else if (need > have) {
        size_t i = extent_after(a, offset + have);
        if (i == a->free_count || a->free[i].start != offset + have ||
            a->free[i].size < need - have || !take(a, i, offset + have, need - have))
            return BUDDY_ENOMEM;
    }
    slot->size = need;
    return BUDDY_OK;
}

void ideal_get_stats(const ideal *a, buddy_range_stats *stats) {
    memset(stats, 0, sizeof *stats);
    stats->capacity = stats->max_capacity = a->capacity;
    stats->min_block_size = a->unit;
    stats->allocated_bytes = a->allocated;
    stats->free_bytes = a->capacity - a->allocated;
    for (size_t i = 0; i < a->free_count; i++)
        if (a->free[i].size > stats->largest_free_block)
            stats->largest_free_block = a->free[i].size;
    stats->live_blocks = a->live_count;
    stats->peak_allocated_bytes = a->peak;
}
