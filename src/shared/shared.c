/* SPDX-License-Identifier: MIT */
/*
 * The shared range: a range's metadata in a segment that processes map, a
 * process-shared robust mutex, and an undo log (shared_internal.h has the
 * layout). A mutating call runs like this, under the mutex:
 *
 *   1. count = 0, then state = ACTIVE;
 *   2. the core's alloc or free (logged.c), each store's old bytes logged
 *      first;
 *   3. state = IDLE.
 *
 * If the holder dies, the next pthread_mutex_lock returns EOWNERDEAD. With
 * the state ACTIVE, the entries are written back newest first, which leaves
 * every byte as it was before step 1; then the state is IDLE and the mutex
 * consistent. Recovery stores only old values in fixed places, so a process
 * killed while recovering leaves it to the next one to do again. Steps are
 * ordered by compiler fences: the writer is the only thread that stores to
 * the log, and its death is what the next holder must see through.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "shared_internal.h"

static unsigned char *bytes_of(buddy_shared *shared) {
    return (unsigned char *)shared;
}

static pthread_mutex_t *mutex_of(buddy_shared *shared) {
    return (pthread_mutex_t *)(void *)(bytes_of(shared) + SHARED_LOCK_OFFSET);
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

size_t buddy_shared_size(uint64_t capacity, uint64_t min_block_size) {
    size_t range = buddy_range_metadata_size(capacity, min_block_size);
    if (range == 0 || range > SIZE_MAX - SHARED_RANGE_OFFSET)
        return 0;
    return SHARED_RANGE_OFFSET + range;
}

int buddy_shared_create(buddy_shared **shared_out, void *segment, size_t segment_size,
                        uint64_t capacity, uint64_t min_block_size) {
    if (shared_out == NULL || segment == NULL || (uintptr_t)segment % 64u != 0)
        return BUDDY_EINVAL;
    size_t needed = buddy_shared_size(capacity, min_block_size);
    if (needed == 0)
        return BUDDY_EGEOMETRY;
    if (segment_size < needed)
        return BUDDY_ESMALL;
    memset(segment, 0, SHARED_RANGE_OFFSET);
    buddy_shared *shared = segment;
    buddy_range *range = NULL;
    int status =
        buddy_range_init(&range, bytes_of(shared) + SHARED_RANGE_OFFSET,
                         needed - SHARED_RANGE_OFFSET, capacity, min_block_size, BUDDY_BEST_FIT);
    if (status != BUDDY_OK)
        return status; /* GCOVR_EXCL_LINE: sized by buddy_shared_size */
    pthread_mutexattr_t attributes;
    if (pthread_mutexattr_init(&attributes) != 0)
        return BUDDY_ENOMEM; /* GCOVR_EXCL_LINE: cannot fail on Linux */
    int failed = pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED) != 0 ||
                 pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST) != 0 ||
                 pthread_mutex_init(mutex_of(shared), &attributes) != 0;
    pthread_mutexattr_destroy(&attributes);
    if (failed)
        return BUDDY_ENOMEM; /* GCOVR_EXCL_LINE: cannot fail on Linux */
    shared->version = SHARED_VERSION;
    shared->header_bytes = SHARED_HEADER_BYTES;
    shared->capacity = capacity;
    shared->min_block_size = min_block_size;
    shared->segment_bytes = needed;
    shared->range_offset = SHARED_RANGE_OFFSET;
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
    uint64_t needed = buddy_shared_size(shared->capacity, shared->min_block_size);
    if (needed == 0 || needed != shared->segment_bytes || needed > segment_size ||
        shared->range_offset != SHARED_RANGE_OFFSET)
        return BUDDY_EGEOMETRY;
    return BUDDY_OK;
}

/* Writes the log's entries back, newest first, if an operation was cut. */
static void recover(buddy_shared *shared) {
    undo_log *log = log_of(shared);
    if (log->state == LOG_ACTIVE) {
        uint32_t count = log->count < LOG_ENTRIES ? log->count : LOG_ENTRIES;
        for (uint32_t i = count; i-- > 0;) {
            const log_entry *entry = &log->entry[i];
            if (entry->bytes <= 8u && entry->offset >= shared->range_offset &&
                entry->offset <= shared->segment_bytes - entry->bytes)
                memcpy(bytes_of(shared) + entry->offset, &entry->old, (size_t)entry->bytes);
        }
        shared->recoveries++;
    }
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    log->state = LOG_IDLE;
    log->count = 0;
}

/* Takes the mutex, recovering first if its holder died: BUDDY_OK, or
 * BUDDY_ECORRUPT if the mutex is past recovery. */
static int lock(buddy_shared *shared) {
    int status = pthread_mutex_lock(mutex_of(shared));
    if (status == EOWNERDEAD) {
        recover(shared);
        status = pthread_mutex_consistent(mutex_of(shared));
    }
    return status == 0 ? BUDDY_OK : BUDDY_ECORRUPT;
}

static void unlock(buddy_shared *shared) {
    pthread_mutex_unlock(mutex_of(shared));
}

int buddy_shared_attach(buddy_shared **shared_out, void *segment, size_t segment_size) {
    if (shared_out == NULL || segment == NULL || (uintptr_t)segment % 64u != 0)
        return BUDDY_EINVAL;
    buddy_shared *shared = segment;
    int status = check_header(shared, segment_size);
    if (status != BUDDY_OK)
        return status;
    if (lock(shared) != BUDDY_OK)
        return BUDDY_ECORRUPT;
    buddy_range *range = NULL;
    status = buddy_range_attach(&range, range_of(shared),
                                (size_t)(shared->segment_bytes - shared->range_offset));
    if (status == BUDDY_OK)
        status = buddy_range_check(range);
    unlock(shared);
    if (status != BUDDY_OK)
        return BUDDY_ECORRUPT;
    *shared_out = shared;
    return BUDDY_OK;
}

/* Runs a logged alloc of `value` units, or free of offset `value`, under
 * the mutex. */
static int logged_call(buddy_shared *shared, bool is_free, uint64_t value, uint64_t *offset_out) {
    if (shared == NULL)
        return BUDDY_EINVAL;
    if (lock(shared) != BUDDY_OK)
        return BUDDY_ECORRUPT;
    undo_log *log = log_of(shared);
    log->count = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    log->state = LOG_ACTIVE;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    buddy_shared_target = (log_target){log, bytes_of(shared)};
    int status = is_free ? buddy_shared_logged_free(range_of(shared), value)
                         : buddy_shared_logged_alloc(range_of(shared), value, offset_out);
    buddy_shared_target = (log_target){NULL, NULL};
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    log->state = LOG_IDLE;
    unlock(shared);
    return status;
}

int buddy_shared_alloc(buddy_shared *shared, uint64_t size, uint64_t *offset_out) {
    if (offset_out == NULL)
        return BUDDY_EINVAL;
    return logged_call(shared, false, size, offset_out);
}

int buddy_shared_free(buddy_shared *shared, uint64_t offset) {
    return logged_call(shared, true, offset, NULL);
}

int buddy_shared_block_size(buddy_shared *shared, uint64_t offset, uint64_t *size_out) {
    if (shared == NULL || size_out == NULL)
        return BUDDY_EINVAL;
    if (lock(shared) != BUDDY_OK)
        return BUDDY_ECORRUPT;
    int status = buddy_range_size(range_of(shared), offset, size_out);
    unlock(shared);
    return status;
}

int buddy_shared_get_stats(buddy_shared *shared, buddy_range_stats *stats_out) {
    if (shared == NULL || stats_out == NULL)
        return BUDDY_EINVAL;
    if (lock(shared) != BUDDY_OK)
        return BUDDY_ECORRUPT;
    int status = buddy_range_get_stats(range_of(shared), stats_out);
    unlock(shared);
    return status;
}

int buddy_shared_recoveries(buddy_shared *shared, uint64_t *recoveries_out) {
    if (shared == NULL || recoveries_out == NULL)
        return BUDDY_EINVAL;
    if (lock(shared) != BUDDY_OK)
        return BUDDY_ECORRUPT;
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
    if (lock(shared) != BUDDY_OK)
        return BUDDY_ECORRUPT;
    status = buddy_range_check(range_of(shared));
    unlock(shared);
    return status;
}
