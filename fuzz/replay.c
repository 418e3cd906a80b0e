/* SPDX-License-Identifier: MIT */
/*
 * Replays fuzz inputs through a target without libFuzzer, so CTest can run
 * the corpus with any compiler: `replay FILE_OR_DIRECTORY...`. Exits non-zero
 * (the target aborts) on the first finding. With BUDDY_TEST_QUICK set (under
 * Valgrind, an emulator or ThreadSanitizer, whose other builds replay the
 * whole corpus), a directory's inputs are sampled: a quarter of them, those
 * whose names (libFuzzer's SHA-1s) start with 0..3.
 */
#define _DEFAULT_SOURCE
#define _FILE_OFFSET_BITS 64 /* readdir on 32-bit builds with 64-bit inodes */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_input.h"

static int replay_file(const char *path) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        perror(path);
        return 1;
    }
    static uint8_t buffer[1 << 20];
    size_t size = fread(buffer, 1, sizeof buffer, file);
    fclose(file);
    LLVMFuzzerTestOneInput(buffer, size);
    return 0;
}

/* Whether quick mode leaves the input named `name` out. */
static int sampled_out(const char *name) {
    return getenv("BUDDY_TEST_QUICK") != NULL && strchr("0123", name[0]) == NULL;
}

int main(int argc, char **argv) {
    unsigned replayed = 0;
    unsigned left_out = 0;
    for (int i = 1; i < argc; i++) {
        struct stat info;
        if (stat(argv[i], &info) != 0) {
            perror(argv[i]);
            return 1;
        }
        if (!S_ISDIR(info.st_mode)) {
            if (replay_file(argv[i]) != 0)
                return 1;
            replayed++;
            continue;
        }
        DIR *directory = opendir(argv[i]);
        for (struct dirent *entry; directory != NULL && (entry = readdir(directory)) != NULL;) {
            if (entry->d_name[0] == '.')
                continue;
            if (sampled_out(entry->d_name)) {
                left_out++;
                continue;
            }
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], entry->d_name);
            if (replay_file(path) != 0)
                return 1;
            replayed++;
        }
        if (directory != NULL)
            closedir(directory);
    }
    printf("replayed %u inputs: no finding", replayed);
    if (left_out > 0)
        printf(" (%u more left out: BUDDY_TEST_QUICK replays a quarter)", left_out);
    printf("\n");
    return replayed > 0 ? 0 : 1;
}
