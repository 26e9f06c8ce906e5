#!/bin/sh
# tests/t_corpus.sh — `bhasha corpus stats|clean|split|encode` on the project's
# fixtures, bad input handling, and every staged dataset in ../shared/data
# (skipped when it is absent).
. tests/tap.sh
FX=tests/fixtures/corpora
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

out=$("$BH" corpus stats --label label --on-error skip $FX/data.csv)
is "stats csv: 3 documents" "$(echo "$out" | grep -o '"documents":[0-9]*')" '"documents":3'
echo "$out" | grep -q 'data.csv:5: 4 fields'; is "stats reports the bad row by file:line" "$?" "0"
is "stats over several files ends with a total" "$("$BH" corpus stats --blocks $FX/text.txt $FX/text.txt | tail -1 | grep -o '"file":"(total of 2 files)","documents":6')" '"file":"(total of 2 files)","documents":6'
"$BH" corpus stats --label label $FX/data.csv >/dev/null 2>"$tmp/err"
is "on-error stop: exit 1" "$?" "1"
is "on-error stop: one stderr line" "$(wc -l <"$tmp/err" | tr -d ' ')" "1"
grep -q 'data.csv:5' "$tmp/err"; is "stop message names file:line" "$?" "0"
"$BH" corpus stats --format conll --on-error skip --scheme bio $FX/ner.conll | grep -q '"B-TIM":1'
is "stats conll with scheme conversion" "$?" "0"
"$BH" corpus stats $FX/broken.xml >/dev/null 2>"$tmp/err"
is "broken XML: exit 1" "$?" "1"
grep -q 'XML not well-formed: line 11' "$tmp/err"; is "broken XML: line reported" "$?" "0"

# reader fixes: bad bytes, missing separators, odd columns, SQuAD structure, big wiki pages
printf 'text,label\na,\377\nb,pos\n' > "$tmp/u8.csv"
is "stats keeps a label that is not UTF-8, escaped" "$("$BH" corpus stats --label label "$tmp/u8.csv" | grep -o '"labels":{[^}]*}')" '"labels":{"pos":1,"\\xFF":1}'
printf 'text,label\n"a\nb\000\nc",pos\nfine,neg\n' > "$tmp/nul.csv"
out=$("$BH" corpus stats --label label --on-error skip "$tmp/nul.csv")
is "CSV: NUL in a quoted field spanning lines drops that record only" "$(echo "$out" | grep -o '"documents":[0-9]*,.*"skipped":[0-9]*' | sed 's/,.*"skipped"/ skipped/')" '"documents":1 skipped:1'
echo "$out" | grep -q 'nul.csv:2: NUL byte in record'; is "CSV: NUL reported at the record's line" "$?" "0"
printf '# sent_id = a\n1\tA\tA\tX\t_\t_\t0\troot\t_\t_\n# sent_id = b\n1\tB\tB\tX\t_\t_\t0\troot\t_\t_\n2\tC\tC\tX\t_\t_\t1\tdep\t_\t_\n' > "$tmp/cat.conllu"
is "CoNLL-U: a comment after word lines starts the next sentence" "$("$BH" corpus stats "$tmp/cat.conllu" | grep -o '"documents":[0-9]*,"sentences":[0-9]*,"tokens":[0-9]*')" '"documents":2,"sentences":2,"tokens":3'
printf '1 a a X _ _ 0 root _ _\n' > "$tmp/sp.conllu"
"$BH" corpus stats "$tmp/sp.conllu" >/dev/null 2>"$tmp/err"
grep -q 'sp.conllu:1: no tab (10 space-separated columns)' "$tmp/err"; is "CoNLL-U: a space-separated line is called that" "$?" "0"
{ printf 'tok'; i=0; while [ $i -lt 70 ]; do printf '\tx'; i=$((i+1)); done; printf '\tB-PER\nnext\tO\t\n'; } > "$tmp/wide.conll"
is "CoNLL: the tag is the last column (70 columns, trailing tab)" "$("$BH" corpus stats --format conll "$tmp/wide.conll" | grep -o '"tags":{[^}]*},"skipped":[0-9]*')" '"tags":{"B-PER":1,"O":1},"skipped":0'
printf '{"data":[{"title":"A"}]}' > "$tmp/nopar.json"
"$BH" corpus stats "$tmp/nopar.json" >/dev/null 2>"$tmp/err"
is "SQuAD: article without paragraphs stops: exit 1, one stderr line" "$?:$(wc -l <"$tmp/err" | tr -d ' ')" "1:1"
grep -q 'nopar.json: data\[0\]: article without a "paragraphs" array' "$tmp/err"; is "SQuAD: the article is named" "$?" "0"
{ printf '<mediawiki>\n<page><title>Big</title><ns>0</ns><id>1</id><revision><id>2</id><text>'
  head -c 11000000 /dev/zero | tr '\0' x
  printf '</text></revision></page>\n</mediawiki>\n'; } > "$tmp/big.xml"
is "wiki: a page over 10,000,000 bytes is read" "$("$BH" corpus stats --raw "$tmp/big.xml" | grep -o '"documents":[0-9]*,"sentences":[0-9]*,"tokens":[0-9]*,"characters":[0-9]*')" '"documents":1,"sentences":1,"tokens":1,"characters":11000000'
"$BH" corpus stats /nonexistent/file.txt 2>"$tmp/err"; is "missing file: exit 1" "$?" "1"
"$BH" corpus stats --format nope $FX/text.txt 2>/dev/null; is "bad format name: exit 2" "$?" "2"
"$BH" corpus encode x 2>"$tmp/err"; is "encode without --spm: exit 2" "$?" "2"
if [ -f assets/spm/bn.model ]; then
    is "encode: token-id shards" "$("$BH" corpus encode --blocks --spm assets/spm/bn.model --out "$tmp/enc" $FX/text.txt | grep -o '"documents":3,"tokens":[0-9]*,"shards":1' | cut -d, -f1,3)" '"documents":3,"shards":1'
    is "encode: shard magic" "$(head -c 7 "$tmp/enc-00000.bin")" "BHTOKS1"
else
    skip "encode: token-id shards" "assets/spm/bn.model not built"
fi

printf 'ভালো দিন\nভালো  দিন\n\nhello world\nভালো দিন\nআজ বৃষ্টি\n\001\n' > "$tmp/c.txt"
"$BH" corpus clean --lang bn --report "$tmp/rep.json" "$tmp/c.txt" > "$tmp/clean.txt"
is "clean keeps 2 lines" "$(wc -l <"$tmp/clean.txt" | tr -d ' ')" "2"
grep -q '"duplicate":2' "$tmp/rep.json"; is "clean reports duplicates" "$?" "0"
grep -q '"other_language":1' "$tmp/rep.json"; is "clean reports other language" "$?" "0"
if [ -f assets/langid/langid.bin ]; then
    printf 'আমি ভাত খাই।\nমোৰ নাম ৰাম।\n' > "$tmp/as.txt"   # Bangla, then Assamese (same script)
    is "clean --lang bn drops Assamese with the langid model" "$("$BH" corpus clean --lang bn "$tmp/as.txt" 2>/dev/null)" "আমি ভাত খাই।"
else
    skip "clean --lang bn drops Assamese with the langid model" "assets/langid/langid.bin absent"
fi

printf 'আজ\nভালো দিন\n' > "$tmp/mc.txt"
is "clean --min-chars counts characters, not bytes" "$("$BH" corpus clean --min-chars 3 "$tmp/mc.txt" 2>/dev/null)" "ভালো দিন"
cp "$tmp/mc.txt" "$tmp/q\"x.txt"
"$BH" corpus clean --report "$tmp/q.json" "$tmp/q\"x.txt" >/dev/null
grep -qF 'q\"x.txt","kept":2' "$tmp/q.json"; is "clean report: the file name is a JSON string" "$?" "0"
if [ -w /dev/full ]; then
    "$BH" corpus clean "$tmp/mc.txt" >/dev/full 2>"$tmp/err"
    is "clean: a failed write of the kept lines is exit 1" "$?:$(grep -c 'write error' "$tmp/err")" "1:1"
    "$BH" corpus clean --report /dev/full "$tmp/mc.txt" >/dev/null 2>"$tmp/err"
    is "clean: a failed write of the report is exit 1" "$?:$(grep -c 'write error' "$tmp/err")" "1:1"
else
    skip "clean: a failed write of the kept lines is exit 1" "no /dev/full"
    skip "clean: a failed write of the report is exit 1" "no /dev/full"
fi
"$BH" corpus encode --spm x --out "$tmp/e" $(i=0; while [ $i -lt 257 ]; do printf '%s ' "$tmp/mc.txt"; i=$((i+1)); done) 2>"$tmp/err"
is "encode: more than 256 files is a usage error, not silently fewer" "$?:$(grep -c 'too many files' "$tmp/err")" "2:1"
# the CLI's shared line reader: a read error is not the end of the input
"$BH" normalize "$tmp" >/dev/null 2>"$tmp/err"
is "line reader: a directory as input is exit 1 with one read error line" "$?:$(grep -c 'read error' "$tmp/err")" "1:1"
cp $FX/squad.json "$tmp/sq1.json"; cp $FX/squad.json "$tmp/sq2.json"
is "stats total over two SQuAD files counts both files' paragraphs" "$("$BH" corpus stats --on-error skip "$tmp/sq1.json" "$tmp/sq2.json" | tail -1 | grep -o '"questions":[0-9]*,"paragraphs":[0-9]*')" '"questions":6,"paragraphs":2'

i=0; : > "$tmp/s.tsv"; printf 'id\ttext\tlabel\n' > "$tmp/s.tsv"
while [ $i -lt 100 ]; do l=pos; [ $((i % 4)) -eq 0 ] && l=neg; printf '%d\tdoc %d\t%s\n' $i $i $l >> "$tmp/s.tsv"; i=$((i+1)); done
"$BH" corpus split --label label --seed 7 --out "$tmp/a" "$tmp/s.tsv" > "$tmp/sp1"
"$BH" corpus split --label label --seed 7 --out "$tmp/b" "$tmp/s.tsv" > /dev/null
cmp -s "$tmp/a.train.tsv" "$tmp/b.train.tsv" && cmp -s "$tmp/a.test.tsv" "$tmp/b.test.tsv"
is "split is reproducible with --seed" "$?" "0"
is "split sizes: 80 train" "$(grep -o '"train":[0-9]*' "$tmp/sp1")" '"train":80'
is "split is stratified (train has 20 of 25 neg)" "$(grep -c 'neg$' "$tmp/a.train.tsv")" "20"
"$BH" corpus split --label label --seed 8 --out "$tmp/c" "$tmp/s.tsv" > /dev/null
cmp -s "$tmp/a.train.tsv" "$tmp/c.train.tsv"; is "another seed, another split" "$?" "1"
"$BH" corpus split --label label --out "$tmp/d" "$tmp/s.tsv" 2>/dev/null; is "split without --seed: exit 2" "$?" "2"
"$BH" corpus split --seed 1 --ratios nan,0.1,0.1 --out "$tmp/d" "$tmp/s.tsv" 2>"$tmp/err"
is "split --ratios with a NaN: a usage error" "$?:$(wc -l < "$tmp/err" | tr -d ' ')" "2:1"
if [ -w /dev/full ]; then
    # the outputs are PREFIX.train|dev|test.EXT: a link points one of them at /dev/full
    ln -s /dev/full "$tmp/full.dev.tsv"
    "$BH" corpus split --label label --seed 7 --out "$tmp/full" "$tmp/s.tsv" >"$tmp/out" 2>"$tmp/err"
    is "split: a failed write of an output is exit 1, one line naming it, no summary" "$?:$(wc -l <"$tmp/err" | tr -d ' '):$(grep -c 'write error on .*full\.dev\.tsv' "$tmp/err"):$(wc -c <"$tmp/out" | tr -d ' ')" "1:1:1:0"
else
    skip "split: a failed write of an output is exit 1, one line naming it, no summary" "no /dev/full"
fi

D=${BH_SHARED:-../shared}/data
if [ ! -d "$D" ]; then
    skip "staged datasets" "$D is absent (set BH_SHARED)"
else
    S=$D/sentiment/bn/banglanlp-bangla-sentiment
    for f in $S/ABSA_Datasets/*.tsv $S/multichannel_bsentiment/*.tsv $S/youtube_sentiment/*.tsv $S/CogniSenti/*.tsv \
             $D/sentiment/bn/sazzad-youtube-drama-bnlp-split/*.tsv; do
        ok "loads $(basename $f)" "$BH" corpus stats --label class_label "$f"
    done
    for f in $S/SAIL_data/*.csv; do ok "loads $(basename $f)" "$BH" corpus stats --format tsv --label class "$f"; done
    "$BH" corpus stats --label class_label $S/consolidated/bn_all_dev.tsv >/dev/null 2>&1
    is "consolidated (defective) stops on the first bad row" "$?" "1"
    got=$("$BH" corpus stats --label class_label --on-error skip $S/consolidated/bn_all_train.tsv | grep -o '"skipped":[0-9]*')
    is "consolidated train: 655 bad rows reported (SOURCE.md)" "$got" '"skipped":655'
    for f in $D/sentiment/hi/hsac-amazon-reviews/*.tsv; do
        got=$("$BH" corpus stats --no-quotes --text title_hindi --text2 content_hindi --label labels "$f" | grep -o '"documents":[0-9]*')
        is "hsac $(basename $f): every row (quotes are literal)" "$got" "$([ $(basename $f) = train.tsv ] && echo '"documents":3527' || echo '"documents":884')"
    done
    got=$("$BH" corpus stats --format conll --on-error skip $D/ner/bn/rifat1493-bengali-ner/train_data.txt | grep -o '"documents":[0-9]*,.*"skipped":[0-9]*' | sed 's/,.*"skipped"/ skipped/')
    is "rifat train: 4608 sentences + 4 with empty tags (SOURCE.md: 4612)" "$got" '"documents":4608 skipped:4'
    ok "loads rifat test" "$BH" corpus stats --format conll --on-error skip $D/ner/bn/rifat1493-bengali-ner/test_data.txt
    for f in $D/ner/hi/il-ner-hindi/*.txt; do
        ok "loads $(basename $f)" "$BH" corpus stats --format conll --scheme bio --label-map NEP=PER,NEL=LOC,NEO=ORG --on-error skip "$f"
    done
    ok "loads banglakit jsonl (re-tokenised)" "$BH" corpus stats --tags 1 --scheme bio --on-error skip $D/ner/bn/banglakit-bengali-ner/main.jsonl
    is "xquad hi: 1190 questions, 240 paragraphs" "$("$BH" corpus stats $D/qa/hi/xquad-hi/xquad.hi.json | grep -o '"questions":[0-9]*,"paragraphs":[0-9]*')" '"questions":1190,"paragraphs":240'
    ok "loads xquad en" "$BH" corpus stats $D/qa/hi/xquad-hi/xquad.en.json
    ok "loads UD bn_bru" "$BH" corpus stats $D/ud/bn_bru/bn_bru-ud-test.conllu
    for f in $D/raw/*/*/*valid.txt* $D/raw/hi/hindi-discourse-stories/*train.txt; do
        ok "loads $(basename $f)" "$BH" corpus stats --blocks "$f"
    done
    for f in $D/parallel/bn-en/bnlp-mt-benchmarks/*/*.bn $D/parallel/bn-en/bnlp-mt-benchmarks/*/*.en* $D/langid/flores200-dev-devtest/*.txt; do
        ok "loads $(basename $f)" "$BH" corpus stats "$f"
    done
fi
done_testing
