#!/bin/sh
# tests/t_eval.sh — `bhasha eval TASK --gold --pred` against the committed golden
# values (tests/fixtures/eval/golden.json, made by tests/ref/gen_eval.py), bad
# input, and `bhasha eval suite` on a toy registry (plus two real benchmarks when
# ../shared is present).
. tests/tap.sh
FX=tests/fixtures/eval
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

is "qa EM/F1 = SQuAD v1.1 reference" "$("$BH" eval qa --gold $FX/squad_gold.json --pred $FX/squad_pred.json | cut -d, -f1,2)" \
   '{"exact_match":36.3636,"f1":61.5152'
is "mt BLEU = sacreBLEU reference" "$("$BH" eval mt --hyp $FX/mt_hyp.txt --ref $FX/mt_ref.txt | grep -o '"bleu":[0-9.]*')" '"bleu":61.1223'
is "mt chrF = sacreBLEU reference" "$("$BH" eval mt --hyp $FX/mt_hyp.txt --ref $FX/mt_ref.txt | grep -o '"chrf":[0-9.]*')" '"chrf":67.9813'
awk -F'\t' 'BEGIN{print "id\ttext\tlabel"}{print NR"\tx\t"$1}' $FX/cls.tsv > "$tmp/g.tsv"
awk -F'\t' 'BEGIN{print "id\ttext\tlabel"}{print NR"\tx\t"$2}' $FX/cls.tsv > "$tmp/p.tsv"
is "sentiment weighted F1 = sklearn" "$("$BH" eval sentiment --gold "$tmp/g.tsv" --pred "$tmp/p.tsv" | grep -o '"weighted_f1":[0-9.]*')" '"weighted_f1":0.701998'
awk '{if(NF==0)print "";else print $1"\t"$2}' $FX/ner.txt > "$tmp/g.conll"
awk '{if(NF==0)print "";else print $1"\t"$3}' $FX/ner.txt > "$tmp/p.conll"
is "ner F1 = conlleval" "$("$BH" eval ner --gold "$tmp/g.conll" --pred "$tmp/p.conll" | grep -o '"f1":[0-9.]*' | head -1)" '"f1":66.8421'
awk '{if(NF==0)print "";else print $1"\t"$2}' $FX/ner_iobes.txt > "$tmp/gs.conll"
awk '{if(NF==0)print "";else print $1"\t"$3}' $FX/ner_iobes.txt > "$tmp/ps.conll"
is "ner strict IOBES F1 = seqeval-style reference" "$("$BH" eval ner --mode strict-iobes --gold "$tmp/gs.conll" --pred "$tmp/ps.conll" | grep -o '"f1":[0-9.]*' | head -1)" '"f1":68.8645'
"$BH" eval ner --mode strict-iob2 --gold "$tmp/g.conll" --pred "$tmp/p.conll" >/dev/null 2>"$tmp/err"
is "ner strict IOB2 rejects IOBES/bare tags like seqeval (exit 1, one line)" "$?:$(wc -l <"$tmp/err" | tr -d ' ')" "1:1"
is "ner --conlleval (token gold pred file) = conlleval" "$("$BH" eval ner --conlleval $FX/ner.txt | grep -o '"f1":[0-9.]*' | head -1)" '"f1":66.8421'
printf 'a B-PER\n' > "$tmp/one.txt"; printf 'x\n' >> "$tmp/one.txt"
"$BH" eval ner --conlleval "$tmp/one.txt" >/dev/null 2>"$tmp/err"
is "ner --conlleval: a line with one field exits 1 naming file:line" "$?:$(grep -c 'one.txt:2' "$tmp/err")" "1:1"
head -20 "$tmp/p.conll" > "$tmp/short.conll"
"$BH" eval ner --gold "$tmp/g.conll" --pred "$tmp/short.conll" >/dev/null 2>"$tmp/err"
is "ner: mismatched files exit 1 with one line" "$?:$(wc -l <"$tmp/err" | tr -d ' ')" "1:1"
echo '{"not": "closed"' > "$tmp/bad.json"
"$BH" eval qa --gold $FX/squad_gold.json --pred "$tmp/bad.json" >/dev/null 2>"$tmp/err"
is "qa: malformed prediction JSON exit 1 with one line" "$?:$(wc -l <"$tmp/err" | tr -d ' ')" "1:1"
printf -- '-2.0\n-1.0\n' > "$tmp/lp.txt"
is "lm perplexity" "$("$BH" eval lm --logprobs "$tmp/lp.txt")" '{"perplexity":4.481689,"tokens":2}'
"$BH" eval nosuchtask 2>/dev/null; is "unknown task exit 2" "$?" "2"
if [ -f assets/spm/bn.model ]; then
    # a 2-step decoder is close to uniform: perplexity near the vocabulary size
    vocab=16000 # pieces in the shipped SentencePiece models (assets/spm/MODEL_CARD.md)
    "$BH" corpus encode --spm assets/spm/bn.model --out "$tmp/sh" tests/fixtures/corpora/text.txt > "$tmp/enc.json"
    echo '{"arch":"decoder","vocab":'"$vocab"',"max_len":4,"dim":16,"layers":1,"heads":2,"ffn":32,"dropout":0.0}' > "$tmp/cfg.json"
    "$BH" pretrain --arch decoder --config "$tmp/cfg.json" --data "$tmp/sh-00000.bin" --out "$tmp/lm" --steps 2 --batch 1 \
        --seq 4 --save-every 2 --tokenizer assets/spm/bn.model >/dev/null 2>&1
    out=$("$BH" eval lm --model "$tmp/lm" --data tests/fixtures/corpora/text.txt)
    ids=$(grep -o '"tokens":[0-9]*' "$tmp/enc.json" | cut -d: -f2)
    is "lm --model: every token after the first of each document is scored once (windows of 4 overlap by 1)" \
       "$(echo "$out" | grep -o '"tokens":[0-9]*')" "\"tokens\":$((ids - 4))"
    ppl=$(echo "$out" | sed 's/.*"perplexity":\([0-9.]*\).*/\1/')
    is "lm --model: untrained decoder has perplexity near the vocabulary size" "$(awk -v p="$ppl" -v v="$vocab" 'BEGIN{print (p > v / 2 && p < v * 2) ? "yes" : "no"}')" "yes"
    kn=$("$BH" eval lm --kn 3 --train tests/fixtures/corpora/text.txt --data tests/fixtures/corpora/text.txt --spm assets/spm/bn.model)
    is "lm --kn: the same tokens as the decoder" "$(echo "$kn" | grep -o '"tokens":[0-9]*')" "\"tokens\":$((ids - 4))"
    ppl=$(echo "$kn" | sed 's/.*"perplexity":\([0-9.]*\).*/\1/')
    is "lm --kn: its own training text is predictable (perplexity < 20)" "$(awk -v p="$ppl" 'BEGIN{print (p > 1 && p < 20) ? "yes" : "no"}')" "yes"
    "$BH" eval lm --kn 5 --train tests/fixtures/corpora/text.txt --data tests/fixtures/corpora/text.txt --spm assets/spm/bn.model 2>"$tmp/err"
    is "lm --kn 5: exit 2, one line" "$?:$(wc -l <"$tmp/err" | tr -d ' ')" "2:1"
    "$BH" eval lm --kn 3 --train "$tmp/none.txt" --data tests/fixtures/corpora/text.txt --spm assets/spm/bn.model 2>"$tmp/err"
    is "lm --kn: missing training file exit 1, one line" "$?:$(wc -l <"$tmp/err" | tr -d ' ')" "1:1"
else
    skip "lm --model" "assets/spm/bn.model absent"
fi
if [ -f assets/digits/default.bhd ]; then
    is "digits: scores every fixture image" "$("$BH" eval digits --data tests/fixtures/ocr/strokes | grep -o '"n":[0-9]*')" '"n":60'
else
    skip "digits: scores every fixture image" "assets/digits/default.bhd absent"
fi
"$BH" eval digits --data /nonexistent 2>"$tmp/err"; is "digits: missing data exit 1, one line" "$?:$(wc -l <"$tmp/err" | tr -d ' ')" "1:1"

"$BH" eval suite --registry $FX/suite/registry.json --data-dir $FX/suite --out "$tmp/rep" >"$tmp/suite.out" 2>/dev/null
is "toy suite runs" "$?" "0"
is "toy suite scored 2, skipped 1" "$(grep -o '"scored":[0-9]*,"skipped":[0-9]*' "$tmp/suite.out")" '"scored":2,"skipped":1'
grep -q 'absent-dataset (sentiment): data not present; get it from https://example.org/absent' "$tmp/rep/report.md"
is "missing dataset listed with where to get it" "$?" "0"
ok "confusion matrix chart" test -s "$tmp/rep/confusion_toy-sentiment.svg"
ok "per-class F1 chart" test -s "$tmp/rep/f1_toy-sentiment.svg"
ok "ours-vs-published chart" grep -q 'published' "$tmp/rep/scores.svg"
if command -v xmllint >/dev/null 2>&1; then
    ok "charts are well-formed XML" xmllint --noout "$tmp/rep/scores.svg" "$tmp/rep/confusion_toy-sentiment.svg"
else
    skip "charts are well-formed XML" "xmllint not installed"
fi

D=${BH_SHARED:-../shared}/data
if [ -d "$D" ]; then
    "$BH" eval suite --data-dir "$D" --out "$tmp/real" --only bn-sentiment-sail >/dev/null 2>&1
    ok "suite on a real benchmark (SAIL) writes its confusion matrix" test -s "$tmp/real/confusion_bn-sentiment-sail.svg"
else
    skip "suite on a real benchmark" "$D is absent (set BH_SHARED)"
fi
done_testing
