#!/bin/sh
# tests/t_digits.sh — `bhasha digits` end to end on the synthetic stroke fixtures,
# bad inputs, and the shipped model on the real sample files (skipped when
# ../shared is absent).
. tests/tap.sh
FX=tests/fixtures/ocr
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok "help" "$BH" digits --help
"$BH" digits frobnicate 2>"$tmp/err"; is "unknown subcommand exits 2" "$?" "2"
is "unknown subcommand: one stderr line" "$(wc -l <"$tmp/err" | tr -d ' ')" "1"

ok "train svm on strokes" "$BH" digits train --data $FX/strokes --classifier svm --out "$tmp/s.bhd" --quiet
acc=$("$BH" digits eval --model "$tmp/s.bhd" --data $FX/strokes --quiet | sed 's/.*"accuracy": \([0-9.]*\).*/\1/')
is "eval accuracy >= 0.9" "$(awk -v a="$acc" 'BEGIN{print (a >= 0.9) ? "yes" : "no"}')" "yes"
"$BH" digits eval --model "$tmp/s.bhd" --data $FX/strokes --quiet | grep -q '"confusion": \[\[' ; is "eval prints a confusion matrix" "$?" "0"
out=$("$BH" digits predict --model "$tmp/s.bhd" $FX/d3.png $FX/d3.jpg $FX/d3_16bit.png $FX/d3_alpha.png | cut -f2 | tr -d '\n')
is "predict 4 formats of a 3" "$out" "3333"
is "predict prints the Bangla digit" "$("$BH" digits predict --model "$tmp/s.bhd" $FX/d3.bmp | cut -f3)" "৩"
is "all-white image: score 0" "$("$BH" digits predict --model "$tmp/s.bhd" $FX/white.png | cut -f4)" "0.000"
is "read a line of three digits" "$("$BH" digits read --model "$tmp/s.bhd" $FX/line_456.png | cut -f2,3)" "৪৫৬	456"
for f in empty.png truncated.png garbage.jpg zero_width.png huge_20000.png missing.png; do
    "$BH" digits predict --model "$tmp/s.bhd" $FX/$f >"$tmp/out" 2>"$tmp/err"
    rc=$?
    is "bad image $f: exit 1, one stderr line" "$rc:$(wc -l <"$tmp/err" | tr -d ' ')" "1:1"
done
"$BH" digits predict --model $FX/libsvm.model $FX/d3.png 2>"$tmp/err"
is "a libsvm model file is refused" "$?" "1"
grep -q "not a bhasha digit model" "$tmp/err"; is "refusal names the problem" "$?" "0"
head -c 100 "$tmp/s.bhd" >"$tmp/cut.bhd"
"$BH" digits predict --model "$tmp/cut.bhd" $FX/d3.png 2>/dev/null; is "truncated model refused" "$?" "1"
"$BH" digits train --data $FX/strokes --classifier cnn --out "$tmp/x" 2>/dev/null; is "unknown classifier refused" "$?" "1"
"$BH" digits train --data $FX/strokes --features sift --out "$tmp/x" 2>/dev/null; is "unknown feature refused" "$?" "1"
"$BH" digits eval --model "$tmp/s.bhd" --data $FX --split trunc --quiet 2>/dev/null; is "truncated IDX refused" "$?" "1"
"$BH" digits train --data $FX/strokes --grid-search --limit 2 --out "$tmp/x" --quiet 2>"$tmp/err"
is "grid search on 2 images: exit 1, one stderr line" "$?:$(wc -l <"$tmp/err" | tr -d ' ')" "1:1"
for c in knn rf gbdt; do
    ok "train $c" "$BH" digits train --data $FX/strokes --classifier $c --trees 20 --out "$tmp/$c.bhd" --quiet
    is "$c predicts the 3" "$("$BH" digits predict --model "$tmp/$c.bhd" $FX/d3.png | cut -f2)" "3"
done
"$BH" digits grid --data $FX/strokes --features hog,lbp --classifiers knn,svm --quiet >"$tmp/grid" 2>/dev/null
is "grid prints a table row per feature" "$(grep -c '^| \(hog\|lbp\) |' "$tmp/grid")" "2"

# Augmentation: deterministic by seed, validated options; stratified folds.
ok "train --augment 2 --seed 3" "$BH" digits train --data $FX/strokes --augment 2 --seed 3 --out "$tmp/a1.bhd" --quiet
"$BH" digits train --data $FX/strokes --augment 2 --seed 3 --out "$tmp/a2.bhd" --quiet
cmp -s "$tmp/a1.bhd" "$tmp/a2.bhd"; is "same seed: byte-identical model" "$?" "0"
"$BH" digits train --data $FX/strokes --augment 2 --seed 4 --out "$tmp/a3.bhd" --quiet
cmp -s "$tmp/a1.bhd" "$tmp/a3.bhd"; is "another seed: another model" "$?" "1"
"$BH" digits train --data $FX/strokes --augment 2 --seed 3 --aug-rotate 0 --out "$tmp/a4.bhd" --quiet
cmp -s "$tmp/a1.bhd" "$tmp/a4.bhd"; is "--aug-rotate changes the copies" "$?" "1"
is "augmented model predicts the 3" "$("$BH" digits predict --model "$tmp/a1.bhd" $FX/d3.png | cut -f2)" "3"
"$BH" digits train --data $FX/strokes --augment 2 --out "$tmp/a5.bhd" 2>"$tmp/err"
grep -q "+2 copies each" "$tmp/err"; is "train reports the copies" "$?" "0"
for bad in "--augment -1" "--augment 65" "--augment x" "--augment" "--augment 2 --seed -1" \
    "--augment 1 --aug-rotate 46" "--augment 1 --aug-shift -1" "--augment 1 --aug-shift 15" \
    "--augment 1 --aug-scale 0.6" "--augment 1 --aug-shear 2" "--augment 1 --aug-shear nan" \
    "--holdout 3/3" "--holdout 0/1" "--holdout a/3" "--holdout 1/" "--holdout 1" "--holdout 0/3x" \
    "--cv 3"; do
    # shellcheck disable=SC2086
    "$BH" digits train --data $FX/strokes $bad --out "$tmp/x.bhd" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    is "train $bad: exit 2, one stderr line" "$rc:$(wc -l <"$tmp/err" | tr -d ' ')" "2:1"
done
"$BH" digits eval --model "$tmp/a1.bhd" --data $FX/strokes --augment 1 2>"$tmp/err"; is "eval refuses --augment" "$?" "2"
ok "train --holdout 0/3" "$BH" digits train --data $FX/strokes --holdout 0/3 --out "$tmp/h.bhd" --quiet
n=$("$BH" digits eval --model "$tmp/h.bhd" --data $FX/strokes --holdout 0/3 --quiet | sed 's/.*"n": \([0-9]*\).*/\1/')
is "eval --holdout 0/3: a third of the 120 training images" "$n" "40"
"$BH" digits grid --data $FX/strokes --features hog --classifiers svm --cv 3 --augment 1 --quiet >"$tmp/cv" 2>/dev/null
grep -q '^CV on 3 of 3 folds' "$tmp/cv"; is "grid --cv 3 prints a CV table" "$?" "0"
is "grid --cv 3: held out 120 images in all" "$(grep -c 'held out 120 images' "$tmp/cv")" "1"
is "grid --cv 3: one svm row" "$(grep -c '^| hog | [0-9.]* |$' "$tmp/cv")" "1"
"$BH" digits grid --data $FX/strokes --features hog,lbp --classifiers svm,knn --cv 3 --ensemble --quiet >"$tmp/ens" 2>/dev/null
is "grid --ensemble adds an ensemble row" "$(grep -c '^| ensemble | [0-9.]* | [0-9.]* |$' "$tmp/ens")" "1"
ok "train an lbp model" "$BH" digits train --data $FX/strokes --features lbp --out "$tmp/l.bhd" --quiet
"$BH" digits eval --model "$tmp/s.bhd,$tmp/l.bhd" --data $FX/strokes --quiet >"$tmp/out"
is "eval --model A,B: an ensemble" "$?" "0"
acc=$(sed 's/.*"accuracy": \([0-9.]*\).*/\1/' "$tmp/out")
is "ensemble accuracy >= 0.9" "$(awk -v a="$acc" 'BEGIN{print (a >= 0.9) ? "yes" : "no"}')" "yes"
"$BH" digits eval --model "$tmp/s.bhd,$tmp/missing.bhd" --data $FX/strokes --quiet >/dev/null 2>"$tmp/err"
is "ensemble with a missing model: exit 1, one stderr line" "$?:$(wc -l <"$tmp/err" | tr -d ' ')" "1:1"
"$BH" digits eval --model "," --data $FX/strokes --quiet 2>/dev/null; is "--model ',' refused" "$?" "2"

# The shipped model on the real sample files of each staged dataset.
SHARED=${BH_SHARED:-../shared}
MODEL=assets/digits/default.bhd
for ds in numtadb cmaterdb bdrw; do
    dir=$SHARED/data/digits/$ds
    if [ ! -f "$dir/samples.tsv" ] || [ ! -f "$MODEL" ]; then
        skip "shipped model on $ds samples" "no $dir or no $MODEL"
        continue
    fi
    tail -n +2 "$dir/samples.tsv" | cut -f1,2 >"$tmp/truth"
    files=$(cut -f1 "$tmp/truth" | sed "s|^|$dir/samples/|")
    # shellcheck disable=SC2086
    "$BH" digits predict --model "$MODEL" $files | cut -f2 >"$tmp/pred"
    acc=$(cut -f2 "$tmp/truth" | paste - "$tmp/pred" | awk '{n++; c += ($1 == $2)} END {printf "%.3f", c / n}')
    echo "# shipped model on $ds samples: accuracy $acc"
    case $ds in bdrw) min=0.75 ;; *) min=0.9 ;; esac
    is "shipped model on $ds samples >= $min" "$(awk -v a="$acc" -v m="$min" 'BEGIN{print (a >= m) ? "yes" : "no"}')" "yes"
done
done_testing
