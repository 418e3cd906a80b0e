/* SPDX-License-Identifier: MIT */
/*
 * libbuddy_record.so: an LD_PRELOAD interposer that writes a program's
 * malloc, calloc, realloc, free, aligned_alloc, posix_memalign, memalign,
 * valloc and pvalloc calls as a trace (tools/trace.h) to the file named by
 * BUDDY_TRACE, for `buddy record`. IDs are the program's pointers in
 * hexadecimal.
 *
 * One lock covers each real call and its line, so the trace's order is the
 * order in which blocks really changed hands between threads. Lines are
 * formatted by hand and written with write(2): nothing here allocates.
 * Only the process that `buddy record` started records: BUDDY_TRACE is
 * removed from the environment once the file is open, so programs it starts
 * do not, and a forked child closes its copy of the file, so its calls never
 * mix into the parent's trace. Fork takes the lock first (pthread_atfork), so
 * a child never starts with the lock held by a thread it does not have.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h> /* pvalloc */
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

static void *(*real_malloc)(size_t);
static void (*real_free)(void *);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_pvalloc)(size_t);

static int trace_fd = -1;
static atomic_flag lock = ATOMIC_FLAG_INIT;
static _Thread_local bool resolving;

/* dlsym may allocate before the real functions are known: from here. */
static alignas(16) char bootstrap[16384];
static size_t bootstrap_used;

static bool from_bootstrap(const void *pointer) {
    return (const char *)pointer >= bootstrap &&
           (const char *)pointer < bootstrap + sizeof bootstrap;
}

static void *bootstrap_alloc(size_t size) {
    size = (size + 15) & ~(size_t)15;
    if (size > sizeof bootstrap - bootstrap_used)
        return NULL;
    bootstrap_used += size;
    return bootstrap + bootstrap_used - size; /* static, so already zero */
}

static void enter(void);
static void leave(void);

static void leave_in_child(void) {
    if (trace_fd >= 0)
        close(trace_fd);
    trace_fd = -1;
    leave();
}

static void resolve(void) {
    resolving = true; /* pthread_atfork and dlsym may allocate: from the bootstrap */
    real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
    real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    real_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
    real_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
    real_memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
    real_valloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "valloc");
    real_pvalloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "pvalloc");
    const char *path = getenv("BUDDY_TRACE");
    if (path != NULL) {
        trace_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        unsetenv("BUDDY_TRACE"); /* children of the program do not record */
    }
    pthread_atfork(enter, leave, leave_in_child);
    resolving = false;
}

static void enter(void) {
    while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire))
        ;
    if (real_malloc == NULL)
        resolve();
}

static void leave(void) {
    atomic_flag_clear_explicit(&lock, memory_order_release);
}

/* Resolves when the library is loaded, not at the first call: a program that
 * forks before it allocates would otherwise fork without the handlers, and
 * its child would write into the parent's trace. */
__attribute__((constructor)) static void resolve_at_load(void) {
    enter();
    leave();
}

static char *put_hex(char *out, uintptr_t value) {
    char digits[16];
    int count = 0;
    do {
        digits[count++] = "0123456789abcdef"[value & 15];
        value >>= 4;
    } while (value != 0);
    *out++ = '0';
    *out++ = 'x';
    while (count > 0)
        *out++ = digits[--count];
    return out;
}

static char *put_decimal(char *out, uint64_t value) {
    char digits[20];
    int count = 0;
    do {
        digits[count++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    while (count > 0)
        *out++ = digits[--count];
    return out;
}

/* Writes "KIND ID [SIZE [ALIGN | NEWID]]\n"; extra 0 means absent. */
static void record(char kind, const void *id, uint64_t size, uint64_t alignment,
                   const void *new_id) {
    if (trace_fd < 0 || resolving)
        return;
    char line[96], *end = line;
    *end++ = kind;
    *end++ = ' ';
    end = put_hex(end, (uintptr_t)id);
    if (kind != 'f') {
        *end++ = ' ';
        end = put_decimal(end, size);
    }
    if (alignment != 0) {
        *end++ = ' ';
        end = put_decimal(end, alignment);
    }
    if (new_id != NULL) {
        *end++ = ' ';
        end = put_hex(end, (uintptr_t)new_id);
    }
    *end++ = '\n';
    ssize_t written = write(trace_fd, line, (size_t)(end - line));
    (void)written;
}

EXPORT void *malloc(size_t size) {
    if (resolving)
        return bootstrap_alloc(size);
    enter();
    void *pointer = real_malloc(size);
    if (pointer != NULL)
        record('a', pointer, size, 0, NULL);
    leave();
    return pointer;
}

EXPORT void *calloc(size_t count, size_t size) {
    if (resolving)
        return bootstrap_alloc(count * size);
    enter();
    void *pointer = real_calloc(count, size);
    if (pointer != NULL)
        record('a', pointer, (uint64_t)count * size, 0, NULL);
    leave();
    return pointer;
}

EXPORT void free(void *pointer) {
    if (pointer == NULL || from_bootstrap(pointer))
        return;
    enter();
    real_free(pointer);
    record('f', pointer, 0, 0, NULL);
    leave();
}

EXPORT void *realloc(void *pointer, size_t size) {
    if (from_bootstrap(pointer)) { /* move it out of the bootstrap arena */
        void *moved = malloc(size);
        if (moved != NULL)
            memcpy(moved, pointer, size);
        return moved;
    }
    enter();
    void *result = real_realloc(pointer, size);
    if (pointer == NULL && result != NULL)
        record('a', result, size, 0, NULL);
    else if (pointer != NULL && size == 0 && result == NULL)
        record('f', pointer, 0, 0, NULL);
    else if (pointer != NULL && result != NULL)
        record('r', pointer, size, 0, result == pointer ? NULL : result);
    leave();
    return result;
}

static void *aligned(void *(*real)(size_t, size_t), size_t alignment, size_t size) {
    enter();
    void *pointer = real(alignment, size);
    if (pointer != NULL)
        record('a', pointer, size, alignment, NULL);
    leave();
    return pointer;
}

EXPORT void *aligned_alloc(size_t alignment, size_t size) {
    if (real_aligned_alloc == NULL) {
        enter();
        leave();
    }
    return aligned(real_aligned_alloc, alignment, size);
}

EXPORT void *memalign(size_t alignment, size_t size) {
    if (real_memalign == NULL) {
        enter();
        leave();
    }
    return aligned(real_memalign, alignment, size);
}

EXPORT int posix_memalign(void **out, size_t alignment, size_t size) {
    enter();
    int status = real_posix_memalign(out, alignment, size);
    if (status == 0)
        record('a', *out, size, alignment, NULL);
    leave();
    return status;
}

/* valloc and pvalloc align to the page; pvalloc also rounds the size up to
 * whole pages (0 to one page), and the trace gets the size it hands out. */
EXPORT void *valloc(size_t size) {
    enter();
    void *pointer = real_valloc(size);
    if (pointer != NULL)
        record('a', pointer, size, (uint64_t)sysconf(_SC_PAGESIZE), NULL);
    leave();
    return pointer;
}

EXPORT void *pvalloc(size_t size) {
    enter();
    void *pointer = real_pvalloc(size);
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t pages = size == 0 ? 1 : ((uint64_t)size + page - 1) / page;
    if (pointer != NULL)
        record('a', pointer, pages * page, page, NULL);
    leave();
    return pointer;
}
