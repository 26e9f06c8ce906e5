#!/bin/sh
# bench/bench_engine.sh — the transformer engine against PyTorch on the same
# workloads, in one run, same thread counts, same OpenBLAS kernel on both sides
# (the one bh_blas_autotune picks, passed to PyTorch through OPENBLAS_CORETYPE).
# Prints JSON lines, then a table with the ratios (ours / PyTorch) and each
# figure as a fraction of the measured sgemm ceiling. Where the CPU has
# AVX512-BF16, the encoders also run in bf16 (bhasha bench model --precision
# bf16) against PyTorch's bf16 autocast, each compared with both PyTorch runs,
# and so do dec-mini generation and both training workloads.
# Model workloads run through `bhasha bench model`; engine_bench gives the
# machine's yardsticks (sgemm ceiling, two-core scaling).
#   sh bench/bench_engine.sh            (make bench runs it)
#   QUICK=1 sh bench/bench_engine.sh    fewer repetitions, shorter generation
# Needs build/bhasha, build/bench/engine_bench (make tests) and Debian's python3-torch. Figures
# taken while other jobs run are noisy: the table says what the load was.
set -u
BUILD=${BUILD:-build}
EB=${ENGINE_BENCH:-$BUILD/bench/engine_bench}
BH=${BHASHA:-$BUILD/bhasha}
PY=/usr/bin/python3
REPS=3
NEW=256
[ "${QUICK:-0}" = 1 ] && REPS=1 && NEW=64
for x in "$EB" "$BH"; do
    if [ ! -x "$x" ]; then echo "bench_engine: $x missing (run make and make build/bench/engine_bench)"; exit 1; fi
done
if ! $PY -c 'import torch' 2>/dev/null; then echo "bench_engine: python3-torch missing: skipped"; exit 0; fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
run() { echo "$*" >&2; "$@" | tee -a "$out"; }
enc() { run "$BH" bench model --arch encoder --config "$@" --reps $REPS; }

# the kernel our side uses (after autotune); PyTorch gets the same one
KERNEL=$("$EB" sgemm 1 | head -1 | sed 's/.*"kernel":"\([^"]*\)".*/\1/')
export OPENBLAS_CORETYPE="$KERNEL"
# bf16 rows only where bhasha can run them (AVX512-BF16: bhasha --version says)
BF16=0
"$BH" --version | grep -q "bf16 available" && BF16=1
echo "{\"bench\":\"env\",\"kernel\":\"$KERNEL\",\"load_before\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"nproc\":$(nproc),\"bf16\":$BF16}" | tee -a "$out"
run "$EB" sgemm 1
run "$EB" sgemm 2
run "$EB" spin
for t in 1 2; do
    enc enc-mini --threads $t --batch 32 --seq 128
    run $PY bench/engine_torch.py enc-mini $t 32 128 $REPS
    enc enc-base --threads $t --batch 8 --seq 128
    run $PY bench/engine_torch.py enc-base $t 8 128 $REPS
    if [ $BF16 = 1 ]; then
        enc enc-mini --threads $t --batch 32 --seq 128 --precision bf16
        run env TORCH_PRECISION=bf16 $PY bench/engine_torch.py enc-mini $t 32 128 $REPS
        enc enc-base --threads $t --batch 8 --seq 128 --precision bf16
        run env TORCH_PRECISION=bf16 $PY bench/engine_torch.py enc-base $t 8 128 $REPS
    fi
done
# 2 OpenBLAS threads but the non-GEMM work on one (the engine before its pool)
enc enc-mini --threads 2 --pool 1 --batch 32 --seq 128
enc enc-base --threads 2 --pool 1 --batch 8 --seq 128
run "$BH" bench model --arch decoder --config dec-mini --seq 32 --generate $NEW
run $PY bench/engine_torch.py dec-mini 1 32 $NEW
if [ $BF16 = 1 ]; then
    run "$BH" bench model --arch decoder --config dec-mini --seq 32 --generate $NEW --precision bf16
    run env TORCH_PRECISION=bf16 $PY bench/engine_torch.py dec-mini 1 32 $NEW
fi
enc enc-mini --threads 2 --batch 32 --seq 128 --train
run $PY bench/engine_torch.py train-enc-mini 2 32 128 $REPS
run "$BH" bench model --arch decoder --config dec-mini --threads 2 --batch 8 --seq 256 --train --reps $REPS
run $PY bench/engine_torch.py train-dec-mini 2 8 256 $REPS
if [ $BF16 = 1 ]; then
    enc enc-mini --threads 2 --batch 32 --seq 128 --train --precision bf16
    run env TORCH_PRECISION=bf16 $PY bench/engine_torch.py train-enc-mini 2 32 128 $REPS
    run "$BH" bench model --arch decoder --config dec-mini --threads 2 --batch 8 --seq 256 --train --reps $REPS --precision bf16
    run env TORCH_PRECISION=bf16 $PY bench/engine_torch.py train-dec-mini 2 8 256 $REPS
fi
echo "{\"bench\":\"env\",\"load_after\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" | tee -a "$out"
$PY - "$out" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
env = {k: v for r in rows if r["bench"] == "env" for k, v in r.items()}
ceil = {}
for r in rows:
    if r["bench"] == "sgemm":
        ceil[r["threads"]] = max(ceil.get(r["threads"], 0), r["gflops"])
spin = next((r["scaling"] for r in rows if r["bench"] == "spin"), None)
flops = {  # forward FLOPs per token (matrix products + attention scores), for the ceiling fraction
    "enc-mini": lambda T: 4 * (2 * (4 * 256 * 256 + 2 * 256 * 1024) + 4 * T * 256),
    "enc-base": lambda T: 12 * (2 * (4 * 768 * 768 + 2 * 768 * 3072) + 4 * T * 768),
}
def find(name, threads, pool=None, prec="f32"):
    return next((r for r in rows if r["bench"] == name and r["threads"] == threads
                 and r.get("precision", "f32") == prec
                 and r.get("pool", threads) == (threads if pool is None else pool)), None)
print("\nkernel %s; load %s -> %s on %d CPUs; sgemm ceiling %s GFLOP/s (1t/2t), spin 2-core scaling %.2fx"
      % (env.get("kernel"), env.get("load_before"), env.get("load_after"), env.get("nproc", 0),
         "/".join("%.1f" % ceil[t] for t in sorted(ceil)), spin or 0))
print("%-16s %3s %5s %12s %12s %7s %9s %9s %8s" % ("workload", "thr", "prec", "bhasha", "pytorch", "ratio",
                                                   "vs t-f32", "%ceiling", "tok/cpu-s"))
# ratio: against PyTorch at the same precision (bf16: torch.autocast); vs t-f32:
# against PyTorch's default fp32; %ceiling: of the fp32 sgemm ceiling
for name, thr in [("enc-mini", 1), ("enc-mini", 2), ("enc-base", 1), ("enc-base", 2), ("dec-mini", 1),
                  ("train-enc-mini", 2), ("train-dec-mini", 2)]:
    for prec in ("f32", "bf16"):
        a, b, b32 = find(name, thr, prec=prec), find("torch-" + name, thr, prec=prec), find("torch-" + name, thr)
        if not a or not b:
            continue
        frac = ""
        if name in flops and prec == "f32":
            frac = "%.0f%%" % (100 * a["tok_s"] * flops[name](a["seq"]) / 1e9 / ceil.get(thr, 1e9))
        print("%-16s %3d %5s %12s %12s %6.2fx %8s %9s %8s" % (
            name, thr, prec, "%.1f tok/s" % a["tok_s"], "%.1f tok/s" % b["tok_s"], a["tok_s"] / b["tok_s"],
            "%.2fx" % (a["tok_s"] / b32["tok_s"]) if b32 else "", frac,
            "%.0f" % a["tok_per_cpu_s"] if "tok_per_cpu_s" in a else ""))
for name in ("enc-mini", "enc-base"):
    a1, a2 = find(name, 1), find(name, 2)
    if a1 and a2 and spin:
        s = a2["tok_s"] / a1["tok_s"]
        print("%s 2-thread scaling %.2fx = %.0f%% of the machine's 2-core scaling" % (name, s, 100 * s / spin))
    a0 = find(name, 2, 1)
    if a0 and a2:
        print("%s 2 threads: %.0f tok/s with the pool, %.0f with OpenBLAS threads only (%.2fx); per CPU-second %.0f vs %.0f"
              % (name, a2["tok_s"], a0["tok_s"], a2["tok_s"] / a0["tok_s"], a2.get("tok_per_cpu_s", 0), a0.get("tok_per_cpu_s", 0)))
EOF
