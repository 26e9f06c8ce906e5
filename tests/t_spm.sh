#!/bin/sh
# tests/t_spm.sh — `bhasha spm` and `bhasha wordpiece` CLI: id-for-id equality
# with Debian's spm_encode on >= 10,000 staged Bangla + Hindi lines for each
# shipped model (1 and 2 threads), and bad input (hostile model and vocab
# files, invalid UTF-8, empty and 10 MB lines: same line count out as in).
. tests/tap.sh
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
SHARED=${BH_SHARED:-../shared}
lines() { wc -l <"$1" | tr -d ' '; }

# --- staged text (list shared with tests/test_wordpiece.c)
have_text=1
: >"$T/text.txt"
while read -r rel n; do
    case $rel in '#'* | '') continue ;; esac
    if [ ! -f "$SHARED/$rel" ]; then have_text=0; break; fi
    zcat -f "$SHARED/$rel" | head -n "$n" >>"$T/text.txt"
done <tests/fixtures/subword/subword_shared.list
have_spm=1
command -v spm_encode >/dev/null 2>&1 || have_spm=0

for m in bn hi bnhi; do
    model=assets/spm/$m.model
    if [ $have_text = 0 ] || [ $have_spm = 0 ]; then
        skip "$m: ids equal spm_encode on staged text" "needs $SHARED/data/raw and spm_encode"
        skip "$m: 2 threads equal spm_encode" "needs $SHARED/data/raw and spm_encode"
        [ $m = bnhi ] && skip "$m: pieces equal spm_encode" "needs $SHARED/data/raw and spm_encode"
        continue
    fi
    spm_encode --model "$model" --output_format=id <"$T/text.txt" >"$T/want.ids"
    "$BH" spm encode --model "$model" --ids <"$T/text.txt" >"$T/got.ids"
    ok "$m: ids equal spm_encode on $(lines "$T/text.txt") staged lines" cmp "$T/want.ids" "$T/got.ids"
    "$BH" spm encode --model "$model" --ids --threads 2 "$T/text.txt" >"$T/got2.ids"
    ok "$m: 2 threads equal spm_encode" cmp "$T/want.ids" "$T/got2.ids"
    [ $m = bnhi ] || continue
    spm_encode --model "$model" --output_format=piece <"$T/text.txt" >"$T/want.pc"
    "$BH" spm encode --model "$model" --pieces <"$T/text.txt" >"$T/got.pc"
    ok "$m: pieces equal spm_encode" cmp "$T/want.pc" "$T/got.pc"
done
if [ $have_text = 1 ] && [ $have_spm = 1 ]; then
    "$BH" normalize <"$T/text.txt" | spm_encode --model assets/spm/bnhi.model --output_format=id >"$T/want.n"
    "$BH" spm encode --model assets/spm/bnhi.model --normalize --threads 2 "$T/text.txt" >"$T/got.n"
    ok "bnhi --normalize equals bhasha normalize | spm_encode" cmp "$T/want.n" "$T/got.n"
else
    skip "bnhi --normalize equals bhasha normalize | spm_encode" "needs staged text and spm_encode"
fi
if [ $have_text = 1 ]; then
    is "test text has >= 10,000 lines" "$([ "$(lines "$T/text.txt")" -ge 10000 ] && echo yes)" yes
else
    skip "test text has >= 10,000 lines" "no staged text"
fi

# --- round trip and training
printf 'আমি বাংলায় গান গাই।\nमैं हिंदी में गाना गाता हूँ।\n' >"$T/rt.txt"
"$BH" spm encode --model assets/spm/bnhi.model <"$T/rt.txt" | "$BH" spm decode --model assets/spm/bnhi.model >"$T/rt.out"
ok "encode | decode gives the text back" cmp "$T/rt.txt" "$T/rt.out"
"$BH" spm train --input tests/fixtures/subword/wp_text.txt --model-prefix "$T/tiny" --vocab-size 300 \
    --character-coverage 1.0 --quiet 2>"$T/err"
ok "spm train writes a model" test -s "$T/tiny.model"
"$BH" spm train --input tests/fixtures/subword/wp_text.txt --model-prefix "$T/tiny2" --vocab-size 99999 --quiet 2>"$T/err"
is "spm train: too large a vocab fails with one line" "$?:$(lines "$T/err")" "1:1"

# --- bad input lines: count kept, same ids as spm_encode
{
    printf 'ক\n\n'
    yes 'আমি বাংলায় গান গাই। hello world ' | tr -d '\n' | head -c 10485760
    printf '\n\377\376 bad \340\246\n\r\n\nlast'
} >"$T/bad.txt"
"$BH" spm encode --model assets/spm/bnhi.model "$T/bad.txt" >"$T/bad.out" 2>"$T/err"
is "odd lines: exit 0" "$?" 0
is "odd lines: 7 lines in, 7 out" "$(lines "$T/bad.out")" 7
if [ $have_spm = 1 ]; then
    spm_encode --model assets/spm/bnhi.model --output_format=id "$T/bad.txt" >"$T/bad.want"
    ok "odd lines: same as spm_encode" cmp "$T/bad.want" "$T/bad.out"
else
    skip "odd lines: same as spm_encode" "no spm_encode"
fi
"$BH" spm encode --model assets/spm/bnhi.model --threads 2 "$T/bad.txt" >"$T/bad2.out" 2>"$T/err"
ok "odd lines, 2 threads: same output" cmp "$T/bad.out" "$T/bad2.out"
# several chunks of the threaded pipeline, bytes that are not UTF-8 included
{
    printf 'ক\n\n\377bad\n'
    yes 'আমি বাংলায় গান গাই।' | head -5000
    printf '\376x\n'
    yes 'hello' | head -3000
} >"$T/many.txt"
"$BH" spm encode --model assets/spm/bnhi.model --normalize "$T/many.txt" >"$T/many1.out"
"$BH" spm encode --model assets/spm/bnhi.model --normalize --threads 3 "$T/many.txt" >"$T/many3.out"
is "8004 lines, 3 threads: 8004 lines out" "$(lines "$T/many3.out")" 8004
ok "8004 lines, 3 threads: same output as 1 thread" cmp "$T/many1.out" "$T/many3.out"

# --- hostile model files: exit 1, one line on stderr
head -c 1000 assets/spm/bnhi.model >"$T/trunc.model"
echo x | "$BH" spm encode --model "$T/trunc.model" >/dev/null 2>"$T/err"
is "truncated model: exit 1, one stderr line" "$?:$(lines "$T/err")" "1:1"
echo x | "$BH" spm encode --model tests/fixtures/subword/wp_vocab.txt >/dev/null 2>"$T/err"
is "vocab.txt as model: exit 1, one stderr line" "$?:$(lines "$T/err")" "1:1"
echo x | "$BH" spm encode --model "$T/missing.model" >/dev/null 2>"$T/err"
is "missing model: exit 1" "$?" 1
echo "1 2 999999" | "$BH" spm decode --model assets/spm/bnhi.model >"$T/dec" 2>"$T/err"
is "decode of a bad id: exit 1, line kept" "$?:$(lines "$T/dec")" "1:1"

# --- wordpiece CLI
V=tests/fixtures/subword/wp_vocab.txt
"$BH" wordpiece encode --vocab $V tests/fixtures/subword/wp_text.txt >"$T/wp.out"
ok "wordpiece ids equal the Python reference goldens" cmp tests/fixtures/subword/wp_cased.golden "$T/wp.out"
"$BH" wordpiece encode --vocab $V --lower --bert-accents tests/fixtures/subword/wp_text.txt >"$T/wp.out" 2>"$T/err"
ok "uncased ids equal the goldens" cmp tests/fixtures/subword/wp_uncased.golden "$T/wp.out"
is "accent stripping warns once" "$(grep -c warning "$T/err")" 1
printf '[UNK]\nab\nab\n' >"$T/dup.txt"
echo ab | "$BH" wordpiece encode --vocab "$T/dup.txt" >/dev/null 2>"$T/err"
is "vocab with duplicates: exit 1, one line" "$?:$(lines "$T/err")" "1:1"
printf '[PAD]\nab\n' >"$T/nounk.txt"
echo ab | "$BH" wordpiece encode --vocab "$T/nounk.txt" >/dev/null 2>"$T/err"
is "vocab without [UNK]: exit 1, one line" "$?:$(lines "$T/err")" "1:1"
printf 'ok\n\377\n\nfine\n' | "$BH" wordpiece encode --vocab $V >"$T/wp.out" 2>"$T/err"
is "wordpiece invalid UTF-8: exit 1, 4 lines out, one error line" "$?:$(lines "$T/wp.out"):$(lines "$T/err")" "1:4:1"
echo "আমি" | "$BH" wordpiece encode --vocab $V --special --tokens >"$T/wp.out"
is "wordpiece --special adds [CLS] and [SEP]" "$(cut -d' ' -f1 "$T/wp.out"):$(awk '{print $NF}' "$T/wp.out")" "[CLS]:[SEP]"

# --- read errors and extra operands are failures, not shorter input
"$BH" wordpiece encode --vocab $V "$T" >"$T/wp.out" 2>"$T/err"
is "wordpiece encode of a folder: exit 1, one stderr line" "$?:$(lines "$T/err")" "1:1"
echo "1 2" | "$BH" spm decode --model assets/spm/bnhi.model "$T" >"$T/dec" 2>"$T/err"
is "spm decode of a folder: exit 1, one stderr line" "$?:$(lines "$T/err")" "1:1"
printf 'আমি\n' >"$T/one.txt"
"$BH" wordpiece encode --vocab $V "$T/one.txt" "$T/one.txt" >"$T/wp.out" 2>"$T/err"
is "wordpiece encode of two FILEs: usage error, no output" "$?:$(lines "$T/wp.out"):$(lines "$T/err")" "2:0:1"
echo "1 2" >"$T/ids.txt"
"$BH" spm decode --model assets/spm/bnhi.model "$T/ids.txt" "$T/ids.txt" >"$T/dec" 2>"$T/err"
is "spm decode of two FILEs: usage error, no output" "$?:$(lines "$T/dec"):$(lines "$T/err")" "2:0:1"
# an id written with many leading zeros is that id, not a cut-off prefix of it
want=$(echo "42 7" | "$BH" spm decode --model assets/spm/bnhi.model)
got=$(echo "000000000000000000042 0000000000000000000000007" | "$BH" spm decode --model assets/spm/bnhi.model)
is "spm decode of ids with leading zeros" "$got" "$want"
printf '4\0002\n' | "$BH" spm decode --model assets/spm/bnhi.model >"$T/dec" 2>"$T/err"
is "spm decode: an id with a NUL byte is no id" "$?:$(lines "$T/dec")" "1:1"
done_testing
