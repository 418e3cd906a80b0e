/* SPDX-License-Identifier: MIT */
/*
 * A naive reference model of a buddy range, written for obviousness: one entry
 * per min block says whether a block starts there, its order and whether it is
 * free. Every query is a linear scan. Tests and fuzzers compare the library
 * against it step by step.
 */
#ifndef BUDDY_TESTS_MODEL_H
#define BUDDY_TESTS_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "buddy.h"

typedef struct model {
    uint64_t block_count;
    uint64_t max_block_count;
    unsigned min_block_shift;
    buddy_policy policy;
    signed char *order_at; /* order of the block starting at a min block, or -1 */
    bool *free_at;         /* that block is free */
    bool *continues;       /* that live block is a piece of a run followed by another */
    uint64_t *user_data;   /* NULL without user data; else per min block */
    unsigned reservation_count;
    uint64_t reservations[BUDDY_MAX_RESERVATIONS][2]; /* [first, end) min blocks, any order */
} model;

/* Builds the model of an empty range; false iff the geometry is impossible. */
bool model_init(model *m, uint64_t capacity, uint64_t min_block_size, buddy_policy policy);
/* The same for a configuration (buddy_range_config). */
bool model_init_config(model *m, const buddy_range_config *config);
void model_destroy(model *m);
/* Same contract as buddy_range_alloc / _free / _size (statuses included). */
int model_alloc(model *m, uint64_t size, uint64_t *offset_out);
int model_alloc_aligned(model *m, uint64_t size, uint64_t alignment, uint64_t *offset_out);
int model_alloc_exact(model *m, uint64_t size, uint64_t *offset_out);
int model_alloc_exact_aligned(model *m, uint64_t size, uint64_t alignment, uint64_t *offset_out);
int model_alloc_packed(model *m, uint64_t size, uint64_t *offset_out);
int model_alloc_packed_aligned(model *m, uint64_t size, uint64_t alignment, uint64_t *offset_out);
int model_set_capacity(model *m, uint64_t new_capacity);
int model_reserve(model *m, uint64_t offset, uint64_t size);
int model_unreserve(model *m, uint64_t offset, uint64_t size);
int model_set_user_data(model *m, uint64_t offset, uint64_t value);
int model_get_user_data(const model *m, uint64_t offset, uint64_t *value_out);
/* The reservation that starts at min block `first`: its min blocks, or 0. */
uint64_t model_reservation_at(const model *m, uint64_t first);
int model_free(model *m, uint64_t offset);
int model_size(const model *m, uint64_t offset, uint64_t *size_out);
int model_resize(model *m, uint64_t offset, uint64_t new_size);
uint64_t model_free_blocks(const model *m, unsigned order);
uint64_t model_largest_free(const model *m);

#endif /* BUDDY_TESTS_MODEL_H */
