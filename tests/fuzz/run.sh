#!/bin/sh
# Runs every libFuzzer target of $BUILD/fuzz for FUZZ_TIME seconds (make fuzz),
# or, with FUZZ_RUNS set, for that many inputs from a fixed random seed (the
# same inputs every time: what CI runs). FUZZ_TARGETS="fuzz_text fuzz_annotate"
# runs only those.
# Seeds: the test fixtures (each with the selector byte its target reads first)
# and, for fuzz_models, the files the target writes itself. The corpus each run
# grows is kept in $BUILD/corpus/TARGET, so later runs go on from it; a crash,
# leak, sanitizer report or an input over 10 s stops the run and is saved as
# $BUILD/crashes/TARGET-*. Exit status: 0 when every target ran clean.
set -eu
BUILD=${BUILD:-build-fuzz}
T=${FUZZ_TIME:-60}
FX=tests/fixtures
seeds="$BUILD/seeds"
rm -rf "$seeds"
mkdir -p "$seeds" "$BUILD/crashes"

# seed TARGET SELECTOR FILE...: copies each file with the selector byte in front
# (SELECTOR "-" = none).
seed() {
    tgt=$1 sel=$2
    shift 2
    mkdir -p "$seeds/$tgt"
    for f in "$@"; do
        [ -f "$f" ] || continue
        if [ "$sel" = - ]; then cp "$f" "$seeds/$tgt/"
        else { printf "\\$(printf %03o "$sel")"; cat "$f"; } > "$seeds/$tgt/$sel-$(basename "$f")"; fi
    done
}

seed fuzz_text - $FX/text/* $FX/segment/* $FX/translit/* $FX/langid/*
seed fuzz_annotate 0 examples/*.txt
seed fuzz_annotate 1 $FX/text/sample.txt
seed fuzz_annotate 8 examples/sample-bn.txt
seed fuzz_annotate 16 examples/sample-hi.txt
printf '\030ताजमहल किसने बनवाया?\nताजमहल को शाहजहाँ ने बनवाया था। यह आगरा में है।' > "$seeds/fuzz_annotate/qa"
# a "how many" and a "when" question: the answer priors of the shipped QA model
printf '\030मीरा ने कितने पुरस्कार जीते?\nमीरा ने छह बार पुरस्कार जीता। मार्च 1998 में वह अकादमी की सदस्य बनीं।' > "$seeds/fuzz_annotate/qa-how-many"
printf '\030मीरा अकादमी की सदस्य कब बनीं?\nमीरा ने छह बार पुरस्कार जीता। मार्च 1998 में वह अकादमी की सदस्य बनीं।' > "$seeds/fuzz_annotate/qa-when"
seed fuzz_image - $FX/ocr/*.png $FX/ocr/*.jpg $FX/ocr/*.bmp $FX/ocr/*.pgm
rm -f "$seeds/fuzz_image/huge_20000.png"
C=$FX/corpora
# selector: bits 0-2 the format, bit 3 skip bad records, bits 4-6 options
seed fuzz_corpus 0 $C/text.txt
seed fuzz_corpus 1 $C/data.jsonl
seed fuzz_corpus 2 $C/data.csv $C/unclosed.csv $C/strayquote.csv
seed fuzz_corpus 12 $C/ner.conll
seed fuzz_corpus 5 $C/ud.conllu
seed fuzz_corpus 6 $C/squad.json
seed fuzz_corpus 7 $C/wiki.xml $C/broken.xml
mkdir -p "$seeds/fuzz_models"

# The suppressions apply to the checks built as recoverable (pointer-overflow,
# nonnull-attribute, shift); halt_on_error keeps every other report fatal.
export UBSAN_OPTIONS="suppressions=tests/fuzz/ubsan.supp:halt_on_error=1:print_stacktrace=1"
status=0
for bin in "$BUILD"/fuzz/fuzz_*; do
    tgt=$(basename "$bin")
    if [ -n "${FUZZ_TARGETS:-}" ]; then
        case " $FUZZ_TARGETS " in *" $tgt "*) ;; *) continue ;; esac
    fi
    corpus="$BUILD/corpus/$tgt"
    mkdir -p "$corpus"
    [ "$tgt" != fuzz_models ] || BH_FUZZ_SEEDS="$seeds/fuzz_models" "$bin" -runs=0 "$seeds/fuzz_models" >/dev/null 2>&1
    if [ -n "${FUZZ_RUNS:-}" ]; then
        limit="-runs=$FUZZ_RUNS -seed=1"
        echo "fuzz: $tgt, $FUZZ_RUNS inputs"
    else
        limit="-max_total_time=$T"
        echo "fuzz: $tgt for ${T}s"
    fi
    # shellcheck disable=SC2086
    if ! "$bin" $limit -timeout=10 -max_len=2000000 -print_final_stats=1 \
        -artifact_prefix="$BUILD/crashes/$tgt-" "$corpus" "$seeds/$tgt" >"$BUILD/$tgt.log" 2>&1; then
        echo "fuzz: $tgt FAILED; the report (all of it in $BUILD/$tgt.log, the input in $BUILD/crashes/):"
        grep -v '^#' "$BUILD/$tgt.log" | grep -v '^INFO:' | tail -n 40
        status=1
    fi
    grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$BUILD/$tgt.log" | tr '\n' ' '
    echo
done
exit $status
