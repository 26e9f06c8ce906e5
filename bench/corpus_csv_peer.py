"""Peer and generator for bench_corpus.sh's CSV part.
  corpus_csv_peer.py gen MB FILE   writes a synthetic RFC 4180 TSV (quoted fields with tabs, quotes, newlines)
  corpus_csv_peer.py read FILE     reads it with Python's csv module (the C-accelerated reader), same columns."""
import csv
import random
import sys
import time

if sys.argv[1] == "gen":
    target = int(sys.argv[2]) << 20
    rng = random.Random(7)
    words = ["ভালো", "খারাপ", "সিনেমা", "अच्छा", "फिल्म", "good", "1,000", "\"quoted\"", "tab\there", "line\nbreak"]
    with open(sys.argv[3], "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t", quotechar='"', lineterminator="\n")
        w.writerow(["id", "text", "label"])
        i = 0
        while f.tell() < target:
            w.writerow([i, " ".join(rng.choice(words) for _ in range(rng.randint(3, 40))), rng.choice(["pos", "neg", "neu"])])
            i += 1
else:
    import os
    t0 = time.time()
    n = b = 0
    with open(sys.argv[2], encoding="utf-8", newline="") as f:
        r = csv.reader(f, delimiter="\t", quotechar='"')
        head = next(r)
        ti, li = head.index("text"), head.index("label")
        for row in r:
            n += 1
            b += len(row[ti].encode())
            _ = row[li]
    s = time.time() - t0
    mb = os.path.getsize(sys.argv[2]) / 1048576
    print(f"python csv: {mb:.0f} MB, {n} records, {b} bytes of text, {s:.2f} s, {mb / s:.1f} MB/s")
