#!/bin/sh
# tests/t_annotate.sh — `bhasha annotate` end to end: same output for 1 and 3
# threads and for stdin, one line per record with error records for bad ones,
# output that is valid JSON (UTF-8) and valid CoNLL-U whatever the input bytes,
# the JSON sidecar, --stream, --stages, SIGTERM while waiting on a pipe, and
# --resume: kill -9 at random moments (the finished output must be
# byte-identical to an uninterrupted run), a stop just after a file whose last
# records the reader skipped, SIGTERM, a full disk (ulimit -f), a file name
# that is not UTF-8, and refusing to resume on a changed or shrunk input.
. tests/tap.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ~20000 distinct lines of Bangla and Hindi built from the examples.
i=0
while [ $i -lt 900 ]; do
    sed "s/^/$i /" examples/sample-bn.txt examples/sample-hi.txt
    i=$((i + 1))
done >"$tmp/in.txt"
nin=$(wc -l <"$tmp/in.txt" | tr -d ' ')

"$BH" annotate --model none --quiet --threads 1 "$tmp/in.txt" >"$tmp/ref" 2>"$tmp/err"
is "one line per record" "$(wc -l <"$tmp/ref" | tr -d ' ')" "$nin"
is "quiet: nothing on stderr" "$(wc -c <"$tmp/err" | tr -d ' ')" "0"
"$BH" annotate --model none --quiet --threads 3 "$tmp/in.txt" >"$tmp/t3"
ok "3 threads: same bytes as 1 thread" cmp "$tmp/ref" "$tmp/t3"
"$BH" annotate --model none --quiet --threads 2 <"$tmp/in.txt" >"$tmp/stdin"
ok "stdin: same bytes" cmp "$tmp/ref" "$tmp/stdin"
gzip -c "$tmp/in.txt" >"$tmp/in.txt.gz"
"$BH" annotate --model none --quiet --threads 2 "$tmp/in.txt.gz" >"$tmp/gz"
ok "gzip input: same bytes" cmp "$tmp/ref" "$tmp/gz"
ok "first record is Bangla" grep -q '"lang":"bn"' "$tmp/ref"

# Bad records: invalid UTF-8 (error with --strict-utf8), over the size limit, NUL, empty.
printf 'ভালো\n\377\376 bad\n%s\n\nনা\000ম\nশেষ' "$(head -c 3000 /dev/zero | tr '\0' a)" >"$tmp/bad.txt"
"$BH" annotate --model none --strict-utf8 --max-record-bytes 2000 --stages words --to none \
    --output "$tmp/bad.jsonl" "$tmp/bad.txt" 2>"$tmp/err"
is "bad input: exit 0" "$?" "0"
is "bad input: 6 lines out of 6 records" "$(wc -l <"$tmp/bad.jsonl" | tr -d ' ')" "6"
is "invalid UTF-8 -> error record" "$(sed -n 2p "$tmp/bad.jsonl" | grep -c '"error":"invalid UTF-8')" "1"
is "over the limit -> error record with its size" "$(sed -n 3p "$tmp/bad.jsonl" | grep -c '"bytes":3000')" "1"
is "NUL byte escaped" "$(sed -n 5p "$tmp/bad.jsonl" | grep -c 'u0000')" "1"
is "sidecar counts" "$(grep -o '"read":6,"written":6,"failed":2,"skipped":0' "$tmp/bad.jsonl.summary.json")" \
    '"read":6,"written":6,"failed":2,"skipped":0'
is "summary line on stderr" "$(grep -c '6 read, 6 written, 2 failed, 0 skipped' "$tmp/err")" "1"
"$BH" annotate --model none --stages words,translit --to none "$tmp/bad.txt" 2>/dev/null | head -1 >"$tmp/st"
is "--stages: no lang, no sentences" "$(grep -c '"lang"\|"sentences"' "$tmp/st")" "0"
"$BH" annotate --model none --stages words,nope "$tmp/bad.txt" >/dev/null 2>&1
is "unknown stage: usage error" "$?" "2"

# JSON lines input with ids; a malformed line gives an error record, not a gap.
printf '{"id":"d1","text":"আমি"}\n{oops\n{"id":"d2","text":"हम"}\n' >"$tmp/docs.jsonl"
"$BH" annotate --model none --quiet --id-field id "$tmp/docs.jsonl" >"$tmp/docs.out"
is "jsonl: 3 lines" "$(wc -l <"$tmp/docs.out" | tr -d ' ')" "3"
is "jsonl: ids kept" "$(grep -c '^{"id":"d[12]","text"' "$tmp/docs.out")" "2"
is "jsonl: malformed line -> error" "$(sed -n 2p "$tmp/docs.out" | grep -c '"error":"unreadable record')" "1"

# Output is valid JSON whatever the bytes: ids and error messages with invalid
# UTF-8 (a CSV id, a CoNLL-U ID column, a JSON error cut inside a character)
# come out with U+FFFD.
json_ok() { # FILE: every line parses (python3, which rejects invalid UTF-8, or else jq; 0 when neither is there)
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1], "rb")]' "$1" 2>/dev/null
    elif command -v jq >/dev/null 2>&1; then
        jq -c . "$1" >/dev/null 2>&1
    fi
}
printf 'id,text\n\377x,আমি\n' >"$tmp/u.csv"
printf '# text = x\n\377\tx\t_\t_\t_\t_\t_\t_\t_\t_\n\n' >"$tmp/u.conllu"
printf '{%s\n' "$(i=0; while [ $i -lt 100 ]; do printf 'আ'; i=$((i + 1)); done)" >"$tmp/u.jsonl"
"$BH" annotate --model none --quiet --id-field id "$tmp/u.csv" >"$tmp/u1.out"
"$BH" annotate --model none --quiet "$tmp/u.conllu" "$tmp/u.jsonl" >"$tmp/u2.out"
ok "invalid UTF-8 in a CSV id: valid JSON" json_ok "$tmp/u1.out"
is "invalid UTF-8 in a CSV id: U+FFFD" "$(grep -c '^{"id":"�x"' "$tmp/u1.out")" "1"
ok "invalid UTF-8 in error messages: valid JSON" json_ok "$tmp/u2.out"
is "invalid UTF-8 in error messages: 2 error records" "$(grep -c '"error":"unreadable record' "$tmp/u2.out")" "2"
if command -v iconv >/dev/null 2>&1; then
    ok "annotate output is UTF-8" iconv -f UTF-8 -t UTF-8 "$tmp/u2.out"
else
    skip "annotate output is UTF-8" "no iconv"
fi

# CoNLL-U: one "# newdoc" per record with sentences, one block per sentence, one row per word.
printf 'আমি বাংলায় গান গাই। তুমি কি শুনবে?\n\nनमस्ते 42\n' | "$BH" annotate --model none --quiet --output-format conllu --to none >"$tmp/c.conllu"
is "conllu: a newdoc per record with sentences" "$(grep -c '^# newdoc$' "$tmp/c.conllu")" "2"
is "conllu: 3 sentences" "$(grep -c '^# text = ' "$tmp/c.conllu")" "3"
is "conllu: 10 columns on every row" "$(grep -v '^#' "$tmp/c.conllu" | grep . | awk -F'\t' 'NF != 10' | wc -l | tr -d ' ')" "0"
is "conllu: number row" "$(grep -c '^2	42	_	NUM	' "$tmp/c.conllu")" "1"
is "conllu: SpaceAfter=No before the danda" "$(grep -c '^4	গাই	.*SpaceAfter=No' "$tmp/c.conllu")" "1"
# Records without sentences and failed ones give no document (their error on
# stderr); ids are one line; "|" and "\" in MISC are escaped as UD does. The
# repo's own CoNLL-U reader must read it all without a problem.
printf '{"id":"a\\nb","text":"আমি"}\n{oops\n{"id":"d","text":"क|ख a\\\\b"}\n{"id":"e","text":""}\n{bad\n' >"$tmp/d.jsonl"
"$BH" annotate --model none --quiet --no-normalize --id-field id --output-format conllu "$tmp/d.jsonl" >"$tmp/d.conllu" 2>"$tmp/d.err"
is "conllu with bad records: exit 0" "$?" "0"
is "conllu: a newdoc for each of the 2 records with sentences" "$(grep -c '^# newdoc' "$tmp/d.conllu")" "2"
is "conllu: an id with a newline stays one line" "$(grep -c '^# newdoc id = a b$' "$tmp/d.conllu")" "1"
"$BH" annotate --model none --quiet --id-field id --output-format conllu "$tmp/u.csv" >"$tmp/u.conllu.out"
is "conllu: an id with invalid UTF-8 is repaired" "$(grep -c '^# newdoc id = �x$' "$tmp/u.conllu.out")" "1"
is "conllu: failed records on stderr, one line each" \
    "$(grep -c '^bhasha annotate: record [25]: unreadable record: ' "$tmp/d.err"):$(wc -l <"$tmp/d.err" | tr -d ' ')" "2:2"
is "conllu: | escaped in MISC" "$(grep -c '	Translit=\\p$' "$tmp/d.conllu")" "1"
is "conllu: \\ escaped in MISC" "$(grep -c '	SpaceAfter=No|Translit=\\\\$' "$tmp/d.conllu")" "1"
"$BH" corpus stats "$tmp/d.conllu" >"$tmp/d.stats" 2>&1
is "conllu: read back by the corpus reader" "$?" "0"
ok "conllu: no problem when read back" grep -q '"sentences":3,.*"skipped":0' "$tmp/d.stats"

# --stream: exactly one stdout line per input line, nothing on stderr.
printf 'এক\n\nदो\000x\r\nশেষ' | "$BH" annotate --model none --stream --threads 2 >"$tmp/s.out" 2>"$tmp/s.err"
is "stream: 4 lines for 4 records" "$(wc -l <"$tmp/s.out" | tr -d ' ')" "4"
is "stream: stderr empty" "$(wc -c <"$tmp/s.err" | tr -d ' ')" "0"
"$BH" annotate --model none --stream "$tmp/in.txt" >/dev/null 2>&1
is "stream with a file: usage error" "$?" "2"

# SIGTERM while the run waits for input on a pipe (3 threads: the signal must
# reach the reading thread): it stops at once, the record read before is
# written, exit 143; with --stream, nothing on stderr.
for mode in --quiet --stream; do
    rm -f "$tmp/fifo" "$tmp/p.rc"
    mkfifo "$tmp/fifo"
    ( "$BH" annotate --model none $mode --threads 3 <"$tmp/fifo" >"$tmp/p.out" 2>"$tmp/p.err" &
      echo $! >"$tmp/p.pid"; wait $!; echo $? >"$tmp/p.rc" ) &
    exec 3>"$tmp/fifo"
    printf 'আমি\n' >&3
    sleep 1
    kill -TERM "$(cat "$tmp/p.pid")"
    i=0
    while [ ! -s "$tmp/p.rc" ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
    is "SIGTERM on a pipe ($mode): exits within 3 s" "$([ -s "$tmp/p.rc" ] && echo exited)" "exited"
    exec 3>&-
    wait
    is "SIGTERM on a pipe ($mode): exit 143, the record written" \
        "$(cat "$tmp/p.rc"):$(wc -l <"$tmp/p.out" | tr -d ' ')" "143:1"
    is "SIGTERM on a pipe ($mode): stderr empty" "$(wc -c <"$tmp/p.err" | tr -d ' ')" "0"
done

# --resume: kill -9 at random moments, rerun the same command until it finishes.
# (a variable, not a function: `kill $!` must reach bhasha itself, not a subshell)
cmd="$BH annotate --model none --quiet --threads 2 --checkpoint-every 100 --input $tmp/in.txt --output $tmp/r.jsonl --resume"
kills=0 tries=0
while [ $tries -lt 40 ]; do
    tries=$((tries + 1))
    $cmd 2>>"$tmp/r.err" &
    pid=$!
    ms=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 150 + 10 ))
    sleep "$(printf '0.%03d' $ms)"
    kill -9 $pid 2>/dev/null && kills=$((kills + 1))
    wait $pid 2>/dev/null && break
    [ $kills -ge 20 ] && break
done
$cmd 2>>"$tmp/r.err"
is "resume: finishes with exit 0" "$?" "0"
ok "resume after $kills kill -9: byte-identical output" cmp "$tmp/ref" "$tmp/r.jsonl"
is "resume: nothing but expected messages on stderr" "$(grep -vc 'Killed' "$tmp/r.err")" "0"
ok "checkpoint says done" grep -q '"done": true' "$tmp/r.jsonl.ckpt"
$cmd
ok "rerun of a finished job: output unchanged" cmp "$tmp/ref" "$tmp/r.jsonl"

# SIGTERM: finish the current record, checkpoint, exit 128+15; resume completes.
rm -f "$tmp/r.jsonl" "$tmp/r.jsonl.ckpt"
$cmd 2>"$tmp/term.err" &
pid=$!
sleep 0.3
kill -TERM $pid
wait $pid
rc=$?
if [ $rc = 0 ]; then skip "SIGTERM exit status" "the run finished before the signal"; else is "SIGTERM: exit 143" "$rc" "143"; fi
$cmd
ok "SIGTERM then resume: byte-identical" cmp "$tmp/ref" "$tmp/r.jsonl"

# A full disk (the file size limit stands in for it): stop cleanly, resume later.
rm -f "$tmp/r.jsonl" "$tmp/r.jsonl.ckpt"
(ulimit -f 1000; $cmd) 2>"$tmp/full.err"
is "full disk: exit 1" "$?" "1"
is "full disk: one clear line" "$(grep -c 'cannot write.*checkpoint is consistent' "$tmp/full.err")" "1"
$cmd
ok "full disk then resume: byte-identical" cmp "$tmp/ref" "$tmp/r.jsonl"

# A stop right after a file whose last record the reader skipped (63 good JSON
# lines, a bad one, then a second file): the checkpoint must be past the skipped
# record, or the resumed output has its error line twice. A full disk stops the
# run deterministically there; kill -9 does it when it lands in time.
i=0
while [ $i -lt 63 ]; do printf '{"text":"আমি %d"}\n' $i; i=$((i + 1)); done >"$tmp/s1.jsonl"
printf '{oops\n' >>"$tmp/s1.jsonl"
i=0
while [ $i -lt 3000 ]; do printf 'আমি বাংলায় গান গাই। '; i=$((i + 1)); done >"$tmp/s2.txt"
printf '\nশেষ\n' >>"$tmp/s2.txt"
"$BH" annotate --model none --quiet "$tmp/s1.jsonl" "$tmp/s2.txt" >"$tmp/sref"
scmd="$BH annotate --model none --quiet --checkpoint-every 64 --input $tmp/s1.jsonl $tmp/s2.txt --output $tmp/s.jsonl --resume"
rm -f "$tmp/s.jsonl" "$tmp/s.jsonl.ckpt"
(ulimit -f 100; $scmd) 2>/dev/null
is "skipped record last in a file: the stop is after it" "$(grep -c '"read": 64' "$tmp/s.jsonl.ckpt")" "1"
$scmd
ok "skipped record last in a file, resume: byte-identical" cmp "$tmp/sref" "$tmp/s.jsonl"
rm -f "$tmp/s.jsonl" "$tmp/s.jsonl.ckpt"
$scmd &
pid=$!
i=0
while ! grep -q '"read": 64' "$tmp/s.jsonl.ckpt" 2>/dev/null && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
if grep -q '"done": true' "$tmp/s.jsonl.ckpt"; then
    skip "skipped record last in a file, kill -9 and resume" "the run finished before the kill"
else
    $scmd
    ok "skipped record last in a file, kill -9 and resume: byte-identical" cmp "$tmp/sref" "$tmp/s.jsonl"
fi

# A file name that is not UTF-8 (Latin-1 é): the checkpoint keeps its bytes, so
# the run resumes (it used to lose the path and refuse every resume).
lat=$(printf 'caf\351')
cp "$tmp/in.txt" "$tmp/$lat.txt"
lcmd="$BH annotate --model none --quiet --threads 2 --checkpoint-every 100 --input $tmp/$lat.txt --output $tmp/$lat.jsonl --resume"
(ulimit -f 1000; $lcmd) 2>/dev/null
$lcmd
is "non-UTF-8 file name: resume exits 0" "$?" "0"
ok "non-UTF-8 file name: resume byte-identical" cmp "$tmp/ref" "$tmp/$lat.jsonl"
$lcmd
is "non-UTF-8 file name: rerun of the finished job" "$?" "0"

# Changed or shrunk input: refuse to resume.
rm -f "$tmp/r.jsonl" "$tmp/r.jsonl.ckpt"
(ulimit -f 1000; $cmd) 2>/dev/null
sed '1s/^0 /X /' "$tmp/in.txt" >"$tmp/in2" && cp "$tmp/in.txt" "$tmp/in.bak" && cp "$tmp/in2" "$tmp/in.txt"
$cmd 2>"$tmp/chg.err"
is "changed input: exit 1" "$?" "1"
ok "changed input: says why" grep -q 'input consumed so far changed' "$tmp/chg.err"
head -c 1000 "$tmp/in.bak" >"$tmp/in.txt"
$cmd 2>"$tmp/chg.err"
is "shrunk input: exit 1" "$?" "1"
ok "shrunk input: says why" grep -q 'changed size since the checkpoint' "$tmp/chg.err"
cp "$tmp/in.bak" "$tmp/in.txt"
"$BH" annotate --model none --quiet --to deva --input "$tmp/in.txt" --output "$tmp/r.jsonl" --resume 2>"$tmp/chg.err"
is "other options: refuse" "$?" "1"
"$BH" annotate --model none --resume "$tmp/in.txt" >/dev/null 2>&1
is "--resume without --output: usage error" "$?" "2"
"$BH" annotate --model none --quiet "$tmp/in.txt" --output /dev/full 2>"$tmp/full.err"
is "/dev/full: exit 1" "$?" "1"
done_testing
