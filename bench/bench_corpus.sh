#!/bin/sh
# bench/bench_corpus.sh — streams a synthetic MediaWiki dump (default 1024 MB, made
# by bench/corpus_wikigen.c; set BH_WIKI_MB to change) through bhasha's reader and
# wikitext cleaner, with resident memory sampled during the run (flat = streaming),
# then through the peer, Python's ElementTree.iterparse, and prints the speed ratio; then the same for a
# synthetic TSV against Python's csv module.
set -eu
BUILD=${BUILD:-build}
MB=${BH_WIKI_MB:-1024}
make -s "$BUILD/bench/corpus_wikigen" "$BUILD/bench/corpus_wikiread" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BUILD/bench/corpus_wikigen" "$MB" > "$tmp/dump.xml"
ours=$("$BUILD/bench/corpus_wikiread" "$tmp/dump.xml")
echo "$ours"
peer=$(/usr/bin/python3 bench/corpus_wiki_peer.py "$tmp/dump.xml")
echo "$peer"
a=$(echo "$ours" | sed 's/.* \([0-9.]*\) MB\/s.*/\1/')
b=$(echo "$peer" | sed 's/.* \([0-9.]*\) MB\/s.*/\1/')
awk -v a="$a" -v b="$b" 'BEGIN { printf "speed ratio bhasha/python-iterparse: %.2fx (bhasha also cleans the wikitext)\n", a / b }'

# CSV/TSV: a synthetic RFC 4180 TSV (quoted fields with tabs, quotes and newlines), default 200 MB
CSV_MB=${BH_CSV_MB:-200}
make -s "$BUILD/bench/corpus_csvread" >/dev/null
/usr/bin/python3 bench/corpus_csv_peer.py gen "$CSV_MB" "$tmp/data.tsv"
ours=$("$BUILD/bench/corpus_csvread" "$tmp/data.tsv")
echo "$ours"
peer=$(/usr/bin/python3 bench/corpus_csv_peer.py read "$tmp/data.tsv")
echo "$peer"
a=$(echo "$ours" | sed 's/.* \([0-9.]*\) MB\/s.*/\1/')
b=$(echo "$peer" | sed 's/.* \([0-9.]*\) MB\/s.*/\1/')
awk -v a="$a" -v b="$b" 'BEGIN { printf "speed ratio bhasha/python-csv: %.2fx (same records and text bytes expected)\n", a / b }'
