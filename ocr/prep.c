/* ocr/prep.c — digit preprocessing: Otsu threshold, polarity, contrast stretch,
 * crop to the ink, aspect-preserving resize into a centred box, deskew.
 * Works on caller-owned arrays; temporary buffers are freed before return. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bhasha/ocr.h"
#include "core/error.h"

void bh_prep_defaults(bh_prep_opts *o)
{
    o->size = 28;
    o->box = 22;
    o->polarity = 0;
    o->normalize = 1;
    o->binarize = 0;
    o->deskew = 0;
}

int bh_otsu_threshold(const uint8_t *px, size_t n)
{
    double hist[256] = {0};
    for (size_t i = 0; i < n; i++)
        hist[px[i]] += 1;
    double total = (double)n, sum = 0;
    for (int i = 0; i < 256; i++)
        sum += i * hist[i];
    double w0 = 0, s0 = 0, best = -1;
    int t = 0;
    for (int i = 0; i < 255; i++) {
        w0 += hist[i];
        s0 += i * hist[i];
        double w1 = total - w0;
        if (w0 <= 0 || w1 <= 0)
            continue;
        double m0 = s0 / w0, m1 = (sum - s0) / w1;
        double between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if (between > best) {
            best = between;
            t = i;
        }
    }
    return t;
}

/* 1-D resampling weights: output j of `nout` covers source [lo + j*step,
 * lo + (j+1)*step) of a span of `nin` pixels starting at `first`. Downscaling
 * averages the covered area; upscaling interpolates linearly at the centre. */
typedef struct taps {
    int *start, *count;
    float *w; /* count[j] weights per output, packed at wofs[j] */
    int *wofs;
} taps;

static void taps_free(taps *t)
{
    free(t->start);
    free(t->count);
    free(t->w);
    free(t->wofs);
}

static int taps_make(taps *t, int first, int nin, int nout)
{
    double step = (double)nin / nout;
    int per = (int)ceil(step) + 2;
    t->start = malloc(sizeof(int) * (size_t)nout);
    t->count = malloc(sizeof(int) * (size_t)nout);
    t->wofs = malloc(sizeof(int) * (size_t)nout);
    t->w = malloc(sizeof(float) * (size_t)nout * (size_t)per);
    if (!t->start || !t->count || !t->wofs || !t->w)
        return -1;
    for (int j = 0; j < nout; j++) {
        t->wofs[j] = j * per;
        float *w = t->w + t->wofs[j];
        if (step >= 1.0) {
            double a = j * step, b = (j + 1) * step;
            int i0 = (int)floor(a), i1 = (int)ceil(b);
            if (i1 > nin)
                i1 = nin;
            int c = 0;
            for (int i = i0; i < i1 && c < per; i++) {
                double lo = i > a ? i : a, hi = i + 1 < b ? i + 1 : b;
                w[c++] = (float)((hi - lo) / step);
            }
            t->start[j] = first + i0;
            t->count[j] = c;
        } else {
            double x = (j + 0.5) * step - 0.5;
            if (x < 0)
                x = 0;
            if (x > nin - 1)
                x = nin - 1;
            int i0 = (int)floor(x);
            double f = x - i0;
            if (i0 + 1 >= nin) {
                t->start[j] = first + i0;
                t->count[j] = 1;
                w[0] = 1;
            } else {
                t->start[j] = first + i0;
                t->count[j] = 2;
                w[0] = (float)(1 - f);
                w[1] = (float)f;
            }
        }
    }
    return 0;
}

/* Resamples src region (x0,y0,cw,ch) of a sw-wide float image into a bw x bh
 * block written at (ox,oy) of dst (dside wide). */
static int resample(const float *src, int sw, int x0, int y0, int cw, int ch, float *dst,
                    int dside, int ox, int oy, int bw, int bh)
{
    taps tx = {0}, ty = {0};
    float *mid = malloc(sizeof(float) * (size_t)ch * (size_t)bw);
    int rc = -1;
    if (!mid || taps_make(&tx, x0, cw, bw) || taps_make(&ty, y0, ch, bh))
        goto out;
    for (int y = 0; y < ch; y++) {
        const float *row = src + (size_t)(y0 + y) * sw;
        for (int j = 0; j < bw; j++) {
            const float *w = tx.w + tx.wofs[j];
            float s = 0;
            for (int k = 0; k < tx.count[j]; k++)
                s += w[k] * row[tx.start[j] + k];
            mid[(size_t)y * bw + j] = s;
        }
    }
    for (int i = 0; i < bh; i++) {
        const float *w = ty.w + ty.wofs[i];
        for (int j = 0; j < bw; j++) {
            float s = 0;
            for (int k = 0; k < ty.count[i]; k++)
                s += w[k] * mid[(size_t)(ty.start[i] - y0 + k) * bw + j];
            dst[(size_t)(oy + i) * dside + ox + j] = s;
        }
    }
    rc = 0;
out:
    free(mid);
    taps_free(&tx);
    taps_free(&ty);
    return rc;
}

static float bilinear(const float *img, int n, double y, double x)
{
    int x0 = (int)floor(x), y0 = (int)floor(y);
    double fx = x - x0, fy = y - y0;
    double v = 0;
    for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
            int xx = x0 + dx, yy = y0 + dy;
            if (xx < 0 || yy < 0 || xx >= n || yy >= n)
                continue;
            v += (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy) * img[yy * n + xx];
        }
    return (float)v;
}

/* Horizontal shear about the ink centroid removing the x-y covariance. */
static int deskew(float *img, int n)
{
    double m = 0, mx = 0, my = 0;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            double v = img[y * n + x];
            m += v;
            mx += v * x;
            my += v * y;
        }
    if (m <= 0)
        return 0;
    mx /= m;
    my /= m;
    double mu11 = 0, mu02 = 0;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            double v = img[y * n + x];
            mu11 += v * (x - mx) * (y - my);
            mu02 += v * (y - my) * (y - my);
        }
    if (mu02 < 1e-6)
        return 0;
    double skew = mu11 / mu02;
    if (skew > 1)
        skew = 1;
    if (skew < -1)
        skew = -1;
    float *tmp = malloc(sizeof(float) * (size_t)n * n);
    if (!tmp)
        return -1;
    double cx = (n - 1) / 2.0;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++)
            tmp[y * n + x] = bilinear(img, n, y, x + skew * (y - my) + (mx - cx));
    memcpy(img, tmp, sizeof(float) * (size_t)n * n);
    free(tmp);
    return 0;
}

bh_status bh_prep_digit(const uint8_t *px, int w, int h, const bh_prep_opts *o, float *out)
{
    if (!px || !o || !out)
        return bh__fail(BH_EINVAL, "prep: NULL argument");
    if (w <= 0 || h <= 0 || (uint64_t)w * (uint64_t)h > BH_IMAGE_MAX_PIXELS)
        return bh__fail(BH_EINVAL, "prep: bad image size %dx%d", w, h);
    if (o->size < 8 || o->size > 128 || o->box < 4 || o->box > o->size)
        return bh__fail(BH_EINVAL, "prep: size %d / box %d out of range", o->size, o->box);
    if (o->polarity < -1 || o->polarity > 1)
        return bh__fail(BH_EINVAL, "prep: polarity must be -1, 0 or 1");
    int S = o->size;
    memset(out, 0, sizeof(float) * (size_t)S * S);
    size_t n = (size_t)w * h;
    int lo = 255, hi = 0;
    for (size_t i = 0; i < n; i++) {
        if (px[i] < lo)
            lo = px[i];
        if (px[i] > hi)
            hi = px[i];
    }
    if (hi - lo < 16)
        return BH_OK; /* flat: no ink */
    int t = bh_otsu_threshold(px, n);
    int invert;
    if (o->polarity != 0) {
        invert = o->polarity < 0;
    } else {
        size_t border = 0, bright = 0, area_bright = 0;
        for (int x = 0; x < w; x++) {
            bright += (px[x] > t) + (px[(size_t)(h - 1) * w + x] > t);
            border += 2;
        }
        for (int y = 1; y + 1 < h; y++) {
            bright += (px[(size_t)y * w] > t) + (px[(size_t)y * w + w - 1] > t);
            border += 2;
        }
        for (size_t i = 0; i < n; i++)
            area_bright += px[i] > t;
        double fb = (double)bright / border;
        if (fb > 0.65)
            invert = 1;
        else if (fb < 0.35)
            invert = 0;
        else
            invert = area_bright * 2 > n;
    }
    float *f = malloc(sizeof(float) * n);
    if (!f)
        return bh__fail(BH_ENOMEM, "prep: %zu pixels", n);
    /* Ink is the Otsu class opposite the background; stretch bg mean -> 0, ink mean -> 1. */
    double si = 0, sb = 0;
    size_t ni = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        int v = invert ? 255 - px[i] : px[i];
        int ink = invert ? px[i] <= t : px[i] > t;
        f[i] = (float)v;
        if (ink) {
            si += v;
            ni++;
        } else {
            sb += v;
            nb++;
        }
    }
    double mi = ni ? si / ni : 255, mb = nb ? sb / nb : 0;
    if (mi - mb < 1)
        mi = mb + 1;
    int x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            float v = (float)((f[i] - mb) / (mi - mb));
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            if (o->binarize)
                v = v >= 0.5f ? 1.0f : 0.0f;
            f[i] = v;
            if (v >= 0.5f) {
                if (x < x0)
                    x0 = x;
                if (x > x1)
                    x1 = x;
                if (y < y0)
                    y0 = y;
                if (y > y1)
                    y1 = y;
            }
        }
    if (x1 < 0) {
        free(f);
        return BH_OK;
    }
    int cw = w, ch = h, box = S;
    if (o->normalize) {
        cw = x1 - x0 + 1;
        ch = y1 - y0 + 1;
        box = o->box;
    } else {
        x0 = y0 = 0;
    }
    double scale = (double)box / (cw > ch ? cw : ch);
    int bw = (int)lround(cw * scale), bh = (int)lround(ch * scale);
    if (bw < 1)
        bw = 1;
    if (bh < 1)
        bh = 1;
    if (bw > box)
        bw = box;
    if (bh > box)
        bh = box;
    int rc = resample(f, w, x0, y0, cw, ch, out, S, (S - bw) / 2, (S - bh) / 2, bw, bh);
    free(f);
    if (rc)
        return bh__fail(BH_ENOMEM, "prep: resample");
    if (o->deskew && deskew(out, S))
        return bh__fail(BH_ENOMEM, "prep: deskew");
    if (o->binarize)
        for (int i = 0; i < S * S; i++)
            out[i] = out[i] >= 0.5f ? 1.0f : 0.0f;
    return BH_OK;
}
