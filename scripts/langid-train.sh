#!/bin/sh
# scripts/langid-train.sh — rebuilds the shipped language-ID model and its accuracy report.
#
#   make && sh scripts/langid-train.sh      (from the repo root; needs ../shared/data)
#
# 1. scripts/langid-data.sh builds build/langid-data/{train,heldout,ood}.tsv;
# 2. `bhasha langid train` (naive Bayes, the defaults) writes assets/langid/langid.bin;
# 3. `bhasha langid eval` scores it on held-out FLORES lines (whole and cut to
#    <= 20 characters) and on the out-of-domain set; the tables go to
#    build/langid-data/report.md.
set -eu
BH=${BUILD:-build}/bhasha
D=build/langid-data
sh scripts/langid-data.sh "$D"
$BH langid train -o assets/langid/langid.bin "$D/train.tsv"
{
    echo "## Held-out FLORES-200 lines 1510-2009 (500 per language), whole lines"
    $BH langid eval --model assets/langid/langid.bin "$D/heldout.tsv"
    echo
    echo "## Same lines cut to <= 20 characters (whole words)"
    $BH langid eval --model assets/langid/langid.bin --short 20 "$D/heldout.tsv"
    echo
    echo "## Out-of-domain 1: GTK messages (as bn hi mr ne; GTK is not in training), whole strings"
    $BH langid eval --model assets/langid/langid.bin "$D/ood_gtk.tsv"
    echo
    echo "## Out-of-domain 1, cut to <= 20 characters"
    $BH langid eval --model assets/langid/langid.bin --short 20 "$D/ood_gtk.tsv"
    echo
    echo "## Out-of-domain 2: valid splits of ../shared/data/raw (bn news+blogs, hi news+stories+literature)"
    $BH langid eval --model assets/langid/langid.bin "$D/ood_raw.tsv"
    echo
    echo "## Out-of-domain 2, cut to <= 20 characters"
    $BH langid eval --model assets/langid/langid.bin --short 20 "$D/ood_raw.tsv"
} >"$D/report.md"
cat "$D/report.md"
