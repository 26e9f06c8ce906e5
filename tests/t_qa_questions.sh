#!/bin/sh
# tests/t_qa_questions.sh — scripts/qa_questions.py, the Hindi wh-questions
# the QA model trains on: every answer sits at its code point offset in its
# context, every question ends in "?" and holds a question word where the
# answer was (and not the answer itself), a number answer gets a number
# question, an entity with ने after it is asked with किसने, the same seed
# gives the same file, --max caps the count, and a bad line is one clear error.
. tests/tap.sh
PY=/usr/bin/python3
if ! "$PY" -c 'import json' 2>/dev/null; then
    skip "qa_questions" "no $PY"
    done_testing
    exit 0
fi
D=$(mktemp -d "${BUILD:-build}/t_qa_questions.XXXXXX")
trap 'rm -rf "$D"' EXIT

# paragraphs of four sentences, each with a number to ask about
for i in 1 2 3 4 5 6; do
    printf 'राजू ने कल बाज़ार से %d आम खरीदे और घर लौट आया । उसकी बहन सीता %d साल की है और स्कूल जाती है । गाँव में %d लोग रहते हैं जो खेती करते हैं । यह मेला 19%d में पहली बार लगा था और बहुत बड़ा था ।\n' \
        "$((i + 2))" "$((i + 9))" "$((i * 100))" "$((i + 50))"
done > "$D/raw.txt"
$BH annotate --stages sentences,words --model none --quiet < "$D/raw.txt" > "$D/ann.jsonl"
is "annotate: one record per paragraph" "$(wc -l < "$D/ann.jsonl" | tr -d ' ')" "6"

"$PY" scripts/qa_questions.py "$D/ann.jsonl" --seed 3 --what 0 --drop 0 --stopwords 5 > "$D/q.jsonl" 2> "$D/q.err"
is "qa_questions exits 0" "$?" "0"
ok "questions written" test -s "$D/q.jsonl"
ok "counts on stderr" grep -q 'qa_questions: [0-9]* questions' "$D/q.err"
cat > "$D/check.py" <<'PY'
import json, sys
wh = ("किस", "कौन", "कहाँ", "कब", "कितने", "कितनी", "क्या")  # किसने, किसका ... start with किस
bad = 0
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    a = r["answers"][0]
    ok = r["context"][a["answer_start"]:a["answer_start"] + len(a["text"])] == a["text"]
    ok = ok and r["question"].endswith("?") and any(t.startswith(wh) for t in r["question"].split())
    ok = ok and "कब में" not in r["question"]
    ok = ok and a["text"] not in r["question"].split()
    if any(c.isdigit() for c in a["text"]):
        ok = ok and any(w in r["question"] for w in ("कितने", "कितनी", "कब", "किस वर्ष"))
    bad += not ok
print(bad)
PY
is "answers at their offsets, wh-words in place of the answers" "$("$PY" "$D/check.py" "$D/q.jsonl")" "0"
"$PY" scripts/qa_questions.py "$D/ann.jsonl" --seed 3 --what 0 --drop 0 --stopwords 5 > "$D/q2.jsonl" 2> /dev/null
ok "the same seed gives the same questions" cmp -s "$D/q.jsonl" "$D/q2.jsonl"
"$PY" scripts/qa_questions.py "$D/ann.jsonl" --max 2 > "$D/q3.jsonl" 2> /dev/null
is "--max caps the count" "$(wc -l < "$D/q3.jsonl" | tr -d ' ')" "2"

# an entity: "राजू ने" is asked about as "किसने"
"$PY" -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    r["entities"] = [{"type": "PER", "char_start": 0, "char_end": 4, "text": r["text"][:4]}]
    print(json.dumps(r, ensure_ascii=False))' "$D/ann.jsonl" > "$D/ent.jsonl"
"$PY" scripts/qa_questions.py "$D/ent.jsonl" --seed 3 --what 0 --drop 0 --per-paragraph 4 > "$D/qe.jsonl" 2> /dev/null
ok "an entity followed by ने is asked with किसने" grep -q '"question": "किसने कल बाज़ार से [0-9]* आम खरीदे और घर लौट आया ?", "answers": \[{"text": "राजू", "answer_start": 0}\]' "$D/qe.jsonl"
is "entity questions too: answers at their offsets" "$("$PY" "$D/check.py" "$D/qe.jsonl")" "0"
# bad input: one clear line and status 1; annotate's error records are passed over
printf '{"text":"x"}\nnot json\n' > "$D/bad.jsonl"
fails "qa_questions: a line that is not JSON" "$PY" scripts/qa_questions.py "$D/bad.jsonl"
ok "qa_questions: the error names the line" grep -q 'bad.jsonl line 2: not JSON' "$D/err"
{ printf '{"error":"invalid UTF-8"}\n'; cat "$D/ann.jsonl"; } > "$D/witherr.jsonl"
"$PY" scripts/qa_questions.py "$D/witherr.jsonl" --seed 3 --what 0 --drop 0 --stopwords 5 > "$D/q4.jsonl" 2> /dev/null
is "annotate's error records are passed over" "$?:$(wc -l < "$D/q4.jsonl" | tr -d ' ')" "0:$(wc -l < "$D/q.jsonl" | tr -d ' ')"
done_testing
