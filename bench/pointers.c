/* SPDX-License-Identifier: MIT */
/* The pointer allocators of the heap benchmarks (pointers.h). */
#include "pointers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "buddy.h"

static bench_buffer region;

static pthread_mutex_t heap_mutex = PTHREAD_MUTEX_INITIALIZER;
static void lock_mutex(void *mutex) {
    pthread_mutex_lock(mutex);
}
static void unlock_mutex(void *mutex) {
    pthread_mutex_unlock(mutex);
}

void *pointers_heap_setup(const workload *w, unsigned flags) {
    /* The capacity plus the heap's metadata and alignment. */
    size_t needed = (size_t)w->capacity + (size_t)w->capacity / 64 + (1u << 20);
    buddy_heap *heap = NULL;
    buddy_heap_config config = {
        (size_t)w->min_block_size, 0, BUDDY_DEFAULT_POLICY, flags, NULL, NULL, NULL};
    if (flags & POINTERS_MUTEX) {
        config.flags &= ~(unsigned)POINTERS_MUTEX;
        config.lock = lock_mutex;
        config.unlock = unlock_mutex;
        config.lock_context = &heap_mutex;
    }
    if (buddy_heap_init(&heap, bench_buffer_get(&region, needed), needed, &config) != BUDDY_OK) {
        fprintf(stderr, "cannot set up the heap\n");
        exit(1);
    }
    return heap;
}

/* Hands out `pointer` as a handle after writing its first byte; -1 for NULL. */
static int hand_out(char *pointer, uint64_t *handle) {
    if (pointer == NULL)
        return -1;
    *(volatile char *)pointer = 1;
    *handle = (uint64_t)(uintptr_t)pointer;
    return 0;
}

int pointers_heap_alloc(void *state, uint64_t size, uint64_t *handle) {
    return hand_out(buddy_heap_malloc(state, (size_t)size), handle);
}

void pointers_heap_release(void *state, uint64_t handle) {
    buddy_heap_free(state, (void *)(uintptr_t)handle);
}

void pointers_heap_teardown(void *state) {
    buddy_heap_fini(state);
}

void *pointers_malloc_setup(const workload *w) {
    (void)w;
    return NULL;
}

int pointers_malloc_alloc(void *state, uint64_t size, uint64_t *handle) {
    (void)state;
    return hand_out(malloc((size_t)size), handle);
}

void pointers_malloc_release(void *state, uint64_t handle) {
    (void)state;
    free((void *)(uintptr_t)handle);
}
