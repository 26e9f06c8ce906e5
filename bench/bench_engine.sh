#!/bin/sh
# bench/bench_engine.sh — the transformer engine against PyTorch on the same
# workloads, in one run, same thread counts, same OpenBLAS kernel on both sides
# (the one bh_blas_autotune picks, passed to PyTorch through OPENBLAS_CORETYPE).
# Prints JSON lines, then a table with the ratios (ours / PyTorch) and each
# figure as a fraction of the measured sgemm ceiling.
#   sh bench/bench_engine.sh            (make bench runs it)
#   QUICK=1 sh bench/bench_engine.sh    fewer repetitions, shorter generation
# Needs build/bench/engine_bench (make) and Debian's python3-torch. Figures
# taken while other jobs run are noisy: the table says what the load was.
set -u
BUILD=${BUILD:-build}
EB=${ENGINE_BENCH:-$BUILD/bench/engine_bench}
PY=/usr/bin/python3
REPS=3
NEW=256
[ "${QUICK:-0}" = 1 ] && REPS=1 && NEW=64
if [ ! -x "$EB" ]; then echo "bench_engine: $EB missing (run make)"; exit 1; fi
if ! $PY -c 'import torch' 2>/dev/null; then echo "bench_engine: python3-torch missing: skipped"; exit 0; fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
run() { echo "$*" >&2; "$@" | tee -a "$out"; }

# the kernel our side uses (after autotune); PyTorch gets the same one
KERNEL=$("$EB" sgemm 1 | head -1 | sed 's/.*"kernel":"\([^"]*\)".*/\1/')
export OPENBLAS_CORETYPE="$KERNEL"
echo "{\"bench\":\"env\",\"kernel\":\"$KERNEL\",\"load_before\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"nproc\":$(nproc)}" | tee -a "$out"
run "$EB" sgemm 1
run "$EB" sgemm 2
run "$EB" spin
for t in 1 2; do
    run "$EB" enc-mini $t 32 128 $REPS
    run $PY bench/engine_torch.py enc-mini $t 32 128 $REPS
    run "$EB" enc-base $t 8 128 $REPS
    run $PY bench/engine_torch.py enc-base $t 8 128 $REPS
done
# 2 OpenBLAS threads but the non-GEMM work on one (the engine before its pool)
run env ENGINE_POOL=1 "$EB" enc-mini 2 32 128 $REPS
run env ENGINE_POOL=1 "$EB" enc-base 2 8 128 $REPS
run "$EB" dec-mini 1 32 $NEW
run $PY bench/engine_torch.py dec-mini 1 32 $NEW
run "$EB" train-enc-mini 2 32 128 $REPS
run $PY bench/engine_torch.py train-enc-mini 2 32 128 $REPS
run "$EB" train-dec-mini 2 8 256 $REPS
run $PY bench/engine_torch.py train-dec-mini 2 8 256 $REPS
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
def find(name, threads, pool=None):
    return next((r for r in rows if r["bench"] == name and r["threads"] == threads
                 and r.get("pool", threads) == (threads if pool is None else pool)), None)
print("\nkernel %s; load %s -> %s on %d CPUs; sgemm ceiling %s GFLOP/s (1t/2t), spin 2-core scaling %.2fx"
      % (env.get("kernel"), env.get("load_before"), env.get("load_after"), env.get("nproc", 0),
         "/".join("%.1f" % ceil[t] for t in sorted(ceil)), spin or 0))
print("%-16s %3s %12s %12s %7s %9s %14s" % ("workload", "thr", "bhasha", "pytorch", "ratio", "%ceiling", "bhasha tok/cpu-s"))
for name, thr in [("enc-mini", 1), ("enc-mini", 2), ("enc-base", 1), ("enc-base", 2), ("dec-mini", 1),
                  ("train-enc-mini", 2), ("train-dec-mini", 2)]:
    a, b = find(name, thr), find("torch-" + name, thr)
    if not a or not b:
        continue
    frac = ""
    if name in flops:
        frac = "%.0f%%" % (100 * a["tok_s"] * flops[name](a["seq"]) / 1e9 / ceil.get(thr, 1e9))
    print("%-16s %3d %12s %12s %6.2fx %9s %14s" % (name, thr, "%.1f tok/s" % a["tok_s"], "%.1f tok/s" % b["tok_s"],
                                           a["tok_s"] / b["tok_s"], frac, "%.0f" % a["tok_per_cpu_s"] if "tok_per_cpu_s" in a else ""))
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
