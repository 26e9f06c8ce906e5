#!/bin/sh
# bench/bench_crf.sh — the feature CRF column of the README's score table:
# bhasha's own CRF (no encoder) on each NER test set, one run and the mean of
# RUNS runs in shuffled orders (`bhasha crf train --runs`), 2^20 hash rows.
#   [RUNS=8] sh bench/bench_crf.sh WORK [CLUSTERS]
# WORK holds scripts/train_models.sh's prepared NER files (WORK/ner:
# rifat_train_dev.conll, hi_train_dev.conll); CLUSTERS is its word cluster
# table (WORK/ner/word_clusters.tsv), read by the CRFs of the two sets the
# shipped model fuses, which are trained on train + dev as those are. The
# IL-NER full tag set and banglakit rows are train-only CRFs without
# clusters, as bench/finetune_ner_sets.sh trains them (banglakit split as
# there: line 1, 11, ... test, 6, 16, ... dev). Prints a markdown table of
# conlleval test F1 and each training's seconds; models stay in WORK/crf_bench.
set -eu
if [ $# -lt 1 ]; then
    echo "bench_crf: skipped: needs WORK, scripts/train_models.sh's work folder (usage: bench_crf.sh WORK [CLUSTERS])"
    exit 0
fi
W=$1
WC=${2:-$W/ner/word_clusters.tsv}
BH=${BUILD:-build}/bhasha
D=${BH_SHARED:-../shared}/data
N=$D/ner/hi/il-ner-hindi
B=$D/ner/bn/rifat1493-bengali-ner/test_data.txt
K=$D/ner/bn/banglakit-bengali-ner/main.jsonl
MAP=NEP=PER,NEL=LOC,NEO=ORG,NEN=O,NETI=O,NEAR=O,NEU=O,NED=O
R=${RUNS:-8}
if [ ! -d "$N" ] || [ ! -f "$K" ]; then echo "bench_crf: $D/ner missing: nothing to train on"; exit 1; fi
if [ ! -f "$W/ner/rifat_train_dev.conll" ] || [ ! -f "$W/ner/hi_train_dev.conll" ] || [ ! -f "$WC" ]; then
    echo "bench_crf: run scripts/train_models.sh $W sets fuse first (or pass the cluster table)"; exit 1
fi
O=$W/crf_bench
mkdir -p "$O"
awk 'NR % 10 == 1' "$K" > "$O/banglakit_test.jsonl"
awk 'NR % 10 != 1 && NR % 10 != 6' "$K" > "$O/banglakit_train.jsonl"
f1() { sed -n 's/^{[^{]*"f1":\([0-9.]*\).*/\1/p' "$1"; }
secs() { sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p' "$1"; }
# row NAME TRAIN TEST OPTIONS: one run and RUNS runs, test F1 and seconds
row() {
    for r in 1 "$R"; do
        # shellcheck disable=SC2086
        nice -n 5 $BH crf train --train "$2" --bits 20 --runs "$r" $4 --out "$O/$1_r$r.bin" \
            > "$O/$1_r$r.json" 2> "$O/$1_r$r.err"
        # shellcheck disable=SC2086
        $BH crf eval --model "$O/$1_r$r.bin" --test "$3" $(echo "$4" | sed 's/--clusters [^ ]*//') > "$O/$1_r$r.eval.json"
    done
    printf '| %s | %s | %s | %s | %s |\n' "$1" "$(f1 "$O/$1_r1.eval.json")" "$(f1 "$O/$1_r$R.eval.json")" \
        "$(secs "$O/$1_r1.json")" "$(secs "$O/$1_r$R.json")"
}
echo "| set | one run | mean of $R runs | seconds, one run | seconds, $R runs |"
echo "|---|---|---|---|---|"
row rifat1493 "$W/ner/rifat_train_dev.conll" "$B" "--map TIM=O --clusters $WC"
row il-ner "$W/ner/hi_train_dev.conll" "$N/Hindi-test.txt" "--map $MAP --clusters $WC"
row il-ner-full "$N/Hindi-train.txt" "$N/Hindi-test.txt" "--map NED=O"
row banglakit "$O/banglakit_train.jsonl" "$O/banglakit_test.jsonl" "--text 0 --tags 1"
