/* SPDX-License-Identifier: MIT */
/* Helpers every subcommand of the `buddy` command shares. */
#define _DEFAULT_SOURCE /* readlink, mkdtemp, symlink */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

bool tool_is_help(const char *argument) {
    return strcmp(argument, "--help") == 0 || strcmp(argument, "-h") == 0;
}

int tool_fail(const char *what, int status) {
    fprintf(stderr, "buddy %s: %s\n", what, buddy_status_str(status));
    return TOOL_FAILED;
}

void tool_format_size(char *out, size_t size, uint64_t bytes) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double value = (double)bytes;
    unsigned unit = 0;
    while (value >= 1024.0 && unit + 1 < sizeof units / sizeof units[0]) {
        value /= 1024.0;
        unit++;
    }
    if (unit == 0)
        snprintf(out, size, "%llu B", (unsigned long long)bytes);
    else if (value == (double)(uint64_t)value)
        snprintf(out, size, "%.0f %s", value, units[unit]);
    else
        snprintf(out, size, "%.1f %s", value, units[unit]);
}

/* The length of the UTF-8 sequence at `text` (1 to 4), or 0 if it is not one. */
static size_t utf8_length(const unsigned char *text) {
    if (text[0] < 0x80)
        return 1;
    size_t length = text[0] >= 0xf0 ? 4 : text[0] >= 0xe0 ? 3 : text[0] >= 0xc0 ? 2 : 0;
    if (length == 0 || text[0] >= 0xf8)
        return 0; /* a continuation byte, or no lead byte at all */
    unsigned point = text[0] & (0x7fu >> length);
    for (size_t i = 1; i < length; i++) {
        if ((text[i] & 0xc0u) != 0x80u) /* also stops at the NUL */
            return 0;
        point = (point << 6) | (text[i] & 0x3fu);
    }
    static const unsigned least[] = {0, 0, 0x80, 0x800, 0x10000}; /* no overlong forms */
    bool surrogate = point >= 0xd800 && point <= 0xdfff;
    return point >= least[length] && point <= 0x10ffff && !surrogate ? length : 0;
}

void tool_print_json_string(FILE *out, const char *text) {
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0';) {
        size_t length = utf8_length(c);
        if (length == 0) {
            fputs("\\ufffd", out);
            c++;
        } else if (*c == '"' || *c == '\\') {
            fprintf(out, "\\%c", *c++);
        } else if (*c < 0x20) {
            fprintf(out, "\\u%04x", *c++);
        } else {
            fwrite(c, 1, length, out);
            c += length;
        }
    }
    fputc('"', out);
}

/* Writes the path of `file` next to this program's executable, else in
 * `from_bin` relative to it; false if it is in neither. */
static bool find_library(const char *file, const char *from_bin, char *path, size_t size) {
    ssize_t length = readlink("/proc/self/exe", path, size - 1);
    if (length <= 0)
        return false;
    path[length] = '\0';
    char *slash = strrchr(path, '/');
    if (slash == NULL)
        return false;
    size_t folder = (size_t)(slash - path) + 1;
    const char *const places[] = {"", from_bin};
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        int written = snprintf(path + folder, size - folder, "%s%s%s", places[i],
                               places[i][0] != '\0' ? "/" : "", file);
        if (written < 0 || (size_t)written >= size - folder)
            return false;
        if (access(path, R_OK) == 0)
            return true;
    }
    return false;
}

bool tool_preload_open(tool_preload *preload, const char *command, const char *file,
                       const char *from_bin) {
    preload->folder[0] = '\0';
    char library[sizeof preload->path];
    if (!find_library(file, from_bin, library, sizeof library)) {
        fprintf(stderr,
                "buddy %s: %s is neither next to the buddy program nor in %s from its folder\n",
                command, file, from_bin);
        return false;
    }
    if (strpbrk(library, " :") == NULL) {
        memcpy(preload->path, library, sizeof library);
        return true;
    }
    snprintf(preload->folder, sizeof preload->folder, "/tmp/buddy-preload-XXXXXX");
    if (mkdtemp(preload->folder) == NULL) {
        fprintf(stderr, "buddy %s: a folder for a link to %s: %s\n", command, library,
                strerror(errno));
        preload->folder[0] = '\0';
        return false;
    }
    int written = snprintf(preload->path, sizeof preload->path, "%s/%s", preload->folder, file);
    if (written < 0 || (size_t)written >= sizeof preload->path ||
        symlink(library, preload->path) != 0) {
        fprintf(stderr, "buddy %s: a link to %s: %s\n", command, library, strerror(errno));
        tool_preload_close(preload);
        return false;
    }
    return true;
}

void tool_preload_close(const tool_preload *preload) {
    if (preload->folder[0] == '\0')
        return;
    unlink(preload->path);
    rmdir(preload->folder);
}
