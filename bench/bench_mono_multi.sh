#!/bin/sh
# bench/bench_mono_multi.sh — the monolingual vs. multilingual question at our
# scale (issue 6): encoders of the same size and pretraining budget, one on
# Bangla text only, one on Hindi only, one on both, each fine-tuned with the
# same settings on every task of its language(s) (a two-task run per
# language: sentiment + NER with a CRF), test scores side by side with the
# compute each took.
#   [EPOCHS=2] [SEED=1] [ONLY=bn|hi] sh bench/bench_mono_multi.sh WORKDIR ENC_BN ENC_HI ENC_JOINT
# ONLY runs one language's fine-tunes (its two encoders) and leaves the
# other language's cells empty ("–").
# SEED is the fine-tuning seed (head initialization, shuffling, dropout):
# runs with several seeds on the same encoders show the fine-tuning noise.
# WORKDIR holds the prepared splits of scripts/train_models.sh's `sets` step
# (WORKDIR/sets, WORKDIR/ner). The encoders come from `bhasha pretrain` runs
# that differ only in --data (bench/pretrain_mono_multi.sh makes them; their
# logs, ENC.log/ENC.err beside them, give the pretraining time). Writes
# WORKDIR/mono_multi.md; runs niced, 2 threads. Each fine-tune keeps its
# summary line in WORKDIR/mm/RUN_eEPOCHS_sSEED.summary and a later call with
# the same EPOCHS and SEED reuses it, so a table can be filled one run at a
# time (e.g. the joint encoder's runs while the Hindi-only one still trains).
set -eu
W=${1:?usage: bench_mono_multi.sh WORKDIR ENC_BN ENC_HI ENC_JOINT}
EBN=${2:?} EHI=${3:?} EJ=${4:?}
BUILD=${BUILD:-build}
BH=$BUILD/bhasha
D=${BH_SHARED:-../shared}/data
SPM=assets/spm/bnhi.model
S=$W/sets
N=$D/ner/hi/il-ner-hindi
case ${ONLY:-} in ''|bn|hi) ;; *) echo "bench_mono_multi: ONLY is bn or hi, not $ONLY"; exit 2 ;; esac
if [ ! -d "$S/bn-harmonised-3class" ] || [ ! -f "$W/ner/rifat_train.conll" ]; then
    echo "bench_mono_multi: run scripts/train_models.sh $W sets first"; exit 1
fi
COMMON="--tokenizer $SPM --on-error skip --epochs ${EPOCHS:-2} --seed ${SEED:-1} --lr 2e-4 --batch 16 --dropout 0.1 --patience 0 --threads 2 --log-every 1000"
bn() { # encoder, out
    nice -n 5 $BH finetune --base "$1" $COMMON --task sentiment --head sentiment_bn \
        --train "$S/bn-harmonised-3class/train.tsv" --dev "$S/bn-harmonised-3class/dev.tsv" \
        --test "$S/bn-harmonised-3class/test.tsv" \
        --also "task=ner;head=ner_bn;train=$W/ner/rifat_train.conll;dev=$W/ner/rifat_dev.conll;test=$D/ner/bn/rifat1493-bengali-ner/test_data.txt;map=TIM=O;crf" \
        --out "$2" 2> "$2.err" | tail -1
}
hi() {
    nice -n 5 $BH finetune --base "$1" $COMMON --task sentiment --head sentiment_hi \
        --train "$S/hi-hsac-amazon/train.tsv" --dev "$S/hi-hsac-amazon/dev.tsv" --test "$S/hi-hsac-amazon/test.tsv" \
        --also "task=ner;head=ner_hi;train=$N/Hindi-train.txt;dev=$N/Hindi-dev.txt;test=$N/Hindi-test.txt;map=NEP=PER,NEL=LOC,NEO=ORG,NEN=O,NETI=O,NEAR=O,NEU=O,NED=O;crf" \
        --out "$2" 2> "$2.err" | tail -1
}
# "test_score" of the k-th task, and the run's seconds, from a summary line
score() { echo "$1" | tr '{' '\n' | grep '"head"' | sed -n "${2}p" | sed 's/.*"test_score":\([0-9.]*\).*/\1/'; }
secs() { echo "$1" | sed 's/.*"seconds":\([0-9.]*\).*/\1/'; }
# pretraining steps, from the run's own log (ENC.log beside ENC: its last
# "step N loss X" line, so a resumed run's repeated steps count once)
pre() { sed -n 's/^step \([0-9]*\) .*/\1/p' "$1.log" | tail -n 1; }
pct() { awk -v x="$1" 'BEGIN{printf "%.2f", 100 * x}'; }
f2() { awk -v x="$1" 'BEGIN{printf "%.2f", x}'; }
# a run's cells: its sentiment score, NER score, seconds; – for a run ONLY skipped
sen() { if [ -n "$1" ]; then pct "$(score "$1" 1)"; else echo –; fi; }
ner() { if [ -n "$1" ]; then f2 "$(score "$1" 2)"; else echo –; fi; }
sec() { if [ -n "$1" ]; then secs "$1"; else echo –; fi; }
# run LANG ENCODER NAME: one fine-tune's summary line, reused when kept
run() {
    o=$W/mm/$3_e${EPOCHS:-2}_s${SEED:-1}
    if [ ! -s "$o.summary" ]; then
        $1 "$2" "$o" > "$o.summary.tmp"
        mv "$o.summary.tmp" "$o.summary"
    fi
    cat "$o.summary"
}
mkdir -p "$W/mm"
r_bn_bn= r_j_bn= r_hi_hi= r_j_hi=
if [ "${ONLY:-bn}" = bn ]; then
    r_bn_bn=$(run bn "$EBN" bn_bn)
    r_j_bn=$(run bn "$EJ" joint_bn)
fi
if [ "${ONLY:-hi}" = hi ]; then
    r_hi_hi=$(run hi "$EHI" hi_hi)
    r_j_hi=$(run hi "$EJ" joint_hi)
fi
{
    echo "| encoder (pretraining data) | pretraining steps | bn sentiment macro-F1 | bn NER F1 | hi sentiment macro-F1 | hi NER F1 | fine-tuning s |"
    echo "|---|---|---|---|---|---|---|"
    printf '| Bangla only | %s | %s | %s | – | – | %s |\n' "$(pre "$EBN")" \
        "$(sen "$r_bn_bn")" "$(ner "$r_bn_bn")" "$(sec "$r_bn_bn")"
    printf '| Hindi only | %s | – | – | %s | %s | %s |\n' "$(pre "$EHI")" \
        "$(sen "$r_hi_hi")" "$(ner "$r_hi_hi")" "$(sec "$r_hi_hi")"
    printf '| Bangla + Hindi | %s | %s | %s | %s | %s | %s + %s |\n' "$(pre "$EJ")" \
        "$(sen "$r_j_bn")" "$(ner "$r_j_bn")" "$(sen "$r_j_hi")" "$(ner "$r_j_hi")" \
        "$(sec "$r_j_bn")" "$(sec "$r_j_hi")"
} | tee "$W/mono_multi.md"
