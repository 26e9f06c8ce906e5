#!/bin/sh
# Runs every test program (build/tests/test_*) and every shell test (tests/t_*.sh),
# each speaking TAP ("ok N - name", "not ok N - name", "# SKIP"), and ends with
# one summary line: "N passed, N failed, N skipped". Exit status 1 if anything failed.
BUILD=${BUILD:-build}
export BUILD
export CMOCKA_MESSAGE_OUTPUT=TAP
log=$(mktemp)
pass=0 fail=0 skip=0
run_one() {
    name=$1; shift
    timeout 600 "$@" >"$log" 2>&1
    rc=$?
    p=$(grep -Ec '^ok [0-9]+' "$log" | tr -d ' ')
    s=$(grep -Eci '^ok [0-9]+.*# *skip' "$log" | tr -d ' ')
    # cmocka's TAP output writes a skipped test as "not ok N # SKIP"
    cs=$(grep -Eci '^not ok [0-9]+ *# *skip' "$log" | tr -d ' ')
    f=$(grep -Ec '^not ok [0-9]+' "$log" | tr -d ' ')
    p=$((p - s)); f=$((f - cs)); s=$((s + cs))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1   # crashed, timed out or failed outside a test case
        echo "FAIL $name: exit status $rc"
    fi
    if [ "$f" -gt 0 ]; then
        echo "---- $name"; cat "$log"; echo "----"
    fi
    printf '%-28s %3d passed %3d failed %3d skipped\n' "$name" "$p" "$f" "$s"
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
}
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "$(basename "$t")" "$t"
done
for t in tests/t_*.sh; do
    [ -f "$t" ] || continue
    run_one "$(basename "$t")" sh "$t"
done
rm -f "$log"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
