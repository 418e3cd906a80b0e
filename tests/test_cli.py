# SPDX-License-Identifier: MIT
"""Table-driven test of the buddy command's arguments, exit codes and messages.

Usage: test_cli.py BUDDY [LAUNCHER...]. Each row runs the command in a scratch
folder and checks its exit code and a pattern in its output; an argument error
must be one line naming the argument and its value, then one line pointing to
--help. Every exit code must be one of the documented ones (0, 1, 2, 3).
"""
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
from xml.etree import ElementTree

CLOUDWU = "a m1 4\na m2 9\na m3 3\na m4 7\nf m3\nf m1\nf m4\nf m2\n"
FILES = {
    "cloudwu.trace": CLOUDWU,
    "a&b<c>.trace": CLOUDWU,  # a title with what XML would read
    # A realloc of an ID whose allocation failed takes its new name (capacity 128, min block 64).
    "failed_realloc.trace": "a x 100\na y 10\nf x\nr y 20 z\nf z\n",
    "control.trace": "a \x01\x7f\xff 5000\n",
    # Overlong forms (\xc0\x80, \xe0\x9f\xbf), a surrogate (\xed\xa0\x80) and the last control byte,
    # then a valid two-byte letter.
    "utf8.trace": "a \xc0\x80\xe0\x9f\xbf\xed\xa0\x80\x1f\xc3\xa9 5000\n",
    # No lead byte 0xf8, the last surrogate, past U+10FFFF; then U+1F600 and U+10FFFF.
    "utf8_bounds.trace": "a \xf8\x90\x80\x80\xed\xbf\xbf\xf4\x90\x80\x80\xf0\x9f\x98\x80"
                         "\xf4\x8f\xbf\xbf 5000\n",
    "kib.trace": "a one 1536\n",
    # Leaves 16 B live at 16 of 64: 48 B free, the largest free block 32.
    "frag.trace": "a x 16\na y 16\na z 16\nf x\nf z\n",
    # 44 operations, 45 samples (the last twice): the table shows every third, and the last.
    "many.trace": "".join(f"a x{i} 1\n" for i in range(22)) + "".join(f"f x{i}\n" for i in range(22)),
    "grow.trace": "a x 16\nr x 32\n",
    "same_id.trace": "a x 10\nr x 20 x\nf x\n",
    "taken_id.trace": "a x 10\na y 10\nr x 20 y\n",
    "decimal.trace": "a one 010\nf one\n",
    # Hand-worked for the report: the ideal best fit needs 176 (x, y) and 160 (the
    # move of x to 80 with y at 64), and does 2 of h3's 3 reallocs in place.
    "h1.trace": "a x 100\na y 50\nf x\na z 40\n",
    "h3.trace": "a x 32\nr x 64\na y 16\nr x 16\nr x 80\n",
    "h4.trace": "a a 64\na x 144\n",
    # Two 32-byte holes, at 16 and 80: x takes the lower (address order), so the free of C
    # lets it grow in place to 48 at capacity 128; in the upper hole, F would block it.
    "h5.trace": "a A 16\na B 32\na C 16\na D 16\na E 32\na F 16\nf B\nf E\na x 16\nf C\nr x 48\n",
    # A freed block joins the free extent after it: C fits in the 64 bytes A and B held.
    "h6.trace": "a A 32\na B 32\nf B\nf A\na C 64\n",
    "aligned.trace": "a x 80 64\n",
    "other.json": '{"schema": "buddy-replay/1"}',
    "no_schema.json": '{"capacity": 64, "min_block_size": 16, "blocks": [{"offset": 0, "size": 64, "state": "free"}]}',
    "escaped.json": '{"schema": "buddy-range/1", "note": "a \\"quoted\\" word", "capacity": 64, '
                    '"min_block_size": 16, "blocks": [{"offset": 0, "size": 64, "state": "free"}]}',
    "no_map.json": '{"schema": "buddy-range/1", "capacity": 64, "min_block_size": 16}',
    "not_gzip.trace.gz": "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03not deflate data",  # a broken gzip
    "gap.json": '{"schema": "buddy-range/1", "capacity": 64, "min_block_size": 16, "blocks": '
                '[{"offset": 0, "size": 16, "state": "free"}, {"offset": 32, "size": 32, "state": "live"}]}',
    "empty_block.json": '{"schema": "buddy-range/1", "capacity": 64, "min_block_size": 16, "blocks": '
                        '[{"offset": 0, "size": 0, "state": "free"}, {"offset": 0, "size": 64, "state": "free"}]}',
    "short.json": '{"schema": "buddy-range/1", "capacity": 64, "min_block_size": 16, "blocks": '
                  '[{"offset": 0, "size": 32, "state": "free"}]}',
    "deep.json": '{"schema": "buddy-range/1", "extra": ' + "[" * 40 + "]" * 40 + ', "capacity": 64, '
                 '"min_block_size": 16, "blocks": [{"offset": 0, "size": 64, "state": "free"}]}',
    "reserved.json": '{"schema": "buddy-range/1", "capacity": 128, "min_block_size": 16, "blocks": '
                     '[{"offset": 0, "size": 64, "state": "reserved"}, {"offset": 64, "size": 64, "state": "free"}]}',
    "not_decimal.trace": "a one 08\n",
    "hex.trace": "a one 0x10\n",
    "five_words.trace": "a x 5 64 extra\n",
    "free_two.trace": "a x 5\nf x y\n",
    "huge.trace": "a one 18446744073709551616\n",
    "max.trace": "a one 18446744073709551615\n",
    "nul.trace": "a one 10\x00 ignored\n",
    "comment.trace": "a one 10 # a comment after the operation\nf one#another\n",
    "long.trace": "a one 10" + " " * 600 + "\n# " + "c" * 5000 + "\nf one\n",
    "long_id.trace": "a " + "i" * 64 + " 10\n",
    "bad_align.trace": "a one 10 3\n",
    # 32 bytes free at capacity 64, in two 16-byte holes that are not buddies: fragmentation.
    "holes.trace": "a A 16\na B 16\na C 16\na D 16\nf B\nf C\na E 32\n",
    # The free of an ID whose allocation failed frees nothing (capacity 64).
    "failed_free.trace": "a A 16\na B 1000\nf B\n",
    "tiny.trace": "a x 1\n",
    # 2^28 min blocks of 16 bytes hold it in one extent, but not a run that starts aligned
    # (exact) or at a multiple of 2 (packed) after the first min block.
    "edge.trace": "a a 16\na b 4294967280\n",
}
USAGE_TAIL = r"\nTry 'buddy( \w+)? --help' for more\.\n$"


def header_version():
    """The version that include/buddy.h defines."""
    header = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "include", "buddy.h")
    with open(header) as f:
        parts = dict(re.findall(r"^#define BUDDY_VERSION_(\w+) (\d+)$", f.read(), re.M))
    return f"{parts['MAJOR']}.{parts['MINOR']}.{parts['PATCH']}"


# (arguments, exit code, pattern that the output must match: stdout on exit 0,
# stderr on exit 2, both else; what it checks)
ROWS = [
    (["replay", "--capacity", "32MiB", "cloudwu.trace"], 0, r"capacity 33554432,", "MiB"),
    (["replay", "--capacity", "100MB", "cloudwu.trace"], 0, r"capacity 100000000,", "MB is 10^6"),
    (["replay", "--capacity", "32m", "cloudwu.trace"], 0, r"capacity 33554432,", "any case"),
    (["replay", "--capacity=32M", "cloudwu.trace"], 0, r"capacity 33554432,", "--name=value"),
    (["replay", "--capacity", "1KB", "--min-block", "8", "cloudwu.trace"], 0, r"capacity 1000,", "KB"),
    (["replay", "--capacity", "0100", "--min-block", "1", "cloudwu.trace"], 0, r"capacity 100,",
     "never octal"),
    (["replay", "--policy", "best-fit", "cloudwu.trace"], 0, r"best_fit", "policy alias"),
    (["replay", "--policy", "best_fit", "cloudwu.trace"], 0, r"best_fit", "policy spelling"),
    (["replay", "--policy=first", "cloudwu.trace"], 0, r"first_fit", "policy alias"),
    (["replay", "--capacity", "32Q", "cloudwu.trace"], 2, r"^buddy replay: --capacity '32Q' has an unknown unit",
     "bad unit"),
    (["replay", "--capacity", "0x10", "cloudwu.trace"], 2, r"^buddy replay: --capacity '0x10' has an unknown unit",
     "no hexadecimal"),
    (["replay", "--capacity", "18446744073709551616", "cloudwu.trace"], 2,
     r"^buddy replay: --capacity '18446744073709551616' is above 2\^64-1", "no clamping"),
    (["replay", "--capacity", "17179869184G", "cloudwu.trace"], 2, r"is above 2\^64-1", "unit overflow"),
    (["replay", "--capacity", "-5", "cloudwu.trace"], 2, r"--capacity '-5' is not a size", "sign"),
    (["replay", "--policy", "worst", "cloudwu.trace"], 2,
     r"^buddy replay: --policy 'worst' is not a policy \(expected best_fit, first_fit, exact or packed", "bad policy"),
    (["replay", "--policy", "exact", "--capacity", "128", "--min-block", "64", "failed_realloc.trace"], 0,
     r"range, capacity 128, min block 64, exact\n.*failed allocations 1", "exact runs"),
    (["replay", "--policy", "packed", "--heap", "--min-block", "16", "h4.trace"], 0,
     r"heap, capacity .*, packed\n(.*\n)*.*taken by blocks +208 B", "packed heap"),
    (["replay", "--policy", "exact", "--min-block", "16", "aligned.trace"], 0,
     r"taken by blocks +80 B", "an aligned request is an exact run too"),
    (["replay", "--policy", "packed", "--min-block", "16", "aligned.trace"], 0,
     r"taken by blocks +80 B", "and a packed one"),
    (["replay", "--policy=exact", "--min-block", "1", "decimal.trace"], 0,
     r"requested by the trace +10 B.*\n.*taken by blocks +10 B", "exact: 10 units take 10"),
    (["replay", "--min-block", "1", "decimal.trace"], 0,
     r"requested by the trace +10 B.*\n.*taken by blocks +16 B", "best fit: 10 units take 16"),
    (["replay", "--policy", "exact", "--heap", "--min-block", "16", "decimal.trace"], 0,
     r"requested by the trace +10 B.*\n.*taken by blocks +16 B", "exact heap: one min block"),
    (["replay", "--policy", "exact", "--heap", "--min-block", "16", "h4.trace"], 0,
     r"heap, capacity .*, exact\n(.*\n)*.*taken by blocks +208 B", "exact heap: 144 bytes take 144"),
    (["replay", "--frob", "cloudwu.trace"], 2, r"^buddy replay: unknown option '--frob' \(options: --capacity",
     "unknown option"),
    (["replay", "cloudwu.trace", "--capacity"], 2, r"^buddy replay: --capacity needs a value", "missing value"),
    (["replay", "--heap=yes", "cloudwu.trace"], 2, r"^buddy replay: --heap takes no value \(got 'yes'\)", "flag value"),
    (["replay"], 2, r"^buddy replay: TRACE is missing", "no trace"),
    (["replay", "a.trace", "b.trace"], 2, r"^buddy replay: unexpected argument 'b.trace'", "two traces"),
    (["replay", "--min-block", "3", "cloudwu.trace"], 2, r"^buddy replay: --min-block 3 is not a power of two",
     "min block"),
    (["replay", "--capacity", "8", "cloudwu.trace"], 2, r"^buddy replay: --capacity 8 is below the min block",
     "tiny capacity"),
    (["replay", "--every", "0", "cloudwu.trace"], 2, r"--every '0' must be at least 1", "every"),
    (["replay", "--step", "cloudwu.trace"], 2, r"--step needs a range", "step on a large range"),
    (["replay", "--step", "--capacity", "32K", "cloudwu.trace"], 2, r"--step needs a range",
     "step on 2048 min blocks"),
    (["replay", "--step", "--capacity", "16K", "cloudwu.trace"], 0, r"^a m1 +4 +\(", "step on 1024"),
    (["replay", "--step", "--heap", "--capacity", "1K", "cloudwu.trace"], 2, r"--step needs a range \(not --heap\)",
     "step on a heap"),
    (["replay", "--heap", "--capacity", "9223372036854775808", "cloudwu.trace"], 2,
     r"^buddy replay: --capacity 9223372036854775808 is too large .*with --heap, half the address space",
     "a heap of half the address space"),
    (["replay", "--capacity", "64", "holes.trace"], 0, r"first failure at line 7: 'a E 32': too fragmented",
     "free bytes that are the request's, in holes"),
    (["replay", "--policy", "exact", "--capacity", "64", "holes.trace"], 0,
     r"first failure at line 7: 'a E 32': too fragmented", "exact: the same"),
    (["replay", "--capacity", "64", "failed_free.trace"], 0, r"at the end: live blocks 1,",
     "the free of a failed allocation"),
    (["replay", "--heap", "max.trace"], 0, r"first failure at line 1: .*larger than the largest block",
     "heap: 2^64-1 is too large"),
    (["replay", "no_such.trace"], 2, r"^buddy replay: TRACE 'no_such.trace': No such file", "missing file"),
    (["replay", "."], 2, r"^buddy replay: TRACE '.': Is a directory", "a directory"),
    (["draw", "."], 2, r"^buddy draw: TRACE '.': Is a directory", "a directory"),
    (["draw", "--json", "cloudwu.trace"], 2, r"^buddy draw: unknown option '--json'", "draw has no json"),
    (["report"], 2, r"^buddy report: TRACE is missing", "report without a trace"),
    (["report", "--min-block", "16", "h1.trace"], 0,
     r"^  best_fit +192 B +1\.280x +42 B +0 B +0$.*^  ideal_best_fit +176 B +1\.173x +26 B +0 B +0$"
     r"\n  exact / ideal best fit: 1\.091x$", "the text card, hand-worked"),
    (["report", "--min-block", "3", "h1.trace"], 2, r"^buddy report: --min-block 3 is not a power of two",
     "report min block"),
    (["report", "--min-block", "2T", "h1.trace"], 2,
     r"^buddy report: --min-block 2199023255552 is not a power of two up to 1 TiB", "report min block past 1 TiB"),
    (["report", "tiny.trace"], 0, r"^  best_fit +16 B +16\.000x +15 B +0 B +0$", "a trace that one min block serves"),
    (["report", "max.trace"], 0, r"^  exact +none up to 2\^28 min blocks$", "report: no capacity serves"),
    (["report", "--json", "max.trace"], 0, r'\{"policy": "exact", "smallest_capacity": null\}',
     "report --json: no capacity serves"),
    (["report", "edge.trace"], 0, r"^  packed +none .*\n  ideal_best_fit +4 GiB +1\.000x +0 B +0 B +0\n\Z",
     "no exact / ideal ratio without an exact capacity"),
    (["report", "--frob", "h1.trace"], 2, r"^buddy report: unknown option '--frob' \(options: --min-block, --json\)",
     "report option"),
    (["report", "h1.trace", "no_such.trace"], 2, r"^buddy report: TRACE 'no_such.trace': No such file", "report file"),
    (["report", "hex.trace"], 3, r"hex.trace:1: SIZE '0x10' is not a decimal number", "report bad trace"),
    (["report", "not_gzip.trace.gz"], 2, r"^buddy report: TRACE 'not_gzip.trace.gz': (not a gzip file, or cut short|this build reads no gzip)",
     "a broken gzip"),
    (["draw", "--dump", "no_such.json"], 2, r"^buddy draw: --dump 'no_such.json': No such file", "missing dump"),
    (["draw", "--dump=no_such.json"], 2, r"^buddy draw: --dump 'no_such.json': No such file", "--dump=FILE"),
    (["draw", "--step", "--capacity", "1K", "cloudwu.trace"], 2, r"^buddy draw: --step is for buddy replay, not draw",
     "draw has no step"),
    (["draw", "--dump"], 2, r"^buddy draw: --dump needs a value", "dump without a file"),
    (["draw", "--dump", "x.json", "--capacity", "64"], 2, r"^buddy draw: unknown option '--capacity' \(options: with --dump: --out\)",
     "dump and replay options"),
    (["draw", "--dump", "decimal.trace"], 3, r"^buddy draw: decimal.trace: not a range dump: not a JSON object", "not JSON"),
    (["draw", "--dump", "other.json"], 3, r"^buddy draw: other.json: not a range dump: its schema is not buddy-range/1",
     "another schema"),
    (["draw", "--dump", "no_schema.json"], 3, r"not a range dump: it has no schema", "no schema"),
    (["draw", "--dump", "escaped.json", "--out", "e.svg"], 0, r"wrote e.svg", "an escaped quote in a string"),
    (["draw", "--dump", "no_map.json"], 3, r"not a range dump: it has no block map", "no map"),
    (["draw", "--dump", "gap.json"], 3, r"not a range dump: its blocks do not tile the capacity", "a gap"),
    (["draw", "--dump", "empty_block.json"], 3, r"not a range dump: its blocks do not tile the capacity",
     "a block of size 0"),
    (["draw", "--dump", "short.json"], 3, r"not a range dump: its blocks do not cover the capacity", "a short map"),
    (["draw", "--dump", "deep.json", "--out", "deep.svg"], 3, r"not a range dump: a value was expected",
     "nested over 32 deep"),
    (["replay", "--every", "1", "--min-block", "1", "many.trace"], 0,
     r"^ +40 +4 .*\n +44 +0 +1048576 +1048576 +0\.000\n", "the table ends with the last sample"),
    (["replay", "--heap", "--min-block", "16", "grow.trace"], 0, r"resizes 1 \(1 in place\)",
     "heap realloc in place"),
    (["replay", "same_id.trace"], 0, r"operations 3: allocations 1, frees 1, resizes 1 \(1 in place\)",
     "a NEWID that is the ID"),
    (["replay", "taken_id.trace"], 3, r"taken_id.trace:3: 'y' is already live: free it first",
     "a NEWID that is live"),
    (["replay", "--heapy", "cloudwu.trace"], 2, r"^buddy replay: unknown option '--heapy'", "an option's prefix"),
    (["replay", "--min-block", "512", "kib.trace"], 0, r"requested by the trace +1\.5 KiB +1\.5 KiB\n.*2 KiB",
     "sizes that are not whole"),
    (["replay", "--capacity", "128", "--min-block", "64", "failed_realloc.trace"], 0,
     r"failed allocations 1\n.*first failure at line 2: 'a y 10'.*\n.*smallest capacity that serves the trace: 192",
     "realloc of a failed ID"),
    (["replay", "decimal.trace"], 0, r"requested by the trace +10 B", "010 is ten"),
    (["replay", "not_decimal.trace"], 0, r"requested by the trace +8 B", "08 is eight"),
    (["replay", "hex.trace"], 3, r"hex.trace:1: SIZE '0x10' is not a decimal number", "no hex in traces"),
    (["replay", "five_words.trace"], 3, r"five_words.trace:1: expected 'a ID SIZE \[ALIGN\]'", "a fifth word"),
    (["replay", "free_two.trace"], 3, r"free_two.trace:2: expected 'f ID'", "a free of two IDs"),
    (["replay", "huge.trace"], 3, r"huge.trace:1: SIZE '18446744073709551616' is not a decimal number from 0 to 2\^64-1",
     "no clamping in traces"),
    (["replay", "max.trace"], 0, r"failed allocations 1\n.*larger than the largest block.*\n.*no capacity up to 4294967296 serves", "2^64-1 is a size"),
    (["replay", "nul.trace"], 3, r"nul.trace:1: a NUL byte in the line", "NUL"),
    (["replay", "comment.trace"], 0, r"operations 2:", "comment after an operation"),
    (["replay", "long.trace"], 0, r"operations 2:", "long lines"),
    (["replay", "long_id.trace"], 3, r"long_id.trace:1: an ID has at most 63 characters", "long ID"),
    (["replay", "bad_align.trace"], 3, r"bad_align.trace:1: ALIGN 3 is not a power of two", "alignment"),
    (["replay", "--help"], 0, r"r ID SIZE \[NEWID\]", "help names NEWID"),
    (["record", "--help"], 0, r"valloc and pvalloc", "record help"),
    (["run", "--help"], 0, r"libbuddy_malloc.so preloaded", "run help"),
    (["shared", "--help"], 0, r"buddy shared create --capacity SIZE", "shared help"),
    (["shared"], 2, r"^buddy shared: the verb is missing", "shared without a verb"),
    (["shared", "frob", "x"], 2, r"^buddy shared: 'frob' is not create, stat, check, recover or draw",
     "shared unknown verb"),
    (["shared", "create", "x.seg"], 2, r"^buddy shared: create needs --capacity SIZE and FILE",
     "shared create without a capacity"),
    (["shared", "stat", "/nonexistent/segment"], 1, r"^buddy shared: '/nonexistent/segment': ",
     "shared stat of a missing file"),
    (["shared", "draw", "x.seg"], 2, r"^buddy shared: draw needs FILE and --out FILE.svg",
     "shared draw without --out"),
    (["run"], 2, r"^buddy run: PROGRAM is missing", "run without a program"),
    (["run", "--"], 2, r"^buddy run: PROGRAM is missing", "run with nothing after --"),
    (["shared", "create", "--capacity", "1K", "--min-block", "2K", "x.seg"], 2,
     r"^buddy shared: --capacity 1024 with --min-block 2048 makes no range", "create of no range"),
    (["run", "--arena-size", "3", "--", "true"], 2, r"^buddy run: --arena-size '3' is not from 1M to 1G",
     "run arena size"),
    (["run", "--arena-size", "2G", "--", "true"], 2, r"^buddy run: --arena-size '2G' is not from 1M to 1G",
     "run arena size above 1G"),
    (["run", "--invalid-free", "maybe", "--", "true"], 2,
     r"^buddy run: --invalid-free 'maybe': expected abort or count", "run invalid-free"),
    (["run", "--fast", "--", "true"], 2, r"^buddy run: unknown option '--fast'", "run unknown option"),
    (["record"], 2, r"^buddy record: PROGRAM is missing", "record without a program"),
    (["record", "--output"], 2, r"^buddy record: --output needs a value", "record --output"),
    (["record", "--output", "no/such/folder/t", "--", "true"], 2, r"^buddy record: --output 'no/such/folder/t': ",
     "record output"),
    (["sizes", "--capacity", "1GiB", "--min-block", "64"], 0, r"1073741824 +64 +16777216", "sizes units"),
    (["sizes"], 0, r"\A(?:[^\n]*\n){24}^ +1099511627776 +4096 +268435456 +102539272 +3\.056\n\Z",
     "sizes' default grid: 6 capacities by 4 min blocks, up to 1 TiB"),
    (["sizes", "--capacity", "1K", "--min-block", "4096"], 0,
     r"^ +1024 +4096 +- +impossible +-$", "a capacity below the min block is impossible"),
    (["sizes", "-h"], 0, r"^usage: buddy sizes", "-h is --help"),
    (["replay", "--capacity", "64", "--min-block", "16", "frag.trace"], 0,
     r"^ +5 +16 +48 +32 +0\.333$", "a sample's largest free block"),
    (["replay", "--capacity", "64", "--write-dump", "/dev/full", "frag.trace"], 1,
     r"^buddy: /dev/full: cannot write the dump$", "a dump that cannot be written"),
    (["sizes", "--capacity", "1e9"], 2, r"^buddy sizes: --capacity '1e9' has an unknown unit", "sizes"),
    (["sizes", "--capacity", "99999999999999999999"], 2, r"is above 2\^64-1", "sizes overflow"),
    (["sizes"] + ["--min-block", "64"] * 32 + ["--capacity", "1K"] * 33, 2,
     r"^buddy sizes: at most 32 values of --capacity", "sizes takes 32 of each"),
    (["sizes", "--frob"], 2, r"^buddy sizes: unknown option '--frob' \(options: --capacity, --min-block\)",
     "sizes option"),
    (["demo", "--out"], 2, r"^buddy demo: --out needs a value", "demo"),
    (["demo", "extra"], 2, r"^buddy demo: unexpected argument 'extra'", "demo argument"),
    (["demo", "-"], 2, r"^buddy demo: unexpected argument '-'", "a lone dash is an argument"),
    (["frob"], 2, r"^buddy: unknown command 'frob' \(commands: demo", "unknown command"),
    ([], 2, r"^buddy: COMMAND is missing", "no command"),
    (["--version"], 0, rf"^buddy {re.escape(header_version())}\n$", "version"),
    (["--help"], 0, r"^usage: buddy COMMAND .*^  shared +makes and inspects", "help"),
]


def run(command, arguments, folder):
    done = subprocess.run(command + arguments, cwd=folder, capture_output=True, timeout=120)
    return done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")


def check_json(command, folder):
    """--json escapes every string: a trace with control and non-UTF-8 bytes."""
    code, out, err = run(command, ["replay", "--json", "--capacity", "4096", "--min-block", "1",
                                   "control.trace"], folder)
    report = json.loads(out)
    assert code == 0, err
    assert report["schema"] == "buddy-replay/1", report
    assert report["first_failure"]["what"].startswith("'a \x01\x7f\ufffd 5000'"), report
    assert report["failed_allocations"] == 1 and report["smallest_capacity"] == 8192, report
    assert report["requested"] == {"peak": 0, "end": 0}, report
    code, out, err = run(command, ["replay", "--json", "--capacity", "4096", "--min-block", "1",
                                   "utf8.trace"], folder)
    what = json.loads(out)["first_failure"]["what"]
    assert code == 0 and what.startswith("'a " + "\ufffd" * 8 + "\x1f\u00e9 5000'"), what
    assert "\ufffd" not in out, out  # each escaped: no byte that is not UTF-8 came out as it was
    code, out, err = run(command, ["replay", "--json", "--capacity", "4096", "--min-block", "1",
                                   "utf8_bounds.trace"], folder)
    what = json.loads(out)["first_failure"]["what"]
    assert code == 0 and what.startswith("'a " + "\ufffd" * 11 + "\U0001f600\U0010ffff 5000'"), what
    assert "\ufffd" not in out, out


def check_dump(command, folder):
    """a dump: replay --write-dump writes the library's, --json ends with it, draw --dump draws it."""
    code, out, err = run(command, ["replay", "--json", "--capacity", "128", "--min-block", "16",
                                   "--write-dump", "d.json", "not_decimal.trace"], folder)
    assert code == 0, err
    end = json.loads(out)["end"]
    assert end["schema"] == "buddy-range/1" and end["allocated"] == 16 and "blocks" not in end, end
    with open(os.path.join(folder, "d.json"), encoding="utf-8") as f:
        dump = json.load(f)
    assert {k: v for k, v in dump.items() if k != "blocks"} == end, dump
    assert dump["blocks"][0] == {"offset": 0, "size": 16, "state": "live"}, dump
    assert sum(block["size"] for block in dump["blocks"]) == 128, dump
    code, out, err = run(command, ["draw", "--dump", "d.json", "--out", "d.svg"], folder)
    assert code == 0 and "wrote d.svg" in out, err
    with open(os.path.join(folder, "d.svg"), encoding="utf-8") as f:
        svg = f.read()
    assert "1 live blocks: 16 B; free 112 B" in svg and "reserved" in svg, svg[:500]
    code, out, err = run(command, ["draw", "--dump", "reserved.json", "--out", "r.svg"], folder)
    with open(os.path.join(folder, "r.svg"), encoding="utf-8") as f:
        svg = f.read()
    assert code == 0 and 'height="36.00" fill="#6b6b6b"' in svg, err  # in the map, not the legend


def check_report(command, folder):
    """report: the hand-worked card, and a gzip trace reads as the plain one."""
    code, out, err = run(command, ["report", "--json", "--min-block", "16", "h1.trace", "h3.trace"],
                         folder)
    assert code == 0, err
    card = json.loads(out)
    assert card["schema"] == "buddy-report/1", card
    h1, h3 = ({p["policy"]: p for p in t["policies"]} for t in card["traces"])
    assert card["traces"][0]["requested_peak"] == 150 and card["traces"][1]["reallocs"] == 3, card
    assert h1["ideal_best_fit"]["smallest_capacity"] == 176, h1
    assert h1["best_fit"]["smallest_capacity"] == 192 and h1["exact"]["smallest_capacity"] == 192, h1
    assert h3["ideal_best_fit"]["smallest_capacity"] == 160, h3
    assert h3["ideal_best_fit"]["reallocs_in_place"] == 2, h3
    # 9 min blocks after 4: an exact run waits for a multiple of 8 (at 128 B: 272 B), a packed
    # one starts at 64 B, once the capacity holds a block of 9 min blocks or more (256 B).
    code, out, err = run(command, ["report", "--json", "h4.trace"], folder)
    h4 = {p["policy"]: p for p in json.loads(out)["traces"][0]["policies"]}
    assert code == 0 and h4["exact"]["smallest_capacity"] == 272, h4
    assert h4["packed"]["smallest_capacity"] == 256 and h4["ideal_best_fit"]["smallest_capacity"] == 208, h4
    code, out, err = run(command, ["report", "--json", "--min-block", "16", "h5.trace", "h6.trace"],
                         folder)
    h5, h6 = (t["policies"][-1] for t in json.loads(out)["traces"])
    assert code == 0 and h5["policy"] == h6["policy"] == "ideal_best_fit", out
    assert h5["smallest_capacity"] == 128 and h5["reallocs_in_place"] == 1, h5
    assert h6["smallest_capacity"] == 64, h6
    # 1,000 blocks of sizes a fixed generator picks, freed in a scrambled order: each free must
    # find its block in the ideal's table of live blocks, or the block of all their bytes at the
    # end would not fit the capacity that held them.
    state, sizes = 7, []
    for _ in range(1000):
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        sizes.append(16 * (1 + (state >> 33) % 100))
    with open(os.path.join(folder, "churn.trace"), "w", encoding="ascii") as f:
        f.write("".join(f"a x{i} {size}\n" for i, size in enumerate(sizes)) +
                "".join(f"f x{i * 7919 % 1000}\n" for i in range(1000)) + f"a all {sum(sizes)}\n")
    code, out, err = run(command, ["report", "--json", "--min-block", "16", "churn.trace"], folder)
    churn = {p["policy"]: p for p in json.loads(out)["traces"][0]["policies"]}
    assert code == 0 and churn["ideal_best_fit"]["smallest_capacity"] == sum(sizes), churn
    with open(os.path.join(folder, "h1.trace"), "rb") as plain:
        with gzip.open(os.path.join(folder, "h1.trace.gz"), "wb") as packed:
            packed.write(plain.read())
    code, packed_out, err = run(command, ["report", "--json", "--min-block", "16", "h1.trace.gz"],
                                folder)
    if "this build reads no gzip" in err:
        print("report: this build reads no gzip (no zlib for its target); that part is skipped")
        return
    assert code == 0, err
    assert json.loads(packed_out)["traces"][0]["policies"] == card["traces"][0]["policies"], packed_out


def check_demo(command, folder):
    """demo: the churn's statistics agree: its free blocks, one count per order up to the largest
    block of 2^14 min blocks, add up to the free bytes, and the fragmentation follows from them.
    The churn is what it says: no failure, about half of the 1 MiB live at the end, sizes that
    are not powers of two (so rounding wastes some), and the metadata's bits per min block."""
    code, out, err = run(command, ["demo", "--out", "demo.svg"], folder)
    assert code == 0, err
    assert re.search(r"^   alloc failures 0, rejected frees 0$", out, re.M), out
    live_kib = float(re.search(r"^  requested by the trace +[\d.]+ KiB +([\d.]+) KiB$", out,
                               re.M).group(1))
    waste = float(re.search(r"^  rounding waste +([\d.]+)%", out, re.M).group(1))
    assert 0.4 * 1024 < live_kib < 0.6 * 1024 and waste > 10, (live_kib, waste)
    metadata, bits = re.search(r"^   metadata (\d+) bytes \(([\d.]+) bits per min block\)", out,
                               re.M).groups()
    assert bits == f"{int(metadata) * 8 / (1 << 14):.2f}", (metadata, bits)
    free = int(re.search(r"^   live blocks \d+, allocated \d+, free (\d+),", out, re.M).group(1))
    largest, fragmentation = re.search(
        r"^   largest free block (\d+) \(external fragmentation ([\d.]+)\)", out, re.M).groups()
    per_order = re.search(r"^   free blocks per order:((?: \d+)+)$", out, re.M).group(1)
    counts = [int(n) for n in per_order.split()]
    assert len(counts) == 15 and sum(n * 64 << k for k, n in enumerate(counts)) == free, counts
    assert fragmentation == f"{1 - int(largest) / free:.3f}", (largest, fragmentation)


def check_picture(command, folder):
    """draw: a legend in block sizes, axes with units, failures marked, waste drawn pale."""
    code, out, err = run(command, ["draw", "--capacity", "128", "--min-block", "64",
                                   "failed_realloc.trace", "--out", "p.svg"], folder)
    assert code == 0, err
    assert "failed allocations 1" in out and "smallest capacity that serves the trace: 192" in out, out
    with open(os.path.join(folder, "p.svg"), encoding="utf-8") as f:
        svg = f.read()
    for expected in ("Colour = block size", ">64 B<", ">128 B<", "free block", "address (units)",
                     "time (operations of the trace)", "rounding waste 21.9%", "1 allocations failed",
                     'stroke="#d62728"', "60%,86%", "The buddy tree"):
        assert expected in svg, expected
    # Each block is its pale whole, then its solid requested part: along the address in the
    # map (36 high), along the address axis (down) in the lives. h1 ends with y and z live,
    # 50 and 40 bytes in blocks of 64; x lived in 128 with 100.
    code, out, err = run(command, ["draw", "--capacity", "256", "--min-block", "16", "h1.trace",
                                   "--out", "h1.svg"], folder)
    with open(os.path.join(folder, "h1.svg"), encoding="utf-8") as f:
        h1_svg = f.read()
    parts = re.findall(r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" '
                       r'fill="hsl\((\d+),60%,86%\)"/>\n<rect x="\1" y="\2" width="([\d.]+)" '
                       r'height="([\d.]+)" fill="hsl\(\5,55%,50%\)"/>', h1_svg)
    in_map = sorted(round(float(sw) / float(w), 3) for _, _, w, h, _, sw, sh in parts if h == "36.00")
    in_lives = sorted(round(float(sh) / float(h), 2)
                      for _, _, w, h, _, sw, sh in parts if h != "36.00")
    assert code == 0 and in_map == [0.625, 0.781] and in_lives == [0.62, 0.78, 0.78], (in_map, in_lives)
    # The tree of h1's end, from the root down: split (white), then [0, 128) free and [128, 256)
    # split, then y and z live, in their colour.
    tree = {(x, y, w, "live" if fill.startswith("hsl") else fill) for x, y, w, fill in
            re.findall(r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="22.00" '
                       r'fill="([^"]+)"', h1_svg)}
    assert tree == {("84.00", "238.00", "856.00", "#fff"), ("84.00", "260.00", "428.00", "#e6e6e6"),
                    ("512.00", "260.00", "428.00", "#fff"), ("512.00", "282.00", "214.00", "live"),
                    ("726.00", "282.00", "214.00", "live")}, tree
    # At most 20,000 lives are drawn (two rectangles each): here every fourth of 60,000.
    with open(os.path.join(folder, "lives.trace"), "w", encoding="ascii") as f:
        f.write("".join(f"a x{i} 1\nf x{i}\n" for i in range(60000)))
    code, out, err = run(command, ["draw", "--capacity", "1K", "--min-block", "1", "lives.trace",
                                   "--out", "lives.svg"], folder)
    with open(os.path.join(folder, "lives.svg"), encoding="utf-8") as f:
        rectangles = f.read().count("<rect")
    assert code == 0 and 30000 <= rectangles <= 2 * 20000 + 100, (err, rectangles)
    code, out, err = run(command, ["draw", "a&b<c>.trace", "--out", "amp.svg"], folder)
    assert code == 0, err
    for picture in ("p.svg", "h1.svg", "amp.svg"):  # XML an SVG reader takes, all in its height
        root = ElementTree.parse(os.path.join(folder, picture)).getroot()
        lowest = max(float(e.get("y", 0)) + float(e.get("height", 0)) for e in root.iter()
                     if e.tag.endswith(("rect", "text")) and "%" not in e.get("height", ""))
        assert lowest <= float(root.get("height")), (picture, lowest, root.get("height"))


def main():
    command = sys.argv[2:] + [os.path.abspath(sys.argv[1])]
    passed = failed = 0
    with tempfile.TemporaryDirectory() as folder:
        for name, text in FILES.items():
            with open(os.path.join(folder, name), "wb") as f:
                f.write(text.encode("latin-1"))
        for arguments, code, pattern, what in ROWS:
            got, out, err = run(command, arguments, folder)
            problems = []
            if got != code:
                problems.append(f"exit {got}, expected {code}")
            if got not in (0, 1, 2, 3):
                problems.append(f"exit {got} is not a documented exit code")
            seen = out if code == 0 else err if code == 2 else out + err
            if not re.search(pattern, seen, re.S | re.M):
                problems.append(f"no match for {pattern!r}")
            if code == 2 and not re.search(r"^[^\n]*" + USAGE_TAIL, err):
                problems.append("a usage error is not one line plus a pointer to --help")
            if problems:
                failed += 1
                print(f"FAIL {what}: buddy {' '.join(arguments)}: {'; '.join(problems)}\n"
                      f"  stdout: {out[:300]!r}\n  stderr: {err[:300]!r}")
            else:
                passed += 1
        for check in (check_json, check_dump, check_report, check_demo, check_picture):
            try:
                check(command, folder)
                passed += 1
            except (AssertionError, ValueError, KeyError, TypeError, OSError,
                    ElementTree.ParseError) as error:
                failed += 1
                print(f"FAIL {check.__doc__.split(':')[0]}: {error!r}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
