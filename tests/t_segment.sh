#!/bin/sh
# tests/t_segment.sh — `bhasha segment` end to end: output formats of every
# unit, JSON offsets, line counts, and bad input (invalid UTF-8, NUL bytes,
# empty and binary files, a 100 MB line).
. tests/tap.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok "help" "$BH" segment --help
"$BH" segment --unit syllable </dev/null 2>"$tmp/err"; is "unknown unit exits 2" "$?" "2"
is "unknown unit: one stderr line" "$(wc -l <"$tmp/err" | tr -d ' ')" "1"

is "words (default unit)" "$(printf 'ড. ইউনূস বলেন, “আমরা যাব।”\n' | "$BH" segment)" \
   "ড. ইউনূস বলেন , “ আমরা যাব । ”"
is "words: currency, numbers, URL" "$(printf 'दाम ₹1,200 है, देखें https://x.org/a?b=1।\n' | "$BH" segment --unit word)" \
   "दाम ₹1,200 है , देखें https://x.org/a?b=1 ।"
printf 'আমি যাব। তুমি থাকো।\n\nतुम कहाँ हो? मैं यहाँ हूँ।\n' >"$tmp/s.txt"
printf 'আমি যাব।\nতুমি থাকো।\n\n\nतुम कहाँ हो?\nमैं यहाँ हूँ।\n\n' >"$tmp/s.want"
"$BH" segment --unit sentence "$tmp/s.txt" >"$tmp/s.got"
ok "sentences: one per line, a blank line after each input line" cmp -s "$tmp/s.got" "$tmp/s.want"
is "akshara" "$(printf 'ক্ষত্রিয় हिन्दी\n' | "$BH" segment --unit akshara)" "ক্ষ ত্রি য় हि न्दी"
is "grapheme" "$(printf 'কি a\314\201\n' | "$BH" segment --unit grapheme)" "$(printf 'কি a\314\201')"

# line count: empty lines and a last line without newline
printf 'এক\n\nদুই তিন\nচার' >"$tmp/l.txt"
for u in word akshara grapheme; do
    is "$u: one output line per input line" "$("$BH" segment --unit $u "$tmp/l.txt" | wc -l | tr -d ' ')" "4"
done

# JSON: byte and character offsets into the whole input
printf 'ক খ\nগ\n' | "$BH" segment --json >"$tmp/j.txt"
is "json line 1" "$(sed -n 1p "$tmp/j.txt")" \
   '{"line":1,"units":[{"text":"ক","kind":"word","start":0,"end":3,"cstart":0,"cend":1},{"text":"খ","kind":"word","start":4,"end":7,"cstart":2,"cend":3}]}'
is "json line 2 offsets continue" "$(sed -n 2p "$tmp/j.txt")" \
   '{"line":2,"units":[{"text":"গ","kind":"word","start":8,"end":11,"cstart":4,"cend":5}]}'
is "json sentences" "$(printf 'এক। দুই।\n' | "$BH" segment --unit sentence --json)" \
   '{"line":1,"units":[{"text":"এক।","kind":"other","start":0,"end":9,"cstart":0,"cend":3},{"text":"দুই।","kind":"other","start":10,"end":22,"cstart":4,"cend":8}]}'
if command -v /usr/bin/python3 >/dev/null 2>&1; then
    printf 'ড. ৳৫০০ 😀 x@y.com\n\377ক\n' | "$BH" segment --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin: json.loads(line)' 2>/dev/null
    is "json output parses (also with invalid UTF-8)" "$?" "0"
else
    skip "json output parses" "no /usr/bin/python3"
fi

# bad input: invalid UTF-8 and NUL bytes are reported with the line number
printf 'ভালো\nমন্দ \377\376 কথা\nশেষ\n' >"$tmp/bad.txt"
"$BH" segment "$tmp/bad.txt" >"$tmp/out" 2>"$tmp/err"
is "invalid UTF-8: exit 0 without --strict" "$?" "0"
grep -q "line 2: 2 invalid UTF-8" "$tmp/err"; is "invalid UTF-8 reported with its line number" "$?" "0"
is "invalid UTF-8: line count kept" "$(wc -l <"$tmp/out" | tr -d ' ')" "3"
is "invalid bytes written as U+FFFD" "$(sed -n 2p "$tmp/out")" "মন্দ � � কথা"
"$BH" segment --strict "$tmp/bad.txt" >/dev/null 2>&1; is "invalid UTF-8: exit 1 with --strict" "$?" "1"
printf 'এক\000দুই\n' | "$BH" segment >"$tmp/out" 2>"$tmp/err"
is "NUL byte: exit 0" "$?" "0"
grep -q "line 1: 1 NUL" "$tmp/err"; is "NUL byte reported" "$?" "0"
is "NUL byte separates words" "$(cat "$tmp/out")" "এক দুই"
: >"$tmp/empty"
is "empty file: no output" "$("$BH" segment "$tmp/empty" | wc -c | tr -d ' ')" "0"
for u in sentence word akshara grapheme; do
    "$BH" segment --unit $u "$BH" >/dev/null 2>"$tmp/err"
    is "binary file, $u: no crash" "$?" "0"
done
"$BH" segment "$tmp/missing" 2>"$tmp/err"; is "missing file: exit 1" "$?" "1"

# a 100 MB line (one giant word, cut mid-character at the end) and a 10 MB line of many words
yes 'আমিবাংলায়গানগাই' | tr -d '\n' | head -c 100000000 >"$tmp/big"
printf '\n' >>"$tmp/big"
"$BH" segment "$tmp/big" 2>"$tmp/err" | wc -l >"$tmp/n"
is "100 MB line: one output line" "$(tr -d ' ' <"$tmp/n")" "1"
grep -q "line 1: " "$tmp/err"; is "100 MB line: the cut character is reported" "$?" "0"
yes 'আমি বাংলায় গান গাই। ' | tr -d '\n' | head -c 10000000 >"$tmp/big"
printf '\n' >>"$tmp/big"
is "10 MB line of words: one output line" "$("$BH" segment "$tmp/big" 2>/dev/null | wc -l | tr -d ' ')" "1"
is "10 MB line: sentences" "$("$BH" segment --unit sentence "$tmp/big" 2>/dev/null | wc -l | tr -d ' ')" "181820"
done_testing
