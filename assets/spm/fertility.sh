#!/bin/sh
# assets/spm/fertility.sh — the fertility table of assets/spm/MODEL_CARD.md:
# for each model trained by train.sh in WORKDIR, pieces per word and the share
# of words kept whole on held-out Bangla and Hindi text (the staged valid
# splits listed in tests/fixtures/subword/subword_shared.list).
# bhasha_* models get bh_normalize in front (--normalize), plain_* raw text.
# usage (repository root): sh assets/spm/fertility.sh WORKDIR [SIZES...]
set -eu
W=${1:?usage: fertility.sh WORKDIR [SIZES...]}
shift
SIZES=${*:-8000}
SHARED=${BH_SHARED:-../shared}
F=${BUILD:-build}/bench/subword_fertility
for lang in bn hi; do
    : >"$W/eval_$lang.txt"
    grep "^data/raw/$lang/" tests/fixtures/subword/subword_shared.list | while read -r rel n; do
        zcat -f "$SHARED/$rel" | head -n "$n" >>"$W/eval_$lang.txt"
    done
done
echo "| model | vocab | normalizer | bn fertility | bn whole words | bn unk pieces | hi fertility | hi whole words | hi unk pieces | model KB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for s in $SIZES; do
    for m in bn hi bnhi; do
        for kind in bhasha plain raw; do
            model=$W/${kind}_${m}_$s.model
            [ -f "$model" ] || continue
            flag=""
            [ $kind = bhasha ] && flag=--normalize
            case $kind in
            bhasha) how="bh_normalize + identity" ;;
            plain) how="none (SentencePiece nmt_nfkc)" ;;
            raw) how="none at all (identity, raw text)" ;;
            esac
            row="| $m | $s | $how |"
            for lang in bn hi; do
                if [ $m != bnhi ] && [ $m != $lang ]; then row="$row – | – | – |"; continue; fi
                # shellcheck disable=SC2086
                r=$("$F" $flag "$model" "$W/eval_$lang.txt")
                row="$row $(echo "$r" | awk '{print $6 " | " $8 " | " $10}') |"
            done
            echo "$row $(( $(wc -c <"$model") / 1024 )) |"
        done
    done
done
