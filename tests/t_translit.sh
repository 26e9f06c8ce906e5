#!/bin/sh
# tests/t_translit.sh — `bhasha translit` end to end: Bangla and Hindi examples,
# line count kept, bad input (invalid UTF-8, NUL bytes, empty file, a long
# line, no final newline), --strict, usage errors, round trip through Latin.
. tests/tap.sh
FX=tests/fixtures/translit
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok "help" "$BH" translit --help
is "Hindi to Latin" "$(printf 'हिंदी भाषा।\n' | "$BH" translit --to latn)" "hiṁdī bhāṣā।"
is "Bangla to Latin" "$(printf 'আমি বাংলায় গান গাই।\n' | "$BH" translit --to latn)" "āmi bāṁlāẏa gāna gāi।"
is "Bangla to Devanagari" "$(printf 'নমস্কার\n' | "$BH" translit --to deva)" "नमस्कार"
is "Hindi to Gurmukhi (addak, tippi)" "$(printf 'पक्का हिंदी\n' | "$BH" translit --to guru)" "ਪੱਕਾ ਹਿੰਦੀ"
is "Latin to Bangla" "$(printf 'bāṁlā\n' | "$BH" translit --from latn --to beng)" "বাংলা"
is "Latin to Assamese" "$(printf 'asamara\n' | "$BH" translit --from latn --to beng --lang as)" "অসমৰ"
is "Tamil superscripts" "$(printf 'भारत\n' | "$BH" translit --to taml --tamil-superscripts)" "பா⁴ரத"

# line count: 5 lines in (one empty, one with invalid UTF-8, one with a NUL), 5 out
printf 'কলকাতা\n\nभारत\377\376\nনা\000ম\nশেষ\n' >"$tmp/bad.txt"
"$BH" translit --to latn "$tmp/bad.txt" >"$tmp/out" 2>"$tmp/err"
is "invalid UTF-8: exit 0 without --strict" "$?" "0"
is "line count kept" "$(wc -l <"$tmp/out" | tr -d ' ')" "5"
is "one stderr line names line 3" "$(grep -c ':3: 2 invalid UTF-8' "$tmp/err")" "1"
is "NUL byte copied" "$(sed -n 4p "$tmp/out" | tr -dc '\000' | wc -c | tr -d ' ')" "1"
"$BH" translit --to latn --strict "$tmp/bad.txt" >/dev/null 2>&1
is "--strict: exit 1" "$?" "1"
: >"$tmp/empty"
is "empty file: empty output" "$("$BH" translit --to deva "$tmp/empty" | wc -c | tr -d ' ')" "0"
printf 'কলকাতা' | "$BH" translit --to latn >"$tmp/nonl"
is "no final newline kept" "$(wc -l <"$tmp/nonl" | tr -d ' '):$(cat "$tmp/nonl")" "0:kalakātā"
awk 'BEGIN{for(i=0;i<200000;i++) printf "বাংলা "; print ""}' >"$tmp/long"
is "long line (2.6 MB) converted" "$("$BH" translit --to deva "$tmp/long" | wc -l | tr -d ' ')" "1"
head -c 300000 /dev/urandom >"$tmp/bin" 2>/dev/null || awk 'BEGIN{for(i=0;i<70000;i++) printf "%c", (i*7919)%256}' >"$tmp/bin"
n_in=$(wc -l <"$tmp/bin" | tr -d ' ')
n_out=$("$BH" translit --to latn "$tmp/bin" 2>/dev/null | wc -l | tr -d ' ')
is "binary file: line count kept" "$n_out" "$n_in"

"$BH" translit 2>"$tmp/err" </dev/null; is "missing --to: exit 2" "$?" "2"
is "missing --to: one stderr line" "$(wc -l <"$tmp/err" | tr -d ' ')" "1"
"$BH" translit --to klingon 2>/dev/null </dev/null; is "unknown script: exit 2" "$?" "2"
"$BH" translit --to latn --from latn /nonexistent 2>/dev/null; is "missing file: exit 1" "$?" "1"

# round trip through Latin on the fixture lines (after normalization)
grep -v '^#' $FX/roundtrip.tsv | while IFS="$(printf '\t')" read -r sc text; do
    lang=""; to=$sc
    [ "$sc" = as ] && { lang="--lang as"; to=beng; }
    back=$(printf '%s\n' "$text" | "$BH" translit --normalize --to latn | "$BH" translit --from latn --to $to $lang)
    want=$(printf '%s\n' "$text" | "$BH" normalize)
    [ -n "$back" ] && [ "$back" = "$want" ] && echo same || echo "differ: $text"
done >"$tmp/rt"
is "fixture lines survive script -> latn -> script" "$(grep -c differ "$tmp/rt")" "0"
done_testing
