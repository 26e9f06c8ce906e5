#!/usr/bin/python3
"""Sentiment baseline table (issue 6): majority class and bhasha's bag-of-n-grams
baseline (run through `bhasha eval suite` with a registry this script writes)
against fastText supervised (Debian's `fasttext` binary) on the same splits and
the same preprocessed text (`bhasha normalize --fold-space | bhasha segment --unit word`).

Usage: sentiment_bench.py BHASHA DATA_DIR WORK_DIR [--sets-only]
  BHASHA    path of the bhasha CLI (build/bhasha)
  DATA_DIR  the staged data root (../shared/data)
  WORK_DIR  scratch directory (prepared TSVs, fastText models, suite reports)
  --sets-only  only write WORK_DIR/NAME/{train,dev,test}.tsv (columns id, text,
            label; the same preprocessed text and splits, labels spelt positive,
            negative, neutral; without an official dev
            split, dev = every 10th train record and train the rest) for
            fine-tuning (bench/finetune_models.sh), then stop

Protocol: every system is trained on train+dev (train only where there is no dev)
and scored once on test. fastText's settings are chosen on dev (a model trained on
train only); without an official dev split, every 10th train record is held out
for that choice. The majority class and the n-gram baseline have no settings.
Prints one markdown table on stdout, progress on stderr. SENTIMENT_ONLY=NAME in
the environment scores only that set and the harmonised one.
"""
import csv
import json
import os
import subprocess
import sys
import time
import unicodedata
from collections import Counter

from sklearn.metrics import accuracy_score, f1_score

csv.field_size_limit(1 << 30)

BN = "sentiment/bn/banglanlp-bangla-sentiment/"
# name, lang, {split: path}, text columns, label column, fields may be quoted
DATASETS = [
    ("bn-absa-cricket", "bn", {s: BN + "ABSA_Datasets/BASA_cricket_%s.tsv" % s for s in ("train", "dev", "test")},
     ["text"], "class_label", True),
    ("bn-absa-restaurant", "bn", {s: BN + "ABSA_Datasets/BASA_restaurant_%s.tsv" % s for s in ("train", "dev", "test")},
     ["text"], "class_label", True),
    ("bn-sail", "bn", {s: BN + "SAIL_data/BN_data_%s.csv" % s for s in ("train", "dev", "test")},
     ["text"], "class", True),
    ("bn-multichannel", "bn",
     {s: BN + "multichannel_bsentiment/multichannel_bsentiment_%s.tsv" % s for s in ("train", "dev", "test")},
     ["text"], "class_label", True),
    ("bn-youtube", "bn", {s: BN + "youtube_sentiment/sentiment_%s.tsv" % s for s in ("train", "dev", "test")},
     ["text"], "class_label", True),
    ("bn-cognisenti", "bn", {s: BN + "CogniSenti/twitter_fbPost_merged_%s.tsv" % s for s in ("train", "dev", "test")},
     ["text"], "class_label", True),
    ("bn-youtube-drama", "bn",
     {s: "sentiment/bn/sazzad-youtube-drama-bnlp-split/sazzadcsedu_%s.tsv" % s for s in ("train", "dev", "test")},
     ["text"], "class_label", True),
    ("hi-hsac-amazon", "hi", {s: "sentiment/hi/hsac-amazon-reviews/%s.tsv" % s for s in ("train", "test")},
     ["title_hindi", "content_hindi"], "labels", False),
]
# The harmonised Bangla 3-class set: the six banglanlp per-source sets (not the
# defective consolidated/ files), official splits kept, labels mapped as below.
HARMONISED_FROM = ["bn-absa-cricket", "bn-absa-restaurant", "bn-sail", "bn-multichannel", "bn-youtube", "bn-cognisenti"]
HARMONISED_MAP = {
    "positive": "positive", "Positive": "positive", "BN_POS": "positive",
    "negative": "negative", "Negative": "negative", "BN_NEG": "negative",
    "neutral": "neutral", "Neutral": "neutral", "BN_NEU": "neutral",
}

# fastText: the settings, then a small grid chosen on dev.
FT_BASE = {"epoch": 25, "lr": 0.5, "wordNgrams": 2, "minn": 2, "maxn": 4, "dim": 50}
FT_GRID = [dict(FT_BASE, epoch=e, lr=lr, wordNgrams=ng) for e in (10, 25, 50) for lr in (0.1, 0.5) for ng in (1, 2)]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def read_split(path, text_cols, label_col, quoted):
    """Records (text, label) of one TSV file; tabs/newlines in text become spaces."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        rd = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE)
        head = next(rd)
        ti = [head.index(c) for c in text_cols]
        li = head.index(label_col)
        out, bad = [], 0
        for row in rd:
            if len(row) != len(head):
                bad += 1
                continue
            text = " ".join(row[i] for i in ti)
            out.append((" ".join(text.split()), row[li].strip()))
    if bad:
        log("  %s: %d rows with a wrong field count left out" % (path, bad))
    return out


def preprocess(bhasha, texts):
    """bhasha normalize --fold-space | bhasha segment --unit word, one line per text."""
    data = "".join(t + "\n" for t in texts).encode("utf-8")
    norm = subprocess.run([bhasha, "normalize", "--fold-space"], input=data, capture_output=True, check=True).stdout
    seg = subprocess.run([bhasha, "segment", "--unit", "word"], input=norm, capture_output=True, check=True).stdout
    lines = seg.decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) != len(texts):
        raise SystemExit("preprocessing changed the line count: %d in, %d out" % (len(texts), len(lines)))
    return [" ".join(l.replace("\t", " ").split()) for l in lines]


def dedup_key(text):
    """What two copies of a text share: its letters and marks, lower-cased.
    The sources repeat texts with other punctuation and spacing (SAIL wraps
    its tweets in quotes that the other sources' copies lack). A text of emoji or
    digits alone is its own key."""
    return "".join(c for c in text.lower() if unicodedata.category(c)[0] in "LM") or text


def harmonise(sets):
    """The harmonised Bangla 3-class set from the per-source splits. The sources overlap
    (multichannel holds many ABSA texts), so texts are deduplicated after preprocessing,
    by dedup_key: a text with conflicting labels within one split is dropped; a text is
    kept only in the first of test, dev, train where it occurs, and no text of any Bangla
    test split (the YouTube-drama set's too) enters dev or train, so that no test text of
    any set the model is scored on is trained on."""
    out, stat, taken = {}, Counter(), set()
    for name, (lang, splits) in sets.items():
        if lang == "bn":
            taken.update(dedup_key(t) for t, _ in splits["test"])
    for s in ("test", "dev", "train"):
        labels, first = {}, {}
        for src in HARMONISED_FROM:
            for t, l in sets[src][1][s]:
                if l not in HARMONISED_MAP:
                    raise SystemExit("harmonised set: unmapped label %r in %s" % (l, src))
                k = dedup_key(t)
                first.setdefault(k, t)
                labels.setdefault(k, set()).add(HARMONISED_MAP[l])
        stat[s + " rows"] = sum(len(sets[src][1][s]) for src in HARMONISED_FROM)
        out[s] = []
        for k, ls in labels.items():
            if k in taken and s != "test":
                stat[s + " texts already in a test or held-out split"] += 1
            elif len(ls) > 1:
                stat[s + " texts with conflicting labels"] += 1
            else:
                out[s].append((first[k], next(iter(ls))))
        taken.update(labels)
    return {s: out[s] for s in ("train", "dev", "test")}, dict(stat)


def write_tsv(path, recs):
    with open(path, "w", encoding="utf-8") as f:
        f.write("id\ttext\tlabel\n")
        for i, (t, l) in enumerate(recs):
            f.write("%d\t%s\t%s\n" % (i, t, l))


def write_ft(path, recs):
    with open(path, "w", encoding="utf-8") as f:
        for t, l in recs:
            f.write("__label__%s %s\n" % (l, t))


def ft_train_predict(work, tag, train, test, cfg, fallback):
    """Trains fastText on train records, predicts test texts; returns (predictions, seconds)."""
    tr = os.path.join(work, tag + ".train.txt")
    te = os.path.join(work, tag + ".test.txt")
    model = os.path.join(work, tag + ".model")
    write_ft(tr, train)
    with open(te, "w", encoding="utf-8") as f:
        for t, _ in test:
            f.write(t + "\n")
    args = ["fasttext", "supervised", "-input", tr, "-output", model, "-thread", "1", "-seed", "1", "-verbose", "0"]
    for k, v in cfg.items():
        args += ["-" + k, str(v)]
    t0 = time.time()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run(["fasttext", "predict", model + ".bin", te], capture_output=True, check=True).stdout
    sec = time.time() - t0
    preds = [p.replace("__label__", "", 1) if p else fallback for p in out.decode("utf-8").split("\n")[: len(test)]]
    if len(preds) != len(test):
        raise SystemExit("fastText predicted %d lines for %d test records" % (len(preds), len(test)))
    for ext in (".bin", ".vec"):
        if os.path.exists(model + ext):
            os.remove(model + ext)
    return preds, sec


def scores(gold, pred):
    return 100 * f1_score(gold, pred, average="macro"), 100 * accuracy_score(gold, pred)


def check_with_bhasha(bhasha, d, gold, pred, want):
    """Scores fastText's test predictions again with `bhasha eval sentiment` (label
    files without text) and stops if it disagrees with scikit-learn by > 0.01 points."""
    for fn, labels in (("gold_labels.tsv", gold), ("fasttext_pred_labels.tsv", pred)):
        with open(os.path.join(d, fn), "w", encoding="utf-8") as f:
            f.write("id\tlabel\n")
            for i, l in enumerate(labels):
                f.write("%d\t%s\n" % (i, l))
    r = subprocess.run([bhasha, "eval", "sentiment", "--gold", os.path.join(d, "gold_labels.tsv"), "--pred",
                        os.path.join(d, "fasttext_pred_labels.tsv"), "--label", "label", "--text", "id"],
                       capture_output=True, check=True)
    j = json.loads(r.stdout)
    got = (100 * j["macro_f1"], 100 * j["accuracy"])
    if abs(got[0] - want[0]) > 0.01 or abs(got[1] - want[1]) > 0.01:
        raise SystemExit("bhasha eval sentiment %s disagrees with scikit-learn %s in %s" % (got, want, d))


def suite_scores(bhasha, registry, work, name):
    """Runs `bhasha eval suite --only NAME` on the prepared data; returns
    ((majority macro-F1, acc), (n-gram macro-F1, acc), seconds)."""
    os.makedirs(os.path.join(work, "suite"), exist_ok=True)
    out = os.path.join(work, "suite", name)
    t0 = time.time()
    r = subprocess.run([bhasha, "eval", "suite", "--registry", registry, "--data-dir", work, "--out", out, "--only", name],
                       capture_output=True)
    sec = time.time() - t0
    if r.returncode:
        raise SystemExit("bhasha eval suite failed on %s: %s" % (name, r.stderr.decode("utf-8", "replace").strip()))
    rows = {}
    with open(os.path.join(out, "report.md"), encoding="utf-8") as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 4 and cells[0] in ("majority class", "bag of n-grams (NB)"):
                rows[cells[0]] = (float(cells[2]), float(cells[1]))
    if len(rows) != 2:
        raise SystemExit("no sentiment rows for %s in %s/report.md" % (name, out))
    return rows["majority class"], rows["bag of n-grams (NB)"], sec


def main():
    sets_only = len(sys.argv) == 5 and sys.argv[4] == "--sets-only"
    if len(sys.argv) != 4 and not sets_only:
        raise SystemExit(__doc__)
    bhasha, data, work = sys.argv[1:4]
    bhasha = os.path.abspath(bhasha)
    os.makedirs(work, exist_ok=True)

    # 1. read and preprocess every split once
    sets, prep_sec = {}, 0.0
    for name, lang, files, tcols, lcol, quoted in DATASETS:
        splits = {}
        for s, p in files.items():
            recs = read_split(os.path.join(data, p), tcols, lcol, quoted)
            t0 = time.time()
            texts = preprocess(bhasha, [t for t, _ in recs])
            prep_sec += time.time() - t0
            splits[s] = [(t, l) for t, (_, l) in zip(texts, recs)]
        sets[name] = (lang, splits)
        log("read %s: %s" % (name, ", ".join("%s %d" % (s, len(r)) for s, r in splits.items())))
    harm, hstat = harmonise(sets)
    sets["bn-harmonised-3class"] = ("bn", harm)
    log("harmonised: %s; test labels %s; %s" % (", ".join("%s %d" % (s, len(r)) for s, r in harm.items()),
                                              dict(Counter(l for _, l in harm["test"])), hstat))
    if sets_only:
        for name, (lang, splits) in sets.items():
            d = os.path.join(work, name)
            os.makedirs(d, exist_ok=True)
            train, dev = splits["train"], splits.get("dev")
            if not dev:
                train, dev = [r for i, r in enumerate(splits["train"]) if i % 10 != 9], splits["train"][9::10]
            for s, recs in (("train", train), ("dev", dev), ("test", splits["test"])):
                # one spelling of the three labels everywhere (positive, negative, neutral);
                # RFC 4180 quoting, so that texts with '"' read back whole
                with open(os.path.join(d, s + ".tsv"), "w", encoding="utf-8", newline="") as f:
                    w = csv.writer(f, delimiter="\t", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
                    w.writerow(["id", "text", "label"])
                    for i, (t, l) in enumerate(recs):
                        w.writerow([i, t, HARMONISED_MAP.get(l, l)])
        log("sets written to %s" % work)
        return

    # 2. prepared TSVs and a registry for the suite: train = train+dev, test = test
    registry = {"comment": "written by bench/sentiment_bench.py", "benchmarks": []}
    for name, (lang, splits) in sets.items():
        d = os.path.join(work, name)
        os.makedirs(d, exist_ok=True)
        write_tsv(os.path.join(d, "traindev.tsv"), splits["train"] + splits.get("dev", []))
        write_tsv(os.path.join(d, "test.tsv"), splits["test"])
        registry["benchmarks"].append({"name": name, "task": "sentiment", "lang": lang, "format": "tsv", "text": "text",
                                       "label": "label", "quoting": False, "train": name + "/traindev.tsv",
                                       "test": name + "/test.tsv", "metric": "weighted_f1", "published": []})
    reg_path = os.path.join(work, "registry.json")
    with open(reg_path, "w", encoding="utf-8") as f:
        json.dump(registry, f, ensure_ascii=False, indent=1)

    # 3. the systems
    rows = []
    only = os.environ.get("SENTIMENT_ONLY")  # one set's row (and the harmonised row) only
    for name, (lang, splits) in sets.items():
        if only and name not in (only, "bn-harmonised-3class"):
            continue
        train, dev, test = splits["train"], splits.get("dev"), splits["test"]
        traindev = train + (dev or [])
        gold = [l for _, l in test]
        seen = set(t for t, _ in traindev)
        overlap = sum(1 for t, _ in test if t in seen)
        major, ngram, nb_sec = suite_scores(bhasha, reg_path, work, name)
        fallback = Counter(l for _, l in traindev).most_common(1)[0][0]
        # choose fastText settings on dev (or every 10th train record without a dev split)
        if dev:
            ch_train, ch_dev, dev_kind = train, dev, "dev"
        else:
            ch_train = [r for i, r in enumerate(train) if i % 10 != 9]
            ch_dev = [r for i, r in enumerate(train) if i % 10 == 9]
            dev_kind = "train[9::10]"
        best, best_f1, grid_sec = None, -1.0, 0.0
        for cfg in FT_GRID:
            p, sec = ft_train_predict(work, name + ".grid", ch_train, ch_dev, cfg, fallback)
            grid_sec += sec
            f1 = scores([l for _, l in ch_dev], p)[0]
            if f1 > best_f1:
                best, best_f1 = cfg, f1
        p_fix, fix_sec = ft_train_predict(work, name + ".fixed", traindev, test, FT_BASE, fallback)
        p_tun, tun_sec = ft_train_predict(work, name + ".tuned", traindev, test, best, fallback)
        fix, tun = scores(gold, p_fix), scores(gold, p_tun)
        check_with_bhasha(bhasha, os.path.join(work, name), gold, p_tun, tun)
        rows.append(dict(name=name, overlap=overlap, n_train=len(traindev), n_test=len(test), major=major, ngram=ngram, fix=fix, tun=tun,
                         cfg=best, dev_f1=best_f1, dev_kind=dev_kind, nb_sec=nb_sec, fix_sec=fix_sec, tun_sec=tun_sec,
                         grid_sec=grid_sec))
        log("%s: majority %.2f, n-grams %.2f, fastText fixed %.2f, tuned %.2f (%s)" % (
            name, major[0], ngram[0], fix[0], tun[0], best))

    # 4. the table (macro-F1 / accuracy in %, test split)
    print("| dataset | n_train | n_test | test texts also in train | majority F1/acc | bhasha n-grams F1/acc | fastText fixed F1/acc |"
          " fastText dev-tuned F1/acc | n-grams − best fastText (F1) | goal F1 (best fastText + 3) |"
          " time n-grams / fastText (s) | fastText dev choice |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        bestft = max(r["fix"][0], r["tun"][0])
        c = r["cfg"]
        print("| %s | %d | %d | %d | %.2f / %.2f | %.2f / %.2f | %.2f / %.2f | %.2f / %.2f | %+.2f | %.2f | %.2f / %.2f | "
              "epoch %d lr %.1f wordNgrams %d (%s F1 %.2f) |" % (
                  r["name"], r["n_train"], r["n_test"], r["overlap"], r["major"][0], r["major"][1], r["ngram"][0], r["ngram"][1],
                  r["fix"][0], r["fix"][1], r["tun"][0], r["tun"][1], r["ngram"][0] - bestft, bestft + 3,
                  r["nb_sec"], r["tun_sec"], c["epoch"], c["lr"], c["wordNgrams"], r["dev_kind"], r["dev_f1"]))
    print()
    print("Preprocessing (bhasha normalize + segment, all splits): %.2f s. fastText dev grid (%d settings): %.1f s in all."
          % (prep_sec, len(FT_GRID), sum(r["grid_sec"] for r in rows)))
    h = [r for r in rows if r["name"] == "bn-harmonised-3class"][0]
    print("Harmonised Bangla 3-class: n-grams macro-F1 %.2f vs goal 70.00 (%+.2f); construction: %s."
          % (h["ngram"][0], h["ngram"][0] - 70, hstat))


if __name__ == "__main__":
    main()
