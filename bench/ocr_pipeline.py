"""The Python reference pipeline for digit recognition, timed end to end:
scikit-image HOG (9 orientations, 4x4 cells, 2x2 blocks, L2-Hys) on the 32x32
images resized to 28x28, scikit-learn SVC (RBF, C=10, gamma='scale'), train on
DIR/train, evaluate on DIR/test. usage: /usr/bin/python3 bench/ocr_pipeline.py DIR
Prints "seconds S accuracy A"."""
import gzip
import struct
import sys
import time

import numpy as np
from skimage.feature import hog
from skimage.transform import resize
from sklearn.svm import SVC


def load(d, split):
    raw = gzip.open("%s/%s-images-idx3-ubyte.gz" % (d, split)).read()
    n, r, c = struct.unpack(">III", raw[4:16])
    x = np.frombuffer(raw, np.uint8, offset=16).reshape(n, r, c)
    y = np.frombuffer(gzip.open("%s/%s-labels-idx1-ubyte.gz" % (d, split)).read(), np.uint8, offset=8)
    return x, y


def feats(x):
    return np.array([hog(resize(im, (28, 28), anti_aliasing=True), orientations=9,
                         pixels_per_cell=(4, 4), cells_per_block=(2, 2), block_norm="L2-Hys")
                     for im in x])


t0 = time.perf_counter()
xtr, ytr = load(sys.argv[1], "train")
xte, yte = load(sys.argv[1], "test")
clf = SVC(C=10, gamma="scale").fit(feats(xtr), ytr)
acc = (clf.predict(feats(xte)) == yte).mean()
print("seconds %.2f accuracy %.4f" % (time.perf_counter() - t0, acc))
