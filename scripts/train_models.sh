#!/bin/sh
# scripts/train_models.sh — trains the default models shipped in assets/models/
# from the staged data in ../shared/data, step by step, with the commands and
# settings the shipped files came from (their model cards say what each took).
#   sh scripts/train_models.sh WORKDIR [STEP...]
# Steps (all by default, in this order; each skips what WORKDIR already has):
#   shards    token shards of the raw Bangla + Hindi training text (normalized,
#             assets/spm/bnhi.model) and of the validation text
#   decoder   causal-LM pretraining of the bn+hi decoder (4 blocks, d 256)
#   encoder   MLM pretraining of the bn+hi encoder, warm-started from the
#             decoder (a pre-LN encoder has the decoder's tensors)
#   sets      the prepared sentiment splits (bench/sentiment_bench.py --sets-only)
#             and the NER splits (rifat1493: every 10th training sentence is dev)
#   adapt     a second MLM stage from the encoder (whole-word masking) on the
#             raw text plus the task sets' unlabeled training text three times
#             (scripts/pretrain_mix.py: no dev or test text), into WORK/enc2
#   adapt3    a third MLM stage: WORK/enc2 trained on for 7,000 more steps at
#             lr 3e-4 on the same text, into WORK/enc3
#   tasks     multi-task fine-tuning of WORK/enc3 (ENC=DIR: another encoder;
#             SEED=N: another fine-tuning seed, default 1; DATA_SEED=N:
#             another batch order alone, default SEED):
#             sentiment_bn, sentiment_hi, ner_bn, ner_hi
#   fuse      the count models fused into the heads, each weight chosen on dev:
#             a feature CRF with word clusters (scripts/word_clusters.py on the
#             raw training text and the NER training sentences) into ner_hi and
#             ner_bn (bhasha crf fuse; then the CRF fitted again on train + dev
#             at that weight), an n-gram layer into sentiment_bn and
#             sentiment_hi (bhasha fuse-ngrams, refitted likewise; the AdaGrad
#             layer or naive Bayes, --nb, whichever dev prefers)
#   grow      a twice as deep encoder (8 blocks) grown from the fine-tuned
#             encoder of the fuse step (scripts/grow_encoder.py: each block
#             followed by a copy of itself with zero output projections, so it
#             starts as the same function) and trained on by whole-word MLM on
#             the same text, 6,000 steps at lr 3e-4 in bf16 on two threads,
#             into WORK/enc8
#   tasks8    the tasks step from WORK/enc8 (bf16), into WORK/tasks8
#   fuse8     the fuse step on WORK/tasks8, into WORK/fused8 (the CRFs and the
#             word clusters of the fuse step are reused)
#   soup      the tasks step with several data seeds (DATA_SEEDS="1 2 3", one
#             --seed) averaged into one model, WORK/tasks_soup (bhasha model
#             average)
#   fusesoup  the fuse step on WORK/tasks_soup, into WORK/fused_soup
#   qa        extractive QA from WORK/enc3 (ENC): Hindi wh-questions made from the
#             raw news text, whose answers the fused model's NER finds
#             (scripts/qa_questions.py), + the XQuAD-hi dev half; its test half
#             is the test
#   ship      the copies in assets/models/ (bhasha model convert: the QA model
#             and the decoder --dtype q8, every matrix as int8 rows; the
#             multi-task model --dtype f16-q8, F16 with the heads' hashed
#             tables as sparse int8)
# Runs niced; on a 2-core machine the whole run takes about seven and a half hours.
set -eu
W=${1:?usage: train_models.sh WORKDIR [shards|decoder|encoder|sets|adapt|adapt3|tasks|fuse|grow|tasks8|fuse8|soup|fusesoup|qa|ship ...]}
shift
STEPS=${*:-shards decoder encoder sets adapt adapt3 tasks fuse qa ship}
BUILD=${BUILD:-build}
ENC=${ENC:-$W/enc3} # the encoder the tasks and qa steps fine-tune
BH=$BUILD/bhasha
D=${BH_SHARED:-../shared}/data
R=$D/raw
SPM=assets/spm/bnhi.model
if [ ! -d "$R" ]; then echo "train_models: $R missing: nothing to train on"; exit 1; fi
mkdir -p "$W"
# need PKG...: installs the Debian packages a step needs when they are missing
need() {
    for p in "$@"; do
        [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" = installed ] && continue
        echo "train_models: installing Debian package $p" >&2
        SUDO=
        [ "$(id -u)" = 0 ] || SUDO=sudo
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$p" >/dev/null
    done
}
# weight FILE: the CRF weight a crf fuse report chose
weight() { grep -o '"weight":[0-9.e+-]*' "$1" | cut -d: -f2; }
# mlm_stage OUT INIT STEPS LR [CONFIG [OPTIONS]]: whole-word MLM pretraining on
# WORK/mix from WORK/INIT into WORK/OUT (cosine decay from LR; CONFIG: default
# WORK/enc.json; OPTIONS replace PT's); an interrupted run resumes
# from its last checkpoint when the step is run again; WORK/OUT.done marks the end
mlm_stage() {
    [ -f "$W/$1.done" ] && return 0
    r=
    [ -f "$W/$1/optim.safetensors" ] && r=--resume
    nice -n 5 $BH pretrain --arch encoder --config "${5:-$W/enc.json}" --data "$W/mix" --out "$W/$1" --init "$W/$2" \
        --steps "$3" --seq 128 --lr "$4" --warmup 200 --sched cosine --special 0,1,2,3,4 --mask-rate 0.2 \
        --whole-word $PT ${6:-} $r
    touch "$W/$1.done"
}
PT="--batch 16 --sep 2 --save-every 250 --log-every 20 --threads 1 --valid $W/valid --valid-batches 8 --tokenizer $SPM"

# tasks_step ENC OUT PRECISION: multi-task fine-tuning of the encoder ENC into
# WORK/OUT (SEED=N: another fine-tuning seed, default 1; DATA_SEED=N: another
# batch order alone, default SEED)
tasks_step() {
    S=$W/sets
    N=$D/ner/hi/il-ner-hindi
    B=$D/ner/bn/rifat1493-bengali-ner/test_data.txt
    # IL-NER collapsed to PER/LOC/ORG; rifat1493's TIM (no B-/I-) is not one of them
    nice -n 5 $BH finetune --base "$1" --tokenizer $SPM --task sentiment --head sentiment_bn \
        --train "$S/bn-harmonised-3class/train.tsv" --dev "$S/bn-harmonised-3class/dev.tsv" \
        --test "$S/bn-harmonised-3class/test.tsv" \
        --also "task=sentiment;head=sentiment_hi;train=$S/hi-hsac-amazon/train.tsv;dev=$S/hi-hsac-amazon/dev.tsv;test=$S/hi-hsac-amazon/test.tsv" \
        --also "task=ner;head=ner_bn;train=$W/ner/rifat_train.conll;dev=$W/ner/rifat_dev.conll;test=$B;map=TIM=O;crf" \
        --also "task=ner;head=ner_hi;train=$N/Hindi-train.txt;dev=$N/Hindi-dev.txt;test=$N/Hindi-test.txt;map=NEP=PER,NEL=LOC,NEO=ORG,NEN=O,NETI=O,NEAR=O,NEU=O,NED=O;crf" \
        --on-error skip --epochs 4 --lr 2e-4 --batch 16 --dropout 0.1 --patience 1 --threads 2 --precision "$3" \
        --seed "${SEED:-1}" --data-seed "${DATA_SEED:-${SEED:-1}}" --out "$W/$2" | tee "$W/$2.json"
}
# fuse_step X: the count models fused into the heads of WORK/tasksX, into
# WORK/fusedX (the CRFs and word clusters do not depend on the encoder: made once)
fuse_step() {
    X=$1
    S=$W/sets/bn-harmonised-3class
    N=$D/ner/hi/il-ner-hindi
    B=$D/ner/bn/rifat1493-bengali-ner/test_data.txt
    MAP=NEP=PER,NEL=LOC,NEO=ORG,NEN=O,NETI=O,NEAR=O,NEU=O,NED=O
    # word clusters from fastText vectors (Debian's fasttext, python3-sklearn)
    WC=$W/ner/word_clusters.tsv
    [ -s "$WC" ] || {
        need fasttext python3-numpy python3-sklearn
        nice -n 5 /usr/bin/python3 scripts/word_clusters.py --out "$WC" $R/bn/*/*.train.txt* $R/hi/*/*.train.txt* \
            "$W/ner/rifat_train.conll" "$N/Hindi-train.txt"
    }
    # 2^20 hash rows: fewer collisions than the default 2^18 (the shipped
    # copies keep only the non-zero rows, in int8: model convert f16-q8)
    [ -s "$W/ner/crf_hi.bin" ] || $BH crf train --train "$N/Hindi-train.txt" --dev "$N/Hindi-dev.txt" --map $MAP --bits 20 --clusters "$WC" \
        --out "$W/ner/crf_hi.bin"
    [ -s "$W/ner/crf_bn.bin" ] || $BH crf train --train "$W/ner/rifat_train.conll" --map TIM=O --bits 20 --clusters "$WC" --out "$W/ner/crf_bn.bin"
    # each CRF's weight is chosen on dev; then the CRF is fitted again on
    # train + dev and fused at that weight (as fuse-ngrams refits)
    $BH crf fuse --model "$W/tasks$X" --head ner_hi --crf "$W/ner/crf_hi.bin" --dev "$N/Hindi-dev.txt" \
        --test "$N/Hindi-test.txt" --map $MAP --out "$W/fused_hi_dev$X" | tee "$W/fuse_hi$X.json"
    cat "$N/Hindi-train.txt" "$N/Hindi-dev.txt" > "$W/ner/hi_train_dev.conll"
    [ -s "$W/ner/crf_hi_all.bin" ] || $BH crf train --train "$W/ner/hi_train_dev.conll" --map $MAP --bits 20 --clusters "$WC" --out "$W/ner/crf_hi_all.bin"
    $BH crf fuse --model "$W/tasks$X" --head ner_hi --crf "$W/ner/crf_hi_all.bin" --weight "$(weight "$W/fuse_hi$X.json")" \
        --dev "$N/Hindi-dev.txt" --test "$N/Hindi-test.txt" --map $MAP --out "$W/fused_hi$X" | tee "$W/fuse_hi_all$X.json"
    $BH crf fuse --model "$W/fused_hi$X" --head ner_bn --crf "$W/ner/crf_bn.bin" --dev "$W/ner/rifat_dev.conll" \
        --test "$B" --map TIM=O --out "$W/fused_ner_dev$X" | tee "$W/fuse_bn$X.json"
    cat "$W/ner/rifat_train.conll" "$W/ner/rifat_dev.conll" > "$W/ner/rifat_train_dev.conll"
    [ -s "$W/ner/crf_bn_all.bin" ] || $BH crf train --train "$W/ner/rifat_train_dev.conll" --map TIM=O --bits 20 --clusters "$WC" --out "$W/ner/crf_bn_all.bin"
    $BH crf fuse --model "$W/fused_hi$X" --head ner_bn --crf "$W/ner/crf_bn_all.bin" --weight "$(weight "$W/fuse_bn$X.json")" \
        --dev "$W/ner/rifat_dev.conll" --test "$B" --map TIM=O --out "$W/fused_ner$X" | tee "$W/fuse_bn_all$X.json"
    # each sentiment head: the AdaGrad n-gram layer and the naive Bayes one
    # (--nb), the one with the better dev score kept
    ngrams "$W/fused_ner$X" sentiment_bn "$S" "$W/fused_bn$X" "$W/fuse_sentiment_bn$X"
    ngrams "$W/fused_bn$X" sentiment_hi "$W/sets/hi-hsac-amazon" "$W/fused$X" "$W/fuse_sentiment_hi$X"
}
# ngrams MODEL HEAD SET OUT REPORT: bhasha fuse-ngrams on HEAD of MODEL with
# SET/{train,dev,test}.tsv, once with the AdaGrad layer (REPORT.json, OUT.ada)
# and once with naive Bayes (REPORT_nb.json, OUT.nb); OUT is the one whose
# fused dev macro-F1 is higher (AdaGrad on a tie)
ngrams() {
    $BH fuse-ngrams --model "$1" --head "$2" --train "$3/train.tsv" --dev "$3/dev.tsv" --test "$3/test.tsv" \
        --out "$4.ada" | tee "$5.json"
    $BH fuse-ngrams --nb --model "$1" --head "$2" --train "$3/train.tsv" --dev "$3/dev.tsv" --test "$3/test.tsv" \
        --out "$4.nb" | tee "$5_nb.json"
    devf() { sed 's/.*"dev_macro_f1":{[^}]*"fused":\([0-9.]*\)}.*/\1/' "$1"; }
    k=ada
    [ "$(awk -v a="$(devf "$5.json")" -v b="$(devf "$5_nb.json")" 'BEGIN { print (b > a) }')" = 1 ] && k=nb
    echo "train_models: $2 keeps the $k n-gram layer" >&2
    rm -rf "$4"
    cp -r "$4.$k" "$4"
}

for step in $STEPS; do
case $step in
shards)
    sh bench/encode_shards.sh "$W"
    ;;
decoder)
    cat > "$W/dec.json" <<'JSON'
{"arch":"decoder","vocab":16000,"max_len":128,"dim":256,"layers":4,"heads":4,"ffn":1024,"dropout":0.0}
JSON
    [ -f "$W/dec/model.safetensors" ] || nice -n 10 $BH pretrain --arch decoder --config "$W/dec.json" \
        --data "$W/train" --out "$W/dec" --steps 2000 --seq 127 --lr 1e-3 --warmup 50 --sched cosine $PT
    [ -f "$W/dec2/model.safetensors" ] || nice -n 10 $BH pretrain --arch decoder --config "$W/dec.json" \
        --data "$W/train" --out "$W/dec2" --init "$W/dec" --steps 1500 --seq 127 --lr 5e-4 --warmup 50 --sched cosine $PT
    ;;
encoder)
    cat > "$W/enc.json" <<'JSON'
{"arch":"encoder","vocab":16000,"max_len":128,"dim":256,"layers":4,"heads":4,"ffn":1024,"dropout":0.0,"pre_ln":1,"pad_id":3,"mask_id":4}
JSON
    [ -f "$W/enc/model.safetensors" ] || nice -n 5 $BH pretrain --arch encoder --config "$W/enc.json" \
        --data "$W/train" --out "$W/enc" --init "$W/dec" --steps 4000 --seq 128 --lr 5e-4 --warmup 100 \
        --sched cosine --special 0,1,2,3,4 --mask-rate 0.2 $PT
    ;;
adapt)
    mkdir -p "$W/mix"
    [ -s "$W/mix/mix.tok" ] || {
        /usr/bin/python3 scripts/pretrain_mix.py "$D" "$W/sets" "$W/ner" 3 > "$W/mix.txt"
        $BUILD/bench/engine_encode $SPM "$W/mix/mix.tok" 200000000 "$W/mix.txt"
        rm -f "$W/mix.txt"
    }
    # long (about 2.3 hours on one free thread)
    mlm_stage enc2 enc 10000 5e-4
    ;;
adapt3)
    # about 95 minutes on one thread beside other jobs
    mlm_stage enc3 enc2 7000 3e-4
    ;;
sets)
    need python3-numpy python3-sklearn
    [ -d "$W/sets/bn-harmonised-3class" ] || /usr/bin/python3 bench/sentiment_bench.py $BH "$D" "$W/sets" --sets-only
    mkdir -p "$W/ner"
    N=$D/ner/bn/rifat1493-bengali-ner
    awk -v RS= -v ORS='\n\n' 'NR % 10 != 0' "$N/train_data.txt" > "$W/ner/rifat_train.conll"
    awk -v RS= -v ORS='\n\n' 'NR % 10 == 0' "$N/train_data.txt" > "$W/ner/rifat_dev.conll"
    ;;
tasks)
    tasks_step "$ENC" tasks f32
    ;;
fuse)
    fuse_step ""
    ;;
grow)
    # a twice as deep encoder: the fine-tuned encoder of the fuse step
    # (WORK/fused) with each block followed by a copy of itself whose output
    # projections are zero (scripts/grow_encoder.py: the same function at
    # step 0), trained on by whole-word MLM on the same text for 6,000 steps
    # at lr 3e-4 (bf16 on two threads: about 50 minutes), into WORK/enc8
    [ -f "$W/grow8/model.safetensors" ] || /usr/bin/python3 scripts/grow_encoder.py "$W/fused" "$W/grow8"
    sed 's/"layers":4/"layers":8/' "$W/enc.json" > "$W/enc8.json"
    mlm_stage enc8 grow8 6000 3e-4 "$W/enc8.json" "--threads 2 --precision bf16"
    ;;
tasks8)
    tasks_step "$W/enc8" tasks8 bf16
    ;;
fuse8)
    fuse_step 8
    ;;
soup)
    # a "model soup": the tasks step once a data seed (DATA_SEEDS, default
    # "1 2 3"; --seed stays 1, so every run starts from the same heads) from
    # ENC, into WORK/tasks_dN, and their weights averaged into
    # WORK/tasks_soup (bhasha model average); docs/models.md has the scores
    ins=
    for s in ${DATA_SEEDS:-1 2 3}; do
        [ -f "$W/tasks_d$s/model.safetensors" ] || { DATA_SEED=$s; tasks_step "$ENC" "tasks_d$s" f32; }
        ins="$ins --in $W/tasks_d$s"
    done
    $BH model average $ins --out "$W/tasks_soup"
    ;;
fusesoup)
    fuse_step _soup
    ;;
qa)
    # training: wh-questions from the raw Hindi news training text (its
    # entities, numbers and short spans asked about in place: "X ने Y जीता" ->
    # "किसने Y जीता ?"), annotated by the fused model of the fuse step, + the
    # dev half of XQuAD-hi twice (its test half stays unseen; the epoch count
    # is fixed, so the dev half picks nothing)
    H=$R/hi
    [ -s "$W/hi_ner.jsonl" ] || cat $H/bbc-hindi-news-test/bbc_hindi_news.train.txt \
        $H/covid19-hindi-news-2020/covid19_hindi_news.train.txt |
        nice -n 5 $BH annotate --model "$W/fused" --stages sentences,words,ner --quiet > "$W/hi_ner.jsonl"
    [ -s "$W/wh.jsonl" ] || /usr/bin/python3 scripts/qa_questions.py "$W/hi_ner.jsonl" --seed 1 --max 10000 > "$W/wh.jsonl"
    [ -s "$W/xq_dev.json" ] || $BH corpus squad-split --dev "$W/xq_dev.json" --test "$W/xq_test.json" $D/qa/hi/xquad-hi/xquad.hi.json
    /usr/bin/python3 - "$W/xq_dev.json" > "$W/xq_dev.jsonl" <<'PY'
import json, sys
for a in json.load(open(sys.argv[1]))["data"]:
    for p in a["paragraphs"]:
        for q in p["qas"]:
            print(json.dumps({"id": q["id"], "context": p["context"], "question": q["question"],
                              "answers": q["answers"]}, ensure_ascii=False))
PY
    cat "$W/wh.jsonl" "$W/xq_dev.jsonl" "$W/xq_dev.jsonl" > "$W/qa_train.jsonl"
    nice -n 5 $BH finetune --task qa --base "$ENC" --tokenizer $SPM --train "$W/qa_train.jsonl" \
        --dev "$W/xq_dev.json" --test "$W/xq_test.json" --max-len 128 --stride 32 --epochs 3 --batch 16 \
        --lr 3e-4 --threads 2 --patience 0 --sentence --echo-penalty 10 --type-penalty 10 --out "$W/qa" | tee "$W/qa.json"
    ;;
ship)
    mkdir -p assets/models
    # convert copies finetune.json and the files it names (the word clusters) too
    $BH model convert --in "$W/fused" --out assets/models/bhasha-bnhi --dtype f16-q8
    $BH model convert --in "$W/qa" --out assets/models/bhasha-qa-hi --dtype q8
    $BH model convert --in "$W/dec2" --out assets/models/bhasha-gen-bnhi --dtype q8
    du -sh assets/models/*
    ;;
*) echo "train_models: unknown step $step"; exit 2 ;;
esac
done
