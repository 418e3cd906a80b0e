/* SPDX-License-Identifier: MIT */
/*
 * `buddy shared create|stat|check|recover|draw FILE`: makes and inspects a
 * shared range's segment in a file (/dev/shm/NAME for POSIX shared memory)
 * while processes use it.
 */
#define _DEFAULT_SOURCE /* MAP_SHARED's neighbours, fstat */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool.h"

static const char *const usage_text =
    "usage: buddy shared create --capacity SIZE [--min-block SIZE] [--owners] FILE\n"
    "       buddy shared stat FILE\n"
    "       buddy shared check FILE\n"
    "       buddy shared recover FILE\n"
    "       buddy shared draw FILE --out FILE.svg\n\n"
    "Makes or inspects a shared range's segment in FILE (/dev/shm/NAME for POSIX\n"
    "shared memory) while processes use it. create makes a new file (it must not\n"
    "exist; --owners records each block's process); stat prints the geometry, the\n"
    "statistics and the live blocks of each owner; check runs every invariant;\n"
    "recover takes the lock, which undoes an operation cut by a dead process;\n"
    "draw writes the map of blocks, coloured by owner, as SVG.\n\n"
    "exit codes: 0 success, 1 the segment is corrupt or cannot be opened, 2 bad usage\n";

#define MAX_OWNERS 16

typedef struct segment_file {
    void *memory;
    size_t size;
    buddy_shared *shared;
} segment_file;

/* Maps FILE and attaches; prints why not. */
static int open_segment(const char *path, segment_file *file) {
    int fd = open(path, O_RDWR | O_CLOEXEC);
    struct stat info;
    if (fd < 0 || fstat(fd, &info) != 0) {
        fprintf(stderr, "buddy shared: '%s': %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return TOOL_FAILED;
    }
    file->size = (size_t)info.st_size;
    file->memory = file->size == 0
                       ? MAP_FAILED
                       : mmap(NULL, file->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (file->memory == MAP_FAILED) {
        fprintf(stderr, "buddy shared: '%s' cannot be mapped (%zu bytes)\n", path, file->size);
        return TOOL_FAILED;
    }
    int status = buddy_shared_attach(&file->shared, file->memory, file->size);
    if (status != BUDDY_OK) {
        fprintf(stderr, "buddy shared: '%s': %s\n", path, buddy_status_str(status));
        munmap(file->memory, file->size);
        return TOOL_FAILED;
    }
    return TOOL_OK;
}

static int create(tool_args *args) {
    uint64_t capacity = 0, min_block = 64;
    unsigned flags = 0;
    const char *path = NULL;
    while (args->status == TOOL_OK && tool_args_next(args)) {
        if (tool_args_is(args, "--capacity", true))
            tool_args_size(args, "--capacity", &capacity);
        else if (tool_args_is(args, "--min-block", true))
            tool_args_size(args, "--min-block", &min_block);
        else if (tool_args_is(args, "--owners", false))
            flags |= BUDDY_SHARED_OWNERS;
        else if (args->arg[0] != '-' && path == NULL)
            path = args->arg;
        else
            tool_args_unknown(args, "--capacity, --min-block, --owners, FILE");
    }
    if (args->status != TOOL_OK)
        return args->status;
    if (path == NULL || capacity == 0)
        return tool_args_error(args, "create needs --capacity SIZE and FILE");
    size_t size = buddy_shared_size(capacity, min_block, flags);
    if (size == 0)
        return tool_args_error(args,
                               "--capacity %" PRIu64 " with --min-block %" PRIu64 " makes no range",
                               capacity, min_block);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return tool_args_error(args, "FILE '%s': %s", path, strerror(errno));
    void *memory = MAP_FAILED;
    if (ftruncate(fd, (off_t)size) == 0)
        memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    buddy_shared *shared = NULL;
    int status = memory == MAP_FAILED
                     ? BUDDY_ENOMEM
                     : buddy_shared_create(&shared, memory, size, capacity, min_block, flags);
    if (status != BUDDY_OK) {
        fprintf(stderr, "buddy shared: '%s': %s\n", path, buddy_status_str(status));
        unlink(path);
        return TOOL_FAILED;
    }
    printf("%s: a shared range of %" PRIu64 " units in min blocks of %" PRIu64 ", %zu bytes%s\n",
           path, capacity, min_block, size, flags ? ", with owners" : "");
    munmap(memory, size);
    return TOOL_OK;
}

typedef struct tally {
    uint32_t owner[MAX_OWNERS];
    uint64_t blocks[MAX_OWNERS], bytes[MAX_OWNERS];
    unsigned count;
    uint64_t other_blocks;
} tally;

static int count_block(uint64_t offset, uint64_t size, buddy_block_state state, uint32_t owner,
                       void *user) {
    (void)offset;
    tally *t = user;
    if (state != BUDDY_BLOCK_LIVE || owner == 0)
        return 0;
    unsigned i = 0;
    while (i < t->count && t->owner[i] != owner)
        i++;
    if (i == MAX_OWNERS) {
        t->other_blocks++;
        return 0;
    }
    if (i == t->count)
        t->owner[t->count++] = owner;
    t->blocks[i]++;
    t->bytes[i] += size;
    return 0;
}

static int stat_segment(const char *path, const segment_file *file) {
    buddy_range_stats stats;
    uint64_t recoveries = 0;
    tally t;
    memset(&t, 0, sizeof t);
    if (buddy_shared_get_stats(file->shared, &stats) != BUDDY_OK ||
        buddy_shared_recoveries(file->shared, &recoveries) != BUDDY_OK ||
        buddy_shared_walk(file->shared, count_block, &t) != BUDDY_OK)
        return TOOL_FAILED;
    printf("%s: %zu bytes; capacity %" PRIu64 " in min blocks of %" PRIu64 "\n", path, file->size,
           stats.capacity, stats.min_block_size);
    tool_print_stats(&stats);
    printf("recovered operations: %" PRIu64 "\n", recoveries);
    for (unsigned i = 0; i < t.count; i++) {
        bool alive = kill((pid_t)t.owner[i], 0) == 0 || errno == EPERM;
        printf("owner %" PRIu32 " (%s): %" PRIu64 " blocks, %" PRIu64 " units\n", t.owner[i],
               alive ? "running" : "gone: buddy_shared_sweep frees its blocks", t.blocks[i],
               t.bytes[i]);
    }
    if (t.other_blocks != 0)
        printf("and %" PRIu64 " blocks of further owners\n", t.other_blocks);
    return TOOL_OK;
}

typedef struct picture {
    FILE *out;
    double scale;
    uint32_t owners[MAX_OWNERS];
    unsigned owner_count;
} picture;

static const char *const colours[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                      "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"};

static int draw_block(uint64_t offset, uint64_t size, buddy_block_state state, uint32_t owner,
                      void *user) {
    picture *p = user;
    const char *fill = state == BUDDY_BLOCK_FREE ? "#e8e8e8" : "#9c9c9c";
    if (state == BUDDY_BLOCK_LIVE && owner != 0) {
        unsigned i = 0;
        while (i < p->owner_count && p->owners[i] != owner)
            i++;
        if (i == p->owner_count && i < MAX_OWNERS)
            p->owners[p->owner_count++] = owner;
        fill = colours[i % (sizeof colours / sizeof colours[0])];
    }
    fprintf(p->out,
            "<rect x=\"%.2f\" y=\"40\" width=\"%.2f\" height=\"60\" fill=\"%s\" "
            "stroke=\"#ffffff\" stroke-width=\"0.3\"/>\n",
            20 + (double)offset * p->scale, (double)size * p->scale, fill);
    return 0;
}

static int draw(const char *path, const segment_file *file, const char *out_path) {
    buddy_range_stats stats;
    FILE *out = fopen(out_path, "w");
    if (out == NULL) {
        fprintf(stderr, "buddy shared: --out '%s': %s\n", out_path, strerror(errno));
        return TOOL_FAILED;
    }
    (void)buddy_shared_get_stats(file->shared, &stats);
    tally owners;
    memset(&owners, 0, sizeof owners);
    (void)buddy_shared_walk(file->shared, count_block, &owners); /* the legend's rows */
    unsigned legend_bottom = 120u + 20u * ((owners.count + 3u) / 4u);
    picture p = {out, 960.0 / (double)stats.capacity, {0}, 0};
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1000\" height=\"%u\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"20\" y=\"25\" font-family=\"sans-serif\" font-size=\"14\">%s: "
            "%" PRIu64 " live blocks, %" PRIu64 " of %" PRIu64 " units allocated</text>\n",
            legend_bottom + 30u, path, stats.live_blocks, stats.allocated_bytes, stats.capacity);
    int status = buddy_shared_walk(file->shared, draw_block, &p);
    for (unsigned i = 0; i < p.owner_count; i++)
        fprintf(out,
                "<rect x=\"%u\" y=\"%u\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                "<text x=\"%u\" y=\"%u\" font-family=\"sans-serif\" font-size=\"12\">"
                "process %" PRIu32 "</text>\n",
                20u + 240u * (i % 4), 120u + 20u * (i / 4), colours[i % 8], 38u + 240u * (i % 4),
                131u + 20u * (i / 4), p.owners[i]);
    fprintf(out,
            "<text x=\"20\" y=\"%u\" font-family=\"sans-serif\" font-size=\"12\">grey: "
            "live without an owner; light: free</text>\n</svg>\n",
            legend_bottom + 15u);
    if (fclose(out) != 0 || status != BUDDY_OK)
        return TOOL_FAILED;
    printf("%s: %u owners drawn to %s\n", path, p.owner_count, out_path);
    return TOOL_OK;
}

int tool_shared(int argc, char **argv) {
    tool_args args = {"shared", argc, argv, 1, NULL, NULL, TOOL_OK};
    if (argc < 2)
        return tool_args_error(&args, "the verb is missing (create, stat, check, recover, draw)");
    if (tool_is_help(argv[1])) {
        fputs(usage_text, stdout);
        return TOOL_OK;
    }
    const char *verb = argv[1];
    args.next = 2;
    if (strcmp(verb, "create") == 0)
        return create(&args);
    if (strcmp(verb, "stat") != 0 && strcmp(verb, "check") != 0 && strcmp(verb, "recover") != 0 &&
        strcmp(verb, "draw") != 0)
        return tool_args_error(&args, "'%s' is not create, stat, check, recover or draw", verb);
    const char *path = NULL, *out_path = NULL;
    while (args.status == TOOL_OK && tool_args_next(&args)) {
        if (strcmp(verb, "draw") == 0 && tool_args_is(&args, "--out", true))
            out_path = args.value;
        else if (args.arg[0] != '-' && path == NULL)
            path = args.arg;
        else
            tool_args_unknown(&args, strcmp(verb, "draw") == 0 ? "FILE, --out" : "FILE");
    }
    if (args.status != TOOL_OK)
        return args.status;
    if (path == NULL || (strcmp(verb, "draw") == 0 && out_path == NULL))
        return tool_args_error(&args, "%s needs FILE%s", verb,
                               strcmp(verb, "draw") == 0 ? " and --out FILE.svg" : "");
    segment_file file;
    int status = open_segment(path, &file); /* attach recovers a cut operation */
    if (status != TOOL_OK)
        return status;
    if (strcmp(verb, "stat") == 0) {
        status = stat_segment(path, &file);
    } else if (strcmp(verb, "check") == 0) {
        int checked = buddy_shared_check(file.shared);
        printf("%s: %s\n", path, buddy_status_str(checked));
        status = checked == BUDDY_OK ? TOOL_OK : TOOL_FAILED;
    } else if (strcmp(verb, "recover") == 0) {
        uint64_t recoveries = 0;
        (void)buddy_shared_recoveries(file.shared, &recoveries);
        printf("%s: the lock is free and consistent; %" PRIu64
               " operations recovered since it was made\n",
               path, recoveries);
    } else {
        status = draw(path, &file, out_path);
    }
    munmap(file.memory, file.size);
    return status;
}
