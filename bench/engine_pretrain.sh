#!/bin/sh
# bench/engine_pretrain.sh — a small real pretraining run on the staged raw
# Bangla + Hindi text with the shipped bilingual SentencePiece model: a
# decoder (causal LM) and an encoder (MLM), validation perplexity on held-out
# text, loss curves as SVG, sample generations in both languages.
#   sh bench/engine_pretrain.sh WORKDIR [STEPS]
# Needs build/bhasha, build/bench/engine_encode and ../shared/data/raw.
# Runs niced; with other jobs on the machine expect it to be slow.
set -eu
W=${1:?usage: engine_pretrain.sh WORKDIR [STEPS]}
STEPS=${2:-600}
BUILD=${BUILD:-build}
BH=${BH:-$BUILD/bhasha}
R=${BH_SHARED:-../shared}/data/raw
SPM=assets/spm/bnhi.model
if [ ! -d "$R" ]; then echo "engine_pretrain: $R missing: skipped"; exit 0; fi
sh bench/encode_shards.sh "$W"
cat > "$W/dec.json" <<'JSON'
{"arch":"decoder","vocab":16000,"max_len":128,"dim":256,"layers":4,"heads":4,"ffn":1024,"dropout":0.0}
JSON
cat > "$W/enc.json" <<'JSON'
{"arch":"encoder","vocab":16000,"max_len":128,"dim":256,"layers":4,"heads":4,"ffn":1024,"dropout":0.0,"pad_id":3,"mask_id":4}
JSON
COMMON="--steps $STEPS --batch 16 --seq 127 --lr 1e-3 --warmup 50 --sched cosine --sep 2 --save-every 200 --log-every 20 --threads 1 --valid $W/valid --valid-batches 8 --tokenizer $SPM"
nice -n 10 "$BH" pretrain --arch decoder --config "$W/dec.json" --data "$W/train" --out "$W/dec" $COMMON > "$W/dec.log" 2> "$W/dec.err" &
nice -n 10 "$BH" pretrain --arch encoder --config "$W/enc.json" --data "$W/train" --out "$W/enc" $COMMON --special 0,1,2,3,4 > "$W/enc.log" 2> "$W/enc.err" &
wait
for p in "আজ ঢাকায়" "বাংলাদেশের অর্থনীতি" "भारत सरकार ने" "आज दिल्ली में"; do
    echo "== $p"
    "$BH" generate --model "$W/dec" --prompt "$p" --max-new 40 --temperature 0.8 --top-k 40 --top-p 0.95 --repetition-penalty 1.2 --seed 7
done > "$W/samples.txt"
/usr/bin/python3 bench/loss_svg.py "$W"
