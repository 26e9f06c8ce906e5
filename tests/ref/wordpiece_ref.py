"""tests/ref/wordpiece_ref.py: bhasha's own Python reference of the published
BERT tokenizer (basic tokenizer + greedy longest-match-first WordPiece), written
from the algorithm's description, used to make the goldens the C tests compare
against. Standard library only.

Steps, per the BERT paper's released tokenizer:
  1. clean: drop NUL, U+FFFD and control characters (general category C*,
     except tab, newline, carriage return); map white space (space, tab,
     newline, CR, category Zs) to a space;
  2. put spaces around CJK ideographs;
  3. split on white space; per token optionally lowercase, optionally strip
     accents (NFD, drop category Mn); split off every punctuation character
     (ASCII symbol ranges or category P*);
  4. WordPiece each word: words over max_chars characters become unk; else
     take the longest vocabulary prefix, then the longest '##'-prefixed piece
     of the rest, and so on; if some rest has no piece, the whole word is unk.
"""
import unicodedata


def load_vocab(path):
    vocab = {}
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            tok = line.strip(" \t\r\n\v\f")
            vocab.setdefault(tok, i)
    return vocab


def _is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def _is_whitespace(ch):
    if ch in " \t\n\r":
        return True
    return unicodedata.category(ch) == "Zs"


def _is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


_CJK = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
        (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)]


def _is_cjk(ch):
    cp = ord(ch)
    return any(a <= cp <= b for a, b in _CJK)


class WordPiece:
    def __init__(self, vocab, lower=False, strip=False, split_cjk=True, max_chars=100,
                 unk="[UNK]", prefix="##"):
        self.vocab, self.lower, self.strip = vocab, lower, strip
        self.split_cjk, self.max_chars, self.unk, self.prefix = split_cjk, max_chars, unk, prefix

    def basic(self, text):
        chars = []
        for ch in text:
            if ch == "\0" or ch == "\ufffd" or _is_control(ch):
                continue
            if _is_whitespace(ch):
                ch = " "
            if self.split_cjk and _is_cjk(ch):
                chars.extend((" ", ch, " "))
            else:
                chars.append(ch)
        words = []
        for tok in "".join(chars).split():
            if self.lower:
                tok = tok.lower()
            if self.strip:
                tok = "".join(c for c in unicodedata.normalize("NFD", tok)
                              if unicodedata.category(c) != "Mn")
            cur = []
            for ch in tok:
                if _is_punct(ch):
                    if cur:
                        words.append("".join(cur))
                        cur = []
                    words.append(ch)
                else:
                    cur.append(ch)
            if cur:
                words.append("".join(cur))
        return " ".join(words).split()

    def word(self, w):
        if len(w) > self.max_chars:
            return [self.unk]
        out, start = [], 0
        while start < len(w):
            end, found = len(w), None
            while start < end:
                piece = w[start:end]
                if start > 0:
                    piece = self.prefix + piece
                if piece in self.vocab:
                    found = piece
                    break
                end -= 1
            if found is None:
                return [self.unk]
            out.append(found)
            start = end
        return out

    def tokenize(self, text):
        out = []
        for w in self.basic(text):
            out.extend(self.word(w))
        return out

    def ids(self, text):
        return [self.vocab[t] for t in self.tokenize(text)]
