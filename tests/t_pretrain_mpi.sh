#!/bin/sh
# tests/t_pretrain_mpi.sh — data-parallel `bhasha pretrain --mpi` on loopback:
# with the same global batch, `mpirun -np 2` (and -np 3, an uneven split)
# prints the losses and validation losses of one process within relative 1e-4,
# for a decoder and an encoder (MLM), both with dropout and gradient
# accumulation; rank 0 alone prints; --resume under MPI reproduces the
# uninterrupted run exactly, and one process can resume an MPI checkpoint;
# bhasha without bhasha-mpi next to it refuses --mpi with one line.
# The MPI part is skipped where OpenMPI (mpirun) or build/bhasha-mpi is absent.
. tests/tap.sh
BHM=${BUILD:-build}/bhasha-mpi
D=$(mktemp -d "${BUILD:-build}/t_pretrain_mpi.XXXXXX")
trap 'rm -rf "$D"' EXIT

# The token shard (format in bhasha/model.h): 48 documents of 9..21 ids below 32,
# a few repeating patterns so that the loss has something to learn.
u32() { printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)))"; }
{
    printf 'BHTOKS1\000'
    u32 32
    u32 0
    k=0
    while [ $k -lt 48 ]; do
        len=$((9 + k * 5 % 13))
        u32 $len
        i=0
        while [ $i -lt $len ]; do
            u32 $((2 + (k % 5 + i * (1 + k % 3)) % 30))
            i=$((i + 1))
        done
        k=$((k + 1))
    done
} >"$D/toy.tok"
cat >"$D/dec.json" <<'JSON'
{"arch":"decoder","vocab":32,"max_len":16,"dim":32,"layers":2,"heads":4,"ffn":64,"dropout":0.1}
JSON
cat >"$D/enc.json" <<'JSON'
{"arch":"encoder","vocab":32,"max_len":16,"dim":32,"layers":2,"heads":4,"ffn":64,"dropout":0.1,"mask_id":1}
JSON
TR="--data $D/toy.tok --valid $D/toy.tok --valid-batches 2 --steps 24 --batch 6 --accum 2 --lr 3e-3 --warmup 4 --sep 0 --save-every 8 --log-every 8 --seed 5"
DEC="--arch decoder --config $D/dec.json --seq 15 $TR"
ENC="--arch encoder --config $D/enc.json --seq 16 --special 0,1 $TR"

# Without bhasha-mpi beside it, bhasha cannot run --mpi: one line, status 2.
mkdir "$D/solo" && cp "$BH" "$D/solo/bhasha"
"$D/solo/bhasha" pretrain --mpi $DEC --out "$D/x" >/dev/null 2>"$D/err"
is "bhasha without bhasha-mpi refuses --mpi" "$?:$(wc -l <"$D/err" | tr -d ' ')" "2:1"
ok "the refusal names bhasha-mpi" grep -q 'needs bhasha-mpi' "$D/err"

if ! command -v mpirun >/dev/null 2>&1 || [ ! -x "$BHM" ]; then
    skip "mpirun -np 2 pretrain" "OpenMPI not installed (make deps installs openmpi-bin + libopenmpi-dev)"
    done_testing
    exit 0
fi
# OpenMPI's own allocations are not ours to check under ASan.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
MPIRUN="mpirun --oversubscribe --allow-run-as-root --mca btl self,tcp --mca btl_tcp_if_include lo"

# Largest relative difference between the loss columns of two logs with the
# same lines ("step N loss X" / "valid N loss X"); "lines differ" otherwise.
maxrel() {
    paste -d ' ' "$1" "$2" | awk '
        $1 != $5 || $2 != $6 { bad = 1 }
        { d = $4 - $8; if (d < 0) d = -d; a = $4 < 0 ? -$4 : $4; r = d / (a > 1e-12 ? a : 1e-12); if (r > m) m = r; n++ }
        END { if (bad || n == 0) print "lines differ"; else print (m <= 1e-4 ? "within 1e-4" : "rel " m) }'
}
lines() { wc -l <"$1" | tr -d ' '; }

for arch in dec enc; do
    if [ $arch = dec ]; then A=$DEC; else A=$ENC; fi
    "$BH" pretrain $A --out "$D/$arch.1" >"$D/$arch.1.txt" 2>/dev/null
    is "$arch: one process, 24 steps + 3 validations" "$?:$(lines "$D/$arch.1.txt")" "0:27"
    $MPIRUN -np 2 "$BHM" pretrain --mpi $A --out "$D/$arch.2" >"$D/$arch.2.txt" 2>"$D/$arch.2.err"
    is "$arch: mpirun -np 2 exit 0, rank 0 alone prints" "$?:$(lines "$D/$arch.2.txt")" "0:27"
    is "$arch: -np 2 losses == one process (rel 1e-4)" "$(maxrel "$D/$arch.1.txt" "$D/$arch.2.txt")" "within 1e-4"
    ok "$arch: -np 2 checkpoint written" test -s "$D/$arch.2/model.safetensors" -a -s "$D/$arch.2/optim.safetensors"
    is "$arch: progress from rank 0 only" "$(grep -c 'tok/s' "$D/$arch.2.err")" "3"
done
$MPIRUN -np 3 "$BHM" pretrain --mpi $ENC --out "$D/enc.3" >"$D/enc.3.txt" 2>/dev/null
is "enc: -np 3 (2+2+2 rows of 6) losses == one process" "$(maxrel "$D/enc.1.txt" "$D/enc.3.txt")" "within 1e-4"
$MPIRUN -np 3 "$BHM" pretrain --mpi $DEC --batch 7 --out "$D/dec.7" >"$D/dec.7.txt" 2>/dev/null
"$BH" pretrain $DEC --batch 7 --out "$D/dec.7.1" >"$D/dec.7.1.txt" 2>/dev/null
is "dec: -np 3, batch 7 (2+2+3 rows) losses == one process" "$(maxrel "$D/dec.7.1.txt" "$D/dec.7.txt")" "within 1e-4"

# Resume under MPI: stop at step 16 (a checkpoint step), go on: the very lines
# of the uninterrupted -np 2 run. `bhasha pretrain --mpi` (not bhasha-mpi) execs bhasha-mpi.
$MPIRUN -np 2 "$BH" pretrain --mpi $DEC --out "$D/r" --stop-after 16 >"$D/r.txt" 2>/dev/null
is "resume: first half exit 0" "$?" "0"
$MPIRUN -np 2 "$BH" pretrain --mpi $TR --seq 15 --out "$D/r" --resume >>"$D/r.txt" 2>"$D/r.err"
is "resume: second half exit 0" "$?" "0"
ok "resume: reproduces the uninterrupted -np 2 losses exactly" cmp "$D/dec.2.txt" "$D/r.txt"
ok "resume: rank 0 says it resumed, once" test "$(grep -c 'resuming' "$D/r.err")" -eq 1
# The data split does not depend on the rank count: one process resumes an MPI checkpoint.
$MPIRUN -np 2 "$BHM" pretrain --mpi $ENC --out "$D/s" --stop-after 8 >"$D/s.txt" 2>/dev/null
"$BH" pretrain $TR --seq 16 --special 0,1 --out "$D/s" --resume >>"$D/s.txt" 2>/dev/null
is "resume an -np 2 checkpoint in one process (rel 1e-4)" "$(maxrel "$D/enc.1.txt" "$D/s.txt")" "within 1e-4"

# More ranks than rows of the batch: refused, rank 0 says why.
$MPIRUN -np 2 "$BHM" pretrain --mpi $DEC --batch 1 --out "$D/y" >/dev/null 2>"$D/err"
rc=$?
ok "batch below the rank count fails" test "$rc" -ne 0
is "batch below the rank count: one line from rank 0" "$(grep -c 'below the 2 ranks' "$D/err")" "1"
done_testing
