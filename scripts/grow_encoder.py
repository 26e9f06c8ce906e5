#!/usr/bin/python3
"""scripts/grow_encoder.py — a deeper copy of a trained pre-LN encoder, for
continued MLM training: block i of SRC becomes block 2i of OUT, and block
2i+1 is a copy of it whose two output projections (attn.proj, mlp.proj:
weights and biases) are zero. In a pre-LN block the residual stream passes
such a block unchanged, so OUT computes exactly SRC's function at step 0 (its
MLM loss is SRC's), while the copies' other weights (attention, first MLP
layer, norms) start from trained values rather than noise. Only the encoder's
own tensors are kept (task heads are dropped); everything is written as F32.

  python3 scripts/grow_encoder.py SRC_DIR OUT_DIR

SRC_DIR: a bhasha model directory (config.json + model.safetensors, its
encoder in F32 or F16: not Q8), e.g. assets/models/bhasha-bnhi. OUT_DIR gets config.json (SRC's with
twice the layers, no task heads) and model.safetensors."""
import json
import os
import re
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F16": np.float16}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] not in DTYPES:
            if not name.startswith("head."):  # the heads' int8 tables are not the encoder's
                sys.exit("grow_encoder: %s: tensor %s is %s (convert the model to F16 or F32 first)"
                         % (path, name, t["dtype"]))
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=DTYPES[t["dtype"]]).reshape(t["shape"]).astype(np.float32)
    return out, header.get("__metadata__", {})


def write_safetensors(path, tensors, meta):
    header, off, blobs = {"__metadata__": meta}, 0, []
    for name in sorted(tensors):
        b = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    cfg = json.load(open(os.path.join(src, "config.json"), encoding="utf-8"))
    if cfg.get("arch") != "encoder" or not cfg.get("pre_ln"):
        sys.exit("grow_encoder: %s is not a pre-LN encoder" % src)
    w, meta = read_safetensors(os.path.join(src, "model.safetensors"))
    layers = cfg["layers"]
    grown = {}
    for name, t in w.items():
        m = re.match(r"h\.(\d+)\.(.*)$", name)
        if not m:
            if not name.startswith("head."):
                grown[name] = t
            continue
        i, rest = int(m.group(1)), m.group(2)
        grown["h.%d.%s" % (2 * i, rest)] = t
        zero = rest.startswith("attn.proj.") or rest.startswith("mlp.proj.")
        grown["h.%d.%s" % (2 * i + 1, rest)] = np.zeros_like(t) if zero else t.copy()
    cfg["layers"] = 2 * layers
    cfg.pop("task_heads", None)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(out, "model.safetensors"), grown, {"format": meta.get("format", "bhasha"), "arch": "encoder"})
    print("grow_encoder: %d -> %d blocks, %d tensors -> %s" % (layers, 2 * layers, len(grown), out), file=sys.stderr)


if __name__ == "__main__":
    main()
