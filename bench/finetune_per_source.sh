#!/bin/sh
# bench/finetune_per_source.sh — one sentiment model per source: the shipped
# multi-task encoder (already trained on the harmonised 3-class set, which
# pools the Bangla sources' training splits) fine-tuned again on each set's
# own training split with its own labels, the best epoch picked on its dev
# split, scored on its test split by bench/eval_models.sh (bhasha eval
# sentiment). The fastText peer (bench/bench_sentiment.sh) is also trained
# per set, so this is the like-for-like comparison for the per-source rows.
#   sh bench/finetune_per_source.sh SETS_DIR WORK [BASE_MODEL]
# SETS_DIR: scripts/train_models.sh WORK sets output. Every set but the
# harmonised one; EPOCHS (4), THREADS (1). Prints a markdown table.
set -eu
S=${1:?usage: finetune_per_source.sh SETS_DIR WORK [BASE_MODEL]}
W=${2:?usage: finetune_per_source.sh SETS_DIR WORK [BASE_MODEL]}
BASE=${3:-assets/models/bhasha-bnhi}
BH=${BUILD:-build}/bhasha
SPM=$BASE/tokenizer.model
mkdir -p "$W"
echo "| test set | texts | head | macro-F1 | accuracy | epochs run | seconds |"
echo "|---|---|---|---|---|---|---|"
for d in "$S"/*/; do
    name=$(basename "$d")
    case $name in *harmonised*) continue ;; esac
    lang=${name%%-*}
    $BH finetune --task sentiment --base "$BASE" --tokenizer "$SPM" --head "sentiment_$lang" \
        --train "$d/train.tsv" --dev "$d/dev.tsv" --test "$d/test.tsv" --on-error skip \
        --epochs "${EPOCHS:-4}" --lr 1e-4 --batch 16 --dropout 0.1 --patience 2 --threads "${THREADS:-1}" \
        --out "$W/$name" > "$W/$name.json" 2> "$W/$name.err"
    row=$(sh bench/eval_models.sh "$S" "$W/$name" "$name")
    ep=$(grep -c '^epoch ' "$W/$name.json" || true)
    secs=$(sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p' "$W/$name.json")
    echo "$row $ep | $secs |"
done
