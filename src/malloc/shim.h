/* SPDX-License-Identifier: MIT */
/*
 * The drop-in malloc's internals, shared by shim.c (the exported functions,
 * options, fork, statistics), arenas.c (buddy heaps over mappings) and
 * table.c (pointer tables: the direct mappings, and the requested sizes the
 * statistics need). Nothing here calls malloc.
 */
#ifndef BUDDY_MALLOC_SHIM_H
#define BUDDY_MALLOC_SHIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#define SHIM_TLS __thread __attribute__((tls_model("initial-exec")))

/* ---- Options, read once from the environment (docs/malloc.md) ---------- */

typedef struct shim_options {
    size_t arena_size;         /* the first arena's bytes; later ones double, to ARENA_SIZE_MAX */
    size_t mmap_threshold;     /* requests of this many bytes or more are mapped on their own */
    unsigned sizing;           /* 0, BUDDY_HEAP_EXACT or BUDDY_HEAP_PACKED */
    unsigned abort_on_invalid; /* 1: an invalid free aborts (0: it is counted) */
    const char *stats_path;    /* NULL: no statistics; "" stderr; else a file to append to */
} shim_options;

extern shim_options shim_config;

/* ---- Pointer tables: open addressing, in pages of their own ------------ */

typedef struct shim_table {
    uintptr_t *keys; /* 0 empty, 1 removed */
    size_t *values;
    size_t slots; /* a power of two, or 0 */
    size_t used;  /* keys, removed ones included */
} shim_table;

/* Adds or replaces `key`; false iff the table cannot grow. */
bool shim_table_put(shim_table *table, uintptr_t key, size_t value);
/* The value of `key`, removing it if `remove`; false iff it is absent. */
bool shim_table_get(shim_table *table, uintptr_t key, size_t *value_out, bool remove);

/* ---- Arenas: a thread-safe buddy heap over each mapping ----------------- */

/* Allocates from the arenas, adding one if none has room; NULL iff the
 * system has no memory left for another. `alignment` is 0 or a power of
 * two at most ARENA_MAX_ALIGNMENT. */
void *shim_arena_alloc(size_t size, size_t alignment, bool zeroed);
/* The heap whose mapping holds `pointer`, or NULL. O(arenas). */
struct buddy_heap *shim_arena_of(const void *pointer);
/* Counts a free; every so many, gives free blocks' pages back (madvise). */
void shim_arena_note_free(void);
/* Takes or releases every arena's locks, around fork. */
void shim_arenas_lock_all(void);
void shim_arenas_unlock_all(void);
/* Arenas and their mapped bytes, for the statistics. */
void shim_arenas_count(unsigned *arenas_out, size_t *bytes_out);

/* The system's page size (4096 if it will not say). */
static inline size_t shim_page_size(void) {
    long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? (size_t)page : 4096u;
}

#define ARENA_MAX_ALIGNMENT ((size_t)64 << 10)

#endif /* BUDDY_MALLOC_SHIM_H */
