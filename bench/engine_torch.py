#!/usr/bin/python3
"""PyTorch peer for bench/bench_engine.sh: the same workloads as
`bhasha bench model` (same shapes, random weights, same thread count),
written with plain torch ops (the layout of tests/ref/gen_model.py).
fp32, or with TORCH_PRECISION=bf16 inference, generation and training's
forward under torch.autocast("cpu", bfloat16) (PyTorch's own mixed-precision
path: matrix products in bf16 through oneDNN, the rest as autocast decides;
backward follows the forward's dtypes), the peer of `bhasha bench model
--precision bf16`. Prints one JSON line per run.
  engine_torch.py enc-mini|enc-base THREADS BATCH SEQ [REPS]
  engine_torch.py dec-mini THREADS PROMPT NEW
  engine_torch.py train-enc-mini|train-dec-mini THREADS BATCH SEQ [REPS]
"""
import json
import math
import os
import sys
import time

# torch.set_num_threads does not bound OpenBLAS's own threads in Debian's
# build: without this a "1-thread" run could multiply on both cores (it did,
# once, on an idle machine). Read by OpenBLAS when torch loads it.
if len(sys.argv) > 2:
    os.environ["OPENBLAS_NUM_THREADS"] = sys.argv[2]

import contextlib

import torch
import torch.nn.functional as F

PRECISION = os.environ.get("TORCH_PRECISION", "f32")


def amp():
    """the forward's context: autocast to bf16, or nothing for fp32"""
    if PRECISION == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()

SHAPES = {"enc-mini": (32000, 256, 4, 4, 1024), "enc-base": (32000, 768, 12, 12, 3072),
          "dec-mini": (32000, 384, 6, 6, 1536)}


def params(V, D, L, Fn, T, pre_ln):
    g = torch.Generator().manual_seed(1)
    P = {"wte": torch.randn(V, D, generator=g) * 0.02, "wpe": torch.randn(T, D, generator=g) * 0.02}
    if not pre_ln:
        P["ln_e.w"], P["ln_e.b"] = torch.ones(D), torch.zeros(D)
    for l in range(L):
        p = "h.%d." % l
        for n, s in [("attn.qkv.w", (3 * D, D)), ("attn.proj.w", (D, D)), ("mlp.fc.w", (Fn, D)), ("mlp.proj.w", (D, Fn))]:
            P[p + n] = torch.randn(*s, generator=g) * 0.02
            P[p + n[:-1] + "b"] = torch.zeros(s[0])
        for n in ("ln1", "ln2"):
            P[p + n + ".w"], P[p + n + ".b"] = torch.ones(D), torch.zeros(D)
    if pre_ln:
        P["ln_f.w"], P["ln_f.b"] = torch.ones(D), torch.zeros(D)
    return P


def block_attn(x, P, p, H, causal, past=None):
    B, T, D = x.shape
    hd = D // H
    qkv = F.linear(x, P[p + "attn.qkv.w"], P[p + "attn.qkv.b"])
    q, k, v = qkv.split(D, dim=-1)
    q = q.view(B, T, H, hd).transpose(1, 2)
    k = k.view(B, T, H, hd).transpose(1, 2)
    v = v.view(B, T, H, hd).transpose(1, 2)
    if past is not None:
        if past[0] is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        past[0], past[1] = k, v
    s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
    if causal and T > 1:
        S = k.shape[2]
        s = s.masked_fill(torch.ones(T, S, dtype=torch.bool).triu(S - T + 1), float("-inf"))
    y = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, D)
    return F.linear(y, P[p + "attn.proj.w"], P[p + "attn.proj.b"])


def mlp(x, P, p):
    return F.linear(F.gelu(F.linear(x, P[p + "mlp.fc.w"], P[p + "mlp.fc.b"]), approximate="tanh"),
                    P[p + "mlp.proj.w"], P[p + "mlp.proj.b"])


def forward(P, ids, L, H, pre_ln, causal, pos0=0, cache=None):
    D = P["wte"].shape[1]
    T = ids.shape[1]
    x = P["wte"][ids] + P["wpe"][pos0:pos0 + T]
    ln = lambda t, n: F.layer_norm(t, (D,), P[n + ".w"], P[n + ".b"], 1e-5)
    if not pre_ln:
        x = ln(x, "ln_e")
    for l in range(L):
        p = "h.%d." % l
        past = cache[l] if cache is not None else None
        if pre_ln:
            x = x + block_attn(ln(x, p + "ln1"), P, p, H, causal, past)
            x = x + mlp(ln(x, p + "ln2"), P, p)
        else:
            x = ln(x + block_attn(x, P, p, H, causal), p + "ln1")
            x = ln(x + mlp(x, P, p), p + "ln2")
    if pre_ln:
        x = ln(x, "ln_f")
    return x


def main():
    mode, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    torch.manual_seed(5)
    base = mode.replace("train-", "")
    V, D, L, H, Fn = SHAPES[base]
    dec = base.startswith("dec")
    pre_ln = dec
    P = params(V, D, L, Fn, 512, pre_ln)
    if mode == "dec-mini":
        prompt, new = int(sys.argv[3]), int(sys.argv[4])
        ids = torch.randint(5, V, (1, prompt))
        best = 1e30
        with torch.no_grad(), amp():
            for _ in range(2):
                t = time.perf_counter()
                cache = [[None, None] for _ in range(L)]
                h = forward(P, ids, L, H, True, True, 0, cache)
                pos = prompt
                for k in range(new):
                    nxt = int((h[0, -1] @ P["wte"].T).argmax())
                    if k + 1 < new:
                        h = forward(P, torch.tensor([[nxt]]), L, H, True, True, pos, cache)
                        pos += 1
                best = min(best, time.perf_counter() - t)
        print(json.dumps({"bench": "torch-" + mode, "precision": PRECISION, "threads": threads, "prompt": prompt, "new": new,
                          "tok_s": round(new / best, 1), "ms_per_tok": round(1e3 * best / new, 2)}))
        return
    B, T = int(sys.argv[3]), int(sys.argv[4])
    reps = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    ids = torch.randint(5, V, (B, T))
    train = mode.startswith("train-")
    if train:
        ps = [p.requires_grad_(True) for p in P.values()]
        opt = torch.optim.AdamW(ps, lr=5e-4, weight_decay=0.01)
    best, total = 1e30, 0.0
    for r in range(reps + 1):
        if train:
            if dec:
                tg = torch.cat([ids[:, 1:], torch.full((B, 1), -100)], dim=1)
            else:
                tg = torch.where(torch.rand(B, T) < 0.15, ids, torch.full_like(ids, -100))
            t = time.perf_counter()
            opt.zero_grad()
            with amp():
                h = forward(P, ids, L, H, pre_ln, dec)
                sel = tg.view(-1) != -100
                logits = h.reshape(-1, D)[sel] @ P["wte"].T   # only rows with a target, as the engine
                loss = F.cross_entropy(logits, tg.view(-1)[sel])
            loss.backward()
            opt.step()
        else:
            t = time.perf_counter()
            with torch.no_grad(), amp():
                forward(P, ids, L, H, pre_ln, dec)
        dt = time.perf_counter() - t
        if r == 0:
            continue
        best = min(best, dt)
        total += dt
    print(json.dumps({"bench": "torch-" + mode, "precision": PRECISION, "threads": threads, "batch": B, "seq": T,
                      "tok_s": round(B * T / best), "best_s": round(best, 4), "mean_s": round(total / reps, 4)}))


main()
