#!/bin/sh
# assets/spm/train.sh — rebuilds the shipped SentencePiece models from the staged
# raw text (see MODEL_CARD.md). Usage, from the repository root:
#   sh assets/spm/train.sh WORKDIR [SIZES...]
# Makes WORKDIR/{bn,hi}.train.txt (a fixed slice of each source), then trains
#   WORKDIR/bhasha_{bn,hi,bnhi}_<size>   with bh_normalize in front, identity rule
#   WORKDIR/plain_{bn,hi,bnhi}_<size>    plain SentencePiece: raw text, nmt_nfkc rule
#   WORKDIR/raw_<lang>_<size>             with RAW=lang: raw text, no normalization at all
# Training is niced: the machine is shared.
set -eu
W=${1:?usage: train.sh WORKDIR [SIZES...]}
shift
SIZES=${*:-8000}
SRC=${BH_SHARED:-../shared}/data/raw
BH=$(cd "$(dirname "${BUILD:-build}/bhasha")" && pwd)/bhasha
mkdir -p "$W"
slice() { # FILE BYTES: the first lines of FILE totalling about BYTES
    case $1 in *.gz) zcat "$1" ;; *) cat "$1" ;; esac | head -c "$2" | sed '$d'
}
if [ ! -s "$W/bn.train.txt" ]; then
    { slice "$SRC/bn/prothomalo-ittefaq-news-2026/bn_news.train.txt" 3000000
      slice "$SRC/bn/istishon-blog/istishon.train.txt.gz" 3000000
      slice "$SRC/bn/sachalayatan-blog/sachalayatan.train.txt.gz" 3000000; } >"$W/bn.train.txt"
fi
if [ ! -s "$W/hi.train.txt" ]; then
    { slice "$SRC/hi/bbc-hindi-news-test/bbc_hindi_news.train.txt" 2000000
      slice "$SRC/hi/covid19-hindi-news-2020/covid19_hindi_news.train.txt" 2000000
      slice "$SRC/hi/hindi-discourse-stories/hindi_discourse_stories.train.txt" 2000000
      slice "$SRC/hi/leipzig-hin-mixed-2019-10k/hin_mixed_2019.train.txt" 2000000
      slice "$SRC/hi/hindi-aesthetics-corpus/hindi_aesthetics.train.txt.gz" 1500000; } >"$W/hi.train.txt"
fi
train() { # NAME SIZE FLAGS... INPUTS (file names inside WORKDIR)
    name=$1 size=$2; shift 2
    [ -s "$W/$name.model" ] && return 0
    echo "train: $name" >&2
    # Run inside WORKDIR with relative names: SentencePiece stores the model
    # prefix in the model file, and a shipped model must not carry a local path.
    (cd "$W" && nice -n 10 "$BH" spm train --model-prefix "$name" --vocab-size "$size" --model-type unigram \
        --character-coverage 0.9995 --max-sentence-length 20000 --pad-id 3 --user-defined-symbols "<mask>" \
        --quiet "$@")
}
for s in $SIZES; do
    for lang in bn hi bnhi; do
        case $lang in bnhi) in="bn.train.txt hi.train.txt" ;; *) in="$lang.train.txt" ;; esac
        # shellcheck disable=SC2086
        train "bhasha_${lang}_$s" "$s" --bhasha-normalize --normalization identity --input $in
        # shellcheck disable=SC2086
        train "plain_${lang}_$s" "$s" --normalization nmt_nfkc --input $in
        if [ "${RAW:-}" = "$lang" ]; then
            # shellcheck disable=SC2086
            train "raw_${lang}_$s" "$s" --normalization identity --input $in
        fi
    done
done
