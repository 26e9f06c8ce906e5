#!/usr/bin/python3
"""PyTorch reference for bhasha's transformer engine (models/).

Builds the same three tiny models as the C engine -- a post-LN encoder (BERT
layout), a pre-LN encoder and a pre-LN decoder (GPT-2 layout) -- from the
tensor names and shapes documented in models/transformer.h, in float64, and
writes for each under tests/fixtures/model/<name>/:
  config.json, model.safetensors   the weights the C test loads
  golden.safetensors               inputs and expected outputs:
    ids, mask, targets (I32)       the batch
    logits [B,T,V], loss [1]       forward pass
    grad.<tensor>                  every gradient after one backward pass
    step3.<tensor>                 parameters after 3 AdamW steps (warm-up 2,
                                   linear decay, clipping at norm 0.5)
    gen (I32, decoder only)        greedy continuation of ids[0,:3]
Run with Debian's python3-torch: /usr/bin/python3 tests/ref/gen_model.py
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "model")


def tensor_names(cfg):
    D, Fn, V, T = cfg["dim"], cfg["ffn"], cfg["vocab"], cfg["max_len"]
    names = [("wte", [V, D]), ("wpe", [T, D])]
    if not cfg["pre_ln"]:
        names += [("ln_e.w", [D]), ("ln_e.b", [D])]
    for l in range(cfg["layers"]):
        p = "h.%d." % l
        names += [(p + "ln1.w", [D]), (p + "ln1.b", [D]),
                  (p + "attn.qkv.w", [3 * D, D]), (p + "attn.qkv.b", [3 * D]),
                  (p + "attn.proj.w", [D, D]), (p + "attn.proj.b", [D]),
                  (p + "ln2.w", [D]), (p + "ln2.b", [D]),
                  (p + "mlp.fc.w", [Fn, D]), (p + "mlp.fc.b", [Fn]),
                  (p + "mlp.proj.w", [D, Fn]), (p + "mlp.proj.b", [D])]
    if cfg["pre_ln"]:
        names += [("ln_f.w", [D]), ("ln_f.b", [D])]
    return names


def write_safetensors(path, tensors):
    """tensors: list of (name, torch tensor); F32 for floats, I32 for ints."""
    header, blobs, off = {}, [], 0
    for name, t in tensors:
        if t.dtype in (torch.int32, torch.int64):
            data, dt = t.to(torch.int32).contiguous().numpy().tobytes(), "I32"
        else:
            data, dt = t.to(torch.float32).contiguous().numpy().tobytes(), "F32"
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def layernorm(x, w, b, eps):
    return F.layer_norm(x, (x.shape[-1],), w, b, eps)


def attention(x, P, p, cfg, mask, causal):
    B, T, D = x.shape
    H = cfg["heads"]
    hd = D // H
    qkv = x @ P[p + "attn.qkv.w"].T + P[p + "attn.qkv.b"]
    q, k, v = qkv.split(D, dim=-1)
    q = q.view(B, T, H, hd).transpose(1, 2)
    k = k.view(B, T, H, hd).transpose(1, 2)
    v = v.view(B, T, H, hd).transpose(1, 2)
    s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
    if causal:
        s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
    if mask is not None:
        s = s.masked_fill((mask == 0).view(B, 1, 1, T), float("-inf"))
    y = torch.softmax(s, dim=-1) @ v
    y = y.transpose(1, 2).reshape(B, T, D)
    return y @ P[p + "attn.proj.w"].T + P[p + "attn.proj.b"]


def mlp(x, P, p):
    h = F.gelu(x @ P[p + "mlp.fc.w"].T + P[p + "mlp.fc.b"], approximate="tanh")
    return h @ P[p + "mlp.proj.w"].T + P[p + "mlp.proj.b"]


def forward(P, cfg, ids, mask):
    eps = cfg["ln_eps"]
    causal = cfg["arch"] == "decoder"
    T = ids.shape[1]
    x = P["wte"][ids] + P["wpe"][:T]
    if not cfg["pre_ln"]:
        x = layernorm(x, P["ln_e.w"], P["ln_e.b"], eps)
    m = None if causal else mask
    for l in range(cfg["layers"]):
        p = "h.%d." % l
        if cfg["pre_ln"]:
            x = x + attention(layernorm(x, P[p + "ln1.w"], P[p + "ln1.b"], eps), P, p, cfg, m, causal)
            x = x + mlp(layernorm(x, P[p + "ln2.w"], P[p + "ln2.b"], eps), P, p)
        else:
            x = layernorm(x + attention(x, P, p, cfg, m, causal), P[p + "ln1.w"], P[p + "ln1.b"], eps)
            x = layernorm(x + mlp(x, P, p), P[p + "ln2.w"], P[p + "ln2.b"], eps)
    if cfg["pre_ln"]:
        x = layernorm(x, P["ln_f.w"], P["ln_f.b"], eps)
    return x @ P["wte"].T


def loss_fn(logits, targets):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)


def make(name, cfg, seed):
    g = torch.Generator().manual_seed(seed)
    names = tensor_names(cfg)
    P = {}
    for n, shape in names:
        if len(shape) == 2:
            P[n] = torch.randn(shape, generator=g) * 0.3
        elif n.endswith(".w"):
            P[n] = 1.0 + 0.1 * torch.randn(shape, generator=g)
        else:
            P[n] = 0.1 * torch.randn(shape, generator=g)
        P[n] = P[n].to(torch.float32).to(torch.float64)  # exactly representable in the F32 file
    B, T, V = 3, cfg["max_len"], cfg["vocab"]
    ids = torch.randint(0, V, (B, T), generator=g)
    mask = torch.ones(B, T, dtype=torch.int64)
    if cfg["arch"] == "encoder":
        mask[1, T - 3:] = 0
        mask[2, T - 1:] = 0
        targets = torch.where(torch.rand(B, T, generator=g) < 0.4, ids, torch.full_like(ids, -100))
        targets[0, 0] = ids[0, 0]
        targets = torch.where(mask == 1, targets, torch.full_like(ids, -100))
    else:
        targets = torch.cat([ids[:, 1:], torch.full((B, 1), -100, dtype=torch.int64)], dim=1)

    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(d, "model.safetensors"), [(n, P[n]) for n, _ in names])

    params = [P[n].clone().requires_grad_(True) for n, _ in names]
    Pt = {n: params[i] for i, (n, _) in enumerate(names)}
    logits = forward(Pt, cfg, ids, mask)
    loss = loss_fn(logits, targets)
    loss.backward()
    golden = [("ids", ids), ("mask", mask), ("targets", targets),
              ("logits", logits.detach()), ("loss", loss.detach().reshape(1))]
    golden += [("grad." + n, params[i].grad.clone()) for i, (n, _) in enumerate(names)]

    # three AdamW steps: lr 1e-2, wd 0.01 on 2-D tensors, warm-up 2 then linear to 0 at step 4
    decay = [p for p, (n, s) in zip(params, names) if len(s) == 2]
    nodecay = [p for p, (n, s) in zip(params, names) if len(s) != 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": nodecay, "weight_decay": 0.0}],
                            lr=1e-2, betas=(0.9, 0.999), eps=1e-8)
    warm, total = 2, 4

    def lam(s):
        if s < warm:
            return (s + 1) / warm
        return max(0.0, 1.0 - (s - warm) / (total - warm))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lam)
    for step in range(3):
        opt.zero_grad()
        l = loss_fn(forward(Pt, cfg, ids, mask), targets)
        l.backward()
        torch.nn.utils.clip_grad_norm_(params, 0.5)
        opt.step()
        sched.step()
    golden += [("step3." + n, params[i].detach().clone()) for i, (n, _) in enumerate(names)]

    if cfg["arch"] == "decoder":
        with torch.no_grad():
            seq = ids[0, :3].tolist()
            P0 = {n: P[n] for n, _ in names}
            while len(seq) < T:
                lg = forward(P0, cfg, torch.tensor([seq]), None)
                seq.append(int(lg[0, -1].argmax()))
        golden.append(("gen", torch.tensor(seq)))
    write_safetensors(os.path.join(d, "golden.safetensors"), golden)
    print("  %s: loss %.6f, %d tensors" % (name, loss.item(), len(names)))


BASE = {"vocab": 37, "max_len": 8, "dim": 16, "layers": 2, "heads": 2, "ffn": 24,
        "ln_eps": 1e-5, "dropout": 0.0, "pad_id": -1, "mask_id": -1}
make("enc_post", dict(BASE, arch="encoder", pre_ln=0), 1)
make("enc_pre", dict(BASE, arch="encoder", pre_ln=1), 2)
make("dec", dict(BASE, arch="decoder", pre_ln=1, max_len=12), 3)


def write_shard(path, vocab, docs):
    """Token shard (format in include/bhasha/model.h)."""
    with open(path, "wb") as f:
        f.write(b"BHTOKS1\0" + struct.pack("<II", vocab, 0))
        for d in docs:
            f.write(struct.pack("<I", len(d)))
            f.write(struct.pack("<%dI" % len(d), *d))


# A learnable toy corpus for the CLI tests: counting runs modulo 30, offset
# by 2 (ids 0 and 1 are reserved: separator and [MASK]).
gs = torch.Generator().manual_seed(4)
docs = []
for _ in range(60):
    start, n = int(torch.randint(0, 30, (1,), generator=gs)), int(torch.randint(5, 40, (1,), generator=gs))
    docs.append([2 + (start + i) % 30 for i in range(n)])
write_shard(os.path.join(OUT, "count.tok"), 32, docs)
print("  count.tok: %d documents" % len(docs))
