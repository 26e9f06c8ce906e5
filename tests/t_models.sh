#!/bin/sh
# tests/t_models.sh — the shipped default models (assets/models/) work out of
# the box: annotate with sentiment + NER (JSON and CoNLL-U, any thread count,
# bad input), bhasha sentiment / ner with the head chosen by language,
# generation with the decoder, extractive QA; every model directory loads,
# has its model card, and all shipped weights together stay within 60 MB.
. tests/tap.sh
M=assets/models
if [ ! -f "$M/bhasha-bnhi/config.json" ]; then
    skip "shipped models" "$M/bhasha-bnhi missing"
    done_testing
    exit 0
fi
D=$(mktemp -d "${BUILD:-build}/t_models.XXXXXX")
trap 'rm -rf "$D"' EXIT

for m in bhasha-bnhi bhasha-qa-hi bhasha-gen-bnhi; do
    ok "$m: config, weights, tokenizer, model card" test -f "$M/$m/config.json" -a -f "$M/$m/model.safetensors" \
        -a -f "$M/$m/tokenizer.model" -a -f "$M/$m/MODEL_CARD.md"
    ok "$m: weights stored as F16 or int8 rows, none as F32" sh -c "grep -q '\"dtype\":\"F16\"' '$M/$m/model.safetensors' &&
        ! grep -q '\"dtype\":\"F32\"' '$M/$m/model.safetensors'"
done
kb=$(du -ck "$M"/*/model.safetensors | tail -1 | cut -f1)
ok "all shipped weights together <= 60 MB ($kb KB)" test "$kb" -le 61440

# --- annotate: the default stages include sentiment and NER with the shipped model
printf 'শেখ হাসিনা ঢাকায় ফিরেছেন। খেলাটা দারুণ হয়েছে, খুব ভালো লাগলো।\n\nनरेंद्र मोदी ने दिल्ली में भाषण दिया।\n' > "$D/docs.txt"
$BH annotate --threads 1 "$D/docs.txt" > "$D/a1.jsonl" 2> "$D/err"
is "annotate: exit 0, one line per document" "$?:$(wc -l < "$D/a1.jsonl" | tr -d ' ')" "0:3"
ok "annotate: the Bangla document uses the Bangla heads" grep -q '"heads":{"sentiment":"sentiment_bn","ner":"ner_bn"}' "$D/a1.jsonl"
ok "annotate: the Hindi document uses the Hindi heads" grep -q '"heads":{"sentiment":"sentiment_hi","ner":"ner_hi"}' "$D/a1.jsonl"
# without the langid stage the language still picks the heads (and no "lang" field is written)
$BH annotate --stages sentences,words,ner "$D/docs.txt" > "$D/a3.jsonl" 2> /dev/null
ok "annotate --stages ner: the Hindi document still uses the Hindi head" grep -q '"heads":{"ner":"ner_hi"}' "$D/a3.jsonl"
ok "annotate --stages ner: the Bangla document the Bangla head" grep -q '"heads":{"ner":"ner_bn"}' "$D/a3.jsonl"
is "annotate --stages ner: no lang field" "$(grep -c '"lang"' "$D/a3.jsonl")" "0"
ok "annotate: sentiment with a label and a score" grep -q '"sentiment":{"label":"\(positive\|negative\|neutral\)","score":[0-9.]*}' "$D/a1.jsonl"
ok "annotate: entities have a type, spans and a score" \
    grep -q '"entities":\[{"type":"\(PER\|LOC\|ORG\)","start":[0-9]*,"end":[0-9]*,"char_start":[0-9]*,"char_end":[0-9]*,"text":"[^"]*","score":[0-9.]*}' "$D/a1.jsonl"
ok "annotate: an empty document keeps its line" sh -c "sed -n 2p $D/a1.jsonl | grep -q '\"sentiment\":null,\"entities\":\[\]'"
$BH annotate --threads 2 "$D/docs.txt" "$D/docs.txt" > "$D/a2.jsonl" 2> /dev/null
is "annotate: 2 threads, same output in input order" "$(cat "$D/a1.jsonl" "$D/a1.jsonl" | cmp - "$D/a2.jsonl" && echo same)" "same"
# bf16 inference: the same labels and entity types as fp32 on these documents
# (scores move in the second or third decimal), or one clear error without
# AVX512-BF16
strip() { sed 's/"score":[0-9.e-]*//g' "$1"; }
if $BH --version | grep -q "bf16 available"; then
    $BH annotate --precision bf16 "$D/docs.txt" > "$D/b1.jsonl" 2> /dev/null
    is "annotate --precision bf16: labels and entities as fp32" "$(strip "$D/b1.jsonl" > "$D/b1.s"; strip "$D/a1.jsonl" | cmp - "$D/b1.s" && echo same)" "same"
else
    fails "annotate --precision bf16 without AVX512-BF16" $BH annotate --precision bf16 "$D/docs.txt"
fi
fails "annotate: bad --precision" $BH annotate --precision half "$D/docs.txt"
$BH annotate --output-format conllu --to none "$D/docs.txt" > "$D/a.conllu" 2> /dev/null
ok "annotate CoNLL-U: sentiment comments" grep -q '^# sentiment = ' "$D/a.conllu"
# bad input: a 1 MB document, a script the model never saw, invalid UTF-8, a NUL byte
{ i=0; while [ $i -lt 11000 ]; do printf 'আজ ঢাকায় বৃষ্টি হয়েছে এবং সবাই খুশি। '; i=$((i + 1)); done; echo
  echo 'Ελληνικά κείμενο χωρίς νόημα. 日本語のテキスト。'
  printf 'ভাঙা \377\376 লেখা\n'
  printf 'নাল\000বাইট\n'; } > "$D/bad.txt"
$BH annotate --max-record-bytes 2000000 "$D/bad.txt" > "$D/bad.jsonl" 2> "$D/bad.err"
is "annotate: 1 MB, unseen script, invalid UTF-8, NUL: exit 0, one line each" "$?:$(wc -l < "$D/bad.jsonl" | tr -d ' ')" "0:4"
is "annotate: no error records" "$(grep -c '"error"' "$D/bad.jsonl")" "0"
ok "annotate: the 1 MB document has its entities and sentence sentiments" sh -c "head -1 $D/bad.jsonl | grep -q '\"entities\":\['"
fails "annotate: --stages ner with a model without NER" $BH annotate --model "$M/bhasha-qa-hi" --stages ner "$D/docs.txt"

# --- sentiment / ner: head per line by language
printf 'খেলাটা দারুণ হয়েছে, খুব ভালো লাগলো।\nयह फ़ोन बहुत खराब है।\n' | $BH sentiment > "$D/s.jsonl" 2> "$D/err"
is "sentiment: exit 0, one line per line" "$?:$(grep -c '^{"label":"[a-z]*","score":[0-9.]*}$' "$D/s.jsonl")" "0:2"
printf 'খেলাটা দারুণ হয়েছে\n' | $BH sentiment --labels positive,negative > "$D/s2.jsonl" 2> "$D/err"
is "sentiment --labels: the answer is one of them" "$(grep -c '"label":"\(positive\|negative\)"' "$D/s2.jsonl")" "1"
fails "sentiment --labels with no label of the head" $BH sentiment --labels maybe "$D/docs.txt"
printf 'নরেন্দ্র মোদী দিল্লিতে ভাষণ দিলেন।\n' | $BH ner --lang bn > "$D/n.jsonl" 2> "$D/err"
is "ner --lang bn: exit 0, one line" "$?:$(grep -c '^{"entities":\[' "$D/n.jsonl")" "0:1"
# a line of 40 copies of that sentence is far longer than one chunk of the
# encoder: the chunks overlap, so a cut never splits an entity and every copy
# gets the same entities (with chunks end to end, 4 of the 40 lost a word)
for i in $(seq 40); do printf 'নরেন্দ্র মোদী দিল্লিতে ভাষণ দিলেন। '; done | $BH ner --lang bn > "$D/n40.jsonl" 2> /dev/null
is "ner: 40 copies in one line, 40 alike entities" \
    "$(grep -o '"text":"[^"]*"' "$D/n40.jsonl" | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')" "40 "

# --- generate and qa with their shipped models
out=$($BH generate --prompt "আজ ঢাকায়" --max-new 8 --seed 1 2> "$D/err")
is "generate: exit 0, the prompt continues in text" "$?:$(printf '%s' "$out" | grep -c 'আজ ঢাকায়')" "0:1"
printf '%s\n' '{"context":"ताजमहल आगरा शहर में है।","question":"ताजमहल कहाँ है?"}' '{"context":"","question":"कहाँ?"}' |
    $BH qa > "$D/q.jsonl" 2> "$D/err"
is "qa: one line per question" "$(wc -l < "$D/q.jsonl" | tr -d ' ')" "2"
ok "qa: an answer with a span into the context" grep -q '^{"answer":"[^"]*","start":[0-9]*,"end":[0-9]*,"score":[0-9.e-]*}$' "$D/q.jsonl"
done_testing
