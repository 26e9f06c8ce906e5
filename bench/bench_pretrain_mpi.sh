#!/bin/sh
# bench/bench_pretrain_mpi.sh — data-parallel pretraining on real text: the
# same decoder run (global batch 16 x 127) in one process and as 2 MPI ranks
# (`mpirun -np 2 bhasha-mpi pretrain --mpi`, each rank 8 rows, one thread).
# Prints the largest |loss difference| between the two curves (training and
# validation), tokens/s of each, and the load; draws both curves into
# WORKDIR/loss_mpi.svg.
#   sh bench/bench_pretrain_mpi.sh [WORKDIR] [STEPS]    (make bench runs it)
# The token shard is built from ../shared/data/raw (BH_SHARED overrides) with
# the shipped bilingual SentencePiece model and build/bench/engine_encode.
# Runs niced; on a machine with other jobs the tokens/s figures are noisy.
set -eu
BUILD=${BUILD:-build}
W=${1:-$BUILD/bench_pretrain_mpi}
STEPS=${2:-160}
BH=$BUILD/bhasha
BHM=$BUILD/bhasha-mpi
ENC=${ENGINE_ENCODE:-$BUILD/bench/engine_encode}
PY=/usr/bin/python3
R=${BH_SHARED:-../shared}/data/raw
SPM=assets/spm/bnhi.model
if [ ! -d "$R" ]; then echo "bench_pretrain_mpi: $R missing: skipped"; exit 0; fi
if ! command -v mpirun >/dev/null 2>&1 || [ ! -x "$BHM" ]; then
    echo "bench_pretrain_mpi: mpirun or $BHM missing: skipped"
    exit 0
fi
if [ ! -x "$ENC" ]; then echo "bench_pretrain_mpi: $ENC missing (run make tests)"; exit 1; fi
mkdir -p "$W/train" "$W/valid"
[ -s "$W/train/bnhi.tok" ] || nice -n 10 "$ENC" $SPM "$W/train/bnhi.tok" 6000000 \
    "$R/bn/prothomalo-ittefaq-news-2026/bn_news.train.txt" "$R/hi/covid19-hindi-news-2020/covid19_hindi_news.train.txt"
[ -s "$W/valid/bnhi.tok" ] || nice -n 10 "$ENC" $SPM "$W/valid/bnhi.tok" 400000 \
    "$R/bn/prothomalo-ittefaq-news-2026/bn_news.valid.txt" "$R/hi/covid19-hindi-news-2020/covid19_hindi_news.valid.txt"
cat >"$W/dec.json" <<'JSON'
{"arch":"decoder","vocab":16000,"max_len":128,"dim":128,"layers":4,"heads":4,"ffn":512,"dropout":0.1}
JSON
ROOT=
[ "$(id -u)" = 0 ] && ROOT=--allow-run-as-root
MPIRUN="mpirun -np 2 $ROOT --mca btl self,tcp --mca btl_tcp_if_include lo"
A="--arch decoder --config $W/dec.json --data $W/train --steps $STEPS --batch 16 --seq 127 --lr 1e-3 --warmup 20
   --sched cosine --sep 2 --save-every $((STEPS / 2)) --log-every 20 --threads 1 --valid $W/valid --valid-batches 4"
rm -rf "$W/np1" "$W/np2"
cut -d' ' -f1-3 /proc/loadavg >"$W/load"
t0=$(date +%s.%N)
nice -n 5 "$BH" pretrain $A --out "$W/np1" >"$W/np1.log" 2>"$W/np1.err"
t1=$(date +%s.%N)
nice -n 5 $MPIRUN "$BHM" pretrain --mpi $A --out "$W/np2" >"$W/np2.log" 2>"$W/np2.err"
t2=$(date +%s.%N)
cut -d' ' -f1-3 /proc/loadavg >>"$W/load"
"$PY" - "$W" "$t0" "$t1" "$t2" <<'PY'
import re, sys
W, t0, t1, t2 = sys.argv[1], *map(float, sys.argv[2:5])
def read(name):
    tr, va = {}, {}
    for l in open("%s/%s.log" % (W, name)):
        f = l.split()
        (tr if f[0] == "step" else va)[int(f[1])] = float(f[3])
    rate = [float(m.group(1)) for m in re.finditer(r"([0-9.]+) tok/s", open("%s/%s.err" % (W, name)).read())]
    return tr, va, rate[-1] if rate else 0.0
one, two = read("np1"), read("np2")
if sorted(one[0]) != sorted(two[0]) or sorted(one[1]) != sorted(two[1]):
    sys.exit("bench_pretrain_mpi: the two runs logged different steps")
dtr = max(abs(one[0][s] - two[0][s]) for s in one[0])
dva = max((abs(one[1][s] - two[1][s]) for s in one[1]), default=0.0)
steps = max(one[0])
sys.path.insert(0, "bench")
from loss_svg import WD, PAD, frame, polyline
ys = list(one[0].values()) + list(two[0].values())
y0, y1 = min(ys), max(ys)
out, X, Y = frame(steps, y0, y1, "training loss %.2f..%.2f, decoder dim 128, global batch 16x127" % (y0, y1), PAD - 25)
for (tr, va, _), color, width, dash, label, row in ((one, "#c0392b", 3, "", "1 process", 0),
                                                   (two, "#2471a3", 1.5, ' stroke-dasharray="6,4"', "2 MPI ranks", 1)):
    out.append(polyline(sorted(tr.items()), X, Y, color, ' stroke-width="%s"%s' % (width, dash)))
    for s, l in va.items():
        if y0 <= l <= y1: out.append('<circle cx="%.1f" cy="%.1f" r="%d" fill="%s"/>' % (X(s), Y(l), 5 - 2 * row, color))
    out.append('<text x="%d" y="%d" fill="%s">%s (line: training, dots: validation)</text>' % (WD - 400, PAD + 15 * row, color, label))
out.append('<text x="%d" y="%d">max |loss difference| %.2g (training), %.2g (validation)</text>' % (WD - 400, PAD + 30, dtr, dva))
out.append("</svg>")
open("%s/loss_mpi.svg" % W, "w").write("\n".join(out))
load = open("%s/load" % W).read().split("\n")
print("decoder vocab 16000 dim 128 x4 layers, global batch 16x127, %d steps, --threads 1 per process" % steps)
print("max |loss difference| 1 vs 2 ranks: training %.3g, validation %.3g (final train loss %.4f / %.4f, valid %.4f / %.4f)"
      % (dtr, dva, one[0][steps], two[0][steps], one[1][max(one[1])] if one[1] else 0, two[1][max(two[1])] if two[1] else 0))
print("1 process:   %.0f tokens/s (rank 0's training rate), wall %.1f s" % (one[2], t1 - t0))
print("2 MPI ranks: %.0f tokens/s (global, rank 0's training rate), wall %.1f s" % (two[2], t2 - t1))
print("load average before: %s, after: %s (nproc %s)" % (load[0], load[1], __import__("os").cpu_count()))
print("curves: %s/loss_mpi.svg" % W)
PY
