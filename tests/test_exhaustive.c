/* SPDX-License-Identifier: MIT */
/*
 * Exhaustive check of small ranges: for every capacity of 1 to 16 min blocks
 * and both policies, every sequence of up to DEPTH operations over a fixed
 * alphabet is compared with the reference model, with the invariant checker
 * after every step and rejected calls shown to change no metadata byte.
 *
 * Since both sides are deterministic, a sequence's outcome depends only on the
 * state its prefix reached. So the search runs every operation from every
 * state reachable in fewer than DEPTH steps, expanding a state again only if
 * it is reached with more steps left than before; this covers all
 * |alphabet|^1 + ... + |alphabet|^DEPTH sequences. The alphabet: alloc of 0,
 * 1, 2, 4, ... up to the largest block, and one unit more; exact runs of 5,
 * 6, 11 and 13 units where they fit (4+1, 4+2, 8+2+1 taking 12, 8+4+1), and
 * of 3 units aligned to 8; packed runs of 6 and 9 where they fit; free at every offset 0..n (n is
 * out of range); resize of offsets 0 and 1 to 1 unit and to the largest block, and of 4 to 12 units
 * (a run there rises: pieces of 4, then 8); reserve and unreserve of [1, 3), [2, 7) and the whole
 * capacity; set_capacity to half the capacity and to the maximum the range was made for (3 more min
 * blocks, up to 16); user data set at offsets 0, 1 and 2 (first fit's ranges have user data, best
 * fit's none), after which every offset's is read back; and the JSON dump, which must change
 * nothing. DEPTH is BUDDY_EXHAUSTIVE_DEPTH, else 8, or 4 in quick mode (tests/CMakeLists.txt sets
 * 6 in an unoptimized build).
 */
#include <stddef.h>

#include "buddy.h"
#include "check.h"
#include "layout.h"
#include "model.h"

#define MAX_BLOCKS 16
#define MAX_DEPTH 10
#define MAX_OPS 48
#define MEMO_SLOTS (1u << 22)

typedef struct operation {
    enum {
        ALLOC,
        EXACT,
        EXACT_ALIGNED,
        PACKED,
        FREE,
        RESIZE,
        RESERVE,
        UNRESERVE,
        SET_CAPACITY,
        USER_DATA,
        DUMP
    } kind;
    uint64_t offset, size;
} operation;

/* A state, exactly: see state_key. */
typedef struct key {
    uint64_t blocks, extra;
} key;

typedef struct search {
    buddy_range *range;
    model reference;
    operation ops[MAX_OPS];
    unsigned op_count, depth;
    size_t metadata_size;
    uint64_t transitions, states;
    key *memo_key;            /* open addressing; extra = 0 marks an empty slot */
    unsigned char *memo_left; /* the most steps left it was expanded with */
} search;

/* A state. `blocks`: per min block, the order + 1 of a block starting there
 * (0: none) in 3 bits and its free bit; a piece of a run that goes on (order 2
 * or 3 in 16 min blocks, and live) is order + 4 instead: 6 or 7. `extra`: the
 * capacity, then per min block whether a reservation starts there and whether
 * one holds it, then whether its user data is set (always to 5 + its index);
 * never 0. */
static key state_key(const model *m) {
    key k = {0, m->block_count};
    for (uint64_t i = 0; i < m->block_count; i++) {
        uint64_t value = m->continues[i]
                             ? (uint64_t)m->order_at[i] + 4
                             : (uint64_t)((m->order_at[i] + 1) | (m->free_at[i] ? 8 : 0));
        k.blocks |= value << (4 * i);
    }
    for (unsigned r = 0; r < m->reservation_count; r++) {
        k.extra |= (uint64_t)1 << (8 + 2 * m->reservations[r][0]);
        for (uint64_t i = m->reservations[r][0]; i < m->reservations[r][1]; i++)
            k.extra |= (uint64_t)2 << (8 + 2 * i);
    }
    for (uint64_t i = 0; m->user_data != NULL && i < m->block_count; i++)
        k.extra |= (uint64_t)(m->user_data[i] != 0) << (40 + i);
    return k;
}

/* True the first time a state is reached with `left` steps or more. */
static bool worth_expanding(search *s, key k, unsigned left) {
    uint64_t hash =
        (k.blocks ^ (k.extra * UINT64_C(0xff51afd7ed558ccd))) * UINT64_C(0x9e3779b97f4a7c15);
    size_t slot = (size_t)(hash >> 42) & (MEMO_SLOTS - 1);
    while (s->memo_key[slot].extra != 0 &&
           (s->memo_key[slot].extra != k.extra || s->memo_key[slot].blocks != k.blocks))
        slot = (slot + 1) & (MEMO_SLOTS - 1);
    if (s->memo_key[slot].extra == 0) {
        s->memo_key[slot] = k;
        s->memo_left[slot] = (unsigned char)left;
        s->states++;
        return true;
    }
    if (s->memo_left[slot] >= left)
        return false;
    s->memo_left[slot] = (unsigned char)left;
    return true;
}

static void build_alphabet(search *s, uint64_t blocks, uint64_t max_blocks) {
    uint64_t largest = 1;
    while (largest * 2 <= blocks)
        largest *= 2;
    s->op_count = 0;
    s->ops[s->op_count++] = (operation){ALLOC, 0, 0};
    for (uint64_t size = 1; size <= largest; size *= 2)
        s->ops[s->op_count++] = (operation){ALLOC, 0, size};
    s->ops[s->op_count++] = (operation){ALLOC, 0, largest + 1};
    static const uint64_t exact_sizes[] = {5, 6, 11, 13}; /* 4+1, 4+2, 8+2+1 (takes 12), 8+4+1 */
    for (size_t i = 0; i < sizeof exact_sizes / sizeof exact_sizes[0]; i++)
        if (exact_sizes[i] <= largest)
            s->ops[s->op_count++] = (operation){EXACT, 0, exact_sizes[i]};
    for (uint64_t offset = 0; offset <= blocks; offset++)
        s->ops[s->op_count++] = (operation){FREE, offset, 0};
    s->ops[s->op_count++] = (operation){EXACT_ALIGNED, 8, 3};
    static const uint64_t packed_sizes[] = {6, 9}; /* 2 + 4 at 2 mod 4 (a back mark), 4 + 4 + 1 */
    for (size_t i = 0; i < sizeof packed_sizes / sizeof packed_sizes[0]; i++)
        if (packed_sizes[i] <= largest)
            s->ops[s->op_count++] = (operation){PACKED, 0, packed_sizes[i]};
    for (uint64_t offset = 0; offset < 2; offset++) {
        s->ops[s->op_count++] = (operation){RESIZE, offset, 1};
        s->ops[s->op_count++] = (operation){RESIZE, offset, largest};
    }
    s->ops[s->op_count++] = (operation){RESIZE, 4, 12}; /* a run at 4 grows to 4 + 8 */
    const operation regions[] = {{RESERVE, 1, 2}, {RESERVE, 2, 5}, {RESERVE, 0, blocks}};
    for (size_t i = 0; i < sizeof regions / sizeof regions[0]; i++) {
        s->ops[s->op_count++] = regions[i];
        s->ops[s->op_count++] = (operation){UNRESERVE, regions[i].offset, regions[i].size};
    }
    s->ops[s->op_count++] = (operation){SET_CAPACITY, 0, blocks / 2};
    s->ops[s->op_count++] = (operation){SET_CAPACITY, 0, max_blocks};
    for (uint64_t offset = 0; offset < 3; offset++)
        s->ops[s->op_count++] = (operation){USER_DATA, offset, 0};
    s->ops[s->op_count++] = (operation){DUMP, 0, 0};
}

/* Every offset's user data, as the model has it. */
static bool user_data_agrees(search *s) {
    for (uint64_t offset = 0; offset <= s->reference.max_block_count; offset++) {
        uint64_t got = 0, want = 0;
        int status = buddy_range_get_user_data(s->range, offset, &got);
        if (status != model_get_user_data(&s->reference, offset, &want) ||
            (status == BUDDY_OK && got != want))
            return false;
    }
    return true;
}

/* The dump, map included: its length is what it says, and it changes nothing. */
static bool dump_agrees(search *s, const unsigned char *before) {
    char text[4096];
    size_t length = buddy_range_dump_json(s->range, text, sizeof text, BUDDY_DUMP_BLOCKS);
    return length > 0 && length < sizeof text && strlen(text) == length &&
           memcmp(before, s->range, s->metadata_size) == 0;
}

/* Applies one operation to both sides and compares; false on a mismatch. */
static bool apply(search *s, const operation *op, const unsigned char *before) {
    int got, want;
    uint64_t offset = 0, expected = 0;
    if (op->kind == ALLOC) {
        got = buddy_range_alloc(s->range, op->size, &offset);
        want = model_alloc(&s->reference, op->size, &expected);
        if (got == BUDDY_OK && offset != expected)
            return false;
    } else if (op->kind == EXACT) {
        got = buddy_range_alloc_exact(s->range, op->size, &offset);
        want = model_alloc_exact(&s->reference, op->size, &expected);
        if (got == BUDDY_OK && offset != expected)
            return false;
    } else if (op->kind == EXACT_ALIGNED) {
        got = buddy_range_alloc_exact_aligned(s->range, op->size, op->offset, &offset);
        want = model_alloc_exact_aligned(&s->reference, op->size, op->offset, &expected);
        if (got == BUDDY_OK && offset != expected)
            return false;
    } else if (op->kind == PACKED) {
        got = buddy_range_alloc_packed(s->range, op->size, &offset);
        want = model_alloc_packed(&s->reference, op->size, &expected);
        if (got == BUDDY_OK && offset != expected)
            return false;
    } else if (op->kind == FREE) {
        got = buddy_range_free(s->range, op->offset);
        want = model_free(&s->reference, op->offset);
    } else if (op->kind == RESIZE) {
        got = buddy_range_resize(s->range, op->offset, op->size);
        want = model_resize(&s->reference, op->offset, op->size);
    } else if (op->kind == RESERVE) {
        got = buddy_range_reserve(s->range, op->offset, op->size);
        want = model_reserve(&s->reference, op->offset, op->size);
    } else if (op->kind == UNRESERVE) {
        got = buddy_range_unreserve(s->range, op->offset, op->size);
        want = model_unreserve(&s->reference, op->offset, op->size);
    } else if (op->kind == SET_CAPACITY) {
        got = buddy_range_set_capacity(s->range, op->size);
        want = model_set_capacity(&s->reference, op->size);
    } else if (op->kind == USER_DATA) {
        got = buddy_range_set_user_data(s->range, op->offset, 5 + op->offset);
        want = model_set_user_data(&s->reference, op->offset, 5 + op->offset);
        if (!user_data_agrees(s))
            return false;
    } else {
        return dump_agrees(s, before);
    }
    if (got != want || buddy_range_check(s->range) != BUDDY_OK)
        return false;
    if (got != BUDDY_OK) { /* rejected: every byte as before but the counters */
        size_t counters = offsetof(struct buddy_range, alloc_failures);
        size_t after = offsetof(struct buddy_range, rejected_frees) + sizeof(uint64_t);
        const unsigned char *now = (const unsigned char *)s->range;
        return memcmp(before, now, counters) == 0 &&
               memcmp(before + after, now + after, s->metadata_size - after) == 0;
    }
    return true;
}

/* Depth-first over states: runs every operation from the current state. */
static bool explore(search *s, unsigned left) {
    unsigned char before[16384];
    signed char orders[MAX_BLOCKS];
    bool frees[MAX_BLOCKS], continues[MAX_BLOCKS];
    memcpy(before, s->range, s->metadata_size);
    model kept = s->reference; /* the counts and the reservations */
    uint64_t user_data[MAX_BLOCKS];
    if (kept.user_data != NULL)
        memcpy(user_data, kept.user_data, (size_t)kept.max_block_count * sizeof(uint64_t));
    size_t count = (size_t)s->reference.max_block_count;
    memcpy(orders, s->reference.order_at, count);
    memcpy(frees, s->reference.free_at, count * sizeof(bool));
    memcpy(continues, s->reference.continues, count * sizeof(bool));
    for (unsigned i = 0; i < s->op_count; i++) {
        s->transitions++;
        if (!apply(s, &s->ops[i], before)) {
            fprintf(stderr, "mismatch: op %u (kind %d, offset %llu, size %llu), %u steps left\n", i,
                    (int)s->ops[i].kind, (unsigned long long)s->ops[i].offset,
                    (unsigned long long)s->ops[i].size, left);
            return false;
        }
        if (left > 1 && worth_expanding(s, state_key(&s->reference), left - 1) &&
            !explore(s, left - 1))
            return false;
        memcpy(s->range, before, s->metadata_size);
        s->reference = kept;
        if (kept.user_data != NULL)
            memcpy(s->reference.user_data, user_data,
                   (size_t)kept.max_block_count * sizeof(uint64_t));
        memcpy(s->reference.order_at, orders, count);
        memcpy(s->reference.free_at, frees, count * sizeof(bool));
        memcpy(s->reference.continues, continues, count * sizeof(bool));
    }
    return true;
}

int main(void) {
    const char *text = getenv("BUDDY_EXHAUSTIVE_DEPTH");
    unsigned depth = text != NULL ? (unsigned)strtoul(text, NULL, 10) : (unsigned)check_scale(8, 4);
    if (depth < 1 || depth > MAX_DEPTH)
        depth = 8;
    search s = {0};
    s.memo_key = calloc(MEMO_SLOTS, sizeof *s.memo_key);
    s.memo_left = calloc(MEMO_SLOTS, 1);
    CHECK(s.memo_key != NULL && s.memo_left != NULL);
    double sequences = 0;
    uint64_t transitions = 0, states = 0;
    for (uint64_t blocks = 1; blocks <= MAX_BLOCKS && check_failures == 0; blocks++) {
        uint64_t max_blocks = blocks + 3 < MAX_BLOCKS ? blocks + 3 : MAX_BLOCKS;
        build_alphabet(&s, blocks, max_blocks);
        double per_capacity = 0, power = 1;
        for (unsigned d = 1; d <= depth; d++)
            per_capacity += (power *= s.op_count);
        for (int policy = 0; policy < 2 && check_failures == 0; policy++) {
            memset(s.memo_key, 0, MEMO_SLOTS * sizeof *s.memo_key);
            s.transitions = s.states = 0;
            buddy_range_config config = {blocks,
                                         max_blocks,
                                         1,
                                         (buddy_policy)policy,
                                         policy == BUDDY_FIRST_FIT ? BUDDY_RANGE_USER_DATA : 0u,
                                         NULL,
                                         NULL,
                                         NULL};
            CHECK_STATUS(buddy_range_create_config(&s.range, &config), BUDDY_OK);
            CHECK(model_init_config(&s.reference, &config));
            s.metadata_size = (size_t)s.range->metadata_size;
            CHECK(s.metadata_size <= 16384);
            if (!explore(&s, depth)) {
                fprintf(stderr, "capacity %llu, policy %d: the library and the model differ\n",
                        (unsigned long long)blocks, policy);
                check_failures++;
            }
            sequences += per_capacity;
            transitions += s.transitions;
            states += s.states + 1;
            model_destroy(&s.reference);
            buddy_range_destroy(s.range);
        }
    }
    printf("exhaustive: depth %u, capacities 1..%d (growing 3 more), both policies: %.3g sequences "
           "covered by "
           "%llu transitions from %llu distinct states\n",
           depth, MAX_BLOCKS, sequences, (unsigned long long)transitions,
           (unsigned long long)states);
    free(s.memo_key);
    free(s.memo_left);
    return check_exit_code("exhaustive");
}
