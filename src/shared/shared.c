/* SPDX-License-Identifier: MIT */
/*
 * The shared range: a range's metadata in a segment that processes map, a
 * robust lock (robust_lock.h) and an undo log (shared_internal.h has the
 * layout). A mutating call runs like this, under the lock:
 *
 *   1. the range's state words saved, a new epoch, then state = ACTIVE;
 *   2. the core's operation (logged.c, logged_run.c), each store's old bytes
 *      logged first in an entry that carries the epoch;
 *   3. state = IDLE.
 *
 * If the holder dies, the next buddy_robust_lock_take says so. With the state
 * ACTIVE, the entries of the epoch are written back newest first and the
 * state words restored, which leaves every byte as it was before step 1;
 * then the state is IDLE. Recovery stores only old values in fixed places,
 * so a process killed while recovering leaves it to the next one to do
 * again. Steps are ordered by compiler
 * fences: the writer is the only thread that stores to the log, and its
 * death is what the next holder must see through.
 */
#include <stdbool.h>
#include <string.h>

#include "dispatch.h"
#include "robust_lock.h"
#include "shared_internal.h"

#define BUDDY_RANGE_STORE_HOOK buddy_shared_log_store /* out of line: see its comment */
#include "layout.h"
#include "range_store.h"

static unsigned char *bytes_of(buddy_shared *shared) {
    return (unsigned char *)shared;
}

_Static_assert(sizeof(robust_lock) <= SHARED_LOCK_BYTES, "the lock fits its bytes");

static robust_lock *lock_of(buddy_shared *shared) {
    return (robust_lock *)(void *)(bytes_of(shared) + SHARED_LOCK_OFFSET);
}

static undo_log *log_of(buddy_shared *shared) {
    return (undo_log *)(void *)(bytes_of(shared) + SHARED_LOG_OFFSET);
}

static buddy_range *range_of(buddy_shared *shared) {
    return (buddy_range *)(void *)(bytes_of(shared) + shared->range_offset);
}

/* FNV-1a over the header's fixed fields. */
static uint64_t header_checksum(const buddy_shared *shared) {
    const unsigned char *bytes = (const unsigned char *)shared;
    uint64_t hash = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < offsetof(buddy_shared, checksum); i++)
        hash = (hash ^ bytes[i]) * UINT64_C(0x100000001b3);
    return hash;
}

static uint32_t *owners_of(buddy_shared *shared) {
    return (uint32_t *)(void *)(bytes_of(shared) + shared->owners_offset);
}

/* The owners' table slot of the block at `offset` (min blocks are a power of
 * two: a shift, not a division). */
static uint64_t owner_index(uint64_t min_block_size, uint64_t offset) {
    return offset >> __builtin_ctzll(min_block_size);
}

/* Where the owners' table starts for `range_bytes` of range metadata. */
static size_t owners_offset(size_t range_bytes) {
    return (SHARED_RANGE_OFFSET + range_bytes + 63u) / 64u * 64u;
}

size_t buddy_shared_size(uint64_t capacity, uint64_t min_block_size, unsigned flags) {
    size_t range = buddy_range_metadata_size(capacity, min_block_size);
    if (range == 0 || range > SIZE_MAX / 2 || (flags & ~(unsigned)BUDDY_SHARED_OWNERS) != 0)
        return 0;
    uint64_t needed = SHARED_RANGE_OFFSET + (uint64_t)range;
    if (flags & BUDDY_SHARED_OWNERS) {
        uint64_t blocks = capacity / min_block_size;
        if (blocks > (SIZE_MAX / 2) / sizeof(uint32_t))
            return 0; /* GCOVR_EXCL_LINE: a 32-bit target's huge range */
        needed =
            owners_offset(range) + (blocks * sizeof(uint32_t) + 7u) / 8u * 8u; /* whole words */
    }
    return needed <= (UINT64_C(1) << LOG_OFFSET_BITS) ? (size_t)needed : 0; /* the log's offsets */
}

int buddy_shared_create(buddy_shared **shared_out, void *segment, size_t segment_size,
                        uint64_t capacity, uint64_t min_block_size, unsigned flags) {
    if (shared_out == NULL || segment == NULL || (uintptr_t)segment % 64u != 0 ||
        (flags & ~(unsigned)BUDDY_SHARED_OWNERS) != 0)
        return BUDDY_EINVAL;
    size_t needed = buddy_shared_size(capacity, min_block_size, flags);
    size_t range_bytes = buddy_range_metadata_size(capacity, min_block_size);
    if (needed == 0)
        return BUDDY_EGEOMETRY;
    if (segment_size < needed)
        return BUDDY_ESMALL;
    memset(segment, 0, SHARED_RANGE_OFFSET); /* a free lock, an idle log */
    buddy_shared *shared = segment;
    buddy_range *range = NULL;
    int status =
        buddy_range_init(&range, bytes_of(shared) + SHARED_RANGE_OFFSET,
                         needed - SHARED_RANGE_OFFSET, capacity, min_block_size, BUDDY_BEST_FIT);
    if (status != BUDDY_OK)
        return status; /* GCOVR_EXCL_LINE: sized by buddy_shared_size */
    shared->version = SHARED_VERSION;
    shared->header_bytes = SHARED_HEADER_BYTES;
    shared->capacity = capacity;
    shared->min_block_size = min_block_size;
    shared->segment_bytes = needed;
    shared->range_offset = SHARED_RANGE_OFFSET;
    shared->flags = flags;
    shared->owners_offset = (flags & BUDDY_SHARED_OWNERS) ? owners_offset(range_bytes) : 0;
    if (shared->owners_offset != 0)
        memset(owners_of(shared), 0, needed - (size_t)shared->owners_offset);
    shared->magic = SHARED_MAGIC;
    shared->checksum = header_checksum(shared);
    *shared_out = shared;
    return BUDDY_OK;
}

/* The header against itself and `segment_size`: BUDDY_OK or why not. */
static int check_header(buddy_shared *shared, size_t segment_size) {
    if (segment_size < SHARED_HEADER_BYTES || shared->magic != SHARED_MAGIC)
        return BUDDY_ECORRUPT;
    if (shared->checksum != header_checksum(shared))
        return BUDDY_ECORRUPT;
    if (shared->version != SHARED_VERSION || shared->header_bytes != SHARED_HEADER_BYTES)
        return BUDDY_EVERSION;
    uint64_t needed = buddy_shared_size(shared->capacity, shared->min_block_size, shared->flags);
    size_t range_bytes = buddy_range_metadata_size(shared->capacity, shared->min_block_size);
    if (needed == 0 || needed != shared->segment_bytes || needed > segment_size ||
        shared->range_offset != SHARED_RANGE_OFFSET ||
        shared->owners_offset !=
            ((shared->flags & BUDDY_SHARED_OWNERS) ? owners_offset(range_bytes) : 0))
        return BUDDY_EGEOMETRY;
    return BUDDY_OK;
}

/* Writes the running operation's entries back, newest first, if it was cut;
 * then the summaries above the free words it restored, which are not logged. */
static void recover(buddy_shared *shared) {
    undo_log *log = log_of(shared);
    if (log->state == LOG_ACTIVE) {
        uint32_t count = 0;
        while (count < LOG_ENTRIES && (log->entry[count].where & ~LOG_OFFSET_MASK) == log->tag)
            count++;
        for (uint32_t i = count; i-- > 0;) {
            const log_entry *entry = &log->entry[i];
            uint64_t offset = entry->where & LOG_OFFSET_MASK;
            if (offset >= shared->range_offset &&
                offset <= shared->segment_bytes - sizeof entry->old)
                memcpy(bytes_of(shared) + offset, &entry->old, sizeof entry->old);
        }
        uint64_t metadata_words =
            buddy_range_metadata_size(shared->capacity, shared->min_block_size) / 8u;
        for (uint32_t i = 0; i < count; i++) {
            uint64_t offset = log->entry[i].where & LOG_OFFSET_MASK;
            if (offset >= shared->range_offset && (offset - shared->range_offset) % 8u == 0)
                buddy_shared_refresh_summaries(range_of(shared), metadata_words,
                                               (offset - shared->range_offset) / 8u);
        }
        buddy_shared_restore_state(log, range_of(shared));
        shared->recoveries++;
    }
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    log->state = LOG_IDLE;
}

/* Takes the lock, recovering first if its holder died. */
static inline void lock(buddy_shared *shared) {
    if (buddy_robust_lock_take(lock_of(shared)) == ROBUST_OWNER_DIED)
        recover(shared);
}

static inline void unlock(buddy_shared *shared) {
    buddy_robust_lock_release(lock_of(shared));
}

int buddy_shared_attach(buddy_shared **shared_out, void *segment, size_t segment_size) {
    if (shared_out == NULL || segment == NULL || (uintptr_t)segment % 64u != 0)
        return BUDDY_EINVAL;
    buddy_shared *shared = segment;
    int status = check_header(shared, segment_size);
    if (status != BUDDY_OK)
        return status;
    lock(shared);
    buddy_range *range = NULL;
    status =
        buddy_range_attach(&range, range_of(shared),
                           buddy_range_metadata_size(shared->capacity, shared->min_block_size));
    /* A segment's range never has a lock of its own (the segment's serialises
     * it); one that says so may say it is held, and the check would wait. */
    if (status == BUDDY_OK && range->sync != SYNC_NONE)
        status = BUDDY_ECORRUPT;
    if (status == BUDDY_OK)
        status = buddy_range_check(range);
    unlock(shared);
    if (status != BUDDY_OK)
        return BUDDY_ECORRUPT;
    *shared_out = shared;
    return BUDDY_OK;
}

/* Opens the undo log for one operation; under the lock. */
static inline void log_begin(buddy_shared *shared) {
    buddy_shared_log_open(log_of(shared), range_of(shared));
}

/* Closes it: from here the operation has happened. Its entries stay, and
 * only an ACTIVE log is read. */
static inline void log_end(buddy_shared *shared) {
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* every store of the operation, then IDLE */
    log_of(shared)->state = LOG_IDLE;
}

/* Stores the owner of the block at `offset`, logged; under the lock, with
 * the log open. */
static void set_owner(buddy_shared *shared, uint64_t offset, uint32_t owner) {
    uint32_t *slot = &owners_of(shared)[owner_index(shared->min_block_size, offset)];
    WILL_STORE_32(range_of(shared), slot); /* the table ends at a multiple of 8 bytes */
    *slot = owner;
}

/* A free with the log open: the range's, then the owner's slot cleared. */
static int logged_free(buddy_shared *shared, uint64_t offset) {
#if BUDDY_HAVE_X86_64_V3
    int status = buddy_cpu_has_x86_64_v3
                     ? buddy_shared_logged_free_x86_64_v3(range_of(shared), offset)
                     : buddy_shared_logged_free(range_of(shared), offset);
#else
    int status = buddy_shared_logged_free(range_of(shared), offset);
#endif
    if (status == BUDDY_OK && shared->owners_offset != 0)
        set_owner(shared, offset, 0);
    return status;
}

/* The core's allocators, as the mutating calls below pass them to one body. */
typedef int (*logged_allocator)(buddy_range *range, uint64_t size, uint64_t *offset_out);

static inline int shared_alloc(buddy_shared *shared, logged_allocator allocate, uint64_t size,
                               uint64_t *offset_out) {
    if (shared == NULL || offset_out == NULL)
        return BUDDY_EINVAL;
    lock(shared);
    log_begin(shared);
    uint64_t offset = 0;
    int status = allocate(range_of(shared), size, &offset);
    if (status == BUDDY_OK && shared->owners_offset != 0)
        set_owner(shared, offset, buddy_robust_lock_process_id());
    log_end(shared);
    unlock(shared);
    if (status == BUDDY_OK)
        *offset_out = offset;
    return status;
}

int buddy_shared_alloc(buddy_shared *shared, uint64_t size, uint64_t *offset_out) {
#if BUDDY_HAVE_X86_64_V3
    if (buddy_cpu_has_x86_64_v3)
        return shared_alloc(shared, buddy_shared_logged_alloc_x86_64_v3, size, offset_out);
#endif
    return shared_alloc(shared, buddy_shared_logged_alloc, size, offset_out);
}

int buddy_shared_alloc_exact(buddy_shared *shared, uint64_t size, uint64_t *offset_out) {
    return shared_alloc(shared, buddy_shared_logged_alloc_exact, size, offset_out);
}

int buddy_shared_alloc_packed(buddy_shared *shared, uint64_t size, uint64_t *offset_out) {
    return shared_alloc(shared, buddy_shared_logged_alloc_packed, size, offset_out);
}

int buddy_shared_free(buddy_shared *shared, uint64_t offset) {
    if (shared == NULL)
        return BUDDY_EINVAL;
    lock(shared);
    log_begin(shared);
    int status = logged_free(shared, offset);
    log_end(shared);
    unlock(shared);
    return status;
}

int buddy_shared_resize(buddy_shared *shared, uint64_t offset, uint64_t new_size) {
    if (shared == NULL)
        return BUDDY_EINVAL;
    lock(shared);
    log_begin(shared);
    int status = buddy_shared_logged_resize(range_of(shared), offset, new_size);
    log_end(shared);
    unlock(shared);
    return status;
}

int buddy_shared_owner(buddy_shared *shared, uint64_t offset, uint32_t *owner_out) {
    if (shared == NULL || owner_out == NULL || shared->owners_offset == 0)
        return BUDDY_EINVAL;
    lock(shared);
    uint64_t size = 0;
    int status = buddy_range_size(range_of(shared), offset, &size);
    if (status == BUDDY_OK)
        *owner_out = owners_of(shared)[owner_index(shared->min_block_size, offset)];
    unlock(shared);
    return status;
}

/* The sweep's walk: up to SWEEP_BATCH offsets of `owner`'s live blocks. */
#define SWEEP_BATCH 256u
typedef struct sweep_walk {
    const uint32_t *owners;
    uint64_t min_block_size;
    uint32_t owner;
    unsigned found;
    uint64_t offset[SWEEP_BATCH];
} sweep_walk;

static int collect(uint64_t offset, uint64_t size, buddy_block_state state, void *user) {
    (void)size;
    sweep_walk *walk = user;
    if (state == BUDDY_BLOCK_LIVE &&
        walk->owners[owner_index(walk->min_block_size, offset)] == walk->owner)
        walk->offset[walk->found++] = offset;
    return walk->found == SWEEP_BATCH; /* a full batch stops the walk */
}

int buddy_shared_sweep(buddy_shared *shared, uint32_t owner, uint64_t *freed_out) {
    if (shared == NULL || shared->owners_offset == 0)
        return BUDDY_EINVAL;
    lock(shared);
    static _Thread_local sweep_walk walk; /* 2 KiB: not on the stack */
    uint64_t freed = 0;
    do {
        walk = (sweep_walk){owners_of(shared), shared->min_block_size, owner, 0, {0}};
        (void)buddy_range_walk(range_of(shared), collect, &walk);
        for (unsigned i = 0; i < walk.found; i++) { /* each free atomic on its own */
            log_begin(shared);
            freed += logged_free(shared, walk.offset[i]) == BUDDY_OK;
            log_end(shared);
        }
    } while (walk.found == SWEEP_BATCH);
    unlock(shared);
    if (freed_out != NULL)
        *freed_out = freed;
    return BUDDY_OK;
}

int buddy_shared_block_size(buddy_shared *shared, uint64_t offset, uint64_t *size_out) {
    if (shared == NULL || size_out == NULL)
        return BUDDY_EINVAL;
    lock(shared);
    int status = buddy_range_size(range_of(shared), offset, size_out);
    unlock(shared);
    return status;
}

int buddy_shared_get_stats(buddy_shared *shared, buddy_range_stats *stats_out) {
    if (shared == NULL || stats_out == NULL)
        return BUDDY_EINVAL;
    lock(shared);
    int status = buddy_range_get_stats(range_of(shared), stats_out);
    unlock(shared);
    return status;
}

typedef struct walk_adapter {
    buddy_shared *shared;
    buddy_shared_visitor visitor;
    void *user;
} walk_adapter;

static int visit_block(uint64_t offset, uint64_t size, buddy_block_state state, void *user) {
    const walk_adapter *adapter = user;
    buddy_shared *shared = adapter->shared;
    uint32_t owner = 0;
    if (state == BUDDY_BLOCK_LIVE && shared->owners_offset != 0)
        owner = owners_of(shared)[owner_index(shared->min_block_size, offset)];
    int stop = adapter->visitor(offset, size, state, owner, adapter->user);
    buddy_robust_lock_reclaim(lock_of(shared)); /* in case the visitor used the robust list */
    return stop;
}

int buddy_shared_walk(buddy_shared *shared, buddy_shared_visitor visitor, void *user) {
    if (shared == NULL || visitor == NULL)
        return BUDDY_EINVAL;
    lock(shared);
    walk_adapter adapter = {shared, visitor, user};
    int status = buddy_range_walk(range_of(shared), visit_block, &adapter);
    unlock(shared);
    return status;
}

int buddy_shared_recoveries(buddy_shared *shared, uint64_t *recoveries_out) {
    if (shared == NULL || recoveries_out == NULL)
        return BUDDY_EINVAL;
    lock(shared);
    *recoveries_out = shared->recoveries;
    unlock(shared);
    return BUDDY_OK;
}

int buddy_shared_check(buddy_shared *shared) {
    if (shared == NULL)
        return BUDDY_EINVAL;
    int status = check_header(shared, (size_t)shared->segment_bytes);
    if (status != BUDDY_OK)
        return status;
    lock(shared);
    status = buddy_range_check(range_of(shared));
    unlock(shared);
    return status;
}
