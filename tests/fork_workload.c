/* SPDX-License-Identifier: MIT */
/*
 * A program for `buddy record` that forks without exec: first with one thread,
 * then while a second thread allocates and frees. Every child allocates,
 * frees and exits. Recorded, it must finish (a child must not inherit the
 * recorder's lock held) and its trace must replay (the children's calls must
 * not be in the parent's trace, also those of the first child, forked before
 * the program allocates anything).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_bool stop;

static void churn(int rounds) {
    for (int i = 0; i < rounds; i++) {
        volatile char *block = malloc((size_t)(16 + i % 200));
        if (block != NULL)
            *block = (char)i; /* volatile: no compiler elides the pair */
        free((void *)block);
    }
}

static void *churn_until_stopped(void *unused) {
    (void)unused;
    while (!atomic_load(&stop))
        churn(100);
    return NULL;
}

static int fork_children(int count) {
    for (int i = 0; i < count; i++) {
        pid_t child = fork();
        if (child < 0)
            return 1;
        if (child == 0) {
            volatile char *kept = malloc(333); /* no other call asks for 333 bytes: a block
                                                  the parent's trace must not show */
            if (kept != NULL)
                *kept = 1;
            churn(50);
            free((void *)kept);
            _exit(0);
        }
        churn(10);
        int status = 0;
        if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            return 1;
    }
    return 0;
}

int main(void) {
    if (fork_children(5) != 0)
        return 1;
    pthread_t thread;
    if (pthread_create(&thread, NULL, churn_until_stopped, NULL) != 0)
        return 1;
    int failed = fork_children(50);
    atomic_store(&stop, true);
    pthread_join(thread, NULL);
    return failed;
}
