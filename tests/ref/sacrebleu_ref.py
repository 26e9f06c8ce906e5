"""sacreBLEU 2.x defaults re-expressed for bhasha's tests: corpus BLEU with the 13a
tokenizer and 'exp' smoothing, and chrF (char order 6, beta 2, whitespace removed,
eps_smoothing off). One reference per segment."""
import math
import re
from collections import Counter

_RULES = [
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),
]


def tokenize_13a(line):
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    line = " " + line + " "
    for rx, rep in _RULES:
        line = rx.sub(rep, line)
    return " ".join(line.split())


def _ngrams(toks, n):
    return Counter(tuple(toks[i:i + n]) for i in range(len(toks) - n + 1))


def corpus_bleu(hyps, refs):
    correct = [0] * 4
    total = [0] * 4
    sys_len = ref_len = 0
    for h, r in zip(hyps, refs):
        ht = tokenize_13a(h).split()
        rt = tokenize_13a(r).split()
        sys_len += len(ht)
        ref_len += len(rt)
        for n in range(1, 5):
            hc, rc = _ngrams(ht, n), _ngrams(rt, n)
            total[n - 1] += max(0, len(ht) - n + 1)
            correct[n - 1] += sum((hc & rc).values())
    precisions = [0.0] * 4
    smooth = 1.0
    for n in range(4):
        if total[n] == 0:
            break
        if correct[n] == 0:
            smooth *= 2
            precisions[n] = 100.0 / (smooth * total[n])
        else:
            precisions[n] = 100.0 * correct[n] / total[n]
    if sys_len < ref_len:
        bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    else:
        bp = 1.0
    logs = [math.log(p) if p > 0 else -9999999999 for p in precisions]
    score = bp * math.exp(sum(logs) / 4)
    return {"score": score, "bp": bp, "sys_len": sys_len, "ref_len": ref_len,
            "precisions": precisions, "correct": correct, "total": total}


def corpus_chrf(hyps, refs, order=6, beta=2):
    stats = [[0, 0, 0] for _ in range(order)]
    for h, r in zip(hyps, refs):
        hs = "".join(h.split())
        rs = "".join(r.split())
        for n in range(1, order + 1):
            hc = Counter(hs[i:i + n] for i in range(len(hs) - n + 1))
            rc = Counter(rs[i:i + n] for i in range(len(rs) - n + 1))
            stats[n - 1][0] += sum(hc.values())
            stats[n - 1][1] += sum(rc.values())
            stats[n - 1][2] += sum((hc & rc).values())
    eps = 1e-16
    factor = beta ** 2
    ap = ar = 0.0
    eff = 0
    for nh, nr, nm in stats:
        p = nm / nh if nh > 0 else eps
        r = nm / nr if nr > 0 else eps
        if nh > 0 and nr > 0:
            ap += p
            ar += r
            eff += 1
    if eff == 0:
        return 0.0
    ap /= eff
    ar /= eff
    if ap + ar == 0:
        return 0.0
    return 100 * (1 + factor) * ap * ar / (factor * ap + ar)
