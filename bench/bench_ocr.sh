#!/bin/sh
# bench/bench_ocr.sh — OCR speed against scikit-image / scikit-learn, same images, one run:
#  1. HOG images/s on one core (CMATERdb train, 32x32, 9 orientations, 4x4 cells, 2x2 blocks)
#  2. train + evaluate on CMATERdb: `bhasha digits train|eval` (HOG + SVM) vs bench/ocr_pipeline.py,
#     each side with its own HOG setting; the accuracies are printed so they can be compared
# Needs ../shared/data/digits (BH_SHARED) and Debian's python3-skimage/-sklearn.
# HOG rates are CPU time of one process; the pipelines report wall and CPU seconds. Both are
# noisy on a shared machine.
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
# CPU seconds (user+sys) and wall seconds of each whole pipeline, from /usr/bin/time.
cat >"$tmp/ours.sh" <<EOS
"$BUILD"/bhasha digits train --data "$D" --features hog --cell 7 --classifier svm --out "$tmp/m.bhd" --quiet &&
"$BUILD"/bhasha digits eval --model "$tmp/m.bhd" --data "$D" --quiet >"$tmp/eval.json"
EOS
/usr/bin/time -f "%e %U %S" -o "$tmp/t_ours" sh "$tmp/ours.sh"
acc=$(sed 's/.*"accuracy": \([0-9.]*\).*/\1/' "$tmp/eval.json")
/usr/bin/time -f "%e %U %S" -o "$tmp/t_py" $PY bench/ocr_pipeline.py "$D" >"$tmp/py.txt"
py_acc=$(awk '{print $4}' "$tmp/py.txt")
echo "CMATERdb train (5000) + test (1000), RBF SVM C=10 on HOG, end to end (load, features, train, predict);"
echo "bhasha: its default preprocessing + 7px-cell HOG (324 values); Python: resize to 28x28 + 4px-cell HOG (1296 values):"
awk '{printf "  bhasha              wall %6.2fs  cpu %6.2fs", $1, $2 + $3}' "$tmp/t_ours"; echo "  accuracy $acc"
awk '{printf "  skimage + sklearn   wall %6.2fs  cpu %6.2fs", $1, $2 + $3}' "$tmp/t_py"; echo "  accuracy $py_acc"
paste "$tmp/t_ours" "$tmp/t_py" | awk '{printf "  ratio               wall %.1fx  cpu %.1fx\n", $4 / $1, ($5 + $6) / ($2 + $3)}'
rm -rf "$tmp"
