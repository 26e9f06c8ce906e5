# tests/t_normalize.sh — `bhasha normalize` on bad and odd input (TAP).
. tests/tap.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

printf 'দু:খ|\nक\340\244\277\340\244\274\n' > "$tmp/in"
is "rules applied line by line" "$($BH normalize "$tmp/in" | od -An -tx1 | tr -d ' \n')" \
   "e0a6a6e0a781e0a683e0a696e0a5a40ae0a495e0a4bce0a4bf0a"

printf 'one\n\377\376\ntwo\000x\n\nlast' > "$tmp/bad"
$BH normalize "$tmp/bad" > "$tmp/out" 2> "$tmp/err"
is "exit 0 on repairable input without --strict" "$?" "0"
is "line count kept (last line without newline too)" "$(wc -l < "$tmp/out")" "$(wc -l < "$tmp/bad")"
is "invalid UTF-8 reported with line number" "$(grep -c ':2: 2 invalid' "$tmp/err")" "1"
is "NUL reported with line number" "$(grep -c ':3: 0 invalid UTF-8 sequence(s) replaced by U+FFFD, 1 NUL' "$tmp/err")" "1"
$BH normalize --strict "$tmp/bad" > /dev/null 2>&1
is "--strict exits 1 on bad input" "$?" "1"

: > "$tmp/empty"
is "empty file gives empty output" "$($BH normalize "$tmp/empty" | wc -c)" "0"

head -c 300000 /dev/urandom > "$tmp/bin"
$BH normalize "$tmp/bin" > "$tmp/binout" 2>/dev/null
is "binary file: no crash" "$?" "0"
is "binary file: line count kept" "$(wc -l < "$tmp/binout")" "$(wc -l < "$tmp/bin")"

# A 100 MB line (ASan runs use a smaller one to stay quick).
mb=100; [ "${BUILD:-build}" = build-asan ] && mb=8
awk -v n=$((mb * 1024 * 1024 / 32)) 'BEGIN { s = "আমি বাংলায় গান গাই "; for (i = 0; i < n; i++) printf "%s", s; printf "\n" }' > "$tmp/huge"
$BH normalize "$tmp/huge" > "$tmp/hugeout"
is "huge line: exit 0" "$?" "0"
is "huge line: unchanged (already canonical)" "$(cmp -s "$tmp/huge" "$tmp/hugeout" && echo same)" "same"

is "--digits ascii" "$(printf '১২৩ १२\n' | $BH normalize --digits ascii)" "123 12"
is "--digits native" "$(printf 'সাল 2024\n' | $BH normalize --digits native)" "সাল ২০২৪"
is "--fold-space" "$(printf '  a \t  b  \n' | $BH normalize --fold-space)" "a b"
is "--repair-only: the line as given but for the invalid byte" \
   "$(printf 'দু:খ|  \340\245\230\377\n' | $BH normalize --repair-only --fold-space 2> /dev/null | od -An -tx1 | tr -d ' \n')" \
   "e0a6a6e0a7813ae0a6967c2020e0a598efbfbd0a"
$BH normalize --digits roman < /dev/null 2> "$tmp/err"
is "bad option value: exit 2" "$?" "2"
is "bad option value: one line" "$(wc -l < "$tmp/err")" "1"
$BH normalize /nonexistent/file > /dev/null 2> "$tmp/err"
is "missing file: exit 1" "$?" "1"
done_testing
