#!/bin/sh
# tests/t_finetune_mpi.sh — data-parallel `bhasha finetune --mpi` on loopback:
# with the same global batch (dropout on), `mpirun -np 2` and -np 3 (uneven
# splits, a last batch of 5 rows) print the epoch losses of one process within
# relative 1e-4 and the same dev metric, for sentiment, for NER with a CRF and
# for both trained together (multi-task);
# rank 0 alone prints and writes the checkpoint, which the runner reads;
# early stopping stops every rank at the same epoch; bhasha without
# bhasha-mpi next to it refuses --mpi with one line.
# The MPI part is skipped where OpenMPI (mpirun) or build/bhasha-mpi is absent.
. tests/tap.sh
BHM=${BUILD:-build}/bhasha-mpi
TOK=assets/spm/bnhi.model
if [ ! -f "$TOK" ]; then
    skip "finetune --mpi" "$TOK missing"
    done_testing
    exit 0
fi
D=$(mktemp -d "${BUILD:-build}/t_finetune_mpi.XXXXXX")
trap 'rm -rf "$D"' EXIT

# --- fixtures: sentiment decided by one word, names and places tagged
. tests/finetune_fixtures.sh
ft_fixtures "$D"
cat > "$D/enc.json" <<'JSON'
{"arch":"encoder","vocab":16000,"max_len":32,"dim":16,"layers":2,"heads":2,"ffn":32,"pad_id":3,"mask_id":4,"dropout":0.1}
JSON
# 29 training texts / 48 sentences in batches of 8: the last batch has 5 / 8 rows
FT="finetune --base $D/enc.json --tokenizer $TOK --batch 8 --log-every 1000 --patience 0 --threads 1 --epochs 6 --lr 1e-2"
SENT="--task sentiment --class-weights --train $D/train.tsv --dev $D/dev.tsv"
NER="--task ner --crf --train $D/train.conll --dev $D/dev.conll"

# Without bhasha-mpi beside it, bhasha cannot run --mpi: one line, status 2.
mkdir "$D/solo" && cp "$BH" "$D/solo/bhasha"
"$D/solo/bhasha" $FT $SENT --mpi --out "$D/x" >/dev/null 2>"$D/err"
is "bhasha without bhasha-mpi refuses --mpi" "$?:$(wc -l <"$D/err" | tr -d ' ')" "2:1"
ok "the refusal names bhasha-mpi" grep -q 'needs bhasha-mpi' "$D/err"

if ! command -v mpirun >/dev/null 2>&1 || [ ! -x "$BHM" ]; then
    skip "mpirun -np 2 finetune" "OpenMPI not installed (make deps installs openmpi-bin + libopenmpi-dev)"
    done_testing
    exit 0
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
MPIRUN="mpirun --oversubscribe --allow-run-as-root --mca btl self,tcp --mca btl_tcp_if_include lo"

# Largest relative difference between the losses of two sets of
# "epoch N loss X dev Y" lines, and whether the dev metrics are equal.
cmp_epochs() {
    paste -d ' ' "$1" "$2" | awk '
        $1 != "epoch" || $2 != $8 || $6 != $12 { bad = 1 }
        { d = $4 - $10; if (d < 0) d = -d; a = $4 < 0 ? -$4 : $4; r = d / (a > 1e-12 ? a : 1e-12); if (r > m) m = r; n++ }
        END { if (bad || n == 0) print "lines or dev differ"; else print (m <= 1e-4 ? "within 1e-4, same dev" : "rel " m) }'
}
lines() { wc -l <"$1" | tr -d ' '; }

MT="$SENT --also task=ner;head=ner;crf;train=$D/train.conll;dev=$D/dev.conll"
for t in sent ner mt; do
    case $t in sent) A=$SENT ;; ner) A=$NER ;; mt) A=$MT ;; esac
    "$BH" $FT $A --out "$D/$t.1" >"$D/$t.1.out" 2>/dev/null
    grep '^epoch ' "$D/$t.1.out" >"$D/$t.1.txt"
    is "$t: one process, 6 epochs" "$?:$(lines "$D/$t.1.txt")" "0:6"
    for np in 2 3; do
        $MPIRUN -np $np "$BHM" $FT $A --mpi --out "$D/$t.$np" >"$D/$t.$np.out" 2>"$D/$t.$np.err"
        is "$t: mpirun -np $np exit 0, rank 0 alone prints (6 epochs + summary)" "$?:$(lines "$D/$t.$np.out")" "0:7"
        grep '^epoch ' "$D/$t.$np.out" >"$D/$t.$np.txt"
        is "$t: -np $np losses and dev == one process" "$(cmp_epochs "$D/$t.1.txt" "$D/$t.$np.txt")" "within 1e-4, same dev"
        is "$t: -np $np progress from rank 0 only" "$(grep -c '^epoch [0-9]*/6 train loss' "$D/$t.$np.err")" "6"
    done
    ok "$t: -np 2 checkpoint written" test -s "$D/$t.2/model.safetensors" -a -s "$D/$t.2/finetune.json" -a -s "$D/$t.2/tokenizer.model"
done
printf 'রহিম গতকাল ঢাকা শহরে গেল\n' > "$D/in.txt"
"$BH" ner --model "$D/ner.2" "$D/in.txt" > "$D/ents.jsonl" 2>/dev/null
ok "ner: the -np 2 checkpoint runs" grep -q '{"type":"PER","start":0,"end":4' "$D/ents.jsonl"

# Early stopping: every rank stops after the same epoch (a rank that went on
# would hang or fail in the next collective).
"$BH" $FT $SENT --patience 1 --out "$D/p.1" 2>/dev/null | grep '^epoch ' >"$D/p.1.txt"
$MPIRUN -np 2 "$BHM" $FT $SENT --patience 1 --mpi --out "$D/p.2" >"$D/p.2.out" 2>/dev/null
is "patience 1: -np 2 exit 0" "$?" "0"
grep '^epoch ' "$D/p.2.out" >"$D/p.2.txt"
is "patience 1: -np 2 stops at the same epoch as one process" "$(lines "$D/p.2.txt"):$(cmp_epochs "$D/p.1.txt" "$D/p.2.txt")" "$(lines "$D/p.1.txt"):within 1e-4, same dev"

# Errors: a usage error is reported once (rank 0); a missing file too.
$MPIRUN -np 2 "$BHM" $FT $SENT --mpi --pool max --out "$D/y" >/dev/null 2>"$D/err"
rc=$?
is "usage error under -np 2: non-zero, one line" "$([ $rc -ne 0 ] && echo fail):$(grep -c '^bhasha finetune' "$D/err")" "fail:1"
$MPIRUN -np 2 "$BHM" $FT --task sentiment --train "$D/none.tsv" --dev "$D/dev.tsv" --mpi --out "$D/y" >/dev/null 2>"$D/err"
rc=$?
is "missing file under -np 2: non-zero, one line" "$([ $rc -ne 0 ] && echo fail):$(grep -c 'none.tsv' "$D/err")" "fail:1"
done_testing
