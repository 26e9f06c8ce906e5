#!/bin/sh
# tests/t_model.sh — `bhasha pretrain` and `bhasha generate` end to end on a
# toy counting corpus (tests/fixtures/model/count.tok): the decoder learns to
# count, --resume reproduces the losses of an uninterrupted run exactly, the
# encoder trains with MLM, and bad input fails with one clear line.
. tests/tap.sh
D=$(mktemp -d "${BUILD:-build}/t_model.XXXXXX")
trap 'rm -rf "$D"' EXIT
SH=tests/fixtures/model/count.tok
cat > "$D/dec.json" <<'JSON'
{"arch":"decoder","vocab":32,"max_len":16,"dim":32,"layers":2,"heads":4,"ffn":64,"dropout":0.1}
JSON
cat > "$D/enc.json" <<'JSON'
{"arch":"encoder","vocab":32,"max_len":16,"dim":32,"layers":2,"heads":4,"ffn":64,"mask_id":1}
JSON
TR="--data $SH --steps 60 --batch 8 --seq 15 --lr 3e-3 --warmup 5 --sep 0 --log-every 20 --save-every 25"
ok "decoder pretrain" $BH pretrain --arch decoder --config "$D/dec.json" $TR --out "$D/a"
$BH pretrain --arch decoder --config "$D/dec.json" $TR --out "$D/a" > "$D/a.txt" 2>/dev/null
$BH pretrain --arch decoder --config "$D/dec.json" $TR --out "$D/b" --stop-after 30 > "$D/b.txt" 2>/dev/null
$BH pretrain $TR --out "$D/b" --resume >> "$D/b.txt" 2>"$D/resume.err"
is "resume reproduces every loss" "$(cmp "$D/a.txt" "$D/b.txt" >/dev/null 2>&1 && echo same)" "same"
is "60 loss lines" "$(wc -l < "$D/a.txt" | tr -d ' ')" "60"
last=$(tail -1 "$D/a.txt" | awk '{print ($4 < 2.2) ? "learned" : $4}')
is "decoder loss falls below 2.2" "$last" "learned"
is "progress on stderr" "$(grep -c 'tok/s' "$D/resume.err")" "2"
is "greedy generation counts" "$($BH generate --model "$D/a" --ids "5 6 7" --max-new 6)" "5 6 7 8 9 10 11 12 13"
out=$($BH generate --model "$D/a" --ids "5 6 7" --max-new 5 --temperature 0.8 --top-k 5 --top-p 0.9 --repetition-penalty 1.2 --seed 3)
is "sampled generation length" "$(echo "$out" | wc -w | tr -d ' ')" "8"
ok "encoder MLM pretrain" $BH pretrain --arch encoder --config "$D/enc.json" --data $SH --steps 10 --batch 4 --seq 16 --sep 0 --special 0,1 --out "$D/e"
# warm start: a pre-LN encoder has the decoder's tensors (the weights copied
# are checked in test_model.c; here the command line)
printf '{"arch":"encoder","vocab":32,"max_len":16,"dim":32,"layers":2,"heads":4,"ffn":64,"mask_id":1,"pre_ln":1}' > "$D/encp.json"
ok "--init: a pre-LN encoder starts from the decoder" $BH pretrain --arch encoder --config "$D/encp.json" --data $SH \
    --steps 2 --batch 8 --seq 16 --sep 0 --special 0,1 --out "$D/ew" --init "$D/a"
# scripts/grow_encoder.py: twice the blocks, the same function (the copies'
# output projections are zero), so the same validation loss before training
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    /usr/bin/python3 scripts/grow_encoder.py "$D/ew" "$D/g" 2> /dev/null
    is "grow_encoder: twice the blocks" "$?:$(grep -c '"layers": 4' "$D/g/config.json")" "0:1"
    sed 's/"layers":2/"layers":4/' "$D/encp.json" > "$D/enc4.json"
    VL="--data $SH --steps 1 --batch 8 --seq 16 --sep 0 --special 0,1 --lr 1e-12 --valid $SH --valid-batches 2 --save-every 1"
    v2=$($BH pretrain --arch encoder --config "$D/encp.json" $VL --out "$D/v2" --init "$D/ew" 2> /dev/null | grep '^valid')
    v4=$($BH pretrain --arch encoder --config "$D/enc4.json" $VL --out "$D/v4" --init "$D/g" 2> /dev/null | grep '^valid')
    is "grow_encoder: the grown encoder's validation loss is the original's" "${v4:-none}" "${v2:-missing}"
    fails "grow_encoder: a decoder" /usr/bin/python3 scripts/grow_encoder.py "$D/a" "$D/gx"
else
    skip "grow_encoder" "needs python3-numpy"
fi
$BH pretrain --arch encoder --config "$D/enc.json" --data $SH --steps 2 --batch 8 --seq 16 --sep 0 --out "$D/ex" --init "$D/a" > /dev/null 2> "$D/err"
is "--init from a model of another layout: one error line naming the tensor" "$?:$(wc -l < "$D/err" | tr -d ' '):$(grep -c 'tensor ln_e' "$D/err")" "1:1:1"
if [ -f assets/spm/bn.model ]; then
    printf '{"arch":"encoder","vocab":8000,"max_len":16,"dim":16,"layers":1,"heads":2,"ffn":32,"mask_id":4}' > "$D/enc8k.json"
    ok "whole-word MLM with a SentencePiece model" $BH pretrain --arch encoder --config "$D/enc8k.json" --data $SH --steps 3 --batch 2 --seq 16 --sep 0 --special 0,1 --whole-word --tokenizer assets/spm/bn.model --out "$D/w"
else
    skip "whole-word MLM with a SentencePiece model" "assets/spm/bn.model missing"
fi
# a checkpoint torn by a stop between its two files (the weights of step 60,
# the optimizer state of step 30): resume refuses it in one line
$BH pretrain --arch decoder --config "$D/dec.json" $TR --out "$D/torn" --stop-after 30 > /dev/null 2>&1
cp "$D/a/model.safetensors" "$D/torn/model.safetensors"
cp "$D/torn/optim.safetensors" "$D/torn.optim"
$BH pretrain $TR --out "$D/torn" --resume --steps 70 > /dev/null 2> "$D/err"
is "a torn checkpoint: resume refuses it in one line" \
    "$?:$(wc -l < "$D/err" | tr -d ' '):$(grep -c 'not those this optimizer state was saved with' "$D/err")" "1:1:1"
ok "a torn checkpoint: left as it was" cmp "$D/torn/optim.safetensors" "$D/torn.optim"
# A NaN weight (wte[0]): the checkpoint is refused when read, naming the tensor
cp -r "$D/b" "$D/n"
hl=$(od -An -tu4 -N4 "$D/n/model.safetensors" | tr -d ' ')
printf '\000\000\300\177' | dd of="$D/n/model.safetensors" bs=1 seek=$((8 + hl)) conv=notrunc 2>/dev/null
$BH pretrain $TR --out "$D/n" --resume --steps 70 >/dev/null 2>"$D/err"
is "a NaN weight: resume refuses it in one line naming the tensor" \
    "$?:$(wc -l < "$D/err" | tr -d ' '):$(grep -c 'model.safetensors: tensor wte: element 0 is NaN' "$D/err")" "1:1:1"
# model convert: a NaN is BH_ENUMERIC naming the tensor, and nothing is written
$BH model convert --in "$D/n" --out "$D/nc" --dtype q8 > /dev/null 2> "$D/err"
is "convert: a NaN weight is one error line naming the tensor" \
    "$?:$(wc -l < "$D/err" | tr -d ' '):$(grep -c 'NaN or Inf in a computation: .*tensor wte: element 0 is NaN' "$D/err")" "1:1:1"
ok "convert: nothing written for it" test ! -e "$D/nc/model.safetensors"
# 3e38 instead: finite, so the weights load, and the loss overflows: training
# stops with the step number, the checkpoint stays (the weights edited, the
# optimizer state no longer matches them: a run from them with --init)
cp -r "$D/b" "$D/n2"
printf '\346\261\141\177' | dd of="$D/n2/model.safetensors" bs=1 seek=$((8 + hl)) conv=notrunc 2>/dev/null
cp "$D/n2/model.safetensors" "$D/n.before"
$BH pretrain --arch decoder --config "$D/dec.json" $TR --out "$D/n2" --init "$D/n2" >/dev/null 2>"$D/err"
is "NaN loss stops training" "$?:$(grep -c 'step 1: loss is nan' "$D/err")" "1:1"
ok "last good checkpoint intact" cmp "$D/n2/model.safetensors" "$D/n.before"
# ... and F16 cannot hold it: convert to f16 names the tensor, f32 keeps it
$BH model convert --in "$D/n2" --out "$D/nc" --dtype f16 > /dev/null 2> "$D/err"
is "convert f16: a weight past 65504 is one error line naming the tensor" \
    "$?:$(wc -l < "$D/err" | tr -d ' '):$(grep -c "size limit exceeded: .*tensor wte: element 0 is 3e+38, beyond F16's range" "$D/err")" "1:1:1"
ok "convert f32: the same weights pass" $BH model convert --in "$D/n2" --out "$D/nc" --dtype f32
# The shipped fused model converted keeps its fine-tuning settings
# (finetune.json) and the word clusters they name, so it tags exactly as
# before; the QA model keeps its window and sentence settings.
M=assets/models
if [ -f "$M/bhasha-bnhi/finetune.json" ] && [ -f "$M/bhasha-qa-hi/finetune.json" ]; then
    printf 'শেখ হাসিনা ঢাকায় ফিরেছেন। রবীন্দ্রনাথ ঠাকুর কলকাতায় জন্মগ্রহণ করেন।\nनरेंद्र मोदी ने दिल्ली में भाषण दिया। सचिन तेंदुलकर मुंबई में रहते हैं।\n' > "$D/ner.txt"
    $BH ner --model "$M/bhasha-bnhi" < "$D/ner.txt" > "$D/ner0.jsonl" 2> /dev/null
    is "the shipped fused model finds entities in both lines" "$(grep -c '^{"entities":\[{' "$D/ner0.jsonl")" "2"
    for dt in f16-q8 f32; do
        $BH model convert --in "$M/bhasha-bnhi" --out "$D/bnhi-$dt" --dtype $dt 2> "$D/err"
        is "convert the fused model to $dt: exit 0" "$?" "0"
        ok "convert $dt: finetune.json kept" cmp -s "$M/bhasha-bnhi/finetune.json" "$D/bnhi-$dt/finetune.json"
        ok "convert $dt: the word clusters it names kept" cmp -s "$M/bhasha-bnhi/word_clusters.tsv" "$D/bnhi-$dt/word_clusters.tsv"
        $BH ner --model "$D/bnhi-$dt" < "$D/ner.txt" > "$D/ner1.jsonl" 2> /dev/null
        is "convert $dt: the same entities and scores" "$(cat "$D/ner1.jsonl")" "$(cat "$D/ner0.jsonl")"
    done
    printf '%s\n' '{"context":"ताजमहल आगरा शहर में है। यह सफेद संगमरमर से बना है। शाहजहाँ ने इसे बनवाया था।","question":"ताजमहल किसने बनवाया?"}' \
        '{"context":"भारत की राजधानी नई दिल्ली है। मुंबई सबसे बड़ा शहर है।","question":"भारत का सबसे बड़ा शहर कौन सा है?"}' > "$D/q.jsonl"
    $BH qa --model "$M/bhasha-qa-hi" < "$D/q.jsonl" > "$D/qa0.jsonl" 2> /dev/null
    is "the shipped QA model answers both" "$(grep -c '^{"answer":"[^"]' "$D/qa0.jsonl")" "2"
    $BH model convert --in "$M/bhasha-qa-hi" --out "$D/qa" --dtype q8 2> "$D/err"
    ok "convert the QA model: finetune.json kept" cmp -s "$M/bhasha-qa-hi/finetune.json" "$D/qa/finetune.json"
    $BH qa --model "$D/qa" < "$D/q.jsonl" > "$D/qa1.jsonl" 2> /dev/null
    is "convert the QA model: the same answers" "$(cat "$D/qa1.jsonl")" "$(cat "$D/qa0.jsonl")"
else
    skip "convert keeps finetune.json" "$M/bhasha-bnhi or $M/bhasha-qa-hi missing"
fi
# bad input: one line on stderr, non-zero status
head -c 100 $SH > "$D/trunc.tok"
$BH pretrain --arch decoder --config "$D/dec.json" --data "$D/trunc.tok" --out "$D/c" --steps 5 --batch 8 --seq 15 >/dev/null 2>"$D/err"
rc=$?
is "truncated shard fails" "$rc:$(wc -l < "$D/err" | tr -d ' ')" "1:1"
ok "error names the shard" grep -q trunc.tok "$D/err"
printf '{"arch":"decoder","vocab":32,"dim":30,"heads":4}' > "$D/bad.json"
$BH pretrain --arch decoder --config "$D/bad.json" --data $SH --out "$D/c" >/dev/null 2>"$D/err"
is "bad config fails" "$?:$(wc -l < "$D/err" | tr -d ' ')" "1:1"
head -c 3000 "$D/a/model.safetensors" > "$D/a/m2" && mv "$D/a/m2" "$D/a/model.safetensors"
$BH generate --model "$D/a" --ids "5 6" >/dev/null 2>"$D/err"
is "truncated checkpoint fails" "$?:$(wc -l < "$D/err" | tr -d ' ')" "1:1"
$BH generate --model "$D/b" --ids "5 99" >/dev/null 2>"$D/err"
is "out-of-range prompt id: usage error" "$?:$(wc -l < "$D/err" | tr -d ' ')" "2:1"
$BH generate --model "$D/e" --ids "5 6" >/dev/null 2>"$D/err"
is "generate refuses an encoder" "$?" "2"
# numbers are read whole: "abc" or "3x" was taken as 0 or 3 before
$BH generate --model "$D/b" --ids "5 abc" >/dev/null 2>"$D/err"
is "generate: a prompt id that is not a number is a usage error" "$?:$(grep -c -- '--ids abc' "$D/err")" "2:1"
$BH generate --model "$D/b" --ids "5" --max-new 3x >/dev/null 2>"$D/err"
is "generate: --max-new 3x is a usage error" "$?:$(wc -l < "$D/err" | tr -d ' ')" "2:1"
$BH generate --model "$D/b" --ids "5" --eos 32 >/dev/null 2>"$D/err"
is "generate: an --eos past the vocabulary is a usage error" "$?:$(grep -c 'not a token id' "$D/err")" "2:1"
$BH pretrain --arch decoder --config "$D/bad.json" --data $SH --out "$D/c" --batch 8x >/dev/null 2>"$D/err"
is "pretrain: --batch 8x is a usage error" "$?:$(grep -c -- '--batch 8x' "$D/err")" "2:1"
$BH pretrain --arch decoder --config "$D/bad.json" --data $SH --out "$D/c" --batch 2.5 >/dev/null 2>"$D/err"
is "pretrain: --batch 2.5 is a usage error (was read as 2)" "$?:$(grep -c -- '--batch 2.5: expected a whole number' "$D/err")" "2:1"
$BH generate --model "$D/b" --ids "5 6.5" >/dev/null 2>"$D/err"
is "generate: a fractional prompt id is a usage error" "$?:$(grep -c -- '--ids 6.5' "$D/err")" "2:1"
$BH pretrain --arch decoder --config "$D/bad.json" --data $SH --out "$D/c" --seed -3 >/dev/null 2>"$D/err"
is "pretrain: a negative --seed is a usage error" "$?:$(wc -l < "$D/err" | tr -d ' ')" "2:1"
# bhasha bench model: one JSON line per workload; bad options fail with one line
out=$($BH bench model --arch encoder --config "$D/enc.json" --batch 2 --seq 8 --reps 1)
is "bench model: one JSON line" "$(echo "$out" | grep -c '^{"bench":"[^"]*","mode":"infer".*"tok_s":[0-9]')" "1"
out=$($BH bench model --arch decoder --config "$D/dec.json" --seq 4 --generate 3)
is "bench model --generate" "$(echo "$out" | grep -c '"mode":"generate".*"new":3')" "1"
out=$($BH bench model --arch decoder --config "$D/dec.json" --batch 2 --seq 8 --reps 1 --train)
is "bench model --train" "$(echo "$out" | grep -c '"bench":"train-.*"mode":"train"')" "1"
fails "bench model: --config of the other architecture" $BH bench model --arch encoder --config "$D/dec.json"
fails "bench model: unknown config" $BH bench model --arch encoder --config no-such-config
fails "bench model: --generate on an encoder" $BH bench model --arch encoder --config "$D/enc.json" --generate 2
fails "bench model: past max_len" $BH bench model --arch encoder --config "$D/enc.json" --seq 17
fails "bench model: bad precision" $BH bench model --arch encoder --config "$D/enc.json" --precision f8
is "bench model: the bad precision named" "$(grep -c "unknown precision 'f8'" "$D/err")" "1"
fails "bench: no subcommand" $BH bench
if $BH --version | grep -q "bf16 available"; then
    out=$($BH bench model --arch encoder --config "$D/enc.json" --batch 2 --seq 8 --reps 1 --precision bf16)
    is "bench model --precision bf16" "$(echo "$out" | grep -c '"precision":"bf16"')" "1"
    # training in bf16: the decoder still learns to count, the progress line
    # says so, and a bf16 run resumes an fp32 checkpoint (the state is fp32)
    $BH pretrain --arch decoder --config "$D/dec.json" $TR --out "$D/h" --precision bf16 > "$D/h.txt" 2> "$D/h.err"
    last=$(tail -1 "$D/h.txt" | awk '{print ($4 < 2.2) ? "learned" : $4}')
    is "pretrain --precision bf16: loss falls below 2.2" "$last" "learned"
    is "pretrain --precision bf16: said on stderr" "$(grep -c 'bf16 products' "$D/h.err")" "1"
    $BH pretrain --arch decoder --config "$D/dec.json" $TR --out "$D/hb" --stop-after 30 > /dev/null 2>&1
    ok "pretrain --precision bf16 resumes an fp32 run" $BH pretrain $TR --out "$D/hb" --resume --precision bf16
else
    fails "bench model --precision bf16 without AVX512-BF16" $BH bench model --arch encoder --config "$D/enc.json" --precision bf16
    $BH pretrain --arch decoder --config "$D/dec.json" $TR --out "$D/h" --precision bf16 > /dev/null 2> "$D/err"
    is "pretrain --precision bf16 without AVX512-BF16: one error line" "$?:$(wc -l < "$D/err" | tr -d ' ')" "1:1"
fi
$BH pretrain --arch decoder --config "$D/dec.json" $TR --out "$D/h8" --precision f8 > /dev/null 2> "$D/err"
is "pretrain --precision f8: a usage error naming it" "$?:$(wc -l < "$D/err" | tr -d ' '):$(grep -c "unknown precision 'f8'" "$D/err")" "2:1:1"
done_testing
