#!/bin/sh
# bench/bench_sentiment.sh — sentiment baseline table (issue 6): majority class and bhasha's
# bag-of-n-grams baseline (trained by `bhasha eval suite`) against fastText supervised
# (Debian's `fasttext`, the peer) on every staged sentiment test set plus a harmonised Bangla
# 3-class set, with the same normalized and word-segmented text for every system.
# Scores: macro-F1 and accuracy (%) on test; training on train+dev. See bench/sentiment_bench.py.
# fastText runs with -thread 1 -seed 1, so its figures are reproducible; times are wall clock.
set -u
BH=${BUILD:-build}/bhasha
D=${BH_SHARED:-../shared}/data
if [ ! -d "$D/sentiment" ]; then
    echo "bench_sentiment: SKIP ($D/sentiment not found)"
    exit 0
fi
if [ ! -x "$BH" ]; then
    echo "bench_sentiment: SKIP ($BH not built; run make)"
    exit 0
fi
if ! command -v fasttext >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "bench_sentiment: installing Debian package fasttext (the peer)" >&2
        apt-get install -y fasttext >/dev/null 2>&1 || true
    fi
    if ! command -v fasttext >/dev/null 2>&1; then
        echo "bench_sentiment: SKIP (fastText not installed and cannot be installed: apt-get install fasttext)"
        exit 0
    fi
fi
if ! /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
    echo "bench_sentiment: SKIP (/usr/bin/python3 lacks sklearn: apt-get install python3-sklearn)"
    exit 0
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
echo "bench_sentiment: nice -n 10 /usr/bin/python3 bench/sentiment_bench.py $BH $D WORK"
nice -n 10 /usr/bin/python3 bench/sentiment_bench.py "$BH" "$D" "$T"
