/* SPDX-License-Identifier: MIT */
/*
 * What the heap tells the memory debuggers, in one place. Under
 * AddressSanitizer, the usable area starts poisoned and each live block is
 * unpoisoned while it lives. Under Valgrind (when its headers were found),
 * the heap is a mempool whose free memory is inaccessible. Outside those
 * tools every hook compiles to nothing (Valgrind's client requests cost a few
 * instructions when not running under Valgrind).
 */
#ifndef BUDDY_HEAP_DEBUG_H
#define BUDDY_HEAP_DEBUG_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define BUDDY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BUDDY_ASAN 1
#endif
#endif

#ifdef BUDDY_ASAN
#include <sanitizer/asan_interface.h>
#define ASAN_POISON(address, size) __asan_poison_memory_region((address), (size))
#define ASAN_UNPOISON(address, size) __asan_unpoison_memory_region((address), (size))
#else
#define ASAN_POISON(address, size) ((void)(address), (void)(size))
#define ASAN_UNPOISON(address, size) ((void)(address), (void)(size))
#endif

#ifdef BUDDY_HAVE_VALGRIND
#include <valgrind/memcheck.h>
#define RUNNING_UNDER_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#else
#define RUNNING_UNDER_VALGRIND() 0
#define VALGRIND_CREATE_MEMPOOL(pool, redzone, zeroed) ((void)0)
#define VALGRIND_DESTROY_MEMPOOL(pool) ((void)0)
#define VALGRIND_MEMPOOL_ALLOC(pool, address, size) ((void)0)
#define VALGRIND_MEMPOOL_FREE(pool, address) ((void)0)
#define VALGRIND_MEMPOOL_CHANGE(pool, old_address, address, size) ((void)0)
#define VALGRIND_MAKE_MEM_NOACCESS(address, size) ((void)0)
#define VALGRIND_MAKE_MEM_UNDEFINED(address, size) ((void)0)
#endif

/* Whether a tool must hear of each block's size on free. */
static inline int debug_tools_active(void) {
#ifdef BUDDY_ASAN
    return 1;
#else
    return RUNNING_UNDER_VALGRIND();
#endif
}

/* Memory the caller handed over (or takes back) is plain memory again, even
 * if an earlier heap in it had poisoned it. */
static inline void debug_memory_returned(void *memory, size_t size) {
    ASAN_UNPOISON(memory, size);
    VALGRIND_MAKE_MEM_UNDEFINED(memory, size);
}

/* The usable area is handed to the tools as wholly free. */
static inline void debug_area_free(void *pool, void *area, size_t size) {
    ASAN_POISON(area, size);
    VALGRIND_MAKE_MEM_NOACCESS(area, size);
    (void)pool;
}

/* A block became live with `size` usable bytes. */
static inline void debug_block_live(void *pool, void *block, size_t size) {
    ASAN_UNPOISON(block, size);
    VALGRIND_MEMPOOL_ALLOC(pool, block, size);
    (void)pool;
}

/* A live block changed size in place. (Valgrind's MEMPOOL_CHANGE moves the
 * chunk's bounds only; the tail's accessibility is set here.) */
static inline void debug_block_resized(void *pool, void *block, size_t old_size, size_t size) {
    VALGRIND_MEMPOOL_CHANGE(pool, block, block, size);
    if (size > old_size) {
        ASAN_UNPOISON((char *)block + old_size, size - old_size);
        VALGRIND_MAKE_MEM_UNDEFINED((char *)block + old_size, size - old_size);
    } else {
        ASAN_POISON((char *)block + size, old_size - size);
        VALGRIND_MAKE_MEM_NOACCESS((char *)block + size, old_size - size);
    }
    (void)pool;
}

/* A live block was freed. */
static inline void debug_block_free(void *pool, void *block, size_t size) {
    VALGRIND_MEMPOOL_FREE(pool, block);
    ASAN_POISON(block, size);
    (void)pool;
}

#endif /* BUDDY_HEAP_DEBUG_H */
