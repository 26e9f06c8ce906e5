"""SQuAD v1.1 evaluation logic (EM and token F1, max over gold answers), re-expressed for
bhasha's tests, with the normalisation extended to strip every Unicode punctuation
character (category P*, e.g. the danda) besides ASCII string.punctuation."""
import collections
import re
import string
import unicodedata

_PUNCT = set(string.punctuation)


def normalize_answer(s):
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT and not unicodedata.category(ch).startswith("P"))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def f1_score(pred, gold):
    p = normalize_answer(pred).split()
    g = normalize_answer(gold).split()
    common = collections.Counter(p) & collections.Counter(g)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(p)
    recall = same / len(g)
    return 2 * precision * recall / (precision + recall)


def exact_match(pred, gold):
    return float(normalize_answer(pred) == normalize_answer(gold))


def evaluate(dataset, predictions):
    em = f1 = total = 0
    per = {}
    for article in dataset:
        for par in article["paragraphs"]:
            for qa in par["qas"]:
                total += 1
                golds = [a["text"] for a in qa["answers"]]
                if qa["id"] not in predictions:
                    per[qa["id"]] = (0.0, 0.0)
                    continue
                pred = predictions[qa["id"]]
                e = max(exact_match(pred, g) for g in golds)
                f = max(f1_score(pred, g) for g in golds)
                per[qa["id"]] = (e, f)
                em += e
                f1 += f
    return {"exact_match": 100.0 * em / total, "f1": 100.0 * f1 / total, "per_question": per}
