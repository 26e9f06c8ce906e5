#!/usr/bin/python3
"""scripts/pretrain_mix.py — the text of the second MLM pretraining stage: the
staged raw Bangla + Hindi training documents and the unlabeled text of the
task sets' training splits (sentiment texts, NER sentences), the latter
repeated REPEAT times so the encoder sees the domains it is fine-tuned on
(social-media comments, reviews) more than their share of words alone would
give. A task text whose letters equal those of a dev or test text of any set
(bench/sentiment_bench.py's dedup_key ignores punctuation, spacing, digits and
case) is left out, so no evaluated text is pretrained on, not even as a copy
with other punctuation.
One document per line, shuffled with a fixed seed; counts go to stderr.

  python3 scripts/pretrain_mix.py SHARED_DATA SETS NER_DIR REPEAT > mix.txt

SETS is the sentiment sets' directory (train_models.sh WORK/sets), NER_DIR the
directory with rifat_train.conll / rifat_dev.conll (WORK/ner)."""
import csv
import glob
import gzip
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from sentiment_bench import dedup_key as key  # noqa: E402  (the harmonised set's key)


def lines(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line:
                yield line


def tsv_texts(path):
    """The text column of a prepared set (RFC 4180 quoting, as sentiment_bench.py writes)."""
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if (row.get("text") or "").strip():
                yield row["text"]


def conll_sentences(path):
    words = []
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            cells = line.split()
            if not cells:
                if words:
                    yield " ".join(words)
                words = []
            else:
                words.append(cells[0].lstrip("\ufeff"))
    if words:
        yield " ".join(words)


def main():
    data, sets, ner, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    raw = data + "/raw"
    docs = []
    for pat in ("bn/*/*.train.txt*", "hi/*/*.train.txt*"):
        for path in sorted(glob.glob(os.path.join(raw, pat))):
            docs.extend(lines(path))
    nraw = len(docs)

    held = set()
    for path in glob.glob(sets + "/*/dev.tsv") + glob.glob(sets + "/*/test.tsv"):
        held.update(key(t) for t in tsv_texts(path))
    il = data + "/ner/hi/il-ner-hindi"
    for path in (il + "/Hindi-dev.txt", il + "/Hindi-test.txt", ner + "/rifat_dev.conll",
                 data + "/ner/bn/rifat1493-bengali-ner/test_data.txt"):
        held.update(key(t) for t in conll_sentences(path))

    task = []
    for name in ("bn-harmonised-3class", "hi-hsac-amazon", "bn-youtube-drama"):
        task.extend(tsv_texts(os.path.join(sets, name, "train.tsv")))
    task.extend(conll_sentences(ner + "/rifat_train.conll"))
    task.extend(conll_sentences(il + "/Hindi-train.txt"))
    seen, kept = set(), []
    for t in task:
        k = key(t)
        if k in held or k in seen:
            continue
        seen.add(k)
        kept.append(" ".join(t.split()))
    docs.extend(kept * repeat)
    random.Random(1).shuffle(docs)
    for d in docs:
        print(d)
    print("pretrain_mix: %d raw documents, %d task texts (%d held out or repeated) x %d"
          % (nraw, len(kept), len(task) - len(kept), repeat), file=sys.stderr)


main()
