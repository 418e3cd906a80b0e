/* SPDX-License-Identifier: MIT */
/* A known allocation pattern for the `buddy record` test: 100 mallocs, 50
 * reallocs, an aligned allocation, a valloc, a pvalloc and a posix_memalign,
 * then every block freed; then a calloc, a shrinking realloc and a realloc to
 * 0; then the program runs itself again as `alloc_workload child`, which
 * allocates 4321 bytes and must not be recorded. Every block is written
 * through a volatile pointer, so no compiler elides a malloc/free pair. */
#define _DEFAULT_SOURCE /* valloc */
#include <malloc.h>     /* pvalloc */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        volatile char *mine = malloc(4321);
        mine[0] = 1;
        free((void *)mine);
        return 0;
    }
    static void *blocks[100];
    for (int i = 0; i < 100; i++) {
        blocks[i] = malloc((size_t)(16 + i * 8));
        *(volatile char *)blocks[i] = 1;
    }
    for (int i = 0; i < 50; i++) {
        blocks[i] = realloc(blocks[i], (size_t)(1000 + i));
        *(volatile char *)blocks[i] = 2;
    }
    volatile char *page = aligned_alloc(4096, 4096);
    page[0] = 3;
    free((void *)page);
    volatile char *paged = valloc(3000);
    volatile char *pages = pvalloc(5000); /* two 4 KiB pages, or one larger page */
    paged[0] = 4;
    pages[0] = 5;
    void *memaligned = NULL;
    if (posix_memalign(&memaligned, 256, 1234) != 0)
        return 1;
    *(volatile char *)memaligned = 6;
    free((void *)paged);
    free((void *)pages);
    free(memaligned);
    for (int i = 0; i < 100; i++)
        free(blocks[i]);
    volatile char *counted = calloc(7, 111); /* recorded as its 777 bytes */
    counted[0] = 6;
    free((void *)counted);
    volatile char *shrunk = malloc(4000);
    shrunk[0] = 7;
    shrunk = realloc((void *)shrunk, 2000); /* in place, under glibc */
    shrunk[0] = 8;
    free((void *)shrunk);
    volatile char *dropped = malloc(6666);
    dropped[0] = 9;
    free(realloc((void *)dropped, 0)); /* glibc frees it there, and returns NULL */
    pid_t child = fork();
    if (child == 0) {
        execl(argv[0], argv[0], "child", (char *)NULL);
        _exit(1);
    }
    int status = 0;
    return child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
                   WEXITSTATUS(status) == 0
               ? 0
               : 1;
}
