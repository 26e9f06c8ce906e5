#!/usr/bin/python3
"""Why the harmonised Bangla 3-class set scores lower on test than on dev: a
linear model (TF-IDF of character 2-4-grams and word 1-2-grams, scikit-learn's
LinearSVC, balanced class weights) trained on the harmonised training split,
scored on the dev and the test split as a whole and per source.

Usage: harmonised_gap.py SETS_DIR
  SETS_DIR  the prepared splits (scripts/train_models.sh WORK sets, i.e.
            bench/sentiment_bench.py --sets-only): SETS_DIR/bn-harmonised-3class
            and the per-source sets beside it, which say where each text came from

A text's source is the per-source set whose same split holds a text with the
same letters and marks (bench/sentiment_bench.py's dedup_key). Prints one
markdown table: for each source and split, the texts, macro-F1 and accuracy.
Takes about ten seconds.
"""
import csv
import os
import sys
from collections import Counter

from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.svm import LinearSVC

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sentiment_bench import HARMONISED_FROM, dedup_key  # noqa: E402

csv.field_size_limit(1 << 30)


def read(path):
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    sets = sys.argv[1]
    h = os.path.join(sets, "bn-harmonised-3class")
    split = {s: read(os.path.join(h, s + ".tsv")) for s in ("train", "dev", "test")}
    source = {}
    for src in HARMONISED_FROM:
        for s in ("dev", "test"):
            for t in read(os.path.join(sets, src, s + ".tsv"))[0]:
                source.setdefault((s, dedup_key(t)), src)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, min_df=2)
    words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"\S+")
    tr_text, tr_y = split["train"]
    x = hstack([chars.fit_transform(tr_text), words.fit_transform(tr_text)]).tocsr()
    model = LinearSVC(C=0.1, class_weight="balanced").fit(x, tr_y)
    print("| split | source | texts | labels | macro-F1 | accuracy |")
    print("|---|---|---|---|---|---|")
    for s in ("dev", "test"):
        text, y = split[s]
        pred = model.predict(hstack([chars.transform(text), words.transform(text)]).tocsr())
        src = [source.get((s, dedup_key(t)), "?") for t in text]
        for name in ["all"] + sorted(set(src)):
            idx = [i for i in range(len(y)) if name == "all" or src[i] == name]
            g, p = [y[i] for i in idx], [pred[i] for i in idx]
            labels = ", ".join("%s %d" % kv for kv in sorted(Counter(g).items()))
            print("| %s | %s | %d | %s | %.2f | %.2f |" % (s, name, len(idx), labels,
                  100 * f1_score(g, p, average="macro"), 100 * accuracy_score(g, p)))


if __name__ == "__main__":
    main()
