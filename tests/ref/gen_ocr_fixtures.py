"""Image and IDX fixtures for the OCR tests (tests/test_ocr_image.c,
tests/t_digits.sh), all synthetic: "digits" are strokes drawn here, no dataset
content. Run with Debian's python3 (python3-pil, python3-numpy):
  /usr/bin/python3 tests/ref/gen_ocr_fixtures.py
Writes into tests/fixtures/ocr/."""
import gzip
import io
import os
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw

OUT = "tests/fixtures/ocr"
rng = np.random.RandomState(11)


def stroke_digit(k, size=28, jitter=True):
    """Class k: a thick stroke at angle k*18 degrees, plus a dot for odd k."""
    img = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(img)
    a = np.deg2rad(k * 18 + (rng.uniform(-4, 4) if jitter else 0))
    c = size / 2 + (rng.uniform(-2, 2, 2) if jitter else np.zeros(2))
    r = size * 0.36
    p0 = (c[0] - r * np.cos(a), c[1] - r * np.sin(a))
    p1 = (c[0] + r * np.cos(a), c[1] + r * np.sin(a))
    d.line([p0, p1], fill=255, width=3)
    if k % 2:
        d.ellipse([c[0] - 3, c[1] - 3, c[0] + 3, c[1] + 3], outline=255, width=2)
    arr = np.asarray(img, dtype=np.float64)
    if jitter:
        arr = arr + rng.normal(0, 8, arr.shape)
    return np.clip(arr, 0, 255).astype(np.uint8)


def write_idx(prefix, imgs, labels):
    imgs = np.asarray(imgs, dtype=np.uint8)
    with gzip.GzipFile(prefix + "-images-idx3-ubyte.gz", "wb", mtime=0) as f:
        f.write(struct.pack(">IIII", 0x803, len(imgs), imgs.shape[1], imgs.shape[2]))
        f.write(imgs.tobytes())
    with gzip.GzipFile(prefix + "-labels-idx1-ubyte.gz", "wb", mtime=0) as f:
        f.write(struct.pack(">II", 0x801, len(labels)))
        f.write(bytes(labels))


os.makedirs(OUT + "/strokes", exist_ok=True)
for split, per in (("train", 12), ("test", 6)):
    labels = [k for k in range(10) for _ in range(per)]
    write_idx(OUT + "/strokes/" + split, [stroke_digit(k) for k in labels], labels)

# Image files: the same clean stroke digit 3, dark ink on white, in several formats.
three = 255 - stroke_digit(3, size=40, jitter=False)
Image.fromarray(three).save(OUT + "/d3.png")
Image.fromarray(three).save(OUT + "/d3.bmp")
Image.fromarray(three).save(OUT + "/d3.pgm")
Image.fromarray(three).convert("RGB").save(OUT + "/d3.jpg", quality=95)
# 16-bit grayscale PNG
Image.fromarray(three.astype(np.uint16) * 257).save(OUT + "/d3_16bit.png")
# RGBA: ink opaque black, background fully transparent (black RGB underneath)
rgba = np.zeros((40, 40, 4), dtype=np.uint8)
rgba[..., 3] = 255 - three
Image.fromarray(rgba, "RGBA").save(OUT + "/d3_alpha.png")
Image.fromarray(np.full((40, 40), 255, dtype=np.uint8)).save(OUT + "/white.png")

# A line of digits 4 5 6 (stroke classes), ink dark on white, for `digits read`.
line = np.full((40, 130), 255, dtype=np.uint8)
for i, k in enumerate((4, 5, 6)):
    line[6:34, 8 + i * 40:36 + i * 40] = 255 - stroke_digit(k, jitter=False)
Image.fromarray(line).save(OUT + "/line_456.png")

# Broken files.
png = open(OUT + "/d3.png", "rb").read()
open(OUT + "/truncated.png", "wb").write(png[: len(png) // 2])
open(OUT + "/empty.png", "wb").write(b"")
open(OUT + "/garbage.jpg", "wb").write(bytes(rng.randint(0, 256, 300).astype(np.uint8)))


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# A PNG header claiming 20000x20000 (a decoder that trusts it would allocate 400 MB).
ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
huge = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
open(OUT + "/huge_20000.png", "wb").write(huge)
# Zero width.
zero = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 10, 8, 0, 0, 0, 0)) + chunk(b"IEND", b"")
open(OUT + "/zero_width.png", "wb").write(zero)

# Broken IDX: truncated image data; wrong magic.
raw = gzip.decompress(open(OUT + "/strokes/test-images-idx3-ubyte.gz", "rb").read())
with gzip.GzipFile(OUT + "/trunc-images-idx3-ubyte.gz", "wb", mtime=0) as f:
    f.write(raw[: len(raw) - 100])
lab = gzip.decompress(open(OUT + "/strokes/test-labels-idx1-ubyte.gz", "rb").read())
with gzip.GzipFile(OUT + "/trunc-labels-idx1-ubyte.gz", "wb", mtime=0) as f:
    f.write(lab)
with gzip.GzipFile(OUT + "/badmagic-images-idx3-ubyte.gz", "wb", mtime=0) as f:
    f.write(struct.pack(">IIII", 0x802, 60, 28, 28) + raw[16:])
with gzip.GzipFile(OUT + "/badmagic-labels-idx1-ubyte.gz", "wb", mtime=0) as f:
    f.write(lab)
# A libsvm text model, to check that it is refused as a bhasha model.
open(OUT + "/libsvm.model", "w").write("svm_type c_svc\nkernel_type rbf\ngamma 0.5\nnr_class 2\ntotal_sv 1\nrho 0\nlabel 0 1\nnr_sv 1 0\nSV\n1 1:0.5\n")
print("wrote fixtures to", OUT)
