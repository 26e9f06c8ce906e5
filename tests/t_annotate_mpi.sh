#!/bin/sh
# tests/t_annotate_mpi.sh — `mpirun -np 2 bhasha annotate --mpi` on loopback:
# the parts concatenated equal the single-process output (several files, one of
# them gzip, one JSON lines), the manifest counts and CRC agree, and a rank that
# fails is reported as a missing part that --resume then completes.
# Skipped where OpenMPI (mpirun) or build/bhasha-mpi is absent.
. tests/tap.sh
BHM=${BUILD:-build}/bhasha-mpi
if ! command -v mpirun >/dev/null 2>&1 || [ ! -x "$BHM" ]; then
    skip "mpirun -np 2" "OpenMPI not installed (make deps installs openmpi-bin + libopenmpi-dev)"
    done_testing
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# OpenMPI's own allocations are not ours to check under ASan.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
MPIRUN="mpirun -np 2 --oversubscribe --allow-run-as-root --mca btl self,tcp --mca btl_tcp_if_include lo"

i=0
while [ $i -lt 60 ]; do
    sed "s/^/$i /" examples/sample-bn.txt examples/sample-hi.txt
    i=$((i + 1))
done >"$tmp/a.txt"
head -c 2000 "$tmp/a.txt" | gzip -c >"$tmp/b.txt.gz"
printf '{"id":"x","text":"আমি"}\n{"id":"y","text":"हम"}\n' >"$tmp/c.jsonl"
cp examples/sample-hi.txt "$tmp/d.txt"
files="$tmp/a.txt $tmp/b.txt.gz $tmp/c.jsonl $tmp/d.txt"

"$BH" annotate --model none --quiet --id-field id $files >"$tmp/ref"
$MPIRUN "$BH" annotate --model none --mpi --quiet --id-field id --input $files --output "$tmp/o.jsonl" >"$tmp/log" 2>&1
is "mpirun -np 2: exit 0" "$?" "0"
cat "$tmp/o.jsonl.part-00000-of-00002" "$tmp/o.jsonl.part-00001-of-00002" >"$tmp/cat"
ok "parts concatenated == single-process output" cmp "$tmp/ref" "$tmp/cat"
ok "both parts hold records" test -s "$tmp/o.jsonl.part-00000-of-00002" -a -s "$tmp/o.jsonl.part-00001-of-00002"
nrec=$(wc -l <"$tmp/ref" | tr -d " ")
ok "manifest: total written" grep -q "\"missing\":\[\],\"read\":$nrec,\"written\":$nrec" "$tmp/o.jsonl.manifest.json"
crc=$(/usr/bin/python3 -c 'import sys,zlib; print(zlib.crc32(open(sys.argv[1],"rb").read()))' "$tmp/ref" 2>/dev/null)
if [ -n "$crc" ]; then
    ok "manifest: CRC-32 of the whole output" grep -q "\"crc32\":$crc}" "$tmp/o.jsonl.manifest.json"
else
    skip "manifest: CRC-32 of the whole output" "no /usr/bin/python3"
fi

# A rank that cannot write its part: the others finish, the manifest names the
# missing part, and --resume completes only that one.
mkdir "$tmp/r.jsonl.part-00001-of-00002"
$MPIRUN "$BH" annotate --model none --mpi --quiet --resume --input $files --output "$tmp/r.jsonl" >"$tmp/log" 2>&1
rc=$?
ok "failed rank: non-zero exit" test "$rc" -ne 0
ok "failed rank: manifest lists part 1 missing" grep -q '"missing":\[1\]' "$tmp/r.jsonl.manifest.json"
ok "failed rank: rank 0 finished its part" grep -q '"done": true' "$tmp/r.jsonl.part-00000-of-00002.ckpt"
rmdir "$tmp/r.jsonl.part-00001-of-00002"
"$BH" annotate --model none --quiet $files >"$tmp/ref2"
$MPIRUN "$BH" annotate --model none --mpi --quiet --resume --input $files --output "$tmp/r.jsonl" >"$tmp/log" 2>&1
is "resume: exit 0" "$?" "0"
cat "$tmp/r.jsonl.part-00000-of-00002" "$tmp/r.jsonl.part-00001-of-00002" >"$tmp/cat2"
ok "resume: parts concatenated == single-process output" cmp "$tmp/ref2" "$tmp/cat2"
ok "resume: nothing missing" grep -q '"missing":\[\]' "$tmp/r.jsonl.manifest.json"

# A rank killed outright: mpirun stops the job; the same command with --resume
# finishes every part from its own checkpoint, and the parts still match.
if command -v pgrep >/dev/null 2>&1; then
    for k in 1 2 3 4 5 6; do cat "$tmp/a.txt"; done >"$tmp/big.txt"
    "$BH" annotate --model none --quiet "$tmp/big.txt" $files >"$tmp/ref3"
    $MPIRUN "$BH" annotate --model none --mpi --quiet --resume --checkpoint-every 50 --input "$tmp/big.txt" $files \
        --output "$tmp/k.jsonl" >"$tmp/log" 2>&1 &
    mp=$!
    sleep 1
    victim=$(pgrep -P $mp | tail -1)
    [ -n "$victim" ] && kill -9 "$victim"
    wait $mp
    $MPIRUN "$BH" annotate --model none --mpi --quiet --resume --checkpoint-every 50 --input "$tmp/big.txt" $files \
        --output "$tmp/k.jsonl" >"$tmp/log" 2>&1
    is "killed rank, resume: exit 0" "$?" "0"
    cat "$tmp/k.jsonl.part-00000-of-00002" "$tmp/k.jsonl.part-00001-of-00002" >"$tmp/cat3"
    ok "killed rank, resume: parts concatenated == single-process output" cmp "$tmp/ref3" "$tmp/cat3"
else
    skip "killed rank" "no pgrep"
fi
done_testing
