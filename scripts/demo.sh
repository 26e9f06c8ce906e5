#!/bin/sh
# make demo: the main job on the bundled sample text with the bundled default
# models — normalize -> segment -> langid -> sentiment + named entities
# (assets/models/bhasha-bnhi) as JSON lines, then generation with the
# bn+hi decoder, extractive QA in Hindi, and each text-layer step on its own.
set -eu
BH=${BUILD:-build}/bhasha
echo "== $($BH --version)"
echo "== bhasha annotate --stages normalize,sentences,langid,sentiment,ner examples/sample-bn.txt examples/sample-hi.txt"
$BH annotate --stages normalize,sentences,langid,sentiment,ner examples/sample-bn.txt examples/sample-hi.txt
echo
echo "== the same as CoNLL-U (entities in MISC, sentence sentiment as a comment), first document"
head -n 2 examples/sample-bn.txt | $BH annotate --output-format conllu --to none
echo
echo "== bhasha sentiment / bhasha ner (head chosen per line by language)"
printf 'খেলাটা দারুণ হয়েছে, খুব ভালো লাগলো।\nयह फ़ोन बहुत खराब है, पैसे बर्बाद हो गए।\n' | $BH sentiment
printf 'শেখ হাসিনা ঢাকায় ফিরেছেন।\nनरेंद्र मोदी ने दिल्ली में भाषण दिया।\n' | $BH ner
echo
echo "== bhasha generate (the shipped bn+hi decoder, 4 blocks, d 256)"
$BH generate --prompt "বাংলাদেশের অর্থনীতি" --max-new 24 --temperature 0.8 --top-k 40 --repetition-penalty 1.2 --seed 7
$BH generate --prompt "भारत सरकार ने" --max-new 24 --temperature 0.8 --top-k 40 --repetition-penalty 1.2 --seed 7
echo
echo "== bhasha qa (Hindi extractive QA; weak, see assets/models/bhasha-qa-hi/MODEL_CARD.md)"
printf '%s\n' '{"context":"ताजमहल आगरा शहर में यमुना नदी के किनारे स्थित है। इसे शाहजहाँ ने बनवाया था।","question":"ताजमहल किस शहर में है?"}' | $BH qa
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
