#!/usr/bin/env bash
# Real programs from Debian on libbuddy_malloc.so: each runs under glibc's
# malloc and under buddy's, and the two outputs must be identical (for
# Python's own regression tests: the same counts of test cases run, failed,
# errored and skipped, from each module's summary). Every process on buddy appends its statistics line to
# a file, which proves the library was in use and is printed at the end.
#
#   tests/real_programs.sh LIBRARY [WORK_FOLDER]
# Exit 0 if every program agreed, 1 otherwise, 77 (skipped) if the system's
# programs cannot load the library (a -m32 build on a 64-bit system). A
# program that is not installed is skipped with a message saying so.
set -uo pipefail
library=$(realpath "$1")
source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${2:-$(mktemp -d)}
mkdir -p "$work" && cd "$work" || exit 1
stats=$work/buddy-stats.txt
: > "$stats"
failed=0

on_buddy_probe() { LD_PRELOAD=$library BUDDY_MALLOC_STATS=$work/probe.txt "$@"; }
if ! on_buddy_probe ls -d / > /dev/null 2> probe.err || ! grep -q '^buddy malloc: pid' probe.txt 2> /dev/null; then
  echo "SKIP: ls does not run on $library: $(head -1 probe.err)"
  exit 77
fi

on_glibc() { "$@"; }
on_buddy() { LD_PRELOAD=$library BUDDY_MALLOC_STATS=$stats "$@"; }

# compare NAME COMMAND...: runs COMMAND on both and compares stdout.
compare() {
  local name=$1; shift
  on_glibc "$@" > "$name.glibc" 2> "$name.glibc.err"; local glibc_status=$?
  on_buddy "$@" > "$name.buddy" 2> "$name.buddy.err"; local buddy_status=$?
  if [[ $glibc_status != 0 || $buddy_status != 0 ]] || ! cmp -s "$name.glibc" "$name.buddy"; then
    echo "FAIL $name: exit $glibc_status on glibc, $buddy_status on buddy; outputs differ:"
    diff "$name.glibc" "$name.buddy" | head -20
    tail -5 "$name.buddy.err"
    failed=1
  else
    echo "ok   $name: identical output ($(wc -c < "$name.buddy") bytes), exit $buddy_status"
  fi
}

skip_unless() { # skip_unless NAME PATH: true if PATH exists, else says why not
  [[ -e $2 ]] && return 0
  echo "SKIP $1: $2 is not installed"
  return 1
}

# 1. Python's regression tests (libpython3.11-testsuite), with every object
# from malloc (PYTHONMALLOC=malloc), counted per test case.
python_modules=(test_list test_dict test_set test_string test_re test_json test_collections
  test_itertools test_functools test_threading test_subprocess test_math test_bytes test_unicode
  test_sort test_heapq test_bisect test_operator test_enum test_dataclasses)
if skip_unless "python regression tests" /usr/lib/python3.11/test/regrtest.py; then
  count_cases() { # test cases run, failed, errored, skipped: from each module's summary
    awk '/^Ran [0-9]+ tests? in/ { ran += $2 }
      /^(OK|FAILED) \(/ { while (match($0, /(failures|errors|skipped)=[0-9]+/)) {
          split(substr($0, RSTART, RLENGTH), pair, "="); count[pair[1]] += pair[2]
          $0 = substr($0, RSTART + RLENGTH) } }
      END { printf "ran %d failures %d errors %d skipped %d\n", ran, count["failures"],
            count["errors"], count["skipped"] }' "$1"
  }
  python_tests() { PYTHONMALLOC=malloc /usr/bin/python3.11 -m test -v -j2 "${python_modules[@]}"; }
  on_glibc python_tests > python.glibc.log 2>&1
  on_buddy python_tests > python.buddy.log 2>&1
  count_cases python.glibc.log > python.glibc
  count_cases python.buddy.log > python.buddy
  if cmp -s python.glibc python.buddy && [[ $(cut -d' ' -f2 python.buddy) -ge 500 ]]; then
    echo "ok   python regression tests (${#python_modules[@]} modules): $(cat python.buddy) on both"
  else
    echo "FAIL python regression tests: glibc $(cat python.glibc), buddy $(cat python.buddy)"
    grep -E ' \.\.\. (FAIL|ERROR)$' python.buddy.log | head -20
    failed=1
  fi
fi

# 2. sqlite3 with a query load: 200,000 rows, an index, joins and aggregates.
if skip_unless sqlite3 /usr/bin/sqlite3; then
  cat > load.sql <<'EOF'
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER, amount REAL, note TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
INSERT INTO orders SELECT i, (i * 7919) % 5000, (i * 31) % 1000 / 7.0, printf('order %d of %d', i, (i * 7919) % 5000) FROM n;
CREATE INDEX by_customer ON orders(customer);
CREATE TABLE customers AS SELECT DISTINCT customer AS id, 'customer ' || customer AS name FROM orders;
SELECT count(*), round(sum(amount), 2), max(length(note)) FROM orders;
SELECT c.name, count(*), round(avg(o.amount), 3) FROM orders o JOIN customers c ON c.id = o.customer
  GROUP BY c.id ORDER BY 3 DESC, 1 LIMIT 20;
SELECT customer, group_concat(id, ',') FROM (SELECT * FROM orders WHERE customer < 30 ORDER BY id)
  GROUP BY customer;
UPDATE orders SET note = note || ' (paid)' WHERE amount > 100;
DELETE FROM orders WHERE customer % 3 = 0;
VACUUM;
SELECT count(*), round(sum(amount), 2), sum(length(note)) FROM orders;
EOF
  compare sqlite3 sqlite3 :memory: ".read load.sql"
  BUDDY_MALLOC_EXACT=1 compare sqlite3-exact sqlite3 :memory: ".read load.sql"
  BUDDY_MALLOC_EXACT=packed compare sqlite3-packed sqlite3 :memory: ".read load.sql"
fi

# 3. Multi-threaded: sort with 4 threads, and xz with 2.
seq 1 400000 | awk '{ print ($1 * 2654435761) % 1000003, "line", $1 }' > numbers.txt
compare sort-threads sort --parallel=4 -S 8M -k1,1n -k3,3n numbers.txt
if skip_unless "xz threads" /usr/bin/xz; then
  xz_round_trip() { xz -T2 -6 -c numbers.txt | xz -d -c | md5sum; }
  compare xz-threads xz_round_trip
fi

# 4. A program that forks: bash runs a pipeline per line, make runs recipes.
compare bash-forks bash -c 'for i in $(seq 1 300); do echo "$i $((i * i))" | cut -d" " -f2; done | sort -n | md5sum'
if skip_unless make /usr/bin/make; then
  printf 'all: %s\n%%.out:\n\t@echo $* | tr 0-9 a-j > $@\n' "$(seq -f 'f%g.out' 1 60 | tr '\n' ' ')" > Makefile
  make_and_list() { rm -f ./*.out; make -s -j2 && cat f*.out | sort | md5sum; }
  compare make-forks make_and_list
fi

# 5. A compiler compiling a file (the driver and cc1 both on buddy).
if skip_unless gcc /usr/bin/gcc; then
  compare gcc-compiles gcc -O2 -S -o - -I "$source_dir/include" -I "$source_dir/src/common" \
    -I "$source_dir/src/range" "$source_dir/src/range/range.c"
fi

echo "processes that ran on buddy: $(grep -c '^buddy malloc: pid' "$stats")"
grep -o 'pid [0-9]* [^:]*:' "$stats" | awk '{ print substr($3, 1, length($3) - 1) }' | sort | uniq -c |
  sort -rn | head -12 | awk '{ printf "  %5d x %s\n", $1, $2 }'
if [[ $(grep -c '^buddy malloc: pid' "$stats") -eq 0 ]]; then
  echo "FAIL: no process wrote buddy's statistics: the library was not preloaded"
  failed=1
fi
if grep -q 'invalid frees$' "$stats" && grep -v '; 0 invalid frees$' "$stats" | grep -q .; then
  echo "FAIL: invalid frees were counted"
  failed=1
fi
exit $failed
