#!/usr/bin/python3
"""PyTorch reference for bhasha's linear-chain CRF (models/crf.c).

The CRF score of labels y[0..T) is start[y0] + sum_t e[t, y_t]
+ sum_t trans[y_{t-1}, y_t] + end[y_{T-1}]; the NLL is log Z - score(gold).
Here log Z comes from the forward recursion written with torch.logsumexp and
every gradient from autograd (so the C hand-written backward pass is checked
against an independent derivation); the best path comes from enumerating every
label sequence. Forbidden transitions of a BIO mask are -inf.

Writes tests/fixtures/crf/golden.json with two cases (no mask; BIO mask over
O B-PER I-PER B-LOC I-LOC). Packed layout as in include/bhasha/crf.h.
Run with Debian's python3-torch: /usr/bin/python3 tests/ref/gen_crf.py
"""
import itertools
import json
import os

import torch

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "crf")


def bio_mask(labels):
    """Allowed transitions written from the BIO rule: I-X only after B-X or I-X."""
    n = len(labels)
    trans = [[1] * n for _ in range(n)]
    start = [1] * n
    end = [1] * n
    for b, lb in enumerate(labels):
        if lb.startswith("I-"):
            start[b] = 0
            for a, la in enumerate(labels):
                if la[2:] != lb[2:] or la[0] not in "BI":
                    trans[a][b] = 0
    return trans, start, end


def sentence_logz(e, trans, start, end):
    alpha = start + e[0]
    for t in range(1, e.shape[0]):
        alpha = torch.logsumexp(alpha.unsqueeze(1) + trans, dim=0) + e[t]
    return torch.logsumexp(alpha + end, dim=0)


def path_score(e, trans, start, end, y):
    s = start[y[0]] + end[y[-1]]
    for t, lab in enumerate(y):
        s = s + e[t, lab]
        if t:
            s = s + trans[y[t - 1], lab]
    return s


def case(name, L, lens, labels=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    N = sum(lens)
    emis = torch.randn(N, L, generator=g) * 1.5
    params = torch.randn(L * L + 2 * L, generator=g) * 0.7
    mask = None
    if labels:
        tm, sm, em = bio_mask(labels)
        mask = [x for row in tm for x in row] + sm + em
    ok = torch.tensor(mask if mask else [1] * (L * L + 2 * L), dtype=torch.bool)
    # gold tags: a random allowed path per sentence (rejection sampling)
    tags = []
    for n in lens:
        while True:
            y = torch.randint(0, L, (n,), generator=g).tolist()
            valid = ok[L * L + y[0]] and ok[L * L + L + y[-1]] and all(
                ok[y[t - 1] * L + y[t]] for t in range(1, n))
            if valid:
                break
        tags += y
    e = emis.clone().requires_grad_(True)
    p = params.clone().requires_grad_(True)
    eff = torch.where(ok, p, torch.full_like(p, float("-inf")))
    trans = eff[:L * L].view(L, L)
    start = eff[L * L:L * L + L]
    end = eff[L * L + L:]
    nll = 0
    logz = []
    viterbi = []
    vscore = []
    off = 0
    for n in lens:
        es = e[off:off + n]
        z = sentence_logz(es, trans, start, end)
        logz.append(z.item())
        nll = nll + z - path_score(es, trans, start, end, tags[off:off + n])
        best, arg = float("-inf"), None
        with torch.no_grad():
            for y in itertools.product(range(L), repeat=n):
                s = path_score(es, trans, start, end, y).item()
                if s > best:
                    best, arg = s, list(y)
        viterbi += arg
        vscore.append(best)
        off += n
    nll.backward()
    return {
        "name": name, "n_labels": L, "lens": lens, "labels": labels,
        "emissions": emis.flatten().tolist(), "params": params.tolist(), "mask": mask,
        "tags": tags, "nll": nll.item(), "logz": logz,
        "d_emissions": e.grad.flatten().tolist(),
        "d_params": [0.0 if not k else v for k, v in zip(ok.tolist(), p.grad.tolist())],
        "viterbi": viterbi, "viterbi_score": vscore,
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = [
        case("plain", 4, [3, 5, 1], seed=1),
        case("bio", 5, [4, 6, 2], labels=["O", "B-PER", "I-PER", "B-LOC", "I-LOC"], seed=2),
    ]
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
