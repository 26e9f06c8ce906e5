# tests/tap.sh — tiny TAP helpers for the shell tests (sourced, not run).
# Usage: . tests/tap.sh; ok "name" command...; is "name" "got" "want"; skip "name" "why";
# fails "name" command... (non-zero exit and exactly one line on stderr, kept in $D/err); done_testing
BH=${BUILD:-build}/bhasha
n=0
ok() { n=$((n+1)); name=$1; shift; if "$@" >/dev/null 2>&1; then echo "ok $n - $name"; else echo "not ok $n - $name"; fi; }
is() { n=$((n+1)); if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "#   got:  $2"; echo "#   want: $3"; fi; }
fails() {
    name=$1; shift
    "$@" > /dev/null 2> "$D/err"
    rc=$?
    is "$name: one error line, non-zero exit" "$([ $rc -ne 0 ] && echo fail):$(wc -l < "$D/err" | tr -d ' ')" "fail:1"
}
skip() { n=$((n+1)); echo "ok $n - $1 # SKIP $2"; }
done_testing() { echo "1..$n"; }
