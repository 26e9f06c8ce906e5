#!/usr/bin/python3
"""Hindi wh-questions from annotated raw text, as training data for extractive QA.

    bhasha annotate --stages sentences,words,ner < raw.txt > ann.jsonl
    /usr/bin/python3 scripts/qa_questions.py ann.jsonl --seed 1 --max 10000 > questions.jsonl

Why: cloze questions with a blank ("_____") look nothing like real questions,
and a span model trained on them alone scored F1 about 1 on XQuAD-hi. Hindi
keeps its question word where the answer stands (SOV, wh in situ), so a
sentence whose answer span, with the postposition after it, is replaced by the
matching question word is already a well-formed question: "X ने Y जीता"
becomes "किसने Y जीता ?". Answers are what
XQuAD asks for most: named entities (from the NER stage: PER, ORG, LOC),
numbers and dates, and, for "क्या" questions, short content-word spans.
A share of the question's other words is dropped, and (--shuffle) its
phrases reordered, so that the model cannot lean on copying the sentence word
for word.

Input: bhasha annotate JSON lines (sentence and word offsets in bytes, entity
offsets in code points). Output: JSON lines {"id","context","question",
"answers":[{"text","answer_start"}]} (answer_start in code points), the
format of bhasha corpus cloze, for bhasha finetune --task qa.
"""
import argparse
import collections
import json
import random
import sys

POSTPOSITIONS = {"ने", "को", "का", "की", "के", "से", "में", "पर", "तक"}
MONTHS = {"जनवरी", "फरवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून", "जुलाई", "अगस्त",
          "सितंबर", "सितम्बर", "अक्टूबर", "अक्तूबर", "नवंबर", "नवम्बर", "दिसंबर", "दिसम्बर"}
# question word for a person or organisation answer, by the postposition after it
WHO = {"ने": "किसने", "को": "किसे", "का": "किसका", "की": "किसकी", "के": "किसके", "से": "किससे",
       "में": "किसमें", "पर": "किस पर", "तक": "किस तक"}
WHERE = {"में": "कहाँ", "से": "कहाँ से", "को": "कहाँ", "का": "कहाँ का", "की": "कहाँ की",
         "के": "कहाँ के", "पर": "कहाँ", "तक": "कहाँ तक"}
ORG_NOUNS = ["संगठन", "संस्था", "टीम", "दल", "कंपनी"]
PLACE_NOUNS = ["जगह", "शहर", "देश", "राज्य", "स्थान"]
END_PUNCT = "।.!?|॥"


def char_offsets(text):
    """byte offset -> code point offset, for every byte offset of text."""
    m = {}
    b = 0
    for i, ch in enumerate(text):
        m[b] = i
        b += len(ch.encode("utf-8"))
    m[b] = len(text)
    return m


def is_number(w):
    return any(c.isdigit() for c in w) and all(c.isdigit() or c in ",.:-–" for c in w)


def doc_units(r):
    """sentences of one document: (start, end, [(start, end, text, kind)]) in code points."""
    text = r["text"]
    b2c = char_offsets(text)
    words = [(b2c[w["start"]], b2c[w["end"]], w["text"], w.get("kind", "word")) for w in r.get("words", [])]
    out = []
    for s in r.get("sentences", []):
        s0, s1 = b2c[s["start"]], b2c[s["end"]]
        out.append((s0, s1, [w for w in words if w[0] >= s0 and w[1] <= s1]))
    return out


def candidates(sent_words, ents, rng):
    """answer candidates in one sentence: (index of the answer's first word, of
    its last word, the question word(s) put in its place, how many of the
    words after it the question word takes along: 1 for a postposition it
    contains, as "किसने" contains "ने")."""
    ws = sent_words
    out = []
    starts = {w[0]: i for i, w in enumerate(ws)}
    ends = {w[1]: i for i, w in enumerate(ws)}
    for e in ents:
        i, j = starts.get(e["char_start"]), ends.get(e["char_end"])
        if i is None or j is None or j - i >= 4:  # longer "entities" are mostly tagging errors
            continue
        nxt = ws[j + 1][2] if j + 1 < len(ws) else ""
        if e["type"] in ("PER", "ORG"):
            if nxt in WHO:
                q, eat = WHO[nxt], 1
            elif e["type"] == "ORG" and rng.random() < 0.5:
                q, eat = "किस " + rng.choice(ORG_NOUNS), 0
            else:
                q, eat = "कौन", 0
        elif e["type"] == "LOC":
            if nxt in WHERE and rng.random() < 0.7:
                q, eat = WHERE[nxt], 1
            else:
                q, eat = "किस " + rng.choice(PLACE_NOUNS), 0
        else:
            continue
        out.append((i, j, q, eat))
    for i, w in enumerate(ws):
        if w[3] != "number" and not is_number(w[2]):
            continue
        nxt = ws[i + 1][2] if i + 1 < len(ws) else ""
        digits = w[2].replace(",", "")
        if nxt in MONTHS:
            j = i + 1
            if j + 1 < len(ws) and is_number(ws[j + 1][2]):
                j += 1
            out.append((i, j, "कब", 1 if j + 1 < len(ws) and ws[j + 1][2] == "को" else 0))
        elif digits.isdigit() and len(digits) == 4 and 1800 <= int(digits) <= 2100:
            out.append((i, i, "किस वर्ष" if rng.random() < 0.5 else "कब", 1 if nxt == "में" and rng.random() < 0.5 else 0))
        else:
            q = "कितनी" if rng.random() < 0.3 else "कितने"
            out.append((i, i, q, 0))
    return out


def what_candidate(ws, stop, rng):
    """a "क्या" question: 1-3 words in a row, none a number, punctuation or one
    of the most frequent words."""
    idx = [i for i, w in enumerate(ws) if w[3] == "word" and w[2] not in stop]
    if not idx:
        return None
    i = rng.choice(idx)
    j = i
    n = rng.choice([1, 1, 2, 3])
    while j + 1 < len(ws) and j - i + 1 < n and ws[j + 1][3] == "word" and ws[j + 1][2] not in stop:
        j += 1
    return (i, j, "क्या", 0)


CASE_MARKERS = {"ने", "को", "से", "में", "पर", "तक"}


def reorder(toks, wh, rng):
    """Hindi orders its phrases freely before the verb: cut the question after
    each case marker and after the question word, keep the last piece (the
    verb group) last and shuffle the others."""
    chunks, cur = [], []
    for t in toks:
        cur.append(t)
        if t in CASE_MARKERS or t == wh:
            chunks.append(cur)
            cur = []
    if cur:
        chunks.append(cur)
    if len(chunks) < 3:
        return toks
    head = chunks[:-1]
    rng.shuffle(head)
    return [t for c in head + chunks[-1:] for t in c]


def build_question(ws, cand, drop, shuffle, rng):
    """the sentence's words with the answer (and what the question word takes
    along) replaced by the question word, punctuation left out, other words
    dropped with probability drop (never the answer's neighbours or the last
    word), then "?"."""
    i, j, q, eat = cand
    toks = []
    for k, w in enumerate(ws):
        if k == i:
            toks.append(q)
        elif i < k <= j + eat:
            continue
        elif w[3] == "punct" or (k == len(ws) - 1 and w[2] in END_PUNCT):
            continue
        elif rng.random() < drop and abs(k - i) > 1 and k != len(ws) - 1:
            continue
        else:
            toks.append(w[2])
    if rng.random() < shuffle:
        toks = reorder(toks, q, rng)
    # "कब", never "कब में" (a year's "में" is kept after "किस वर्ष" only)
    return " ".join(toks).replace("कब में ", "कब ") + " ?"


def context_window(units, si, max_chars, rng):
    """sentences around sentence si, up to max_chars code points, the answer's
    sentence at a random place in the window."""
    lo = hi = si
    grow = [-1, 1]
    while True:
        rng.shuffle(grow)
        moved = False
        for d in grow:
            k = (lo - 1) if d < 0 else (hi + 1)
            if 0 <= k < len(units):
                a, b = min(units[lo][0], units[k][0]), max(units[hi][1], units[k][1])
                if b - a <= max_chars:
                    lo, hi = (k, hi) if d < 0 else (lo, k)
                    moved = True
                    break
        if not moved:
            return units[lo][0], units[hi][1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("annotated", help="bhasha annotate JSON lines (stages sentences,words,ner)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max", type=int, default=12000, help="questions at most")
    ap.add_argument("--per-paragraph", type=int, default=3)
    ap.add_argument("--context-chars", type=int, default=700)
    ap.add_argument("--what", type=float, default=0.25, help="share of the sentences tried that get a 'क्या' span")
    ap.add_argument("--drop", type=float, default=0.15, help="chance to drop each other question word")
    ap.add_argument("--shuffle", type=float, default=0,
                    help="chance to shuffle the phrases before the verb group")
    ap.add_argument("--stopwords", type=int, default=300)
    ap.add_argument("--max-words", type=int, default=40, help="longer sentences ask nothing")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    docs = []
    with open(a.annotated, encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            try:
                r = json.loads(line)
            except ValueError as e:
                sys.exit("qa_questions: %s line %d: not JSON (%s)" % (a.annotated, ln, e))
            if isinstance(r, dict) and "error" in r:  # annotate's per-record errors: nothing to ask about
                continue
            if not isinstance(r, dict) or not isinstance(r.get("text"), str):
                sys.exit("qa_questions: %s line %d: not a bhasha annotate record" % (a.annotated, ln))
            docs.append(r)
    freq = collections.Counter(w["text"] for r in docs for w in r.get("words", []))
    stop = {w for w, _ in freq.most_common(a.stopwords)} | POSTPOSITIONS
    rng.shuffle(docs)
    n = 0
    kinds = collections.Counter()
    for di, r in enumerate(docs):
        if n >= a.max:
            break
        text = r["text"]
        units = doc_units(r)
        if len(units) < 3:
            continue
        ents = r.get("entities", [])
        order = list(range(len(units)))
        rng.shuffle(order)
        made = 0
        for si in order:
            if made >= a.per_paragraph or n >= a.max:
                break
            s0, s1, ws = units[si]
            if not 6 <= len(ws) <= a.max_words or s1 - s0 > a.context_chars:
                continue
            if rng.random() < a.what:
                cand = what_candidate(ws, stop, rng)
            else:
                cs = candidates(ws, [e for e in ents if s0 <= e["char_start"] and e["char_end"] <= s1], rng)
                cand = rng.choice(cs) if cs else None
            if cand is None:
                continue
            c0, c1 = context_window(units, si, a.context_chars, rng)
            ans0, ans1 = ws[cand[0]][0], ws[cand[1]][1]
            question = build_question(ws, cand, a.drop, a.shuffle, rng)
            kinds[cand[2].split()[0]] += 1
            rec = {"id": "wh:%d:%d" % (di, si), "context": text[c0:c1], "question": question,
                   "answers": [{"text": text[ans0:ans1], "answer_start": ans0 - c0}]}
            assert rec["context"][ans0 - c0:ans1 - c0] == rec["answers"][0]["text"]
            print(json.dumps(rec, ensure_ascii=False))
            made += 1
            n += 1
    print("qa_questions: %d questions; question words: %s" % (n, json.dumps(kinds, ensure_ascii=False)),
          file=sys.stderr)


if __name__ == "__main__":
    main()
