#!/usr/bin/python3
"""Loss curves of a decoder and an encoder pretraining run as one SVG.

Usage: loss_svg.py WORKDIR
Reads WORKDIR/dec.log and WORKDIR/enc.log ('step N loss X' and 'valid N loss X'
lines, as `bhasha pretrain` prints them), writes WORKDIR/loss.svg and prints
the final losses and validation perplexities."""
import math, sys
W = sys.argv[1]
def read(name):
    tr, va = [], []
    for l in open("%s/%s.log" % (W, name)):
        f = l.split()
        if f[0] == "step": tr.append((int(f[1]), float(f[3])))
        elif f[0] == "valid": va.append((int(f[1]), float(f[3])))
    return tr, va
series = {n: read(n) for n in ("dec", "enc")}
Wd, Hd, pad = 720, 360, 50
allx = [s for tr, va in series.values() for s, _ in tr] or [1]
ally = [l for tr, va in series.values() for _, l in tr + va] or [1]
x0, x1, y0, y1 = 0, max(allx), 0, max(ally)
X = lambda s: pad + (Wd - 2 * pad) * (s - x0) / max(1, x1 - x0)
Y = lambda l: Hd - pad - (Hd - 2 * pad) * (l - y0) / max(1e-9, y1 - y0)
out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (Wd, Hd),
       '<rect width="100%" height="100%" fill="white"/>',
       '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (pad, Hd - pad, Wd - pad, Hd - pad),
       '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (pad, pad, pad, Hd - pad),
       '<text x="%d" y="%d">step (0..%d)</text>' % (Wd // 2 - 40, Hd - 15, x1),
       '<text x="5" y="%d">loss 0..%.1f</text>' % (pad - 10, y1)]
colors = {"dec": "#c0392b", "enc": "#2471a3"}
for n, (tr, va) in series.items():
    if tr:
        out.append('<polyline fill="none" stroke="%s" points="%s"/>' % (colors[n], " ".join("%.1f,%.1f" % (X(s), Y(l)) for s, l in tr)))
    for s, l in va:
        out.append('<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/>' % (X(s), Y(l), colors[n]))
    if va:
        out.append('<text x="%d" y="%d" fill="%s">%s: train (line), valid (dots), final valid ppl %.1f</text>'
                   % (Wd - 380, pad + (15 if n == "dec" else 30), colors[n], "decoder causal LM" if n == "dec" else "encoder MLM", math.exp(va[-1][1])))
out.append("</svg>")
open("%s/loss.svg" % W, "w").write("\n".join(out))
for n, (tr, va) in series.items():
    if va: print("%s: %d steps, final train loss %.3f, valid loss %.3f, valid perplexity %.1f" % (n, tr[-1][0], tr[-1][1], va[-1][1], math.exp(va[-1][1])))
