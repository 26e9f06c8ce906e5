#!/bin/sh
# bench/pretrain_mono_multi.sh — the three encoders that bench/bench_mono_multi.sh
# compares: token shards of the staged raw training text in Bangla only, in
# Hindi only and in both (the files bench/encode_shards.sh reads, one line from
# each file in turn), and one `bhasha pretrain` MLM run on each that differs
# from the others only in --data: the same start (INIT), size, steps, batch,
# schedule and seed, so each sees the same number of tokens.
#   [STEPS=2000] [PRECISION=f32|bf16] [THREADS=1] [RUNS="bn hi bnhi"] sh bench/pretrain_mono_multi.sh WORK INIT
# INIT: the model all three start from, e.g. the joint decoder of
# scripts/train_models.sh's decoder step (WORK/dec) or the shipped one
# (assets/models/bhasha-gen-bnhi): the comparison is then about the MLM
# stage's data alone. Writes WORK/mm_shards/{bn,hi,bnhi} and the encoders
# WORK/mm_enc_{bn,hi,bnhi}_STEPS, each with its stdout (.log: the losses)
# and stderr (.err: progress, validation perplexity on the joint validation
# shard) beside it, and prints each run's wall time. An interrupted run
# resumes from its last checkpoint. RUNS picks the runs: two scripts with
# other RUNS can run side by side once the shards exist. Then
#   sh bench/bench_mono_multi.sh WORK WORK/mm_enc_bn_STEPS WORK/mm_enc_hi_STEPS WORK/mm_enc_bnhi_STEPS
# fine-tunes the three (WORK also needs scripts/train_models.sh's sets step).
set -eu
W=${1:?usage: pretrain_mono_multi.sh WORK INIT}
INIT=${2:?usage: pretrain_mono_multi.sh WORK INIT}
STEPS=${STEPS:-2000}
BUILD=${BUILD:-build}
BH=$BUILD/bhasha
ENC=${ENGINE_ENCODE:-$BUILD/bench/engine_encode}
R=${BH_SHARED:-../shared}/data/raw
SPM=assets/spm/bnhi.model
BN="$R/bn/prothomalo-ittefaq-news-2026/bn_news.train.txt $R/bn/sachalayatan-blog/sachalayatan.train.txt.gz
    $R/bn/istishon-blog/istishon.train.txt.gz"
HI="$R/hi/covid19-hindi-news-2020/covid19_hindi_news.train.txt $R/hi/hindi-discourse-stories/hindi_discourse_stories.train.txt
    $R/hi/bbc-hindi-news-test/bbc_hindi_news.train.txt $R/hi/hindi-aesthetics-corpus/hindi_aesthetics.train.txt.gz"
if [ ! -d "$R/bn" ] || [ ! -d "$R/hi" ]; then echo "pretrain_mono_multi: $R missing: nothing to train on"; exit 1; fi
[ -f "$INIT/config.json" ] || { echo "pretrain_mono_multi: $INIT is not a model directory"; exit 1; }
mkdir -p "$W/mm_shards/bn" "$W/mm_shards/hi" "$W/mm_shards/bnhi" "$W/mm_valid"
# shellcheck disable=SC2086
[ -s "$W/mm_shards/bn/bn.tok" ] || nice -n 10 "$ENC" $SPM "$W/mm_shards/bn/bn.tok" 200000000 $BN
# shellcheck disable=SC2086
[ -s "$W/mm_shards/hi/hi.tok" ] || nice -n 10 "$ENC" $SPM "$W/mm_shards/hi/hi.tok" 200000000 $HI
# shellcheck disable=SC2086
[ -s "$W/mm_shards/bnhi/bnhi.tok" ] || nice -n 10 "$ENC" $SPM "$W/mm_shards/bnhi/bnhi.tok" 200000000 $BN $HI
[ -s "$W/mm_valid/bnhi.tok" ] || "$ENC" $SPM "$W/mm_valid/bnhi.tok" 400000 \
    "$R/bn/prothomalo-ittefaq-news-2026/bn_news.valid.txt" "$R/hi/covid19-hindi-news-2020/covid19_hindi_news.valid.txt"
# the shipped encoder's shape (scripts/train_models.sh, encoder step)
cat > "$W/mm_enc.json" <<'JSON'
{"arch":"encoder","vocab":16000,"max_len":128,"dim":256,"layers":4,"heads":4,"ffn":1024,"dropout":0.0,"pre_ln":1,"pad_id":3,"mask_id":4}
JSON
run() { # data name
    out=$W/mm_enc_$1_$STEPS
    [ -f "$out.done" ] && return 0
    r=
    [ -f "$out/optim.safetensors" ] && r=--resume
    t0=$(date +%s)
    # shellcheck disable=SC2086
    nice -n 5 $BH pretrain --arch encoder --config "$W/mm_enc.json" --data "$W/mm_shards/$1" --out "$out" \
        --init "$INIT" --steps "$STEPS" --batch 16 --seq 128 --lr 5e-4 --warmup 100 --sched cosine --sep 2 \
        --special 0,1,2,3,4 --mask-rate 0.2 --seed 1 --threads "${THREADS:-1}" --precision "${PRECISION:-f32}" \
        --save-every 250 --log-every 1 --valid "$W/mm_valid" --valid-batches 8 --tokenizer $SPM $r \
        >> "$out.log" 2>> "$out.err"
    echo "$out $(($(date +%s) - t0)) s" | tee "$out.done"
}
for d in ${RUNS:-bn hi bnhi}; do run "$d"; done
