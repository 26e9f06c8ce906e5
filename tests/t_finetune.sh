#!/bin/sh
# tests/t_finetune.sh — `bhasha finetune` (sentiment and NER, with and without
# a CRF), `bhasha sentiment` and `bhasha ner` end to end: a tiny randomly
# initialised encoder on tiny files this test writes itself; the training loss
# must fall, the runners write one JSON line per input line, and bad input
# fails with one clear line and a non-zero status.
. tests/tap.sh
TOK=assets/spm/bnhi.model
if [ ! -f "$TOK" ]; then
    skip "fine-tuning" "$TOK missing"
    done_testing
    exit 0
fi
D=$(mktemp -d "${BUILD:-build}/t_finetune.XXXXXX")
trap 'rm -rf "$D"' EXIT

# --- fixtures: sentiment decided by one word, names and places tagged
. tests/finetune_fixtures.sh
ft_fixtures "$D"
cat > "$D/enc.json" <<'JSON'
{"arch":"encoder","vocab":16000,"max_len":32,"dim":16,"layers":2,"heads":2,"ffn":32,"pad_id":3,"mask_id":4,"dropout":0}
JSON
FT="finetune --base $D/enc.json --tokenizer $TOK --batch 8 --log-every 1000 --patience 0 --threads 1"

# falls: the last epoch's mean training loss is below FRAC of the first's
falls() { awk -v f="$2" '/^epoch /{l[++n]=$4} END{exit !(n > 1 && l[n] < f * l[1])}' "$1"; }

# --- sentiment
$BH $FT --task sentiment --train "$D/train.tsv" --dev "$D/dev.tsv" --test "$D/dev.tsv" --out "$D/s" \
    --epochs 15 --lr 1e-2 > "$D/s.out" 2> "$D/s.err"
is "sentiment finetune exits 0" "$?" "0"
ok "sentiment training loss falls" falls "$D/s.out" 0.5
# --data-seed: the batch order alone; its default is --seed
for d in "" "--data-seed 1" "--data-seed 2"; do
    $BH $FT --task sentiment --train "$D/train.tsv" --dev "$D/dev.tsv" --out "$D/ds${d#--data-seed }" --epochs 2 \
        --lr 1e-2 $d > "$D/ds${d#--data-seed }.out" 2> /dev/null
done
ok "finetune --data-seed 1 is --seed 1's run, byte for byte" cmp -s "$D/ds/model.safetensors" "$D/ds1/model.safetensors"
ok "finetune --data-seed 2: another batch order" sh -c "! cmp -s '$D/ds1/model.safetensors' '$D/ds2/model.safetensors'"
# --precision bf16: the encoder's products in bf16, the loss falls as well
if $BH --version | grep -q "bf16 available"; then
    $BH $FT --task sentiment --train "$D/train.tsv" --dev "$D/dev.tsv" --out "$D/sb" --epochs 15 --lr 1e-2 \
        --precision bf16 > "$D/sb.out" 2> /dev/null
    is "sentiment finetune --precision bf16: exit 0, training loss falls" "$?:$(falls "$D/sb.out" 0.5 && echo falls)" "0:falls"
else
    skip "sentiment finetune --precision bf16" "no AVX512-BF16"
fi
$BH $FT --task sentiment --train "$D/train.tsv" --dev "$D/dev.tsv" --out "$D/s8" --precision f8 > /dev/null 2> "$D/err"
is "finetune --precision f8: a usage error naming it" "$?:$(wc -l < "$D/err" | tr -d ' '):$(grep -c "unknown precision 'f8'" "$D/err")" "2:1:1"
ok "progress with tok/s on stderr" grep -q 'tok/s' "$D/s.err"
ok "dev metric per epoch on stderr" grep -q 'dev macro-F1' "$D/s.err"
ok "summary names the test score" grep -q '"test_score"' "$D/s.out"
ok "one checkpoint directory: encoder + head + tokenizer" test -f "$D/s/model.safetensors" -a -f "$D/s/tokenizer.model" -a -f "$D/s/finetune.json"
ok "the head lives in the encoder's config" grep -q '"task_heads"' "$D/s/config.json"
printf 'মিনা বলল বইটা খুব ভালো\n\nকরিম বলল গানটা খুব খারাপ\n' > "$D/in.txt"
$BH sentiment --model "$D/s" "$D/in.txt" > "$D/pred.jsonl" 2> "$D/err"
is "sentiment: exit 0, quiet" "$?:$(wc -l < "$D/err" | tr -d ' ')" "0:0"
cp "$D/pred.jsonl" "$D/pred0.jsonl"
is "sentiment: one JSON line per input line (empty line too)" "$(grep -c '^{"label":"\(pos\|neg\)","score":[0-9.]*}$' "$D/pred.jsonl")" "3"
is "sentiment: learned the two classes" "$(sed -n '1p;3p' "$D/pred.jsonl" | cut -d'"' -f4 | tr '\n' ' ')" "pos neg "
$BH sentiment --model "$D/s" --probs "$D/in.txt" > "$D/probs.jsonl" 2> /dev/null
is "sentiment --probs: every label's probability, summing to 1" \
    "$(sed -n 1p "$D/probs.jsonl" | sed 's/.*"probs":{"neg":\([0-9.]*\),"pos":\([0-9.]*\)}}$/\1 \2/' | awk '{printf "%.3f", $1 + $2}')" "1.000"
# --- the n-gram layer fitted on top of the sentiment head (bhasha fuse-ngrams)
$BH fuse-ngrams --model "$D/s" --train "$D/train.tsv" --dev "$D/dev.tsv" --test "$D/dev.tsv" --bits 12 \
    --out "$D/sn" > "$D/sn.json" 2> "$D/sn.err"
is "fuse-ngrams: exit 0" "$?" "0"
ok "fuse-ngrams: dev and test macro-F1 of head, n-grams and fusion" \
    grep -q '"dev_macro_f1":{"head":[0-9.]*,"ngrams":[0-9.]*,"fused":[0-9.]*},"test":[0-9]*,"test_macro_f1":{' "$D/sn.json"
is "fuse-ngrams: nine fits on stderr" "$(grep -c 'dev macro-F1' "$D/sn.err")" "9"
ok "fuse-ngrams: the head has the layer" grep -q '"feat_bits": 12' "$D/sn/config.json"
ok "fuse-ngrams: finetune.json notes it" grep -q '"fused_ngrams"' "$D/sn/finetune.json"
printf 'মিনা বলল বইটা খুব ভালো\n\nকরিম বলল গানটা খুব খারাপ\n' > "$D/in.txt"
$BH sentiment --model "$D/sn" "$D/in.txt" > "$D/pred.jsonl" 2> "$D/err"
is "fuse-ngrams: bhasha sentiment runs it, one line per line" "$?:$(wc -l < "$D/pred.jsonl" | tr -d ' ')" "0:3"
is "fuse-ngrams: still the two classes" "$(sed -n '1p;3p' "$D/pred.jsonl" | cut -d'"' -f4 | tr '\n' ' ')" "pos neg "
# stored as F16-Q8 (what ships): a 2-label n-gram table becomes F16 rows;
# the labels stay, the scores move by F16 rounding only
$BH model convert --in "$D/sn" --out "$D/snq" --dtype f16-q8 2> "$D/err"
is "convert f16-q8: exit 0 for the n-gram head" "$?" "0"
ok "convert f16-q8: the n-gram table as F16 rows" grep -q 'feat.w.f16' "$D/snq/model.safetensors"
ok "convert f16-q8: no int8 part for it" sh -c "! grep -q 'feat.w.q8' '$D/snq/model.safetensors'"
$BH sentiment --model "$D/snq" "$D/in.txt" > "$D/predq.jsonl" 2> "$D/err"
is "convert f16-q8: the same labels" "$(cut -d'"' -f4 "$D/predq.jsonl")" "$(cut -d'"' -f4 "$D/pred.jsonl")"
is "convert f16-q8: scores within 0.002" "$(paste -d' ' "$D/pred.jsonl" "$D/predq.jsonl" | sed 's/[^ ]*"score":\([0-9.]*\)}/\1/g' |
    awk '{ d = $1 - $2; if (d < 0) d = -d; if (NF == 2 && d > 0.002) bad++ } END { print bad + 0 }')" "0"
# model average: a model averaged with itself is the same model; convert's
# F16 rows do not average; mismatched --weights are a usage error
$BH model average --in "$D/s" --in "$D/s" --weights 1,3 --out "$D/savg" 2> "$D/err"
is "model average: exit 0, quiet" "$?:$(wc -l < "$D/err" | tr -d ' ')" "0:0"
$BH sentiment --model "$D/savg" "$D/in.txt" > "$D/preda.jsonl" 2> /dev/null
is "model average: the same labels" "$(cut -d'"' -f4 "$D/preda.jsonl")" "$(cut -d'"' -f4 "$D/pred0.jsonl")"
ok "model average: finetune.json records it" grep -q '"average"' "$D/savg/finetune.json"
$BH model average --in "$D/sn" --in "$D/snq" --out "$D/savg2" > /dev/null 2> "$D/err"
is "model average: F16 rows refused, one line" "$?:$(wc -l < "$D/err" | tr -d ' '):$(grep -c 'does not average' "$D/err")" "1:1:1"
$BH model average --in "$D/s" --in "$D/s" --weights 1 --out "$D/savg2" > /dev/null 2> "$D/err"
is "model average: one weight for two models is a usage error" "$?:$(grep -c '1 weights for 2 models' "$D/err")" "2:1"
$BH fuse-ngrams --model "$D/s" --train "$D/train.tsv" --dev "$D/dev.tsv" --a 1 --l2 0.001 --bits 12 --out "$D/sn2" \
    > "$D/sn.json" 2> /dev/null
is "fuse-ngrams --a --l2: that pair alone" "$?:$(grep -o '"a":[0-9.]*,"l2":[0-9.]*' "$D/sn.json")" '0:"a":1,"l2":0.001'
$BH fuse-ngrams --model "$D/s" --train "$D/train.tsv" --dev "$D/dev.tsv" --test "$D/dev.tsv" --a 0 --l2 0.001 \
    --bits 12 --no-refit --out "$D/sn3" > "$D/sn.json" 2> /dev/null
is "fuse-ngrams --no-refit, A = 0: the fused score is the n-gram layer's" \
    "$?:$(sed -n 's/.*"test_macro_f1":{"head":[0-9.]*,"ngrams":\([0-9.]*\),"fused":\([0-9.]*\)}.*/\1 \2/p' "$D/sn.json" | awk '{print ($1 == $2)}')" "0:1"
# naive Bayes weights instead of the AdaGrad fit: 3 x 2 x 6 settings tried on dev
$BH fuse-ngrams --nb --model "$D/s" --train "$D/train.tsv" --dev "$D/dev.tsv" --test "$D/dev.tsv" --bits 12 \
    --out "$D/snb" > "$D/snb.json" 2> "$D/snb.err"
is "fuse-ngrams --nb: exit 0" "$?" "0"
ok "fuse-ngrams --nb: the chosen smoothing and scale" grep -q '"a":[0-9.]*,"nb":{"alpha":[0-9.]*,"b":[0-9.]*}' "$D/snb.json"
is "fuse-ngrams --nb: 36 settings on stderr" "$(grep -c 'alpha .* B .*dev macro-F1' "$D/snb.err")" "36"
$BH sentiment --model "$D/snb" "$D/in.txt" > "$D/pred.jsonl" 2> "$D/err"
is "fuse-ngrams --nb: bhasha sentiment runs it" "$?:$(sed -n '1p;3p' "$D/pred.jsonl" | cut -d'"' -f4 | tr '\n' ' ')" "0:pos neg "
# a head that has a layer already is read without it: the same model as from the plain head
$BH fuse-ngrams --nb --model "$D/sn" --train "$D/train.tsv" --dev "$D/dev.tsv" --test "$D/dev.tsv" --bits 12 \
    --out "$D/snb2" > "$D/snb2.json" 2> /dev/null
is "fuse-ngrams on a fused head: the head's own scores" "$(sed 's/,"seconds.*//; s/,"out".*//' "$D/snb2.json")" \
    "$(sed 's/,"seconds.*//; s/,"out".*//' "$D/snb.json")"
ok "fuse-ngrams on a fused head: the new layer replaces the old" cmp "$D/snb/model.safetensors" "$D/snb2/model.safetensors"
# texts without words (empty, punctuation only) have no n-grams: no NULL memcpy (UBSan under make asan)
{ printf 'text\tlabel\n\tpos\n!!! ...\tneg\n'; tail -n +2 "$D/train.tsv"; } > "$D/nowords.tsv"
$BH fuse-ngrams --model "$D/s" --train "$D/nowords.tsv" --dev "$D/nowords.tsv" --a 1 --l2 0.001 --bits 12 \
    --out "$D/snw" > /dev/null 2> "$D/err"
is "fuse-ngrams: texts without words" "$?" "0"
printf 'text\tlabel\nভালো বই\tgreat\n' > "$D/odd.tsv"
fails "fuse-ngrams: a label the head lacks" $BH fuse-ngrams --model "$D/s" --train "$D/odd.tsv" --dev "$D/dev.tsv" --bits 12 --out "$D/sx"
$BH fuse-ngrams --model "$D/s" --train "$D/train.tsv" --out "$D/sx" 2> "$D/err"
is "fuse-ngrams without --dev: exit 2, one line" "$?:$(wc -l < "$D/err" | tr -d ' ')" "2:1"
$BH fuse-ngrams --model "$D/s" --train "$D/train.tsv" --dev "$D/dev.tsv" --bits 40 --out "$D/sx" 2> "$D/err"
is "fuse-ngrams --bits 40: exit 2, one line" "$?:$(wc -l < "$D/err" | tr -d ' ')" "2:1"

$BH $FT --task sentiment --train "$D/train.tsv" --dev "$D/dev.tsv" --out "$D/s2" --epochs 2 --lr 1e-3 \
    --class-weights --pool cls --no-dense --freeze-layers 1 --dropout 0.1 > /dev/null 2>&1
is "class weights, [CLS] pooling, frozen layer, dropout" "$?" "0"

# --- NER, without and with the CRF
for crf in "" --crf; do
    $BH $FT --task ner --train "$D/train.conll" --dev "$D/dev.conll" --out "$D/n$crf" --epochs 8 --lr 5e-3 $crf \
        > "$D/n.out" 2> "$D/n.err"
    is "ner$crf finetune exits 0" "$?" "0"
    ok "ner$crf training loss falls" falls "$D/n.out" 0.5
    ok "ner$crf dev entity F1 per epoch" grep -q 'dev entity-F1' "$D/n.err"
    printf 'রহিম গতকাল ঢাকা শহরে গেল\n\nআজ খুলনা থেকে মিনা রায় এল\n' > "$D/in.txt"
    $BH ner --model "$D/n$crf" < "$D/in.txt" > "$D/ents.jsonl" 2> "$D/err"
    is "ner$crf: exit 0, one JSON line per input line" "$?:$(grep -c '^{"entities":\[.*\]}$' "$D/ents.jsonl")" "0:3"
    is "ner$crf: an empty line has no entities" "$(sed -n 2p "$D/ents.jsonl")" '{"entities":[]}'
    ok "ner$crf: entities with type, character span, text and score" \
        grep -q '{"type":"PER","start":0,"end":4,"text":"রহিম","score":[0-9.]*}' "$D/ents.jsonl"
done
ok "CRF transitions saved with the head" grep -q '"crf": true' "$D/n--crf/config.json"

# --- the feature CRF fused into a fine-tuned NER head (bhasha crf fuse)
$BH crf train --train "$D/train.conll" --bits 12 --epochs 5 --out "$D/crf.bin" > /dev/null 2>&1
is "crf for fusing: trained" "$?" "0"
for crf in "" --crf; do
    $BH crf fuse --model "$D/n$crf" --crf "$D/crf.bin" --dev "$D/dev.conll" --test "$D/dev.conll" --out "$D/f$crf" \
        > "$D/f.json" 2> "$D/f.err"
    is "fuse$crf: exit 0" "$?" "0"
    ok "fuse$crf: dev and test F1 of head, CRF and fusion" \
        grep -q '^{"head":"ner","weight":[0-9.]*,"dev":{"head":[0-9.]*,"crf":[0-9.]*,"fused":[0-9.]*},"test":{' "$D/f.json"
    is "fuse$crf: each weight tried on stderr" "$(grep -c 'weight .*: dev F1' "$D/f.err")" "9"
    ok "fuse$crf: the head has a feature table and a CRF" grep -q '"feat_bits": 12' "$D/f$crf/config.json"
    ok "fuse$crf: finetune.json notes the fusion" grep -q '"fused_crf"' "$D/f$crf/finetune.json"
    printf 'রহিম গতকাল ঢাকা শহরে গেল\n\n' > "$D/in.txt"
    $BH ner --model "$D/f$crf" < "$D/in.txt" > "$D/ents.jsonl" 2> "$D/err"
    is "fuse$crf: bhasha ner runs the fused model" "$?:$(wc -l < "$D/ents.jsonl" | tr -d ' ')" "0:2"
    ok "fuse$crf: and finds the entities" grep -q '{"type":"PER","start":0,"end":4' "$D/ents.jsonl"
done
# the fused model stored as F16 with the feature table in sparse int8 (what ships)
$BH model convert --in "$D/f" --out "$D/fq" --dtype f16-q8 2> "$D/err"
is "convert f16-q8: exit 0" "$?" "0"
ok "convert f16-q8: the table is stored sparse" grep -q 'feat.w.q8' "$D/fq/model.safetensors"
cp "$D/f/finetune.json" "$D/fq/"
$BH ner --model "$D/f" < "$D/in.txt" | sed 's/,"score":[0-9.e-]*//g' > "$D/e32.jsonl"
$BH ner --model "$D/fq" < "$D/in.txt" | sed 's/,"score":[0-9.e-]*//g' > "$D/eq8.jsonl"
is "convert f16-q8: the same entities" "$(cat "$D/eq8.jsonl")" "$(cat "$D/e32.jsonl")"
# every matrix in int8 rows (q8), converted on from the f16-q8 copy
$BH model convert --in "$D/fq" --out "$D/fq2" --dtype q8 2> "$D/err"
is "convert q8 from f16-q8: exit 0" "$?" "0"
ok "convert q8: the encoder's matrices too" grep -q 'h.0.mlp.fc.w.q8' "$D/fq2/model.safetensors"
is "convert q8: smaller than f16-q8" "$(( $(wc -c < "$D/fq2/model.safetensors") < $(wc -c < "$D/fq/model.safetensors") ))" "1"
cp "$D/f/finetune.json" "$D/fq2/"
$BH ner --model "$D/fq2" < "$D/in.txt" > "$D/eq.jsonl" 2> "$D/err"
is "convert q8: bhasha ner runs it" "$?:$(wc -l < "$D/eq.jsonl" | tr -d ' ')" "0:2"
fails "convert: an unknown dtype" $BH model convert --in "$D/f" --out "$D/fq2" --dtype q4
$BH crf fuse --model "$D/n" --crf "$D/crf.bin" --dev "$D/dev.conll" --weight 0.5 --out "$D/fw" > "$D/f.json" 2> /dev/null
is "fuse --weight: that weight alone" "$?:$(grep -o '"weight":[0-9.]*' "$D/f.json")" '0:"weight":0.5'
fails "fuse: an already fused head" $BH crf fuse --model "$D/f" --crf "$D/crf.bin" --dev "$D/dev.conll" --out "$D/fx"
fails "fuse: a model without a token head" $BH crf fuse --model "$D/s" --crf "$D/crf.bin" --dev "$D/dev.conll" --out "$D/fx"
fails "fuse-ngrams: a NER-only model" $BH fuse-ngrams --model "$D/n" --train "$D/train.tsv" --dev "$D/dev.tsv" --out "$D/sx"

# --- a CRF with word clusters: the table travels into the fused model
cut -f1 "$D/train.conll" | grep -v '^$' | sort -u | awk '{print $0 "\t" (NR % 3) "\t" (NR % 7)}' > "$D/wc.tsv"
$BH crf train --train "$D/train.conll" --bits 12 --epochs 5 --clusters "$D/wc.tsv" --out "$D/crfc.bin" > /dev/null 2>&1
is "crf train --clusters: exit 0" "$?" "0"
$BH crf fuse --model "$D/n" --crf "$D/crfc.bin" --dev "$D/dev.conll" --weight 1 --out "$D/fc" > "$D/fc.json" 2> /dev/null
is "fuse with clusters: exit 0" "$?" "0"
ok "fuse with clusters: the table is in the model" cmp -s "$D/wc.tsv" "$D/fc/word_clusters.tsv"
ok "fuse with clusters: finetune.json names it" grep -q '"word_clusters": "word_clusters.tsv"' "$D/fc/finetune.json"
$BH ner --model "$D/fc" < "$D/in.txt" > "$D/ec.jsonl" 2> /dev/null
is "fuse with clusters: bhasha ner runs it" "$?:$(wc -l < "$D/ec.jsonl" | tr -d ' ')" "0:2"
is "fuse with clusters: the same fused dev F1 from a second run" \
    "$($BH crf fuse --model "$D/n" --crf "$D/crfc.bin" --dev "$D/dev.conll" --weight 1 --out "$D/fc2" 2> /dev/null | grep -o '"fused":[0-9.]*')" \
    "$(grep -o '"fused":[0-9.]*' "$D/fc.json")"
cp -r "$D/fc" "$D/fc_broken" && rm "$D/fc_broken/word_clusters.tsv"
$BH ner --model "$D/fc_broken" < "$D/in.txt" > /dev/null 2> "$D/err"
is "fused model without its cluster table: exit 1, one line" "$?:$(wc -l < "$D/err" | tr -d ' ')" "1:1"
fails "--init-crf: a CRF with word clusters" $BH $FT --task ner --train "$D/train.conll" --dev "$D/dev.conll" --out "$D/sx" \
    --init-crf "$D/crfc.bin"
printf 'word\n' > "$D/wcbad.tsv"
$BH crf train --train "$D/train.conll" --clusters "$D/wcbad.tsv" --out "$D/x.bin" > /dev/null 2> "$D/err"
is "crf train: a malformed cluster table, exit 1, one line naming it" \
    "$?:$(wc -l < "$D/err" | tr -d ' '):$(grep -c 'wcbad.tsv:1' "$D/err")" "1:1:1"

# --- word features trained with the head (--features), or started from the CRF (--init-crf)
$BH $FT --task ner --train "$D/train.conll" --dev "$D/dev.conll" --out "$D/nf" --epochs 4 --lr 5e-3 --crf --features 12 \
    > "$D/nf.out" 2> /dev/null
is "ner --features: exit 0" "$?" "0"
ok "ner --features: training loss falls" falls "$D/nf.out" 0.5
ok "ner --features: the head has its table" grep -q '"feat_bits": 12' "$D/nf/config.json"
$BH $FT --task ner --train "$D/train.conll" --dev "$D/dev.conll" --test "$D/dev.conll" --out "$D/ni" --epochs 2 --lr 5e-3 \
    --init-crf "$D/crf.bin" --crf-weight 0.5 > "$D/ni.out" 2> /dev/null
is "ner --init-crf: exit 0" "$?" "0"
ok "ner --init-crf: starts from the CRF (first epoch's loss below 0.3)" \
    awk '/^epoch 1 /{exit !($4 < 0.3)}' "$D/ni.out"
printf 'রহিম গতকাল ঢাকা শহরে গেল\n' | $BH ner --model "$D/ni" > "$D/ents.jsonl" 2> /dev/null
ok "ner --init-crf: bhasha ner finds the person" grep -q '{"type":"PER","start":0,"end":4' "$D/ents.jsonl"
$BH $FT --task sentiment --train "$D/train.tsv" --dev "$D/dev.tsv" --out "$D/sx" --features 12 2> "$D/err"
is "--features on sentiment: exit 2, one line" "$?:$(wc -l < "$D/err" | tr -d ' ')" "2:1"
$BH $FT --task ner --train "$D/train.conll" --dev "$D/dev.conll" --out "$D/sx" --features 30 2> "$D/err"
is "--features 30: exit 2, one line" "$?:$(wc -l < "$D/err" | tr -d ' ')" "2:1"
fails "--init-crf: a missing CRF file" $BH $FT --task ner --train "$D/train.conll" --dev "$D/dev.conll" --out "$D/sx" \
    --init-crf "$D/none.bin"
$BH crf train --train "$D/train.conll" --map PER=O --bits 12 --epochs 2 --out "$D/crfnoper.bin" > /dev/null 2>&1
fails "--init-crf: a CRF without a label the training data uses" $BH $FT --task ner --train "$D/train.conll" \
    --dev "$D/dev.conll" --out "$D/sx" --init-crf "$D/crfnoper.bin"
ok "--init-crf: the error names the label" grep -q 'crfnoper.bin has no label B-PER, which .*train.conll uses' "$D/err"
fails "fuse: a missing CRF model" $BH crf fuse --model "$D/n" --crf "$D/none.bin" --dev "$D/dev.conll" --out "$D/fx"
$BH crf fuse --model "$D/n" --crf "$D/crf.bin" --out "$D/fx" 2> "$D/err"
is "fuse without --dev: exit 2, one line" "$?:$(wc -l < "$D/err" | tr -d ' ')" "2:1"

# --- NER from JSON lines ([text, tags] as banglakit's): the reader re-tokenizes
# the text to the tags; dev has I-LOC, which training never shows (its places
# are one word): every type gets both of its BIO tags
tojsonl() { awk -v RS= -F'\n' '{t = ""; g = ""; for (i = 1; i <= NF; i++) { split($i, a, "\t");
    t = t (i > 1 ? " " : "") a[1]; g = g (i > 1 ? "," : "") "\"" a[2] "\"" } print "[\"" t "\", [" g "]]" }' "$1"; }
tojsonl "$D/train.conll" > "$D/train.jsonl"
{ tojsonl "$D/dev.conll"; echo '["আজ ঢাকা শহর থেকে মিনা এল।", ["O", "B-LOC", "I-LOC", "O", "B-PER", "O", "O"]]'; } > "$D/dev.jsonl"
$BH $FT --task ner --format jsonl --text-col 0 --label-col 1 --train "$D/train.jsonl" --dev "$D/dev.jsonl" \
    --out "$D/nj" --epochs 4 --lr 5e-3 > "$D/nj.out" 2> "$D/nj.err"
is "ner from JSON lines: exit 0" "$?" "0"
ok "ner from JSON lines: training loss falls" falls "$D/nj.out" 0.7
ok "ner from JSON lines: I-LOC is a label" grep -q '"I-LOC"' "$D/nj/config.json"
fails "ner: an unknown --format" $BH $FT --task ner --format csv --train "$D/train.jsonl" --dev "$D/dev.jsonl" --out "$D/nx"

# --- multi-task: one encoder, a sentiment and a CRF NER head trained together
$BH $FT --task sentiment --head sentiment_bn --train "$D/train.tsv" --dev "$D/dev.tsv" --test "$D/dev.tsv" \
    --also "task=ner;head=ner_bn;train=$D/train.conll;dev=$D/dev.conll;test=$D/dev.conll;crf" \
    --out "$D/mt" --epochs 12 --lr 1e-2 > "$D/mt.out" 2> "$D/mt.err"
is "multi-task finetune exits 0" "$?" "0"
ok "multi-task training loss falls" falls "$D/mt.out" 0.5
ok "multi-task: per-task dev scores in the summary" grep -q '"tasks":\[{"head":"sentiment_bn","dev_score":[0-9.]*,"test_score":[0-9.]*},{"head":"ner_bn"' "$D/mt.out"
ok "multi-task: each head's dev score per epoch" grep -q 'epoch 1 ner_bn dev entity-F1' "$D/mt.err"
ok "multi-task: both heads in one checkpoint" grep -q '"ner_bn"' "$D/mt/config.json"
printf 'মিনা বলল বইটা খুব ভালো\nকরিম বলল গানটা খুব খারাপ\n' > "$D/in.txt"
is "multi-task: the sentiment head runs" "$($BH sentiment --model "$D/mt" "$D/in.txt" | cut -d'"' -f4 | tr '\n' ' ')" "pos neg "
printf 'রহিম গতকাল ঢাকা শহরে গেল\n' > "$D/in.txt"
ok "multi-task: the NER head runs" sh -c "$BH ner --model $D/mt --head ner_bn < $D/in.txt | grep -q '\"type\":\"PER\"'"
# --- the multi-task model in bhasha annotate: both heads, one encoder pass per sentence
printf 'রহিম গতকাল ঢাকা শহরে গেল। মিনা বলল বইটা খুব ভালো।\n\nআজ খুলনা থেকে মিনা রায় এল\n' > "$D/docs.txt"
$BH annotate --model "$D/mt" --stages sentences,langid,sentiment,ner "$D/docs.txt" > "$D/ann.jsonl" 2> "$D/err"
is "annotate with the model: exit 0, one line per document" "$?:$(wc -l < "$D/ann.jsonl" | tr -d ' ')" "0:3"
ok "annotate: schema version and the heads used" grep -q '"schema":1,"heads":{"sentiment":"sentiment_bn","ner":"ner_bn"}' "$D/ann.jsonl"
ok "annotate: each sentence has its sentiment" grep -q '"text":"মিনা বলল বইটা খুব ভালো।","sentiment":{"label":"pos","score":[0-9.]*}' "$D/ann.jsonl"
ok "annotate: entities with byte and character spans" grep -q '{"type":"PER","start":0,"end":12,"char_start":0,"char_end":4,"text":"রহিম","score":[0-9.]*}' "$D/ann.jsonl"
is "annotate: an empty document: no sentiment, no entities" "$(sed -n 2p "$D/ann.jsonl" | grep -o '"sentiment":null,"entities":\[\]')" '"sentiment":null,"entities":[]'
ok "annotate: the third document's entities" grep -q '"type":"PER","start":36,"end":61,"char_start":14,"char_end":23,"text":"মিনা রায়"' "$D/ann.jsonl"
$BH annotate --model "$D/mt" --stages sentences,langid,sentiment,ner --threads 3 "$D/docs.txt" "$D/docs.txt" "$D/docs.txt" > "$D/ann3.jsonl" 2> /dev/null
is "annotate: 3 threads give the same lines in the same order" "$(cat "$D/ann.jsonl" "$D/ann.jsonl" "$D/ann.jsonl" | cmp - "$D/ann3.jsonl" && echo same)" "same"
$BH annotate --model "$D/mt" --output-format conllu --to none "$D/docs.txt" > "$D/ann.conllu" 2> /dev/null
ok "annotate CoNLL-U: entities in MISC" grep -q '^1	রহিম	_	_	_	_	_	_	_	NE=B-PER$' "$D/ann.conllu"
ok "annotate CoNLL-U: sentence sentiment as a comment" grep -q '^# sentiment = pos [0-9.]*$' "$D/ann.conllu"
ok "annotate CoNLL-U: an I- tag continues the entity" grep -q 'রায়	_	_	_	_	_	_	_	NE=I-PER$' "$D/ann.conllu"
fails "annotate: --stages ner with a model that has no NER head" $BH annotate --model "$D/s" --stages ner "$D/docs.txt"
ok "  ... names the missing head" grep -q 'has no ner head' "$D/err"
$BH annotate --model "$D/s" "$D/docs.txt" > "$D/ann_s.jsonl" 2> /dev/null
ok "annotate: stages=all with a sentiment-only model leaves NER out" sh -c "grep -q '\"heads\":{\"sentiment\":\"sentiment\"}' $D/ann_s.jsonl && ! grep -q entities $D/ann_s.jsonl"
fails "annotate: a model directory that does not exist" $BH annotate --model "$D/nothing" --stages ner "$D/docs.txt"
# --- sentiment heads per language with different label counts: each line's
# head sizes its probabilities (300 labels after a head of 2)
printf 'text\tlabel\n' > "$D/many.tsv"
for i in $(seq 1 300); do printf 'राम ने कहा %d\tl%03d\n' "$i" "$i"; done >> "$D/many.tsv"
$BH $FT --task sentiment --head sentiment_bn --train "$D/train.tsv" --dev "$D/dev.tsv" --epochs 1 \
    --also "task=sentiment;head=sentiment_hi;train=$D/many.tsv;dev=$D/many.tsv" --out "$D/ml" > /dev/null 2>&1
is "sentiment heads of 2 and 300 labels: finetune exits 0" "$?" "0"
printf 'মিনা বলল বইটা খুব ভালো\nराम ने कहा कि वह कल दिल्ली जाएगा और वहाँ अपने दोस्तों से मिलेगा\n' > "$D/in2.txt"
$BH sentiment --model "$D/ml" --probs "$D/in2.txt" > "$D/ml.jsonl" 2> "$D/err"
is "per-language heads: exit 0, the Bengali head, then the Hindi head's 300 probabilities" \
    "$?:$(sed -n 1p "$D/ml.jsonl" | grep -c '^{"label":"\(pos\|neg\)"'):$(sed -n 2p "$D/ml.jsonl" | grep -o '"l[0-9]*":' | wc -l | tr -d ' ')" "0:1:300"
$BH sentiment --model "$D/ml" --head sentiment_hi "$D/in2.txt" > "$D/ml.jsonl" 2> "$D/err"
is "--head with 300 labels: exit 0, one line per line" "$?:$(grep -c '^{"label":"l[0-9]*","score":[0-9.]*}$' "$D/ml.jsonl")" "0:2"
fails "--also without dev" $BH $FT --task sentiment --train "$D/train.tsv" --dev "$D/dev.tsv" --out "$D/x" --also "task=ner;train=$D/train.conll"
fails "--also with an unknown key" $BH $FT --task sentiment --train "$D/train.tsv" --dev "$D/dev.tsv" --out "$D/x" --also "task=ner;tran=x;dev=y"
fails "two heads with one name" $BH $FT --task sentiment --train "$D/train.tsv" --dev "$D/dev.tsv" --out "$D/x" --epochs 1 --also "task=sentiment;train=$D/train.tsv;dev=$D/dev.tsv"
ok "  ... says to name them" grep -q 'head name sentiment' "$D/err"

# --- bad input: one line on stderr, non-zero status (fails, tests/tap.sh)
S="--train $D/train.tsv --dev $D/dev.tsv --out $D/x --epochs 1"
fails "missing training file" $BH $FT --task sentiment --train "$D/none.tsv" --dev "$D/dev.tsv" --out "$D/x"
ok "  ... names the file" grep -q none.tsv "$D/err"
{ cat "$D/dev.tsv"; printf 'কিছু একটা\tmeh\n'; } > "$D/dev_new.tsv"
fails "dev label not seen in training" $BH $FT --task sentiment --train "$D/train.tsv" --dev "$D/dev_new.tsv" --out "$D/x"
ok "  ... names the label and line" grep -q 'dev_new.tsv line [0-9]*: label "meh" not seen in training' "$D/err"
{ cat "$D/train.tsv"; printf '\tpos\n'; } > "$D/train_empty.tsv"
fails "empty text line" $BH $FT --task sentiment --train "$D/train_empty.tsv" --dev "$D/dev.tsv" --out "$D/x"
ok "  ... says so" grep -q 'empty text' "$D/err"
{ cat "$D/dev.conll"; printf 'x\tB-ORG\n\n'; } > "$D/dev_new.conll"
fails "dev tag not seen in training" $BH $FT --task ner --train "$D/train.conll" --dev "$D/dev_new.conll" --out "$D/x"
$BH $FT --task ner --train "$D/train.conll" --dev "$D/dev_new.conll" --out "$D/xm" --epochs 1 --map ORG=O > /dev/null 2>&1
is "--map ORG=O: the unseen dev type becomes O" "$?" "0"
{ cat "$D/train.conll"; printf 'O\n\n'; } > "$D/train_bad.conll"
fails "a CoNLL line without a tag column" $BH $FT --task ner --train "$D/train_bad.conll" --dev "$D/dev.conll" --out "$D/x"
$BH $FT --task ner --train "$D/train_bad.conll" --dev "$D/dev.conll" --out "$D/xs" --epochs 1 --on-error skip > /dev/null 2>&1
is "--on-error skip: the malformed record is skipped" "$?" "0"
{ cat "$D/train.conll"; printf 'রহিম\tB-PER\n'; for w in এক দুই তিন চার পাঁচ ছয় সাত আট নয় দশ; do printf '%s\tI-PER\n' $w; done; printf 'এল\tO\n\n'; } > "$D/train_long.conll"
$BH $FT --task ner --train "$D/train_long.conll" --dev "$D/dev.conll" --out "$D/xl" --epochs 1 --crf --seq 8 > /dev/null 2> "$D/err"
is "--crf with an entity cut by the --seq split: the next chunk starts it" "$?" "0"
fails "--on-error with a bad value" $BH $FT --task ner --train "$D/train.conll" --dev "$D/dev.conll" --out "$D/x" --on-error maybe
fails "base directory missing" $BH finetune --task sentiment --base "$D/nowhere" --tokenizer $TOK $S
mkdir "$D/emptydir"
fails "base directory without an encoder" $BH finetune --task sentiment --base "$D/emptydir" --tokenizer $TOK $S
fails "wrong --task" $BH $FT --task pos $S
fails "--seq beyond max_len" $BH $FT --task sentiment $S --seq 64
fails "missing tokenizer" $BH finetune --task sentiment --base "$D/enc.json" --tokenizer "$D/none.model" $S
fails "sentiment with an NER model" $BH sentiment --model "$D/n" < /dev/null
fails "ner without a model directory" $BH ner --model "$D/nowhere" < /dev/null
done_testing
