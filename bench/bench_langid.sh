#!/bin/sh
# bench/bench_langid.sh — throughput of `bhasha langid` on staged Bangla and Hindi raw text.
# No peer: no language identifier for these languages is packaged in Debian 12 with its
# model (fastText's lid.176 and CLD3 need downloads), so this prints our own figures only.
set -u
BH=${BUILD:-build}/bhasha
R=${BH_SHARED:-../shared}/data/raw
if [ ! -d "$R" ]; then
    echo "bench_langid: SKIP ($R not found)"
    exit 0
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cat "$R/bn/prothomalo-ittefaq-news-2026/bn_news.train.txt" "$R/hi/covid19-hindi-news-2020/covid19_hindi_news.train.txt" >"$T/in.txt"
bytes=$(wc -c <"$T/in.txt")
lines=$(wc -l <"$T/in.txt")
$BH langid "$T/in.txt" >/dev/null 2>&1 # warm the page cache
t0=$(date +%s.%N)
$BH langid "$T/in.txt" >"$T/out.txt"
t1=$(date +%s.%N)
awk -v b="$bytes" -v l="$lines" -v t0="$t0" -v t1="$t1" 'BEGIN {
    s = t1 - t0
    printf "bench_langid: %d lines, %.1f MB in %.3f s: %.1f MB/s, %.0f lines/s (1 thread; peer: none available)\n",
           l, b / 1e6, s, b / 1e6 / s, l / s }'
