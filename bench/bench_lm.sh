#!/bin/sh
# bench/bench_lm.sh — validation perplexity per language of a decoder trained
# by bench/engine_pretrain.sh, beside interpolated Kneser-Ney baselines
# (orders 3 and 4) counted on the same training text and scored on the same
# tokens, plus ten sample continuations per language (prompts: the first three
# words of the first ten validation documents with at least eight words).
#   sh bench/bench_lm.sh WORKDIR      (WORKDIR/dec from engine_pretrain.sh)
# Writes WORKDIR/lm.txt (table) and WORKDIR/lm_samples.txt.
set -eu
W=${1:?usage: bench_lm.sh WORKDIR}
BUILD=${BUILD:-build}
BH=${BH:-$BUILD/bhasha}
R=${BH_SHARED:-../shared}/data/raw
SPM=assets/spm/bnhi.model
if [ ! -d "$R" ]; then echo "bench_lm: $R missing: skipped"; exit 0; fi
if [ ! -f "$W/dec/config.json" ]; then echo "bench_lm: no decoder in $W/dec (run bench/engine_pretrain.sh first)"; exit 1; fi
# the training text of engine_pretrain.sh
TRAIN="$R/bn/prothomalo-ittefaq-news-2026/bn_news.train.txt,$R/hi/covid19-hindi-news-2020/covid19_hindi_news.train.txt"
TRAIN="$TRAIN,$R/bn/sachalayatan-blog/sachalayatan.train.txt.gz,$R/hi/hindi-discourse-stories/hindi_discourse_stories.train.txt"
TRAIN="$TRAIN,$R/hi/bbc-hindi-news-test/bbc_hindi_news.train.txt,$R/bn/istishon-blog/istishon.train.txt.gz"
TRAIN="$TRAIN,$R/hi/hindi-aesthetics-corpus/hindi_aesthetics.train.txt.gz"
{
    cat "$R/bn/prothomalo-ittefaq-news-2026/bn_news.valid.txt"
    zcat "$R/bn/sachalayatan-blog/sachalayatan.valid.txt.gz" "$R/bn/istishon-blog/istishon.valid.txt.gz"
} >"$W/valid_bn.txt"
{
    cat "$R/hi/covid19-hindi-news-2020/covid19_hindi_news.valid.txt" \
        "$R/hi/hindi-discourse-stories/hindi_discourse_stories.valid.txt" "$R/hi/bbc-hindi-news-test/bbc_hindi_news.valid.txt"
    zcat "$R/hi/hindi-aesthetics-corpus/hindi_aesthetics.valid.txt.gz"
} >"$W/valid_hi.txt"
ppl() { sed 's/.*"perplexity":\([0-9.]*\).*"tokens":\([0-9]*\).*/\1 \2/'; }
{
    printf '%-4s %10s %12s %12s %12s\n' lang tokens decoder kn-3 kn-4
    for l in bn hi; do
        set -- $("$BH" eval lm --model "$W/dec" --data "$W/valid_$l.txt" --spm $SPM | ppl)
        d=$1 n=$2
        k3=$("$BH" eval lm --kn 3 --train "$TRAIN" --data "$W/valid_$l.txt" --spm $SPM | ppl | cut -d' ' -f1)
        k4=$("$BH" eval lm --kn 4 --train "$TRAIN" --data "$W/valid_$l.txt" --spm $SPM | ppl | cut -d' ' -f1)
        printf '%-4s %10s %12s %12s %12s\n' $l "$n" "$d" "$k3" "$k4"
    done
} | tee "$W/lm.txt"
for l in bn hi; do
    awk 'NF >= 8 { print $1, $2, $3; if (++n == 10) exit }' "$W/valid_$l.txt" | while IFS= read -r p; do
        printf '== %s\n' "$p"
        "$BH" generate --model "$W/dec" --prompt "$p" --max-new 30 --temperature 0.8 --top-k 40 --top-p 0.95 \
            --repetition-penalty 1.2 --seed 7
        echo
    done
done >"$W/lm_samples.txt"
echo "samples: $W/lm_samples.txt"
