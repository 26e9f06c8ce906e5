# tests/t_install.sh — `make install`, then build examples/hello.c against the
# installed library through pkg-config and run it (TAP).
. tests/tap.sh
if [ "${BUILD:-build}" != build ]; then
    skip "install + pkg-config example" "only for the normal build (sanitizer builds are not installed)"
    done_testing; exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ok "make install PREFIX=..." make -s install PREFIX="$tmp/prefix"
ok "header installed" test -f "$tmp/prefix/include/bhasha.h"
ok "shared library has a soname" sh -c "objdump -p '$tmp/prefix/lib/libbhasha.so' | grep -q 'SONAME *libbhasha.so.0'"
ok "static library installed" test -f "$tmp/prefix/lib/libbhasha.a"
ok "CLI installed" test -x "$tmp/prefix/bin/bhasha"
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
ok "pkg-config knows bhasha" pkg-config --exists bhasha
ok "example builds against the installed library" \
    sh -c "cc examples/hello.c \$(pkg-config --cflags --libs bhasha) -o '$tmp/hello'"
out=$(LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/hello" 2>&1)
is "example runs: first word" "$(printf '%s\n' "$out" | head -n 1)" "আমি"
is "example runs: danda from | is its own word" "$(printf '%s\n' "$out" | sed -n 5p)" "।"
ok "installed CLI runs" sh -c "'$tmp/prefix/bin/bhasha' --version | grep -q '^bhasha '"
done_testing
