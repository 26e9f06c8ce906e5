#!/bin/sh
# tests/t_word_clusters.sh — scripts/word_clusters.py, the word cluster table
# of the feature CRF: one line per word with one id per size, ids below each
# size, words lower-cased with punctuation split off, CoNLL files read by
# their first column, the same seed gives the same file, `bhasha crf train
# --clusters` reads the result, and bad arguments are one clear error. Skips
# without Debian's fasttext, python3-numpy or python3-sklearn (the training
# recipe installs them).
. tests/tap.sh
PY=/usr/bin/python3
if ! command -v fasttext >/dev/null 2>&1 || ! "$PY" -c 'import numpy, sklearn' 2>/dev/null; then
    skip "word_clusters" "needs fasttext, python3-numpy and python3-sklearn"
    done_testing
    exit 0
fi
D=$(mktemp -d "${BUILD:-build}/t_word_clusters.XXXXXX")
trap 'rm -rf "$D"' EXIT

# two kinds of words in the same frames, many times over
for i in $(seq 1 40); do
    printf 'রহিম আজ ঢাকা গেল। করিম আজ খুলনা গেল। Rahim went to Dhaka, Karim went to Khulna.\n'
    printf 'সে ভাত খেল। সে মাছ খেল। He ate rice; he ate fish.\n'
done > "$D/raw.txt"
printf 'রহিম\tB-PER\nঢাকা\tB-LOC\nগেল\tO\n\nকরিম\tB-PER\nখুলনা\tB-LOC\nগেল\tO\n' > "$D/train.conll"
"$PY" scripts/word_clusters.py --sizes 2,3 --min-count 1 --out "$D/wc.tsv" "$D/raw.txt" "$D/train.conll" 2> "$D/err"
is "exit 0" "$?" "0"
ok "progress on stderr" grep -q "words in 3 clusters" "$D/err"
is "every line: a word and two ids" "$(awk -F'\t' 'NF != 3' "$D/wc.tsv" | wc -l | tr -d ' ')" "0"
is "ids below the sizes" "$(awk -F'\t' '$2 >= 2 || $3 >= 3' "$D/wc.tsv" | wc -l | tr -d ' ')" "0"
ok "words are lower-cased" grep -q "^rahim	" "$D/wc.tsv"
ok "punctuation split off" grep -q "^dhaka	" "$D/wc.tsv"
ok "the danda is a word of its own" grep -q "^।	" "$D/wc.tsv"
is "no word twice" "$(cut -f1 "$D/wc.tsv" | sort | uniq -d | wc -l | tr -d ' ')" "0"
"$PY" scripts/word_clusters.py --sizes 2,3 --min-count 1 --out "$D/wc2.tsv" "$D/raw.txt" "$D/train.conll" 2> /dev/null
ok "same seed, same table" cmp -s "$D/wc.tsv" "$D/wc2.tsv"
"$BH" crf train --train "$D/train.conll" --bits 12 --epochs 3 --clusters "$D/wc.tsv" --out "$D/crf.bin" > /dev/null 2>&1
is "bhasha crf train reads it" "$?" "0"
"$PY" scripts/word_clusters.py --sizes 2,3,4,5,6 --out "$D/x.tsv" "$D/raw.txt" 2> "$D/err"
is "five sizes: exit 1, one line" "$?:$(wc -l < "$D/err" | tr -d ' ')" "1:1"
"$PY" scripts/word_clusters.py --out "$D/x.tsv" "$D/none.txt" 2> "$D/err"
is "a missing file: exit 1, one line naming it" "$?:$(wc -l < "$D/err" | tr -d ' '):$(grep -c none.txt "$D/err")" "1:1:1"
done_testing
