#!/bin/sh
# bench/bench_text.sh — the text layer on >= 20 MB of staged Bangla + Hindi raw text
# (12 MB of each, whole lines), 1 and 2 threads, in one run:
#   normalize alone; normalize + sentence + word (the whole pass) against ICU's
#   bare word-break iterator on the same text, with the machine's two-core
#   scaling of a plain compute loop; transliteration against ICU's transliterator.
set -u
BUILD=${BUILD:-build}
data=${BH_SHARED:-../shared}/data/raw
if [ ! -d "$data" ]; then
    echo "bench_text: $data not found (set BH_SHARED): skipped"
    exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
take() { # take LANG MB: whole lines from the language's raw text files
    for f in "$data/$1"/*/*.txt "$data/$1"/*/*.txt.gz; do
        [ -f "$f" ] || continue
        case "$f" in *.gz) zcat "$f" ;; *) cat "$f" ;; esac
    done | head -c $(($2 * 1000000)) | sed '$d'
}
take bn 12 > "$tmp/text.txt"
take hi 12 >> "$tmp/text.txt"
echo "input: $(wc -c < "$tmp/text.txt") bytes, $(wc -l < "$tmp/text.txt") lines (Bangla then Hindi)"
echo "machine: $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD/bench/normalize_bench" --mb 24 "$tmp/text.txt"
"$BUILD/bench/segment_bench" --mb 24 "$tmp/text.txt"
"$BUILD/bench/segment_bench" --mb 24 --normalize "$tmp/text.txt"
"$BUILD/bench/translit_bench" --mb 24 --to latn "$tmp/text.txt"
