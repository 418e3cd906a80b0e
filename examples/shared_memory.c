/* Two processes share one range through a memfd, each mapping it at its own
 * address. The child allocates until the range is full and is killed -9;
 * the parent sweeps the dead child's blocks and allocates on. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buddy.h"

static buddy_shared *map_and_attach(int fd, size_t size) {
    void *segment = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    buddy_shared *shared = NULL;
    if (segment == MAP_FAILED || buddy_shared_attach(&shared, segment, size) != BUDDY_OK)
        return NULL;
    return shared;
}

int main(void) {
    const uint64_t capacity = 1u << 20; /* units of the caller's shared buffers */
    size_t size = buddy_shared_size(capacity, 64, BUDDY_SHARED_OWNERS);
    int fd = memfd_create("buddy-example", 0);
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
        return 1;
    void *segment = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    buddy_shared *shared = NULL;
    if (segment == MAP_FAILED ||
        buddy_shared_create(&shared, segment, size, capacity, 64, BUDDY_SHARED_OWNERS) != BUDDY_OK)
        return 1;

    pid_t child = fork();
    if (child == 0) { /* another process, another mapping */
        buddy_shared *mine = map_and_attach(fd, size);
        uint64_t offset = 0;
        while (mine != NULL && buddy_shared_alloc(mine, 4096, &offset) == BUDDY_OK)
            continue;
        for (;;)
            pause(); /* holds 256 blocks until it is killed */
    }
    buddy_range_stats stats;
    do { /* wait until the child has filled the range */
        usleep(1000);
        buddy_shared_get_stats(shared, &stats);
    } while (stats.free_bytes != 0);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    printf("the child held %llu blocks when it was killed\n",
           (unsigned long long)stats.live_blocks);

    uint64_t freed = 0, offset = 0;
    buddy_shared_sweep(shared, (uint32_t)child, &freed);
    int status = buddy_shared_alloc(shared, 4096, &offset);
    printf("swept %llu of its blocks; the parent allocates at %llu: %s; check: %s\n",
           (unsigned long long)freed, (unsigned long long)offset, buddy_status_str(status),
           buddy_status_str(buddy_shared_check(shared)));
    return 0;
}
