#!/bin/sh
# SPDX-License-Identifier: MIT
# valgrind_reports.sh VALGRIND PROBE PROGRAM [VALGRIND OPTIONS...]
# Runs PROGRAM under VALGRIND (its report is the test's output, which CTest
# matches). First it runs PROBE, a clean program of the same build: where
# Valgrind cannot run it (a 32-bit program without libc6-dbg:i386, or an
# instruction Valgrind does not decode), the check cannot run on this
# machine, and the script says why and exits 77, which CTest counts as
# skipped. A report on the probe (exit 9) or a call of it that failed is an
# error of ours: the check fails.
valgrind=$1 probe=$2 program=$3
shift 3
why=$("$valgrind" -q --error-exitcode=9 "$probe" 2>&1)
status=$?
if [ $status -eq 9 ] || echo "$why" | grep -q '^valgrind_probe: '; then
    echo "the probe $probe fails under valgrind:"
    echo "$why"
    exit 1
elif [ $status -ne 0 ]; then
    echo "skipped: valgrind cannot run a program of this build on this machine:"
    echo "$why" | grep -m 3 -v '^==[0-9]*== *$'
    if echo "$why" | grep -q 'Illegal opcode'; then
        echo "(an instruction valgrind does not decode, such as AVX-512 from -march=native: build without it to run this check)"
    fi
    exit 77
fi
# In a build with line coverage, the program's counters merge at exit with
# those every earlier test wrote, and memcheck reads each as a possible
# pointer: a count that equals an address inside the leaked block made it
# "possibly lost" (a count of 441 per run met it at the 3,223rd run). The
# program's counters go to a folder of their own, so they stay its own few.
counters=$(mktemp -d) || exit 1
GCOV_PREFIX=$counters "$valgrind" "$@" "$program"
status=$?
rm -rf "$counters"
exit $status
