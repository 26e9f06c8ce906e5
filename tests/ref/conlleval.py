"""conlleval (CoNLL-2000 chunk scorer) semantics, re-expressed in Python for bhasha's tests.

Input: sentences as lists of (gold_tag, pred_tag). A tag "B-PER" splits into ("B", "PER"),
a tag without '-' into (tag, ""). Sentence boundaries behave like the tag pair O O.
"""


def split_tag(t):
    if "-" in t:
        a, b = t.split("-", 1)
        return a, b
    return t, ""


def end_of_chunk(pt, t, ptype, typ):
    end = False
    pairs = {("B", "B"), ("B", "O"), ("I", "B"), ("I", "O"), ("E", "E"), ("E", "I"), ("E", "O")}
    if (pt, t) in pairs:
        end = True
    if pt not in ("O", ".") and ptype != typ:
        end = True
    if pt in ("]", "["):
        end = True
    return end


def start_of_chunk(pt, t, ptype, typ):
    start = False
    pairs = {("B", "B"), ("I", "B"), ("O", "B"), ("O", "I"), ("E", "E"), ("E", "I"), ("O", "E")}
    if (pt, t) in pairs:
        start = True
    if t not in ("O", ".") and ptype != typ:
        start = True
    if t in ("[", "]"):
        start = True
    return start


def evaluate(sentences):
    found_g = found_p = correct = 0
    tokens = correct_tags = 0
    per = {}

    def bump(typ, key):
        per.setdefault(typ, {"gold": 0, "pred": 0, "correct": 0})[key] += 1

    stream = []
    for s in sentences:
        stream.extend(s)
        stream.append(None)  # boundary
    lg, lp, lgt, lpt = "O", "O", "", ""
    in_correct = False
    for item in stream:
        if item is None:
            g, gt, p, pt = "O", "", "O", ""
        else:
            g, gt = split_tag(item[0])
            p, pt = split_tag(item[1])
        if in_correct:
            eg = end_of_chunk(lg, g, lgt, gt)
            ep = end_of_chunk(lp, p, lpt, pt)
            if eg and ep and lpt == lgt:
                in_correct = False
                correct += 1
                bump(lgt, "correct")
            elif eg != ep or pt != gt:
                in_correct = False
        sg = start_of_chunk(lg, g, lgt, gt)
        sp = start_of_chunk(lp, p, lpt, pt)
        if sg and sp and pt == gt:
            in_correct = True
        if sg:
            found_g += 1
            bump(gt, "gold")
        if sp:
            found_p += 1
            bump(pt, "pred")
        if item is not None:
            if g == p and gt == pt:
                correct_tags += 1
            tokens += 1
        lg, lp, lgt, lpt = g, p, gt, pt
    if in_correct:
        correct += 1
        bump(lgt, "correct")
    return summarize(found_g, found_p, correct, tokens, correct_tags, per)


def prf(c, p, g):
    P = 100.0 * c / p if p else 0.0
    R = 100.0 * c / g if g else 0.0
    F = 2 * P * R / (P + R) if P + R else 0.0
    return P, R, F


def summarize(found_g, found_p, correct, tokens, correct_tags, per):
    P, R, F = prf(correct, found_p, found_g)
    out = {"gold": found_g, "pred": found_p, "correct": correct, "tokens": tokens,
           "accuracy": 100.0 * correct_tags / tokens if tokens else 0.0,
           "precision": P, "recall": R, "f1": F, "types": {}}
    for typ in sorted(per):
        c = per[typ]
        p, r, f = prf(c["correct"], c["pred"], c["gold"])
        out["types"][typ] = {"gold": c["gold"], "pred": c["pred"], "correct": c["correct"],
                             "precision": p, "recall": r, "f1": f}
    return out


def strict_spans(tags, iobes):
    """Well-formed chunks only (seqeval mode='strict'): IOB2 B I*; IOBES S | B I* E (BILOU: U, L).
    Like seqeval, a tag whose prefix the scheme does not allow is an error (ValueError)."""
    spans = []
    i, n = 0, len(tags)
    norm = {"U": "S", "L": "E"} if iobes else {}
    allowed = set("BIOES") | set("UL") if iobes else set("BIO")
    for t in tags:
        if t[:1] not in allowed or (t != "O" and (len(t) < 3 or t[1] != "-")):
            raise ValueError("invalid tag for the scheme: " + t)
    while i < n:
        p, typ = split_tag(tags[i])
        p = norm.get(p, p)
        if typ == "" or len(p) != 1:
            i += 1
            continue
        if iobes and p == "S":
            spans.append((i, i + 1, typ))
            i += 1
            continue
        if p != "B":
            i += 1
            continue
        j = i + 1
        closed = False
        while j < n:
            q, qt = split_tag(tags[j])
            q = norm.get(q, q)
            if qt != typ or not (q == "I" or (iobes and q == "E")):
                break
            j += 1
            if iobes and q == "E":
                closed = True
                break
        if not iobes:
            spans.append((i, j, typ))
            i = j
            continue
        if j > i + 1 and closed:
            spans.append((i, j, typ))
        i = j if j > i + 1 else i + 1
    return spans


def evaluate_strict(sentences, iobes):
    per = {}
    fg = fp = corr = tokens = ctags = 0
    for s in sentences:
        g = strict_spans([x[0] for x in s], iobes)
        p = strict_spans([x[1] for x in s], iobes)
        gs = set(g)
        for (_, _, t) in g:
            per.setdefault(t, {"gold": 0, "pred": 0, "correct": 0})["gold"] += 1
        for sp in p:
            d = per.setdefault(sp[2], {"gold": 0, "pred": 0, "correct": 0})
            d["pred"] += 1
            if sp in gs:
                d["correct"] += 1
                corr += 1
        fg += len(g)
        fp += len(p)
        for a, b in s:
            tokens += 1
            ctags += a == b
    return summarize(fg, fp, corr, tokens, ctags, per)
