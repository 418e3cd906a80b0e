/* SPDX-License-Identifier: MIT */
/*
 * libbuddy_malloc.so: every entry point glibc documents for a replacement
 * malloc, on buddy heaps, for LD_PRELOAD or for linking. A request below
 * the mmap threshold (and aligned to at most ARENA_MAX_ALIGNMENT) comes from
 * the arenas (arenas.c); a larger one is mapped on its own and unmapped when
 * freed, and a table of those mappings tells their pointers apart. A free
 * that no arena and no mapping owns, or that the heap rejects (a double
 * free, an interior pointer), is invalid: it aborts with a message, as
 * glibc's does, or is counted, as BUDDY_MALLOC_INVALID_FREE says.
 *
 * Nothing here calls the C library's malloc. A call made while this thread
 * is already inside one (a pthread function that allocates, say) is served
 * from a small static buffer that is never reused. free keeps errno, as
 * glibc's does. Fork takes every lock first (pthread_atfork). With
 * BUDDY_MALLOC_STATS set, every call also updates the statistics printed at
 * exit, under one lock: a diagnostic mode, as `buddy run` uses it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buddy.h"
#include "shim.h"

#define EXPORT __attribute__((visibility("default")))
#define DEFAULT_ARENA_SIZE ((size_t)32 << 20)
#define DEFAULT_MMAP_THRESHOLD ((size_t)1 << 20)
#define BOOTSTRAP_BYTES 65536u

shim_options shim_config = {DEFAULT_ARENA_SIZE, DEFAULT_MMAP_THRESHOLD, 0, 1, NULL};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static SHIM_TLS unsigned depth;  /* calls of this thread in progress */
static SHIM_TLS bool in_realloc; /* realloc counts its own statistics */

static _Alignas(64) unsigned char bootstrap[BOOTSTRAP_BYTES];
static size_t bootstrap_used; /* atomic */

/* ---- Messages, without stdio's buffers ---------------------------------- */

static void say(const char *format, ...) {
    char line[512];
    va_list args;
    va_start(args, format);
    int length = vsnprintf(line, sizeof line, format, args); // NOLINT: started above
    va_end(args);
    if (length > 0)
        (void)!write(STDERR_FILENO, line,
                     (size_t)length < sizeof line ? (size_t)length : sizeof line - 1);
}

/* ---- Options ----------------------------------------------------------- */

/* A size with an optional K, M or G suffix; false if it is not one. */
static bool parse_size(const char *text, size_t *size_out) {
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift != 0)
        end++;
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || value > (SIZE_MAX >> shift))
        return false;
    *size_out = (size_t)value << shift;
    return true;
}

static void read_size(const char *name, size_t low, size_t high, size_t *value) {
    const char *text = getenv(name);
    size_t size = 0;
    if (text == NULL)
        return;
    if (parse_size(text, &size) && size >= low && size <= high)
        *value = size;
    else
        say("buddy malloc: %s='%s' is not a size from %zu to %zu bytes; using %zu\n", name, text,
            low, high, *value);
}

/* Sets *value to the value of the choice `name` names among `count`, or
 * says which it keeps. */
static void read_choice(const char *name, const char *const *choices, const unsigned *values,
                        unsigned count, unsigned *value) {
    const char *text = getenv(name);
    if (text == NULL)
        return;
    unsigned kept = 0;
    for (unsigned i = 0; i < count; i++) {
        if (strcmp(text, choices[i]) == 0) {
            *value = values[i];
            return;
        }
        kept = values[i] == *value ? i : kept;
    }
    char list[64] = "";
    size_t used = 0;
    for (unsigned i = 0; i < count; i++) {
        int wrote =
            snprintf(list + used, sizeof list - used, "%s'%s'", i == 0 ? "" : ", ", choices[i]);
        used += wrote > 0 && (size_t)wrote < sizeof list - used ? (size_t)wrote : 0;
    }
    say("buddy malloc: %s='%s' is not one of %s; using '%s'\n", name, text, list, choices[kept]);
}

/* ---- Direct mappings ---------------------------------------------------- */

static pthread_mutex_t mappings_lock = PTHREAD_MUTEX_INITIALIZER;
static shim_table mappings; /* pointer -> mapped bytes */

/* Maps `size` bytes at a multiple of `alignment` (0 or a power of two). */
static void *map_block(size_t size, size_t alignment) {
    size_t page = shim_page_size();
    if (alignment < page)
        alignment = page;
    if (size > SIZE_MAX - alignment - page)
        return NULL;
    size_t bytes = (size + page - 1) & ~(page - 1), slack = alignment - page;
    unsigned char *memory =
        mmap(NULL, bytes + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED)
        return NULL;
    unsigned char *block =
        memory + ((alignment - ((uintptr_t)memory & (alignment - 1))) & (alignment - 1));
    if (block > memory)
        munmap(memory, (size_t)(block - memory));
    if (block + bytes < memory + bytes + slack)
        munmap(block + bytes, (size_t)(memory + bytes + slack - (block + bytes)));
    pthread_mutex_lock(&mappings_lock);
    bool stored = shim_table_put(&mappings, (uintptr_t)block, bytes);
    pthread_mutex_unlock(&mappings_lock);
    if (!stored) {
        /* GCOVR_EXCL_START: the table grows once per 768 more mappings (see table_without_room) */
        munmap(block, bytes);
        return NULL;
        /* GCOVR_EXCL_STOP */
    }
    return block;
}

/* The mapped bytes at `pointer`, removing the entry if `remove`; 0 if it
 * is not a mapping's start. */
static size_t mapping_size(const void *pointer, bool remove) {
    size_t bytes = 0;
    pthread_mutex_lock(&mappings_lock);
    if (!shim_table_get(&mappings, (uintptr_t)pointer, &bytes, remove))
        bytes = 0;
    pthread_mutex_unlock(&mappings_lock);
    return bytes;
}

/* ---- Statistics (BUDDY_MALLOC_STATS) ------------------------------------ */

typedef struct shim_stats {
    pthread_mutex_t lock;
    shim_table requested; /* pointer -> requested bytes */
    size_t live_requested, live_bytes, peak_bytes, requested_at_peak;
    uint64_t allocations, failures, reallocs_moved, reallocs_in_place, mapped;
} shim_stats;

static shim_stats stats = {
    PTHREAD_MUTEX_INITIALIZER, {NULL, NULL, 0, 0}, 0, 0, 0, 0, 0, 0, 0, 0, 0};
static bool stats_on;

static size_t usable_size(void *pointer);

/* Counts a new live block, and one call on `counter`. */
static void stats_add(void *pointer, size_t requested, uint64_t *counter) {
    size_t bytes = usable_size(pointer);
    pthread_mutex_lock(&stats.lock);
    if (shim_table_put(&stats.requested, (uintptr_t)pointer, requested)) {
        stats.live_requested += requested;
        stats.live_bytes += bytes;
        if (stats.live_bytes > stats.peak_bytes) {
            stats.peak_bytes = stats.live_bytes;
            stats.requested_at_peak = stats.live_requested;
        }
    }
    (*counter)++;
    pthread_mutex_unlock(&stats.lock);
}

static void stats_remove(void *pointer, size_t bytes) {
    size_t requested = 0;
    pthread_mutex_lock(&stats.lock);
    if (shim_table_get(&stats.requested, (uintptr_t)pointer, &requested, true)) {
        stats.live_requested -= requested;
        stats.live_bytes -= bytes;
    }
    pthread_mutex_unlock(&stats.lock);
}

static void stats_count(uint64_t *counter) {
    pthread_mutex_lock(&stats.lock);
    (*counter)++;
    pthread_mutex_unlock(&stats.lock);
}

static uint64_t invalid_frees; /* atomic; counted with or without statistics */

/* One line on the process's allocations, at exit: to stderr, or appended to
 * the file BUDDY_MALLOC_STATS names. Printed from a copy: printing may
 * allocate. */
static void print_stats(void) {
    char name[256] = "?";
    ssize_t length = readlink("/proc/self/exe", name, sizeof name - 1);
    if (length > 0)
        name[length] = '\0';
    const char *base = strrchr(name, '/');
    unsigned arenas = 0;
    size_t arena_bytes = 0;
    shim_arenas_count(&arenas, &arena_bytes);
    pthread_mutex_lock(&stats.lock);
    shim_stats copy = stats;
    pthread_mutex_unlock(&stats.lock);
    int fd = STDERR_FILENO;
    if (shim_config.stats_path[0] != '\0')
        fd = open(shim_config.stats_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    double rounding =
        copy.peak_bytes == 0
            ? 0.0
            : 100.0 * (double)(copy.peak_bytes - copy.requested_at_peak) / (double)copy.peak_bytes;
    dprintf(fd,
            "buddy malloc: pid %ld %s: peak %zu bytes in blocks for %zu requested (rounding "
            "%.1f%%); %" PRIu64 " allocations, %" PRIu64 " failed; %" PRIu64 " reallocs, %" PRIu64
            " in place; %u arenas of %zu bytes in all; %" PRIu64 " blocks mapped on their own; "
            "%" PRIu64 " invalid frees\n",
            (long)getpid(), base != NULL ? base + 1 : name, copy.peak_bytes, copy.requested_at_peak,
            rounding, copy.allocations, copy.failures, copy.reallocs_moved + copy.reallocs_in_place,
            copy.reallocs_in_place, arenas, arena_bytes, copy.mapped,
            __atomic_load_n(&invalid_frees, __ATOMIC_RELAXED));
    if (fd != STDERR_FILENO)
        close(fd);
}

static void at_exit(void) {
    if (stats_on)
        print_stats();
    else if (__atomic_load_n(&invalid_frees, __ATOMIC_RELAXED) != 0)
        say("buddy malloc: pid %ld: %" PRIu64 " invalid frees were ignored\n", (long)getpid(),
            __atomic_load_n(&invalid_frees, __ATOMIC_RELAXED));
}

/* ---- Set-up and fork ---------------------------------------------------- */

static void before_fork(void) {
    pthread_mutex_lock(&stats.lock);
    pthread_mutex_lock(&mappings_lock);
    shim_arenas_lock_all();
}

static void after_fork(void) {
    shim_arenas_unlock_all();
    pthread_mutex_unlock(&mappings_lock);
    pthread_mutex_unlock(&stats.lock);
}

static void set_up(void) {
    read_size("BUDDY_MALLOC_ARENA_SIZE", (size_t)1 << 20, (size_t)1 << 30, &shim_config.arena_size);
    read_size("BUDDY_MALLOC_MMAP_THRESHOLD", 4096, (size_t)1 << 30, &shim_config.mmap_threshold);
    static const char *const sizings[] = {"0", "1", "packed"}, *const frees[] = {"count", "abort"};
    static const unsigned sizing_flags[] = {0, BUDDY_HEAP_EXACT, BUDDY_HEAP_PACKED},
                          aborts[] = {0, 1};
    read_choice("BUDDY_MALLOC_EXACT", sizings, sizing_flags, 3, &shim_config.sizing);
    read_choice("BUDDY_MALLOC_INVALID_FREE", frees, aborts, 2, &shim_config.abort_on_invalid);
    const char *path = getenv("BUDDY_MALLOC_STATS");
    if (path != NULL && path[0] != '\0') {
        shim_config.stats_path = strcmp(path, "1") == 0 ? "" : path;
        stats_on = true;
    }
    if (pthread_atfork(before_fork, after_fork, after_fork) != 0 || atexit(at_exit) != 0)
        say("buddy malloc: no room to register the fork and exit handlers\n"); // GCOVR_EXCL_LINE
}

/* ---- Allocation --------------------------------------------------------- */

/* From the static buffer, for a call made inside another of this thread. */
static void *bootstrap_alloc(size_t size) {
    size_t bytes = (size + 63u) & ~(size_t)63u;
    size_t at = __atomic_fetch_add(&bootstrap_used, bytes, __ATOMIC_RELAXED);
    return size <= BOOTSTRAP_BYTES && at <= BOOTSTRAP_BYTES - bytes ? bootstrap + at : NULL;
}

static bool from_bootstrap(const void *pointer) {
    return (const unsigned char *)pointer >= bootstrap &&
           (const unsigned char *)pointer < bootstrap + BOOTSTRAP_BYTES;
}

/* `size` bytes at `alignment` (0, or a power of two), zeroed if asked;
 * with this thread's depth counted by the caller. */
static void *allocate_inside(size_t size, size_t alignment, bool zeroed) {
    pthread_once(&once, set_up);
    void *block = NULL;
    if (size < shim_config.mmap_threshold && alignment <= ARENA_MAX_ALIGNMENT)
        block = shim_arena_alloc(size, alignment, zeroed);
    if (block == NULL) {
        block = map_block(size, alignment); /* zeroed by the system */
        if (block != NULL && stats_on)
            stats_count(&stats.mapped);
    }
    if (stats_on && !in_realloc) {
        if (block != NULL)
            stats_add(block, size, &stats.allocations);
        else
            stats_count(&stats.failures);
    }
    if (block == NULL)
        errno = ENOMEM;
    return block;
}

/* allocate_inside for an entry point, or from the static buffer for a call
 * made inside another of this thread. */
static void *allocate(size_t size, size_t alignment, bool zeroed) {
    if (depth != 0) {
        void *block = bootstrap_alloc(size);
        if (block != NULL && zeroed)
            memset(block, 0, size);
        return block;
    }
    depth++;
    void *block = allocate_inside(size, alignment, zeroed);
    depth--;
    return block;
}

/* The bytes usable at a live `pointer`; 0 if it is not one. */
static size_t usable_size(void *pointer) {
    if (pointer == NULL || from_bootstrap(pointer))
        return 0;
    buddy_heap *heap = shim_arena_of(pointer);
    return heap != NULL ? buddy_heap_usable_size(heap, pointer) : mapping_size(pointer, false);
}

static void invalid_free(const char *call, void *pointer, const char *why) {
    __atomic_fetch_add(&invalid_frees, 1u, __ATOMIC_RELAXED);
    pthread_once(&once, set_up); /* a free may come before any allocation */
    if (!shim_config.abort_on_invalid)
        return;
    /* GCOVR_EXCL_START: tested in a child process, which abort() ends without coverage data */
    say("buddy malloc: %s(%p): invalid pointer (%s); set BUDDY_MALLOC_INVALID_FREE=count to "
        "count such frees instead\n",
        call, pointer, why);
    abort();
    /* GCOVR_EXCL_STOP */
}

/* Frees `pointer` for `call`; the heap's status, or BUDDY_OK. */
static void release(const char *call, void *pointer) {
    if (pointer == NULL || from_bootstrap(pointer))
        return;
    size_t bytes = stats_on ? usable_size(pointer) : 0;
    buddy_heap *heap = shim_arena_of(pointer);
    if (heap != NULL) {
        int status = buddy_heap_free(heap, pointer);
        if (status != BUDDY_OK) {
            invalid_free(call, pointer, buddy_status_str(status));
            return;
        }
        shim_arena_note_free();
    } else {
        size_t mapped = mapping_size(pointer, true);
        if (mapped == 0) {
            invalid_free(call, pointer, "not allocated here");
            return;
        }
        munmap(pointer, mapped);
    }
    if (stats_on && !in_realloc)
        stats_remove(pointer, bytes);
}

/* ---- The entry points ---------------------------------------------------- */

EXPORT void *malloc(size_t size) {
    return allocate(size, 0, false);
}

EXPORT void free(void *pointer) {
    int saved = errno;
    depth++;
    release("free", pointer);
    depth--;
    errno = saved;
}

EXPORT void *calloc(size_t count, size_t size) {
    if (size != 0 && count > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return allocate(count * size, 0, true);
}

/* Moves the block at `pointer` (`old` usable bytes) to a new one. */
static void *move(void *pointer, size_t old, size_t size) {
    void *block = allocate_inside(size, 0, false);
    if (block != NULL) {
        memcpy(block, pointer, old < size ? old : size);
        release("realloc", pointer);
    }
    return block;
}

/* realloc of a live block of an arena, or of a mapping; NULL with errno
 * set if it cannot. */
static void *resize(void *pointer, size_t size) {
    /* A block of the buffer (only the C library's internals hold one): its
     * size is unknown, so what the buffer holds after it is copied. */
    if (from_bootstrap(pointer)) {
        /* GCOVR_EXCL_START: no test can get hold of such a block */
        size_t old = (size_t)(bootstrap + BOOTSTRAP_BYTES - (unsigned char *)pointer);
        return move(pointer, old, size);
        /* GCOVR_EXCL_STOP */
    }
    buddy_heap *heap = shim_arena_of(pointer);
    if (heap != NULL) {
        if (size < shim_config.mmap_threshold) {
            void *block = buddy_heap_realloc(heap, pointer, size);
            if (block != NULL)
                return block;
        }
        size_t old = buddy_heap_usable_size(heap, pointer);
        if (old == 0) {
            invalid_free("realloc", pointer, "not a live block");
            errno = EINVAL;
            return NULL;
        }
        return move(pointer, old, size); /* this arena is full, or the block becomes a mapping */
    }
    size_t mapped = mapping_size(pointer, false), page = shim_page_size();
    if (mapped == 0) {
        invalid_free("realloc", pointer, "not allocated here");
        errno = EINVAL;
        return NULL;
    }
    if (size < shim_config.mmap_threshold / 2 || size > SIZE_MAX - page)
        return move(pointer, mapped, size);
    size_t bytes = (size + page - 1) & ~(page - 1);
    pthread_mutex_lock(&mappings_lock);
    void *block = mremap(pointer, mapped, bytes, MREMAP_MAYMOVE);
    if (block != MAP_FAILED) {
        size_t ignored = 0;
        (void)shim_table_get(&mappings, (uintptr_t)pointer, &ignored, true);
        (void)shim_table_put(&mappings, (uintptr_t)block, bytes); /* reuses the slot freed */
    }
    pthread_mutex_unlock(&mappings_lock);
    return block == MAP_FAILED ? NULL : block;
}

EXPORT void *realloc(void *pointer, size_t size) {
    if (pointer == NULL)
        return malloc(size);
    if (size == 0) { /* glibc's choice: free it */
        free(pointer);
        return NULL;
    }
    size_t old = stats_on ? usable_size(pointer) : 0;
    depth++;
    in_realloc = true;
    void *block = resize(pointer, size);
    in_realloc = false;
    depth--;
    if (stats_on && block != NULL) {
        stats_remove(pointer, old);
        stats_add(block, size, block == pointer ? &stats.reallocs_in_place : &stats.reallocs_moved);
    } else if (stats_on) {
        stats_count(&stats.failures);
    }
    return block; /* resize set errno on failure: ENOMEM, or EINVAL for an invalid pointer */
}

EXPORT void *reallocarray(void *pointer, size_t count, size_t size) {
    if (size != 0 && count > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(pointer, count * size); // NOLINT: 0 frees, as glibc's does
}

/* glibc's memalign: an alignment that is not a power of two rounds up to one. */
EXPORT void *memalign(size_t alignment, size_t size) {
    if (alignment > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    size_t power = 1;
    while (power < alignment)
        power *= 2;
    return allocate(size, power <= 16 ? 0 : power, false);
}

EXPORT void *aligned_alloc(size_t alignment, size_t size) {
    return memalign(alignment, size);
}

EXPORT int posix_memalign(void **pointer_out, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0)
        return EINVAL;
    int saved = errno;
    void *block = memalign(alignment, size);
    errno = saved;
    if (block == NULL)
        return ENOMEM;
    *pointer_out = block;
    return 0;
}

EXPORT void *valloc(size_t size) {
    return memalign(shim_page_size(), size);
}

EXPORT void *pvalloc(size_t size) {
    size_t page = shim_page_size();
    if (size > SIZE_MAX - page) {
        errno = ENOMEM;
        return NULL;
    }
    return memalign(page, size == 0 ? page : (size + page - 1) & ~(page - 1));
}

EXPORT size_t malloc_usable_size(void *pointer) {
    depth++;
    size_t bytes = usable_size(pointer);
    depth--;
    return bytes;
}
