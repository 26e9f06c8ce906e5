#!/bin/sh
# make golden: regenerate the committed golden reference files with Debian's Python
# (python3-torch, -numpy, -sklearn, -skimage, -sentencepiece). Tests never need Python.
set -eu
PY=/usr/bin/python3
for g in tests/ref/gen_*.py; do
    [ -f "$g" ] || continue
    echo "golden: $g"
    $PY "$g"
done
