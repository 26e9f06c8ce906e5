#!/bin/sh
# bench/bench_annotate_models.sh — `bhasha annotate` with the model stages
# (sentiment + NER on the shipped multi-task model, assets/models/bhasha-bnhi):
# sentences/s with --threads 1 and 2 on staged Bangla and Hindi news text,
# beside the same run without the model stages, and the machine's own
# two-core scaling in the same run (bench/annotate_spin.c: two copies of a
# plain compute loop against one). Best of BENCH_REPS (default 3) runs each.
# Where the CPU has AVX512-BF16, also with --precision bf16, and how many
# sentence labels and entities differ from the fp32 run.
#   sh bench/bench_annotate_models.sh [MODEL_DIR]
set -u
BUILD=${BUILD:-build}
BH=$BUILD/bhasha
SPIN=$BUILD/bench/annotate_spin
M=${1:-assets/models/bhasha-bnhi}
D=${BH_SHARED:-../shared}/data/raw
BN=$D/bn/prothomalo-ittefaq-news-2026/bn_news.valid.txt
HI=$D/hi/bbc-hindi-news-test/bbc_hindi_news.valid.txt
REPS=${BENCH_REPS:-3}
NDOC=${BENCH_DOCS:-500}
if [ ! -r "$BN" ] || [ ! -r "$HI" ]; then echo "bench_annotate_models: SKIP: staged text missing"; exit 0; fi
if [ ! -f "$M/config.json" ]; then echo "bench_annotate_models: SKIP: no model in $M"; exit 0; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{ head -n "$NDOC" "$BN"; head -n "$NDOC" "$HI"; } > "$tmp/in.txt"
$BH annotate --model "$M" --stages sentences,langid,sentiment,ner --to none "$tmp/in.txt" > "$tmp/ref.jsonl" 2>/dev/null
nsent=$(grep -o '"sentiment":{"label"' "$tmp/ref.jsonl" | wc -l)
ndoc=$(wc -l < "$tmp/ref.jsonl" | tr -d ' ')
nsent=$((nsent - ndoc)) # each document has one text-level sentiment besides its sentences'
echo "input: $ndoc documents, $nsent sentences, $(wc -c < "$tmp/in.txt" | tr -d ' ') bytes; load $(cut -d' ' -f1-3 /proc/loadavg)"
now() { date +%s.%N; }
best() { sort -g | head -1; }
run() { # threads, stages [extra options] -> best seconds
    : > "$tmp/t"
    i=0
    while [ $i -lt "$REPS" ]; do
        i=$((i + 1))
        t0=$(now)
        $BH annotate --model "$M" --stages "$2" --to none --threads "$1" ${3:-} "$tmp/in.txt" > "$tmp/out" 2>/dev/null
        t1=$(now)
        awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}' >> "$tmp/t"
    done
    best < "$tmp/t"
}
: > "$tmp/s1"; : > "$tmp/s2"
for i in 1 2; do
    "$SPIN" | cut -d' ' -f1 >> "$tmp/s1"
    "$SPIN" > "$tmp/sa" & "$SPIN" > "$tmp/sb"; wait
    cat "$tmp/sa" "$tmp/sb" | cut -d' ' -f1 | sort -g | tail -1 >> "$tmp/s2"
done
scale=$(awk -v a="$(best < "$tmp/s1")" -v b="$(best < "$tmp/s2")" 'BEGIN{printf "%.2f", 2 * a / b}')
t1=$(run 1 sentences,langid,sentiment,ner)
t2=$(run 2 sentences,langid,sentiment,ner)
t0=$(run 1 sentences,langid)
$BH annotate --model "$M" --stages sentences,langid,sentiment,ner --to none --threads 2 "$tmp/in.txt" 2>/dev/null |
    cmp -s - "$tmp/ref.jsonl" && same=yes || same=NO
awk -v n="$nsent" -v a="$t1" -v b="$t2" -v c="$t0" -v s="$scale" -v same="$same" 'BEGIN{
    printf "| stages | threads | seconds | sentences/s |\n|---|---|---|---|\n";
    printf "| sentences,langid | 1 | %.2f | %.0f |\n", c, n / c;
    printf "| sentences,langid,sentiment,ner | 1 | %.2f | %.0f |\n", a, n / a;
    printf "| sentences,langid,sentiment,ner | 2 | %.2f | %.0f |\n", b, n / b;
    printf "2 threads: %.2fx one thread; the machine scales %.2fx (%.0f%% of it); output identical to 1 thread: %s\n",
        a / b, s, 100 * (a / b) / s, same }'
if $BH --version | grep -q "bf16 available"; then
    b1=$(run 1 sentences,langid,sentiment,ner "--precision bf16")
    b2=$(run 2 sentences,langid,sentiment,ner "--precision bf16")
    $BH annotate --model "$M" --stages sentences,langid,sentiment,ner --to none --precision bf16 "$tmp/in.txt" > "$tmp/bf.jsonl" 2>/dev/null
    # labels and entity spans/types, scores left out: how often bf16 decides otherwise
    lab() { grep -o '"sentiment":{"label":"[a-z]*"' "$1"; }
    ent() { grep -o '"type":"[A-Z]*","start":[0-9]*,"end":[0-9]*' "$1"; }
    dl=$(lab "$tmp/ref.jsonl" > "$tmp/l1"; lab "$tmp/bf.jsonl" > "$tmp/l2"; paste -d' ' "$tmp/l1" "$tmp/l2" | awk '$1 != $2' | wc -l)
    ne1=$(ent "$tmp/ref.jsonl" | wc -l); ne2=$(ent "$tmp/bf.jsonl" | wc -l)
    de=$(ent "$tmp/ref.jsonl" | sort > "$tmp/e1"; ent "$tmp/bf.jsonl" | sort > "$tmp/e2"; comm -3 "$tmp/e1" "$tmp/e2" | wc -l)
    awk -v n="$nsent" -v a="$b1" -v b="$b2" -v t1="$t1" 'BEGIN{
        printf "| sentences,langid,sentiment,ner, --precision bf16 | 1 | %.2f | %.0f (%.2fx fp32) |\n", a, n / a, t1 / a;
        printf "| sentences,langid,sentiment,ner, --precision bf16 | 2 | %.2f | %.0f |\n", b, n / b }'
    echo "bf16 against fp32: $dl of $(wc -l < "$tmp/l1" | tr -d ' ') sentiment labels differ; entities $ne1 (fp32) / $ne2 (bf16), $de in only one of them"
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
