/* SPDX-License-Identifier: MIT */
/*
 * Pointer tables for the drop-in malloc: keys are addresses, probed
 * linearly from a multiplicative hash, in arrays mapped with mmap (never
 * malloc, which is us). A table grows to twice its slots when three
 * quarters are used, removed keys included; its owner serialises calls.
 */
#include <sys/mman.h>

#include "shim.h"

#define KEY_EMPTY 0u
#define KEY_REMOVED 1u
#define FIRST_SLOTS 1024u

static size_t slot_of(uintptr_t key, size_t slots) {
    uint64_t hash = (uint64_t)(key >> 4) * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(hash >> 32) & (slots - 1);
}

static void *map(size_t bytes) {
    void *memory = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return memory == MAP_FAILED ? NULL : memory;
}

/* The slot holding `key`, or the empty slot where it would go. */
static size_t find(const shim_table *table, uintptr_t key) {
    size_t mask = table->slots - 1, slot = slot_of(key, table->slots), removed = SIZE_MAX;
    while (table->keys[slot] != KEY_EMPTY && table->keys[slot] != key) {
        if (table->keys[slot] == KEY_REMOVED && removed == SIZE_MAX)
            removed = slot;
        slot = (slot + 1) & mask;
    }
    return table->keys[slot] == KEY_EMPTY && removed != SIZE_MAX ? removed : slot;
}

static bool grow(shim_table *table) {
    size_t slots = table->slots == 0 ? FIRST_SLOTS : table->slots * 2;
    if (slots > SIZE_MAX / (sizeof(uintptr_t) + sizeof(size_t)))
        return false; /* GCOVR_EXCL_LINE: the address space would be full first */
    shim_table bigger = {map(slots * sizeof(uintptr_t)), NULL, slots, 0};
    if (bigger.keys == NULL)
        return false;
    if ((bigger.values = map(slots * sizeof(size_t))) == NULL) {
        munmap(bigger.keys, slots * sizeof(uintptr_t));
        return false;
    }
    for (size_t slot = 0; slot < table->slots; slot++) {
        if (table->keys[slot] > KEY_REMOVED) {
            size_t to = find(&bigger, table->keys[slot]);
            bigger.keys[to] = table->keys[slot];
            bigger.values[to] = table->values[slot];
            bigger.used++;
        }
    }
    if (table->slots != 0) {
        munmap(table->keys, table->slots * sizeof(uintptr_t));
        munmap(table->values, table->slots * sizeof(size_t));
    }
    *table = bigger;
    return true;
}

bool shim_table_put(shim_table *table, uintptr_t key, size_t value) {
    if ((table->used + 1) * 4 > table->slots * 3 && !grow(table))
        return false;
    size_t slot = find(table, key);
    if (table->keys[slot] == KEY_EMPTY)
        table->used++;
    table->keys[slot] = key;
    table->values[slot] = value;
    return true;
}

bool shim_table_get(shim_table *table, uintptr_t key, size_t *value_out, bool remove) {
    if (table->slots == 0 || key <= KEY_REMOVED)
        return false;
    size_t slot = find(table, key);
    if (table->keys[slot] != key)
        return false;
    *value_out = table->values[slot];
    if (remove)
        table->keys[slot] = KEY_REMOVED;
    return true;
}
