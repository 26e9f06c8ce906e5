#!/bin/sh
# make demo: the main job on the bundled sample text — the text layer end to end
# (normalize -> segment -> langid -> translit) as JSON lines, then each step on its own.
set -eu
BH=${BUILD:-build}/bhasha
echo "== $($BH --version)"
echo "== bhasha annotate examples/sample-bn.txt examples/sample-hi.txt   (JSON lines)"
$BH annotate examples/sample-bn.txt examples/sample-hi.txt
echo
echo "== bhasha normalize   (| -> ।, দু:খ -> দুঃখ, উত্‍সব -> উৎসব, सोSहम् -> सोऽहम्)"
$BH normalize examples/sample-bn.txt examples/sample-hi.txt
echo
echo "== bhasha segment --unit sentence"
$BH normalize examples/sample-bn.txt | $BH segment --unit sentence
echo "== bhasha segment --unit word"
$BH normalize examples/sample-hi.txt | $BH segment --unit word
echo
echo "== bhasha segment --unit akshara"
head -n 1 examples/sample-bn.txt | $BH segment --unit akshara
echo
echo "== bhasha langid"
$BH normalize examples/sample-bn.txt examples/sample-hi.txt | $BH langid
echo
echo "== bhasha translit --to latn (ISO 15919), then back to Bengali and across to Devanagari"
head -n 2 examples/sample-bn.txt | $BH normalize | $BH translit --to latn
head -n 2 examples/sample-bn.txt | $BH normalize | $BH translit --to latn | $BH translit --from latn --to beng
head -n 2 examples/sample-bn.txt | $BH normalize | $BH translit --to deva
