#!/bin/sh
# make bench: every benchmark in bench/, each comparing bhasha with its named peer in one run.
set -u
BUILD=${BUILD:-build}
export BUILD
for b in bench/bench_*.sh; do
    [ -f "$b" ] || continue
    echo "== $b"
    sh "$b" || echo "bench: $b failed"
done
