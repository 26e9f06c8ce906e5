"""HOG extraction rate of scikit-image on the images of an IDX set (one core, CPU time).
usage: /usr/bin/python3 bench/ocr_hog.py IMAGES.gz [ORIENT CELL BLOCK]
Prints "images_per_s N"; same parameters as bench/ocr_hog.c."""
import gzip
import struct
import sys
import time

import numpy as np
from skimage.feature import hog

raw = gzip.open(sys.argv[1]).read()
n, r, c = struct.unpack(">III", raw[4:16])
imgs = np.frombuffer(raw, np.uint8, offset=16).reshape(n, r, c).astype(np.float64)
o, cell, block = (int(x) for x in sys.argv[2:5]) if len(sys.argv) >= 5 else (9, 4, 2)
t0 = time.process_time()
done = 0
while True:
    for im in imgs[:2000]:
        hog(im, orientations=o, pixels_per_cell=(cell, cell), cells_per_block=(block, block),
            block_norm="L2-Hys")
    done += min(2000, n)
    el = time.process_time() - t0
    if el >= 2.0:
        break
print("images_per_s %.1f" % (done / el))
