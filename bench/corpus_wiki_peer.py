"""Peer for bench_corpus.sh: Python's xml.etree.ElementTree.iterparse streaming the
same dump (elements cleared after each page, main namespace, no redirects), page
text taken raw (no wikitext cleaning: the peer does less work than bhasha)."""
import resource
import sys
import time

import xml.etree.ElementTree as ET

NS = "{http://www.mediawiki.org/xml/export-0.10/}"
t0 = time.time()
pages = chars = 0
ns = None
redirect = False
for ev, el in ET.iterparse(sys.argv[1], events=("end",)):
    tag = el.tag
    if tag == NS + "ns":
        ns = el.text
    elif tag == NS + "redirect":
        redirect = True
    elif tag == NS + "page":
        if ns == "0" and not redirect:
            t = el.find(f"{NS}revision/{NS}text")
            pages += 1
            chars += len((t.text or "").encode())
        ns, redirect = None, False
        el.clear()
s = time.time() - t0
import os
mb = os.path.getsize(sys.argv[1]) / 1048576
print(f"python iterparse: {pages} pages, {chars} bytes of raw text, {s:.2f} s, {mb / s:.1f} MB/s, "
      f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} kB")
