/* SPDX-License-Identifier: MIT */
/*
 * A process for the `buddy shared` tests: `shared_workload FILE N` attaches
 * to the segment in FILE, allocates N blocks of 4 KiB and exits holding
 * them; `shared_workload FILE die` takes the segment's lock, opens its undo
 * log as an operation would, and exits, so the next holder recovers.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buddy.h"
#include "robust_lock.h"
#include "shared_internal.h"

int main(int argc, char **argv) {
    int fd = argc == 3 ? open(argv[1], O_RDWR) : -1;
    struct stat info;
    if (fd < 0 || fstat(fd, &info) != 0)
        return 2;
    unsigned char *memory =
        mmap(NULL, (size_t)info.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    buddy_shared *shared = NULL;
    if (memory == MAP_FAILED ||
        buddy_shared_attach(&shared, memory, (size_t)info.st_size) != BUDDY_OK)
        return 1;
    if (strcmp(argv[2], "die") == 0) {
        buddy_robust_lock_take((robust_lock *)(void *)(memory + SHARED_LOCK_OFFSET));
        undo_log *log = (undo_log *)(void *)(memory + SHARED_LOG_OFFSET);
        buddy_shared_log_open(log, (buddy_range *)(void *)(memory + shared->range_offset));
        _exit(0); /* holding the lock, in the middle of an operation */
    }
    uint64_t offset = 0;
    for (long i = 0; i < atol(argv[2]); i++)
        if (buddy_shared_alloc(shared, 4096, &offset) != BUDDY_OK)
            return 1;
    return 0;
}
