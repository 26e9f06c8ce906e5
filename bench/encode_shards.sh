#!/bin/sh
# bench/encode_shards.sh — token shards of the staged Bangla + Hindi raw text
# for pretraining (bench/engine_pretrain.sh, scripts/train_models.sh):
# WORKDIR/train/bnhi.tok from every training file, one line from each file in
# turn, and WORKDIR/valid/bnhi.tok from two validation files, each line through
# bh_normalize and assets/spm/bnhi.model (bench/engine_encode). Skips a shard
# that exists.
#   sh bench/encode_shards.sh WORKDIR
set -eu
W=${1:?usage: encode_shards.sh WORKDIR}
BUILD=${BUILD:-build}
ENC=${ENGINE_ENCODE:-$BUILD/bench/engine_encode}
R=${BH_SHARED:-../shared}/data/raw
SPM=assets/spm/bnhi.model
mkdir -p "$W/train" "$W/valid"
[ -s "$W/train/bnhi.tok" ] || nice -n 10 "$ENC" $SPM "$W/train/bnhi.tok" 200000000 \
    "$R/bn/prothomalo-ittefaq-news-2026/bn_news.train.txt" "$R/hi/covid19-hindi-news-2020/covid19_hindi_news.train.txt" \
    "$R/bn/sachalayatan-blog/sachalayatan.train.txt.gz" "$R/hi/hindi-discourse-stories/hindi_discourse_stories.train.txt" \
    "$R/hi/bbc-hindi-news-test/bbc_hindi_news.train.txt" "$R/bn/istishon-blog/istishon.train.txt.gz" \
    "$R/hi/hindi-aesthetics-corpus/hindi_aesthetics.train.txt.gz"
[ -s "$W/valid/bnhi.tok" ] || "$ENC" $SPM "$W/valid/bnhi.tok" 400000 \
    "$R/bn/prothomalo-ittefaq-news-2026/bn_news.valid.txt" "$R/hi/covid19-hindi-news-2020/covid19_hindi_news.valid.txt"
