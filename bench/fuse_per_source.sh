#!/bin/sh
# bench/fuse_per_source.sh — the n-gram layer (bhasha fuse-ngrams) fitted on
# top of each per-source sentiment model of bench/finetune_per_source.sh (run
# that first with the same WORK), the encoder's weight and L2 picked on the
# set's dev split; test macro-F1 of the model alone, the n-gram layer alone
# and the fusion (the one the dev split chose), from fuse-ngrams' own report,
# and the fused model again through bench/eval_models.sh (bhasha eval
# sentiment on `bhasha sentiment` output).
#   sh bench/fuse_per_source.sh SETS_DIR WORK      (THREADS, default 1)
# Writes WORK/SET-ngrams; prints a markdown table.
set -eu
S=${1:?usage: fuse_per_source.sh SETS_DIR WORK}
W=${2:?usage: fuse_per_source.sh SETS_DIR WORK}
BH=${BUILD:-build}/bhasha
echo "| test set | model alone | n-grams alone | fused (dev's choice) | encoder weight a, L2 | eval_models | seconds |"
echo "|---|---|---|---|---|---|---|"
for d in "$S"/*/; do
    name=$(basename "$d")
    [ -f "$W/$name/config.json" ] || continue
    $BH fuse-ngrams --model "$W/$name" --train "$d/train.tsv" --dev "$d/dev.tsv" --test "$d/test.tsv" \
        --threads "${THREADS:-1}" --out "$W/$name-ngrams" > "$W/$name-ngrams.json" 2> "$W/$name-ngrams.err"
    row=$(sh bench/eval_models.sh "$S" "$W/$name-ngrams" "$name" | awk -F'|' '{print $5}')
    /usr/bin/python3 -c 'import json, sys
r = json.load(open(sys.argv[1])); t = r["test_macro_f1"]
print("| %s | %.2f | %.2f | %.2f | %g, %g | %s | %.0f |" % (sys.argv[2], t["head"], t["ngrams"], t["fused"], r["a"], r["l2"], sys.argv[3].strip(), r["seconds"]))' \
        "$W/$name-ngrams.json" "$name" "$row"
done
