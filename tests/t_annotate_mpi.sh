#!/bin/sh
# tests/t_annotate_mpi.sh — `mpirun -np 2 bhasha annotate --mpi` on loopback:
# the parts concatenated equal the single-process output (several files, one of
# them gzip, one JSON lines), the manifest counts and CRC agree, a rank that
# fails is reported as a missing part that --resume then completes, a rank
# that cannot even plan its share (an input it cannot open) does not hang the
# others, and the manifest sits next to OUTPUT even when a folder of its path
# holds ".part-".
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

# A rank that fails before annotating (here: an input it cannot open, a
# relative path that only rank 0's working directory holds) still joins the
# gather: the job ends, and the manifest lists the part as missing.
BHA=$(cd "$(dirname "$BH")" && pwd)/bhasha
mkdir "$tmp/w0" "$tmp/w1"
cp examples/sample-bn.txt "$tmp/w0/in.txt"
cp examples/sample-bn.txt "$tmp/w1/in.txt"
cp examples/sample-hi.txt "$tmp/w0/only0.txt"
popts="annotate --model none --mpi --quiet --langid-model $PWD/assets/langid/langid.bin --input in.txt only0.txt --output $tmp/p.jsonl"
MPI1="mpirun -np 1 --oversubscribe --allow-run-as-root --mca btl self,tcp --mca btl_tcp_if_include lo"
timeout 60 $MPI1 --wdir "$tmp/w0" "$BHA" $popts : -np 1 --wdir "$tmp/w1" "$BHA" $popts >"$tmp/log" 2>&1
rc=$?
is "a rank cannot plan: the job ends (no hang)" "$([ $rc -ne 124 ] && echo ended)" "ended"
ok "a rank cannot plan: non-zero exit" test "$rc" -ne 0
ok "a rank cannot plan: manifest lists part 1 missing" grep -q '"missing":\[1\]' "$tmp/p.jsonl.manifest.json"
ok "a rank cannot plan: it says why" grep -q 'cannot open only0.txt' "$tmp/log"

# ".part-" in a folder of the output path: the manifest is OUTPUT.manifest.json.
mkdir "$tmp/x.part-1"
$MPIRUN "$BH" annotate --model none --mpi --quiet --input "$tmp/d.txt" --output "$tmp/x.part-1/o.jsonl" >"$tmp/log" 2>&1
is "output under x.part-1/: exit 0" "$?" "0"
ok "output under x.part-1/: manifest next to the output" test -s "$tmp/x.part-1/o.jsonl.manifest.json"

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
