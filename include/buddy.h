/* SPDX-License-Identifier: MIT */
/*
 * buddy: a binary buddy allocator with its metadata outside the managed memory.
 *
 * This header is the whole public API and its reference. The core object is a
 * *range*: it manages a capacity of units (bytes, pages, GPU memory, file
 * blocks) in power-of-two blocks of min blocks and hands out offsets; it never
 * touches the managed memory, so the memory can be anywhere. The *seed face*
 * (buddy_seed_*) is the educational BuddyMemoryManager contract (malloc returns
 * -1, free returns a bool) as a thin layer over a range.
 *
 * Conventions. Fallible calls return an int status: BUDDY_OK (0) or a negative
 * BUDDY_E* code, named by buddy_status_str(). Results go through out-parameters,
 * written only on success. A rejected call leaves the allocator's state exactly
 * as it was; the only bytes it changes are the diagnostic counter that counts it
 * (alloc_failures or rejected_frees, see buddy_range_stats).
 *
 * Thread safety. A range is not synchronised unless it was made with
 * BUDDY_RANGE_THREAD_SAFE or lock hooks (buddy_range_config): then every call
 * that takes it, const or not, holds its lock for the whole call, so any
 * calls may run concurrently; a walk's visitor runs under the lock and must
 * not call the range. Otherwise calls that take a non-const range must not
 * run concurrently with any other call on the same range, and calls that take
 * a const range may run concurrently with each other.
 */
#ifndef BUDDY_H
#define BUDDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the exported functions; the library hides every other symbol. */
#if defined(BUDDY_BUILDING) && (defined(__GNUC__) || defined(__clang__))
#define BUDDY_API __attribute__((visibility("default")))
#else
#define BUDDY_API
#endif

#define BUDDY_VERSION_MAJOR 0
#define BUDDY_VERSION_MINOR 1
#define BUDDY_VERSION_PATCH 0

/* The library's version as "MAJOR.MINOR.PATCH". */
BUDDY_API const char *buddy_version(void);

/* ---- Status codes ------------------------------------------------------ */

typedef enum buddy_status {
    BUDDY_OK = 0,
    BUDDY_EINVAL = -1,     /* a required pointer is NULL, or an enum is out of range */
    BUDDY_EGEOMETRY = -2,  /* capacity and min block size make no usable range */
    BUDDY_ESMALL = -3,     /* the metadata buffer is smaller than required */
    BUDDY_ETOOBIG = -4,    /* the request exceeds the largest block the range has */
    BUDDY_ENOMEM = -5,     /* no free block is large enough right now */
    BUDDY_ERANGE = -6,     /* the offset is at or beyond the capacity */
    BUDDY_EALIGN = -7,     /* the offset is not a multiple of the min block size */
    BUDDY_ENOTSTART = -8,  /* the offset lies inside a block, not at its start */
    BUDDY_ENOTLIVE = -9,   /* the block at the offset is free (a double free) */
    BUDDY_ECORRUPT = -10,  /* the metadata breaks an invariant (buddy_range_check) */
    BUDDY_EBUSY = -11,     /* the region is not all free (reserve, a shrinking set_capacity) */
    BUDDY_ERESERVED = -12, /* the offset lies in a reserved region */
    BUDDY_EVERSION = -13   /* the shared segment was made by another version of its format */
} buddy_status;

/* A constant, human-readable name for a status ("BUDDY_ENOMEM: ..."); an
 * unknown value gives "unknown buddy status". Never NULL. O(1), thread-safe. */
BUDDY_API const char *buddy_status_str(int status);

/* ---- Range: an offset allocator ---------------------------------------- */

/* Where alloc places a block; both are deterministic.
 * BUDDY_BEST_FIT: the classic buddy system. Take a free block of the smallest
 *   order that fits, the lowest-addressed one of that order, and split it.
 * BUDDY_FIRST_FIT: the seed's placement. Take the lowest-addressed free block
 *   of any order that fits and split it, so the result is the lowest offset at
 *   which an aligned free block of the rounded size exists. */
typedef enum buddy_policy { BUDDY_BEST_FIT = 0, BUDDY_FIRST_FIT = 1 } buddy_policy;

/* The default policy (see docs/design.md, "Choice of default policy"). */
#define BUDDY_DEFAULT_POLICY BUDDY_BEST_FIT

/* An opaque range. It lives inside the caller's metadata buffer and holds no
 * pointers, so the buffer may be copied, saved or mapped at another address
 * (after a copy, call buddy_range_attach on the new address). */
typedef struct buddy_range buddy_range;

/* Bytes of metadata a range of this geometry needs, header and alignment slack
 * included. The range manages floor(capacity / min_block_size) min blocks; a
 * capacity that is not a power of two is managed in full, as the blocks of its
 * binary decomposition. Returns 0 iff the geometry is impossible:
 * min_block_size is not a power of two, capacity < min_block_size, more than
 * 2^62 min blocks, or the size does not fit in size_t. Pure; O(log capacity). */
BUDDY_API size_t buddy_range_metadata_size(uint64_t capacity, uint64_t min_block_size);

/* Builds an empty range in `metadata` and stores its handle (the buffer's
 * start) in *range_out. The buffer must be 8-byte aligned; 64-byte alignment
 * keeps each tile in one cache line. Fails with BUDDY_EINVAL iff range_out or
 * metadata is NULL, metadata is not 8-byte aligned or policy is unknown; BUDDY_EGEOMETRY iff
 * buddy_range_metadata_size() is 0; BUDDY_ESMALL iff metadata_size is below it. O(metadata size).
 */
BUDDY_API int buddy_range_init(buddy_range **range_out, void *metadata, size_t metadata_size,
                               uint64_t capacity, uint64_t min_block_size, buddy_policy policy);

/* Re-finds the range in a metadata buffer that was built by buddy_range_init
 * and then copied or mapped elsewhere. Copy the buffer only while no call runs
 * on the range: a copy made during a call holds its half-done changes and,
 * with BUDDY_RANGE_THREAD_SAFE, a lock word that nobody will release, so every
 * call on the copy would wait. Fails with BUDDY_EINVAL iff an argument
 * is NULL, BUDDY_ECORRUPT iff the buffer does not hold a range header of that
 * size. O(1). */
BUDDY_API int buddy_range_attach(buddy_range **range_out, void *metadata, size_t metadata_size);

/* Flags of a range (buddy_range_config.flags). */
enum buddy_range_flags {
    /* Keep a 64-bit value per allocation (buddy_range_set_user_data): 8 bytes
     * of metadata per min block of max_capacity. Without it, user data costs
     * nothing. */
    BUDDY_RANGE_USER_DATA = 1u << 0,
    /* Serialise every call that takes the range with a built-in lock: a
     * spinlock word in the header that yields the CPU while it waits. It
     * needs no init or destroy and works in a copy or a mapping of the
     * metadata. See "Thread safety" above. */
    BUDDY_RANGE_THREAD_SAFE = 1u << 1
};

/* Everything buddy_range_init takes, and what it cannot: room to grow, user
 * data and thread safety. A zero max_capacity means capacity. */
typedef struct buddy_range_config {
    uint64_t capacity;       /* the units managed at first */
    uint64_t max_capacity;   /* the most buddy_range_set_capacity can grow to */
    uint64_t min_block_size; /* a power of two */
    buddy_policy policy;
    unsigned flags; /* enum buddy_range_flags */
    /* The caller's lock hooks, both or neither: with them every call that
     * takes the range runs between lock(lock_context) and
     * unlock(lock_context), and BUDDY_RANGE_THREAD_SAFE is not needed. They
     * are pointers of this process: attach such a range in this process
     * only. */
    void (*lock)(void *lock_context);
    void (*unlock)(void *lock_context);
    void *lock_context;
} buddy_range_config;

/* Bytes of metadata for a range of this configuration: the layout for
 * max_capacity, plus the user data slots if asked. Returns 0 iff config is
 * NULL, the geometry of max_capacity is impossible (as for
 * buddy_range_metadata_size), capacity is below one min block or above
 * max_capacity, or a flag is unknown. Pure; O(log max_capacity). */
BUDDY_API size_t buddy_range_metadata_size_config(const buddy_range_config *config);

/* buddy_range_init for a configuration. Fails with BUDDY_EINVAL iff range_out,
 * metadata or config is NULL, metadata is not 8-byte aligned, the policy or a
 * flag is unknown, or one lock hook is given without the other; BUDDY_EGEOMETRY iff
 * buddy_range_metadata_size_config() is 0; BUDDY_ESMALL iff metadata_size is below it. O(metadata
 * size). */
BUDDY_API int buddy_range_init_config(buddy_range **range_out, void *metadata, size_t metadata_size,
                                      const buddy_range_config *config);

/* Convenience: buddy_range_init on metadata from malloc. Fails as init does,
 * or with BUDDY_ENOMEM iff malloc fails. Release with buddy_range_destroy.
 * O(metadata size). */
BUDDY_API int buddy_range_create(buddy_range **range_out, uint64_t capacity,
                                 uint64_t min_block_size, buddy_policy policy);

/* Convenience: buddy_range_init_config on metadata from malloc. Fails as
 * init_config does, or with BUDDY_ENOMEM iff malloc fails. O(metadata size). */
BUDDY_API int buddy_range_create_config(buddy_range **range_out, const buddy_range_config *config);

/* Frees a range made by buddy_range_create (NULL is ignored). Do not pass a
 * range made by buddy_range_init: its metadata belongs to the caller. No
 * other call may be on the range. O(1). */
BUDDY_API void buddy_range_destroy(buddy_range *range);

/* Allocates a block of at least `size` units (0 counts as one min block) and
 * stores its offset in *offset_out. The size rounds up to a power of two of min
 * blocks; the offset is a multiple of that block size. Fails with BUDDY_EINVAL
 * iff range or offset_out is NULL; BUDDY_ETOOBIG iff size exceeds the largest
 * block the capacity holds (checked before any rounding); BUDDY_ENOMEM iff no
 * free block of the rounded size exists now. O(log capacity) word operations,
 * typically O(1) (BUDDY_FIRST_FIT: O(log capacity) per order that has a free
 * block). */
BUDDY_API int buddy_range_alloc(buddy_range *range, uint64_t size, uint64_t *offset_out);

/* Allocates like buddy_range_alloc, at an offset that is a multiple of
 * `alignment` (a power of two, in units). The block has the size's rounded
 * order, as alloc's; it is the lowest part of a free block of at least the
 * alignment's order (capped at the largest order, whose one block starts at
 * 0), chosen by the policy and split down, so the alignment costs no memory:
 * the rest of that block stays free. Alignments up to the block's own size
 * are free of charge, as every block is aligned to its size. Fails with
 * BUDDY_EINVAL iff range or offset_out is NULL or alignment is not a power of
 * two; BUDDY_ETOOBIG iff size exceeds the largest block; BUDDY_ENOMEM iff no
 * free block of at least that order exists now (a smaller free block that
 * happens to be aligned is not searched for). O(log capacity). */
BUDDY_API int buddy_range_alloc_aligned(buddy_range *range, uint64_t size, uint64_t alignment,
                                        uint64_t *offset_out);

/* Allocates `count` blocks of `size` units each (rounded as alloc rounds
 * it) that tile one aligned span of count times the block size, and stores
 * their offsets in offsets_out[0 .. count - 1], in increasing order: the
 * state that many allocs from that free span would leave, made in one call.
 * Each block is then freed on its own. Fails, changing nothing but the
 * failure counter, with BUDDY_EINVAL iff range or offsets_out is NULL or
 * count is not a power of two; BUDDY_ETOOBIG iff the span exceeds the
 * largest block; BUDDY_ENOMEM iff no free block of the span's size exists.
 * O(count + log capacity). */
BUDDY_API int buddy_range_alloc_batch(buddy_range *range, uint64_t size, uint32_t count,
                                      uint64_t *offsets_out);

/* Free blocks of a run's largest order that buddy_range_alloc_exact tries to
 * fit the run across before it cuts a larger block, at most. */
#define BUDDY_RUN_FIT_TRIES 8

/* Allocates an exact run: ceil(size / min block) min blocks (0 counts as one;
 * a count that is 3 mod 4 takes one more, see docs/design.md), as the binary
 * decomposition of that count laid out from the offset: buddy blocks of
 * decreasing size, one after the other. The offset is a multiple of the
 * largest piece. Placement: of the lowest BUDDY_RUN_FIT_TRIES free blocks of
 * the largest piece's order k that lie in the lowest one's group or the next
 * (a group: 64 blocks at k = 0, else 2^(7 - (k - 1) mod 8) blocks, aligned
 * on their count), the first whose next min blocks are free for the rest of
 * the run; else the start of a free block of the count's power-of-two order (chosen by the
 * policy), whose rest stays free for others. A power-of-two count gives exactly what
 * buddy_range_alloc gives. Free, size and resize take the run by its offset alone; buddy_range_size
 * gives its exact size. Fails with BUDDY_EINVAL iff range or offset_out is
 * NULL; BUDDY_ETOOBIG iff size exceeds the largest block; BUDDY_ENOMEM iff
 * neither place exists now. O(BUDDY_RUN_FIT_TRIES * log capacity). */
BUDDY_API int buddy_range_alloc_exact(buddy_range *range, uint64_t size, uint64_t *offset_out);

/* buddy_range_alloc_exact at an offset that is a multiple of `alignment` (a
 * power of two, in units): an alignment above the largest piece skips the
 * fit across free blocks, and the run is carved from the start of a free
 * block of at least the alignment's order (capped at the largest order), as
 * buddy_range_alloc_aligned takes one, so the alignment costs no memory.
 * Fails as buddy_range_alloc_exact does. O(BUDDY_RUN_FIT_TRIES * log capacity). */
BUDDY_API int buddy_range_alloc_exact_aligned(buddy_range *range, uint64_t size, uint64_t alignment,
                                              uint64_t *offset_out);

/* Allocates a packed run: the min blocks of buddy_range_alloc_exact, at any
 * multiple of 2 min blocks where it fits, so holes that an aligned run cannot
 * use serve it (its pieces rise to the next boundary, then fall; free, size
 * and resize take it as any run). It fits at a multiple of 4, and at an odd
 * multiple of 2 iff it is of 6 min blocks or more and not 1 mod 4 of them; a
 * count of 1, 2 or 4 min blocks is one block aligned to its size (so 1 or 2
 * min blocks are aligned to no more).
 * Placement, never cutting a free extent (a maximal run of free min blocks)
 * in two: a count of 1, 2 or 4 takes the lowest free block of its order. A
 * larger count goes in the smallest of the free extents around the lowest
 * BUDDY_RUN_FIT_TRIES free blocks of its largest piece's order less one, then
 * of that order, that hold it at their lowest start where it fits. Else either
 * goes at that start (or the lowest multiple of the count) of the free extent
 * around the free block of a higher order that the policy picks. Fails as
 * buddy_range_alloc_exact does. O(BUDDY_RUN_FIT_TRIES * log capacity). */
BUDDY_API int buddy_range_alloc_packed(buddy_range *range, uint64_t size, uint64_t *offset_out);

/* buddy_range_alloc_packed at an offset that is also a multiple of
 * `alignment` (a power of two, in units; capped as buddy_range_alloc_aligned
 * caps it): the run goes at the lowest multiple of the larger of the two in
 * the extent chosen, so the alignment costs at most the min blocks it skips.
 * Fails with BUDDY_EINVAL iff range or offset_out is NULL or alignment is
 * not a power of two; otherwise as buddy_range_alloc_packed does.
 * O(BUDDY_RUN_FIT_TRIES * log capacity). */
BUDDY_API int buddy_range_alloc_packed_aligned(buddy_range *range, uint64_t size,
                                               uint64_t alignment, uint64_t *offset_out);

/* Frees the live block (or the whole exact run) that starts at `offset` and
 * merges each freed block with its buddy while the buddy is free. Fails,
 * changing nothing, with BUDDY_EINVAL iff range is NULL; BUDDY_ERANGE iff
 * offset >= capacity; BUDDY_EALIGN iff offset is not a multiple of the min
 * block size; BUDDY_ENOTSTART iff offset lies inside a block (live or free) or
 * starts a later block of a run; BUDDY_ENOTLIVE iff offset starts a free
 * block; BUDDY_ERESERVED iff offset lies in a reserved region (checked after
 * ERANGE and EALIGN). O(log capacity), typically O(1). */
BUDDY_API int buddy_range_free(buddy_range *range, uint64_t offset);

/* Stores in *size_out the size of the live block (or exact run) that starts at
 * `offset`. Fails with the codes of buddy_range_free, for the same offsets, and with
 * BUDDY_EINVAL iff size_out is NULL. O(log capacity), typically O(1). */
BUDDY_API int buddy_range_size(const buddy_range *range, uint64_t offset, uint64_t *size_out);

/* Resizes the live block that starts at `offset` in place, to new_size
 * rounded up like alloc: a shrink releases upper halves, a grow absorbs free
 * buddies. The offset never changes. Fails, changing nothing, with the codes
 * of buddy_range_free for a bad offset; BUDDY_ETOOBIG iff new_size exceeds
 * the largest block; BUDDY_ENOMEM iff growing needs a buddy that is not free
 * (or the block is an upper half at some order). An exact run stays an exact
 * run of new_size (buddy_range_alloc_exact's count): it shrinks by giving back
 * its tail, and grows iff the min blocks after it are free (else
 * BUDDY_ENOMEM). A grown run keeps its offset, which may then be less aligned
 * than its new largest piece: its pieces rise to that boundary, then fall.
 * Failures are not counted. O(log capacity). */
BUDDY_API int buddy_range_resize(buddy_range *range, uint64_t offset, uint64_t new_size);

/* Grows or shrinks the managed capacity to floor(new_capacity / min block)
 * min blocks, within the max_capacity the range was made for. Growth frees
 * the new min blocks (merging them with their free buddies); a shrink gives
 * up free min blocks only. Fails, changing nothing, with BUDDY_EINVAL iff
 * range is NULL; BUDDY_EGEOMETRY iff new_capacity is below one min block;
 * BUDDY_ESMALL iff it exceeds max_capacity (the metadata has no room);
 * BUDDY_EBUSY iff shrinking would cut off a live block, a run or a
 * reservation. O(min blocks gained or lost + log capacity). */
BUDDY_API int buddy_range_set_capacity(buddy_range *range, uint64_t new_capacity);

/* The most reservations a range holds at once. */
#define BUDDY_MAX_RESERVATIONS 16

/* Marks [offset, offset + size), widened to whole min blocks, as used: it is
 * cut out of the free blocks as the largest aligned blocks that tile it, and
 * nothing allocates there until buddy_range_unreserve. Free, size, resize
 * and the user data calls reject offsets in it with BUDDY_ERESERVED. Fails,
 * changing nothing, with BUDDY_EINVAL iff range is NULL or size is 0;
 * BUDDY_ERANGE iff the region ends beyond the capacity (or overflows);
 * BUDDY_EBUSY iff any of its min blocks is not free (live, in a run or
 * reserved); BUDDY_ENOMEM iff BUDDY_MAX_RESERVATIONS exist. O(log capacity)
 * per block cut out: O(log^2 capacity). */
BUDDY_API int buddy_range_reserve(buddy_range *range, uint64_t offset, uint64_t size);

/* Frees a reservation made by buddy_range_reserve with the same region (the
 * same min blocks), merging as free does. Fails, changing nothing, with
 * BUDDY_EINVAL iff range is NULL; BUDDY_ENOTLIVE iff no reservation covers
 * exactly those min blocks. O(log^2 capacity). */
BUDDY_API int buddy_range_unreserve(buddy_range *range, uint64_t offset, uint64_t size);

/* Attaches `value` to the allocation (block or run) that starts at `offset`,
 * in a range made with BUDDY_RANGE_USER_DATA; it reads back until the
 * allocation is freed (a new allocation reads 0). Fails, changing nothing,
 * with BUDDY_EINVAL iff range is NULL or has no user data, or with the codes
 * of buddy_range_size for an offset that starts no allocation. O(log
 * capacity). */
BUDDY_API int buddy_range_set_user_data(buddy_range *range, uint64_t offset, uint64_t value);

/* Reads what buddy_range_set_user_data stored (0 if nothing). Fails as
 * set_user_data does, and with BUDDY_EINVAL iff value_out is NULL. O(log
 * capacity). */
BUDDY_API int buddy_range_get_user_data(const buddy_range *range, uint64_t offset,
                                        uint64_t *value_out);

/* What a block is, for buddy_range_walk. */
typedef enum buddy_block_state {
    BUDDY_BLOCK_FREE = 0,
    BUDDY_BLOCK_LIVE = 1,    /* a live block or an exact run */
    BUDDY_BLOCK_RESERVED = 2 /* a reservation (buddy_range_reserve) */
} buddy_block_state;

/* Called once per block in address order by buddy_range_walk; a nonzero
 * return stops the walk. */
typedef int (*buddy_range_visitor)(uint64_t offset, uint64_t size, buddy_block_state state,
                                   void *user);

/* Visits every free, live and reserved block in address order; an exact run,
 * and a reservation, is one block of its whole size. Fails with BUDDY_EINVAL
 * iff range or visitor is NULL. O(number of blocks). */
BUDDY_API int buddy_range_walk(const buddy_range *range, buddy_range_visitor visitor, void *user);

/* Frees every block and reservation at once, and forgets all user data; the
 * capacity stays. The diagnostic counters (peak, failures, rejected frees)
 * are kept. Fails with BUDDY_EINVAL iff range is NULL.
 * O(metadata size). */
BUDDY_API int buddy_range_reset(buddy_range *range);

/* The highest block order a range can track: blocks are 2^order min blocks. */
#define BUDDY_MAX_ORDER 62

typedef struct buddy_range_stats {
    uint64_t capacity;             /* managed units: min blocks * min_block_size */
    uint64_t max_capacity;         /* the most set_capacity can grow to */
    uint64_t min_block_size;       /* units per min block, a power of two */
    uint64_t free_bytes;           /* units in free blocks */
    uint64_t allocated_bytes;      /* units in live blocks (rounded sizes) */
    uint64_t reserved_bytes;       /* units in reservations */
    uint64_t reservations;         /* reservations held */
    uint64_t largest_free_block;   /* units in the largest free block, 0 if none */
    uint64_t live_blocks;          /* blocks allocated and not yet freed */
    uint64_t peak_allocated_bytes; /* highest allocated_bytes so far */
    uint64_t alloc_failures;       /* allocs that failed (ETOOBIG or ENOMEM) */
    uint64_t rejected_frees;       /* frees that were rejected */
    buddy_policy policy;
    unsigned max_order;                        /* the largest order a block can have */
    uint64_t free_blocks[BUDDY_MAX_ORDER + 1]; /* free blocks of each order */
} buddy_range_stats;

/* Copies the range's statistics into *stats_out. Fails with BUDDY_EINVAL iff an
 * argument is NULL. O(1): every figure is kept up to date by alloc and free. */
BUDDY_API int buddy_range_get_stats(const buddy_range *range, buddy_range_stats *stats_out);

/* The two statistics an allocator asks for on every step or failure, without
 * copying the whole struct: the free units (*free_out) and the units of the
 * largest free block, 0 if none (*largest_out). Either pointer may be NULL.
 * Fails with BUDDY_EINVAL iff range is NULL. O(1): a few instructions. */
BUDDY_API int buddy_range_get_free(const buddy_range *range, uint64_t *free_out,
                                   uint64_t *largest_out);

/* Checks every invariant of docs/design.md (I1..I14) over the whole metadata.
 * Returns BUDDY_OK, BUDDY_EINVAL iff range is NULL, or BUDDY_ECORRUPT. For
 * tests and debugging: O(metadata size). */
BUDDY_API int buddy_range_check(const buddy_range *range);

/* Renders the block tree in the seed's notation, in min-block units and prefix
 * order: "(s:n)" a free block of n min blocks at s, "[s:n]" a live block (the
 * later blocks of an exact run as "[+s:n]", a reserved block as "[#s:n]"),
 * "(" left right ")" a split block with free space below it, "{" left right "}"
 * one with none. Beyond a capacity that is not a power of two, the tree's tail
 * renders as "<s:n>" (not managed). Works like snprintf: writes at most
 * buffer_size bytes including the terminating NUL, and returns the length of
 * the whole rendering (not counting the NUL). Returns 0 iff range is NULL or
 * buffer is NULL with buffer_size > 0; a real rendering is never empty.
 * O(number of blocks). */
BUDDY_API size_t buddy_range_format(const buddy_range *range, char *buffer, size_t buffer_size);

/* Flags of buddy_range_dump_json. */
enum buddy_dump_flags {
    BUDDY_DUMP_BLOCKS = 1u << 0 /* add the map: every block with its offset, size, state and
                                   user data */
};

/* Writes the range's statistics as one JSON object of schema "buddy-range/1"
 * (docs/json.md): the totals, the free blocks per order and the largest free
 * block; with BUDDY_DUMP_BLOCKS, every block as buddy_range_walk reports it.
 * Works like snprintf: writes at most buffer_size bytes including the NUL and
 * returns the length of the whole dump; 0 iff range is NULL, buffer is NULL
 * with buffer_size > 0, or a flag is unknown. O(number of blocks). */
BUDDY_API size_t buddy_range_dump_json(const buddy_range *range, char *buffer, size_t buffer_size,
                                       unsigned flags);

/* ---- Caches: per-thread caches of small blocks in front of a range ------ */

/* A pool puts caches in front of one range. Each thread owns a cache (memory
 * the caller gives, so no thread-local storage is needed) and allocates and
 * frees small blocks through it without a lock: a cache keeps a LIFO stack
 * of free blocks per order, refilled from the range and drained back to it
 * in batches, each under one acquisition of the pool's lock, and never holds
 * more than its high-water mark. For the range a cached block is live.
 *
 * Every check survives: the pool keeps 2 bits per min block (a tag: the start
 * of a block a cache handed out, the start of a block in a cache, inside a
 * small block, or none), so a free through any cache of a block that sits in
 * a cache is BUDDY_ENOTLIVE, of an offset inside a small block
 * BUDDY_ENOTSTART, and of anything else what buddy_range_free says; and a
 * rejected free changes nothing. An allocation that the range refuses drains
 * every cache and tries again, so it fails only if it would fail with every
 * cache empty.
 *
 * Thread safety: the pool and caches serialise what they do to the range
 * with the pool's lock, so the range needs no lock of its own; while a pool is
 * in front of a range, call the range only between buddy_cache_pool_lock and
 * unlock, and free its blocks through a cache. A cache is used by one thread
 * at a time (any thread may free any block through its own cache). While no
 * thread writes a tag in the span of another cache's refill (a free of its
 * block, a resize of one, or a refill of single blocks when no span is
 * free), each cache writes its own tags without atomic operations; the
 * first such write, or the 256th cache made, ends that for good with one
 * process-wide barrier (docs/design.md, "the bias"). */
typedef struct buddy_cache_pool buddy_cache_pool;
typedef struct buddy_cache buddy_cache;

/* The most orders a pool caches. */
#define BUDDY_CACHE_MAX_ORDERS 16

/* The configuration of a pool; zero fields take the defaults. */
typedef struct buddy_cache_config {
    unsigned orders;     /* blocks of orders 0 .. orders - 1 are cached; 0 means 8 */
    unsigned high_water; /* the most blocks of order 0 a cache holds; 0 means 512. Order k
                            holds at most max(high_water >> k, 16); a drain moves half
                            of that, a refill the largest power of two in the half. */
} buddy_cache_config;

/* Bytes a pool needs in front of a range of this max capacity and min block
 * size: a header, 2 bits per min block and a byte per granule (the smallest
 * span a refill takes: 256 min blocks by default). Returns 0 iff min_block_size is
 * not a power of two, max_capacity is below it, or config (NULL for the
 * defaults) has orders > BUDDY_CACHE_MAX_ORDERS or high_water > 4096. Pure;
 * O(1). */
BUDDY_API size_t buddy_cache_pool_size(uint64_t max_capacity, uint64_t min_block_size,
                                       const buddy_cache_config *config);

/* Builds a pool for `range` in `memory` (8-byte aligned; 64-byte alignment
 * keeps its lock words off the lines every call reads) and stores its
 * handle in *pool_out. The range may already hold live blocks (they are freed
 * through the range as before). Fails with BUDDY_EINVAL iff pool_out, memory
 * or range is NULL, memory is not 8-byte aligned or the config is invalid;
 * BUDDY_ESMALL iff memory_size is below buddy_cache_pool_size for the range's
 * max capacity and min block size. O(memory size). */
BUDDY_API int buddy_cache_pool_init(buddy_cache_pool **pool_out, void *memory, size_t memory_size,
                                    buddy_range *range, const buddy_cache_config *config);

/* Ends the pool; its memory is the caller's again. Fails with BUDDY_EINVAL iff
 * pool is NULL; BUDDY_EBUSY iff a cache still uses it (buddy_cache_fini them
 * first). O(1). */
BUDDY_API int buddy_cache_pool_fini(buddy_cache_pool *pool);

/* Gives every block that sits in any cache back to the range. Fails with
 * BUDDY_EINVAL iff pool is NULL. O(cached blocks * log capacity); holds every
 * cache at once (one process-wide barrier for all of them), so it may run
 * while other threads use their caches, which wait meanwhile. */
BUDDY_API int buddy_cache_pool_drain(buddy_cache_pool *pool);

/* buddy_range_reset through the pool: empties every cache (the caches stay
 * usable), frees everything, and forgets every tag. No other thread may use
 * the pool meanwhile. Fails with BUDDY_EINVAL iff pool is NULL. O(metadata
 * size). */
BUDDY_API int buddy_cache_pool_reset(buddy_cache_pool *pool);

/* The range's statistics with the caches' blocks counted as free, not live:
 * free_bytes, allocated_bytes, live_blocks, free_blocks[] and
 * largest_free_block; rejected_frees adds the frees the caches rejected.
 * peak_allocated_bytes stays the range's (cached blocks count in it). Exact,
 * even while other threads run: it holds every cache and the range at once
 * (one process-wide barrier), so the figures are one moment's. Fails with
 * BUDDY_EINVAL iff an argument is NULL. O(caches + orders). */
BUDDY_API int buddy_cache_pool_get_stats(buddy_cache_pool *pool, buddy_range_stats *stats_out);

/* Checks the caches' invariants (docs/design.md, C1..C3) and the range's:
 * every tag that starts a block starts a live block of its order in the
 * range, the tags inside a block follow the order's code, and the caches'
 * stacks hold exactly the blocks tagged as cached. Returns BUDDY_OK,
 * BUDDY_EINVAL iff pool is NULL, or BUDDY_ECORRUPT. Takes every lock: for
 * tests and debugging, O(metadata size + cached blocks). */
BUDDY_API int buddy_cache_pool_check(buddy_cache_pool *pool);

/* The pool's lock, for calling the range directly while caches are in use
 * (walk, check, aligned or exact allocations). Not recursive: call no pool
 * or cache function while holding it. NULL is ignored. O(1) uncontended. */
BUDDY_API void buddy_cache_pool_lock(buddy_cache_pool *pool);
BUDDY_API void buddy_cache_pool_unlock(buddy_cache_pool *pool);

/* Every lock of the pool and its caches, in the order the library takes them
 * (the list of caches, each cache's, the pool's), for a fork: call lock_all
 * in a pthread_atfork prepare handler and unlock_all in both the parent's and
 * the child's, so the child never starts with a lock held by a thread it does
 * not have (in the child, which unlock_all tells by its process id, it also
 * clears what those threads' owners left). Not recursive. O(caches), and a
 * getpid each. */
BUDDY_API void buddy_cache_pool_lock_all(buddy_cache_pool *pool);
BUDDY_API void buddy_cache_pool_unlock_all(buddy_cache_pool *pool);

/* buddy_range_size for a block handed out by a cache or by the range: fails
 * with BUDDY_ENOTLIVE iff the block sits in a cache, else as
 * buddy_range_size. Takes the pool's lock. O(log capacity). */
BUDDY_API int buddy_cache_pool_block_size(buddy_cache_pool *pool, uint64_t offset,
                                          uint64_t *size_out);

/* buddy_range_resize for a block handed out by a cache or by the range; a
 * cached block that changes order is no longer the caches' (its free goes to
 * the range). Fails with BUDDY_ENOTLIVE iff the block sits in a cache, else
 * as buddy_range_resize. Takes the pool's locks and, while the pool has one
 * cache, that cache from its owner (a process-wide barrier; the owner
 * resizes cheaper with buddy_cache_resize). O(log capacity). */
BUDDY_API int buddy_cache_pool_resize(buddy_cache_pool *pool, uint64_t offset, uint64_t new_size);

/* Bytes one cache of a pool of this config (NULL for the defaults) needs: a
 * header and room for every order's high-water mark of offsets. 0 iff the
 * config is invalid. Pure; O(orders). */
BUDDY_API size_t buddy_cache_size(const buddy_cache_config *config);

/* Builds an empty cache in `memory` (8-byte aligned) and joins it to the
 * pool. Fails with BUDDY_EINVAL iff an argument is NULL or memory is not
 * 8-byte aligned; BUDDY_ESMALL iff memory_size is below buddy_cache_size of
 * the pool's config.
 * O(1); thread-safe. */
BUDDY_API int buddy_cache_init(buddy_cache **cache_out, void *memory, size_t memory_size,
                               buddy_cache_pool *pool);

/* Gives the cache's blocks back to the range and leaves the pool; its memory
 * is the caller's again. Fails with BUDDY_EINVAL iff cache is NULL. O(cached
 * blocks * log capacity); thread-safe. */
BUDDY_API int buddy_cache_fini(buddy_cache *cache);

/* buddy_range_alloc through a cache: a block of a cached order comes off the
 * cache's stack (the one freed last first), after a refill if it is empty:
 * one buddy_range_alloc_batch (a span of the range for this cache alone), or
 * single blocks if no span is free. A larger block comes from the range
 * under the pool's lock. Fails as buddy_range_alloc does (BUDDY_EINVAL iff
 * cache or offset_out is NULL), BUDDY_ENOMEM only after draining every
 * cache. O(1) from the stack; otherwise a refill, O(batch + log capacity),
 * or a drain of every cache, O(cached blocks * log capacity). */
BUDDY_API int buddy_cache_alloc(buddy_cache *cache, uint64_t size, uint64_t *offset_out);

/* buddy_range_free through a cache: a block that a cache handed out goes on
 * this cache's stack (whichever cache handed it out), and half the stack
 * drains to the range when it passes the high-water mark; any other offset
 * is freed by the range under the pool's lock. Fails, changing nothing, with
 * BUDDY_EINVAL iff cache is NULL; BUDDY_ENOTLIVE iff the block sits in a
 * cache; otherwise as buddy_range_free. O(1) on the stack; a batch of
 * O(log capacity) range calls otherwise. */
BUDDY_API int buddy_cache_free(buddy_cache *cache, uint64_t offset);

/* buddy_cache_pool_resize by the cache's owner, which takes its own cache's
 * lock, not every one's: the same results and failures (BUDDY_EINVAL iff
 * cache is NULL). O(log capacity). */
BUDDY_API int buddy_cache_resize(buddy_cache *cache, uint64_t offset, uint64_t new_size);

/* ---- Heap: a pointer allocator over a caller's memory region ----------- */

/* The heap hands out pointers into a region the caller supplies, through a
 * range used only by its public API. By default a heap is single-threaded:
 * no call may run concurrently with another on the same heap, unless the
 * heap has lock hooks, which serialise every call, or BUDDY_HEAP_THREAD_SAFE,
 * which gives each thread a cache in front of the range (see the caches
 * above): the first 16 threads at once get their own, given back when the
 * thread exits; later ones share one under a mutex.
 * Tools: under AddressSanitizer free blocks are poisoned; under Valgrind the
 * heap is a mempool (memcheck reports leaks and invalid accesses). */
typedef struct buddy_heap buddy_heap;

enum buddy_heap_flags {
    BUDDY_HEAP_FILL = 1u << 0,        /* fill new blocks with 0xAA, freed ones with 0xDD */
    BUDDY_HEAP_THREAD_SAFE = 1u << 1, /* a cache per thread (16 B..32 KiB at 16 B min blocks) in
                                         front of the range: 2 bits per min block, a byte
                                         per 128 and about 85 KB more metadata */
    BUDDY_HEAP_EXACT = 1u << 2,       /* exact sizing: a block is whole min blocks (an exact run,
                                         buddy_range_alloc_exact), not a power of two of them */
    BUDDY_HEAP_PACKED = 1u << 3       /* exact sizing with packed runs
                                         (buddy_range_alloc_packed_aligned: at any multiple of
                                         4 min blocks and of the alignment asked for); implies
                                         BUDDY_HEAP_EXACT */
};

typedef struct buddy_heap_config {
    size_t min_block_size; /* a power of two; 0 means 16 */
    size_t max_alignment;  /* the largest alignment aligned allocs accept, a power of two
                              >= alignof(max_align_t); 0 means 4096. The usable area
                              starts on this alignment. */
    buddy_policy policy;
    unsigned flags;                   /* enum buddy_heap_flags */
    void (*lock)(void *lock_context); /* the caller's lock hooks, both or neither */
    void (*unlock)(void *lock_context);
    void *lock_context;
} buddy_heap_config;

/* The configuration every zero field of a buddy_heap_config stands for. */
#define BUDDY_HEAP_DEFAULT_MIN_BLOCK 16u
#define BUDDY_HEAP_DEFAULT_MAX_ALIGNMENT 4096u

/* Bytes of metadata buddy_heap_init_external needs for a region of this size
 * (config may be NULL for the defaults); 0 iff the config is invalid or the
 * region can hold no heap. Pure; O(log region_size). */
BUDDY_API size_t buddy_heap_metadata_size(size_t region_size, const buddy_heap_config *config);

/* Builds a heap inside `region` (any alignment): its metadata at the start,
 * the usable area after it, aligned to max_alignment, as large as the region
 * holds with the metadata it needs. config may be NULL.
 * Fails with BUDDY_EINVAL iff heap_out or region is NULL or the config is
 * invalid (a field not a power of two, one lock hook without the other, an
 * unknown policy or flag); BUDDY_ESMALL iff the region has no room for one
 * block; BUDDY_ENOMEM iff BUDDY_HEAP_THREAD_SAFE's mutex or thread key cannot be made.
 * O(metadata size). */
BUDDY_API int buddy_heap_init(buddy_heap **heap_out, void *region, size_t region_size,
                              const buddy_heap_config *config);

/* Like buddy_heap_init, with the metadata in a separate buffer (8-byte
 * aligned, buddy_heap_metadata_size bytes), so the whole region is usable
 * after aligning its start. Fails as init does, and with BUDDY_ESMALL iff
 * metadata_size is too small. O(metadata size). */
BUDDY_API int buddy_heap_init_external(buddy_heap **heap_out, void *region, size_t region_size,
                                       void *metadata, size_t metadata_size,
                                       const buddy_heap_config *config);

/* Releases what init made besides memory (the mutex, the thread key, the
 * caches); the heap is unusable afterwards, and no other call may be on it.
 * Fails with BUDDY_EINVAL iff heap is NULL. O(1); with
 * BUDDY_HEAP_THREAD_SAFE, O(cached blocks * log capacity), as the caches go
 * back to the range. */
BUDDY_API int buddy_heap_fini(buddy_heap *heap);

/* malloc: a block of at least size bytes, aligned to at least
 * alignof(max_align_t), or NULL (buddy_heap_last_failure says why). malloc(0)
 * returns a unique minimal block. O(log capacity); with BUDDY_HEAP_THREAD_SAFE,
 * O(1) when the thread's cache holds a block of that size. */
BUDDY_API void *buddy_heap_malloc(buddy_heap *heap, size_t size);
/* calloc: zeroed; NULL iff count * size overflows or no block fits.
 * O(log capacity + size). */
BUDDY_API void *buddy_heap_calloc(buddy_heap *heap, size_t count, size_t size);
/* realloc: realloc(NULL, n) is malloc(n); realloc(p, 0) frees p and returns
 * NULL. It shrinks in place, grows in place when the block is the lower half
 * of free buddies, and otherwise moves. On failure (or a pointer that is not
 * a live block's start) it returns NULL and p is unchanged. O(log capacity),
 * plus the copy when it moves. */
BUDDY_API void *buddy_heap_realloc(buddy_heap *heap, void *pointer, size_t size);
/* reallocarray: realloc of count * size, NULL iff that overflows; as
 * realloc otherwise. */
BUDDY_API void *buddy_heap_reallocarray(buddy_heap *heap, void *pointer, size_t count, size_t size);
/* aligned_alloc: `alignment` (a power of two up to max_alignment) applies to
 * the absolute address. NULL iff the alignment is invalid or no block fits.
 * O(log capacity). */
BUDDY_API void *buddy_heap_aligned_alloc(buddy_heap *heap, size_t alignment, size_t size);
/* posix_memalign: BUDDY_OK and *pointer_out, or BUDDY_EINVAL (NULL arguments,
 * bad alignment) or the allocation failure's status; *pointer_out untouched
 * on failure. O(log capacity). */
BUDDY_API int buddy_heap_posix_memalign(buddy_heap *heap, void **pointer_out, size_t alignment,
                                        size_t size);
/* Frees a live block. NULL is fine (BUDDY_OK). Fails, changing nothing, with
 * BUDDY_ERANGE for a pointer outside the usable area, BUDDY_EALIGN,
 * BUDDY_ENOTSTART for an interior pointer, BUDDY_ENOTLIVE for a double free
 * (with BUDDY_HEAP_THREAD_SAFE also one that races the first free on another
 * thread). O(log capacity); O(1) into a thread's cache with room. */
BUDDY_API int buddy_heap_free(buddy_heap *heap, void *pointer);
/* The bytes usable at a live block's start (its block size), or 0 for NULL
 * or any pointer that is not a live block's start. O(log capacity). */
BUDDY_API size_t buddy_heap_usable_size(buddy_heap *heap, const void *pointer);
/* Resizes in place or fails; never moves. Fails with BUDDY_EINVAL iff heap
 * or pointer is NULL, else with the statuses of buddy_range_resize
 * (BUDDY_ENOMEM iff the block cannot grow in place). O(log capacity). */
BUDDY_API int buddy_heap_try_resize(buddy_heap *heap, void *pointer, size_t size);
/* Frees every block at once (the threads' caches emptied too). Fails with
 * BUDDY_EINVAL iff heap is NULL. No other thread may use the heap meanwhile.
 * O(metadata size). */
BUDDY_API int buddy_heap_reset(buddy_heap *heap);

/* Called once per block in address order; nonzero stops the walk. */
typedef int (*buddy_heap_visitor)(void *pointer, size_t size, bool is_live, void *user);
/* Visits every block, under the heap's locks: a free block stays free until
 * the visitor returns (so it may, say, madvise the block's pages), and the
 * visitor must not call the heap. Fails with BUDDY_EINVAL iff heap or visitor
 * is NULL. O(blocks); other threads wait for the range meanwhile. */
BUDDY_API int buddy_heap_walk(buddy_heap *heap, buddy_heap_visitor visitor, void *user);

typedef enum buddy_failure_reason {
    BUDDY_FAILURE_NONE = 0,        /* no allocation has failed yet */
    BUDDY_FAILURE_INVALID,         /* a bad request: overflow, alignment */
    BUDDY_FAILURE_TOO_LARGE,       /* larger than the largest block the heap has */
    BUDDY_FAILURE_NOT_ENOUGH_FREE, /* fewer free bytes than the rounded request */
    BUDDY_FAILURE_FRAGMENTED       /* enough free bytes, but no free block that large */
} buddy_failure_reason;

typedef struct buddy_heap_failure {
    buddy_failure_reason reason;
    size_t requested;          /* the bytes asked for */
    size_t free_bytes;         /* at the moment of the failure */
    size_t largest_free_block; /* at the moment of the failure */
} buddy_heap_failure;

/* Why the last failed allocation failed. Fails with BUDDY_EINVAL iff an
 * argument is NULL. O(1). */
BUDDY_API int buddy_heap_last_failure(buddy_heap *heap, buddy_heap_failure *failure_out);
/* The statistics of the heap's range (in bytes); with BUDDY_HEAP_THREAD_SAFE,
 * buddy_cache_pool_get_stats's (cached blocks count as free, and the figures
 * are one moment's). Fails with BUDDY_EINVAL iff an argument is NULL. O(1),
 * or O(caches + orders) with the caches. */
BUDDY_API int buddy_heap_get_stats(buddy_heap *heap, buddy_range_stats *stats_out);
/* buddy_range_dump_json of the heap's range: offsets are from the start of
 * the usable area, sizes in bytes. Returns as that does, or 0 iff heap is
 * NULL. O(number of blocks). */
BUDDY_API size_t buddy_heap_dump_json(buddy_heap *heap, char *buffer, size_t buffer_size,
                                      unsigned flags);
/* Checks the heap header and every range invariant: BUDDY_OK,
 * BUDDY_EINVAL iff heap is NULL, or BUDDY_ECORRUPT iff one is broken.
 * O(metadata size). */
BUDDY_API int buddy_heap_check(buddy_heap *heap);

/* Every lock of the heap (the caller's hooks, or BUDDY_HEAP_THREAD_SAFE's
 * mutex and caches), for a fork, as buddy_cache_pool_lock_all. In the child,
 * the caches of the threads it does not have keep their blocks. Fail with
 * BUDDY_EINVAL iff heap is NULL. Not recursive. O(threads with a cache). */
BUDDY_API int buddy_heap_lock_all(buddy_heap *heap);
BUDDY_API int buddy_heap_unlock_all(buddy_heap *heap);

/* ---- Shared range: one range in memory that processes share -------------
 *
 * A segment the caller maps in several processes (a file, /dev/shm, memfd;
 * MAP_SHARED, 64-byte aligned) holds a versioned, checksummed header, a
 * robust lock (a futex word the Linux kernel marks when its holder dies),
 * an undo log and a range's metadata; offsets are relative to the caller's
 * own memory, as with a range. Every call takes the lock. A process that
 * dies inside a call, at any instruction, leaves an undo log: the next
 * process to take the lock restores the old bytes, O(log n), so the
 * interrupted operation never happened (an allocation whose call did not
 * return is not allocated). A lock whose holder is gone but unmarked (a
 * segment file kept across a reboot) is taken after about a quarter of a
 * second. Power-of-two blocks and exact runs, with resize (aligned
 * allocation and thread caches are not offered: docs/design.md says why).
 * Attach holds nothing per process: to detach, unmap the segment. The
 * processes of a segment must share one pid namespace (a mix of 32- and
 * 64-bit processes is not tested). Linux only (robust futexes). */
typedef struct buddy_shared buddy_shared;

enum buddy_shared_flags {
    /* Record the allocating process's pid with each block (32 bits per min
     * block), so that buddy_shared_sweep can free a dead process's blocks. */
    BUDDY_SHARED_OWNERS = 1u << 0
};

/* Bytes a segment needs for this geometry (as buddy_range_metadata_size
 * takes it) and these flags; 0 iff the geometry is impossible, a flag
 * unknown or the segment would pass 2^40 bytes (1 TiB). Pure. */
BUDDY_API size_t buddy_shared_size(uint64_t capacity, uint64_t min_block_size, unsigned flags);

/* Makes a shared range in `segment` (segment_size bytes, 64-byte aligned),
 * best fit. Fails with BUDDY_EINVAL iff an argument is NULL, segment is
 * not 64-byte aligned or a flag is unknown, BUDDY_EGEOMETRY iff
 * buddy_shared_size is 0, BUDDY_ESMALL iff segment_size is below it,
 * O(segment size). Not
 * thread-safe: no other process may use the segment until it returns. */
BUDDY_API int buddy_shared_create(buddy_shared **shared_out, void *segment, size_t segment_size,
                                  uint64_t capacity, uint64_t min_block_size, unsigned flags);

/* Attaches to a segment that buddy_shared_create made, in this or another
 * process, at any address. Fails with BUDDY_EINVAL iff an argument is NULL
 * or segment is not 64-byte aligned; BUDDY_ECORRUPT iff the header's magic
 * or checksum is wrong or the range breaks an invariant; BUDDY_EVERSION iff
 * the format is another version; BUDDY_EGEOMETRY iff the header's geometry
 * does not fit segment_size. Never reads outside the segment. O(metadata)
 * (it runs the range's checker, under the lock). */
BUDDY_API int buddy_shared_attach(buddy_shared **shared_out, void *segment, size_t segment_size);

/* As buddy_range_alloc, buddy_range_free, buddy_range_size and
 * buddy_range_get_stats, under the segment's lock, recovering first if its
 * last holder died; these fail as those do, and with BUDDY_EINVAL iff shared
 * is NULL. Thread- and
 * process-safe. O(log n) each, plus the recovery's O(log n). */
BUDDY_API int buddy_shared_alloc(buddy_shared *shared, uint64_t size, uint64_t *offset_out);
BUDDY_API int buddy_shared_free(buddy_shared *shared, uint64_t offset);
/* As buddy_range_alloc_exact, _alloc_packed and buddy_range_resize, with the same locking,
 * recovery and failures as the calls above: a run or a resize cut by a crash
 * is undone whole. O(log n) word operations each. */
BUDDY_API int buddy_shared_alloc_exact(buddy_shared *shared, uint64_t size, uint64_t *offset_out);
BUDDY_API int buddy_shared_alloc_packed(buddy_shared *shared, uint64_t size, uint64_t *offset_out);
BUDDY_API int buddy_shared_resize(buddy_shared *shared, uint64_t offset, uint64_t new_size);
BUDDY_API int buddy_shared_block_size(buddy_shared *shared, uint64_t offset, uint64_t *size_out);
BUDDY_API int buddy_shared_get_stats(buddy_shared *shared, buddy_range_stats *stats_out);

/* With BUDDY_SHARED_OWNERS: the pid that allocated the live block at
 * `offset` (*owner_out). Fails as buddy_range_size does, and with
 * BUDDY_EINVAL iff an argument is NULL or the segment has no owners. */
BUDDY_API int buddy_shared_owner(buddy_shared *shared, uint64_t offset, uint32_t *owner_out);

/* With BUDDY_SHARED_OWNERS: frees every live block that process `owner`
 * allocated (a process that died, say) and stores how many in *freed_out
 * (may be NULL). Each free is atomic on its own: a sweep cut short by a
 * crash can be run again. Fails with BUDDY_EINVAL iff shared is NULL or the
 * segment has no owners. O(blocks) walks. */
BUDDY_API int buddy_shared_sweep(buddy_shared *shared, uint32_t owner, uint64_t *freed_out);

/* Called once per block in address order by buddy_shared_walk, with the
 * block's owner (0 for a free block, or without owners); nonzero stops it. */
typedef int (*buddy_shared_visitor)(uint64_t offset, uint64_t size, buddy_block_state state,
                                    uint32_t owner, void *user);

/* Visits every block under the lock (the visitor must not call the
 * segment). Fails with BUDDY_EINVAL iff shared or visitor is NULL.
 * O(blocks). */
BUDDY_API int buddy_shared_walk(buddy_shared *shared, buddy_shared_visitor visitor, void *user);

/* The number of interrupted operations recovered since the segment was made
 * (*recoveries_out), under the lock. Fails with BUDDY_EINVAL iff an
 * argument is NULL. */
BUDDY_API int buddy_shared_recoveries(buddy_shared *shared, uint64_t *recoveries_out);

/* Checks the header and every range invariant under the lock: BUDDY_OK,
 * BUDDY_EINVAL iff shared is NULL, else as buddy_shared_attach fails.
 * O(metadata). */
BUDDY_API int buddy_shared_check(buddy_shared *shared);

/* ---- Seed face: the educational BuddyMemoryManager contract ------------ */

/* Creates a seed manager of `size` units: a range with min block 1 and
 * BUDDY_FIRST_FIT. Fails with BUDDY_EGEOMETRY iff size is 0 or not a power of
 * two (the seed's contract), else as buddy_range_create. */
BUDDY_API int buddy_seed_create(buddy_range **range_out, uint64_t size);

/* The seed's malloc: the start of a block of at least n units (0 counts as 1),
 * or -1 iff none is free, n is negative or range is NULL. */
BUDDY_API int64_t buddy_seed_malloc(buddy_range *range, int64_t n);

/* The seed's free: true iff `start` was the start of a live block, which is
 * now freed and merged. Any other start returns false and changes nothing. */
BUDDY_API bool buddy_seed_free(buddy_range *range, int64_t start);

/* The size of the live block that starts at `start`, or -1 for any other start
 * (including an offset inside a block, where the seed itself was wrong). */
BUDDY_API int64_t buddy_seed_size(const buddy_range *range, int64_t start);

#ifdef __cplusplus
}
#endif

#endif /* BUDDY_H */
