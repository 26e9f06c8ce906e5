#!/bin/sh
# bench/finetune_ner_sets.sh — one NER model per set, the NER rows of the
# "one model per set" columns of the README's score table: the pretrained encoder fine-tuned on
# one set alone (a head with a CRF, every epoch run, the best on dev), a
# feature CRF trained on the same training split (2^20 hash rows), and the two
# fused (bhasha crf fuse, the CRF's weight chosen on dev).
#   sh bench/finetune_ner_sets.sh WORK [ENCODER]     (THREADS, default 1;
#   CLUSTERS=TABLE: the CRFs read that word cluster table, as the shipped
#   model's do: scripts/word_clusters.py)
# ENCODER: a pretrained encoder directory (scripts/train_models.sh's
# WORK/enc2). Sets:
#   il-ner      IL-NER Hindi, NEP/NEL/NEO -> PER/LOC/ORG, the other types O;
#               3 epochs
#   il-ner-full IL-NER Hindi with its full tag set (NED, one token of the dev
#               file and in neither train nor test, -> O); 3 epochs
#   banglakit   banglakit Bangla (no official split: line 1, 11, 21, ... of the
#               file is test, line 6, 16, ... dev, the rest train; tags read
#               from the JSON lines, the text re-tokenized to them); 6 epochs
# SETS="il-ner banglakit" runs only those. Prints a markdown table of the
# fusion's dev and test report; the runs' logs and models stay in WORK.
# About 35 minutes on one free thread (the three fine-tunes took 12, 12 and
# 7 minutes run alone; the CRFs and fusions a few more).
set -eu
W=${1:?usage: finetune_ner_sets.sh WORK [ENCODER]}
ENC=${2:-$W/enc2}
BH=${BUILD:-build}/bhasha
D=${BH_SHARED:-../shared}/data
N=$D/ner/hi/il-ner-hindi
K=$D/ner/bn/banglakit-bengali-ner/main.jsonl
SPM=assets/spm/bnhi.model
MAP=NEP=PER,NEL=LOC,NEO=ORG,NEN=O,NETI=O,NEAR=O,NEU=O,NED=O
if [ ! -d "$N" ] || [ ! -f "$K" ]; then echo "finetune_ner_sets: $D/ner missing: nothing to train on"; exit 1; fi
mkdir -p "$W"
awk 'NR % 10 == 1' "$K" > "$W/banglakit_test.jsonl"
awk 'NR % 10 == 6' "$K" > "$W/banglakit_dev.jsonl"
awk 'NR % 10 != 1 && NR % 10 != 6' "$K" > "$W/banglakit_train.jsonl"
FT="--task ner --base $ENC --tokenizer $SPM --crf --lr 2e-4 --batch 16 --dropout 0.1 --patience 0 --threads ${THREADS:-1} --on-error skip"
# one set: NAME EPOCHS HEAD TRAIN DEV TEST FINETUNE_OPTIONS CRF_OPTIONS
one() {
    name=$1 ep=$2 head=$3 tr=$4 dv=$5 te=$6 fopt=$7 copt=$8
    case " ${SETS:-$name} " in *" $name "*) ;; *) return 0 ;; esac
    # shellcheck disable=SC2086
    nice -n 5 $BH finetune $FT --head "$head" --epochs "$ep" --train "$tr" --dev "$dv" --test "$te" $fopt \
        --out "$W/$name" > "$W/$name.json" 2> "$W/$name.err"
    # shellcheck disable=SC2086
    $BH crf train --train "$tr" --dev "$dv" --bits 20 $copt ${CLUSTERS:+--clusters "$CLUSTERS"} --out "$W/$name-crf.bin" \
        > "$W/$name-crf.json" 2>> "$W/$name.err"
    # shellcheck disable=SC2086
    $BH crf fuse --model "$W/$name" --crf "$W/$name-crf.bin" --dev "$dv" --test "$te" $copt \
        --out "$W/$name-fused" > "$W/$name-fused.json" 2>> "$W/$name.err"
    /usr/bin/python3 -c 'import json, sys
r = json.load(open(sys.argv[1])); d, t = r["dev"], r["test"]
print("| %s | %.2f | %.2f | %.2f | %g | %.2f / %.2f / %.2f |" % (sys.argv[2], t["head"], t["crf"], t["fused"],
      r["weight"], d["head"], d["crf"], d["fused"]))' "$W/$name-fused.json" "$name"
}
echo "| set | head alone | feature CRF | fused | W | dev: head / CRF / fused |"
echo "|---|---|---|---|---|---|"
one il-ner 3 ner_hi "$N/Hindi-train.txt" "$N/Hindi-dev.txt" "$N/Hindi-test.txt" "--map $MAP" "--map $MAP"
one il-ner-full 3 ner_hi_full "$N/Hindi-train.txt" "$N/Hindi-dev.txt" "$N/Hindi-test.txt" "--map NED=O" "--map NED=O"
one banglakit 6 ner_bn "$W/banglakit_train.jsonl" "$W/banglakit_dev.jsonl" "$W/banglakit_test.jsonl" \
    "--format jsonl --text-col 0 --label-col 1" "--text 0 --tags 1"
