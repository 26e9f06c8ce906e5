#!/bin/sh
# bench/bench_ocr.sh — OCR speed against scikit-image / scikit-learn, same images, one run:
#  1. HOG images/s on one core (CMATERdb train, 32x32, 9 orientations, 4x4 cells, 2x2 blocks)
#  2. train + evaluate on CMATERdb: `bhasha digits train|eval` (HOG + SVM) vs bench/ocr_pipeline.py
# Needs ../shared/data/digits (BH_SHARED) and Debian's python3-skimage/-sklearn.
# Figures are wall-clock and noisy on a shared machine.
set -u
BUILD=${BUILD:-build}
SHARED=${BH_SHARED:-../shared}
D=$SHARED/data/digits/cmaterdb
PY=/usr/bin/python3
if [ ! -f "$D/train-images-idx3-ubyte.gz" ]; then
    echo "bench_ocr: SKIP ($D not found)"
    exit 0
fi
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
ours=$("$BUILD"/bench/ocr_hog "$D/train-images-idx3-ubyte.gz" "$D/train-labels-idx1-ubyte.gz" 9 4 2 2>/dev/null | awk '{print $2}')
theirs=$($PY bench/ocr_hog.py "$D/train-images-idx3-ubyte.gz" 9 4 2 | awk '{print $2}')
echo "HOG 32x32 (9 orient, 4px cells, 2x2 blocks, L2-Hys), one core:"
echo "  bhasha       $ours images/s"
echo "  scikit-image $theirs images/s"
awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "  ratio        %.1fx\n", a / b }'

tmp=$(mktemp -d)
t0=$(date +%s.%N)
"$BUILD"/bhasha digits train --data "$D" --features hog --classifier svm --out "$tmp/m.bhd" --quiet
acc=$("$BUILD"/bhasha digits eval --model "$tmp/m.bhd" --data "$D" --quiet | sed 's/.*"accuracy": \([0-9.]*\).*/\1/')
t1=$(date +%s.%N)
ours_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
py=$($PY bench/ocr_pipeline.py "$D")
py_s=$(echo "$py" | awk '{print $2}')
py_acc=$(echo "$py" | awk '{print $4}')
echo "CMATERdb train (5000) + test (1000), HOG + RBF SVM C=10, end to end:"
echo "  bhasha              ${ours_s}s  accuracy $acc"
echo "  skimage + sklearn   ${py_s}s  accuracy $py_acc"
awk -v a="$ours_s" -v b="$py_s" 'BEGIN { printf "  ratio               %.1fx\n", b / a }'
rm -rf "$tmp"
