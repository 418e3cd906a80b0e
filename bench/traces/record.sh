#!/bin/sh
# SPDX-License-Identifier: MIT
# Records the six traces of the report card (README.md, docs/benchmarks.md) from
# programs that Debian packages, each doing real work, and compresses them:
#   sh bench/traces/record.sh build/buddy
# Needs sqlite3, python3 (Debian's, /usr/bin/python3), perl, mawk (awk), bc and cmake.
set -eu
buddy=$(realpath "${1:-build/buddy}")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# A query load: build a table of 8,000 rows with an index, scan it, delete a third.
"$buddy" record --output sqlite3.trace -- sqlite3 :memory: "create table t(a integer primary key, b text);
  with recursive c(x) as (select 1 union all select x+1 from c where x<8000)
  insert into t select x, printf('row %d %s', x, hex(randomblob(x % 200))) from c;
  create index tb on t(b); select count(*), sum(length(b)) from t where b like '%AB%';
  delete from t where a % 3 = 0; select count(*) from t;" >/dev/null
# A script: count 1,000 random words, and a JSON round trip (every object through malloc).
PYTHONMALLOC=malloc "$buddy" record --output python3.trace -- /usr/bin/python3 "$here/words.py" >/dev/null
# 30,000 lines of text, for the word counts of perl and awk.
python3 -c "
import random; random.seed(3)
w = ['alpha','beta','gamma','delta','epsilon','zeta','eta','theta','iota','kappa']
with open('text.txt', 'w') as f:
    for i in range(30000): f.write(' '.join(random.choice(w) + str(random.randint(0, 300)) for _ in range(8)) + '\n')"
head -8000 text.txt > text8k.txt
"$buddy" record --output perl.trace -- perl -e 'my %c; while (<>) { $c{$_}++ for split }
  my @k = sort { $c{$b} <=> $c{$a} || $a cmp $b } keys %c; print scalar(@k), " $k[0]\n"' text8k.txt >/dev/null
"$buddy" record --output awk.trace -- awk '{ for (i = 1; i <= NF; i++) c[$i]++ }
  END { n = 0; for (w in c) { n++; s = s w } print n, length(s) }' text.txt >/dev/null
# Arbitrary precision: pi to 300 digits.
"$buddy" record --output bc.trace -- bc -l "$here/pi.bc" >/dev/null
# A build system's script: 601 SHA-1s, a sort, a join.
"$buddy" record --output cmake.trace -- cmake -P "$here/work.cmake" >/dev/null
for trace in *.trace; do gzip -9 -c "$trace" > "$here/$trace.gz"; done
ls -l "$here"/*.trace.gz
