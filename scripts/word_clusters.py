#!/usr/bin/python3
"""scripts/word_clusters.py — a word cluster table for the feature CRF
(`bhasha crf train --clusters`; format in include/bhasha/crf.h): words that
occur in similar contexts share a cluster, so the CRF can generalise from a
training name to unseen names of its cluster.

How: the text is split into words (whitespace, then punctuation and symbols
split off each end), NFC-normalised and lower-cased; fastText (Debian's
`fasttext`) learns 100-dimensional skip-gram vectors of every word seen at
least MIN_COUNT times; the unit-length vectors are clustered by k-means
(scikit-learn's MiniBatchKMeans) once per size in SIZES, coarse to fine. Each
output line is "word<TAB>id<TAB>id..." with one id per size. One thread and a
fixed seed: the same input gives the same table.

  python3 scripts/word_clusters.py [--sizes 32,128,512,2048] [--min-count 3]
          [--seed 1] --out TABLE.tsv TEXT...

TEXT: plain text files (.gz read as gzip) or CoNLL files (*.conll, *.txt with
"token<TAB>tag" lines: the first column is read as the sentence's words).
Only training text belongs here: no dev or test sentence of a task."""
import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import unicodedata


def words(line):
    """Whitespace tokens with leading/trailing punctuation and symbols split off."""
    out = []
    for w in line.split():
        w = unicodedata.normalize("NFC", w)
        i, j = 0, len(w)
        while i < j and unicodedata.category(w[i])[0] in "PS":
            out.append(w[i])
            i += 1
        tail = []
        while j > i and unicodedata.category(w[j - 1])[0] in "PS":
            tail.append(w[j - 1])
            j -= 1
        if i < j:
            out.append(w[i:j].lower())
        out.extend(reversed(tail))
    return out


def conll_like(path):
    """Whether the first lines look like "token<TAB>tag" (a CoNLL file)."""
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rt", encoding="utf-8", errors="replace") as f:
        rows = [ln for ln in (f.readline() for _ in range(20)) if ln.strip()]
    return bool(rows) and all(len(r.rstrip("\n").split("\t")) == 2 for r in rows)


def sentences(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rt", encoding="utf-8", errors="replace") as f:
        if not conll_like(path):
            for line in f:
                yield line
            return
        cur = []
        for line in f:
            tok = line.rstrip("\n").split("\t")[0].strip()
            if tok:
                cur.append(tok.lstrip("\ufeff"))
            elif cur:
                yield " ".join(cur)
                cur = []
        if cur:
            yield " ".join(cur)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="32,128,512,2048", help="cluster counts, coarse to fine (1 to 4 of them)")
    ap.add_argument("--min-count", type=int, default=3, help="words seen fewer times get no cluster")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("text", nargs="+")
    a = ap.parse_args()
    try:
        sizes = [int(k) for k in a.sizes.split(",")]
    except ValueError:
        sizes = []
    if not 1 <= len(sizes) <= 4 or min(sizes) < 2 or max(sizes) > 65535:
        sys.exit("word_clusters: --sizes takes 1 to 4 counts in 2..65535")
    for p in a.text:
        if not os.path.isfile(p):
            sys.exit("word_clusters: %s: no such file" % p)
    import numpy as np
    from sklearn.cluster import MiniBatchKMeans

    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus.txt")
        n = 0
        with open(corpus, "w", encoding="utf-8") as out:
            for p in a.text:
                for line in sentences(p):
                    w = words(line)
                    if w:
                        out.write(" ".join(w) + "\n")
                        n += len(w)
        print("word_clusters: %d words of text" % n, file=sys.stderr)
        vec = os.path.join(tmp, "vec")
        r = subprocess.run(["fasttext", "skipgram", "-input", corpus, "-output", vec, "-dim", "100",
                            "-minCount", str(a.min_count), "-epoch", "5", "-minn", "0", "-maxn", "0",
                            "-thread", "1", "-seed", str(a.seed), "-verbose", "0"])
        if r.returncode:
            sys.exit("word_clusters: fasttext failed (exit %d)" % r.returncode)
        with open(vec + ".vec", encoding="utf-8", errors="replace") as f:
            nw, dim = map(int, f.readline().split())
            vocab, rows = [], []
            for line in f:
                parts = line.rstrip("\n").rstrip(" ").split(" ")
                if parts[0] == "</s>" or len(parts) != dim + 1:
                    continue
                vocab.append(parts[0])
                rows.append([float(x) for x in parts[1:]])
    X = np.asarray(rows, dtype=np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True) + 1e-9
    ids = []
    for k in sizes:
        k = min(k, len(vocab))
        km = MiniBatchKMeans(n_clusters=k, random_state=a.seed, batch_size=4096, n_init=3, max_iter=100).fit(X)
        ids.append(km.labels_)
        print("word_clusters: %d words in %d clusters" % (len(vocab), k), file=sys.stderr)
    with open(a.out, "w", encoding="utf-8") as out:
        for i, w in enumerate(vocab):
            out.write(w + "\t" + "\t".join(str(int(c[i])) for c in ids) + "\n")


if __name__ == "__main__":
    main()
