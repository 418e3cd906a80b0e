/* SPDX-License-Identifier: MIT */
/* The benchmark workloads (workload.h): deterministic for a given seed. */
#include "workload.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "buddy.h"

uint64_t workload_random(uint64_t *state) {
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static double random_unit(uint64_t *state) {
    return (double)(workload_random(state) >> 11) / 9007199254740992.0;
}

/* Live slots and a stack of unused slot numbers. */
typedef struct slots {
    uint32_t *live;
    uint64_t *size_of; /* rounded size per slot */
    uint32_t *unused;
    size_t live_count, unused_count;
    uint32_t next;
} slots;

static void slots_init(slots *s, size_t capacity) {
    s->live = malloc(capacity * sizeof *s->live);
    s->size_of = malloc(capacity * sizeof *s->size_of);
    s->unused = malloc(capacity * sizeof *s->unused);
    if (s->live == NULL || s->size_of == NULL || s->unused == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    s->live_count = s->unused_count = 0;
    s->next = 0;
}

static uint32_t slots_take(slots *s, uint64_t rounded) {
    uint32_t slot = s->unused_count > 0 ? s->unused[--s->unused_count] : s->next++;
    s->size_of[slot] = rounded;
    s->live[s->live_count++] = slot;
    return slot;
}

static uint32_t slots_release_random(slots *s, uint64_t *seed) {
    size_t index = (size_t)(workload_random(seed) % s->live_count);
    uint32_t slot = s->live[index];
    s->live[index] = s->live[--s->live_count];
    s->unused[s->unused_count++] = slot;
    return slot;
}

static void slots_destroy(slots *s) {
    free(s->live);
    free(s->size_of);
    free(s->unused);
}

static uint64_t round_to_block(uint64_t size, uint64_t min_block) {
    uint64_t block = min_block;
    while (block < size)
        block <<= 1;
    return block;
}

static void workload_alloc_ops(workload *w, size_t count) {
    w->ops = malloc(count * sizeof *w->ops);
    if (w->ops == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    w->op_count = 0;
    w->timed_from = 0;
    w->repeat = 1;
}

void workload_churn(workload *w, uint64_t capacity, uint64_t min_block, double live_fraction,
                    size_t op_count, uint64_t seed) {
    w->name = "W1 churn";
    w->capacity = capacity;
    w->min_block_size = min_block;
    workload_alloc_ops(w, op_count);
    slots s;
    slots_init(&s, op_count);
    uint64_t live_bytes = 0;
    uint64_t target = (uint64_t)((double)capacity * live_fraction);
    while (w->op_count < op_count) {
        bool below = live_bytes < target;
        bool alloc = s.live_count == 0 || random_unit(&seed) < (below ? 0.55 : 0.45);
        op *o = &w->ops[w->op_count++];
        if (alloc) {
            o->size = (uint64_t)(64.0 * pow(2.0, 10.0 * random_unit(&seed))); /* 64 B..64 KiB */
            uint64_t rounded = round_to_block(o->size, min_block);
            o->slot = slots_take(&s, rounded);
            o->is_free = 0;
            live_bytes += rounded;
        } else {
            o->slot = slots_release_random(&s, &seed);
            o->is_free = 1;
            o->size = 0;
            live_bytes -= s.size_of[o->slot];
        }
    }
    w->slot_count = s.next;
    slots_destroy(&s);
}

void workload_fill_pairs(workload *w, uint64_t capacity, uint64_t min_block, double fill_fraction,
                         size_t pair_count, uint64_t seed) {
    w->name = "W2 fill+pairs";
    w->capacity = capacity;
    w->min_block_size = min_block;
    size_t fill = (size_t)((double)(capacity / min_block) * fill_fraction);
    workload_alloc_ops(w, fill + 2 * pair_count);
    slots s;
    slots_init(&s, fill + 1);
    for (size_t i = 0; i < fill; i++)
        w->ops[w->op_count++] = (op){slots_take(&s, min_block), 0, min_block};
    w->timed_from = w->op_count;
    for (size_t i = 0; i < pair_count; i++) {
        w->ops[w->op_count++] = (op){slots_release_random(&s, &seed), 1, 0};
        w->ops[w->op_count++] = (op){slots_take(&s, min_block), 0, min_block};
    }
    w->slot_count = s.next;
    slots_destroy(&s);
}

void workload_seed_fuzz(workload *w, uint64_t seed, unsigned repeat) {
    w->name = "W4 seed fuzz";
    w->capacity = 1024;
    w->min_block_size = 1;
    workload_alloc_ops(w, 40000);
    w->repeat = repeat;
    buddy_range *range = NULL;
    if (buddy_seed_create(&range, 1024) != BUDDY_OK)
        exit(1);
    slots s;
    slots_init(&s, 40000);
    int64_t *start_of = malloc(40000 * sizeof *start_of);
    const double thresholds[] = {0.25, 0.5, 0.75};
    for (int phase = 0; phase < 3; phase++) {
        for (int i = 0; i < 10000; i++) {
            buddy_range_stats stats;
            buddy_range_get_stats(range, &stats);
            double coin = random_unit(&seed);
            if (stats.largest_free_block > 0 && (s.live_count == 0 || coin <= thresholds[phase])) {
                uint64_t size = 1 + workload_random(&seed) % stats.largest_free_block;
                uint32_t slot = slots_take(&s, size);
                start_of[slot] = buddy_seed_malloc(range, (int64_t)size);
                w->ops[w->op_count++] = (op){slot, 0, size};
            } else {
                uint32_t slot = slots_release_random(&s, &seed);
                buddy_seed_free(range, start_of[slot]);
                w->ops[w->op_count++] = (op){slot, 1, 0};
            }
        }
    }
    while (s.live_count > 0)
        w->ops[w->op_count++] = (op){slots_release_random(&s, &seed), 1, 0};
    w->slot_count = s.next;
    free(start_of);
    slots_destroy(&s);
    buddy_range_destroy(range);
}

void workload_destroy(workload *w) {
    free(w->ops);
    w->ops = NULL;
}
