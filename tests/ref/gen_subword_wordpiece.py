"""tests/ref/gen_subword_wordpiece.py: goldens for tests/test_wordpiece.c from the
project's own reference (tests/ref/wordpiece_ref.py). Run from the repository
root with /usr/bin/python3 (make golden).

Writes, in tests/fixtures/subword/:
  wp_vocab.txt          (only if missing) a WordPiece vocab made from the pieces
                        of assets/spm/bnhi.model: '▁x' -> 'x', 'x' -> '##x', plus
                        specials and ASCII, so Bangla and Hindi words mostly split
                        (the committed one came from an 8000-piece joint model)
  wp_<cfg>.golden       ids per line of wp_text.txt, for each configuration
  wp_shared_<cfg>.golden  if the staged data is present: CRC-32 of the ids of
                        every block of 10 lines of the shared test text (the
                        list of files is in subword_shared.list)
"""
import os
import sys
import zlib
import gzip

sys.path.insert(0, os.path.dirname(__file__))
from wordpiece_ref import WordPiece, load_vocab  # noqa: E402

FIX = "tests/fixtures/subword"
CONFIGS = {"cased": dict(lower=False, strip=False),
           "uncased": dict(lower=True, strip=True),
           "strip": dict(lower=False, strip=True)}


def make_vocab(path):
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file="assets/spm/bnhi.model")
    toks = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    seen = set(toks)

    def add(t):
        if t and t not in seen and not any(c.isspace() for c in t):
            seen.add(t)
            toks.append(t)
    for c in map(chr, range(33, 127)):
        add(c.lower())
        add("##" + c.lower())
    for i in range(sp.get_piece_size()):
        if sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i):
            continue
        p = sp.id_to_piece(i)
        if p.startswith("\u2581"):
            add(p[1:])
        else:
            add("##" + p)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(toks) + "\n")


def read_lines(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        return [l.rstrip(b"\n").decode("utf-8", "replace") for l in f]


def shared_text():
    root = os.environ.get("BH_SHARED", "../shared")
    out = []
    for spec in open(os.path.join(FIX, "subword_shared.list"), encoding="utf-8"):
        spec = spec.strip()
        if not spec or spec.startswith("#"):
            continue
        rel, n = spec.split()
        p = os.path.join(root, rel)
        if not os.path.exists(p):
            return None
        out.extend(read_lines(p)[:int(n)])
    return out


def main():
    vpath = os.path.join(FIX, "wp_vocab.txt")
    if not os.path.exists(vpath):
        make_vocab(vpath)
    vocab = load_vocab(vpath)
    text = read_lines(os.path.join(FIX, "wp_text.txt"))
    shared = shared_text()
    for name, cfg in CONFIGS.items():
        wp = WordPiece(vocab, **cfg)
        with open(os.path.join(FIX, "wp_%s.golden" % name), "w") as f:
            for line in text:
                f.write(" ".join(map(str, wp.ids(line))) + "\n")
        if shared is None or name == "strip":
            continue
        with open(os.path.join(FIX, "wp_shared_%s.golden" % name), "w") as f:
            f.write("# %d lines, CRC-32 of the ids of each block of 10 lines\n" % len(shared))
            for b in range(0, len(shared), 10):
                blob = "".join(" ".join(map(str, wp.ids(l))) + "\n" for l in shared[b:b + 10])
                f.write("%08x\n" % (zlib.crc32(blob.encode()) & 0xffffffff))
    print("wordpiece goldens written (%s)" % ("with shared text" if shared else "no shared text"))


main()
