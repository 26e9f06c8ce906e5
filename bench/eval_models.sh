#!/bin/sh
# bench/eval_models.sh — the shipped multi-task model's sentiment heads on
# every prepared sentiment test set (the Bangla head on the Bangla sets, the
# Hindi head on HSAC), scored by `bhasha eval sentiment` (macro-F1); on a
# two-class set the head chooses between that set's two labels (--labels).
#   sh bench/eval_models.sh SETS_DIR [MODEL_DIR [SET]]   (SET: only that set, no header)
# SETS_DIR: bench/sentiment_bench.py --sets-only output (scripts/train_models.sh
# WORK sets writes WORK/sets). Prints a markdown table.
set -eu
S=${1:?usage: eval_models.sh SETS_DIR [MODEL_DIR [SET]]}
M=${2:-assets/models/bhasha-bnhi}
ONLY=${3:-}
BH=${BUILD:-build}/bhasha
if [ ! -d "$S" ]; then echo "eval_models: $S missing (scripts/train_models.sh WORK sets)"; exit 1; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -n "$ONLY" ] || { echo "| test set | texts | head | macro-F1 | accuracy |"; echo "|---|---|---|---|---|"; }
for d in "$S"/*/; do
    name=$(basename "$d")
    [ -z "$ONLY" ] || [ "$name" = "$ONLY" ] || continue
    lang=${name%%-*}
    [ -f "$d/test.tsv" ] || continue
    /usr/bin/python3 -c 'import csv, sys
for row in csv.DictReader(open(sys.argv[1], encoding="utf-8", newline=""), delimiter="\t"): print(row["text"])' \
        "$d/test.tsv" > "$tmp/text"
    # the head answers among the labels this test set uses (two-class sets)
    labels=$(/usr/bin/python3 -c 'import csv, sys
print(",".join(sorted({r["label"] for r in csv.DictReader(open(sys.argv[1], encoding="utf-8", newline=""), delimiter="\t")})))' "$d/test.tsv")
    $BH sentiment --model "$M" --lang "$lang" --labels "$labels" "$tmp/text" 2> /dev/null |
        sed 's/^{"label":"\([^"]*\)".*/\1/' > "$tmp/lab"
    { echo "text	label"; sed "s/^/x\t/" "$tmp/lab"; } > "$tmp/pred.tsv"
    r=$($BH eval sentiment --gold "$d/test.tsv" --pred "$tmp/pred.tsv")
    echo "$r" | awk -v n="$name" -v l="$lang" -v c="$(wc -l < "$tmp/text" | tr -d ' ')" '{
        match($0, /"macro_f1":[0-9.]+/); f = substr($0, RSTART + 11, RLENGTH - 11);
        match($0, /"accuracy":[0-9.]+/); a = substr($0, RSTART + 11, RLENGTH - 11);
        printf "| %s | %s | sentiment_%s | %.2f | %.2f |\n", n, c, l, 100 * f, 100 * a }'
done
