#!/bin/sh
# tests/t_langid.sh — `bhasha langid` (identify, train, eval) on the command line.
. tests/tap.sh
F=tests/fixtures/langid
SHARED=${BH_SHARED:-../shared}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

cut -f2 $F/sentences.tsv >"$T/in.txt"
$BH langid "$T/in.txt" >"$T/out.txt" 2>"$T/err"
is "exit status 0" "$?" 0
is "one output line per input line" "$(wc -l <"$T/out.txt")" "$(wc -l <"$T/in.txt")"
is "languages of the fixture sentences" "$(cut -f1 "$T/out.txt" | paste -sd ' ' -)" "$(cut -f1 $F/sentences.tsv | paste -sd ' ' -)"
ok "LANG<TAB>score with 4 decimals in [0,1]" awk -F'\t' 'NF != 2 || $2 !~ /^(0\.[0-9]{4}|1\.0000)$/ { exit 1 }' "$T/out.txt"
is "nothing on stderr" "$(cat "$T/err")" ""

# stdin; an empty line, invalid UTF-8, a NUL byte, CRLF, no final newline
hi=$(sed -n 1p "$T/in.txt")
bn=$(sed -n 5p "$T/in.txt")
printf '%s\n\n\377\376 %s\nab\000cd efg\r\n%s' "$hi" "$bn" "$hi" >"$T/bad.txt"
$BH langid <"$T/bad.txt" >"$T/bout" 2>"$T/berr"
is "bad input: exit 0 without --strict" "$?" 0
is "bad input: 5 results, last without newline" "$(wc -l <"$T/bout") $(tail -c 1 "$T/bout" | od -An -c | tr -d ' ')" "4 0"
is "bad input: labels" "$(cut -f1 "$T/bout" | paste -sd ' ' -)" "hi und bn en hi"
is "bad input: empty line scores 0" "$(sed -n 2p "$T/bout")" "$(printf 'und\t0.0000')"
ok "bad input: line 3 reported" grep -q 'line 3: .*invalid UTF-8' "$T/berr"
ok "bad input: line 4 NUL reported" grep -q 'line 4: .*1 NUL' "$T/berr"
$BH langid --strict <"$T/bad.txt" >/dev/null 2>&1
is "--strict: exit 1 on bad input" "$?" 1
$BH langid --strict </dev/null >"$T/empty.out" 2>&1
is "empty input: no output, exit 0" "$?:$(wc -c <"$T/empty.out")" "0:0"

# hostile model files
head -c 1000 assets/langid/langid.bin >"$T/trunc.bin"
$BH langid --model "$T/trunc.bin" <"$T/in.txt" >"$T/o" 2>"$T/e"
is "truncated model: exit 1" "$?" 1
is "truncated model: one line on stderr" "$(wc -l <"$T/e")" 1
ok "truncated model: says so" grep -q 'truncated' "$T/e"
$BH langid --model "$T/missing.bin" <"$T/in.txt" >/dev/null 2>"$T/e"
is "missing model: exit 1" "$?" 1
$BH langid --bogus >/dev/null 2>&1
is "unknown option: exit 2" "$?" 2

# train a small model, use it, evaluate the shipped one
$BH langid train -o "$T/m.bin" --hash-bits 12 $F/sentences.tsv 2>"$T/te"
is "train: exit 0" "$?" 0
ok "train: progress on stderr" grep -q 'epoch\|wrote' "$T/te"
is "trained model fits its data" "$($BH langid --model "$T/m.bin" "$T/in.txt" | cut -f1 | paste -sd ' ' -)" \
    "$(cut -f1 $F/sentences.tsv | paste -sd ' ' -)"
printf 'hi\tकुछ\nxx yy\n' >"$T/badtrain.tsv"
$BH langid train -o "$T/m2.bin" "$T/badtrain.tsv" >/dev/null 2>"$T/e"
is "train: malformed line rejected" "$?:$(grep -c 'line 2' "$T/e")" "1:1"
ok "eval: 100% on the fixture" sh -c "$BH langid eval $F/sentences.tsv | grep -q '^| all | 20 | 100.00% |'"

# held-out FLORES lines (never trained on: the model uses lines 1-1509)
FL=$SHARED/data/langid/flores200-dev-devtest
if [ -d "$FL" ]; then
    for l in as bn en gu hi kn ml mr ne or pa sa ta te ur; do
        sed -n '1510,2009p' "$FL/$l.txt" | awk -v L=$l '{ print L "\t" $0 }'
    done >"$T/held.tsv"
    acc=$($BH langid eval "$T/held.tsv" | awk -F'|' '$2 ~ /all/ { gsub(/[ %]/, "", $4); print $4 }')
    ok "held-out FLORES accuracy $acc% >= 99.5%" awk -v a="$acc" 'BEGIN { exit !(a >= 99.5) }'
    acc=$($BH langid eval --short 20 "$T/held.tsv" | awk -F'|' '$2 ~ /all/ { gsub(/[ %]/, "", $4); print $4 }')
    ok "held-out FLORES <= 20 chars accuracy $acc% >= 95%" awk -v a="$acc" 'BEGIN { exit !(a >= 95) }'
else
    skip "held-out FLORES accuracy" "$FL not found"
    skip "held-out FLORES short accuracy" "$FL not found"
fi
done_testing
