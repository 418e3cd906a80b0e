/* SPDX-License-Identifier: MIT */
/*
 * The drop-in malloc's arenas: each is one mapping holding a thread-safe
 * buddy heap (BUDDY_HEAP_THREAD_SAFE: a cache per thread) with its metadata
 * at the front. The first arena has shim_config.arena_size bytes, each
 * later one twice the one before, up to ARENA_SIZE_MAX, so the metadata the
 * heaps touch at once (about 4% of an arena) stays in proportion to what
 * the program uses. Arenas are never unmapped before the process ends, so
 * a thread reads the list without a lock: a slot is filled before the count
 * that covers it is published (release), and read after it (acquire).
 *
 * Memory goes back to the system by purges: every PURGE_EVERY frees of a
 * thread, the arenas whose free bytes grew by PURGE_STEP since their last
 * purge are walked, and the whole pages of every free block of at least
 * PURGE_MIN_BLOCK bytes are dropped (MADV_DONTNEED). A walk visits every
 * block, so an arena is walked only once the frees since its last walk are
 * at least a quarter of its live blocks: at most four visits a free. The
 * pages are dropped while the walk holds
 * the heap's locks, so no thread can be handed those pages meanwhile.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buddy.h"
#include "shim.h"

#define MAX_ARENAS 64u
#if UINTPTR_MAX > 0xFFFFFFFFu
#define ARENA_SIZE_MAX ((size_t)1 << 30)
#else
#define ARENA_SIZE_MAX ((size_t)1 << 28)
#endif
#define PURGE_EVERY 1024u
#define PURGE_STEP ((size_t)4 << 20)
#define PURGE_MIN_BLOCK ((size_t)64 << 10)

typedef struct arena {
    unsigned char *start, *end; /* the mapping */
    buddy_heap *heap;
    size_t purged_free_bytes; /* free bytes after the last purge; under purge_lock */
    uint64_t frees_seen;      /* frees counted since its last walk (by PURGE_EVERY); the same */
} arena;

static arena arenas[MAX_ARENAS];
static unsigned arena_count; /* atomic: the slots below it are filled */
static pthread_mutex_t grow_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t purge_lock = PTHREAD_MUTEX_INITIALIZER;
static SHIM_TLS unsigned current_arena; /* the arena this thread last allocated from */
static SHIM_TLS unsigned frees_since_purge;

static unsigned published(void) {
    return __atomic_load_n(&arena_count, __ATOMIC_ACQUIRE);
}

/* Maps and sets up arena `index` (under grow_lock); false if the system
 * has no room for it. */
static bool add_arena(unsigned index) {
    unsigned doublings = index < 30u ? index : 30u;
    size_t size = shim_config.arena_size;
    while (doublings-- > 0 && size < ARENA_SIZE_MAX)
        size *= 2;
    void *memory = mmap(NULL, size, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED)
        return false;
    buddy_heap_config config = {0,
                                ARENA_MAX_ALIGNMENT,
                                BUDDY_DEFAULT_POLICY,
                                BUDDY_HEAP_THREAD_SAFE | shim_config.sizing,
                                NULL,
                                NULL,
                                NULL};
    buddy_heap *heap = NULL;
    if (buddy_heap_init(&heap, memory, size, &config) != BUDDY_OK) {
        munmap(memory, size); /* GCOVR_EXCL_LINE: 1 MiB and more always holds a heap */
        return false;         /* GCOVR_EXCL_LINE */
    }
    arenas[index] = (arena){memory, (unsigned char *)memory + size, heap, SIZE_MAX, 0};
    __atomic_store_n(&arena_count, index + 1, __ATOMIC_RELEASE);
    return true;
}

static void *alloc_in(unsigned index, size_t size, size_t alignment, bool zeroed) {
    buddy_heap *heap = arenas[index].heap;
    if (alignment != 0)
        return buddy_heap_aligned_alloc(heap, alignment, size);
    return zeroed ? buddy_heap_calloc(heap, 1, size) : buddy_heap_malloc(heap, size);
}

void *shim_arena_alloc(size_t size, size_t alignment, bool zeroed) {
    unsigned count = published(), first = current_arena < count ? current_arena : 0;
    for (unsigned tried = 0; tried < count; tried++) {
        unsigned index = (first + tried) % count;
        void *block = alloc_in(index, size, alignment, zeroed);
        if (block != NULL) {
            current_arena = index;
            return block;
        }
    }
    pthread_mutex_lock(&grow_lock);
    void *block = NULL;
    for (unsigned index = count; block == NULL && index < MAX_ARENAS; index++) {
        bool fresh = index >= published();
        if (fresh && !add_arena(index))
            break;
        if ((block = alloc_in(index, size, alignment, zeroed)) != NULL)
            current_arena = index;
        else if (fresh && (size_t)(arenas[index].end - arenas[index].start) >= ARENA_SIZE_MAX)
            break; /* too large for an empty arena of the largest size: a mapping serves it */
    }
    pthread_mutex_unlock(&grow_lock);
    return block;
}

buddy_heap *shim_arena_of(const void *pointer) {
    const unsigned char *address = pointer;
    unsigned count = published();
    for (unsigned index = 0; index < count; index++)
        if (address >= arenas[index].start && address < arenas[index].end)
            return arenas[index].heap;
    return NULL;
}

static int drop_pages(void *pointer, size_t size, bool is_live, void *user) {
    (void)user;
    if (is_live || size < PURGE_MIN_BLOCK)
        return 0;
    size_t page = shim_page_size();
    size_t head = (page - (size_t)((uintptr_t)pointer % page)) % page; /* to the first whole page */
    if (size > head + page)
        (void)madvise((unsigned char *)pointer + head, (size - head) & ~(page - 1), MADV_DONTNEED);
    return 0;
}

/* Purges the arenas that need it, and returns the lowest arena with an
 * eighth of it free (or the count if none has). */
static unsigned purge(void) {
    unsigned count = published(), roomy = count;
    for (unsigned index = 0; index < count; index++) {
        arena *a = &arenas[index];
        a->frees_seen += PURGE_EVERY; /* which arena they were in is not known: each counts them */
        buddy_range_stats stats;
        (void)buddy_heap_get_stats(a->heap, &stats);
        size_t free_bytes = (size_t)stats.free_bytes;
        if (roomy == count && free_bytes >= (size_t)(a->end - a->start) / 8u)
            roomy = index;
        if (a->purged_free_bytes == SIZE_MAX || free_bytes < a->purged_free_bytes)
            a->purged_free_bytes = free_bytes; /* pages were used again */
        else if (free_bytes - a->purged_free_bytes >= PURGE_STEP &&
                 a->frees_seen * 4 >= stats.live_blocks) {
            (void)buddy_heap_walk(a->heap, drop_pages, NULL);
            a->purged_free_bytes = free_bytes;
            a->frees_seen = 0;
        }
    }
    return roomy;
}

void shim_arena_note_free(void) {
    if (++frees_since_purge < PURGE_EVERY)
        return;
    frees_since_purge = 0;
    if (pthread_mutex_trylock(&purge_lock) != 0)
        return; /* another thread purges; GCOVR_EXCL_LINE: only a race of two reaches it */
    int saved = errno;
    unsigned roomy = purge();
    if (roomy < current_arena)
        current_arena = roomy; /* back to the lowest arena with room: its pages are touched */
    errno = saved;
    pthread_mutex_unlock(&purge_lock);
}

void shim_arenas_lock_all(void) {
    pthread_mutex_lock(&grow_lock);
    pthread_mutex_lock(&purge_lock);
    for (unsigned index = 0; index < published(); index++)
        (void)buddy_heap_lock_all(arenas[index].heap);
}

void shim_arenas_unlock_all(void) {
    for (unsigned index = published(); index-- > 0;)
        (void)buddy_heap_unlock_all(arenas[index].heap);
    pthread_mutex_unlock(&purge_lock);
    pthread_mutex_unlock(&grow_lock);
}

void shim_arenas_count(unsigned *arenas_out, size_t *bytes_out) {
    unsigned count = published();
    size_t bytes = 0;
    for (unsigned index = 0; index < count; index++)
        bytes += (size_t)(arenas[index].end - arenas[index].start);
    *arenas_out = count;
    *bytes_out = bytes;
}
