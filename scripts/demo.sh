#!/bin/sh
# make demo: the main job on the bundled sample text.
set -eu
BH=${BUILD:-build}/bhasha
echo "bhasha $($BH --version)"
