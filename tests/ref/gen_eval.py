"""Generates bhasha's evaluation fixtures and golden values (make golden).

Writes tests/fixtures/eval/: cls.tsv (gold, pred), ner.txt (token gold pred),
squad_gold.json + squad_pred.json, mt_hyp.txt + mt_ref.txt, logprob.txt, and
golden.json with the reference scores: scikit-learn for classification, the
re-expressed conlleval / seqeval-strict / SQuAD v1.1 / sacreBLEU logic next to
this script for the others. Run from the repository root with /usr/bin/python3."""
import json
import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conlleval  # noqa: E402
import sacrebleu_ref  # noqa: E402
import squad_v11  # noqa: E402
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support  # noqa: E402

OUT = "tests/fixtures/eval"
rng = random.Random(20261128)
os.makedirs(OUT, exist_ok=True)
golden = {}

# ---- classification -------------------------------------------------------------
labels = ["Positive", "Negative", "Neutral", "মিশ্র"]
gold, pred = [], []
for i in range(300):
    g = rng.choices(labels, weights=[5, 3, 2, 1])[0]
    p = g if rng.random() < 0.6 else rng.choice(labels + ["Unknown"])
    gold.append(g)
    pred.append(p)
with open(f"{OUT}/cls.tsv", "w", encoding="utf-8") as f:
    for g, p in zip(gold, pred):
        f.write(f"{g}\t{p}\n")
classes = sorted(set(gold) | set(pred))
P, R, F, S = precision_recall_fscore_support(gold, pred, labels=classes, zero_division=0)
cls = {"classes": classes, "accuracy": accuracy_score(gold, pred),
       "precision": list(P), "recall": list(R), "f1": list(F), "support": [int(x) for x in S],
       "confusion": confusion_matrix(gold, pred, labels=classes).tolist()}
for avg in ("micro", "macro", "weighted"):
    p, r, f, _ = precision_recall_fscore_support(gold, pred, labels=classes, average=avg, zero_division=0)
    cls[avg] = [p, r, f]
golden["classification"] = cls

# ---- NER ----------------------------------------------------------------------------
tagset = ["O", "O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "TIM",
          "E-PER", "S-LOC", "U-ORG", "L-ORG", "I-MISC", "B-MISC"]
sents = []
for s in range(80):
    n = rng.randint(1, 14)
    gs = [rng.choice(tagset) for _ in range(n)]
    ps = [t if rng.random() < 0.7 else rng.choice(tagset) for t in gs]
    sents.append(list(zip(gs, ps)))
with open(f"{OUT}/ner.txt", "w", encoding="utf-8") as f:
    for i, s in enumerate(sents):
        for j, (g, p) in enumerate(s):
            f.write(f"w{i}_{j} {g} {p}\n")
        f.write("\n")
golden["ner_conlleval"] = conlleval.evaluate(sents)


def scheme_sents(tags, name):
    """Random sentences using only the tags a strict scheme allows (seqeval rejects the others)."""
    out = []
    for s in range(80):
        n = rng.randint(1, 14)
        gs = [rng.choice(tags) for _ in range(n)]
        ps = [t if rng.random() < 0.7 else rng.choice(tags) for t in gs]
        out.append(list(zip(gs, ps)))
    with open(f"{OUT}/{name}", "w", encoding="utf-8") as f:
        for i, s in enumerate(out):
            for j, (g, p) in enumerate(s):
                f.write(f"w{i}_{j} {g} {p}\n")
            f.write("\n")
    return out


iob2 = scheme_sents(["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"], "ner_iob2.txt")
iobes = scheme_sents(["O", "O", "O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "E-LOC", "S-LOC", "U-ORG",
                      "B-ORG", "I-ORG", "L-ORG"], "ner_iobes.txt")
golden["ner_strict_iob2"] = conlleval.evaluate_strict(iob2, iobes=False)
golden["ner_strict_iobes"] = conlleval.evaluate_strict(iobes, iobes=True)
try:
    conlleval.evaluate_strict(sents, iobes=False)
    raise SystemExit("expected the mixed-scheme fixture to be rejected in strict mode")
except ValueError:
    pass

# ---- SQuAD --------------------------------------------------------------------------
ctx_hi = "भारत की राजधानी नई दिल्ली है। यह शहर यमुना नदी के किनारे बसा है, और इसकी जनसंख्या लगभग दो करोड़ है।"
ctx_en = "The Normans gave their name to Normandy, a region in France. They were descended from Norse raiders."
ctx_bn = "ঢাকা বাংলাদেশের রাজধানী। শহরটি বুড়িগঙ্গা নদীর তীরে অবস্থিত।"
qas = [
    ("hi1", ctx_hi, ["नई दिल्ली"], "नई दिल्ली।"),
    ("hi2", ctx_hi, ["यमुना नदी", "यमुना"], "यमुना नदी के किनारे"),
    ("hi3", ctx_hi, ["लगभग दो करोड़"], "दो करोड़"),
    ("hi4", ctx_hi, ["दो करोड़"], "चार"),
    ("en1", ctx_en, ["Normandy", "Normandy, a region in France"], "normandy"),
    ("en2", ctx_en, ["Norse raiders"], "the Norse raiders."),
    ("en3", ctx_en, ["France"], "a region in France"),
    ("en4", ctx_en, ["The Normans"], ""),
    ("bn1", ctx_bn, ["ঢাকা"], "ঢাকা।"),
    ("bn2", ctx_bn, ["বুড়িগঙ্গা নদীর তীরে"], "বুড়িগঙ্গা নদীর"),
    ("bn3", ctx_bn, ["বুড়িগঙ্গা"], None),
]
data = []
for qid, ctx, answers, _ in qas:
    ans = [{"text": a, "answer_start": ctx.index(a)} for a in answers]
    data.append({"title": qid[:2], "paragraphs": [{"context": ctx, "qas": [
        {"id": qid, "question": "प्रश्न " + qid + "?", "answers": ans}]}]})
squad = {"version": "1.1", "data": data}
preds = {qid: p for qid, _, _, p in qas if p is not None}
with open(f"{OUT}/squad_gold.json", "w", encoding="utf-8") as f:
    json.dump(squad, f, ensure_ascii=False, indent=1)
with open(f"{OUT}/squad_pred.json", "w", encoding="utf-8") as f:
    json.dump(preds, f, ensure_ascii=False, indent=1)
res = squad_v11.evaluate(data, preds)
golden["squad"] = {"exact_match": res["exact_match"], "f1": res["f1"],
                   "per_question": {k: list(v) for k, v in res["per_question"].items()}}
golden["squad_normalize"] = {s: squad_v11.normalize_answer(s) for s in [
    "The  Cat, a dog!", "भारत।", "ঢাকা॥ শহর", "An apple's THE end", "«Quote» — dash", "the_the a1 a"]}

# ---- MT -------------------------------------------------------------------------------
words = ["the", "cat", "sat", "on", "mat", "Dhaka", "is", "big", "3.5", "1,000", "U.S.", "e-mail",
         "&amp;", "(yes)", "\"quoted\"", "it's", "ঢাকা", "শহর", "বড়।", "नई", "दिल्ली।", "end.", "a,b",
         "x-1", "2-3", "50%", "$10", "<tag>", "semi;colon", "why?", "wow!"]
hyps, refs = [], []
for i in range(60):
    ref = [rng.choice(words) for _ in range(rng.randint(1, 18))]
    hyp = [w for w in ref if rng.random() < 0.85]
    for _ in range(rng.randint(0, 3)):
        hyp.insert(rng.randint(0, len(hyp)), rng.choice(words))
    if rng.random() < 0.2:
        hyp = hyp[::-1]
    hyps.append(" ".join(hyp))
    refs.append(" ".join(ref))
with open(f"{OUT}/mt_hyp.txt", "w", encoding="utf-8") as f:
    f.write("\n".join(hyps) + "\n")
with open(f"{OUT}/mt_ref.txt", "w", encoding="utf-8") as f:
    f.write("\n".join(refs) + "\n")
golden["bleu"] = sacrebleu_ref.corpus_bleu(hyps, refs)
golden["chrf"] = sacrebleu_ref.corpus_chrf(hyps, refs)
golden["tok13a"] = {s: sacrebleu_ref.tokenize_13a(s) for s in [
    "Hello, world.", "3.5 and 1,000 -- x-1 2-3", "U.S. e-mail &amp; &lt;b&gt;", "ঢাকা, শহর।",
    "a.b,c .d", "(yes) [no] {maybe} $10 50%", "end-\nline\nnext"]}

# ---- perplexity -------------------------------------------------------------------------
lps = [math.log(rng.uniform(0.001, 1.0)) for _ in range(500)]
with open(f"{OUT}/logprob.txt", "w") as f:
    f.write("\n".join(repr(x) for x in lps) + "\n")
golden["perplexity"] = math.exp(-sum(lps) / len(lps))

with open(f"{OUT}/golden.json", "w", encoding="utf-8") as f:
    json.dump(golden, f, ensure_ascii=False, indent=1, sort_keys=True)
print("wrote", OUT)
