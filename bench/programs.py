#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Real programs from Debian, timed on glibc's malloc, jemalloc, mimalloc and
libbuddy_malloc.so (power-of-two and exact sizing), side by side in one run.

Each workload runs RUNS times per allocator, interleaved (one run of each
allocator in turn), and the table gives the median wall time, its ratio to
glibc's, and the median peak RSS of the largest process (ru_maxrss of the
waited-for processes, measured in a fresh child per run).

    python3 bench/programs.py BUILD_DIR [--runs N] [--only NAME]
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
LIBDIR = "/usr/lib/x86_64-linux-gnu"

SQL = """
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER, amount REAL, note TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)
INSERT INTO orders SELECT i, (i * 7919) % 5000, (i * 31) % 1000 / 7.0,
  printf('order %d of %d', i, (i * 7919) % 5000) FROM n;
CREATE INDEX by_customer ON orders(customer);
SELECT customer, count(*), round(avg(amount), 3) FROM orders GROUP BY customer ORDER BY 3 DESC LIMIT 5;
UPDATE orders SET note = note || ' (paid)' WHERE amount > 100;
DELETE FROM orders WHERE customer % 3 = 0;
SELECT count(*), sum(length(note)) FROM orders;
"""

PYTHON_SCRIPT = """
import json, random, collections
random.seed(7)
words = [''.join(random.choice('abcdefghij') for _ in range(random.randint(3, 12)))
         for _ in range(200000)]
counts = collections.Counter(words)
tree = {w: {'n': n, 'tags': [w[:2], w[-2:]] * 3} for w, n in counts.items()}
text = json.dumps(tree)
back = json.loads(text)
print(len(counts), len(text), sum(v['n'] for v in back.values()))
"""


def workloads(work):
    with open(os.path.join(work, "load.sql"), "w") as f:
        f.write(SQL)
    with open(os.path.join(work, "script.py"), "w") as f:
        f.write(PYTHON_SCRIPT)
    with open(os.path.join(work, "lines.txt"), "w") as f:
        for i in range(1, 600001):
            f.write("%d line %d\n" % ((i * 2654435761) % 1000003, i))
    include = ["-I", os.path.join(SOURCE, "include"), "-I", os.path.join(SOURCE, "src", "common"),
               "-I", os.path.join(SOURCE, "src", "range")]
    return [
        ("sqlite3", "300,000 rows: insert, index, group, update, delete (sqlite3 3.40)",
         ["sqlite3", ":memory:", ".read load.sql"], {}),
        ("python3", "a Counter of 200,000 words, a dict of them, a JSON round trip",
         ["/usr/bin/python3", "script.py"], {}),
        ("python3 malloc", "the same with every object from malloc (PYTHONMALLOC=malloc)",
         ["/usr/bin/python3", "script.py"], {"PYTHONMALLOC": "malloc"}),
        ("gcc", "gcc 12 -O2 -c of src/range/range.c (the driver, cc1 and as)",
         ["gcc", "-O2", "-c", "-o", "range.o"] + include + [os.path.join(SOURCE, "src/range/range.c")],
         {}),
        ("sort, 4 threads", "sort --parallel=4 of 600,000 lines by two keys (coreutils 9.1)",
         ["sort", "--parallel=4", "-S", "16M", "-k1,1n", "-k3,3n", "-o", "sorted.txt", "lines.txt"],
         {}),
        ("xz, 2 threads", "xz -T2 -6 of the same 12 MB of lines (xz 5.4)",
         ["xz", "-T2", "-6", "-k", "-f", "lines.txt"], {}),
    ]


def allocators(build):
    found = [("glibc", None, {})]
    for name, path in (("jemalloc", LIBDIR + "/libjemalloc.so.2"),
                       ("mimalloc", LIBDIR + "/libmimalloc.so.2")):
        if os.path.exists(path):
            found.append((name, path, {}))
        else:
            print("(no %s: %s is not installed)" % (name, path))
    buddy = os.path.join(build, "libbuddy_malloc.so")
    if not os.path.exists(buddy):
        sys.exit("no %s: build the project first" % buddy)
    found.append(("buddy", buddy, {}))
    found.append(("buddy exact", buddy, {"BUDDY_MALLOC_EXACT": "1"}))
    found.append(("buddy packed", buddy, {"BUDDY_MALLOC_EXACT": "packed"}))
    return found


MEASURE = ("import os, resource, subprocess, sys, time\n"
           "start = time.perf_counter()\n"
           "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
           "seconds = time.perf_counter() - start\n"
           "print(done.returncode, seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")


def run_once(command, environment, work):
    """(seconds, peak RSS in KiB) of one run, in a fresh measuring process."""
    out = subprocess.run([sys.executable, "-c", MEASURE] + command, cwd=work, env=environment,
                         stdout=subprocess.PIPE, check=True, text=True).stdout.split()
    if out[0] != "0":
        raise SystemExit("%s exited with %s" % (command[0], out[0]))
    return float(out[1]), int(out[2])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only")
    options = parser.parse_args()
    build = os.path.abspath(options.build)
    work = tempfile.mkdtemp(prefix="buddy-programs-")
    chosen = allocators(build)
    print("Real programs on each malloc: median of %d interleaved runs; RSS = peak of the "
          "largest process" % options.runs)
    for name, what, command, extra in workloads(work):
        if options.only and options.only not in name:
            continue
        times = {a[0]: [] for a in chosen}
        rss = {a[0]: [] for a in chosen}
        for _ in range(options.runs + 1):  # the first round warms the caches, unmeasured
            for allocator, library, settings in chosen:
                environment = dict(os.environ, **extra, **settings)
                if library:
                    environment["LD_PRELOAD"] = library
                seconds, peak = run_once(command, environment, work)
                times[allocator].append(seconds)
                rss[allocator].append(peak)
        base = statistics.median(times["glibc"][1:])
        print("\n%s: %s" % (name, what))
        print("  %-12s %10s %10s %12s" % ("malloc", "seconds", "/ glibc", "peak RSS MiB"))
        for allocator, _, _ in chosen:
            median = statistics.median(times[allocator][1:])
            print("  %-12s %10.3f %9.2fx %12.1f" % (allocator, median, median / base,
                                                     statistics.median(rss[allocator][1:]) / 1024))
    shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
