#!/usr/bin/python3
"""Loss curves as SVG.

As a script: loss_svg.py WORKDIR
  reads WORKDIR/dec.log and WORKDIR/enc.log ('step N loss X' and 'valid N
  loss X' lines, as `bhasha pretrain` prints them), writes WORKDIR/loss.svg and
  prints the final losses and validation perplexities.
As a module (bench/bench_pretrain_mpi.sh): frame() and polyline(), the axes
and curves every loss plot of bench/ shares."""
import math
import sys

WD, HD, PAD = 720, 360, 50


def frame(x1, y0, y1, ylabel, ylabel_y=PAD - 10):
    """SVG lines of an empty plot of steps 0..x1 against losses y0..y1, and
    the X, Y functions mapping a step and a loss to pixels"""
    X = lambda s: PAD + (WD - 2 * PAD) * s / max(1, x1)
    Y = lambda l: HD - PAD - (HD - 2 * PAD) * (l - y0) / max(1e-9, y1 - y0)
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (WD, HD),
           '<rect width="100%" height="100%" fill="white"/>',
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (PAD, HD - PAD, WD - PAD, HD - PAD),
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (PAD, PAD, PAD, HD - PAD),
           '<text x="%d" y="%d">step (0..%d)</text>' % (WD // 2 - 40, HD - 15, x1),
           '<text x="5" y="%d">%s</text>' % (ylabel_y, ylabel)]
    return out, X, Y


def polyline(points, X, Y, color, extra=""):
    """one curve through (step, loss) points"""
    return '<polyline fill="none" stroke="%s"%s points="%s"/>' % (
        color, extra, " ".join("%.1f,%.1f" % (X(s), Y(l)) for s, l in points))


def main(W):
    def read(name):
        tr, va = [], []
        for l in open("%s/%s.log" % (W, name)):
            f = l.split()
            if f[0] == "step": tr.append((int(f[1]), float(f[3])))
            elif f[0] == "valid": va.append((int(f[1]), float(f[3])))
        return tr, va
    series = {n: read(n) for n in ("dec", "enc")}
    x1 = max([s for tr, va in series.values() for s, _ in tr] or [1])
    y1 = max([l for tr, va in series.values() for _, l in tr + va] or [1])
    out, X, Y = frame(x1, 0, y1, "loss 0..%.1f" % y1)
    colors = {"dec": "#c0392b", "enc": "#2471a3"}
    for n, (tr, va) in series.items():
        if tr:
            out.append(polyline(tr, X, Y, colors[n]))
        for s, l in va:
            out.append('<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/>' % (X(s), Y(l), colors[n]))
        if va:
            out.append('<text x="%d" y="%d" fill="%s">%s: train (line), valid (dots), final valid ppl %.1f</text>'
                       % (WD - 380, PAD + (15 if n == "dec" else 30), colors[n], "decoder causal LM" if n == "dec" else "encoder MLM", math.exp(va[-1][1])))
    out.append("</svg>")
    open("%s/loss.svg" % W, "w").write("\n".join(out))
    for n, (tr, va) in series.items():
        if va: print("%s: %d steps, final train loss %.3f, valid loss %.3f, valid perplexity %.1f" % (n, tr[-1][0], tr[-1][1], va[-1][1], math.exp(va[-1][1])))


if __name__ == "__main__":
    main(sys.argv[1])
